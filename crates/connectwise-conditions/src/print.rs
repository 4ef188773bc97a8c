//! The printer: canonical text for an [`Expr`] that parses back to an equal
//! tree (for the normalized trees described in [`ast`](crate::ast)).
//!
//! Canonical form: single spaces around operators and keywords, lowercase
//! keywords, `!=` for inequality, strings with `"` and `\` escaped, lists as
//! `(1, 2)`, and parentheses only where precedence needs them (an `Or` inside
//! an `And`).

use std::fmt::{self, Display, Formatter, Write};

use crate::ast::{Comparison, Expr, Value};

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Expr::And(children) => join(f, children, " and ", |child| !child.is_compare()),
            Expr::Or(children) => join(f, children, " or ", |child| matches!(child, Expr::Or(_))),
            Expr::Compare(comparison) => comparison.fmt(f),
        }
    }
}

/// Writes `children` separated by `separator`, parenthesising those for which
/// `needs_parens` holds.
fn join(
    f: &mut Formatter<'_>,
    children: &[Expr],
    separator: &str,
    needs_parens: fn(&Expr) -> bool,
) -> fmt::Result {
    for (index, child) in children.iter().enumerate() {
        if index > 0 {
            f.write_str(separator)?;
        }
        if needs_parens(child) {
            write!(f, "({child})")?;
        } else {
            write!(f, "{child}")?;
        }
    }
    Ok(())
}

impl Expr {
    fn is_compare(&self) -> bool {
        matches!(self, Expr::Compare(_))
    }
}

impl Display for Comparison {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.path, self.op, self.value)
    }
}

impl Display for Value {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Value::String(text) => write_string(f, text),
            Value::Number(text) => f.write_str(text),
            Value::Bool(flag) => write!(f, "{flag}"),
            Value::Null => f.write_str("null"),
            Value::Date(text) => write!(f, "[{text}]"),
            Value::List(items) => {
                f.write_char('(')?;
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        f.write_str(", ")?;
                    }
                    item.fmt(f)?;
                }
                f.write_char(')')
            }
        }
    }
}

/// Writes `text` as a double-quoted string, escaping `"` and `\`.
fn write_string(f: &mut Formatter<'_>, text: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in text.chars() {
        if matches!(c, '"' | '\\') {
            f.write_char('\\')?;
        }
        f.write_char(c)?;
    }
    f.write_char('"')
}

#[cfg(test)]
mod tests {
    use crate::parse;

    fn canonical(input: &str) -> String {
        parse(input).unwrap().to_string()
    }

    #[test]
    fn prints_canonical_text() {
        let cases = [
            ("a=1", "a = 1"),
            ("a <> 1", "a != 1"),
            ("a=1 AND (b=2 OR c=3)", "a = 1 and (b = 2 or c = 3)"),
            ("a=1 or b=2 and c=3", "a = 1 or b = 2 and c = 3"),
            (
                "(a=1 or b=2) and (c=3 or d=4)",
                "(a = 1 or b = 2) and (c = 3 or d = 4)",
            ),
            ("((a = 1))", "a = 1"),
            (
                r#"name = "say \"hi\" \\ bye""#,
                r#"name = "say \"hi\" \\ bye""#,
            ),
            (r#"x = "\n""#, r#"x = "n""#),
            (
                "flag = TRUE and other = False and p = NULL",
                "flag = true and other = false and p = null",
            ),
            ("d > [ 2026-01-01 ]", "d > [2026-01-01]"),
            ("id NOT IN (1,2 , 3)", "id not in (1, 2, 3)"),
            ("n Not Like \"%x%\"", "n not like \"%x%\""),
            ("n >= -0.50", "n >= -0.50"),
        ];
        for (input, expected) in cases {
            assert_eq!(canonical(input), expected, "printing {input:?}");
        }
    }
}
