//! PATCH as ConnectWise takes it: an array of `{op, path, value}` operations (`add`,
//! `replace`, `remove`), paths with or without a leading `/`, nested with `/`
//! (`status/id`), field names matched case-insensitively.

use serde_json::{Map, Value};

use crate::error::{CwError, FieldError};
use crate::resources::Resource;
use crate::schema::Schemas;
use crate::store::Entity;

/// Applies the operations in `body` to a stored record, giving the body of a full replace.
pub fn apply(resource: &Resource, current: &Entity, body: Value) -> Result<Value, CwError> {
    let ops = match body {
        Value::Array(ops) => ops,
        // Some clients send a single operation object.
        op @ Value::Object(_) => vec![op],
        _ => {
            return Err(CwError::bad_request(
                "PATCH takes an array of operations: [{\"op\": \"replace\", \"path\": \"summary\", \"value\": \"…\"}]",
            ));
        }
    };
    let schema = Schemas::embedded().get(resource.schema);
    let mut doc = current.clone();
    let mut errors = Vec::new();
    for op in ops {
        let kind = op
            .get("op")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_ascii_lowercase();
        let Some(path) = op.get("path").and_then(Value::as_str) else {
            errors.push(FieldError::new(
                "InvalidField",
                resource.resource,
                "path",
                "Every operation needs a path",
            ));
            continue;
        };
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let Some(field) = segments.first().and_then(|f| schema.field(f)) else {
            errors.push(FieldError::new(
                "InvalidField",
                resource.resource,
                path,
                format!("{} has no field '{path}'", schema.name),
            ));
            continue;
        };
        let value = op.get("value").cloned().unwrap_or(Value::Null);
        match kind.as_str() {
            "replace" | "add" => set(&mut doc, &field.name, &segments[1..], value),
            "remove" => set(&mut doc, &field.name, &segments[1..], Value::Null),
            other => errors.push(FieldError::new(
                "InvalidField",
                resource.resource,
                "op",
                format!("Unknown operation '{other}': use add, replace or remove"),
            )),
        }
    }
    if !errors.is_empty() {
        return Err(CwError::invalid_object(resource.resource, errors));
    }
    Ok(Value::Object(doc))
}

fn set(doc: &mut Map<String, Value>, field: &str, rest: &[&str], value: Value) {
    if rest.is_empty() {
        doc.insert(field.to_owned(), value);
        return;
    }
    // Changing one part of a reference (status/id) replaces the reference: the other parts
    // (its name) described the old target.
    let slot = doc
        .entry(field.to_owned())
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    if let Value::Object(inner) = slot {
        if rest.len() == 1 && ["id", "name", "identifier"].contains(&rest[0]) {
            inner.clear();
        }
        set(inner, rest[0], &rest[1..], value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources;
    use serde_json::json;

    #[test]
    fn nested_paths_replace_the_reference() {
        let current = json!({"summary": "a", "status": {"id": 1, "name": "New"}});
        let out = apply(
            resources::get(resources::TICKETS),
            current.as_object().unwrap(),
            json!([{"op": "replace", "path": "/Status/id", "value": 2},
                   {"op": "replace", "path": "summary", "value": "b"}]),
        )
        .unwrap();
        assert_eq!(out["status"], json!({"id": 2}));
        assert_eq!(out["summary"], "b");
    }

    #[test]
    fn unknown_fields_are_named() {
        let err = apply(
            resources::get(resources::TICKETS),
            &Map::new(),
            json!([{"op": "replace", "path": "nosuch", "value": 1}]),
        )
        .unwrap_err();
        assert_eq!(err.errors()[0].field, "nosuch");
    }
}
