//! Records in and out: turning a written body into a stored record (type checks, references
//! resolved by id or by name, defaults, required and unique fields, `_info`), and a stored
//! record into the response ConnectWise would send (fields with a value, boolean flags
//! always, references expanded with their `_info` links).

use serde_json::{Map, Value, json};

use crate::clock;
use crate::error::{CwError, FieldError};
use crate::record::{Record, Val};
use crate::resources::{self as res, ParentLink, Resource};
use crate::schema::{Kind, Schemas};
use crate::store::{Data, Entity};

/// Who is writing: the authenticated member.
#[derive(Debug, Clone)]
pub struct Actor {
    /// The member's id.
    pub member_id: i64,
    /// The member's identifier (Member ID), as `_info/updatedBy` shows it.
    pub identifier: String,
    /// The member's display name.
    pub name: String,
}

/// Builds the record to store from a written body.
///
/// `existing` is the stored record on PUT/PATCH (its id, creation `_info` and parent are
/// kept). Every problem found is reported at once, each naming its field.
pub fn prepare(
    data: &Data,
    resource: &Resource,
    parent: i64,
    body: Value,
    existing: Option<&Entity>,
    actor: &Actor,
) -> Result<Entity, CwError> {
    let schema = Schemas::embedded().get(resource.schema);
    let Value::Object(body) = body else {
        return Err(CwError::bad_request(format!(
            "The request body must be a JSON object describing a {}",
            resource.resource
        )));
    };
    let mut errors = Vec::new();
    let mut out = Entity::new();
    for (key, value) in body {
        let Some(field) = schema.field(&key) else {
            continue; // ConnectWise ignores fields it does not know.
        };
        if field.name == "id" || field.name == "_info" || is_server_owned(resource, &field.name) {
            continue;
        }
        match crate::schema::coerce(&field.kind, value) {
            Ok(Value::Null) => {}
            Ok(v) => {
                out.insert(field.name.clone(), v);
            }
            Err(expected) => errors.push(FieldError::new(
                "InvalidField",
                resource.resource,
                &field.name,
                format!("{} must be {expected}", field.name),
            )),
        }
    }
    match resource.parent {
        ParentLink::IdField(f) => {
            out.insert(f.to_owned(), json!(parent));
        }
        ParentLink::RefField(f) => {
            out.insert(f.to_owned(), json!({ "id": parent }));
        }
        ParentLink::None | ParentLink::PathOnly => {}
    }
    resolve_references(data, resource, &mut out, &mut errors);
    if errors.is_empty()
        && let Some(rules) = resource.rules
    {
        rules(&mut crate::rules::Ctx {
            data,
            resource,
            parent,
            out: &mut out,
            existing,
            actor,
            errors: &mut errors,
            now: clock::now(),
        });
    }
    for name in required_fields(resource) {
        if !errors.iter().any(|e| e.field == *name) && is_empty(out.get(name)) {
            errors.push(FieldError::new(
                "NullOrEmpty",
                resource.resource,
                name,
                format!("{name} is required"),
            ));
        }
    }
    let own_id = existing.and_then(|e| e.get("id")).and_then(Value::as_i64);
    for name in resource.unique {
        let Some(wanted) = out.get(*name).and_then(Value::as_str) else {
            continue;
        };
        let taken = data.children(resource.key, parent).any(|(id, e)| {
            Some(id) != own_id
                && e.get(name)
                    .and_then(Val::as_str)
                    .is_some_and(|v| v.eq_ignore_ascii_case(wanted))
        });
        if taken {
            errors.push(FieldError::new(
                "ObjectExists",
                resource.resource,
                name,
                format!("The {name} '{wanted}' is already in use"),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(CwError::invalid_object(resource.resource, errors));
    }
    let now = clock::now();
    let mut info = Map::new();
    match existing
        .and_then(|e| e.get("_info"))
        .and_then(Value::as_object)
    {
        Some(old) => {
            for k in ["dateEntered", "enteredBy"] {
                if let Some(v) = old.get(k) {
                    info.insert(k.into(), v.clone());
                }
            }
        }
        None => {
            info.insert("dateEntered".into(), json!(now));
            info.insert("enteredBy".into(), json!(actor.identifier));
        }
    }
    info.insert("lastUpdated".into(), json!(now));
    info.insert("updatedBy".into(), json!(actor.identifier));
    out.insert("_info".into(), Value::Object(info));
    Ok(out)
}

pub(crate) fn is_empty(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        _ => false,
    }
}

/// Fields the server computes; a written value is ignored.
fn is_server_owned(resource: &Resource, field: &str) -> bool {
    matches!(
        (resource.key, field),
        (res::TICKETS, "closedFlag" | "closedDate" | "closedBy")
            | (res::NOTES, "createdBy" | "dateCreated")
            | (
                res::ADDITIONS,
                "extPrice" | "extCost" | "margin" | "agreementStatus"
            )
            | (res::CALLBACKS, "memberId")
            | (res::MEMBERS, "password" | "token")
    )
}

/// Required fields: the schema's, plus those ConnectWise enforces beyond it.
fn required_fields(resource: &Resource) -> Vec<&'static str> {
    let schema = Schemas::embedded().get(resource.schema);
    let mut names: Vec<&'static str> = schema.required.iter().map(String::as_str).collect();
    names.extend(match resource.key {
        res::TICKETS => &["company", "board"][..],
        res::AGREEMENTS_KEY => &["company", "type"][..],
        res::ADDITIONS => &["product"][..],
        res::CONTACTS_KEY => &["firstName"][..],
        res::NOTES => &["text"][..],
        res::MEMBERS => &["securityRole"][..],
        res::CALLBACKS => &["url", "type"][..],
        _ => &[][..],
    });
    names.sort_unstable();
    names.dedup();
    names
}

fn resolve_references(
    data: &Data,
    resource: &Resource,
    out: &mut Entity,
    errors: &mut Vec<FieldError>,
) {
    for spec in resource.refs {
        let Some(value) = out.get(spec.field).cloned() else {
            continue;
        };
        let scope = match spec.scoped_by {
            None => Some(0),
            Some(by) => out
                .get(by)
                .and_then(|v| v.get("id"))
                .and_then(Value::as_i64),
        };
        let Some(scope) = scope else {
            errors.push(FieldError::new(
                "InvalidField",
                resource.resource,
                spec.field,
                format!(
                    "{} needs {} to be set",
                    spec.field,
                    spec.scoped_by.unwrap_or("")
                ),
            ));
            continue;
        };
        let resolved = match value {
            Value::Array(items) => items
                .into_iter()
                .map(|item| resolve_one(data, spec.target, scope, &item))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            item => resolve_one(data, spec.target, scope, &item),
        };
        match resolved {
            Ok(v) => {
                out.insert(spec.field.to_owned(), v);
            }
            Err(message) => errors.push(FieldError::new(
                "InvalidField",
                resource.resource,
                spec.field,
                format!("{}: {message}", spec.field),
            )),
        }
    }
}

/// Finds the record a reference names (by id, else by identifier or name, as ConnectWise
/// accepts) and returns the stored reference `{id, name/identifier}`.
fn resolve_one(data: &Data, target: &str, scope: i64, item: &Value) -> Result<Value, String> {
    let target_res = res::get(target);
    let id = match item.get("id") {
        None | Some(Value::Null) => None,
        // Ids sometimes arrive as strings; ConnectWise takes them.
        Some(v) => Some(
            v.as_i64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
                .ok_or_else(|| format!("id must be a whole number, got {v}"))?,
        ),
    };
    let found = if let Some(id) = id {
        let hit = if scope == 0 {
            data.find_by_id(target, id)
        } else {
            data.get(target, scope, id).map(|e| (scope, e))
        };
        hit.map(|(_, e)| (id, e))
            .ok_or_else(|| format!("{} id {id} does not exist", target_res.resource))?
    } else {
        let (key, wanted) = ["identifier", "name"]
            .iter()
            .find_map(|k| item.get(*k).and_then(Value::as_str).map(|v| (*k, v)))
            .ok_or_else(|| "give an id, identifier or name".to_string())?;
        let candidates: Box<dyn Iterator<Item = (i64, &Record)>> = if scope == 0 {
            Box::new(
                data.collection(target)
                    .into_iter()
                    .flat_map(|c| c.iter().map(|((_, id), e)| (*id, e))),
            )
        } else {
            Box::new(data.children(target, scope))
        };
        candidates
            .into_iter()
            .find(|(_, e)| {
                e.get(key)
                    .and_then(Val::as_str)
                    .is_some_and(|v| v.eq_ignore_ascii_case(wanted))
            })
            .ok_or_else(|| format!("no {} with {key} '{wanted}'", target_res.resource))?
    };
    Ok(reference_to(target, found.0, found.1))
}

/// The stored form of a reference to a record.
pub fn reference_to(target: &str, id: i64, e: &Record) -> Value {
    let mut r = Map::new();
    r.insert("id".into(), json!(id));
    for k in ["identifier", "name"] {
        if let Some(v) = e.get(k) {
            r.insert(k.into(), v.to_value());
        }
    }
    match target {
        res::MEMBERS => {
            let name = member_name(e);
            r.insert("name".into(), json!(name));
        }
        res::CONTACTS_KEY => {
            r.insert("name".into(), json!(member_name(e)));
        }
        res::PRIORITIES => {
            if let Some(s) = e.get("sortOrder") {
                r.insert("sort".into(), s.to_value());
            }
        }
        _ => {}
    }
    Value::Object(r)
}

/// A member's or contact's display name (first and last).
pub fn member_name(e: &Record) -> String {
    [e.get("firstName"), e.get("lastName")]
        .into_iter()
        .flatten()
        .filter_map(Val::as_str)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Renders a stored record as ConnectWise answers it: `id` first, then the fields that
/// have a value in schema order — an unset field is left out, except a boolean flag, which
/// ConnectWise always sends (`false` when never set) — references with `_info` links,
/// `_info` last.
pub fn render(resource: &Resource, id: i64, e: &Record, base_url: &str) -> Value {
    render_as(resource, resource.schema, id, e, base_url)
}

/// [`render`] in another model of the same record: an `/info` view (`TicketInfo`) shows the
/// fields that model lists.
pub fn render_as(resource: &Resource, model: &str, id: i64, e: &Record, base_url: &str) -> Value {
    let schema = Schemas::embedded()
        .find(model)
        .unwrap_or_else(|| Schemas::embedded().get(resource.schema));
    // The record's fields the schema lists, and every flag it lacks, in schema order: read
    // field by field from the record (a few), not looked up schema field by schema field
    // (ConnectWise's models have up to a few hundred).
    let mut present: Vec<(usize, &'static str, &Val)> = e
        .iter()
        .filter(|(name, v)| *name != "id" && *name != "_info" && !v.is_null())
        .filter_map(|(name, v)| Some((schema.position(name)?, name, v)))
        .collect();
    present.sort_by_key(|(at, _, _)| *at);
    let mut out = Map::with_capacity(present.len() + schema.flags + 2);
    out.insert("id".into(), json!(id));
    let mut next = present.into_iter().peekable();
    for (at, field) in schema.fields.iter().enumerate() {
        let value = match next.peek() {
            Some((p, _, _)) if *p == at => next.next().map(|(_, _, v)| v),
            _ => None,
        };
        let value = match (value, &field.kind) {
            (None, Kind::Boolean) => Value::Bool(false),
            (None, _) => continue,
            (Some(v @ Val::Obj(_)), Kind::Ref(_)) => {
                render_ref(resource, &field.name, v, e, base_url)
            }
            (Some(Val::Arr(items)), Kind::Array(inner)) if matches!(**inner, Kind::Ref(_)) => {
                Value::Array(
                    items
                        .iter()
                        .map(|v| render_ref(resource, &field.name, v, e, base_url))
                        .collect(),
                )
            }
            (Some(v), _) => v.to_value(),
        };
        if field.name == "id" || field.name == "_info" {
            continue;
        }
        out.insert(field.name.clone(), value);
    }
    let mut info = match e.get("_info").map(Val::to_value) {
        Some(Value::Object(info)) => info,
        _ => Map::new(),
    };
    if resource.key == res::TICKETS {
        info.insert(
            "notes_href".into(),
            json!(format!("{base_url}service/tickets/{id}/notes")),
        );
    }
    if resource.key == res::AGREEMENTS_KEY {
        info.insert(
            "additions_href".into(),
            json!(format!("{base_url}finance/agreements/{id}/additions")),
        );
    }
    out.insert("_info".into(), Value::Object(info));
    Value::Object(out)
}

fn render_ref(resource: &Resource, field: &str, v: &Val, e: &Record, base_url: &str) -> Value {
    let Value::Object(mut obj) = v.to_value() else {
        return v.to_value();
    };
    if let (Some(spec), Some(id)) = (resource.ref_spec(field), v.ref_id()) {
        let target = res::get(spec.target);
        let scope = spec
            .scoped_by
            .and_then(|by| e.get(by))
            .and_then(Val::ref_id)
            .unwrap_or(0);
        let href = format!("{base_url}{}/{id}", target.path_for(scope));
        let mut info = Map::new();
        info.insert(format!("{field}_href"), json!(href));
        obj.insert("_info".into(), Value::Object(info));
    }
    Value::Object(obj)
}

/// Keeps only the requested fields (`fields=id,name,board/name`) of a rendered record.
pub fn project(rendered: &Value, fields: &[Vec<String>]) -> Value {
    let mut out = Map::new();
    for path in fields {
        copy_path(rendered, &mut out, path);
    }
    Value::Object(out)
}

fn copy_path(from: &Value, to: &mut Map<String, Value>, path: &[String]) {
    let Some((head, rest)) = path.split_first() else {
        return;
    };
    let Some(obj) = from.as_object() else { return };
    let Some((key, value)) = obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(head)) else {
        return;
    };
    if rest.is_empty() {
        to.insert(key.clone(), value.clone());
        return;
    }
    match value {
        Value::Object(_) => {
            let slot = to
                .entry(key.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(inner) = slot {
                copy_path(value, inner, rest);
            }
        }
        Value::Null => {
            to.entry(key.clone()).or_insert(Value::Null);
        }
        _ => {}
    }
}
