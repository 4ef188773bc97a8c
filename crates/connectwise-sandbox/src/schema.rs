//! The entity shapes the sandbox serves: every model of ConnectWise's published API
//! (`schema/cw-manage-published.json`, see [`crate::published`]), and the OpenAPI subset the
//! bridge's client is generated from (`schema/cw-manage-schema.json`), whose models are the
//! same.
//!
//! The schema drives three things: responses carry the fields that have a value in schema
//! order (boolean flags always, `false` when unset, as ConnectWise sends them), writes are
//! type-checked field by field, and `conditions`/`orderBy` may only name fields the entity
//! has.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::Value;

const SCHEMA_JSON: &str = include_str!("../schema/cw-manage-schema.json");

/// The shape of one field's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// `_info`: a map of strings.
    Info,
    /// A string, possibly restricted to an enum.
    String(Option<Vec<String>>),
    /// A date-time string.
    DateTime,
    /// A whole number.
    Integer,
    /// Any number.
    Number,
    /// true / false.
    Boolean,
    /// A reference object (`{"id": 7, "name": …}`) of the named schema.
    Ref(String),
    /// An array of the inner kind.
    Array(Box<Kind>),
    /// Anything (untyped or a union the sandbox does not check).
    Any,
}

/// One field of an entity schema.
#[derive(Debug, Clone)]
pub struct Field {
    /// The wire name.
    pub name: String,
    /// Its kind.
    pub kind: Kind,
    /// Whether the schema lets it be null.
    pub nullable: bool,
}

/// One entity schema (`Ticket`, `CompanyReference`, …).
#[derive(Debug, Clone)]
pub struct EntitySchema {
    /// The schema name.
    pub name: String,
    /// Fields in schema order.
    pub fields: Vec<Field>,
    /// Fields the schema marks required.
    pub required: Vec<String>,
    /// How many of the fields are boolean flags (always rendered).
    pub flags: usize,
    by_lower: HashMap<String, usize>,
    by_name: HashMap<String, usize>,
}

impl EntitySchema {
    /// The position of the field with exactly this name.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    /// The field with this name, matched case-insensitively as ConnectWise does.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.by_lower
            .get(&name.to_ascii_lowercase())
            .map(|&i| &self.fields[i])
    }
}

/// All schemas, by name.
#[derive(Debug)]
pub struct Schemas {
    by_name: HashMap<String, EntitySchema>,
}

impl Schemas {
    /// The schemas embedded in the crate, parsed once.
    pub fn embedded() -> &'static Schemas {
        static SCHEMAS: OnceLock<Schemas> = OnceLock::new();
        SCHEMAS.get_or_init(|| {
            let subset: Value = serde_json::from_str(SCHEMA_JSON).expect("embedded schema is JSON");
            let published: Value = serde_json::from_str(crate::published::PUBLISHED_JSON)
                .expect("the published API is JSON");
            let mut schemas = Schemas::from_document(&published);
            for (name, schema) in Schemas::from_document(&subset).by_name {
                schemas.by_name.entry(name).or_insert(schema);
            }
            schemas
        })
    }

    /// Reads `components.schemas` of an OpenAPI document.
    pub fn from_document(doc: &Value) -> Schemas {
        let mut by_name = HashMap::new();
        if let Some(map) = doc
            .pointer("/components/schemas")
            .and_then(Value::as_object)
        {
            for (name, schema) in map {
                by_name.insert(name.clone(), parse_entity(name, schema));
            }
        }
        Schemas { by_name }
    }

    /// The schema with this name.
    ///
    /// # Panics
    /// If the name is not in the document: the sandbox's resource table names only schemas
    /// it embeds, so this is a programming error.
    pub fn get(&self, name: &str) -> &EntitySchema {
        self.by_name
            .get(name)
            .unwrap_or_else(|| panic!("schema {name} is not in the embedded document"))
    }

    /// The schema with this name, if present.
    pub fn find(&self, name: &str) -> Option<&EntitySchema> {
        self.by_name.get(name)
    }

    /// Every field name of every schema (with repeats).
    pub fn field_names(&self) -> impl Iterator<Item = &str> {
        self.by_name
            .values()
            .flat_map(|s| s.fields.iter().map(|f| f.name.as_str()))
    }
}

fn parse_entity(name: &str, schema: &Value) -> EntitySchema {
    let mut fields = Vec::new();
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (fname, prop) in props {
            let (kind, nullable) = if fname == "_info" {
                (Kind::Info, true)
            } else {
                parse_kind(prop)
            };
            fields.push(Field {
                name: fname.clone(),
                kind,
                nullable,
            });
        }
    }
    let required = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let by_lower = fields
        .iter()
        .enumerate()
        .map(|(i, f)| (f.name.to_ascii_lowercase(), i))
        .collect();
    let by_name = fields
        .iter()
        .enumerate()
        .map(|(i, f)| (f.name.clone(), i))
        .collect();
    EntitySchema {
        name: name.to_owned(),
        flags: fields.iter().filter(|f| f.kind == Kind::Boolean).count(),
        fields,
        required,
        by_lower,
        by_name,
    }
}

