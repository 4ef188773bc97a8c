//! The conditions parser.
//!
//! A hand-written recursive-descent parser: the grammar is tiny, and what
//! matters most is precise errors that name the byte position and exactly what
//! was expected there, which is easiest to get right by hand (and keeps the
//! crate free of parser-combinator dependencies).
//!
//! ```text
//! expr       := or EOF
//! or         := and ("or" and)*
//! and        := primary ("and" primary)*
//! primary    := "(" or ")" | comparison
//! comparison := path op value | path ("in" | "not" "in") list
//! op         := "=" | "!=" | "<>" | "<" | "<=" | ">" | ">=" | "contains" | "like" | "not" "like"
//! value      := string | number | "true" | "false" | "null" | "[" date "]"
//! list       := "(" value ("," value)* ")"
//! ```

pub(crate) mod lexer;

use std::fmt;

use crate::ast::{Comparison, Expr, Op, Path, Value};
use lexer::{Lexer, Token, TokenKind};

/// Deepest parenthesis nesting accepted, so hostile input cannot overflow the
/// stack.
pub const MAX_NESTING: usize = 64;

/// Why some text is not a valid expression, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at position {position}: expected {expected}, found {found}")]
pub struct ParseError {
    /// Byte offset (0-based) into the input where the problem starts.
    pub position: usize,
    /// What would have been valid there.
    pub expected: Expected,
    /// A short description of what was there instead, e.g. `end of input`
    /// or `` `foo` ``.
    pub found: String,
}

/// What the parser expected at the position of a [`ParseError`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Expected {
    /// The start of a condition (a field path) or `(`.
    Condition,
    /// A field path.
    Path,
    /// A field name after a `/` in a path.
    FieldName,
    /// More of a path or its end (only from [`Path::try_new`]).
    PathEnd,
    /// A comparison operator.
    Operator,
    /// `like` or `in` after `not`.
    LikeOrIn,
    /// A scalar value after an operator.
    Value,
    /// The `(` that starts the list after `in` / `not in`.
    ListStart,
    /// A scalar value inside a list.
    ListValue,
    /// `,` or `)` inside a list.
    ListSeparator,
    /// `and`, `or` or the end of the input.
    AndOrEnd,
    /// `and`, `or` or the `)` closing the `(` at byte offset `open`.
    AndOrClose {
        /// Byte offset of the unclosed `(`.
        open: usize,
    },
    /// Fewer than [`MAX_NESTING`] levels of parentheses.
    ShallowerNesting,
    /// The closing quote of a string that starts at the error position.
    StringEnd,
    /// The closing `]` of a date that starts at the error position.
    DateEnd,
    /// A valid date inside `[...]`.
    Date,
    /// A digit in a number.
    Digit,
    /// `asc`, `desc`, `,` or end of input after an `orderBy` field.
    DirectionOrComma,
    /// `,` or end of input after an `orderBy` direction.
    CommaOrEnd,
}

/// The operators, as listed in error messages.
const OPERATORS: &str = "=, !=, <>, <, <=, >, >=, contains, like, not like, in, not in";

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expected::Condition => f.write_str("a condition like `status/name = \"Open\"`"),
            Expected::Path => f.write_str("a field path like `board/name`"),
            Expected::FieldName => f.write_str("a field name after `/`"),
            Expected::PathEnd => f.write_str("`/` or the end of the field path"),
            Expected::Operator => write!(f, "an operator ({OPERATORS})"),
            Expected::LikeOrIn => f.write_str("`like` or `in` after `not`"),
            Expected::Value => f.write_str("a value (string, number, true/false, null or [date])"),
            Expected::ListStart => f.write_str("`(` to start the list of values"),
            Expected::ListValue => {
                f.write_str("a list value (string, number, true/false, null or [date])")
            }
            Expected::ListSeparator => f.write_str("`,` or `)` in the list of values"),
            Expected::AndOrEnd => f.write_str("`and`, `or` or end of input"),
            Expected::AndOrClose { open } => {
                write!(f, "`and`, `or` or `)` to close the `(` at position {open}")
            }
            Expected::ShallowerNesting => {
                write!(f, "at most {MAX_NESTING} levels of nested parentheses")
            }
            Expected::StringEnd => {
                f.write_str("a closing quote (the string starting here is unterminated)")
            }
            Expected::DateEnd => {
                f.write_str("a closing `]` (the date starting here is unterminated)")
            }
            Expected::Date => f.write_str("a date like [2026-01-01] or [2026-01-01T00:00:00Z]"),
            Expected::Digit => f.write_str("a digit"),
            Expected::DirectionOrComma => f.write_str("`asc`, `desc`, `,` or end of input"),
            Expected::CommaOrEnd => f.write_str("`,` or end of input"),
        }
    }
}

