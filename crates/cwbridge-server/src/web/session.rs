//! Signing in to the wizard, sessions, and forms protected against cross-site forgery.
//!
//! A tenant signs in with its token (posted, never in a URL) and gets a session cookie:
//! `HttpOnly`, `SameSite=Lax`, `Secure` behind HTTPS. Every form carries the session's
//! anti-forgery token, and a form posted from another origin is refused even before that.

use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use cwbridge_store::Tenant;
use subtle::ConstantTimeEq;

use super::{Chrome, Fields, render};
use crate::state::AppState;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "cwb_session";
/// The sign-in form's own anti-forgery cookie (there is no session yet to hold one).
const SIGN_IN_COOKIE: &str = "cwb_sign_in";

/// A signed-in tenant.
#[derive(Debug, Clone)]
pub struct Session {
    /// The tenant.
    pub tenant: Tenant,
    /// The anti-forgery token its forms carry.
    pub csrf: String,
    id: String,
}

impl FromRequestParts<AppState> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let jar = CookieJar::from_headers(&parts.headers);
        let Some(id) = jar.get(SESSION_COOKIE).map(|c| c.value().to_owned()) else {
            return Err(Redirect::to("/sign-in").into_response());
        };
        match state.engine.session(&id).await {
            Ok(Some(s)) => {
                tracing::Span::current().record("tenant.id", s.tenant.id.0);
                Ok(Session {
                    tenant: s.tenant,
                    csrf: s.csrf,
                    id,
                })
            }
            Ok(None) => Err(Redirect::to("/sign-in?expired=1").into_response()),
            Err(e) => Err(super::failure_page(&e.to_string())),
        }
    }
}

/// A form posted by a signed-in tenant, its anti-forgery token checked.
#[derive(Debug)]
pub struct SessionForm {
    /// Who posted it.
    pub session: Session,
    /// Its fields.
    pub fields: Fields,
}

impl FromRequest<AppState> for SessionForm {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let session = Session::from_request_parts(&mut parts, state).await?;
        same_origin(&parts)?;
        let fields = Fields::from_request(Request::from_parts(parts, body), state).await?;
        if !constant_time_eq(fields.get("csrf").as_bytes(), session.csrf.as_bytes()) {
            return Err(forged());
        }
        Ok(SessionForm { session, fields })
    }
}

/// Refuses a form a browser says came from another site. `Sec-Fetch-Site` answers that
/// directly where browsers send it; otherwise `Origin` is compared with the host the request
/// was sent to (`X-Forwarded-Host` behind a proxy, the HTTP/2 authority, or `Host`). A
/// request with neither comes from no browser, and the anti-forgery token decides.
fn same_origin(parts: &Parts) -> Result<(), Response> {
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site") {
        return match site {
            "same-origin" | "none" => Ok(()),
            _ => Err(forged()),
        };
    }
    let Some(origin) = header("origin") else {
        return Ok(());
    };
    let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
    let hosts = [
        header("x-forwarded-host").map(|h| h.split(',').next().unwrap_or(h).trim().to_owned()),
        parts.uri.authority().map(|a| a.to_string()),
        header("host").map(str::to_owned),
    ];
    if hosts
        .iter()
        .flatten()
        .any(|h| h.eq_ignore_ascii_case(origin_host))
    {
        Ok(())
    } else {
        Err(forged())
    }
}

fn forged() -> Response {
    super::problem_page(
        StatusCode::FORBIDDEN,
        "This form has expired or came from another site",
        "Nothing was changed. Go back, reload the page and send the form again.",
    )
}

/// Compares two secrets in time that depends on their length only.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    bool::from(a.ct_eq(b))
}

/// Whether the browser reached the bridge over https: the operator said so
/// (`--public-url https://…`), or a reverse proxy did (`X-Forwarded-Proto: https`).
fn https(state: &AppState, headers: &HeaderMap) -> bool {
    state.public_https
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|p| p.eq_ignore_ascii_case("https"))
}

fn cookie(name: &'static str, value: String, path: &'static str, secure: bool) -> Cookie<'static> {
    Cookie::build((name, value))
        .path(path)
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .build()
}

/// The sign-in page.
#[derive(askama::Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    chrome: Chrome,
    error: Option<String>,
    token: String,
}

fn sign_in_page(
    status: StatusCode,
    jar: CookieJar,
    https: bool,
    error: Option<String>,
) -> Response {
    let token = crate::web::random_token();
    let jar = jar.add(cookie(SIGN_IN_COOKIE, token.clone(), "/sign-in", https));
    let page = SignInPage {
        chrome: Chrome::signed_out("Sign in"),
        error,
        token,
    };
    (jar, render(status, &page)).into_response()
}

