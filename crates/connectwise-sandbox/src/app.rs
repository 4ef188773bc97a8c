//! The HTTP surface: `/login/companyinfo`, the API under `/{codebase}apis/3.0/`, and the
//! sandbox's own control endpoints under `/_sandbox/`.
//!
//! ConnectWise's server matches paths case-insensitively, accepts a trailing slash and
//! routes by segments, so routing here is by hand over the resource table rather than
//! through a case-sensitive router.

use std::sync::{Arc, Mutex, PoisonError, RwLock};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use connectwise_conditions::{Expr, Op, Value as CondValue};
use serde_json::{Value, json};

use crate::auth::{self, Principal};
use crate::callbacks::{Dispatcher, Event};
use crate::entity::{self, prepare, render, render_as};
use crate::error::CwError;
use crate::faults::{Faults, Injector, LostMode, Verdict};
use crate::published::Published;
use crate::query::{self, ListQuery};
use crate::record::{FALSE, Record, Val};
use crate::resources::{self as res, ParentLink, Resource};
use crate::roles::{Action, Level};
use crate::schema::{EntitySchema, Kind, Schemas};
use crate::server::DropConnection;
use crate::store::{Data, Entity, Store};

/// The API version this sandbox reports as current.
pub const CURRENT_API_VERSION: &str = "2025.1";
/// The oldest API version it accepts in `Accept`.
pub const OLDEST_API_VERSION: &str = "2019.1";

/// Who this site is: what `/login/companyinfo` answers.
#[derive(Debug, Clone)]
pub struct Site {
    /// The company id members log in with.
    pub company_id: String,
    /// The company's name.
    pub company_name: String,
    /// `VersionCode`, e.g. `v2025.1`.
    pub version_code: String,
    /// `VersionNumber`, e.g. `v2025.1.10000`.
    pub version_number: String,
    /// Whether to claim to be a cloud site.
    pub is_cloud: bool,
}

/// State shared by all requests.
pub struct Shared {
    /// The records.
    pub store: Arc<Store>,
    /// The site's identity.
    pub site: Site,
    /// The current codebase (`v4_6_release/`); changes on an upgrade.
    pub codebase: RwLock<String>,
    /// Fault injection.
    pub faults: Mutex<Injector>,
    /// The public base URL, e.g. `https://127.0.0.1:8443`.
    pub base_url: String,
    /// Callback delivery.
    pub callbacks: Dispatcher,
    /// The key callbacks are signed with.
    pub signing_key: Vec<u8>,
}

impl Shared {
    /// The codebase now served.
    pub fn codebase(&self) -> String {
        self.codebase
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The API's base URL (with a trailing slash) for `_info` links.
    pub fn api_base(&self) -> String {
        format!("{}/{}apis/3.0/", self.base_url, self.codebase())
    }

    /// Replaces the fault settings.
    pub fn set_faults(&self, faults: Faults) {
        self.faults
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .faults = faults;
    }

    /// The fault settings now in force.
    pub fn faults(&self) -> Faults {
        self.faults
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .faults
            .clone()
    }

    /// Moves the API to a new codebase; the old path starts answering 404.
    pub fn upgrade(&self, codebase: &str) {
        let mut cb = codebase.trim_matches('/').to_owned();
        cb.push('/');
        *self
            .codebase
            .write()
            .unwrap_or_else(PoisonError::into_inner) = cb;
    }
}

/// The axum router: everything goes through one handler.
pub fn router(shared: Arc<Shared>) -> axum::Router {
    axum::Router::new().fallback(handle).with_state(shared)
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let lower: Vec<String> = segments.iter().map(|s| s.to_ascii_lowercase()).collect();
    match lower.first().map(String::as_str) {
        Some("login") if lower.get(1).map(String::as_str) == Some("companyinfo") => {
            company_info(&shared, segments.get(2).copied())
        }
        Some("_sandbox") => control(&shared, &method, &lower[1..], &headers, &body),
        Some(_) => {
            let codebase = shared.codebase();
            let codebase = codebase.trim_matches('/').to_ascii_lowercase();
            let is_api =
                lower.len() >= 3 && lower[0] == codebase && lower[1] == "apis" && lower[2] == "3.0";
            if !is_api {
                return (StatusCode::NOT_FOUND, "Not Found").into_response();
            }
            let raw_query = uri.query().unwrap_or("");
            let request = ApiRequest {
                method: &method,
                path: &path,
                route: &lower[3..],
                raw_query,
                headers: &headers,
                body: &body,
            };
            let mut response = api(&shared, request).await;
            let h = response.headers_mut();
            h.insert(
                "api-current-version",
                HeaderValue::from_static(CURRENT_API_VERSION),
            );
            if let Ok(v) = HeaderValue::from_str(&format!("{:032x}", rand::random::<u128>())) {
                h.insert("x-cw-request-id", v);
            }
            response
        }
        None => (StatusCode::NOT_FOUND, "Not Found").into_response(),
    }
}

fn company_info(shared: &Shared, company: Option<&str>) -> Response {
    let site = &shared.site;
    let body = match company {
        Some(c) if c.eq_ignore_ascii_case(&site.company_id) => json!({
            "CompanyName": site.company_name,
            "Codebase": shared.codebase(),
            "VersionCode": site.version_code,
            "VersionNumber": site.version_number,
            "CompanyID": site.company_id,
            "IsCloud": site.is_cloud,
            "SiteUrl": shared.base_url.split("://").nth(1).unwrap_or(&shared.base_url),
        }),
        _ => Value::Null,
    };
    json_response(StatusCode::OK, &body)
}

/// Serialises a JSON answer with ConnectWise's content type.
pub fn json_response(status: StatusCode, body: &Value) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut res = (status, bytes).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    res
}

