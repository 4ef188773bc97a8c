//! A typed builder for conditions, for clients that compose filters in code.
//!
//! Everything built here prints (via [`Display`](std::fmt::Display)) to text
//! that parses back to the same expression: strings are always escaped.
//!
//! ```
//! use connectwise_conditions::field;
//!
//! let condition = field("board/name")
//!     .eq("Help Desk")
//!     .and(field("status/name").not_in_list(["Closed", "Resolved"]).or(field("id").gt(500)));
//! assert_eq!(
//!     condition.to_string(),
//!     r#"board/name = "Help Desk" and (status/name not in ("Closed", "Resolved") or id > 500)"#
//! );
//! ```

use std::fmt;

use crate::ast::{Comparison, Expr, Op, Path, Value};

/// Starts a condition on the field at `path`, e.g. `field("board/name")`.
///
/// # Panics
///
/// Panics if `path` is not a valid field path (identifier segments joined by
/// `/`): paths in client code are constants, so a bad one is a bug.
pub fn field(path: &str) -> Field {
    Field {
        path: Path::new(path),
    }
}

/// A field awaiting an operator; made by [`field`].
#[derive(Debug, Clone)]
#[must_use = "a field does nothing until it is compared with a value"]
pub struct Field {
    path: Path,
}

impl Field {
    /// `path = value`
    pub fn eq(self, value: impl Into<Value>) -> Condition {
        self.compare(Op::Eq, value.into())
    }

    /// `path != value`
    pub fn ne(self, value: impl Into<Value>) -> Condition {
        self.compare(Op::Ne, value.into())
    }

    /// `path < value`
    pub fn lt(self, value: impl Into<Value>) -> Condition {
        self.compare(Op::Lt, value.into())
    }

    /// `path <= value`
    pub fn le(self, value: impl Into<Value>) -> Condition {
        self.compare(Op::Le, value.into())
    }

    /// `path > value`
    pub fn gt(self, value: impl Into<Value>) -> Condition {
        self.compare(Op::Gt, value.into())
    }

    /// `path >= value`
    pub fn ge(self, value: impl Into<Value>) -> Condition {
        self.compare(Op::Ge, value.into())
    }

    /// `path contains "text"` (case-insensitive substring).
    pub fn contains(self, text: impl Into<String>) -> Condition {
        self.compare(Op::Contains, Value::String(text.into()))
    }

    /// `path like "pattern"` (`%` and `_` wildcards).
    pub fn like(self, pattern: impl Into<String>) -> Condition {
        self.compare(Op::Like, Value::String(pattern.into()))
    }

    /// `path not like "pattern"`
    pub fn not_like(self, pattern: impl Into<String>) -> Condition {
        self.compare(Op::NotLike, Value::String(pattern.into()))
    }

    /// `path in (v1, v2, ...)`
    ///
    /// # Panics
    ///
    /// Panics if `values` is empty (the language has no empty list; a filter
    /// on no values matches nothing, so handle that case before querying) or
    /// holds a [`Value::List`].
    pub fn in_list(self, values: impl IntoIterator<Item = impl Into<Value>>) -> Condition {
        self.compare(Op::In, list(values))
    }

    /// `path not in (v1, v2, ...)`
    ///
    /// # Panics
    ///
    /// Panics if `values` is empty or holds a [`Value::List`], as for
    /// [`Field::in_list`].
    pub fn not_in_list(self, values: impl IntoIterator<Item = impl Into<Value>>) -> Condition {
        self.compare(Op::NotIn, list(values))
    }

    /// `path = null`
    pub fn is_null(self) -> Condition {
        self.compare(Op::Eq, Value::Null)
    }

    /// `path != null`
    pub fn is_not_null(self) -> Condition {
        self.compare(Op::Ne, Value::Null)
    }

    /// # Panics
    ///
    /// Panics if `value` is a [`Value::List`] (lists only go with `in`).
    fn compare(self, op: Op, value: Value) -> Condition {
        assert!(
            op.takes_list() || !matches!(value, Value::List(_)),
            "a list value can only be used with `in` / `not in` (field `{}`, operator `{op}`)",
            self.path
        );
        Condition(Expr::Compare(Comparison {
            path: self.path,
            op,
            value,
        }))
    }
}

