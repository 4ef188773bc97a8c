//! Evaluating an expression against JSON entities, the way ConnectWise
//! compares.
//!
//! - **Paths** walk objects by key: an exact key first, then a
//!   case-insensitive match. A missing field (or a path through a non-object)
//!   is null. When a segment meets an array (or the field itself is an array),
//!   the comparison holds if it holds for **any** element; an empty array
//!   therefore never matches.
//! - **Strings** compare case-insensitively for every operator. `like` matches
//!   the whole string with `%` (any run) and `_` (one character) wildcards;
//!   `contains` is a substring test.
//! - **Numbers** compare numerically (as `f64`), also against a JSON string
//!   holding a number; a string literal holding a number compares numerically
//!   with a number field.
//! - **Booleans** compare with `=` / `!=` (and order `false < true`).
//! - **Dates**: a `[date]` literal compares chronologically with a string
//!   field holding an RFC 3339 timestamp (or bare date). String literals never
//!   do date comparison.
//! - **Null**: `= null` holds for a missing or JSON-null field, `!= null` for
//!   any other. Against a null field every other comparison is false, except
//!   `!=` with a non-null literal, which is true.
//! - **`in` / `not in`**: `in` holds if `=` holds for some list element;
//!   `not in` holds if the field is not null and `=` holds for none.
//! - **Type mismatch** (e.g. a boolean field against a string literal): false
//!   for every operator except `!=` (true) and `not in` (true when no element
//!   matches).

use std::cmp::Ordering;

use serde_json::{Map, Value as Json};

use crate::ast::{Comparison, Expr, Op, Value, parse_date};

/// What the evaluator reads of one value of an entity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scalar<'a> {
    /// JSON null.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// Any other number.
    Float(f64),
    /// A string.
    Str(&'a str),
    /// An object or an array (never equal to a literal).
    Compound,
}

/// A JSON-shaped value the evaluator can walk: implemented for [`serde_json::Value`], and by
/// stores that keep records in a more compact form of their own.
pub trait Node: Sized {
    /// The member of an object with this key (exact, then case-insensitive); `None` for a
    /// missing key or a value that is not an object.
    fn member(&self, key: &str) -> Option<&Self>;
    /// The items of an array; `None` for a value that is not one.
    fn items(&self) -> Option<&[Self]>;
    /// The value as a scalar.
    fn scalar(&self) -> Scalar<'_>;
}

impl Node for Json {
    fn member(&self, key: &str) -> Option<&Self> {
        match self {
            Json::Object(map) => get_key(map, key),
            _ => None,
        }
    }

    fn items(&self) -> Option<&[Self]> {
        match self {
            Json::Array(items) => Some(items),
            _ => None,
        }
    }

    fn scalar(&self) -> Scalar<'_> {
        match self {
            Json::Null => Scalar::Null,
            Json::Bool(b) => Scalar::Bool(*b),
            Json::Number(n) => match n.as_i64() {
                Some(i) => Scalar::Int(i),
                None => Scalar::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            Json::String(s) => Scalar::Str(s),
            Json::Array(_) | Json::Object(_) => Scalar::Compound,
        }
    }
}

impl Expr {
    /// Whether `entity` (a JSON object) satisfies the expression.
    pub fn matches(&self, entity: &Json) -> bool {
        self.matches_fields(&|key: &str| entity.member(key))
    }

    /// Whether some item satisfies the whole expression: the semantics of
    /// `customFieldConditions`, applied to an entity's `customFields` array
    /// (items like `{"id":1,"caption":"Region","type":"Text","value":"EU"}`).
    pub fn matches_any<N: Node>(&self, items: &[N]) -> bool {
        items
            .iter()
            .any(|item| self.matches_fields(&|key: &str| item.member(key)))
    }

    /// Like [`Expr::matches`], for an entity held as a JSON object map (saves
    /// wrapping it in a [`serde_json::Value`]).
    pub fn matches_object(&self, entity: &Map<String, Json>) -> bool {
        self.matches_fields(&|key: &str| get_key(entity, key))
    }

