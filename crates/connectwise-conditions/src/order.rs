//! The `orderBy` parameter: `name asc, id desc`.
//!
//! Each item is a field path optionally followed by `asc` or `desc` (any
//! case; `asc` when omitted).

use std::cmp::Ordering;
use std::fmt;

use serde_json::Value as Json;

use crate::ast::Path;
use crate::eval::{Node, Scalar, cmp_ignore_case, get_key};
use crate::parse::lexer::{Token, TokenKind};
use crate::parse::{Expected, ParseError, Parser};

/// One `orderBy` item.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OrderBy {
    /// The field to sort by.
    pub path: Path,
    /// Ascending or descending.
    pub direction: Direction,
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Direction {
    /// Ascending (the default): nulls first.
    #[default]
    Asc,
    /// Descending: nulls last.
    Desc,
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::Asc => "asc",
            Direction::Desc => "desc",
        })
    }
}

impl fmt::Display for OrderBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.path, self.direction)
    }
}

/// Prints `orderBy` items joined with `, `, e.g. `name asc, id desc`.
pub fn print_order_by(orders: &[OrderBy]) -> String {
    orders
        .iter()
        .map(OrderBy::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parses an `orderBy` parameter, e.g. `"name asc, id desc"`.
///
/// Empty or whitespace-only input is an error.
///
/// ```
/// use connectwise_conditions::{parse_order_by, Direction};
///
/// let orders = parse_order_by("name, id DESC")?;
/// assert_eq!(orders[0].direction, Direction::Asc);
/// assert_eq!(orders[1].direction, Direction::Desc);
/// # Ok::<(), connectwise_conditions::ParseError>(())
/// ```
pub fn parse_order_by(input: &str) -> Result<Vec<OrderBy>, ParseError> {
    let mut parser = Parser::new(input);
    let mut orders = Vec::new();
    loop {
        let token = parser.next()?;
        if token.kind != TokenKind::Word {
            return Err(parser.error(&token, Expected::Path));
        }
        let path = parser.path(&token);
        let token = parser.next()?;
        let (direction, token, expected) = match direction_keyword(&parser, &token) {
            Some(direction) => (direction, parser.next()?, Expected::CommaOrEnd),
            None => (Direction::Asc, token, Expected::DirectionOrComma),
        };
        orders.push(OrderBy { path, direction });
        match token.kind {
            TokenKind::Comma => {}
            TokenKind::Eof => return Ok(orders),
            _ => return Err(parser.error(&token, expected)),
        }
    }
}

/// The direction `token` spells, if it is `asc` or `desc` (any case).
fn direction_keyword(parser: &Parser<'_>, token: &Token) -> Option<Direction> {
    [("asc", Direction::Asc), ("desc", Direction::Desc)]
        .into_iter()
        .find_map(|(keyword, direction)| parser.is_keyword(token, keyword).then_some(direction))
}

/// Compares two entities by `orders`, the first key deciding unless equal.
///
/// Per key: null or missing sorts first in ascending order (last in
/// descending); strings compare case-insensitively, numbers numerically,
/// booleans `false < true`; values of different types order by type
/// (null < boolean < number < string < array/object). A path through an
/// array uses its first element.
pub fn compare_by(a: &Json, b: &Json, orders: &[OrderBy]) -> Ordering {
    compare_fields(&|k: &str| a.member(k), &|k: &str| b.member(k), orders)
}

/// Like [`compare_by`], for entities held as JSON object maps.
pub fn compare_objects(
    a: &serde_json::Map<String, Json>,
    b: &serde_json::Map<String, Json>,
    orders: &[OrderBy],
) -> Ordering {
    compare_fields(&|k: &str| get_key(a, k), &|k: &str| get_key(b, k), orders)
}

/// Like [`compare_by`], for entities whose top-level fields `a` and `b` look up (exact, then
/// case-insensitive), whatever form they are kept in.
pub fn compare_fields<'a, N: Node + 'a>(
    a: &dyn Fn(&str) -> Option<&'a N>,
    b: &dyn Fn(&str) -> Option<&'a N>,
    orders: &[OrderBy],
) -> Ordering {
    fn at<'a, N: Node>(top: &dyn Fn(&str) -> Option<&'a N>, path: &Path) -> Option<Scalar<'a>> {
        let (first, rest) = path.segments().split_first()?;
        let mut value = first_node(top(first)?)?;
        for segment in rest {
            value = first_node(value.member(segment)?)?;
        }
        Some(value.scalar())
    }
    orders
        .iter()
        .map(|order| {
            let ordering = compare_scalars(at(a, &order.path), at(b, &order.path));
            match order.direction {
                Direction::Asc => ordering,
                Direction::Desc => ordering.reverse(),
            }
        })
        .find(|ordering| ordering.is_ne())
        .unwrap_or(Ordering::Equal)
}

