//! A running sandbox and a small ConnectWise client over real HTTPS, so tests read like
//! sentences: `api.post("service/tickets", body).await.expect_status(201)`.

use std::time::Duration;

use connectwise_sandbox::admin::AdminClient;
use connectwise_sandbox::{Credentials, Faults, Grant, Sandbox, SandboxConfig, Seed};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::schema::{self, Document};

/// The `Accept` header of a client pinned to an API version.
pub fn accept_version(version: &str) -> String {
    format!("application/vnd.connectwise.com+json; version={version}")
}

/// A sandbox started for one test, stopped when the test ends (or dropped with the runtime).
pub struct TestSandbox {
    pub sandbox: Sandbox,
}

/// An in-memory sandbox's configuration, holding this seed.
pub fn seeded(seed: Seed) -> SandboxConfig {
    SandboxConfig {
        seed: Some(seed),
        ..SandboxConfig::ephemeral()
    }
}

/// A demo sandbox and a client calling it as the built-in admin.
pub async fn demo() -> (TestSandbox, Api) {
    let sb = TestSandbox::demo().await;
    let api = sb.api();
    (sb, api)
}

/// A Help Desk ticket at Acme with this summary, as a create body.
pub fn ticket_body(summary: &str) -> Value {
    json!({"summary": summary, "board": {"name": "Help Desk"}, "company": {"identifier": "AcmeCorp"}})
}

/// A PATCH body replacing one field.
pub fn replace(field: &str, value: Value) -> Value {
    json!([{"op": "replace", "path": field, "value": value}])
}

impl TestSandbox {
    /// An in-memory sandbox holding the demo MSP.
    pub async fn demo() -> Self {
        Self::seeded(Seed::Demo).await
    }

    /// An in-memory sandbox holding this seed.
    pub async fn seeded(seed: Seed) -> Self {
        Self::start(seeded(seed)).await
    }

    /// A sandbox with this configuration.
    pub async fn start(config: SandboxConfig) -> Self {
        let sandbox = Sandbox::start(config).await.expect("the sandbox starts");
        Self { sandbox }
    }

    /// An HTTPS client that trusts the sandbox's self-signed certificate.
    pub fn http(&self) -> reqwest::Client {
        self.http_builder().build().expect("the HTTP client builds")
    }

    fn http_builder(&self) -> reqwest::ClientBuilder {
        let pem = self.sandbox.ca_pem().expect("the sandbox serves HTTPS");
        let cert = reqwest::Certificate::from_pem(pem.as_bytes()).expect("the certificate is PEM");
        reqwest::Client::builder()
            .add_root_certificate(cert)
            .no_proxy()
            .timeout(Duration::from_secs(30))
    }

    /// `https://127.0.0.1:PORT`.
    pub fn origin(&self) -> String {
        self.sandbox.url().to_owned()
    }

    /// The built-in admin API member.
    pub fn admin(&self) -> &Credentials {
        self.sandbox.credentials()
    }

    /// A client calling the API as the built-in admin.
    pub fn api(&self) -> Api {
        self.api_as(self.admin())
    }

    /// A client calling the API with these credentials.
    pub fn api_as(&self, creds: &Credentials) -> Api {
        Api {
            http: self.http(),
            base: self.sandbox.api_url(),
            authorization: Some(creds.authorization()),
            client_id: Some(creds.client_id.clone()),
            headers: Vec::new(),
            schema: None,
        }
    }

    /// A client calling the API as the built-in admin over HTTP/1.1 only (as many
    /// ConnectWise clients do).
    pub fn api_http1(&self) -> Api {
        Api {
            http: self
                .http_builder()
                .http1_only()
                .build()
                .expect("the HTTP client builds"),
            ..self.api()
        }
    }

    /// A client sending no credentials at all.
    pub fn anonymous(&self) -> Api {
        Api {
            authorization: None,
            client_id: None,
            ..self.api()
        }
    }

    /// Changes the sandbox's faults from the defaults (none) as `change` says.
    pub fn set_faults(&self, change: impl FnOnce(&mut Faults)) {
        let mut faults = Faults::default();
        change(&mut faults);
        self.sandbox
            .set_faults(faults)
            .expect("the faults are valid");
    }

    /// `/login/companyinfo/{company}`, asked without credentials, which must answer 200.
    pub async fn companyinfo(&self, company: &str) -> Reply {
        let url = format!("{}/login/companyinfo/{company}", self.origin());
        self.anonymous().get_expecting(&url, 200).await
    }

    /// Credentials for another key of the sandbox's company.
    pub fn credentials_for(&self, public_key: &str, private_key: &str) -> Credentials {
        Credentials {
            public_key: public_key.to_owned(),
            private_key: private_key.to_owned(),
            ..self.admin().clone()
        }
    }