fn parse_kind(prop: &Value) -> (Kind, bool) {
    if let Some(any_of) = prop.get("anyOf").and_then(Value::as_array) {
        let nullable = any_of
            .iter()
            .any(|v| v.get("type").and_then(Value::as_str) == Some("null"));
        let non_null: Vec<&Value> = any_of
            .iter()
            .filter(|v| v.get("type").and_then(Value::as_str) != Some("null"))
            .collect();
        let kind = match non_null.as_slice() {
            [one] => parse_kind(one).0,
            _ => Kind::Any,
        };
        return (kind, nullable);
    }
    if let Some(r) = prop.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or(r).to_owned();
        return (Kind::Ref(name), false);
    }
    let kind = match prop.get("type").and_then(Value::as_str) {
        Some("string") => {
            if prop.get("format").and_then(Value::as_str) == Some("date-time") {
                Kind::DateTime
            } else {
                // `const` is an enum of one value (a `Literal["Zenith"]` field).
                let values = match (prop.get("enum"), prop.get("const")) {
                    (Some(Value::Array(e)), _) => Some(
                        e.iter()
                            .filter_map(|v| v.as_str().map(str::to_owned))
                            .collect(),
                    ),
                    (_, Some(Value::String(only))) => Some(vec![only.clone()]),
                    _ => None,
                };
                Kind::String(values)
            }
        }
        Some("integer") => Kind::Integer,
        Some("number") => Kind::Number,
        Some("boolean") => Kind::Boolean,
        Some("array") => Kind::Array(Box::new(
            prop.get("items")
                .map(|i| parse_kind(i).0)
                .unwrap_or(Kind::Any),
        )),
        _ => Kind::Any,
    };
    (kind, false)
}

/// Checks (and where ConnectWise is lenient, coerces) one written value against its kind.
///
/// ConnectWise accepts numbers sent as strings (`"5"`), booleans as `"true"`, and enum
/// values in any case; the coerced value is what gets stored. Returns a sentence naming the
/// expected type when the value cannot be used.
pub fn coerce(kind: &Kind, value: Value) -> Result<Value, String> {
    match (kind, value) {
        (_, Value::Null) => Ok(Value::Null),
        (Kind::Any | Kind::Info, v) => Ok(v),
        (Kind::Integer, Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(Value::Number(n)),
        (Kind::Integer, Value::Number(n)) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 => Ok(Value::from(f as i64)),
            _ => Err("a whole number".into()),
        },
        (Kind::Integer, Value::String(s)) => s
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| "a whole number".into()),
        (Kind::Number, Value::Number(n)) => Ok(Value::Number(n)),
        (Kind::Number, Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| "a number".into()),
        (Kind::Boolean, Value::Bool(b)) => Ok(Value::Bool(b)),
        (Kind::Boolean, Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err("true or false".into()),
        },
        (Kind::String(None), Value::String(s)) => Ok(Value::String(s)),
        (Kind::String(None), Value::Number(n)) => Ok(Value::String(n.to_string())),
        (Kind::String(Some(allowed)), Value::String(s)) => allowed
            .iter()
            .find(|a| a.eq_ignore_ascii_case(&s))
            .map(|a| Value::String(a.clone()))
            .ok_or_else(|| format!("one of {}", allowed.join(", "))),
        (Kind::DateTime, Value::String(s)) => crate::clock::normalize_datetime(&s)
            .map(Value::String)
            .ok_or_else(|| "a date-time such as 2026-01-31T00:00:00Z".into()),
        (Kind::Ref(_), Value::Object(o)) => Ok(Value::Object(o)),
        (Kind::Array(inner), Value::Array(items)) => items
            .into_iter()
            .map(|v| coerce(inner, v))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        (Kind::String(_), _) => Err("a string".into()),
        (Kind::Integer, _) => Err("a whole number".into()),
        (Kind::Number, _) => Err("a number".into()),
        (Kind::Boolean, _) => Err("true or false".into()),
        (Kind::DateTime, _) => Err("a date-time string".into()),
        (Kind::Ref(_), _) => Err("a reference object such as {\"id\": 1}".into()),
        (Kind::Array(_), _) => Err("an array".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ticket_schema_knows_its_references_and_required_summary() {
        let s = Schemas::embedded().get("Ticket");
        assert_eq!(s.required, vec!["summary".to_owned()]);
        assert_eq!(
            s.field("BOARD").map(|f| &f.kind),
            Some(&Kind::Ref("BoardReference".into()))
        );
    }

    #[test]
    fn coerce_accepts_connectwise_leniencies() {
        assert_eq!(coerce(&Kind::Integer, json!("5")), Ok(json!(5)));
        assert_eq!(coerce(&Kind::Boolean, json!("True")), Ok(json!(true)));
        let e = Kind::String(Some(vec!["Billable".into(), "DoNotBill".into()]));
        assert_eq!(coerce(&e, json!("donotbill")), Ok(json!("DoNotBill")));
        assert!(coerce(&e, json!("Free")).is_err());
        assert!(coerce(&Kind::Integer, json!("five")).is_err());
    }
}
