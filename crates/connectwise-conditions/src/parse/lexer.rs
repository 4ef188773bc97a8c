//! On-demand tokenizer shared by the conditions and `orderBy` parsers.
//!
//! Tokens are produced one at a time as the parser asks for them, so the first
//! error in the input is the one reported, whether it is lexical (an
//! unterminated string) or syntactic (a missing operator).

use crate::ast::{Op, parse_date};
use crate::parse::{Expected, ParseError};

/// A token and the byte range of the source it covers.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub kind: TokenKind,
    pub start: usize,
    pub end: usize,
}

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TokenKind {
    /// A path or a keyword (`and`, `like`, `true`, ...); the text is the source slice.
    Word,
    /// A string literal, unescaped.
    Str(String),
    /// A number literal; the text is the source slice.
    Number,
    /// A bracketed date; holds the trimmed text between the brackets.
    Date(String),
    /// A symbolic operator (`=`, `!=`, `<>`, `<`, `<=`, `>`, `>=`).
    Sym(Op),
    /// A run of operator characters that is not an operator, e.g. `==`.
    BadSym,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `,`
    Comma,
    /// Any other character.
    Unknown,
    /// The end of the input.
    Eof,
}

/// Longest `found` text quoted in an error before it is cut short.
const MAX_FOUND_CHARS: usize = 24;

impl Token {
    /// The source text of the token.
    pub fn text<'a>(&self, src: &'a str) -> &'a str {
        &src[self.start..self.end]
    }

    /// Whether the token is the given keyword (case-insensitive). Paths with
    /// a `/` are never keywords.
    pub fn is_keyword(&self, src: &str, keyword: &str) -> bool {
        self.kind == TokenKind::Word && self.text(src).eq_ignore_ascii_case(keyword)
    }

    /// A short description of the token for error messages.
    pub fn describe(&self, src: &str) -> String {
        match self.kind {
            TokenKind::Eof => "end of input".to_owned(),
            _ => quote(self.text(src)),
        }
    }

    /// An error at this token.
    pub fn error(&self, src: &str, expected: Expected) -> ParseError {
        self.error_found(expected, self.describe(src))
    }

    /// An error at this token with a custom description of what was found.
    pub fn error_found(&self, expected: Expected, found: String) -> ParseError {
        ParseError {
            position: self.start,
            expected,
            found,
        }
    }
}

/// Quotes source text in backticks, cutting long text short.
fn quote(text: &str) -> String {
    match text.char_indices().nth(MAX_FOUND_CHARS) {
        Some((cut, _)) => format!("`{}…`", &text[..cut]),
        None => format!("`{text}`"),
    }
}

/// Describes the character at `pos` (or the end of input) for error messages.
fn describe_at(src: &str, pos: usize) -> String {
    match src[pos..].chars().next() {
        None => "end of input".to_owned(),
        Some(c) if c.is_whitespace() => "whitespace".to_owned(),
        Some(c) => quote(c.encode_utf8(&mut [0; 4])),
    }
}

fn error_at(src: &str, pos: usize, expected: Expected) -> ParseError {
    ParseError {
        position: pos,
        expected,
        found: describe_at(src, pos),
    }
}

fn is_segment_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_segment_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Scans a path starting at `start` (which must hold a segment start) and
/// returns the byte offset just past it.
fn scan_path(src: &str, start: usize) -> Result<usize, ParseError> {
    let bytes = src.as_bytes();
    let mut pos = start;
    loop {
        while pos < bytes.len() && is_segment_char(char::from(bytes[pos])) {
            pos += 1;
        }
        if bytes.get(pos) != Some(&b'/') {
            return Ok(pos);
        }
        pos += 1;
        match bytes.get(pos) {
            Some(&b) if is_segment_start(char::from(b)) => {}
            _ => return Err(error_at(src, pos, Expected::FieldName)),
        }
    }
}

/// Validates that the whole of `text` is one path and returns it.
pub(crate) fn parse_whole_path(text: &str) -> Result<&str, ParseError> {
    match text.chars().next() {
        Some(c) if is_segment_start(c) => {}
        _ => return Err(error_at(text, 0, Expected::Path)),
    }
    let end = scan_path(text, 0)?;
    if end == text.len() {
        Ok(text)
    } else {
        Err(error_at(text, end, Expected::PathEnd))
    }
}