    /// Like [`Expr::matches`], for an entity whose top-level fields `field` looks up
    /// (exact, then case-insensitive), whatever form the entity is kept in.
    pub fn matches_fields<'a, N: Node + 'a>(&self, field: &dyn Fn(&str) -> Option<&'a N>) -> bool {
        match self {
            Expr::And(children) => children.iter().all(|child| child.matches_fields(field)),
            Expr::Or(children) => children.iter().any(|child| child.matches_fields(field)),
            Expr::Compare(comparison) => comparison.matches_fields(field),
        }
    }
}

impl Comparison {
    /// Whether `entity` satisfies this comparison.
    pub fn matches(&self, entity: &Json) -> bool {
        self.matches_fields(&|key: &str| entity.member(key))
    }

    /// Like [`Comparison::matches`], for an entity held as a JSON object map.
    pub fn matches_object(&self, entity: &Map<String, Json>) -> bool {
        self.matches_fields(&|key: &str| get_key(entity, key))
    }

    /// Like [`Comparison::matches`], for an entity whose top-level fields `field` looks up.
    pub fn matches_fields<'a, N: Node + 'a>(&self, field: &dyn Fn(&str) -> Option<&'a N>) -> bool {
        let mut test =
            |value: Option<&N>| compare_field(value.map(Node::scalar), self.op, &self.value);
        match self.path.segments().split_first() {
            Some((first, rest)) => match field(first) {
                Some(child) => any_leaf(child, rest, &mut test),
                None => test(None),
            },
            None => false,
        }
    }
}

/// Calls `test` on each value the path reaches (`None` for missing), fanning
/// out over arrays, until one passes.
fn any_leaf<N: Node>(
    value: &N,
    segments: &[String],
    test: &mut dyn FnMut(Option<&N>) -> bool,
) -> bool {
    if let Some(items) = value.items() {
        return items.iter().any(|item| any_leaf(item, segments, test));
    }
    match segments.split_first() {
        None => test(Some(value)),
        Some((segment, rest)) => match value.member(segment) {
            Some(child) => any_leaf(child, rest, test),
            None => test(None),
        },
    }
}

/// Looks a key up exactly, then case-insensitively.
pub(crate) fn get_key<'a>(map: &'a Map<String, Json>, key: &str) -> Option<&'a Json> {
    map.get(key).or_else(|| {
        map.iter()
            .find(|(candidate, _)| candidate.eq_ignore_ascii_case(key))
            .map(|(_, value)| value)
    })
}

/// Applies `op` with literal `literal` to one field value (`None`: missing).
fn compare_field(field: Option<Scalar<'_>>, op: Op, literal: &Value) -> bool {
    let field = field.filter(|value| *value != Scalar::Null);
    match op {
        Op::Eq => equals(field, literal),
        Op::Ne => match (field, literal) {
            (None, Value::Null) => false,
            (None, _) | (Some(_), Value::Null) => true,
            (Some(field), _) => order(field, literal) != Some(Ordering::Equal),
        },
        Op::Lt | Op::Le | Op::Gt | Op::Ge => field
            .and_then(|field| order(field, literal))
            .is_some_and(|ordering| ordering_satisfies(op, ordering)),
        Op::Contains => text_test(field, literal, |text, needle| text.contains(needle)),
        Op::Like => text_test(field, literal, like),
        Op::NotLike => text_test(field, literal, |text, pattern| !like(text, pattern)),
        Op::In => list_items(literal).any(|item| equals(field, item)),
        Op::NotIn => field.is_some() && !list_items(literal).any(|item| equals(field, item)),
    }
}

/// `field = literal` for a non-null-or-`None` field.
fn equals(field: Option<Scalar<'_>>, literal: &Value) -> bool {
    match (field, literal) {
        (None, Value::Null) => true,
        (None, _) | (Some(_), Value::Null) => false,
        (Some(field), _) => order(field, literal) == Some(Ordering::Equal),
    }
}

