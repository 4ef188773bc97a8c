//! The client's own unit tests.

use super::*;

#[test]
fn sites_are_written_many_ways() {
    assert_eq!(
        site_origin("na.myconnectwise.net").unwrap(),
        "https://na.myconnectwise.net"
    );
    assert_eq!(
        site_origin("https://127.0.0.1:8443/").unwrap(),
        "https://127.0.0.1:8443"
    );
    assert_eq!(
        site_origin("http://localhost:9000/v4_6_release/apis/3.0").unwrap(),
        "http://localhost:9000"
    );
    assert!(site_origin("https://").is_err());
}

#[test]
fn a_decode_error_names_the_path_of_the_bad_field() {
    let reply = Reply {
        status: StatusCode::OK,
        url: reqwest::Url::parse("https://x/").unwrap(),
        headers: HeaderMap::new(),
        body: br#"[{"id": 1}, {"id": 2, "company": {"id": "seven"}}]"#.to_vec(),
        request: RequestInfo {
            method: "GET".into(),
            path: "service/tickets".into(),
            request_id: None,
            attempts: 1,
        },
    };
    let err = reply
        .decode::<Vec<crate::models::Ticket>>("Ticket")
        .unwrap_err();
    let Error::Decode { path, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(path, "[1].company.id");
    assert!(err.to_string().contains("GET service/tickets"), "{err}");
}

#[test]
fn decoding_messages_do_not_repeat_what_the_answer_held() {
    assert_eq!(
        without_quotes(r#"invalid type: string "AKIA-SECRET", expected i64 at line 1 column 9"#),
        "invalid type: string, expected i64 at line 1 column 9"
    );
    let variant = without_quotes("unknown variant `secret`, expected one of `a`, `b`");
    assert!(
        variant.starts_with("unknown variant, expected one of"),
        "{variant}"
    );
    assert!(!variant.contains("secret"));
}

#[test]
fn codebases_end_with_one_slash() {
    assert_eq!(normalize_codebase("/v2025_1"), "v2025_1/");
    assert_eq!(normalize_codebase("v4_6_release/"), "v4_6_release/");
}

#[test]
fn credentials_never_print_the_private_key() {
    let c = Credentials {
        site: "s".into(),
        company_id: "c".into(),
        public_key: "pub".into(),
        private_key: "very-secret".into(),
        client_id: "id".into(),
    };
    assert!(!format!("{c:?}").contains("very-secret"));
}
