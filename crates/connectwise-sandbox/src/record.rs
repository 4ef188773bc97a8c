//! Records as the sandbox keeps them: compact, because it holds hundreds of thousands.
//!
//! A [`Record`] is its fields in a boxed slice of `(Sym, Val)` pairs: a field name is a
//! 4-byte symbol from one interner (every property name of the embedded schemas, and names
//! met since, up to [`MAX_NAMES`]), a value 24 bytes, strings boxed to their length. A map of
//! JSON values holds each key as its own string and each value in 72 bytes, in a table with
//! room to grow; a ticket's fields, references and `_info` take about a fifth of the memory
//! here. Requests read and write [`Entity`] maps; [`Record::from_map`] and [`Record::to_map`]
//! convert at the store's edge, and filters and sorts read records in place through
//! [`connectwise_conditions::Node`].
//!
//! Hand-written rather than a crate: the interner is the point (a general compact-JSON crate
//! keeps a key per object), and the value type must expose exactly what conditions read.

use std::collections::HashMap;
use std::sync::{OnceLock, PoisonError, RwLock};

use connectwise_conditions::{Node, Scalar};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Number, Value};

use crate::schema::Schemas;
use crate::store::Entity;

/// The most field names the interner holds. Schemas have a few thousand; names beyond the
/// cap (only possible in free-form values a client sends) keep their object as plain JSON.
pub const MAX_NAMES: usize = 65_536;

/// The field under which a record keeps, as JSON, the fields past the interner's cap.
const EXTRA: &str = "_extra";

/// An interned field name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sym(u32);

/// The interner's table: ids by name behind a lock (taken to intern and to find), names by
/// id in slots read without one (rendering reads a name per field).
struct Names {
    len: usize,
    ids: HashMap<&'static str, u32>,
}

static BY_ID: [OnceLock<&'static str>; MAX_NAMES] = [const { OnceLock::new() }; MAX_NAMES];

fn names() -> &'static RwLock<Names> {
    static NAMES: OnceLock<RwLock<Names>> = OnceLock::new();
    NAMES.get_or_init(|| {
        let mut n = Names {
            len: 0,
            ids: HashMap::new(),
        };
        // `_extra` first: a record keeps what the full interner could not take under it.
        n.add(EXTRA);
        for name in Schemas::embedded().field_names() {
            n.add(name);
        }
        RwLock::new(n)
    })
}

impl Names {
    fn add(&mut self, name: &str) -> Option<u32> {
        if let Some(&id) = self.ids.get(name) {
            return Some(id);
        }
        if self.len >= MAX_NAMES {
            return None;
        }
        // Kept for the process's life: bounded by MAX_NAMES.
        let name: &'static str = Box::leak(name.to_owned().into_boxed_str());
        let id = self.len as u32;
        // Only written here, under the write lock, once per id.
        let _ = BY_ID[self.len].set(name);
        self.len += 1;
        self.ids.insert(name, id);
        Some(id)
    }
}

impl Sym {
    /// The symbol of a name already interned, if it is.
    pub fn find(name: &str) -> Option<Sym> {
        let n = names().read().unwrap_or_else(PoisonError::into_inner);
        n.ids.get(name).copied().map(Sym)
    }

    /// The symbol of a name, interning it; `None` once the interner is full.
    pub fn intern(name: &str) -> Option<Sym> {
        if let Some(sym) = Sym::find(name) {
            return Some(sym);
        }
        let mut n = names().write().unwrap_or_else(PoisonError::into_inner);
        n.add(name).map(Sym)
    }

    /// The name.
    pub fn name(self) -> &'static str {
        // A symbol exists only once its slot is set.
        BY_ID[self.0 as usize].get().copied().unwrap_or_default()
    }
}

/// One value of a record.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    /// JSON null.
    Null,
    /// true / false.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// Any other number.
    Float(f64),
    /// A string.
    Str(Box<str>),
    /// An array.
    Arr(Box<[Val]>),
    /// An object whose keys are interned.
    Obj(Fields),
    /// An object holding a key the interner could not take: kept as JSON.
    Json(Box<Value>),
}

static NULL: Val = Val::Null;

/// `false`: what a boolean flag reads as when never set.
pub static FALSE: Val = Val::Bool(false);