/// `GET /sign-in`.
pub async fn sign_in_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: CookieJar,
    axum::extract::Query(query): axum::extract::Query<super::PageQuery>,
) -> Response {
    if let Some(id) = jar.get(SESSION_COOKIE)
        && let Ok(Some(_)) = state.engine.session(id.value()).await
    {
        return Redirect::to("/").into_response();
    }
    let expired = !query.expired.is_empty();
    sign_in_page(
        StatusCode::OK,
        jar,
        https(&state, &headers),
        expired.then(|| "Your session ended: sign in again.".to_owned()),
    )
}

/// `POST /sign-in`: the tenant token for a session.
pub async fn sign_in(State(state): State<AppState>, jar: CookieJar, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    if let Err(r) = same_origin(&parts) {
        return r;
    }
    let headers = parts.headers.clone();
    let fields = match Fields::from_request(Request::from_parts(parts, body), &state).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let expected = jar.get(SIGN_IN_COOKIE).map(|c| c.value().to_owned());
    if !expected.is_some_and(|e| constant_time_eq(e.as_bytes(), fields.get("csrf").as_bytes())) {
        return sign_in_page(
            StatusCode::FORBIDDEN,
            jar,
            https(&state, &headers),
            Some("The sign-in form expired: enter the token again.".into()),
        );
    }
    let token = fields.get("token");
    if token.is_empty() {
        return sign_in_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            jar,
            https(&state, &headers),
            Some("Enter your tenant token.".into()),
        );
    }
    match state.engine.sign_in(token).await {
        Ok(Some((id, _csrf))) => {
            // Signing in again ends the session this browser had.
            if let Some(old) = jar.get(SESSION_COOKIE)
                && let Err(e) = state.engine.sign_out(old.value()).await
            {
                return super::failure_page(&e.to_string());
            }
            let mut session = cookie(SESSION_COOKIE, id, "/", https(&state, &headers));
            session.set_max_age(time_of(cwbridge_engine::tenant::SESSION_TTL));
            let jar = jar
                .remove(Cookie::build(SIGN_IN_COOKIE).path("/sign-in"))
                .add(session);
            (jar, Redirect::to("/")).into_response()
        }
        Ok(None) => sign_in_page(
            StatusCode::UNAUTHORIZED,
            jar,
            https(&state, &headers),
            Some(
                "That token is not valid. Use the tenant token cwbridge gave you (`cwbridge tenant create`, or the demo's output)."
                    .into(),
            ),
        ),
        Err(e) => super::failure_page(&e.to_string()),
    }
}

fn time_of(d: std::time::Duration) -> time::Duration {
    time::Duration::seconds(d.as_secs() as i64)
}

/// `POST /sign-out`.
pub async fn sign_out(
    State(state): State<AppState>,
    jar: CookieJar,
    form: SessionForm,
) -> Response {
    if let Err(e) = state.engine.sign_out(&form.session.id).await {
        return super::failure_page(&e.to_string());
    }
    let jar = jar.remove(Cookie::build(SESSION_COOKIE).path("/"));
    (jar, Redirect::to("/sign-in")).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_secrets_only() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(!constant_time_eq(b"", b"a"));
    }

    #[test]
    fn forms_from_other_sites_are_refused() {
        let parts = |headers: &[(&str, &str)]| {
            let mut b = axum::http::Request::builder().uri("/setup/connect");
            for (k, v) in headers {
                b = b.header(*k, *v);
            }
            b.body(()).unwrap().into_parts().0
        };
        let host = ("host", "127.0.0.1:8080");
        assert!(
            same_origin(&parts(&[host])).is_ok(),
            "no browser: the token decides"
        );
        assert!(same_origin(&parts(&[host, ("origin", "http://127.0.0.1:8080")])).is_ok());
        assert!(same_origin(&parts(&[host, ("origin", "https://evil.example")])).is_err());
        // Behind a proxy that forwards its upstream address as Host.
        let proxied = [
            ("host", "127.0.0.1:8080"),
            ("x-forwarded-host", "bridge.example"),
            ("origin", "https://bridge.example"),
        ];
        assert!(same_origin(&parts(&proxied)).is_ok());
        // Sec-Fetch-Site, where the browser sends it, settles it.
        assert!(same_origin(&parts(&[("sec-fetch-site", "same-origin")])).is_ok());
        assert!(same_origin(&parts(&[("sec-fetch-site", "cross-site")])).is_err());
        assert!(same_origin(&parts(&[("sec-fetch-site", "same-site")])).is_err());
    }
}
