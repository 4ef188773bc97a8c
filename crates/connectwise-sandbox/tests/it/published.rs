//! ConnectWise's whole published API through the sandbox: every collection path of the
//! derived document (`schema/cw-manage-published.json`) walked as a member whose role grants
//! exactly the path's module function — create where POST is published, get, list with a
//! condition, patch, delete — and refused (403 naming module > function) to a member whose
//! role grants nothing; every other path answered as an action the sandbox does not simulate.
//!
//! The collections are read from the document here, independently of the sandbox's own
//! reading of it, so a collection the sandbox failed to serve fails the walk.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use connectwise_sandbox::functions::{ALL_FUNCTIONS, Function, function_for};
use connectwise_sandbox::schema::{Kind, Schemas};
use connectwise_sandbox::{Grant, Levels};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Api, TestSandbox, encode, unique};

/// The derived document, as the repository keeps it.
fn document() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/cw-manage-published.json");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// One collection: a path whose GET answers `list[Model]`.
#[derive(Debug, Clone)]
struct Collection {
    path: String,
    model: String,
    post: bool,
    get: bool,
    patch: bool,
    delete: bool,
    count: bool,
}

impl Collection {
    fn parent(&self) -> Option<&str> {
        self.path.rfind("/{id}/").map(|at| &self.path[..at])
    }
}

/// The document's paths and their operations (path without the leading `/`).
fn endpoints(doc: &Value) -> BTreeMap<String, Value> {
    doc["x-endpoints"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(p, ops)| (p.trim_start_matches('/').to_owned(), ops.clone()))
        .collect()
}

fn collections(endpoints: &BTreeMap<String, Value>) -> Vec<Collection> {
    let has =
        |path: &str, method: &str| endpoints.get(path).is_some_and(|o| o.get(method).is_some());
    endpoints
        .iter()
        .filter_map(|(path, ops)| {
            let model = ops["get"]["returns"]
                .as_str()?
                .strip_prefix("list[")?
                .strip_suffix(']')?;
            let last = path.rsplit('/').next().unwrap().to_ascii_lowercase();
            if ["{id}", "info", "usages", "list"].contains(&last.as_str()) || model == "Usage" {
                return None;
            }
            let item = format!("{path}/{{id}}");
            // Where a record answers another model than the list, the record path is an
            // action.
            let odd = endpoints
                .get(&item)
                .is_some_and(|o| o.get("get").is_some_and(|g| g["returns"] != model));
            Some(Collection {
                path: path.clone(),
                model: model.to_owned(),
                post: ops["post"]["returns"] == model,
                get: !odd && has(&item, "get"),
                patch: !odd && has(&item, "patch"),
                delete: !odd && has(&item, "delete"),
                count: has(&format!("{path}/count"), "get"),
            })
        })
        .collect()
}

/// The collections the sandbox writes out by hand (with rules of their own, covered by
/// `crud.rs`); the walk reads them and makes records in them only as parents.
const HAND_WRITTEN: &[&str] = &[
    "company/companies",
    "company/companies/statuses",
    "company/companies/types",
    "company/contacts",
    "finance/agreements",
    "finance/agreements/{id}/additions",
    "finance/agreements/types",
    "procurement/catalog",
    "service/boards",
    "service/boards/{id}/statuses",
    "service/boards/{id}/types",
    "service/priorities",
    "service/tickets",
    "service/tickets/{id}/notes",
    "system/members",
    "system/securityroles",
    "system/securityRoles/{id}/settings",
    "system/callbacks",
];

/// Walks the API as the admin, making records where a walk needs a parent or a reference.
struct Maker<'a> {
    admin: Api,
    collections: &'a [Collection],
    /// Per collection path: the ids filling its `{id}`s and the id of one record.
    made: HashMap<String, Option<(Vec<i64>, i64)>>,
}

