//! One request sent: the concurrency permit, pacing, a 429's wait shared by the connection,
//! re-discovery, the retry decision and the error a failure becomes.

use super::answer::*;
use super::*;

impl Client {
    /// Waits out a 429's `Retry-After` that another request on this connection received,
    /// so one throttled request holds back the others instead of each being refused.
    async fn wait_for_throttle(&self) {
        let until = *self
            .inner
            .throttled_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(until) = until {
            tokio::time::sleep_until(until.into()).await;
        }
    }

    fn throttle_until(&self, until: Instant) {
        let mut slot = self
            .inner
            .throttled_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if slot.is_none_or(|current| current < until) {
            *slot = Some(until);
        }
    }

    /// Sends a call: retries what may be retried, rediscovers the codebase once when its
    /// path starts answering 404, and turns error statuses into [`Error::Api`]. One tracing
    /// span covers the call, its attempts and its waits.
    pub(crate) async fn send(&self, call: &Call) -> Result<Reply> {
        let span = tracing::info_span!(
            "connectwise.request",
            http.method = %call.method,
            url.path = %call.path,
            url.template = %measure::template(&call.path),
            attempts = tracing::field::Empty,
            http.status = tracing::field::Empty,
            request_id = tracing::field::Empty,
            duration_ms = tracing::field::Empty,
        );
        let started = Instant::now();
        let result = self.send_attempts(call).instrument(span.clone()).await;
        span.record("duration_ms", started.elapsed().as_millis() as u64);
        match &result {
            Ok(reply) => {
                span.record("attempts", reply.request.attempts);
                span.record("http.status", reply.status.as_u16());
            }
            Err(e) => {
                if let Some(r) = e.request() {
                    span.record("attempts", r.attempts);
                }
                if let Some(status) = e.status() {
                    span.record("http.status", status.as_u16());
                }
            }
        }
        span.in_scope(|| match &result {
            Ok(_) => tracing::debug!("connectwise.response"),
            Err(e) => tracing::info!(error = %e, "connectwise.failed"),
        });
        result
    }

