//! The syntax tree of a conditions expression.
//!
//! The parser only ever produces *normalized* trees: `And`/`Or` nodes have at
//! least two children, an `And` never directly contains an `And` (likewise
//! `Or`), `in`/`not in` always carry a [`Value::List`] of scalars and every
//! other operator carries a scalar. The printer relies on these invariants to
//! produce text that parses back to the same tree; the [builder](crate::builder)
//! upholds them too. Hand-built trees that break them still evaluate, but may
//! not print to valid text.

use std::fmt;
use std::str::FromStr;

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime, UtcOffset};

use crate::parse::{ParseError, lexer};

/// A boolean expression over an entity's fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// True when every child is true (at least two children).
    And(Vec<Expr>),
    /// True when any child is true (at least two children).
    Or(Vec<Expr>),
    /// A single `path op value` comparison.
    Compare(Comparison),
}

/// One `path op value` comparison, e.g. `board/name = "Help Desk"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    /// The field being compared.
    pub path: Path,
    /// The comparison operator.
    pub op: Op,
    /// The literal the field is compared with (a [`Value::List`] exactly when
    /// `op` is [`Op::In`] or [`Op::NotIn`]).
    pub value: Value,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// `=`
    Eq,
    /// `!=` (also written `<>`)
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `contains` (case-insensitive substring)
    Contains,
    /// `like` (`%` and `_` wildcards)
    Like,
    /// `not like`
    NotLike,
    /// `in (...)`
    In,
    /// `not in (...)`
    NotIn,
}

impl Op {
    /// The canonical spelling of the operator, e.g. `"!="` or `"not like"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Contains => "contains",
            Op::Like => "like",
            Op::NotLike => "not like",
            Op::In => "in",
            Op::NotIn => "not in",
        }
    }

    /// Whether the operator takes a parenthesised list (`in`, `not in`).
    pub fn takes_list(self) -> bool {
        matches!(self, Op::In | Op::NotIn)
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A field path such as `board/name`: identifier segments joined by `/`.
///
/// Each segment starts with an ASCII letter or `_` and continues with ASCII
/// letters, digits or `_`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Path {
    segments: Vec<String>,
}

impl Path {
    /// Builds a path from its text form, e.g. `Path::new("board/name")`.
    ///
    /// # Panics
    ///
    /// Panics if `text` is not a valid path (use [`Path::try_new`] or
    /// [`str::parse`] for untrusted input).
    pub fn new(text: &str) -> Path {
        match Path::try_new(text) {
            Ok(path) => path,
            Err(err) => panic!("invalid field path {text:?}: {err}"),
        }
    }

    /// Builds a path from its text form, reporting where it is malformed.
    pub fn try_new(text: &str) -> Result<Path, ParseError> {
        lexer::parse_whole_path(text).map(Path::from_valid)
    }

    /// Builds a path from text already known to be valid (checked by the lexer).
    pub(crate) fn from_valid(text: &str) -> Path {
        Path {
            segments: text.split('/').map(str::to_owned).collect(),
        }
    }

    /// The path's segments, e.g. `["board", "name"]`.
    pub fn segments(&self) -> &[String] {
        &self.segments
    }
}

impl FromStr for Path {
    type Err = ParseError;

    fn from_str(text: &str) -> Result<Path, ParseError> {
        Path::try_new(text)
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.segments.join("/"))
    }
}

/// A literal value on the right-hand side of a comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A string (unescaped content, without the quotes).
    String(String),
    /// A number, kept as its source text (`-12`, `3.50`) so printing
    /// round-trips exactly; see [`Value::as_f64`].
    Number(String),
    /// `true` or `false`.
    Bool(bool),
    /// `null`.
    Null,
    /// A date: the text between the square brackets, e.g. `2026-01-01T00:00:00Z`
    /// or `2026-01-01`.
    Date(String),
    /// A parenthesised list of scalar values (only after `in` / `not in`).
    List(Vec<Value>),
}

impl Value {
    /// The numeric value of a [`Value::Number`]; `None` for other variants.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(text) => text.parse().ok(),
            _ => None,
        }
    }

    /// A date literal for `at`, formatted as RFC 3339 in UTC with a `Z`
    /// suffix, e.g. `[2026-01-01T00:00:00Z]`.
    ///
    /// # Panics
    ///
    /// Panics if the year is outside `0000..=9999`, which RFC 3339 cannot
    /// express.
    pub fn date(at: OffsetDateTime) -> Value {
        let text = at
            .to_offset(UtcOffset::UTC)
            .format(&Rfc3339)
            .unwrap_or_else(|err| panic!("cannot format {at} as an RFC 3339 date: {err}"));
        Value::Date(text)
    }

    /// The instant a [`Value::Date`] denotes (a bare date means midnight UTC).
    pub fn as_date(&self) -> Option<OffsetDateTime> {
        match self {
            Value::Date(text) => parse_date(text),
            _ => None,
        }
    }
}

/// Parses the date forms the language accepts: RFC 3339, a date-time without
/// offset (taken as UTC) and a bare `YYYY-MM-DD` (midnight UTC).
pub(crate) fn parse_date(text: &str) -> Option<OffsetDateTime> {
    let text = text.trim();
    if let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) {
        return Some(at);
    }
    let local = format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]"
    );
    if let Ok(at) = PrimitiveDateTime::parse(text, &local) {
        return Some(at.assume_utc());
    }
    let day = format_description!("[year]-[month]-[day]");
    Date::parse(text, &day)
        .ok()
        .map(|date| date.midnight().assume_utc())
}

