//! Reading an answer and what a report keeps of a failed one: bounded reads, ConnectWise's
//! error JSON without quoting anything else a server sent, TLS and fence failures, retry
//! waits. One place each, used by requests and by discovery.

use super::*;

/// Why no whole answer came.
pub(super) enum Unanswered {
    /// The request failed, or the answer broke off.
    Http(reqwest::Error),
    /// The answer was larger than the client reads.
    TooLarge(String),
}

pub(super) type Answer = (StatusCode, reqwest::Url, HeaderMap, Vec<u8>);

/// Reads an answer, stopping once it passes `limit` bytes so memory stays flat whatever the
/// server sends.
pub(super) async fn read_answer(
    mut response: reqwest::Response,
    limit: usize,
) -> std::result::Result<Answer, Unanswered> {
    let too_large = || {
        Unanswered::TooLarge(format!(
            "the answer is larger than {limit} bytes, the most this client reads of one answer"
        ))
    };
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let status = response.status();
    let url = response.url().clone();
    let headers = response.headers().clone();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(Unanswered::Http)? {
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok((status, url, headers, body))
}

/// What a report keeps of a failed answer: ConnectWise's error JSON's code and message
/// (capped), or only the size and type of anything else — which may be whatever a server
/// that is not ConnectWise sent, and must not reach a tenant.
pub(super) struct FailedAnswer {
    /// ConnectWise's error code, when the answer was its error JSON.
    pub(super) code: Option<String>,
    /// Its message, capped (or the answer's size and type).
    pub(super) message: String,
    /// The fields it named.
    pub(super) errors: Vec<crate::error::FieldError>,
}

impl FailedAnswer {
    /// The error the failed answer becomes: its status, ConnectWise's code, message and
    /// fields, when to retry, and whether a write may have been carried out regardless.
    pub(super) fn into_error(
        self,
        status: StatusCode,
        retry_after: Option<Duration>,
        maybe_applied: bool,
        request: RequestInfo,
    ) -> Error {
        Error::Api {
            status,
            code: self.code,
            message: self.message,
            errors: self.errors,
            retry_after,
            maybe_applied,
            request: Box::new(request),
        }
    }

    pub(super) fn read(headers: &HeaderMap, body: &[u8]) -> FailedAnswer {
        if let Ok(parsed) = serde_json::from_slice::<ErrorBody>(body)
            && let Some(code) = parsed.code
        {
            let mut errors = parsed.errors.unwrap_or_default();
            errors.truncate(20);
            for e in &mut errors {
                e.message = cap(&e.message);
            }
            return FailedAnswer {
                code: Some(cap(&code)),
                message: cap(&parsed.message.unwrap_or_default()),
                errors,
            };
        }
        let kind = header_str(headers, "content-type")
            .and_then(|t| t.split(';').next())
            .map(str::trim)
            .filter(|t| {
                !t.is_empty()
                    && t.len() <= 60
                    && t.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"/.+-".contains(&b))
            })
            .unwrap_or("an unnamed type");
        FailedAnswer {
            code: None,
            message: format!(
                "an answer that is not ConnectWise's ({} bytes of {kind})",
                body.len()
            ),
            errors: Vec::new(),
        }
    }
}

/// A decoding message without the values it quotes (`invalid type: string "…", expected
/// i64` keeps `invalid type: string, expected i64`): what the answer held is not repeated
/// into reports, whoever sent it.
pub(super) fn without_quotes(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut quote: Option<char> = None;
    for c in message.chars() {
        match (quote, c) {
            (None, '"' | '`') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, c) => out.push(c),
        }
    }
    cap(&out.replace("  ", " ").replace(" ,", ","))
}

/// A message cut to what a report keeps.
pub(super) fn cap(text: &str) -> String {
    let mut out: String = text.chars().take(MESSAGE_MAX).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

/// The host a redirect points at, for telling the admin which address to use.
pub(super) fn redirect_host(headers: &HeaderMap, from: &reqwest::Url) -> String {
    let Some(location) = header_str(headers, "location") else {
        return "an address it did not name".into();
    };
    match from.join(location).ok().and_then(|to| {
        let host = to.host_str()?.to_owned();
        Some(match to.port() {
            Some(port) => format!("{host}:{port}"),
            None => host,
        })
    }) {
        Some(host) => host,
        None => "an address without a host".into(),
    }
}

/// The fence's refusal inside a transport error: nothing was sent.
pub(super) fn refusal(e: &reqwest::Error) -> Option<Error> {
    cwbridge_fence::refusal_in(e).map(|r| Error::Refused(r.to_string()))
}

/// A TLS failure over the server's certificate: a set-up problem, not worth retrying. The
/// causes are read below the top error (which quotes the URL, whatever its host is called),
/// and not repeated: a certificate's names may be internal ones.
pub(super) fn certificate_problem(e: &reqwest::Error, origin: &str) -> Option<Error> {
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let text = cause.to_string().to_ascii_lowercase();
        if text.contains("invalid peer certificate") || text.contains("unknownissuer") {
            return Some(Error::Config(format!(
                "{origin} presented a certificate this client does not trust (expired, for another name, or from an unknown authority); for an on-premise server or the sandbox, give its CA (extra_ca_pem / --ca)"
            )));
        }
        source = cause.source();
    }
    None
}

pub(super) fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// `Retry-After` in seconds (the form ConnectWise's CDN sends).
pub(super) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    header_str(headers, "retry-after")?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// An error and its causes on one line ("error sending request: connection closed …").
pub(super) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