struct ApiRequest<'a> {
    method: &'a Method,
    path: &'a str,
    route: &'a [String],
    raw_query: &'a str,
    headers: &'a HeaderMap,
    body: &'a Bytes,
}

/// What a path under `apis/3.0/` names.
enum Route {
    Info,
    Tokens(i64),
    Collection {
        resource: &'static Resource,
        /// The id of the record this collection is under (0 at the top).
        parent: i64,
        /// The id of that record's own parent, for collections nested twice (0 otherwise).
        grandparent: i64,
        id: Option<i64>,
        count: bool,
        /// For an `/info` view of the collection: the model it answers in (`TicketInfo`).
        view: Option<&'static str>,
    },
    /// A published path that is not a collection (a merge, a copy, a report, usages…): the
    /// path as ConnectWise spells it, and its published operations.
    Action {
        path: &'static str,
        methods: Vec<String>,
    },
}

fn route(segments: &[String]) -> Option<Route> {
    if segments == ["system", "info"] {
        return Some(Route::Info);
    }
    if let [a, b, id, t] = segments
        && a == "system"
        && b == "members"
        && t == "tokens"
    {
        return id.parse().ok().map(Route::Tokens);
    }
    let mut template = Vec::new();
    let mut ids = Vec::new();
    for s in segments {
        match s.parse::<i64>() {
            Ok(n) => {
                template.push("{id}");
                ids.push(n);
            }
            Err(_) => template.push(s.as_str()),
        }
    }
    // `…/info`, `…/info/count` (also published as `…/count/info`) and `…/{id}/info` are
    // read-only views of the collection beside them, in the model ConnectWise publishes for
    // them (`XInfo`).
    let mut view = None;
    let n = template.len();
    let info_at = if n >= 1 && template[n - 1].eq_ignore_ascii_case("info") {
        Some(n - 1)
    } else if n >= 2 && template[n - 2].eq_ignore_ascii_case("info") && template[n - 1] == "count" {
        Some(n - 2)
    } else {
        None
    };
    if let Some(at) = info_at {
        let (_, ops) = Published::embedded().operations(&template.join("/"))?;
        let model = ops.get("get")?.returns.as_str();
        view = Some(model.trim_start_matches("list[").trim_end_matches(']'));
        template.remove(at);
    }
    let count = template.last() == Some(&"count");
    if count {
        template.pop();
    }
    let id = if template.last() == Some(&"{id}") && !count {
        template.pop();
        ids.pop()
    } else {
        None
    };
    let key = template.join("/");
    let Some(resource) = res::by_key(&key) else {
        return action(segments);
    };
    // Ids in the path are the parents' (the last the nearest), then the record's.
    let (parent, grandparent) = match ids.as_slice() {
        [] => (0, 0),
        [p] => (*p, 0),
        [.., g, p] => (*p, *g),
    };
    if ids.len() != key.matches("{id}").count() {
        return None;
    }
    Some(Route::Collection {
        resource,
        parent,
        grandparent,
        id,
        count,
        view,
    })
}

/// A published path that is not a collection the sandbox serves.
fn action(segments: &[String]) -> Option<Route> {
    let template: Vec<&str> = segments
        .iter()
        .map(|s| {
            if s.parse::<i64>().is_ok() {
                "{id}"
            } else {
                s.as_str()
            }
        })
        .collect();
    let (path, ops) = Published::embedded().operations(&template.join("/"))?;
    let mut methods: Vec<String> = ops.keys().map(|m| m.to_ascii_uppercase()).collect();
    methods.sort();
    Some(Route::Action { path, methods })
}

fn check_version(headers: &HeaderMap) -> Result<(), CwError> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    // A list of media types (`…+json; version=2021.1, application/json`, connectwise-rest's
    // default): the version is a parameter of one entry, not of the whole header.
    let Some(version) = accept
        .split(',')
        .flat_map(|media_type| media_type.split(';').skip(1))
        .map(str::trim)
        .find_map(|p| p.strip_prefix("version="))
    else {
        return Ok(());
    };
    let version = version.trim().trim_matches('"');
    let parse = |v: &str| -> Option<(u32, u32)> {
        let (y, n) = v.split_once('.')?;
        Some((y.parse().ok()?, n.parse().ok()?))
    };
    let wanted = parse(version);
    let (oldest, current) = (
        parse(OLDEST_API_VERSION).unwrap_or_default(),
        parse(CURRENT_API_VERSION).unwrap_or_default(),
    );
    match wanted {
        Some(v) if v >= oldest && v <= current => Ok(()),
        _ => Err(CwError::new(
            StatusCode::BAD_REQUEST,
            "InvalidVersion",
            format!(
                "API version '{version}' is not supported. Use a version from {OLDEST_API_VERSION} to {CURRENT_API_VERSION}, e.g. Accept: application/vnd.connectwise.com+json; version={CURRENT_API_VERSION}"
            ),
        )),
    }
}

