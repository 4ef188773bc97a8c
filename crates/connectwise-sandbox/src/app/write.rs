//! Writes: create, replace or patch, and delete a record under the store's lock, with what
//! ConnectWise does beside them (a ticket's first notes, a role's settings, callbacks).

use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::auth::Principal;
use crate::callbacks::Event;
use crate::entity::{prepare, render};
use crate::error::CwError;
use crate::record::{Record, Val};
use crate::resources::{self as res, ParentLink, Resource};
use crate::roles::Level;
use crate::store::{Data, Entity};

use super::guard::{in_scope, is_mine, not_mine, out_of_scope};
use super::{ApiRequest, Shared, json_response};

pub(super) fn internal(e: anyhow::Error) -> CwError {
    tracing::error!(error = %e, "state write failed");
    CwError::server_fault(
        StatusCode::INTERNAL_SERVER_ERROR,
        "The sandbox could not save the change",
    )
}

/// The stored record a change targets, if it exists and the role may touch it.
pub(super) fn current_record(
    data: &Data,
    resource: &Resource,
    parent: i64,
    id: i64,
    level: Level,
    p: &Principal,
) -> Result<Record, CwError> {
    let current = data
        .get(resource.key, parent, id)
        .cloned()
        .ok_or_else(|| CwError::record_not_found(resource.label, id))?;
    if !in_scope(data, resource, &current, p) {
        return Err(CwError::record_not_found(resource.label, id));
    }
    if level == Level::My && !is_mine(resource, &current, p) {
        return Err(not_mine(resource, id));
    }
    Ok(current)
}

pub(super) fn parse_body(req: &ApiRequest<'_>) -> Result<Value, CwError> {
    serde_json::from_slice(req.body)
        .map_err(|e| CwError::bad_request(format!("The request body is not valid JSON: {e}")))
}

pub(super) fn create(
    shared: &Shared,
    req: &ApiRequest<'_>,
    p: &Principal,
    resource: &'static Resource,
    parent: i64,
) -> Result<Response, CwError> {
    let body = parse_body(req)?;
    let (id, stored, touched) = shared
        .store
        .write(|w| -> Result<(i64, Record, Option<Record>), CwError> {
            let mut e = prepare(w.data(), resource, parent, body, None, &p.actor)?;
            out_of_scope(w.data(), resource, &e, p)?;
            let id = w.next_id(resource.key);
            e.insert("id".into(), json!(id));
            let stored = w.put(resource.key, parent, id, e.clone()).clone();
            after_create(w, resource, id, &e, p);
            let touched = (resource.key == res::NOTES).then(|| touch_ticket(w, parent, p));
            Ok((id, stored, touched.flatten()))
        })
        .map_err(internal)??;
    let rendered = render(resource, id, &stored, &shared.api_base());
    announce(shared, resource, "added", id, &stored, &rendered, p);
    // A note changes its ticket, as ConnectWise has it: its `lastUpdated`, and a ticket
    // callback saying it was updated.
    if let Some(ticket) = touched {
        let tickets = res::get(res::TICKETS);
        let rendered = render(tickets, parent, &ticket, &shared.api_base());
        announce(shared, tickets, "updated", parent, &ticket, &rendered, p);
    }
    Ok(json_response(StatusCode::CREATED, &rendered))
}

/// Marks ticket `id` updated now by `p` (a note was added to it); answers it as stored.
fn touch_ticket(w: &mut crate::store::Writer<'_>, id: i64, p: &Principal) -> Option<Record> {
    let mut ticket = w.data().get(res::TICKETS, 0, id)?.to_map();
    let mut info = ticket
        .get("_info")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    info.insert("lastUpdated".into(), json!(crate::clock::now()));
    info.insert("updatedBy".into(), json!(p.actor.identifier));
    ticket.insert("_info".into(), Value::Object(info));
    Some(w.put(res::TICKETS, 0, id, ticket).clone())
}

