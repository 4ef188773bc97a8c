use super::*;

fn cmp(path: &str, op: Op, value: Value) -> Expr {
    Expr::Compare(Comparison {
        path: Path::new(path),
        op,
        value,
    })
}

fn string(text: &str) -> Value {
    Value::String(text.to_owned())
}

fn number(text: &str) -> Value {
    Value::Number(text.to_owned())
}

fn date(text: &str) -> Value {
    Value::Date(text.to_owned())
}

fn err(input: &str) -> String {
    match parse(input) {
        Ok(expr) => panic!("{input:?} parsed as {expr:?}"),
        Err(err) => err.to_string(),
    }
}

#[test]
fn parses_known_inputs() {
    let cases = [
        (
            r#"board/name="Help Desk""#,
            cmp("board/name", Op::Eq, string("Help Desk")),
        ),
        (
            r#"status/name != "Closed""#,
            cmp("status/name", Op::Ne, string("Closed")),
        ),
        ("id <> 5", cmp("id", Op::Ne, number("5"))),
        ("id > 500", cmp("id", Op::Gt, number("500"))),
        ("id>=500", cmp("id", Op::Ge, number("500"))),
        ("id<5", cmp("id", Op::Lt, number("5"))),
        ("id <= -5.25", cmp("id", Op::Le, number("-5.25"))),
        (
            r#"name like "Acme%""#,
            cmp("name", Op::Like, string("Acme%")),
        ),
        (
            r#"name not like "%test%""#,
            cmp("name", Op::NotLike, string("%test%")),
        ),
        (
            r#"summary contains "disk""#,
            cmp("summary", Op::Contains, string("disk")),
        ),
        (
            "company/id in (1,2,3)",
            cmp(
                "company/id",
                Op::In,
                Value::List(vec![number("1"), number("2"), number("3")]),
            ),
        ),
        (
            r#"status/name not in ("Closed","Resolved")"#,
            cmp(
                "status/name",
                Op::NotIn,
                Value::List(vec![string("Closed"), string("Resolved")]),
            ),
        ),
        (
            "lastUpdated > [2026-01-01T00:00:00Z]",
            cmp("lastUpdated", Op::Gt, date("2026-01-01T00:00:00Z")),
        ),
        ("d < [2026-01-01]", cmp("d", Op::Lt, date("2026-01-01"))),
        (
            "closedFlag = False",
            cmp("closedFlag", Op::Eq, Value::Bool(false)),
        ),
        (
            "closedFlag = TRUE",
            cmp("closedFlag", Op::Eq, Value::Bool(true)),
        ),
        (
            "parentTicketId = null",
            cmp("parentTicketId", Op::Eq, Value::Null),
        ),
        (
            "parentTicketId != NULL",
            cmp("parentTicketId", Op::Ne, Value::Null),
        ),
        (
            r#"_info/lastUpdated > [2026-01-01T00:00:00Z]"#,
            cmp("_info/lastUpdated", Op::Gt, date("2026-01-01T00:00:00Z")),
        ),
        (
            r#"communicationItems/value like "%@acme.com""#,
            cmp("communicationItems/value", Op::Like, string("%@acme.com")),
        ),
        (
            r#"name = "a\"b\\c\d""#,
            cmp("name", Op::Eq, string(r#"a"b\cd"#)),
        ),
        (r#"name = """#, cmp("name", Op::Eq, string(""))),
        (
            "name = \"multi\nline é\"",
            cmp("name", Op::Eq, string("multi\nline é")),
        ),
        ("(id = 1)", cmp("id", Op::Eq, number("1"))),
        ("  \n ( ( id\t=\n1 ) )  ", cmp("id", Op::Eq, number("1"))),
        ("name LIKE \"x\"", cmp("name", Op::Like, string("x"))),
        ("name NOT Like \"x\"", cmp("name", Op::NotLike, string("x"))),
        (
            "id NOT IN (1)",
            cmp("id", Op::NotIn, Value::List(vec![number("1")])),
        ),
        (
            "name CONTAINS \"x\"",
            cmp("name", Op::Contains, string("x")),
        ),
        ("d = [ 2026-01-01 ]", cmp("d", Op::Eq, date("2026-01-01"))),
        ("and = 1", cmp("and", Op::Eq, number("1"))),
    ];
    for (input, expected) in cases {
        assert_eq!(parse(input), Ok(expected), "parsing {input:?}");
    }
}

#[test]
fn parses_the_combined_example() {
    let expr = parse(r#"board/name="Help Desk" and status/name != "Closed" and id > 500"#);
    assert_eq!(
        expr,
        Ok(Expr::And(vec![
            cmp("board/name", Op::Eq, string("Help Desk")),
            cmp("status/name", Op::Ne, string("Closed")),
            cmp("id", Op::Gt, number("500")),
        ]))
    );
}

#[test]
fn and_binds_tighter_than_or() {
    let (a, b, c) = (
        cmp("a", Op::Eq, number("1")),
        cmp("b", Op::Eq, number("2")),
        cmp("c", Op::Eq, number("3")),
    );
    assert_eq!(
        parse("a=1 or b=2 and c=3"),
        Ok(Expr::Or(vec![
            a.clone(),
            Expr::And(vec![b.clone(), c.clone()])
        ]))
    );
    assert_eq!(
        parse("a=1 AND b=2 OR c=3"),
        Ok(Expr::Or(vec![
            Expr::And(vec![a.clone(), b.clone()]),
            c.clone()
        ]))
    );
    assert_eq!(
        parse("(a=1 or b=2) and c=3"),
        Ok(Expr::And(vec![
            Expr::Or(vec![a.clone(), b.clone()]),
            c.clone()
        ]))
    );
    assert_eq!(
        parse("(a=1 and b=2) and c=3"),
        Ok(Expr::And(vec![a.clone(), b.clone(), c.clone()]))
    );
    assert_eq!(
        parse("a=1 or (b=2 or c=3)"),
        Ok(Expr::Or(vec![a.clone(), b.clone(), c.clone()]))
    );
    assert_eq!(
        parse("((a=1 and b=2 and c=3))"),
        Ok(Expr::And(vec![a, b, c]))
    );
}

#[test]
fn error_messages() {
    let cases = [
        (
            "",
            "at position 0: expected a condition like `status/name = \"Open\"`, found end of input",
        ),
        (
            "  \n ",
            "at position 4: expected a condition like `status/name = \"Open\"`, found end of input",
        ),
        (
            "board/name =",
            "at position 12: expected a value (string, number, true/false, null or [date]), found end of input",
        ),
        (
            "board/name = Help Desk",
            "at position 13: expected a value (string, number, true/false, null or [date]), found `Help` (strings need double quotes)",
        ),
        (
            "id = (1, 2)",
            "at position 5: expected a value (string, number, true/false, null or [date]), found `(` (lists are only allowed after `in` / `not in`)",
        ),
        (
            r#"id = 1 and name = "Acme"#,
            "at position 18: expected a closing quote (the string starting here is unterminated), found end of input",
        ),
        (
            r#"name = "ends with backslash\"#,
            "at position 7: expected a closing quote (the string starting here is unterminated), found end of input",
        ),
        (
            "id == 5",
            "at position 3: expected an operator (=, !=, <>, <, <=, >, >=, contains, like, not like, in, not in), found `==`",
        ),
        (
            "id equals 5",
            "at position 3: expected an operator (=, !=, <>, <, <=, >, >=, contains, like, not like, in, not in), found `equals`",
        ),
        (
            "id",
            "at position 2: expected an operator (=, !=, <>, <, <=, >, >=, contains, like, not like, in, not in), found end of input",
        ),
        (
            r#"name not contains "x""#,
            "at position 9: expected `like` or `in` after `not`, found `contains`",
        ),
        (
            "(id = 1 and name = \"x\"",
            "at position 22: expected `and`, `or` or `)` to close the `(` at position 0, found end of input",
        ),
        (
            "id = 1)",
            "at position 6: expected `and`, `or` or end of input, found `)` without a matching `(`",
        ),
        (
            "id = 1 name = 2",
            "at position 7: expected `and`, `or` or end of input, found `name`",
        ),
        (
            "id = 1 && b = 2",
            "at position 7: expected `and`, `or` or end of input, found `&`",
        ),
        (
            "id = 1 and",
            "at position 10: expected a condition like `status/name = \"Open\"`, found end of input",
        ),
        (
            "id in 1",
            "at position 6: expected `(` to start the list of values, found `1`",
        ),
        (
            "id in ()",
            "at position 7: expected a list value (string, number, true/false, null or [date]), found `)`",
        ),
        (
            "id in (1,)",
            "at position 9: expected a list value (string, number, true/false, null or [date]), found `)`",
        ),
        (
            "id in (1 2)",
            "at position 9: expected `,` or `)` in the list of values, found `2`",
        ),
        (
            "id in (1, 2",
            "at position 11: expected `,` or `)` in the list of values, found end of input",
        ),
        (
            "d > [2026-01-01",
            "at position 4: expected a closing `]` (the date starting here is unterminated), found end of input",
        ),
        (
            "d > [2026-13-01]",
            "at position 4: expected a date like [2026-01-01] or [2026-01-01T00:00:00Z], found `[2026-13-01]`",
        ),
        (
            "id = -",
            "at position 6: expected a digit, found end of input",
        ),
        ("id = 5.x", "at position 7: expected a digit, found `x`"),
        (
            "board/ = 1",
            "at position 6: expected a field name after `/`, found whitespace",
        ),
        (
            "= 1",
            "at position 0: expected a condition like `status/name = \"Open\"`, found `=`",
        ),
        (
            r#"id = 1 "this string is far too long to quote in full""#,
            "at position 7: expected `and`, `or` or end of input, found `\"this string is far too …`",
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(err(input), expected, "parsing {input:?}");
    }
}

#[test]
fn reports_the_earliest_problem() {
    // The syntax error comes before the unterminated string, so it wins.
    assert_eq!(parse(r#"id = = "open"#).unwrap_err().position, 5,);
}

#[test]
fn error_fields_are_exposed() {
    let error = parse("id in (1 2)").unwrap_err();
    assert_eq!(
        error,
        ParseError {
            position: 9,
            expected: Expected::ListSeparator,
            found: "`2`".to_owned(),
        }
    );
}

#[test]
fn limits_nesting_depth() {
    let ok = format!(
        "{}a = 1{}",
        "(".repeat(MAX_NESTING),
        ")".repeat(MAX_NESTING)
    );
    assert!(parse(&ok).is_ok());
    let deep = format!("{}a = 1{}", "(".repeat(100_000), ")".repeat(100_000));
    assert_eq!(
        err(&deep),
        format!(
            "at position {MAX_NESTING}: expected at most {MAX_NESTING} levels of nested parentheses, found `(`"
        )
    );
}