/// Parses a `conditions` (or `childConditions` / `customFieldConditions`)
/// expression.
///
/// Empty or whitespace-only input is an error: callers should treat an absent
/// parameter as "no filter" before calling this.
///
/// ```
/// use connectwise_conditions::{parse, Expr};
///
/// let expr = parse(r#"board/name = "Help Desk" and id > 500"#)?;
/// assert!(matches!(expr, Expr::And(ref children) if children.len() == 2));
/// # Ok::<(), connectwise_conditions::ParseError>(())
/// ```
pub fn parse(input: &str) -> Result<Expr, ParseError> {
    let mut parser = Parser::new(input);
    let expr = parser.or_expr(0)?;
    let token = parser.next()?;
    match token.kind {
        TokenKind::Eof => Ok(expr),
        TokenKind::RParen => {
            Err(token.error_found(Expected::AndOrEnd, "`)` without a matching `(`".to_owned()))
        }
        _ => Err(parser.error(&token, Expected::AndOrEnd)),
    }
}

/// Recursive-descent parser over an on-demand token stream with one token of
/// look-ahead.
pub(crate) struct Parser<'a> {
    src: &'a str,
    lexer: Lexer<'a>,
    peeked: Option<Token>,
}

impl<'a> Parser<'a> {
    pub(crate) fn new(src: &'a str) -> Parser<'a> {
        Parser {
            src,
            lexer: Lexer::new(src),
            peeked: None,
        }
    }

    /// Consumes and returns the next token.
    pub(crate) fn next(&mut self) -> Result<Token, ParseError> {
        match self.peeked.take() {
            Some(token) => Ok(token),
            None => self.lexer.next_token(),
        }
    }

    /// Returns the next token without consuming it.
    fn peek(&mut self) -> Result<&Token, ParseError> {
        let token = match self.peeked.take() {
            Some(token) => token,
            None => self.lexer.next_token()?,
        };
        Ok(self.peeked.insert(token))
    }

    /// Consumes the next token if it is `keyword`.
    pub(crate) fn eat_keyword(&mut self, keyword: &str) -> Result<bool, ParseError> {
        let src = self.src;
        let found = self.peek()?.is_keyword(src, keyword);
        if found {
            self.peeked = None;
        }
        Ok(found)
    }

    /// An error at `token`.
    pub(crate) fn error(&self, token: &Token, expected: Expected) -> ParseError {
        token.error(self.src, expected)
    }

    /// Whether `token` is the keyword `keyword`.
    pub(crate) fn is_keyword(&self, token: &Token, keyword: &str) -> bool {
        token.is_keyword(self.src, keyword)
    }

    /// The path a `Word` token spells.
    pub(crate) fn path(&self, token: &Token) -> Path {
        Path::from_valid(token.text(self.src))
    }

    /// `or := and ("or" and)*`, flattening nested `Or`s.
    fn or_expr(&mut self, depth: usize) -> Result<Expr, ParseError> {
        let mut children = vec![self.and_expr(depth)?];
        while self.eat_keyword("or")? {
            children.push(self.and_expr(depth)?);
        }
        Ok(Expr::or_of(children))
    }

    /// `and := primary ("and" primary)*`, flattening nested `And`s.
    fn and_expr(&mut self, depth: usize) -> Result<Expr, ParseError> {
        let mut children = vec![self.primary(depth)?];
        while self.eat_keyword("and")? {
            children.push(self.primary(depth)?);
        }
        Ok(Expr::and_of(children))
    }

    /// `primary := "(" or ")" | comparison`
    fn primary(&mut self, depth: usize) -> Result<Expr, ParseError> {
        let token = self.next()?;
        match token.kind {
            TokenKind::LParen if depth >= MAX_NESTING => {
                Err(self.error(&token, Expected::ShallowerNesting))
            }
            TokenKind::LParen => self.group(token.start, depth + 1),
            TokenKind::Word => self.comparison(&token).map(Expr::Compare),
            _ => Err(self.error(&token, Expected::Condition)),
        }
    }

    /// The rest of a parenthesised group whose `(` is at `open`.
    fn group(&mut self, open: usize, depth: usize) -> Result<Expr, ParseError> {
        let inner = self.or_expr(depth)?;
        let token = self.next()?;
        match token.kind {
            TokenKind::RParen => Ok(inner),
            _ => Err(self.error(&token, Expected::AndOrClose { open })),
        }
    }

    /// `comparison := path op value | path op list`, after the path token.
    fn comparison(&mut self, path: &Token) -> Result<Comparison, ParseError> {
        let path = self.path(path);
        let op = self.operator()?;
        let value = if op.takes_list() {
            self.list()?
        } else {
            self.value(Expected::Value)?
        };
        Ok(Comparison { path, op, value })
    }

    /// A comparison operator, symbolic or keyword.
    fn operator(&mut self) -> Result<Op, ParseError> {
        let token = self.next()?;
        if let TokenKind::Sym(op) = token.kind {
            return Ok(op);
        }
        if self.is_keyword(&token, "not") {
            return self.negated_operator();
        }
        [
            ("contains", Op::Contains),
            ("like", Op::Like),
            ("in", Op::In),
        ]
        .into_iter()
        .find_map(|(keyword, op)| self.is_keyword(&token, keyword).then_some(op))
        .ok_or_else(|| self.error(&token, Expected::Operator))
    }

    /// `like` or `in` after `not`.
    fn negated_operator(&mut self) -> Result<Op, ParseError> {
        let token = self.next()?;
        if self.is_keyword(&token, "like") {
            Ok(Op::NotLike)
        } else if self.is_keyword(&token, "in") {
            Ok(Op::NotIn)
        } else {
            Err(self.error(&token, Expected::LikeOrIn))
        }
    }

    /// `list := "(" value ("," value)* ")"`
    fn list(&mut self) -> Result<Value, ParseError> {
        let token = self.next()?;
        if token.kind != TokenKind::LParen {
            return Err(self.error(&token, Expected::ListStart));
        }
        let mut items = Vec::new();
        loop {
            items.push(self.value(Expected::ListValue)?);
            let token = self.next()?;
            match token.kind {
                TokenKind::Comma => {}
                TokenKind::RParen => return Ok(Value::List(items)),
                _ => return Err(self.error(&token, Expected::ListSeparator)),
            }
        }
    }

    /// A scalar value; `expected` says what to report if there is none.
    fn value(&mut self, expected: Expected) -> Result<Value, ParseError> {
        let token = self.next()?;
        let text = token.text(self.src);
        match token.kind {
            TokenKind::Str(content) => Ok(Value::String(content)),
            TokenKind::Number => Ok(Value::Number(text.to_owned())),
            TokenKind::Date(content) => Ok(Value::Date(content)),
            TokenKind::Word => keyword_value(text).ok_or_else(|| {
                let found = format!("{} (strings need double quotes)", token.describe(self.src));
                token.error_found(expected, found)
            }),
            TokenKind::LParen if expected == Expected::Value => Err(token.error_found(
                expected,
                "`(` (lists are only allowed after `in` / `not in`)".to_owned(),
            )),
            _ => Err(self.error(&token, expected)),
        }
    }
}

/// The value a keyword literal (`true`, `false`, `null`, any case) stands for.
fn keyword_value(word: &str) -> Option<Value> {
    [
        ("true", Value::Bool(true)),
        ("false", Value::Bool(false)),
        ("null", Value::Null),
    ]
    .into_iter()
    .find_map(|(keyword, value)| word.eq_ignore_ascii_case(keyword).then_some(value))
}

#[cfg(test)]
mod tests;