async fn api(shared: &Arc<Shared>, req: ApiRequest<'_>) -> Response {
    let principal = {
        let data = shared.store.read();
        match auth::authenticate(&data, req.headers, &shared.site.company_id) {
            Ok(p) => p,
            Err(e) => return e.into_response(),
        }
    };
    if let Err(e) = check_version(req.headers) {
        return e.into_response();
    }
    let (verdict, latency) = {
        let mut inj = shared.faults.lock().unwrap_or_else(PoisonError::into_inner);
        let v = inj.decide(principal.actor.member_id);
        (v, inj.faults.latency_ms)
    };
    if latency > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(latency)).await;
    }
    match verdict {
        Verdict::Pass => {}
        Verdict::ServerError(status) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return CwError::server_fault(status, "An unexpected error occurred (injected fault)")
                .into_response();
        }
        Verdict::Throttle(secs) => return CwError::too_many_requests(secs).into_response(),
    }
    let is_write = *req.method != Method::GET && *req.method != Method::HEAD;
    let result = dispatch(shared, &req, &principal);
    let response = match result {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    if is_write && response.status().is_success() {
        let lost = shared
            .faults
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .lose_write_response();
        match lost {
            Some(LostMode::Drop) => {
                let mut r = Response::new(axum::body::Body::empty());
                r.extensions_mut().insert(DropConnection);
                return r;
            }
            Some(LostMode::Stall) => {
                let stall = shared.faults().stall();
                tokio::time::sleep(stall).await;
            }
            None => {}
        }
    }
    response
}

fn dispatch(
    shared: &Arc<Shared>,
    req: &ApiRequest<'_>,
    principal: &Principal,
) -> Result<Response, CwError> {
    let route = route(req.route).ok_or_else(|| CwError::no_route(req.path))?;
    match route {
        Route::Info => {
            if *req.method != Method::GET {
                return Err(CwError::method_not_allowed(req.method.as_str()));
            }
            let mut info = json!({
                "version": shared.site.version_number,
                "isCloud": shared.site.is_cloud,
                "serverTimeZone": "Etc/UTC",
                "licenseBits": [],
            });
            if shared.site.is_cloud {
                info["cloudRegion"] = json!("NA");
            }
            Ok(json_response(StatusCode::OK, &info))
        }
        Route::Tokens(member_id) => {
            if *req.method != Method::POST {
                return Err(CwError::method_not_allowed(req.method.as_str()));
            }
            permit(principal, res::get(res::MEMBERS), Action::Add)?;
            let description = serde_json::from_slice::<Value>(req.body)
                .ok()
                .and_then(|b| {
                    b.get("description")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                });
            let key = shared
                .store
                .write(|w| {
                    let Some(member) = w.data().get(res::MEMBERS, 0, member_id) else {
                        return Err(CwError::record_not_found("Member", member_id));
                    };
                    // A key acts as its member: minting one for a member whose role grants
                    // more than the caller's own would hand the caller those rights.
                    let role_id = member
                        .get("securityRole")
                        .and_then(Val::ref_id)
                        .unwrap_or(0);
                    if !principal.role_admin {
                        let role = w.data().get(res::ROLES, 0, role_id);
                        if role.and_then(|r| r.get("adminFlag")) == Some(&Val::Bool(true)) {
                            return Err(CwError::forbidden(format!(
                                "role {} may not make keys for a member of an admin role",
                                principal.role_name
                            )));
                        }
                        let theirs = crate::roles::Permissions::of_role(w.data(), role_id);
                        if let Some((module, function, action, wanted, own)) =
                            principal.permissions.first_excess(&theirs)
                        {
                            return Err(CwError::forbidden(format!(
                                "role {} may not make keys for this member: its role grants {module} > {function} > {} = {wanted}, beyond the caller's {own}",
                                principal.role_name,
                                action.label()
                            )));
                        }
                    }
                    Ok(auth::create_key(w, member_id, description.as_deref()))
                })
                .map_err(internal)??;
            Ok(json_response(
                StatusCode::CREATED,
                &json!({"publicKey": key.public_key, "privateKey": key.private_key}),
            ))
        }
        Route::Action { path, methods } => {
            if !methods.iter().any(|m| m == req.method.as_str()) {
                return Err(CwError::method_not_allowed(req.method.as_str()));
            }
            Err(CwError::not_simulated(req.method.as_str(), path))
        }
        Route::Collection {
            resource,
            parent,
            grandparent,
            id,
            count,
            view,
        } => {
            if view.is_some() && *req.method != Method::GET {
                return Err(CwError::method_not_allowed(req.method.as_str()));
            }
            if !offers(resource, req.method, id.is_some(), count) {
                return Err(unoffered(resource, req.method, id.is_some(), count));
            }
            if parent != 0 {
                check_parent(
                    &shared.store.read(),
                    resource,
                    parent,
                    grandparent,
                    principal,
                )?;
            }
            match (req.method.clone(), id, count) {
                (Method::GET, None, true) if resource.count => {
                    permit(principal, resource, Action::Inquire)?;
                    count_records(shared, req, principal, resource, parent)
                }
                (Method::GET, None, false) => {
                    permit(principal, resource, Action::Inquire)?;
                    let model = view.unwrap_or(resource.schema);
                    list(shared, req, principal, resource, model, parent)
                }
                (Method::GET, Some(id), false) if resource.get_one || view.is_some() => {
                    let level = permit(principal, resource, Action::Inquire)?;
                    let model = view.unwrap_or(resource.schema);
                    get_one(shared, req, principal, level, resource, model, parent, id)
                }
                (Method::POST, None, false) if resource.writable && resource.post => {
                    permit(principal, resource, Action::Add)?;
                    create(shared, req, principal, resource, parent)
                }
                (Method::PUT, Some(id), false) if resource.writable && resource.put => {
                    let level = permit(principal, resource, Action::Edit)?;
                    update(shared, req, principal, level, resource, parent, id)
                }
                (Method::PATCH, Some(id), false) if resource.writable && resource.patch => {
                    let level = permit(principal, resource, Action::Edit)?;
                    update(shared, req, principal, level, resource, parent, id)
                }
                (Method::DELETE, Some(id), false) if resource.deletable => {
                    let level = permit(principal, resource, Action::Delete)?;
                    delete(shared, principal, level, resource, parent, id)
                }
                (m, id, count) => Err(unoffered(resource, &m, id.is_some(), count)),
            }
        }
    }
}