/// Collects a non-empty list of scalar values.
fn list(values: impl IntoIterator<Item = impl Into<Value>>) -> Value {
    let items: Vec<Value> = values.into_iter().map(Into::into).collect();
    assert!(
        !items.is_empty(),
        "`in` / `not in` needs at least one value"
    );
    assert!(
        !items.iter().any(|item| matches!(item, Value::List(_))),
        "`in` / `not in` lists cannot contain lists"
    );
    Value::List(items)
}

/// A condition built in code; combine with [`Condition::and`] and
/// [`Condition::or`], then print it or turn it into an [`Expr`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct Condition(Expr);

impl Condition {
    /// Both conditions (nested `and`s flatten into one).
    pub fn and(self, other: Condition) -> Condition {
        Condition(Expr::and_of([self.0, other.0]))
    }

    /// Either condition (nested `or`s flatten into one).
    pub fn or(self, other: Condition) -> Condition {
        Condition(Expr::or_of([self.0, other.0]))
    }

    /// The expression tree.
    pub fn into_expr(self) -> Expr {
        self.0
    }

    /// The expression tree, borrowed.
    pub fn as_expr(&self) -> &Expr {
        &self.0
    }
}

impl From<Condition> for Expr {
    fn from(condition: Condition) -> Expr {
        condition.0
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse;

    fn round_trips(condition: &Condition) {
        assert_eq!(
            parse(&condition.to_string()).as_ref(),
            Ok(condition.as_expr()),
            "{condition}"
        );
    }

    #[test]
    fn builds_every_operator() {
        let cases = [
            (field("a").eq("x"), r#"a = "x""#),
            (field("a").ne(1), "a != 1"),
            (field("a").lt(1.5), "a < 1.5"),
            (field("a").le(-2_i64), "a <= -2"),
            (field("a").gt(3_u32), "a > 3"),
            (field("a").ge(4_u64), "a >= 4"),
            (field("a").contains("d"), r#"a contains "d""#),
            (field("a").like("x%"), r#"a like "x%""#),
            (field("a").not_like("%y"), r#"a not like "%y""#),
            (field("a").in_list([1, 2]), "a in (1, 2)"),
            (field("a").not_in_list(["p", "q"]), r#"a not in ("p", "q")"#),
            (field("a").is_null(), "a = null"),
            (field("a").is_not_null(), "a != null"),
            (field("a").eq(false), "a = false"),
            (
                field("_info/lastUpdated")
                    .gt(Value::date(time::macros::datetime!(2026-01-01 0:00 UTC))),
                "_info/lastUpdated > [2026-01-01T00:00:00Z]",
            ),
        ];
        for (condition, expected) in cases {
            assert_eq!(condition.to_string(), expected);
            round_trips(&condition);
        }
    }

    #[test]
    fn escapes_quotes_and_backslashes() {
        let condition = field("name").eq(r#"a "quoted" \ back\slash\"#);
        assert_eq!(
            condition.to_string(),
            r#"name = "a \"quoted\" \\ back\\slash\\""#
        );
        round_trips(&condition);
    }

    #[test]
    fn and_or_flatten_and_parenthesise() {
        let condition = field("a")
            .eq(1)
            .and(field("b").eq(2))
            .and(field("c").eq(3).or(field("d").eq(4)).or(field("e").eq(5)));
        let Expr::And(children) = condition.as_expr() else {
            panic!("expected an And: {condition:?}");
        };
        assert_eq!(children.len(), 3);
        assert_eq!(
            condition.to_string(),
            "a = 1 and b = 2 and (c = 3 or d = 4 or e = 5)"
        );
        round_trips(&condition);
    }

    #[test]
    #[should_panic(expected = "invalid field path \"board name\"")]
    fn field_panics_on_invalid_path() {
        let _ = field("board name");
    }

    #[test]
    #[should_panic(expected = "needs at least one value")]
    fn in_list_panics_on_empty_list() {
        let _ = field("id").in_list(Vec::<i64>::new());
    }

    #[test]
    #[should_panic(expected = "a list value can only be used with `in`")]
    fn eq_panics_on_list() {
        let _ = field("id").eq(Value::List(vec![Value::Null]));
    }
}