fn ordering_satisfies(op: Op, ordering: Ordering) -> bool {
    match op {
        Op::Lt => ordering.is_lt(),
        Op::Le => ordering.is_le(),
        Op::Gt => ordering.is_gt(),
        Op::Ge => ordering.is_ge(),
        _ => false,
    }
}

/// The elements of a list literal (a scalar acts as a one-element list).
fn list_items(literal: &Value) -> impl Iterator<Item = &Value> {
    match literal {
        Value::List(items) => items.iter(),
        scalar => std::slice::from_ref(scalar).iter(),
    }
}

/// How a non-null field orders against a non-null scalar literal, or `None`
/// when the types do not compare.
fn order(field: Scalar<'_>, literal: &Value) -> Option<Ordering> {
    let number = |field: Scalar<'_>| match field {
        Scalar::Int(i) => Some(i as f64),
        Scalar::Float(f) => Some(f),
        _ => None,
    };
    match (field, literal) {
        (Scalar::Str(text), Value::String(other)) => Some(cmp_ignore_case(text, other)),
        (Scalar::Str(text), Value::Number(_)) => number_order(text.trim().parse().ok()?, literal),
        (Scalar::Int(_) | Scalar::Float(_), Value::Number(_)) => {
            number_order(number(field)?, literal)
        }
        (Scalar::Int(_) | Scalar::Float(_), Value::String(text)) => {
            number(field)?.partial_cmp(&text.trim().parse::<f64>().ok()?)
        }
        (Scalar::Bool(flag), Value::Bool(other)) => Some(flag.cmp(other)),
        (Scalar::Str(text), Value::Date(_)) => Some(parse_date(text)?.cmp(&literal.as_date()?)),
        _ => None,
    }
}

fn number_order(field: f64, literal: &Value) -> Option<Ordering> {
    field.partial_cmp(&literal.as_f64()?)
}

/// Compares strings by their lowercase forms.
pub(crate) fn cmp_ignore_case(a: &str, b: &str) -> Ordering {
    let lower = |text: &str| {
        text.chars()
            .flat_map(char::to_lowercase)
            .collect::<Vec<_>>()
    };
    if a.eq_ignore_ascii_case(b) {
        return Ordering::Equal;
    }
    lower(a).cmp(&lower(b))
}

/// Runs a text test on the lowercased field and literal text, when the field
/// is a string or number and the literal a string or number.
fn text_test(field: Option<Scalar<'_>>, literal: &Value, test: fn(&str, &str) -> bool) -> bool {
    let subject = match field {
        Some(Scalar::Str(text)) => text.to_lowercase(),
        Some(Scalar::Int(number)) => number.to_string(),
        // As JSON writes a number: shortest round-trip digits, `.0` on whole values.
        Some(Scalar::Float(number)) if number.is_finite() && number.fract() == 0.0 => {
            format!("{number:.1}")
        }
        Some(Scalar::Float(number)) => number.to_string(),
        _ => return false,
    };
    let pattern = match literal {
        Value::String(text) | Value::Number(text) => text.to_lowercase(),
        _ => return false,
    };
    test(&subject, &pattern)
}

/// SQL `LIKE` over the whole of `text`: `%` matches any run of characters,
/// `_` exactly one. (Case is handled by the caller.)
fn like(text: &str, pattern: &str) -> bool {
    let text: Vec<char> = text.chars().collect();
    let pattern: Vec<char> = pattern.chars().collect();
    let (mut t, mut p) = (0, 0);
    // Where the last `%` was, and the text position it is currently matched up to.
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('%') => {
                backtrack = Some((p, t));
                p += 1;
            }
            Some(&c) if c == '_' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match backtrack {
                Some((star, matched)) => {
                    backtrack = Some((star, matched + 1));
                    p = star + 1;
                    t = matched + 1;
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '%')
}

#[cfg(test)]
mod tests;