/// Whether a collection serves this method on itself (`one` false), a record (`one`) or its
/// count.
fn offers(resource: &Resource, method: &Method, one: bool, count: bool) -> bool {
    match (method.clone(), one, count) {
        (Method::GET, false, true) => resource.count,
        (Method::GET, false, false) => true,
        (Method::GET, true, false) => resource.get_one,
        (Method::POST, false, false) => resource.writable && resource.post,
        (Method::PUT, true, false) => resource.writable && resource.put,
        (Method::PATCH, true, false) => resource.writable && resource.patch,
        (Method::DELETE, true, false) => resource.deletable,
        _ => false,
    }
}

/// The answer to a method a collection does not serve: not simulated when ConnectWise
/// publishes it there, 405 otherwise.
fn unoffered(resource: &Resource, method: &Method, one: bool, count: bool) -> CwError {
    let mut template = resource.key.to_owned();
    if one {
        template.push_str("/{id}");
    }
    if count {
        template.push_str("/count");
    }
    match Published::embedded().operations(&template) {
        Some((path, ops)) if ops.contains_key(&method.as_str().to_ascii_lowercase()) => {
            CwError::not_simulated(method.as_str(), path)
        }
        _ => CwError::method_not_allowed(method.as_str()),
    }
}

fn internal(e: anyhow::Error) -> CwError {
    tracing::error!(error = %e, "state write failed");
    CwError::server_fault(
        StatusCode::INTERNAL_SERVER_ERROR,
        "The sandbox could not save the change",
    )
}

/// Checks the role's level for an action; answers 403 naming what the role lacks.
fn permit(p: &Principal, resource: &Resource, action: Action) -> Result<Level, CwError> {
    let Some(function) = resource.function else {
        return Ok(Level::All);
    };
    let level = p.permissions.level(function, action);
    if level == Level::None {
        return Err(CwError::forbidden(format!(
            "You do not have permission to {} {}. The security role '{}' needs {} > {}: {} Level set to All (or Mine).",
            action.label().to_ascii_lowercase(),
            resource
                .path
                .replace("/{parent}", "")
                .replace("{parent}", ""),
            p.role_name,
            function.module,
            function.function,
            action.label(),
        )));
    }
    Ok(level)
}

fn is_mine(resource: &Resource, e: &Record, p: &Principal) -> bool {
    if let Some(f) = resource.owner_field
        && let Some(id) = e.get(f).and_then(Val::ref_id)
    {
        return id == p.actor.member_id;
    }
    e.get("_info")
        .and_then(|i| i.get("enteredBy"))
        .and_then(Val::as_str)
        .is_some_and(|by| by.eq_ignore_ascii_case(&p.actor.identifier))
}

/// Whether the role reads only the member's own records of this resource (level My).
fn mine_only(p: &Principal, resource: &Resource) -> bool {
    resource
        .function
        .is_some_and(|f| p.permissions.level(f, Action::Inquire) == Level::My)
}

/// Whether a record lies within the member's Level (see [`Principal::territory`]): a company
/// in its territory, or a record of such a company. Records tied to no company are visible.
fn in_scope(data: &Data, resource: &Resource, e: &Record, p: &Principal) -> bool {
    let Some(territory) = p.territory else {
        return true;
    };
    let ref_id = |e: &Record, field: &str| e.get(field)?.ref_id();
    if resource.key == res::COMPANIES {
        return ref_id(e, "territory") == Some(territory);
    }
    match ref_id(e, "company") {
        Some(company) => data
            .get(res::COMPANIES, 0, company)
            .is_some_and(|c| ref_id(c, "territory") == Some(territory)),
        None => true,
    }
}

