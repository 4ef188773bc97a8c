//! Schema conformance: every answer is checked against the response model the derived
//! document of the whole published API (`cw-manage-published.json`) names for the call in its
//! `x-endpoints`.
//!
//! The validator is hand-written on purpose, for the subset of JSON Schema the document uses
//! (`properties`, `required`, `anyOf`, `$ref` into `#/components/schemas`, `enum`, `type`,
//! `format: date-time`, `items`, `additionalProperties`):
//! - ConnectWise leaves out a field that has no value and always sends a model's boolean
//!   flags (`false` when never set), and sync engines rely on both; "no property is null, every
//!   boolean property is present" is not something the document's JSON Schema says
//!   (`required` means something else, and it marks only a few fields required), so a stock
//!   validator cannot check it;
//! - the document is OpenAPI-flavoured pydantic output whose models point at each other with
//!   `$ref: #/components/schemas/X`, which has to be resolved inside the OpenAPI document
//!   rather than as a standalone JSON Schema.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use reqwest::Method;
use serde_json::{Map, Value};

/// The whole published API as derived from pyconnectwise (`schema/derive.py`): a superset
/// of the reference subset (`cw-manage-schema.json`, whose paths and models it holds
/// unchanged), so every answer of every path is checked against the same document.
pub const EMBEDDED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/schema/cw-manage-published.json"
);

/// The keywords the validator understands (annotations it may ignore included).
pub(crate) const KNOWN_KEYWORDS: &[&str] = &[
    "$ref",
    "additionalProperties",
    "anyOf",
    "const",
    "default",
    "description",
    "enum",
    "example",
    "format",
    "items",
    "properties",
    "required",
    "title",
    "type",
];

/// The reference document, loaded once.
pub fn document() -> &'static Document {
    static DOC: OnceLock<Document> = OnceLock::new();
    DOC.get_or_init(|| {
        let path = EMBEDDED;
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        Document {
            doc: serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}")),
        }
    })
}

/// What an endpoint answers, per `x-endpoints`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Returns {
    /// One record of the model.
    One(String),
    /// A list of records of the model.
    List(String),
    /// No body.
    Nothing,
}

/// The OpenAPI document.
pub struct Document {
    doc: Value,
}

impl Document {
    fn schemas(&self) -> &Map<String, Value> {
        self.doc
            .pointer("/components/schemas")
            .and_then(Value::as_object)
            .expect("the document has components.schemas")
    }

