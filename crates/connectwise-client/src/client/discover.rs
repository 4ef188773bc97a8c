//! Codebase discovery: `login/companyinfo` read once per client (and again when the
//! codebase's path stops answering), as ConnectWise's own clients do.

use super::answer::*;
use super::*;

impl Client {
    /// The codebase in use (e.g. `v4_6_release/`), discovering it on first use.
    pub async fn codebase(&self) -> Result<String> {
        if let Some(c) = self.cached_codebase() {
            return Ok(c);
        }
        self.discover().await
    }

    pub(super) fn cached_codebase(&self) -> Option<String> {
        self.inner
            .codebase
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Asks `/login/companyinfo/{company}` for the codebase and caches it. Throttling and
    /// server errors are retried like any read.
    pub(super) async fn discover(&self) -> Result<String> {
        let inner = &*self.inner;
        let mut url = reqwest::Url::parse(&inner.origin)
            .map_err(|e| Error::Config(format!("bad site {}: {e}", inner.origin)))?;
        url.path_segments_mut()
            .map_err(|()| Error::Config(format!("bad site {}", inner.origin)))?
            .extend(["login", "companyinfo", inner.company_id.as_str()]);
        let mut attempts = 0;
        loop {
            attempts += 1;
            let request = RequestInfo {
                method: "GET".into(),
                path: format!("/login/companyinfo/{}", inner.company_id),
                request_id: None,
                attempts,
            };
            let sent = match inner.http.get(url.clone()).send().await {
                Ok(response) => read_answer(response, inner.max_response_bytes).await,
                Err(e) => Err(Unanswered::Http(e)),
            };
            let (status, headers, body) = match sent {
                Ok((status, _, headers, body)) => (status, headers, body),
                Err(Unanswered::TooLarge(what)) => {
                    inner.observe(&request.path, None, &what, false);
                    return Err(Error::TooLarge {
                        what,
                        request: Box::new(request),
                    });
                }
                Err(Unanswered::Http(e)) => {
                    if let Some(refused) = refusal(&e) {
                        inner.observe(&request.path, None, &refused.to_string(), false);
                        return Err(refused);
                    }
                    if let Some(config) = certificate_problem(&e, &inner.origin) {
                        inner.observe(&request.path, None, &config.to_string(), false);
                        return Err(config);
                    }
                    let outcome = if e.is_connect() {
                        Outcome::NotSent
                    } else {
                        Outcome::Unanswered
                    };
                    // companyinfo is a GET: safe to send again.
                    let retrying = inner.retry.retries(outcome, attempts, true);
                    inner.observe(&request.path, None, &error_chain(&e), retrying);
                    if retrying {
                        tokio::time::sleep(inner.retry.delay(attempts, None)).await;
                        continue;
                    }
                    return Err(Error::Transport {
                        message: format!("cannot reach {}: {}", inner.origin, error_chain(&e)),
                        timeout: e.is_timeout(),
                        maybe_applied: false,
                        request: Box::new(request),
                    });
                }
            };
            if status.is_redirection() {
                let host = redirect_host(&headers, &url);
                inner.observe(
                    &request.path,
                    Some(status),
                    &format!("a redirect to {host}"),
                    false,
                );
                return Err(Error::Redirect {
                    host,
                    request: Box::new(request),
                });
            }
            if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
                let retrying =
                    inner
                        .retry
                        .retries(Outcome::Status(status.as_u16()), attempts, true);
                let failed = FailedAnswer::read(&headers, &body);
                inner.observe(&request.path, Some(status), &failed.message, retrying);
                if retrying {
                    let wait = inner.retry.delay(attempts, retry_after(&headers));
                    tokio::time::sleep(wait).await;
                    continue;
                }
                return Err(failed.into_error(status, retry_after(&headers), false, request));
            }
            let info: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let codebase = info
                .get("Codebase")
                .and_then(Value::as_str)
                .filter(|c| !c.trim().is_empty());
            let Some(codebase) = codebase else {
                inner.observe(
                    &request.path,
                    Some(status),
                    "the answer names no codebase: an unknown company id",
                    false,
                );
                // The answer itself is not repeated: it may be anything the site sent.
                return Err(Error::Config(format!(
                    "{} does not know company id `{}` (companyinfo answered HTTP {status} naming no codebase): check the company id you log in with and the site",
                    inner.origin, inner.company_id
                )));
            };
            let codebase = normalize_codebase(codebase);
            // It becomes part of every URL: only what a codebase is made of.
            let plausible = codebase.len() <= 65
                && codebase
                    .trim_end_matches('/')
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
                && codebase.len() > 1;
            if !plausible {
                inner.observe(
                    &request.path,
                    Some(status),
                    "the answer names something that is not a codebase",
                    false,
                );
                return Err(Error::Config(format!(
                    "{} answered companyinfo with something that is not a ConnectWise codebase: check the site",
                    inner.origin
                )));
            }
            *inner
                .codebase
                .write()
                .unwrap_or_else(PoisonError::into_inner) = Some(codebase.clone());
            tracing::debug!(codebase = %codebase, "connectwise.codebase discovered");
            return Ok(codebase);
        }
    }
}