/// Checks that the parent of a nested collection exists and is visible to the member.
fn check_parent(
    data: &Data,
    resource: &Resource,
    parent: i64,
    grandparent: i64,
    p: &Principal,
) -> Result<(), CwError> {
    let key = match resource.key {
        res::ADDITIONS => res::AGREEMENTS_KEY,
        res::BOARD_STATUSES | res::BOARD_TYPES => res::BOARDS,
        res::NOTES => res::TICKETS,
        res::ROLE_SETTINGS => res::ROLES,
        _ => match resource.parent_key {
            Some(key) => key,
            None => return Ok(()),
        },
    };
    let owner = res::get(key);
    match data.get(key, grandparent, parent) {
        Some(e) if in_scope(data, owner, e, p) => Ok(()),
        _ => Err(CwError::record_not_found(owner.label, parent)),
    }
}

/// The query's filters (conditions, childConditions, customFieldConditions, level My) as
/// one test of a record.
struct Filter<'a> {
    data: &'a Data,
    resource: &'a Resource,
    q: &'a ListQuery,
    p: &'a Principal,
    mine_only: bool,
}

fn filter<'a>(
    data: &'a Data,
    resource: &'a Resource,
    q: &'a ListQuery,
    p: &'a Principal,
    mine_only: bool,
) -> Filter<'a> {
    Filter {
        data,
        resource,
        q,
        p,
        mine_only,
    }
}

impl Filter<'_> {
    /// Whether any filter is set (otherwise every record passes).
    fn is_selective(&self) -> bool {
        self.mine_only
            || self.p.territory.is_some()
            || self.q.conditions.is_some()
            || self.q.child_conditions.is_some()
            || self.q.custom_field_conditions.is_some()
    }

    fn keeps(&self, e: &Record) -> bool {
        let q = self.q;
        let schema = Schemas::embedded().get(self.resource.schema);
        let field = |key: &str| field_or_flag(schema, e, key);
        (!self.mine_only || is_mine(self.resource, e, self.p))
            && in_scope(self.data, self.resource, e, self.p)
            && q.conditions
                .as_ref()
                .is_none_or(|c| c.matches_fields(&field))
            && q.child_conditions
                .as_ref()
                .is_none_or(|c| c.matches_fields(&field))
            && q.custom_field_conditions.as_ref().is_none_or(|c| {
                e.get("customFields")
                    .and_then(Val::as_array)
                    .is_some_and(|items| c.matches_any(items))
            })
    }
}

/// A record's field as conditions and `orderBy` read it: a boolean flag never set reads
/// `false`, as ConnectWise stores and sends it (`inactiveFlag = false` finds records made
/// without the flag).
fn field_or_flag<'e>(schema: &EntitySchema, e: &'e Record, key: &str) -> Option<&'e Val> {
    e.field(key).or_else(|| {
        schema
            .field(key)
            .filter(|f| f.kind == Kind::Boolean)
            .map(|_| &FALSE)
    })
}

/// Collections larger than this are filtered on two threads.
const PARALLEL_SCAN_MIN: usize = 20_000;

/// The records of a collection that pass the query's filters, in id order.
///
/// Filtering is a full scan. Large collections are split at the middle id and scanned on two
/// threads, off the async workers (`block_in_place`), so one big list neither blocks other
/// requests nor takes twice as long as the machine allows.
fn matching<'d>(
    data: &'d Data,
    resource: &Resource,
    parent: i64,
    q: &ListQuery,
    p: &Principal,
    mine_only: bool,
) -> Vec<(i64, &'d Record)> {
    let keep = filter(data, resource, q, p, mine_only);
    if let Some(ids) = indexed_candidates(data, resource, parent, q) {
        return ids
            .into_iter()
            .filter_map(|id| Some((id, data.get(resource.key, parent, id)?)))
            .filter(|(_, e)| keep.keeps(e))
            .collect();
    }
    let scan = |lo: i64, hi: i64| -> Vec<(i64, &'d Record)> {
        data.children_between(resource.key, parent, lo, hi)
            .filter(|(_, e)| keep.keeps(e))
            .collect()
    };
    let bounds = data.id_bounds(resource.key, parent);
    let multi_thread = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    match bounds {
        Some((first, last, len))
            if keep.is_selective() && multi_thread && len >= PARALLEL_SCAN_MIN =>
        {
            let mid = first + (last - first) / 2;
            tokio::task::block_in_place(|| {
                std::thread::scope(|s| {
                    let upper = s.spawn(|| scan(mid + 1, last));
                    let mut out = scan(first, mid);
                    out.extend(upper.join().unwrap_or_default());
                    out
                })
            })
        }
        _ => scan(i64::MIN, i64::MAX),
    }
}