    /// What `method` on the concrete API path (`service/tickets/5/notes?…`) answers, or
    /// `None` when `x-endpoints` does not list the call.
    pub fn returns(&self, method: &Method, path: &str) -> Option<Returns> {
        let path = path.split('?').next().unwrap_or(path);
        let template: Vec<&str> = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| {
                if s.bytes().all(|b| b.is_ascii_digit()) {
                    "{id}"
                } else {
                    s
                }
            })
            .collect();
        let template = format!("/{}", template.join("/"));
        let endpoints = self.doc.get("x-endpoints")?.as_object()?;
        let (_, methods) = endpoints
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(&template))?;
        let returns = methods
            .get(method.as_str().to_ascii_lowercase())?
            .get("returns")?
            .as_str()?;
        Some(match returns {
            "None" => Returns::Nothing,
            r => match r.strip_prefix("list[").and_then(|r| r.strip_suffix(']')) {
                Some(model) => Returns::List(model.to_owned()),
                None => Returns::One(r.to_owned()),
            },
        })
    }

    /// Checks an answer against the model `x-endpoints` names for the call.
    pub fn check_response(
        &self,
        method: &Method,
        path: &str,
        body: &Value,
    ) -> Result<(), Vec<String>> {
        let Some(returns) = self.returns(method, path) else {
            return Err(vec![format!(
                "x-endpoints lists no {method} for {path}: the call is not part of the reference"
            )]);
        };
        match returns {
            Returns::Nothing if body.is_null() => Ok(()),
            // A delete answers 204 with no body; the few deletes pyconnectwise annotates with
            // a model are no different on the wire.
            Returns::One(_) if *method == Method::DELETE && body.is_null() => Ok(()),
            Returns::Nothing => Err(vec![format!("expected no body, got {body}")]),
            Returns::One(model) => self.validate(&model, body),
            Returns::List(model) => {
                let Some(items) = body.as_array() else {
                    return Err(vec![format!("expected list[{model}], got {body}")]);
                };
                let errors: Vec<String> = items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, item)| self.validate(&model, item).err().map(|e| (i, e)))
                    .flat_map(|(i, errs)| errs.into_iter().map(move |e| format!("[{i}]{e}")))
                    .collect();
                if errors.is_empty() {
                    Ok(())
                } else {
                    Err(errors)
                }
            }
        }
    }

    /// Validates one entity against a model: the schema's rules, plus ConnectWise's way of
    /// rendering the entity itself (nested references carry only the fields ConnectWise puts
    /// in references): no field is `null` (a field with no value is left out) and every
    /// boolean flag the model lists is present.
    pub fn validate(&self, model: &str, value: &Value) -> Result<(), Vec<String>> {
        let schema = self
            .schemas()
            .get(model)
            .unwrap_or_else(|| panic!("the document has no schema {model}"));
        let mut v = Validator {
            schemas: self.schemas(),
            errors: Vec::new(),
        };
        if let (Some(props), Some(obj)) = (
            schema.get("properties").and_then(Value::as_object),
            value.as_object(),
        ) {
            for (name, prop) in props {
                match obj.get(name) {
                    None if is_flag(prop) => v.errors.push(format!(
                        "/{name}: missing (a flag of {model}: ConnectWise sends false when unset)"
                    )),
                    Some(Value::Null) => v.errors.push(format!(
                        "/{name}: null (ConnectWise leaves out a field that has no value)"
                    )),
                    _ => {}
                }
            }
        }
        v.check(schema, value, "");
        if v.errors.is_empty() {
            Ok(())
        } else {
            Err(v.errors)
        }
    }

    /// Every keyword used anywhere in the component schemas.
    pub fn keywords(&self) -> BTreeSet<String> {
        fn walk(schema: &Value, out: &mut BTreeSet<String>) {
            let Some(obj) = schema.as_object() else {
                return;
            };
            for (k, v) in obj {
                out.insert(k.clone());
                match k.as_str() {
                    "properties" => v
                        .as_object()
                        .into_iter()
                        .flatten()
                        .for_each(|(_, p)| walk(p, out)),
                    "anyOf" => v
                        .as_array()
                        .into_iter()
                        .flatten()
                        .for_each(|s| walk(s, out)),
                    "items" | "additionalProperties" => walk(v, out),
                    _ => {}
                }
            }
        }
        let mut out = BTreeSet::new();
        for s in self.schemas().values() {
            walk(s, &mut out);
        }
        out
    }
}

struct Validator<'a> {
    schemas: &'a Map<String, Value>,
    errors: Vec<String>,
}