/// Produces tokens from the source on demand.
pub(crate) struct Lexer<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    /// A lexer positioned at the start of `src`.
    pub fn new(src: &'a str) -> Lexer<'a> {
        Lexer { src, pos: 0 }
    }

    /// The next token (an [`TokenKind::Eof`] token, repeatedly, at the end).
    pub fn next_token(&mut self) -> Result<Token, ParseError> {
        self.skip_whitespace();
        let start = self.pos;
        let Some(c) = self.peek_char() else {
            return Ok(self.token(TokenKind::Eof, start));
        };
        let kind = match c {
            '(' => self.single(TokenKind::LParen),
            ')' => self.single(TokenKind::RParen),
            ',' => self.single(TokenKind::Comma),
            '"' | '\'' => self.string(start, c)?,
            '[' => self.date(start)?,
            '=' | '!' | '<' | '>' => self.symbol(start),
            '-' | '0'..='9' => self.number(start)?,
            c if is_segment_start(c) => {
                self.pos = scan_path(self.src, start)?;
                TokenKind::Word
            }
            other => {
                self.pos += other.len_utf8();
                TokenKind::Unknown
            }
        };
        Ok(self.token(kind, start))
    }

    fn token(&self, kind: TokenKind, start: usize) -> Token {
        Token {
            kind,
            start,
            end: self.pos,
        }
    }

    fn peek_char(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn skip_whitespace(&mut self) {
        let rest = &self.src[self.pos..];
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn single(&mut self, kind: TokenKind) -> TokenKind {
        self.pos += 1;
        kind
    }

    /// A string in double quotes, or in single quotes as ConnectWise also takes them
    /// (`type/identifier='S'`, as sync engines write); `\x` stands for `x` (so `\"`, `\'` and
    /// `\\` escape).
    fn string(&mut self, start: usize, quote: char) -> Result<TokenKind, ParseError> {
        let mut content = String::new();
        let mut chars = self.src[start + 1..].char_indices();
        while let Some((offset, c)) = chars.next() {
            match c {
                c if c == quote => {
                    self.pos = start + 1 + offset + 1;
                    return Ok(TokenKind::Str(content));
                }
                '\\' => match chars.next() {
                    Some((_, escaped)) => content.push(escaped),
                    None => break,
                },
                other => content.push(other),
            }
        }
        Err(ParseError {
            position: start,
            expected: Expected::StringEnd,
            found: "end of input".to_owned(),
        })
    }

    /// A `[...]` date whose content must be a date the language accepts.
    fn date(&mut self, start: usize) -> Result<TokenKind, ParseError> {
        let Some(len) = self.src[start..].find(']') else {
            return Err(ParseError {
                position: start,
                expected: Expected::DateEnd,
                found: "end of input".to_owned(),
            });
        };
        self.pos = start + len + 1;
        let content = self.src[start + 1..start + len].trim();
        if parse_date(content).is_none() {
            return Err(ParseError {
                position: start,
                expected: Expected::Date,
                found: quote(&self.src[start..self.pos]),
            });
        }
        Ok(TokenKind::Date(content.to_owned()))
    }

    /// The longest run of `=!<>`; anything but a known operator is `BadSym`.
    fn symbol(&mut self, start: usize) -> TokenKind {
        let rest = &self.src[start..];
        let len = rest
            .find(|c| !matches!(c, '=' | '!' | '<' | '>'))
            .unwrap_or(rest.len());
        self.pos = start + len;
        match &rest[..len] {
            "=" => TokenKind::Sym(Op::Eq),
            "!=" | "<>" => TokenKind::Sym(Op::Ne),
            "<" => TokenKind::Sym(Op::Lt),
            "<=" => TokenKind::Sym(Op::Le),
            ">" => TokenKind::Sym(Op::Gt),
            ">=" => TokenKind::Sym(Op::Ge),
            _ => TokenKind::BadSym,
        }
    }

    /// `-?digits(.digits)?`
    fn number(&mut self, start: usize) -> Result<TokenKind, ParseError> {
        self.pos = start;
        if self.src[start..].starts_with('-') {
            self.pos += 1;
        }
        self.digits()?;
        if self.src[self.pos..].starts_with('.') {
            self.pos += 1;
            self.digits()?;
        }
        Ok(TokenKind::Number)
    }

    /// One or more ASCII digits.
    fn digits(&mut self) -> Result<(), ParseError> {
        let rest = &self.src[self.pos..];
        let len = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if len == 0 {
            return Err(error_at(self.src, self.pos, Expected::Digit));
        }
        self.pos += len;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<(TokenKind, &str)> {
        let mut lexer = Lexer::new(src);
        let mut out = Vec::new();
        loop {
            let token = lexer.next_token().unwrap();
            if token.kind == TokenKind::Eof {
                return out;
            }
            let text = token.text(src);
            out.push((token.kind, text));
        }
    }

    #[test]
    fn tokenizes_every_kind() {
        use TokenKind::*;
        assert_eq!(
            kinds(r#"board/name>=-1.5 <> "a\"b" [2026-01-01] (x,) == & é"#),
            vec![
                (Word, "board/name"),
                (Sym(Op::Ge), ">="),
                (Number, "-1.5"),
                (Sym(Op::Ne), "<>"),
                (Str("a\"b".into()), r#""a\"b""#),
                (Date("2026-01-01".into()), "[2026-01-01]"),
                (LParen, "("),
                (Word, "x"),
                (Comma, ","),
                (RParen, ")"),
                (BadSym, "=="),
                (Unknown, "&"),
                (Unknown, "é"),
            ]
        );
    }

    #[test]
    fn string_escapes_keep_the_escaped_character() {
        assert_eq!(kinds(r#""a\\b\nc""#)[0].0, TokenKind::Str("a\\bnc".into()));
    }

    #[test]
    fn single_quoted_strings_read_as_double_quoted_ones() {
        assert_eq!(kinds("'S'")[0].0, TokenKind::Str("S".into()));
        assert_eq!(
            kinds(r#"'it\'s "x"'"#)[0].0,
            TokenKind::Str(r#"it's "x""#.into())
        );
        assert_eq!(
            crate::parse("type/identifier='S' or name = \"S\"").unwrap(),
            crate::parse("type/identifier=\"S\" or name = 'S'").unwrap()
        );
    }

    #[test]
    fn found_text_is_cut_short() {
        assert_eq!(
            quote("abcdefghijklmnopqrstuvwxyz"),
            "`abcdefghijklmnopqrstuvwx…`"
        );
        assert_eq!(quote("short"), "`short`");
    }
}