impl Val {
    /// Converts a JSON value.
    pub fn from_value(v: Value) -> Val {
        match v {
            Value::Null => Val::Null,
            Value::Bool(b) => Val::Bool(b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => Val::Int(i),
                None => Val::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::String(s) => Val::Str(s.into_boxed_str()),
            Value::Array(items) => Val::Arr(items.into_iter().map(Val::from_value).collect()),
            Value::Object(map) => match fields_of(map) {
                Ok(fields) => Val::Obj(fields),
                Err(map) => Val::Json(Box::new(Value::Object(map))),
            },
        }
    }

    /// The value as JSON.
    pub fn to_value(&self) -> Value {
        match self {
            Val::Null => Value::Null,
            Val::Bool(b) => Value::Bool(*b),
            Val::Int(i) => Value::from(*i),
            Val::Float(f) => Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Val::Str(s) => Value::String(s.to_string()),
            Val::Arr(items) => Value::Array(items.iter().map(Val::to_value).collect()),
            Val::Obj(fields) => Value::Object(map_of(fields)),
            Val::Json(v) => (**v).clone(),
        }
    }

    /// The string, if it is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Val::Str(s) => Some(s),
            Val::Json(v) => v.as_str(),
            _ => None,
        }
    }

    /// The number, if it is a whole one.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Val::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The number, if it is one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Val::Int(i) => Some(*i as f64),
            Val::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// The flag, if it is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Val::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// Whether it is null.
    pub fn is_null(&self) -> bool {
        matches!(self, Val::Null)
    }

    /// The items, if it is an array.
    pub fn as_array(&self) -> Option<&[Val]> {
        match self {
            Val::Arr(items) => Some(items),
            _ => None,
        }
    }

    /// The member of an object with exactly this key.
    pub fn get(&self, key: &str) -> Option<&Val> {
        match self {
            Val::Obj(fields) => {
                let sym = Sym::find(key)?;
                fields.iter().find(|(k, _)| *k == sym).map(|(_, v)| v)
            }
            _ => None,
        }
    }

    /// The `id` of a reference object (`{"id": 7, …}`).
    pub fn ref_id(&self) -> Option<i64> {
        self.get("id").and_then(Val::as_i64)
    }
}

impl PartialEq<&str> for Val {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == Some(*other)
    }
}

impl std::ops::Index<&str> for Val {
    type Output = Val;
    fn index(&self, key: &str) -> &Val {
        self.get(key).unwrap_or(&NULL)
    }
}

/// An object's fields: interned names and their values, in the order they were set.
type Fields = Box<[(Sym, Val)]>;

/// Interns a map's keys; gives the map back when the interner is full.
fn fields_of(map: Map<String, Value>) -> Result<Fields, Map<String, Value>> {
    let syms: Option<Vec<Sym>> = map.keys().map(|k| Sym::intern(k)).collect();
    let Some(syms) = syms else {
        return Err(map);
    };
    Ok(syms
        .into_iter()
        .zip(map.into_iter().map(|(_, v)| Val::from_value(v)))
        .collect())
}

fn map_of(fields: &[(Sym, Val)]) -> Map<String, Value> {
    let mut out = Map::with_capacity(fields.len());
    for (k, v) in fields {
        out.insert(k.name().to_owned(), v.to_value());
    }
    out
}

/// A stored record: its fields, in the order they were set.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Record(Fields);

impl Record {
    /// A record of a map's fields. Top-level keys are schema field names (always interned);
    /// a key past the interner's cap is kept as a field holding the rest as JSON, under the
    /// name `_extra`, never reached by a schema field.
    pub fn from_map(map: Entity) -> Record {
        match fields_of(map) {
            Ok(fields) => Record(fields),
            Err(map) => {
                // Only a free-form map can get here (the cap is far above any schema's
                // names); keep what can be interned and the rest as one JSON value.
                let mut fields = Vec::new();
                let mut rest = Map::new();
                for (k, v) in map {
                    match Sym::intern(&k) {
                        Some(sym) => fields.push((sym, Val::from_value(v))),
                        None => {
                            rest.insert(k, v);
                        }
                    }
                }
                // Interned at start-up, so always found: nothing is dropped.
                if let Some(extra) = Sym::find(EXTRA) {
                    fields.push((extra, Val::Json(Box::new(Value::Object(rest)))));
                }
                Record(fields.into_boxed_slice())
            }
        }
    }

    /// The record as a map of JSON values.
    pub fn to_map(&self) -> Entity {
        map_of(&self.0)
    }