    /// Makes an API member with the named role and a key for it, through the API, and returns
    /// the member's id and credentials.
    pub async fn api_member(&self, identifier: &str, role: &str) -> (i64, Credentials) {
        let api = self.api();
        let member = api
            .post(
                "system/members",
                json!({
                    "identifier": identifier,
                    "firstName": identifier,
                    "lastName": "Integration",
                    "officeEmail": format!("{}@example.test", identifier.to_lowercase()),
                    "licenseClass": "A",
                    "securityRole": {"name": role},
                }),
            )
            .await
            .expect_status(201);
        let id = member.id();
        let token = api
            .post(
                &format!("system/members/{id}/tokens"),
                json!({"description": "tests"}),
            )
            .await
            .expect_status(201);
        let creds = self.credentials_for(token.str("publicKey"), token.str("privateKey"));
        (id, creds)
    }

    /// An API member whose new role grants exactly `grants`, and its key.
    pub async fn member_with_role(&self, grants: &[Grant]) -> (i64, Credentials) {
        let role = unique("Role ");
        AdminClient::new(self.admin().clone(), self.sandbox.ca_pem())
            .unwrap()
            .create_role(&role, grants)
            .await
            .unwrap();
        self.api_member(&unique("Member"), &role).await
    }
}

/// A ConnectWise client for tests: every call answers a [`Reply`].
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
    authorization: Option<String>,
    client_id: Option<String>,
    /// Further headers sent with every request.
    headers: Vec<(String, String)>,
    schema: Option<&'static Document>,
}

impl Api {
    /// The same client, checking every successful answer against the response model the
    /// reference document's `x-endpoints` names for the call.
    pub fn conforming(self) -> Self {
        Self {
            schema: Some(schema::document()),
            ..self
        }
    }

    /// The same client with another `Authorization` header.
    pub fn with_authorization(self, value: impl Into<String>) -> Self {
        Self {
            authorization: Some(value.into()),
            ..self
        }
    }

    /// The same client without the `clientId` header.
    pub fn without_client_id(self) -> Self {
        Self {
            client_id: None,
            ..self
        }
    }

    /// The same client against another API base (ending in `/`).
    pub fn with_base(self, base: impl Into<String>) -> Self {
        Self {
            base: base.into(),
            ..self
        }
    }

    /// The same client sending these headers too with every request.
    pub fn with_headers(mut self, headers: &[(&str, &str)]) -> Self {
        let owned = headers.iter().map(|(n, v)| (n.to_string(), v.to_string()));
        self.headers.extend(owned);
        self
    }

