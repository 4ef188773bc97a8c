//! `/_sandbox/…`: fault settings, codebase upgrades and the callback signing key, for admin
//! members.

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::auth;
use crate::error::CwError;
use crate::faults::Faults;

use super::{Shared, json_response};

/// `/_sandbox/…`: fault settings, upgrades and the callback signing key.
pub(super) fn control(
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
