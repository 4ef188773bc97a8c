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

impl Expr {
    /// Whether `entity` (a JSON object) satisfies the expression.
    pub fn matches(&self, entity: &Json) -> bool {
        match self {
            Expr::And(children) => children.iter().all(|child| child.matches(entity)),
            Expr::Or(children) => children.iter().any(|child| child.matches(entity)),
            Expr::Compare(comparison) => comparison.matches(entity),
        }
    }

    /// Whether some item satisfies the whole expression: the semantics of
    /// `customFieldConditions`, applied to an entity's `customFields` array
    /// (items like `{"id":1,"caption":"Region","type":"Text","value":"EU"}`).
    pub fn matches_any(&self, items: &[Json]) -> bool {
        items.iter().any(|item| self.matches(item))
    }

    /// Like [`Expr::matches`], for an entity held as a JSON object map (saves
    /// wrapping it in a [`serde_json::Value`]).
    pub fn matches_object(&self, entity: &Map<String, Json>) -> bool {
        match self {
            Expr::And(children) => children.iter().all(|child| child.matches_object(entity)),
            Expr::Or(children) => children.iter().any(|child| child.matches_object(entity)),
            Expr::Compare(comparison) => comparison.matches_object(entity),
        }
    }
}

impl Comparison {
    /// Whether `entity` satisfies this comparison.
    pub fn matches(&self, entity: &Json) -> bool {
        any_leaf(entity, self.path.segments(), &mut |field| {
            compare_field(field, self.op, &self.value)
        })
    }
}

impl Comparison {
    /// Like [`Comparison::matches`], for an entity held as a JSON object map.
    pub fn matches_object(&self, entity: &Map<String, Json>) -> bool {
        let mut test = |field: Option<&Json>| compare_field(field, self.op, &self.value);
        match self.path.segments().split_first() {
            Some((first, rest)) => match get_key(entity, first) {
                Some(child) => any_leaf(child, rest, &mut test),
                None => test(None),
            },
            None => false,
        }
    }
}

/// Calls `test` on each value the path reaches (`None` for missing), fanning
/// out over arrays, until one passes.
fn any_leaf(
    value: &Json,
    segments: &[String],
    test: &mut dyn FnMut(Option<&Json>) -> bool,
) -> bool {
    match (value, segments.split_first()) {
        (Json::Array(items), _) => items.iter().any(|item| any_leaf(item, segments, test)),
        (_, None) => test(Some(value)),
        (Json::Object(map), Some((segment, rest))) => match get_key(map, segment) {
            Some(child) => any_leaf(child, rest, test),
            None => test(None),
        },
        (_, Some(_)) => test(None),
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

/// A non-null field value, or `None` for missing / JSON null.
fn non_null(field: Option<&Json>) -> Option<&Json> {
    field.filter(|value| !value.is_null())
}

/// Applies `op` with literal `literal` to one field value.
fn compare_field(field: Option<&Json>, op: Op, literal: &Value) -> bool {
    let field = non_null(field);
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
fn equals(field: Option<&Json>, literal: &Value) -> bool {
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
fn order(field: &Json, literal: &Value) -> Option<Ordering> {
    match (field, literal) {
        (Json::String(text), Value::String(other)) => Some(cmp_ignore_case(text, other)),
        (Json::String(text), Value::Number(_)) => number_order(text.trim().parse().ok()?, literal),
        (Json::Number(number), Value::Number(_)) => number_order(number.as_f64()?, literal),
        (Json::Number(number), Value::String(text)) => number
            .as_f64()?
            .partial_cmp(&text.trim().parse::<f64>().ok()?),
        (Json::Bool(flag), Value::Bool(other)) => Some(flag.cmp(other)),
        (Json::String(text), Value::Date(_)) => Some(parse_date(text)?.cmp(&literal.as_date()?)),
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
fn text_test(field: Option<&Json>, literal: &Value, test: fn(&str, &str) -> bool) -> bool {
    let subject = match field {
        Some(Json::String(text)) => text.to_lowercase(),
        Some(Json::Number(number)) => number.to_string(),
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