    /// The field with exactly this name.
    pub fn get(&self, key: &str) -> Option<&Val> {
        let sym = Sym::find(key)?;
        self.0.iter().find(|(k, _)| *k == sym).map(|(_, v)| v)
    }

    /// The field with this name, matched exactly, then case-insensitively (as conditions
    /// name fields).
    pub fn field(&self, key: &str) -> Option<&Val> {
        self.get(key).or_else(|| {
            self.0
                .iter()
                .find(|(k, _)| k.name().eq_ignore_ascii_case(key))
                .map(|(_, v)| v)
        })
    }

    /// The fields, in the order they were set.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &Val)> {
        self.0.iter().map(|(k, v)| (k.name(), v))
    }

    /// How many fields it has.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it has no fields.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::ops::Index<&str> for Record {
    type Output = Val;
    fn index(&self, key: &str) -> &Val {
        self.get(key).unwrap_or(&NULL)
    }
}

impl Node for Val {
    fn member(&self, key: &str) -> Option<&Self> {
        match self {
            Val::Obj(fields) => self.get(key).or_else(|| {
                fields
                    .iter()
                    .find(|(k, _)| k.name().eq_ignore_ascii_case(key))
                    .map(|(_, v)| v)
            }),
            _ => None,
        }
    }

    fn items(&self) -> Option<&[Self]> {
        self.as_array()
    }

    fn scalar(&self) -> Scalar<'_> {
        match self {
            Val::Null => Scalar::Null,
            Val::Bool(b) => Scalar::Bool(*b),
            Val::Int(i) => Scalar::Int(*i),
            Val::Float(f) => Scalar::Float(*f),
            Val::Str(s) => Scalar::Str(s),
            // Conditions never reach into the rare free-form JSON kept whole.
            Val::Arr(_) | Val::Obj(_) | Val::Json(_) => Scalar::Compound,
        }
    }
}

impl Serialize for Val {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Val::Null => s.serialize_unit(),
            Val::Bool(b) => s.serialize_bool(*b),
            Val::Int(i) => s.serialize_i64(*i),
            Val::Float(f) => s.serialize_f64(*f),
            Val::Str(v) => s.serialize_str(v),
            Val::Arr(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Val::Obj(fields) => serialize_fields(fields, s),
            Val::Json(v) => v.serialize(s),
        }
    }
}

fn serialize_fields<S: Serializer>(fields: &[(Sym, Val)], s: S) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(fields.len()))?;
    for (k, v) in fields {
        map.serialize_entry(k.name(), v)?;
    }
    map.end()
}

impl Serialize for Record {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_fields(&self.0, s)
    }
}

impl<'de> Deserialize<'de> for Record {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Record::from_map(Entity::deserialize(d)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_record_round_trips_through_json_and_reads_in_place() {
        let map = json!({
            "id": 7, "summary": "Printer offline", "closedFlag": false, "budgetHours": 1.5,
            "board": {"id": 1, "name": "Help Desk"},
            "customFields": [{"id": 1, "caption": "Region", "value": "EU"}],
            "_info": {"lastUpdated": "2026-01-31T00:00:00Z"},
        });
        let Value::Object(entity) = map.clone() else {
            unreachable!()
        };
        let record = Record::from_map(entity.clone());

        assert_eq!(Value::Object(record.to_map()), map);
        assert_eq!(serde_json::to_value(&record).unwrap(), map);
        let back: Record = serde_json::from_value(map).unwrap();
        assert_eq!(back, record);
        assert_eq!(record["board"].ref_id(), Some(1));
        assert_eq!(record["summary"].as_str(), Some("Printer offline"));
        assert_eq!(record.field("CLOSEDFLAG"), Some(&Val::Bool(false)));
        assert!(record["nothing"].is_null());
        let cond = connectwise_conditions::parse(
            "board/name = \"help desk\" and budgetHours > 1 and customFields/value = \"EU\"",
        )
        .unwrap();
        assert!(cond.matches_fields(&|k: &str| record.field(k)));
        assert_eq!(
            cond.matches_fields(&|k: &str| record.field(k)),
            cond.matches_object(&entity)
        );
    }

    #[test]
    fn free_form_keys_are_interned_until_the_cap() {
        let map = json!({"id": 1, "customFields": [{"some key nobody declared": true}]});
        let Value::Object(entity) = map.clone() else {
            unreachable!()
        };
        let record = Record::from_map(entity);
        assert_eq!(Value::Object(record.to_map()), map);
        assert!(Sym::find("some key nobody declared").is_some());
    }
}
