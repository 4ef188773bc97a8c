use serde_json::{Value as Json, json};

use super::like;
use crate::parse;

fn ticket() -> Json {
    json!({
        "id": 501,
        "summary": "Disk full on SERVER-01",
        "board": {"id": 1, "name": "Help Desk"},
        "status": {"name": "New"},
        "company": {"id": 7, "identifier": "Acme"},
        "closedFlag": false,
        "parentTicketId": null,
        "budgetHours": 2.5,
        "externalRef": "42",
        "_info": {"lastUpdated": "2026-01-05T10:00:00Z", "dateEntered": "2025-12-31"},
        "communicationItems": [
            {"type": "Email", "value": "jane@acme.com"},
            {"type": "Phone", "value": "555-0100"}
        ],
        "tags": ["urgent", "Hardware"],
        "emptyList": []
    })
}

/// Asserts each condition evaluates to `expected` against `entity`.
fn check(entity: &Json, cases: &[(&str, bool)]) {
    for &(input, expected) in cases {
        let expr = parse(input).unwrap_or_else(|err| panic!("{input:?}: {err}"));
        assert_eq!(expr.matches(entity), expected, "evaluating {input:?}");
    }
}

/// A test per family of conditions: `name: [(condition, expected), …];` asserts each
/// condition evaluates to its expected result against [`ticket`].
macro_rules! against_the_ticket {
    ($($name:ident: [$($case:expr),* $(,)?];)*) => {
        $(
            #[test]
            fn $name() {
                check(&ticket(), &[$($case),*]);
            }
        )*
    };
}