    async fn send_attempts(&self, call: &Call) -> Result<Reply> {
        let inner = &*self.inner;
        let idempotent = matches!(
            call.method,
            Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
        );
        let may_retry_sent = idempotent || call.retry_write || inner.retry_writes;
        let mut attempts = 0u32;
        let mut rediscovered = false;
        // Whether an earlier attempt may have been carried out although no answer came.
        let mut earlier_may_have_applied = false;
        loop {
            attempts += 1;
            let codebase = self.codebase().await?;
            let url = format!("{}/{codebase}apis/3.0/{}", inner.origin, call.path);
            let mut request = RequestInfo {
                method: call.method.to_string(),
                path: call.describe(),
                request_id: None,
                attempts,
            };
            let outcome = self.attempt(call, &url, attempts).await;

            match outcome {
                Ok((status, final_url, headers, body)) => {
                    request.request_id = header_str(&headers, "x-cw-request-id").map(str::to_owned);
                    if status.is_success() {
                        return Ok(Reply {
                            status,
                            url: final_url,
                            headers,
                            body,
                            request,
                        });
                    }
                    if status.is_redirection() {
                        let url = reqwest::Url::parse(&url).unwrap_or(final_url);
                        let host = redirect_host(&headers, &url);
                        let message = format!("a redirect to {host}");
                        inner.observe_call(call, Some(status), &message, false);
                        return Err(Error::Redirect {
                            host,
                            request: Box::new(request),
                        });
                    }
                    let failed = FailedAnswer::read(&headers, &body);
                    let is_cw_error = failed.code.is_some();
                    if status == StatusCode::NOT_FOUND {
                        // A DELETE whose earlier answer was lost: the record is gone, as asked.
                        if call.method == Method::DELETE && earlier_may_have_applied && is_cw_error
                        {
                            return Ok(Reply {
                                status: StatusCode::NO_CONTENT,
                                url: final_url,
                                headers,
                                body: Vec::new(),
                                request,
                            });
                        }
                        // An upgraded site answers the old codebase's paths with a bare 404.
                        if !is_cw_error && !rediscovered {
                            rediscovered = true;
                            let cached = self.cached_codebase();
                            let moved = if cached.as_deref() != Some(codebase.as_str()) {
                                true // another request already found the new codebase
                            } else {
                                self.discover().await? != codebase
                            };
                            if moved {
                                attempts -= 1;
                                continue;
                            }
                        }
                    }
                    let retry_after = retry_after(&headers);
                    if status == StatusCode::TOO_MANY_REQUESTS {
                        let wait = inner.retry.delay(attempts, retry_after);
                        measure::throttled(wait, &inner.metric_labels);
                        self.throttle_until(Instant::now() + wait);
                    }
                    let retrying = inner.retry.retries(
                        Outcome::Status(status.as_u16()),
                        attempts,
                        may_retry_sent,
                    );
                    inner.observe_call(call, Some(status), &failed.message, retrying);
                    if retrying {
                        let wait = inner.retry.delay(attempts, retry_after);
                        tracing::info!(
                            attempt = attempts,
                            http.status = status.as_u16(),
                            wait_ms = wait.as_millis() as u64,
                            "connectwise.retry"
                        );
                        if status.is_server_error() && !idempotent {
                            earlier_may_have_applied = true;
                        }
                        if status.is_server_error() {
                            tokio::time::sleep(wait).await;
                        }
                        continue;
                    }
                    // A write answered by a server error may still have been carried out.
                    let maybe_applied =
                        !idempotent && (status.is_server_error() || earlier_may_have_applied);
                    return Err(failed.into_error(status, retry_after, maybe_applied, request));
                }
                Err(Unanswered::TooLarge(what)) => {
                    inner.observe_call(call, None, &what, false);
                    return Err(Error::TooLarge {
                        what,
                        request: Box::new(request),
                    });
                }
                Err(Unanswered::Http(e)) => {
                    if let Some(refused) = refusal(&e) {
                        return Err(refused);
                    }
                    if let Some(config) = certificate_problem(&e, &inner.origin) {
                        return Err(config);
                    }
                    // Nothing was sent when the connection could not be made.
                    let sent = !e.is_connect();
                    earlier_may_have_applied |= sent;
                    let outcome = if sent {
                        Outcome::Unanswered
                    } else {
                        Outcome::NotSent
                    };
                    let retrying = inner.retry.retries(outcome, attempts, may_retry_sent);
                    inner.observe_call(call, None, &error_chain(&e), retrying);
                    if retrying {
                        let wait = inner.retry.delay(attempts, None);
                        tracing::info!(
                            attempt = attempts,
                            error = %error_chain(&e),
                            wait_ms = wait.as_millis() as u64,
                            "connectwise.retry"
                        );
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                    return Err(Error::Transport {
                        message: error_chain(&e),
                        timeout: e.is_timeout(),
                        maybe_applied: !idempotent && earlier_may_have_applied,
                        request: Box::new(request),
                    });
                }
            }
        }
    }

    /// One attempt: a concurrency permit, any wait a 429 imposed on the connection, the
    /// request budget, then the request and its answer (read up to the size cap).
    async fn attempt(&self, call: &Call, url: &str, attempt: u32) -> Result<Answer, Unanswered> {
        let inner = &*self.inner;
        let _permit = inner
            .permits
            .acquire()
            .await
            .expect("the semaphore is never closed");
        self.wait_for_throttle().await;
        if let Some(pacer) = &inner.pacer {
            pacer.wait().await;
        }
        inner.sent.fetch_add(1, Ordering::Relaxed);
        if attempt > 1 {
            inner.retried.fetch_add(1, Ordering::Relaxed);
        }
        let mut builder = inner
            .http
            .request(call.method.clone(), url)
            .header(AUTHORIZATION, inner.authorization.clone())
            .header("clientId", inner.client_id.clone())
            .header(ACCEPT, inner.accept.clone());
        if !call.query.is_empty() {
            builder = builder.query(&call.query);
        }
        for (k, v) in &call.headers {
            builder = builder.header(*k, *v);
        }
        if let Some(body) = &call.body {
            builder = builder
                .header(CONTENT_TYPE, "application/json")
                .body(serde_json::to_vec(body).unwrap_or_default());
        }
        let started = Instant::now();
        let answer = match builder.send().await {
            Ok(response) => read_answer(response, inner.max_response_bytes).await,
            Err(e) => Err(Unanswered::Http(e)),
        };
        let status = answer.as_ref().ok().map(|(status, ..)| status.as_u16());
        measure::request(call, status, started.elapsed(), &inner.metric_labels);
        answer
    }
}