/// The candidate ids for a query one of whose `and`-ed comparisons is `field/id = N` or
/// `field/id in (N, …)`, read from the collection's reference index (the narrowest such
/// comparison wins); `None` when no comparison can use the index.
fn indexed_candidates(
    data: &Data,
    resource: &Resource,
    parent: i64,
    q: &ListQuery,
) -> Option<Vec<i64>> {
    let refs = data.refs(resource.key)?;
    let conjuncts = match q.conditions.as_ref()? {
        Expr::And(children) => children.as_slice(),
        single => std::slice::from_ref(single),
    };
    conjuncts
        .iter()
        .filter_map(reference_lookup)
        .min_by_key(|(field, ids)| refs.estimate(field, ids))
        .map(|(field, ids)| refs.candidates(field, &ids, parent))
}

/// `(field, ids)` when a condition reads `field/id = N` or `field/id in (N, …)` with
/// integer literals (which is all the index can answer exactly).
fn reference_lookup(expr: &Expr) -> Option<(&str, Vec<i64>)> {
    let Expr::Compare(c) = expr else { return None };
    let [field, id] = c.path.segments() else {
        return None;
    };
    if !id.eq_ignore_ascii_case("id") {
        return None;
    }
    let integer = |v: &CondValue| -> Option<i64> {
        let text = match v {
            CondValue::Number(t) | CondValue::String(t) => t.trim(),
            _ => return None,
        };
        let n: f64 = text.parse().ok()?;
        (n.fract() == 0.0 && n.abs() < 9.0e15).then_some(n as i64)
    };
    let ids = match (c.op, &c.value) {
        (Op::Eq, v) => vec![integer(v)?],
        (Op::In, CondValue::List(items)) => items.iter().map(integer).collect::<Option<_>>()?,
        _ => return None,
    };
    Some((field.as_str(), ids))
}

fn count_records(
    shared: &Shared,
    req: &ApiRequest<'_>,
    p: &Principal,
    resource: &Resource,
    parent: i64,
) -> Result<Response, CwError> {
    let pairs = query::pairs(req.raw_query);
    let q = ListQuery::parse(&pairs, Schemas::embedded().get(resource.schema))?;
    let mine = mine_only(p, resource);
    let data = shared.store.read();
    let n = matching(&data, resource, parent, &q, p, mine).len();
    Ok(json_response(StatusCode::OK, &json!({ "count": n })))
}