impl Validator<'_> {
    fn nested(&self, schema: &Value, value: &Value, at: &str) -> Vec<String> {
        let mut v = Validator {
            schemas: self.schemas,
            errors: Vec::new(),
        };
        v.check(schema, value, at);
        v.errors
    }

    fn check(&mut self, schema: &Value, value: &Value, at: &str) {
        // `true` and `{}` accept anything; `false` nothing.
        let obj = match schema {
            Value::Bool(true) => return,
            Value::Bool(false) => {
                self.errors.push(format!("{at}: no value is allowed here"));
                return;
            }
            Value::Object(o) => o,
            other => panic!("{at}: {other} is not a schema"),
        };
        if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
            let target = r
                .strip_prefix("#/components/schemas/")
                .and_then(|name| self.schemas.get(name));
            match target {
                Some(t) => self.check(t, value, at),
                None => self.errors.push(format!("{at}: unresolvable $ref {r}")),
            }
        }
        if let Some(branches) = obj.get("anyOf").and_then(Value::as_array) {
            let mut why = Vec::new();
            let matched = branches.iter().any(|b| {
                let errs = self.nested(b, value, at);
                let ok = errs.is_empty();
                why.extend(errs);
                ok
            });
            if !matched {
                self.errors.push(format!(
                    "{at}: {value} matches no anyOf branch ({})",
                    why.join("; ")
                ));
            }
        }
        if let Some(t) = obj.get("type")
            && !type_matches(t, value)
        {
            self.errors
                .push(format!("{at}: {value} is not of type {t}"));
            return;
        }
        if let Some(only) = obj.get("const")
            && only != value
        {
            self.errors.push(format!("{at}: {value} is not {only}"));
        }
        if let Some(allowed) = obj.get("enum").and_then(Value::as_array)
            && !allowed.contains(value)
        {
            self.errors.push(format!(
                "{at}: {value} is not one of {}",
                Value::Array(allowed.clone())
            ));
        }
        if obj.get("format").and_then(Value::as_str) == Some("date-time")
            && let Some(s) = value.as_str()
            && !is_date_time(s)
        {
            self.errors
                .push(format!("{at}: {s:?} is not an RFC 3339 date-time"));
        }
        match value {
            Value::Object(fields) => {
                for name in obj
                    .get("required")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let name = name.as_str().unwrap_or_default();
                    if !fields.contains_key(name) {
                        self.errors
                            .push(format!("{at}/{name}: required but missing"));
                    }
                }
                let props = obj.get("properties").and_then(Value::as_object);
                for (name, v) in fields {
                    let here = format!("{at}/{name}");
                    match (
                        props.and_then(|p| p.get(name)),
                        obj.get("additionalProperties"),
                    ) {
                        (Some(p), _) => self.check(p, v, &here),
                        (None, Some(extra)) => self.check(extra, v, &here),
                        (None, None) => {}
                    }
                }
            }
            Value::Array(items) => {
                if let Some(item_schema) = obj.get("items") {
                    for (i, item) in items.iter().enumerate() {
                        self.check(item_schema, item, &format!("{at}/{i}"));
                    }
                }
            }
            _ => {}
        }
    }
}

/// Whether a property is a boolean flag (`boolean`, or `boolean` or `null`).
fn is_flag(prop: &Value) -> bool {
    let boolean = |p: &Value| p.get("type").and_then(Value::as_str) == Some("boolean");
    boolean(prop)
        || prop
            .get("anyOf")
            .and_then(Value::as_array)
            .is_some_and(|branches| branches.iter().any(boolean))
}

fn type_matches(t: &Value, value: &Value) -> bool {
    let one = |t: &str| match t {
        "string" => value.is_string(),
        "integer" => {
            value.is_i64() || value.is_u64() || value.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        "null" => value.is_null(),
        other => panic!("the validator does not know type {other}"),
    };
    match t {
        Value::String(s) => one(s),
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).any(one),
        other => panic!("{other} is not a type"),
    }
}

/// RFC 3339 `date-time`: `2026-01-31T12:00:00Z`, optional fraction, `Z` or `±hh:mm`.
pub(crate) fn is_date_time(s: &str) -> bool {
    let b = s.as_bytes();
    let num = |from: usize, to: usize| -> Option<u32> {
        let part = s.get(from..to)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())
            .flatten()
    };
    let sep = |i: usize, allowed: &[u8]| b.get(i).is_some_and(|c| allowed.contains(c));
    let date_time_ok = num(0, 4).is_some()
        && sep(4, b"-")
        && num(5, 7).is_some_and(|m| (1..=12).contains(&m))
        && sep(7, b"-")
        && num(8, 10).is_some_and(|d| (1..=31).contains(&d))
        && sep(10, b"Tt")
        && num(11, 13).is_some_and(|h| h < 24)
        && sep(13, b":")
        && num(14, 16).is_some_and(|m| m < 60)
        && sep(16, b":")
        && num(17, 19).is_some_and(|s| s <= 60);
    if !date_time_ok {
        return false;
    }
    let mut rest = &s[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return false;
        }
        rest = &fraction[digits..];
    }
    match rest {
        "Z" | "z" => true,
        offset => {
            let o = offset.as_bytes();
            o.len() == 6
                && matches!(o[0], b'+' | b'-')
                && o[1..3].iter().all(u8::is_ascii_digit)
                && o[3] == b':'
                && o[4..6].iter().all(u8::is_ascii_digit)
        }
    }
}