impl Maker<'_> {
    fn find(&self, path: &str) -> Option<&Collection> {
        self.collections
            .iter()
            .find(|c| c.path.eq_ignore_ascii_case(path))
    }

    /// The concrete path of a collection under these parent ids.
    fn concrete(path: &str, ids: &[i64]) -> String {
        let mut out = path.to_owned();
        for id in ids {
            out = out.replacen("{id}", &id.to_string(), 1);
        }
        out
    }

    /// The parent ids of a collection's path, making the parents when none exist.
    async fn parents(&mut self, c: &Collection) -> Option<Vec<i64>> {
        match c.parent() {
            None => Some(Vec::new()),
            Some(parent) => {
                let (mut ids, id) = Box::pin(self.record(parent)).await?;
                ids.push(id);
                Some(ids)
            }
        }
    }

    /// One record of a collection (an existing one, or one made by POST), with the ids of
    /// its path; `None` when there is none and none can be made.
    async fn record(&mut self, path: &str) -> Option<(Vec<i64>, i64)> {
        if let Some(known) = self.made.get(path) {
            return known.clone();
        }
        let c = self.find(path)?.clone();
        let ids = self.parents(&c).await?;
        let concrete = Self::concrete(&c.path, &ids);
        let listed = self
            .admin
            .get(&format!("{concrete}?pageSize=1"))
            .await
            .expect_status(200);
        let found = match listed.items().first() {
            Some(r) => r["id"].as_i64(),
            None if c.post => match Box::pin(self.body(&c.model)).await {
                Some(body) => {
                    let made = self.admin.post(&concrete, body).await;
                    (made.status == 201)
                        .then(|| made.body["id"].as_i64())
                        .flatten()
                }
                None => None,
            },
            None => None,
        };
        let out = found.map(|id| (ids, id));
        self.made.insert(path.to_owned(), out.clone());
        out
    }

    /// A body with every field the model requires, references pointing at real records;
    /// `None` when a required reference names a collection with no record to point at.
    async fn body(&mut self, model: &str) -> Option<Value> {
        let schema = Schemas::embedded().get(model);
        let mut body = serde_json::Map::new();
        for name in &schema.required {
            let Some(field) = schema.field(name) else {
                continue;
            };
            let value = Box::pin(self.value(&field.kind)).await?;
            body.insert(name.clone(), value);
        }
        Some(Value::Object(body))
    }

    async fn value(&mut self, kind: &Kind) -> Option<Value> {
        Some(match kind {
            Kind::String(Some(values)) => json!(values[0]),
            Kind::String(None) => json!(unique("W")),
            Kind::DateTime => json!("2026-01-31T00:00:00Z"),
            Kind::Integer => json!(1),
            Kind::Number => json!(1.5),
            Kind::Boolean => json!(false),
            Kind::Ref(target) => {
                let owner = target.strip_suffix("Reference").and_then(|m| {
                    let mut owners = self
                        .collections
                        .iter()
                        .filter(|c| c.model == m && c.parent().is_none());
                    match (owners.next(), owners.next()) {
                        (Some(only), None) => Some(only.path.clone()),
                        _ => None,
                    }
                });
                // A reference the sandbox checks must point at a record; one it cannot
                // check (no single collection holds the model) takes any id.
                match owner {
                    Some(path) => json!({"id": Box::pin(self.record(&path)).await?.1}),
                    None => json!({"id": 1}),
                }
            }
            Kind::Array(inner) => json!([Box::pin(self.value(inner)).await?]),
            Kind::Any | Kind::Info => json!({}),
        })
    }
}