fn first_node<N: Node>(value: &N) -> Option<&N> {
    match value.items() {
        Some(items) => first_node(items.first()?),
        None => Some(value),
    }
}

/// How two values order: null or missing first, then booleans (`false < true`), numbers,
/// strings (case-insensitively), then objects and arrays.
fn compare_scalars(a: Option<Scalar<'_>>, b: Option<Scalar<'_>>) -> Ordering {
    let number = |s: Scalar<'_>| match s {
        Scalar::Int(i) => Some(i as f64),
        Scalar::Float(f) => Some(f),
        _ => None,
    };
    let rank = |s: Option<Scalar<'_>>| match s {
        None | Some(Scalar::Null) => 0,
        Some(Scalar::Bool(_)) => 1,
        Some(Scalar::Int(_) | Scalar::Float(_)) => 2,
        Some(Scalar::Str(_)) => 3,
        Some(Scalar::Compound) => 4,
    };
    match (a, b) {
        (Some(Scalar::Bool(x)), Some(Scalar::Bool(y))) => x.cmp(&y),
        (Some(x), Some(y)) if number(x).is_some() && number(y).is_some() => number(x)
            .unwrap_or(0.0)
            .total_cmp(&number(y).unwrap_or(0.0)),
        (Some(Scalar::Str(x)), Some(Scalar::Str(y))) => cmp_ignore_case(x, y),
        _ => rank(a).cmp(&rank(b)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn order(path: &str, direction: Direction) -> OrderBy {
        OrderBy {
            path: Path::new(path),
            direction,
        }
    }

    #[test]
    fn parses_items_with_optional_directions() {
        assert_eq!(
            parse_order_by("name asc, id DESC,\n board/name").unwrap(),
            vec![
                order("name", Direction::Asc),
                order("id", Direction::Desc),
                order("board/name", Direction::Asc),
            ]
        );
        assert_eq!(
            parse_order_by(" _info/lastUpdated  Desc ").unwrap(),
            vec![order("_info/lastUpdated", Direction::Desc)]
        );
    }

    #[test]
    fn prints_items() {
        let orders = parse_order_by("name, id desc").unwrap();
        assert_eq!(print_order_by(&orders), "name asc, id desc");
        assert_eq!(parse_order_by(&print_order_by(&orders)).unwrap(), orders);
    }

    #[test]
    fn reports_errors() {
        let cases = [
            (
                "",
                "at position 0: expected a field path like `board/name`, found end of input",
            ),
            (
                "   ",
                "at position 3: expected a field path like `board/name`, found end of input",
            ),
            (
                "name,",
                "at position 5: expected a field path like `board/name`, found end of input",
            ),
            (
                "name desc id",
                "at position 10: expected `,` or end of input, found `id`",
            ),
            (
                "name up",
                "at position 5: expected `asc`, `desc`, `,` or end of input, found `up`",
            ),
            (
                "name/",
                "at position 5: expected a field name after `/`, found end of input",
            ),
            (
                "1",
                "at position 0: expected a field path like `board/name`, found `1`",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(
                parse_order_by(input).unwrap_err().to_string(),
                expected,
                "parsing {input:?}"
            );
        }
    }

    #[test]
    fn compares_by_keys_in_order() {
        let orders = parse_order_by("status/name, id desc").unwrap();
        let a = json!({"id": 1, "status": {"name": "open"}});
        let b = json!({"id": 2, "Status": {"Name": "Open"}});
        let c = json!({"id": 3, "status": {"name": "Closed"}});
        assert_eq!(compare_by(&a, &b, &orders), Ordering::Greater);
        assert_eq!(compare_by(&c, &a, &orders), Ordering::Less);
        let mut items = vec![a.clone(), b.clone(), c.clone()];
        items.sort_by(|x, y| compare_by(x, y, &orders));
        assert_eq!(items, vec![c, b, a]);
    }

    #[test]
    fn compares_types_and_nulls() {
        let asc = [order("v", Direction::Asc)];
        let desc = [order("v", Direction::Desc)];
        let values = [
            json!({}),
            json!({"v": false}),
            json!({"v": true}),
            json!({"v": -1.5}),
            json!({"v": 10}),
            json!({"v": "a"}),
            json!({"v": "B"}),
            json!({"v": {"x": 1}}),
        ];
        for pair in values.windows(2) {
            assert_eq!(
                compare_by(&pair[0], &pair[1], &asc),
                Ordering::Less,
                "{pair:?}"
            );
            assert_eq!(
                compare_by(&pair[0], &pair[1], &desc),
                Ordering::Greater,
                "{pair:?}"
            );
        }
        assert_eq!(
            compare_by(&json!({"v": null}), &json!({}), &asc),
            Ordering::Equal
        );
        assert_eq!(
            compare_by(&json!({"v": 9}), &json!({"v": 10}), &asc),
            Ordering::Less
        );
    }
}