/// Side effects ConnectWise performs when a record is made.
pub(super) fn after_create(
    w: &mut crate::store::Writer<'_>,
    resource: &Resource,
    id: i64,
    e: &Entity,
    p: &Principal,
) {
    match resource.key {
        res::TICKETS => {
            for (field, flag) in [
                ("initialDescription", "detailDescriptionFlag"),
                ("initialInternalAnalysis", "internalAnalysisFlag"),
                ("initialResolution", "resolutionFlag"),
            ] {
                let Some(text) = e.get(field).and_then(Value::as_str) else {
                    continue;
                };
                if text.trim().is_empty() {
                    continue;
                }
                let note = json!({ "text": text, flag: true });
                if let Ok(mut n) = prepare(w.data(), res::get(res::NOTES), id, note, None, &p.actor)
                {
                    let note_id = w.next_id(res::NOTES);
                    n.insert("id".into(), json!(note_id));
                    w.put(res::NOTES, id, note_id, n);
                }
            }
        }
        res::ROLES => {
            crate::bootstrap::add_role_settings(w, id, &[], &p.actor);
        }
        _ => {}
    }
}

pub(super) fn update(
    shared: &Shared,
    req: &ApiRequest<'_>,
    p: &Principal,
    level: Level,
    resource: &'static Resource,
    parent: i64,
    id: i64,
) -> Result<Response, CwError> {
    let body = parse_body(req)?;
    let is_patch = *req.method == Method::PATCH;
    let stored = shared
        .store
        .write(|w| -> Result<Record, CwError> {
            let current = current_record(w.data(), resource, parent, id, level, p)?.to_map();
            let input = if is_patch {
                crate::patch::apply(resource, &current, body)?
            } else {
                body
            };
            let mut e = prepare(w.data(), resource, parent, input, Some(&current), &p.actor)?;
            out_of_scope(w.data(), resource, &e, p)?;
            e.insert("id".into(), json!(id));
            Ok(w.put(resource.key, parent, id, e).clone())
        })
        .map_err(internal)??;
    let rendered = render(resource, id, &stored, &shared.api_base());
    announce(shared, resource, "updated", id, &stored, &rendered, p);
    Ok(json_response(StatusCode::OK, &rendered))
}

pub(super) fn delete(
    shared: &Shared,
    p: &Principal,
    level: Level,
    resource: &'static Resource,
    parent: i64,
    id: i64,
) -> Result<Response, CwError> {
    let removed = shared
        .store
        .write(|w| -> Result<Record, CwError> {
            let current = current_record(w.data(), resource, parent, id, level, p)?;
            if resource.key == res::ROLES {
                let in_use = w
                    .data()
                    .children(res::MEMBERS, 0)
                    .any(|(_, m)| m.get("securityRole").and_then(Val::ref_id) == Some(id));
                if in_use {
                    return Err(CwError::bad_request(format!(
                        "SecurityRole {id} is assigned to members; give them another role first"
                    )));
                }
            }
            w.delete(resource.key, parent, id);
            // Children go with their parent.
            for child in res::all().iter().filter(|c| {
                c.parent != ParentLink::None
                    && c.key.starts_with(&format!("{}/{{id}}/", resource.key))
            }) {
                let ids: Vec<i64> = w.data().children(child.key, id).map(|(i, _)| i).collect();
                for cid in ids {
                    w.delete(child.key, id, cid);
                }
            }
            Ok(current)
        })
        .map_err(internal)??;
    announce(shared, resource, "deleted", id, &removed, &Value::Null, p);
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(super) fn announce(
    shared: &Shared,
    resource: &Resource,
    action: &'static str,
    id: i64,
    stored: &Record,
    rendered: &Value,
    p: &Principal,
) {
    let Some(kind) = resource.callback_type else {
        return;
    };
    let ref_id = |f: &str| stored.get(f).and_then(Val::ref_id);
    shared.callbacks.send(Event {
        kind,
        action,
        id,
        entity: rendered.clone(),
        board_id: ref_id("board"),
        company_id: if resource.key == res::COMPANIES {
            Some(id)
        } else {
            ref_id("company")
        },
        member: p.actor.identifier.clone(),
    });
}