/// A plain text field the model does not require, to patch.
fn patchable(model: &str) -> Option<String> {
    let schema = Schemas::embedded().get(model);
    schema
        .fields
        .iter()
        .find(|f| f.kind == Kind::String(None) && !schema.required.contains(&f.name))
        .map(|f| f.name.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_collection_of_the_published_api_is_served_and_guarded_by_its_function() {
    // Arrange: a member per module function, granted only that function; one with nothing.
    let sb = TestSandbox::demo().await;
    let doc = document();
    let endpoints = endpoints(&doc);
    let collections = collections(&endpoints);
    let mut members: HashMap<Function, Api> = HashMap::new();
    for &function in ALL_FUNCTIONS {
        let (_, creds) = sb
            .member_with_role(&[Grant {
                function,
                levels: Levels::ALL,
            }])
            .await;
        members.insert(function, sb.api_as(&creds).conforming());
    }
    let (_, nobody) = sb.member_with_role(&[]).await;
    let nobody = sb.api_as(&nobody);
    let mut maker = Maker {
        admin: sb.api(),
        collections: &collections,
        made: HashMap::new(),
    };

    // Act / Assert: each collection as its function's member.
    let mut failures = Vec::new();
    let (mut created, mut patched, mut deleted, mut read_only, mut no_parent) = (0, 0, 0, 0, 0);
    let mut views = 0;
    let has = |path: &str, method: &str| {
        endpoints
            .iter()
            .any(|(p, ops)| p.eq_ignore_ascii_case(path) && ops.get(method).is_some())
    };
    for c in &collections {
        let function = function_for(&c.path).unwrap_or_else(|| panic!("{}: no function", c.path));
        let api = &members[&function];
        let Some(ids) = maker.parents(c).await else {
            no_parent += 1;
            eprintln!("no parent record: {}", c.path);
            continue;
        };
        let path = Maker::concrete(&c.path, &ids);
        let refused = nobody.get(&path).await;
        let needs = format!("{} > {}", function.module, function.function);
        if refused.status != 403 || !refused.text.contains(&needs) {
            failures.push(format!(
                "{path}: without {needs}: {} {}",
                refused.status, refused.text
            ));
        }
        let list = api.get(&path).await;
        if list.status != 200 {
            failures.push(format!("GET {path}: {} {}", list.status, list.text));
            continue;
        }
        if c.count {
            let count = api.get(&format!("{path}/count")).await;
            if count.status != 200 || !count.body["count"].is_i64() {
                failures.push(format!("GET {path}/count: {} {}", count.status, count.text));
            }
        }
        if has(&format!("{}/info", c.path), "get") {
            let info = api.get(&format!("{path}/info")).await;
            if info.status != 200 || !info.body.is_array() {
                failures.push(format!("GET {path}/info: {} {}", info.status, info.text));
            } else {
                views += 1;
            }
        }
        if !c.post || HAND_WRITTEN.contains(&c.path.as_str()) {
            read_only += 1;
            continue;
        }
        let Some(body) = maker.body(&c.model).await else {
            no_parent += 1;
            eprintln!("no referenced record: {}", c.path);
            continue;
        };
        let made = api.post(&path, body.clone()).await;
        if made.status != 201 {
            failures.push(format!("POST {path} {body}: {} {}", made.status, made.text));
            continue;
        }
        created += 1;
        let id = made.body["id"].as_i64().unwrap();
        let refused = nobody.post(&path, body).await;
        if refused.status != 403 {
            failures.push(format!("POST {path} without {needs}: {}", refused.status));
        }
        if c.get {
            let got = api.get(&format!("{path}/{id}")).await;
            if got.status != 200 || got.body["id"] != id {
                failures.push(format!("GET {path}/{id}: {} {}", got.status, got.text));
            }
        }
        if has(&format!("{}/{{id}}/info", c.path), "get") {
            let info = api.get(&format!("{path}/{id}/info")).await;
            if info.status != 200 || info.body["id"] != id {
                failures.push(format!(
                    "GET {path}/{id}/info: {} {}",
                    info.status, info.text
                ));
            } else {
                views += 1;
            }
        }
        let found = api
            .get(&format!(
                "{path}?conditions={}",
                encode(&format!("id = {id}"))
            ))
            .await;
        if found.status != 200 || found.items().len() != 1 {
            failures.push(format!(
                "GET {path} where id = {id}: {} {}",
                found.status, found.text
            ));
        }
        if c.patch
            && let Some(field) = patchable(&c.model)
        {
            let reply = api
                .patch(
                    &format!("{path}/{id}"),
                    json!([{"op": "replace", "path": field, "value": "Patched"}]),
                )
                .await;
            if reply.status != 200 || reply.body[&field] != "Patched" {
                failures.push(format!(
                    "PATCH {path}/{id} {field}: {} {}",
                    reply.status, reply.text
                ));
            } else {
                patched += 1;
            }
        }
        if c.delete {
            let gone = api.delete(&format!("{path}/{id}")).await;
            let after = api.get(&format!("{path}/{id}")).await;
            if gone.status != 204 || (c.get && after.status != 404) {
                failures.push(format!(
                    "DELETE {path}/{id}: {} then {}",
                    gone.status, after.status
                ));
            } else {
                deleted += 1;
            }
        }
    }
    println!(
        "{} collections: {created} created, {patched} patched, {deleted} deleted, {read_only} read only, {no_parent} without the records a walk needs (a parent, a required reference); {views} /info views read",
        collections.len()
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(collections.len() > 390, "{} collections", collections.len());
    assert!(created > 200, "only {created} collections took a POST");
    assert!(views > 100, "only {views} /info views answered");
}

#[tokio::test]
async fn every_published_action_is_named_as_not_simulated() {
    // Arrange: the paths that are neither a collection, its records nor its count.
    let sb = TestSandbox::demo().await;
    let api = sb.api();
    let endpoints = endpoints(&document());
    let collections = collections(&endpoints);
    // Served on their own, outside the collections.
    let special = ["system/info", "system/members/{id}/tokens"];
    let served = |path: &str| {
        special.contains(&path)
            || collections.iter().any(|c| {
                let lower = path.to_ascii_lowercase();
                let base = c.path.to_ascii_lowercase();
                path == c.path
                    || (path == format!("{}/{{id}}", c.path) && (c.get || c.patch || c.delete))
                    || path == format!("{}/count", c.path)
                    // The collection's `/info` views (the count also as `/count/info`).
                    || [
                        format!("{base}/info"),
                        format!("{base}/info/count"),
                        format!("{base}/{{id}}/info"),
                    ]
                    .contains(&lower)
                    || lower == format!("{base}/count/info")
            })
    };
    let actions: Vec<(&String, &Value)> = endpoints.iter().filter(|(p, _)| !served(p)).collect();

    // Act / Assert
    let mut failures = Vec::new();
    for (path, ops) in &actions {
        let method = ops
            .as_object()
            .unwrap()
            .keys()
            .next()
            .unwrap()
            .to_ascii_uppercase();
        let concrete = path.replace("{id}", "1");
        let reply = api
            .call(
                Method::from_bytes(method.as_bytes()).unwrap(),
                &concrete,
                (method != "GET" && method != "DELETE").then_some(&json!({})),
            )
            .await;
        if reply.status != 501 || reply.body["code"] != "NotSimulated" {
            failures.push(format!(
                "{method} {concrete}: {} {}",
                reply.status, reply.text
            ));
        }
    }
    println!(
        "{} of the published API's {} paths are actions the sandbox names as not simulated",
        actions.len(),
        endpoints.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        (250..350).contains(&actions.len()),
        "{} actions",
        actions.len()
    );
}

#[test]
#[ignore = "needs CWBRIDGE_TEST_PYTHON with pyconnectwise (.ci/run installs it and runs this)"]
fn the_checked_in_document_is_what_derive_py_writes() {
    let python = std::env::var("CWBRIDGE_TEST_PYTHON")
        .expect("CWBRIDGE_TEST_PYTHON names a Python with pyconnectwise (.ci/run sets it)");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("published.json");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/derive.py");
    let status = std::process::Command::new(python)
        .arg(script)
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let written = std::fs::read_to_string(out).unwrap();
    let kept = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/cw-manage-published.json"),
    )
    .unwrap();
    assert!(
        written == kept,
        "schema/cw-manage-published.json differs from what schema/derive.py writes: run it"
    );
}
