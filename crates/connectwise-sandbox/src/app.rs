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
use serde_json::{Value, json};

use crate::auth::{self, Principal};
use crate::callbacks::Dispatcher;
use crate::error::CwError;
use crate::faults::{Faults, Injector, LostMode, Verdict};
use crate::record::Val;
use crate::resources as res;
use crate::roles::Action;
use crate::server::DropConnection;
use crate::store::Store;

mod control;
mod guard;
mod read;
mod route;
mod write;

use control::control;
use guard::*;
use read::*;
use route::*;
use write::*;

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
