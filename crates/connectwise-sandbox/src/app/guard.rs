//! Who may do what: module functions and levels, a member's own records (level My) and
//! territory, parents that must exist, and the answer to a method a collection does not serve.

use axum::http::Method;

use crate::auth::Principal;
use crate::error::CwError;
use crate::published::Published;
use crate::record::{Record, Val};
use crate::resources::{self as res, Resource};
use crate::roles::{Action, Level};
use crate::store::{Data, Entity};

/// Whether a collection serves this method on itself (`one` false), a record (`one`) or its
/// count.
pub(super) fn offers(resource: &Resource, method: &Method, one: bool, count: bool) -> bool {
    match (method.clone(), one, count) {
        (Method::GET, false, true) => resource.count,
        (Method::GET, false, false) => true,
        (Method::GET, true, false) => resource.get_one,
        (Method::POST, false, false) => resource.writable && resource.post,
        (Method::PUT, true, false) => resource.writable && resource.put,
        (Method::PATCH, true, false) => resource.writable && resource.patch,
        (Method::DELETE, true, false) => resource.deletable,
        _ => false,
    }
}

/// The answer to a method a collection does not serve: not simulated when ConnectWise
/// publishes it there, 405 otherwise.
pub(super) fn unoffered(resource: &Resource, method: &Method, one: bool, count: bool) -> CwError {
    let mut template = resource.key.to_owned();
    if one {
        template.push_str("/{id}");
    }
    if count {
        template.push_str("/count");
    }
    match Published::embedded().operations(&template) {
        Some((path, ops)) if ops.contains_key(&method.as_str().to_ascii_lowercase()) => {
            CwError::not_simulated(method.as_str(), path)
        }
        _ => CwError::method_not_allowed(method.as_str()),
    }
}

/// Checks the role's level for an action; answers 403 naming what the role lacks.
pub(super) fn permit(p: &Principal, resource: &Resource, action: Action) -> Result<Level, CwError> {
    let Some(function) = resource.function else {
        return Ok(Level::All);
    };
    let level = p.permissions.level(function, action);
    if level == Level::None {
        return Err(CwError::forbidden(format!(
            "You do not have permission to {} {}. The security role '{}' needs {} > {}: {} Level set to All (or Mine).",
            action.label().to_ascii_lowercase(),
            resource
                .path
                .replace("/{parent}", "")
                .replace("{parent}", ""),
            p.role_name,
            function.module,
            function.function,
            action.label(),
        )));
    }
    Ok(level)
}

pub(super) fn is_mine(resource: &Resource, e: &Record, p: &Principal) -> bool {
    if let Some(f) = resource.owner_field
        && let Some(id) = e.get(f).and_then(Val::ref_id)
    {
        return id == p.actor.member_id;
    }
    e.get("_info")
        .and_then(|i| i.get("enteredBy"))
        .and_then(Val::as_str)
        .is_some_and(|by| by.eq_ignore_ascii_case(&p.actor.identifier))
}

/// Whether the role reads only the member's own records of this resource (level My).
pub(super) fn mine_only(p: &Principal, resource: &Resource) -> bool {
    resource
        .function
        .is_some_and(|f| p.permissions.level(f, Action::Inquire) == Level::My)
}

/// Whether a record lies within the member's Level (see [`Principal::territory`]): a company
/// in its territory, or a record of such a company. Records tied to no company are visible.
pub(super) fn in_scope(data: &Data, resource: &Resource, e: &Record, p: &Principal) -> bool {
    let Some(territory) = p.territory else {
        return true;
    };
    let ref_id = |e: &Record, field: &str| e.get(field)?.ref_id();
    if resource.key == res::COMPANIES {
        return ref_id(e, "territory") == Some(territory);
    }
    match ref_id(e, "company") {
        Some(company) => data
            .get(res::COMPANIES, 0, company)
            .is_some_and(|c| ref_id(c, "territory") == Some(territory)),
        None => true,
    }
}

/// Checks that the parent of a nested collection exists and is visible to the member.
pub(super) fn check_parent(
    data: &Data,
    resource: &Resource,
    parent: i64,
    grandparent: i64,
    p: &Principal,
) -> Result<(), CwError> {
    let key = match resource.key {
        res::ADDITIONS => res::AGREEMENTS_KEY,
        res::BOARD_STATUSES | res::BOARD_TYPES => res::BOARDS,
        res::NOTES => res::TICKETS,
        res::ROLE_SETTINGS => res::ROLES,
        _ => match resource.parent_key {
            Some(key) => key,
            None => return Ok(()),
        },
    };
    let owner = res::get(key);
    match data.get(key, grandparent, parent) {
        Some(e) if in_scope(data, owner, e, p) => Ok(()),
        _ => Err(CwError::record_not_found(owner.label, parent)),
    }
}

/// Refuses a write that would put a record outside the member's Level.
pub(super) fn out_of_scope(
    data: &Data,
    resource: &Resource,
    e: &Entity,
    p: &Principal,
) -> Result<(), CwError> {
    if p.territory.is_none() || in_scope(data, resource, &Record::from_map(e.clone()), p) {
        return Ok(());
    }
    let field = if resource.key == res::COMPANIES {
        "territory"
    } else {
        "company"
    };
    Err(CwError::invalid_object(
        resource.resource,
        vec![crate::error::FieldError::new(
            "InvalidField",
            resource.resource,
            field,
            format!(
                "The {field} is outside your member Level's location; choose a company in your territory"
            ),
        )],
    ))
}

pub(super) fn not_mine(resource: &Resource, id: i64) -> CwError {
    CwError::forbidden(format!(
        "{} {id} is not yours, and your security role allows only your own records (level My)",
        resource.label
    ))
}