    /// The API base the client calls.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Sends one request; `path` is relative to the API base unless it is a full URL.
    pub async fn try_call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Reply, reqwest::Error> {
        let url = if path.starts_with("https://") || path.starts_with("http://") {
            path.to_owned()
        } else {
            format!("{}{}", self.base, path.trim_start_matches('/'))
        };
        let mut req = self.http.request(method.clone(), &url);
        if let Some(a) = &self.authorization {
            req = req.header("Authorization", a);
        }
        if let Some(c) = &self.client_id {
            req = req.header("clientId", c);
        }
        for (name, value) in &self.headers {
            req = req.header(name, value);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let res = req.send().await?;
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await?;
        let body = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.clone()))
        };
        let reply = Reply {
            method,
            url,
            status,
            headers,
            body,
            text,
        };
        if let Some(doc) = self.schema
            && reply.status.is_success()
        {
            let api_path = reply.url.strip_prefix(&self.base).unwrap_or(&reply.url);
            if let Err(errors) = doc.check_response(&reply.method, api_path, &reply.body) {
                panic!(
                    "{} {} answered a body that does not conform to the reference schema:\n  {}",
                    reply.method,
                    reply.url,
                    errors.join("\n  ")
                );
            }
        }
        Ok(reply)
    }

    /// Sends one request and expects an answer (any status).
    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Reply {
        match self.try_call(method.clone(), path, body).await {
            Ok(r) => r,
            Err(e) => panic!("{method} {path} got no answer: {e:?}"),
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, None).await
    }

    /// GET sending these headers too.
    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        self.clone().with_headers(headers).get(path).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(&body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Reply {
        self.call(Method::PUT, path, Some(&body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Reply {
        self.call(Method::PATCH, path, Some(&body)).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.call(Method::DELETE, path, None).await
    }

    /// GET that must answer 200; returns the body.
    pub async fn fetch(&self, path: &str) -> Value {
        self.get(path).await.expect_status(200).body
    }

    /// GET of a list that must answer 200; returns its items.
    pub async fn list(&self, path: &str) -> Vec<Value> {
        self.get(path).await.expect_status(200).items().to_vec()
    }

    /// GET that must answer `status`; returns the answer.
    pub async fn get_expecting(&self, path: &str, status: u16) -> Reply {
        self.get(path).await.expect_status(status)
    }

    /// GET of a list that must answer 200, with these query parameters percent-encoded after
    /// `path` (which may hold a query already); returns its items.
    pub async fn list_query(&self, path: &str, params: &[(&str, &str)]) -> Vec<Value> {
        self.list(&query(path, params)).await
    }

    /// The count `{collection}/count` answers.
    pub async fn count(&self, collection: &str) -> u64 {
        let count = self.fetch(&format!("{collection}/count")).await;
        count["count"].as_u64().expect("a count")
    }

    /// POST that must answer 201; returns the created record.
    pub async fn create(&self, path: &str, body: Value) -> Value {
        self.post(path, body).await.expect_status(201).body
    }

    /// POST that must answer 201; returns the created record's id.
    pub async fn create_id(&self, path: &str, body: Value) -> i64 {
        self.post(path, body).await.expect_status(201).id()
    }

    /// PATCH that must answer 200; returns the record.
    pub async fn update(&self, path: &str, body: Value) -> Value {
        self.patch(path, body).await.expect_status(200).body
    }

    /// DELETE that must answer 204.
    pub async fn remove(&self, path: &str) {
        self.delete(path).await.expect_status(204);
    }

    /// The id of the first record a list call answers.
    pub async fn first_id(&self, path: &str) -> i64 {
        ids(&self.list(path).await)[0]
    }

    /// The id of the company with this identifier.
    pub async fn company_id(&self, identifier: &str) -> i64 {
        let conditions = format!("identifier = \"{identifier}\"");
        self.find_id("company/companies", &conditions).await
    }

    /// The id of the service board with this name.
    pub async fn board_id(&self, name: &str) -> i64 {
        self.find_id("service/boards", &format!("name = \"{name}\""))
            .await
    }

    /// The id of the only record a list call with these conditions finds.
    pub async fn find_id(&self, collection: &str, conditions: &str) -> i64 {
        let items = self
            .list_query(collection, &[("conditions", conditions)])
            .await;
        assert_eq!(
            items.len(),
            1,
            "{collection} where {conditions}: expected one record, got {items:?}"
        );
        items[0]["id"].as_i64().expect("records have ids")
    }
}

/// One answer.
#[derive(Debug)]
pub struct Reply {
    pub method: Method,
    pub url: String,
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// The body as JSON (`Null` when empty, a JSON string when it is not JSON).
    pub body: Value,
    pub text: String,
}

impl Reply {
    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn expect_status(self, status: u16) -> Self {
        let ok = self.status.as_u16() == status;
        self.expect(ok, &status.to_string())
    }

    /// Asserts a 2xx status, showing the body otherwise.
    #[track_caller]
    pub fn expect_status_success(self) -> Self {
        let ok = self.status.is_success();
        self.expect(ok, "a 2xx status")
    }

    /// Asserts `ok` (the status is `expected`), showing the call and the body otherwise.
    #[track_caller]
    fn expect(self, ok: bool, expected: &str) -> Self {
        assert!(
            ok,
            "{} {} answered {}, expected {expected}: {}",
            self.method, self.url, self.status, self.text
        );
        self
    }

    /// A response header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The record's id.
    #[track_caller]
    pub fn id(&self) -> i64 {
        self.body["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("no id in {}", self.text))
    }

    /// A string field of the body.
    #[track_caller]
    pub fn str(&self, field: &str) -> &str {
        self.body[field]
            .as_str()
            .unwrap_or_else(|| panic!("no string {field} in {}", self.text))
    }

    /// The items of a list answer.
    #[track_caller]
    pub fn items(&self) -> &[Value] {
        self.body
            .as_array()
            .unwrap_or_else(|| panic!("{} {} is not a list: {}", self.method, self.url, self.text))
    }

    /// The ids of a list answer's items.
    pub fn ids(&self) -> Vec<i64> {
        ids(self.items())
    }

    /// ConnectWise's error `message`.
    #[track_caller]
    pub fn message(&self) -> &str {
        self.body["message"]
            .as_str()
            .unwrap_or_else(|| panic!("no error message in {}", self.text))
    }

    /// The `errors[]` entries of an error answer.
    pub fn field_errors(&self) -> Vec<&Value> {
        self.body["errors"]
            .as_array()
            .map(|e| e.iter().collect())
            .unwrap_or_default()
    }

    /// The URLs of the `Link` header, by `rel`.
    pub fn links(&self) -> Vec<(String, String)> {
        let Some(link) = self.header("link") else {
            return Vec::new();
        };
        link.split(", <")
            .filter_map(|part| {
                let part = part.trim_start_matches('<');
                let (url, rel) = part.split_once(">; rel=\"")?;
                Some((rel.trim_end_matches('"').to_owned(), url.to_owned()))
            })
            .collect()
    }

    /// The URL of the `Link` with this `rel`.
    pub fn link(&self, rel: &str) -> Option<String> {
        self.links()
            .into_iter()
            .find(|(r, _)| r == rel)
            .map(|(_, url)| url)
    }
}

/// The ids of records.
pub fn ids(items: &[Value]) -> Vec<i64> {
    items
        .iter()
        .map(|i| i["id"].as_i64().expect("records have ids"))
        .collect()
}

/// `path` with these query parameters appended, their values percent-encoded.
pub fn query(path: &str, params: &[(&str, &str)]) -> String {
    let mut out = path.to_owned();
    for (name, value) in params {
        out.push(if out.contains('?') { '&' } else { '?' });
        out.push_str(&format!("{name}={}", encode(value)));
    }
    out
}

/// Percent-encodes a query parameter value (spaces as `%20`).
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b));
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A name unlikely to clash with seed data or other records of the same test.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!("{prefix}{}", N.fetch_add(1, Ordering::Relaxed))
}