against_the_ticket! {
    strings_compare_case_insensitively: [
        (r#"board/name = "help desk""#, true),
        (r#"board/name = "HELP DESK""#, true),
        (r#"board/name = "Help""#, false),
        (r#"board/name != "help desk""#, false),
        (r#"board/name != "Other""#, true),
        (r#"status/name < "OLD""#, true),
        (r#"status/name > "old""#, false),
        (r#"status/name in ("closed", "NEW")"#, true),
        (r#"status/name not in ("closed", "NEW")"#, false),
        (r#"status/name not in ("closed", "resolved")"#, true),
    ];

    like_and_contains: [
        (r#"company/identifier like "ac%""#, true),
        (r#"company/identifier like "%ME""#, true),
        (r#"company/identifier like "a_me""#, true),
        (r#"company/identifier like "a_e""#, false),
        (r#"company/identifier like "ac""#, false),
        (r#"company/identifier like "%""#, true),
        (r#"company/identifier not like "%test%""#, true),
        (r#"company/identifier not like "%CM%""#, false),
        (r#"summary contains "disk""#, true),
        (r#"summary contains "server-01""#, true),
        (r#"summary contains "memory""#, false),
        (r#"id like "50%""#, true),
        (r#"closedFlag like "%""#, false),
        (r#"closedFlag not like "x""#, false),
    ];

    numbers_compare_numerically: [
        ("id = 501", true),
        ("id = 501.0", true),
        ("id > 500", true),
        ("id >= 501", true),
        ("id < 1000", true),
        ("id <= 500", false),
        ("id != 501", false),
        ("id in (1, 501)", true),
        ("id not in (1, 2)", true),
        ("budgetHours > 2", true),
        ("budgetHours < 2.75", true),
        ("budgetHours = 2.50", true),
        ("externalRef = 42", true),
        ("externalRef > 9", true),
        (r#"id = "501""#, true),
        (r#"id = "abc""#, false),
        (r#"id != "abc""#, true),
    ];

    booleans: [
        ("closedFlag = false", true),
        ("closedFlag = TRUE", false),
        ("closedFlag != true", true),
        ("closedFlag != false", false),
    ];

    null_handling: [
        ("parentTicketId = null", true),
        ("parentTicketId != null", false),
        ("noSuchField = null", true),
        ("noSuchField != null", false),
        ("board/noSuchField = null", true),
        ("summary/name = null", true),
        ("id = null", false),
        ("id != null", true),
        ("board = null", false),
        // Other comparisons against a null field are false...
        ("parentTicketId = 5", false),
        ("parentTicketId < 5", false),
        ("parentTicketId > 5", false),
        (r#"parentTicketId like "%""#, false),
        (r#"parentTicketId not like "x""#, false),
        (r#"parentTicketId contains "x""#, false),
        ("parentTicketId in (1, 2)", false),
        ("parentTicketId not in (1, 2)", false),
        ("parentTicketId in (1, null)", true),
        // ...except `!=` with a non-null literal.
        ("parentTicketId != 5", true),
        (r#"noSuchField != "x""#, true),
    ];

    dates_compare_chronologically: [
        ("_info/lastUpdated > [2026-01-01T00:00:00Z]", true),
        ("_info/lastUpdated > [2026-01-05]", true),
        ("_info/lastUpdated < [2026-01-06]", true),
        ("_info/lastUpdated = [2026-01-05T11:00:00+01:00]", true),
        ("_info/lastUpdated >= [2026-01-05T10:00:00.000Z]", true),
        ("_info/lastUpdated > [2026-01-05T10:00:01Z]", false),
        ("_info/dateEntered < [2026-01-01]", true),
        ("_info/dateEntered = [2025-12-31T00:00:00Z]", true),
        ("summary > [2026-01-01]", false),
        ("id > [2026-01-01]", false),
        ("summary != [2026-01-01]", true),
        // String literals compare as strings, not dates.
        (r#"_info/lastUpdated > "2026-01-05T09""#, true),
        (r#"_info/lastUpdated = "2026-01-05T10:00:00z""#, true),
        (r#"_info/lastUpdated = "2026-01-05T11:00:00+01:00""#, false),
    ];

    arrays_match_if_any_element_does: [
        (r#"communicationItems/value like "%@acme.com""#, true),
        (r#"communicationItems/value like "%@other.com""#, false),
        (r#"communicationItems/type = "phone""#, true),
        (r#"communicationItems/type != "phone""#, true),
        (r#"communicationItems/missing = null"#, true),
        (r#"tags = "hardware""#, true),
        (r#"tags in ("x", "URGENT")"#, true),
        (r#"tags contains "ware""#, true),
        (r#"tags = "software""#, false),
        ("emptyList = null", false),
        ("emptyList/x != 1", false),
        // Whole-element semantics come from the conjunction per element only
        // within one comparison: each comparison fans out on its own.
        (
            r#"communicationItems/type = "Email" and communicationItems/value = "555-0100""#,
            true,
        ),
    ];

    type_mismatches_are_false_except_not_equal: [
        (r#"closedFlag = "false""#, false),
        (r#"closedFlag != "false""#, true),
        (r#"closedFlag < "x""#, false),
        ("summary = true", false),
        ("summary != true", true),
        ("board = 1", false),
        ("board != 1", true),
        (r#"board like "%""#, false),
        (r#"closedFlag in ("false")"#, false),
        (r#"closedFlag not in ("false")"#, true),
    ];

    and_or_combine: [
        (r#"board/name = "Help Desk" and id > 500"#, true),
        (r#"board/name = "Help Desk" and id > 501"#, false),
        (r#"board/name = "Other" or id > 500"#, true),
        (r#"board/name = "Other" or id > 501"#, false),
        (r#"id = 1 or id = 501 and closedFlag = false"#, true),
        (r#"(id = 1 or id = 501) and closedFlag = true"#, false),
    ];
}

#[test]
fn like_matches_whole_strings_with_wildcards() {
    let cases = [
        ("", "", true),
        ("", "%", true),
        ("", "_", false),
        ("abc", "abc", true),
        ("abc", "a%c", true),
        ("abc", "%b%", true),
        ("abc", "%%%", true),
        ("abc", "a_c", true),
        ("abc", "ab", false),
        ("abcbc", "a%bc", true),
        ("abcbd", "a%bc", false),
        ("mississippi", "m%iss%ppi", true),
        ("mississippi", "m%iss%pi_", false),
        ("ééa", "_éa", true),
    ];
    for (text, pattern, expected) in cases {
        assert_eq!(like(text, pattern), expected, "{text:?} like {pattern:?}");
    }
}

#[test]
fn keys_match_case_insensitively() {
    check(
        &ticket(),
        &[
            (r#"Board/Name = "Help Desk""#, true),
            (r#"BOARD/NAME = "help desk""#, true),
            ("ClosedFlag = false", true),
            (r#"_INFO/LASTUPDATED > [2026-01-01]"#, true),
        ],
    );
    // An exact key wins over a case-insensitive one.
    check(
        &json!({"name": "exact", "NAME": "upper"}),
        &[(r#"NAME = "upper""#, true)],
    );
}

#[test]
fn custom_field_conditions_match_any_item() {
    let custom_fields = [
        json!({"id": 1, "caption": "Region", "type": "Text", "value": "EU"}),
        json!({"id": 2, "caption": "Tier", "type": "Number", "value": 3}),
    ];
    let matches = |input: &str| parse(input).unwrap().matches_any(&custom_fields);
    assert!(matches(r#"caption = "region" and value = "eu""#));
    assert!(matches(r#"caption = "Tier" and value >= 3"#));
    assert!(!matches(r#"caption = "Region" and value = 3"#));
    assert!(
        !parse("id = 1")
            .unwrap()
            .matches_any::<serde_json::Value>(&[])
    );
}