impl From<&str> for Value {
    fn from(text: &str) -> Value {
        Value::String(text.to_owned())
    }
}

impl From<String> for Value {
    fn from(text: String) -> Value {
        Value::String(text)
    }
}

impl From<bool> for Value {
    fn from(flag: bool) -> Value {
        Value::Bool(flag)
    }
}

macro_rules! integer_values {
    ($($int:ty),*) => {$(
        impl From<$int> for Value {
            fn from(number: $int) -> Value {
                Value::Number(number.to_string())
            }
        }
    )*};
}

integer_values!(i32, i64, u32, u64);

impl From<f64> for Value {
    /// # Panics
    ///
    /// Panics if `number` is NaN or infinite (the language has no spelling
    /// for them).
    fn from(number: f64) -> Value {
        assert!(
            number.is_finite(),
            "cannot use the non-finite number {number} in a condition"
        );
        // `f64`'s Display never uses exponent notation, so this is always
        // `-?digits(.digits)?`, which the lexer accepts.
        Value::Number(number.to_string())
    }
}

impl From<OffsetDateTime> for Value {
    /// Same as [`Value::date`].
    fn from(at: OffsetDateTime) -> Value {
        Value::date(at)
    }
}

impl Expr {
    /// The conjunction of `children` (at least one), splicing in the children
    /// of any `And` among them; a single child is returned as is.
    pub(crate) fn and_of(children: impl IntoIterator<Item = Expr>) -> Expr {
        Expr::flattened(children, true)
    }

    /// The disjunction of `children` (at least one), splicing in the children
    /// of any `Or` among them; a single child is returned as is.
    pub(crate) fn or_of(children: impl IntoIterator<Item = Expr>) -> Expr {
        Expr::flattened(children, false)
    }

    fn flattened(children: impl IntoIterator<Item = Expr>, and: bool) -> Expr {
        let mut flat = Vec::new();
        for child in children {
            match (child, and) {
                (Expr::And(inner), true) | (Expr::Or(inner), false) => flat.extend(inner),
                (other, _) => flat.push(other),
            }
        }
        match (flat.len(), and) {
            (1, _) => flat.remove(0),
            (_, true) => Expr::And(flat),
            (_, false) => Expr::Or(flat),
        }
    }

    /// The distinct field paths the expression refers to, in order of first
    /// appearance.
    pub fn paths(&self) -> Vec<&Path> {
        let mut paths = Vec::new();
        self.collect_paths(&mut paths);
        paths
    }

    fn collect_paths<'a>(&'a self, out: &mut Vec<&'a Path>) {
        match self {
            Expr::And(children) | Expr::Or(children) => {
                children.iter().for_each(|child| child.collect_paths(out));
            }
            Expr::Compare(comparison) => {
                if !out.contains(&&comparison.path) {
                    out.push(&comparison.path);
                }
            }
        }
    }
}

impl FromStr for Expr {
    type Err = ParseError;

    fn from_str(text: &str) -> Result<Expr, ParseError> {
        crate::parse(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_new_splits_segments() {
        let path = Path::new("_info/lastUpdated");
        assert_eq!(path.segments(), ["_info", "lastUpdated"]);
        assert_eq!(path.to_string(), "_info/lastUpdated");
    }

    #[test]
    fn path_try_new_rejects_malformed_paths() {
        for bad in ["", "board/", "/name", "1abc", "a b", "a//b", " a", "a-b"] {
            assert!(Path::try_new(bad).is_err(), "{bad:?} should be rejected");
        }
        assert_eq!(
            Path::try_new("board/").unwrap_err().to_string(),
            "at position 6: expected a field name after `/`, found end of input"
        );
    }

    #[test]
    #[should_panic(expected = "invalid field path \"a b\"")]
    fn path_new_panics_on_invalid_text() {
        Path::new("a b");
    }

    #[test]
    fn value_conversions() {
        assert_eq!(Value::from(42_u64), Value::Number("42".into()));
        assert_eq!(Value::from(-7_i32), Value::Number("-7".into()));
        assert_eq!(Value::from(2.5), Value::Number("2.5".into()));
        assert_eq!(
            Value::from(1e21),
            Value::Number("1000000000000000000000".into())
        );
        assert_eq!(Value::from("x"), Value::String("x".into()));
        assert_eq!(Value::from(true), Value::Bool(true));
        assert_eq!(Value::Number("-3.25".into()).as_f64(), Some(-3.25));
    }

    #[test]
    fn value_date_formats_utc_with_z() {
        let at = time::macros::datetime!(2026-01-01 02:00 +02:00);
        assert_eq!(Value::date(at), Value::Date("2026-01-01T00:00:00Z".into()));
    }

    #[test]
    fn parse_date_accepts_the_three_forms() {
        let midnight = time::macros::datetime!(2026-01-01 00:00 UTC);
        assert_eq!(parse_date("2026-01-01"), Some(midnight));
        assert_eq!(parse_date("2026-01-01T00:00:00Z"), Some(midnight));
        assert_eq!(parse_date("2026-01-01T00:00:00"), Some(midnight));
        assert_eq!(parse_date("2026-01-01T01:00:00+01:00"), Some(midnight));
        assert_eq!(parse_date("2026-13-01"), None);
        assert_eq!(parse_date("yesterday"), None);
    }

    #[test]
    fn paths_are_distinct_in_order() {
        let expr: Expr = "b = 1 and (a = 2 or b = 3)".parse().unwrap();
        let paths: Vec<String> = expr.paths().iter().map(|p| p.to_string()).collect();
        assert_eq!(paths, ["b", "a"]);
    }
}
