//! Property tests: printing round-trips, and parsing never panics.

use proptest::prelude::*;

use crate::ast::{Comparison, Expr, Op, Path, Value};
use crate::builder::field;
use crate::{parse, parse_order_by};

fn path() -> impl Strategy<Value = Path> {
    prop::collection::vec("[a-zA-Z_][a-zA-Z0-9_]{0,6}", 1..4)
        .prop_map(|segments| Path::new(&segments.join("/")))
}

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |n| n.is_finite())
            .prop_map(Value::from),
        "-?[0-9]{1,6}(\\.[0-9]{1,4})?".prop_map(Value::Number),
    ]
}

fn date() -> impl Strategy<Value = Value> {
    let day = (1900..2100_i32, 1..=12_u8, 1..=28_u8)
        .prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}"));
    let time = (
        0..24_u8,
        0..60_u8,
        0..60_u8,
        prop::option::of(0..1000_u16),
        prop_oneof![
            Just("Z".to_owned()),
            Just("+01:00".to_owned()),
            Just(String::new()),
        ],
    )
        .prop_map(|(h, m, s, millis, offset)| {
            let fraction = millis.map(|ms| format!(".{ms:03}")).unwrap_or_default();
            format!("T{h:02}:{m:02}:{s:02}{fraction}{offset}")
        });
    (day, prop::option::of(time))
        .prop_map(|(day, time)| Value::Date(day + &time.unwrap_or_default()))
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<String>().prop_map(Value::String),
        "[a-z\"\\\\% ]{0,8}".prop_map(Value::String),
        number(),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
        date(),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop::sample::select(vec![
        Op::Eq,
        Op::Ne,
        Op::Lt,
        Op::Le,
        Op::Gt,
        Op::Ge,
        Op::Contains,
        Op::Like,
        Op::NotLike,
        Op::In,
        Op::NotIn,
    ])
}

fn comparison() -> impl Strategy<Value = Expr> {
    (
        path(),
        op(),
        scalar(),
        prop::collection::vec(scalar(), 1..4),
    )
        .prop_map(|(path, op, value, items)| {
            let value = if op.takes_list() {
                Value::List(items)
            } else {
                value
            };
            Expr::Compare(Comparison { path, op, value })
        })
}

/// Normalized trees: `And`/`Or` with ≥ 2 children, never directly nested in
/// their own kind (the smart constructors splice such children in).
fn expr() -> impl Strategy<Value = Expr> {
    comparison().prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..5).prop_map(Expr::and_of),
            prop::collection::vec(inner, 2..5).prop_map(Expr::or_of),
        ]
    })
}

/// Text made of the language's tokens, to reach deeper into the parser than
/// arbitrary strings do.
fn token_soup() -> impl Strategy<Value = String> {
    let token = prop::sample::select(vec![
        "a",
        "b/c",
        "_x",
        "/",
        "=",
        "!=",
        "<>",
        "<",
        "<=",
        ">",
        ">=",
        "==",
        "and",
        "OR",
        "not",
        "like",
        "in",
        "contains",
        "(",
        ")",
        ",",
        "\"s\"",
        "\"",
        "\\",
        "1",
        "-2.5",
        "-",
        ".",
        "true",
        "NULL",
        "[2026-01-01]",
        "[",
        "]",
        "[x]",
        " ",
        "\n",
        "é",
    ]);
    prop::collection::vec(token, 0..24).prop_map(|tokens| tokens.concat())
}

proptest! {
    #[test]
    fn printing_round_trips(expr in expr()) {
        let printed = expr.to_string();
        prop_assert_eq!(parse(&printed), Ok(expr), "printed: {}", printed);
    }

    #[test]
    fn parse_never_panics_on_arbitrary_strings(text in any::<String>()) {
        let _ = parse(&text);
        let _ = parse_order_by(&text);
    }

    #[test]
    fn parse_never_panics_on_token_soup(text in token_soup()) {
        if let Ok(expr) = parse(&text) {
            prop_assert_eq!(parse(&expr.to_string()), Ok(expr));
        }
        if let Ok(orders) = parse_order_by(&text) {
            prop_assert_eq!(parse_order_by(&crate::print_order_by(&orders)), Ok(orders));
        }
    }

    #[test]
    fn builder_escapes_any_string(text in any::<String>(), pattern in "[\"\\\\%_a]{0,10}") {
        let condition = field("name").eq(text.clone()).or(field("name").like(pattern));
        let printed = condition.to_string();
        prop_assert_eq!(parse(&printed), Ok(condition.into_expr()), "printed: {}", printed);
    }
}