fn list(
    shared: &Shared,
    req: &ApiRequest<'_>,
    p: &Principal,
    resource: &Resource,
    model: &str,
    parent: i64,
) -> Result<Response, CwError> {
    let pairs = query::pairs(req.raw_query);
    let q = ListQuery::parse(&pairs, Schemas::embedded().get(resource.schema))?;
    let forward_only = req
        .headers
        .get("pagination-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("forward-only"));
    let mine = mine_only(p, resource);
    let api_base = shared.api_base();
    let link_base = format!("{}{}", shared.base_url, req.path);
    let data = shared.store.read();
    let size = q.page_size as usize;
    let mut links = Vec::new();
    let page: Vec<(i64, &Record)> = if forward_only {
        // Forward-only reads like `id > pageId` in id order: scan from the cursor and stop
        // one record past the page, which is what makes it cheap for the server.
        let after = q.page_id.unwrap_or(0);
        let keep = filter(&data, resource, &q, p, mine);
        let mut rest = data
            .children_between(resource.key, parent, after.saturating_add(1), i64::MAX)
            .filter(|(_, e)| keep.keeps(e));
        let page: Vec<_> = rest.by_ref().take(size).collect();
        if rest.next().is_some()
            && let Some((last, _)) = page.last()
        {
            links.push(format!(
                "<{link_base}?{}>; rel=\"next\"",
                query::link_query(req.raw_query, "pageId", last)
            ));
        }
        page
    } else {
        let mut hits = matching(&data, resource, parent, &q, p, mine);
        if !q.order_by.is_empty() {
            let schema = Schemas::embedded().get(resource.schema);
            hits.sort_by(|(a_id, a), (b_id, b)| {
                connectwise_conditions::compare_fields(
                    &|k: &str| field_or_flag(schema, a, k),
                    &|k: &str| field_or_flag(schema, b, k),
                    &q.order_by,
                )
                .then(a_id.cmp(b_id))
            });
        }
        let total = hits.len();
        let last_page = total.div_ceil(size).max(1) as u64;
        let page_no = q.page;
        let link = |n: u64, rel: &str| {
            format!(
                "<{link_base}?{}>; rel=\"{rel}\"",
                query::link_query(req.raw_query, "page", n)
            )
        };
        if page_no > 1 {
            links.push(link(1, "first"));
            links.push(link((page_no - 1).min(last_page), "prev"));
        }
        if page_no < last_page {
            links.push(link(page_no + 1, "next"));
            links.push(link(last_page, "last"));
        }
        let start = ((page_no - 1) as usize).saturating_mul(size);
        hits.into_iter().skip(start).take(size).collect()
    };
    let items: Vec<Value> = page
        .into_iter()
        .map(|(id, e)| {
            let r = render_as(resource, model, id, e, &api_base);
            match &q.fields {
                Some(f) => entity::project(&r, f),
                None => r,
            }
        })
        .collect();
    drop(data);
    let mut response = json_response(StatusCode::OK, &Value::Array(items));
    if !links.is_empty()
        && let Ok(v) = HeaderValue::from_str(&links.join(", "))
    {
        response.headers_mut().insert(header::LINK, v);
    }
    Ok(response)
}

#[allow(clippy::too_many_arguments)]
fn get_one(
    shared: &Shared,
    req: &ApiRequest<'_>,
    p: &Principal,
    level: Level,
    resource: &Resource,
    model: &str,
    parent: i64,
    id: i64,
) -> Result<Response, CwError> {
    let api_base = shared.api_base();
    let data = shared.store.read();
    let e = data
        .get(resource.key, parent, id)
        .ok_or_else(|| CwError::record_not_found(resource.label, id))?;
    if !in_scope(&data, resource, e, p) {
        return Err(CwError::record_not_found(resource.label, id));
    }
    if level == Level::My && !is_mine(resource, e, p) {
        return Err(not_mine(resource, id));
    }
    let rendered = render_as(resource, model, id, e, &api_base);
    drop(data);
    let pairs = query::pairs(req.raw_query);
    let body = match query::param(&pairs, "fields") {
        Some(f) => {
            let fields: Vec<Vec<String>> = f
                .split(',')
                .map(|s| s.trim().split('/').map(str::to_owned).collect())
                .collect();
            entity::project(&rendered, &fields)
        }
        None => rendered,
    };
    Ok(json_response(StatusCode::OK, &body))
}

/// The stored record a change targets, if it exists and the role may touch it.
fn current_record(
    data: &Data,
    resource: &Resource,
    parent: i64,
    id: i64,
    level: Level,
    p: &Principal,
) -> Result<Record, CwError> {
    let current = data
        .get(resource.key, parent, id)
        .cloned()
        .ok_or_else(|| CwError::record_not_found(resource.label, id))?;
    if !in_scope(data, resource, &current, p) {
        return Err(CwError::record_not_found(resource.label, id));
    }
    if level == Level::My && !is_mine(resource, &current, p) {
        return Err(not_mine(resource, id));
    }
    Ok(current)
}

/// Refuses a write that would put a record outside the member's Level.
fn out_of_scope(
    data: &Data,
    resource: &Resource,
    e: &Entity,
    p: &Principal,
) -> Result<(), CwError> {
    if p.territory.is_none() || in_scope(data, resource, &Record::from_map(e.clone()), p) {
        return Ok(());
    }
    let field = if resource.key == res::COMPANIES {
        "territory"
    } else {
        "company"
    };
    Err(CwError::invalid_object(
        resource.resource,
        vec![crate::error::FieldError::new(
            "InvalidField",
            resource.resource,
            field,
            format!(
                "The {field} is outside your member Level's location; choose a company in your territory"
            ),
        )],
    ))
}

fn not_mine(resource: &Resource, id: i64) -> CwError {
    CwError::forbidden(format!(
        "{} {id} is not yours, and your security role allows only your own records (level My)",
        resource.label
    ))
}

fn parse_body(req: &ApiRequest<'_>) -> Result<Value, CwError> {
    serde_json::from_slice(req.body)
        .map_err(|e| CwError::bad_request(format!("The request body is not valid JSON: {e}")))
}

fn create(
    shared: &Shared,
    req: &ApiRequest<'_>,
    p: &Principal,
    resource: &'static Resource,
    parent: i64,
) -> Result<Response, CwError> {
    let body = parse_body(req)?;
    let (id, stored) = shared
        .store
        .write(|w| -> Result<(i64, Record), CwError> {
            let mut e = prepare(w.data(), resource, parent, body, None, &p.actor)?;
            out_of_scope(w.data(), resource, &e, p)?;
            let id = w.next_id(resource.key);
            e.insert("id".into(), json!(id));
            let stored = w.put(resource.key, parent, id, e.clone());
            after_create(w, resource, id, &e, p);
            Ok((id, stored))
        })
        .map_err(internal)??;
    let rendered = render(resource, id, &stored, &shared.api_base());
    announce(shared, resource, "added", id, &stored, &rendered, p);
    Ok(json_response(StatusCode::CREATED, &rendered))
}

/// Side effects ConnectWise performs when a record is made.
fn after_create(
    w: &mut crate::store::Writer<'_>,
    resource: &Resource,
    id: i64,
    e: &Entity,
    p: &Principal,
) {
    match resource.key {
        res::TICKETS => {
            for (field, flag) in [
                ("initialDescription", "detailDescriptionFlag"),
                ("initialInternalAnalysis", "internalAnalysisFlag"),
                ("initialResolution", "resolutionFlag"),
            ] {
                let Some(text) = e.get(field).and_then(Value::as_str) else {
                    continue;
                };
                if text.trim().is_empty() {
                    continue;
                }
                let note = json!({ "text": text, flag: true });
                if let Ok(mut n) = prepare(w.data(), res::get(res::NOTES), id, note, None, &p.actor)
                {
                    let note_id = w.next_id(res::NOTES);
                    n.insert("id".into(), json!(note_id));
                    w.put(res::NOTES, id, note_id, n);
                }
            }
        }
        res::ROLES => {
            crate::bootstrap::add_role_settings(w, id, &[], &p.actor);
        }
        _ => {}
    }
}

fn update(
    shared: &Shared,
    req: &ApiRequest<'_>,
    p: &Principal,
    level: Level,
    resource: &'static Resource,
    parent: i64,
    id: i64,
) -> Result<Response, CwError> {
    let body = parse_body(req)?;
    let is_patch = *req.method == Method::PATCH;
    let stored = shared
        .store
        .write(|w| -> Result<Record, CwError> {
            let current = current_record(w.data(), resource, parent, id, level, p)?.to_map();
            let input = if is_patch {
                crate::patch::apply(resource, &current, body)?
            } else {
                body
            };
            let mut e = prepare(w.data(), resource, parent, input, Some(&current), &p.actor)?;
            out_of_scope(w.data(), resource, &e, p)?;
            e.insert("id".into(), json!(id));
            Ok(w.put(resource.key, parent, id, e))
        })
        .map_err(internal)??;
    let rendered = render(resource, id, &stored, &shared.api_base());
    announce(shared, resource, "updated", id, &stored, &rendered, p);
    Ok(json_response(StatusCode::OK, &rendered))
}

fn delete(
    shared: &Shared,
    p: &Principal,
    level: Level,
    resource: &'static Resource,
    parent: i64,
    id: i64,
) -> Result<Response, CwError> {
    let removed = shared
        .store
        .write(|w| -> Result<Record, CwError> {
            let current = current_record(w.data(), resource, parent, id, level, p)?;
            if resource.key == res::ROLES {
                let in_use = w
                    .data()
                    .children(res::MEMBERS, 0)
                    .any(|(_, m)| m.get("securityRole").and_then(Val::ref_id) == Some(id));
                if in_use {
                    return Err(CwError::bad_request(format!(
                        "SecurityRole {id} is assigned to members; give them another role first"
                    )));
                }
            }
            w.delete(resource.key, parent, id);
            // Children go with their parent.
            for child in res::all().iter().filter(|c| {
                c.parent != ParentLink::None
                    && c.key.starts_with(&format!("{}/{{id}}/", resource.key))
            }) {
                let ids: Vec<i64> = w.data().children(child.key, id).map(|(i, _)| i).collect();
                for cid in ids {
                    w.delete(child.key, id, cid);
                }
            }
            Ok(current)
        })
        .map_err(internal)??;
    announce(shared, resource, "deleted", id, &removed, &Value::Null, p);
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn announce(
    shared: &Shared,
    resource: &Resource,
    action: &'static str,
    id: i64,
    stored: &Record,
    rendered: &Value,
    p: &Principal,
) {
    let Some(kind) = resource.callback_type else {
        return;
    };
    let ref_id = |f: &str| stored.get(f).and_then(Val::ref_id);
    shared.callbacks.send(Event {
        kind,
        action,
        id,
        entity: rendered.clone(),
        board_id: ref_id("board"),
        company_id: if resource.key == res::COMPANIES {
            Some(id)
        } else {
            ref_id("company")
        },
        member: p.actor.identifier.clone(),
    });
}

/// `/_sandbox/…`: fault settings, upgrades and the callback signing key.
fn control(
    shared: &Arc<Shared>,
    method: &Method,
    route: &[String],
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    if route == ["callback-key"] && *method == Method::GET {
        use base64::Engine;
        return json_response(
            StatusCode::OK,
            &json!({ "signing_key": base64::engine::general_purpose::STANDARD.encode(&shared.signing_key) }),
        );
    }
    let principal = {
        let data = shared.store.read();
        auth::authenticate(&data, headers, &shared.site.company_id)
    };
    match principal {
        Ok(p) if p.role_admin => {}
        Ok(_) => {
            return CwError::forbidden(
                "The sandbox's control endpoints need a member with an admin security role",
            )
            .into_response();
        }
        Err(e) => return e.into_response(),
    }
    match (method.clone(), route.first().map(String::as_str)) {
        (Method::GET, Some("faults")) => json_response(
            StatusCode::OK,
            &serde_json::to_value(shared.faults()).unwrap_or_default(),
        ),
        (Method::PUT, Some("faults")) => match serde_json::from_slice::<Faults>(body) {
            Ok(f) => match f.validate() {
                Ok(()) => {
                    shared.set_faults(f.clone());
                    json_response(StatusCode::OK, &serde_json::to_value(f).unwrap_or_default())
                }
                Err(msg) => CwError::bad_request(msg).into_response(),
            },
            Err(e) => CwError::bad_request(format!("faults: {e}")).into_response(),
        },
        (Method::POST, Some("upgrade")) => {
            let codebase = serde_json::from_slice::<Value>(body)
                .ok()
                .and_then(|v| v.get("codebase").and_then(Value::as_str).map(str::to_owned));
            match codebase {
                Some(cb) if !cb.trim_matches('/').is_empty() => {
                    shared.upgrade(&cb);
                    json_response(StatusCode::OK, &json!({ "codebase": shared.codebase() }))
                }
                _ => CwError::bad_request("Send {\"codebase\": \"v2026_1/\"}").into_response(),
            }
        }
        _ => CwError::no_route(&format!("/_sandbox/{}", route.join("/"))).into_response(),
    }
}
