//! The connection: credentials, codebase discovery, and one request sent with retries,
//! limits and tracing.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use base64::Engine;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::Semaphore;
use tracing::Instrument;

use crate::error::{Error, ErrorBody, RequestInfo, Result};
use crate::retry::{Outcome, RetryPolicy};
use answer::{cap, without_quotes};
pub use cwbridge_fence::{Fence, IpNet};

/// The most of one answer a client reads unless told otherwise: a page of 1,000 of the
/// widest records ConnectWise sends is a few megabytes, so this leaves room to spare.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 32 << 20;

/// How much of a failed answer's message a report keeps.
const MESSAGE_MAX: usize = 300;

/// The API version pinned in the `Accept` header unless configured otherwise.
pub const DEFAULT_API_VERSION: &str = "2025.1";

/// Where ConnectWise is and the API member's keys, as in the sandbox's `credentials.json`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Credentials {
    /// The site: `na.myconnectwise.net`, `cw.example.com:8443` or `https://…`.
    pub site: String,
    /// The company id you log in with.
    pub company_id: String,
    /// The API key's public half.
    pub public_key: String,
    /// The API key's private half.
    pub private_key: String,
    /// The clientId registered on ConnectWise's developer portal.
    pub client_id: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("site", &self.site)
            .field("company_id", &self.company_id)
            .field("public_key", &self.public_key)
            .field("private_key", &"<redacted>")
            .field("client_id", &self.client_id)
            .finish()
    }
}

impl Credentials {
    /// The `Authorization` header ConnectWise takes for these keys:
    /// `Basic base64(companyId+publicKey:privateKey)`.
    pub fn authorization(&self) -> String {
        let raw = format!(
            "{}+{}:{}",
            self.company_id, self.public_key, self.private_key
        );
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }

    /// Reads a `credentials.json` (`site`, `companyId`, `publicKey`, `privateKey`, `clientId`).
    pub fn from_file(path: &Path) -> Result<Credentials> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))?;
        serde_json::from_str(&text).map_err(|e| {
            Error::Config(format!(
                "{} is not a credentials file (site, companyId, publicKey, privateKey, clientId): {e}",
                path.display()
            ))
        })
    }
}

/// One attempt that did not succeed, as an [`ClientBuilder::on_failure`] observer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The method.
    pub method: String,
    /// The path under `apis/3.0/`, with its query.
    pub path: String,
    /// The answer's status; `None` when no answer came.
    pub status: Option<u16>,
    /// ConnectWise's message, or what went wrong on the way.
    pub message: String,
    /// Whether the client retries it.
    pub retrying: bool,
}

/// Called for every failed attempt.
pub type FailureObserver = Arc<dyn Fn(&Failure) + Send + Sync>;

/// Sets up a [`Client`].
#[derive(Clone)]
pub struct ClientBuilder {
    credentials: Credentials,
    api_version: String,
    extra_ca_pem: Option<Vec<u8>>,
    timeout: Duration,
    connect_timeout: Duration,
    retry: RetryPolicy,
    retry_writes: bool,
    max_concurrency: usize,
    requests_per_second: Option<f64>,
    codebase: Option<String>,
    on_failure: Option<FailureObserver>,
    fence: Fence,
    max_response_bytes: usize,
    max_pages: Option<u32>,
    metric_labels: Vec<metrics::Label>,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("site", &self.credentials.site)
            .field("api_version", &self.api_version)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Adds a label to every measurement of this client's requests (e.g. the tenant, when
    /// the program wants a series per tenant).
    pub fn metric_label(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.metric_labels
            .push(metrics::Label::new(key, value.into()));
        self
    }

    /// Calls `observer` for every attempt that fails: error answers (429s and 5xx that are
    /// retried included) and attempts that got no answer. For showing an admin what
    /// ConnectWise has been answering lately.
    pub fn on_failure(mut self, observer: impl Fn(&Failure) + Send + Sync + 'static) -> Self {
        self.on_failure = Some(Arc::new(observer));
        self
    }

    /// Pins the API version sent in `Accept` (default [`DEFAULT_API_VERSION`]).
    pub fn api_version(mut self, version: impl Into<String>) -> Self {
        self.api_version = version.into();
        self
    }

    /// Trusts this PEM certificate too (the sandbox's `cert.pem`, or an on-premise server's CA).
    pub fn extra_ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.extra_ca_pem = Some(pem.into());
        self
    }

    /// Gives up on a request (one attempt) after this long (default 60 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How failures are retried (default [`RetryPolicy::default`]).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Also retries POST and PATCH after a failure that may have reached ConnectWise (off by
    /// default: a retried create can make a duplicate). 429s and refused connections are
    /// retried for every method, since those requests were never carried out.
    pub fn retry_writes(mut self, yes: bool) -> Self {
        self.retry_writes = yes;
        self
    }

    /// At most this many requests in flight at once (default 8).
    pub fn max_concurrency(mut self, n: usize) -> Self {
        self.max_concurrency = n.clamp(1, Semaphore::MAX_PERMITS);
        self
    }

    /// Spaces requests to at most this many a second (default: no budget).
    pub fn requests_per_second(mut self, rate: f64) -> Self {
        // Below one request every 1000 s is no budget anyone means; it would also overflow.
        self.requests_per_second = (rate > 0.0).then_some(rate.max(0.001));
        self
    }

    /// Connects only where `fence` allows: the site's scheme and address are checked before
    /// anything is sent, and every name is resolved through the fence, so only checked
    /// addresses are connected to. Default: [`Fence::open`] (a person's own calls).
    pub fn fence(mut self, fence: Fence) -> Self {
        self.fence = fence;
        self
    }

    /// Reads at most this many bytes of one answer (default [`DEFAULT_MAX_RESPONSE_BYTES`]);
    /// a larger one ends the call with [`Error::TooLarge`], read no further.
    pub fn max_response_bytes(mut self, bytes: usize) -> Self {
        self.max_response_bytes = bytes.max(1024);
        self
    }

    /// Reads at most this many pages of one list stream (default: no cap); a longer list
    /// ends the stream with [`Error::TooLarge`].
    pub fn max_pages(mut self, pages: u32) -> Self {
        self.max_pages = Some(pages.max(1));
        self
    }

    /// Skips discovery and uses this codebase (e.g. `v2025_1/`); it is still discovered
    /// again if the path starts answering 404.
    pub fn codebase(mut self, codebase: impl Into<String>) -> Self {
        self.codebase = Some(normalize_codebase(&codebase.into()));
        self
    }

    /// Makes the client. Nothing is sent until the first call.
    ///
    /// ```no_run
    /// # fn run() -> connectwise_client::Result<()> {
    /// use connectwise_client::{Client, Credentials};
    ///
    /// let credentials = Credentials::from_file(".sandbox/credentials.json".as_ref())?;
    /// let ca = std::fs::read(".sandbox/cert.pem").expect("the sandbox's certificate");
    /// let client = Client::builder(credentials)
    ///     .extra_ca_pem(ca)
    ///     .requests_per_second(20.0)
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn build(self) -> Result<Client> {
        let origin = site_origin(&self.credentials.site)?;
        let origin_url = reqwest::Url::parse(&origin)
            .map_err(|e| Error::Config(format!("bad site {origin}: {e}")))?;
        self.fence
            .check_url(&origin_url)
            .map_err(|r| Error::Refused(r.to_string()))?;
        let mut http = reqwest::Client::builder()
            // A redirect is reported, never followed: following one would carry the keys,
            // and a write's body, to wherever the answer pointed.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .user_agent(concat!(
                "cwbridge-connectwise-client/",
                env!("CARGO_PKG_VERSION")
            ));
        if !self.fence.is_open() {
            // A proxy would resolve the name itself, past the fence.
            http = http.dns_resolver(self.fence.resolver()).no_proxy();
        }
        if let Some(pem) = &self.extra_ca_pem {
            for cert in reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| Error::Config(format!("the extra CA is not PEM: {e}")))?
            {
                http = http.add_root_certificate(cert);
            }
        }
        let http = http
            .build()
            .map_err(|e| Error::Config(format!("cannot set up HTTPS: {e}")))?;
        let c = &self.credentials;
        let mut authorization = HeaderValue::from_str(&c.authorization())
            .map_err(|_| Error::Config("the keys contain characters a header cannot".into()))?;
        authorization.set_sensitive(true);
        let accept = HeaderValue::from_str(&format!(
            "application/vnd.connectwise.com+json; version={}",
            self.api_version
        ))
        .map_err(|_| Error::Config(format!("bad API version `{}`", self.api_version)))?;
        let client_id = HeaderValue::from_str(&c.client_id).map_err(|_| {
            Error::Config("the clientId contains characters a header cannot".into())
        })?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                origin,
                company_id: c.company_id.clone(),
                authorization,
                accept,
                client_id,
                codebase: RwLock::new(self.codebase),
                retry: self.retry,
                retry_writes: self.retry_writes,
                permits: Semaphore::new(self.max_concurrency),
                pacer: self.requests_per_second.map(Pacer::new),
                throttled_until: Mutex::new(None),
                sent: AtomicU64::new(0),
                retried: AtomicU64::new(0),
                on_failure: self.on_failure,
                max_response_bytes: self.max_response_bytes,
                max_pages: self.max_pages,
                metric_labels: self.metric_labels,
            }),
        })
    }
}

/// A connection to one ConnectWise site as one API member. Cheap to clone; clones share the
/// codebase cache, the concurrency limit and the request budget.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("origin", &self.inner.origin)
            .field("company_id", &self.inner.company_id)
            .finish_non_exhaustive()
    }
}

struct Inner {
    http: reqwest::Client,
    origin: String,
    company_id: String,
    authorization: HeaderValue,
    accept: HeaderValue,
    client_id: HeaderValue,
    codebase: RwLock<Option<String>>,
    retry: RetryPolicy,
    retry_writes: bool,
    permits: Semaphore,
    pacer: Option<Pacer>,
    /// Set by a 429: no request on this connection leaves before it.
    throttled_until: Mutex<Option<Instant>>,
    sent: AtomicU64,
    retried: AtomicU64,
    on_failure: Option<FailureObserver>,
    max_response_bytes: usize,
    max_pages: Option<u32>,
    /// Labels added to every measurement of this client's requests.
    metric_labels: Vec<metrics::Label>,
}

impl Inner {
    /// Tells the failure observer, if any, about a failed codebase-discovery attempt.
    fn observe(&self, path: &str, status: Option<StatusCode>, message: &str, retrying: bool) {
        self.tell("GET", path, status, message, retrying);
    }

    /// Tells the failure observer, if any, about a failed attempt of `call`.
    fn observe_call(&self, call: &Call, status: Option<StatusCode>, message: &str, retrying: bool) {
        self.tell(
            call.method.as_str(),
            &call.describe(),
            status,
            message,
            retrying,
        );
    }

    fn tell(
        &self,
        method: &str,
        path: &str,
        status: Option<StatusCode>,
        message: &str,
        retrying: bool,
    ) {
        if let Some(observe) = &self.on_failure {
            observe(&Failure {
                method: method.to_owned(),
                path: path.to_owned(),
                status: status.map(|s| s.as_u16()),
                message: message.to_owned(),
                retrying,
            });
        }
    }
}

/// What a client has sent so far (clones share the counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// Requests sent to the API, retries included (codebase discovery not counted).
    pub requests: u64,
    /// Of those, how many were retries.
    pub retries: u64,
}

/// Spaces requests evenly to a budget. Hand-written: a mutex-guarded next slot is all the
/// budget needs, where a rate-limiting crate would bring its own clock and maps.
struct Pacer {
    interval: Duration,
    next: Mutex<Instant>,
}

impl Pacer {
    fn new(rate: f64) -> Pacer {
        Pacer {
            interval: Duration::from_secs_f64(1.0 / rate),
            next: Mutex::new(Instant::now()),
        }
    }

    async fn wait(&self) {
        let slot = {
            let mut next = self.next.lock().unwrap_or_else(PoisonError::into_inner);
            let slot = (*next).max(Instant::now());
            *next = slot + self.interval;
            slot
        };
        tokio::time::sleep_until(slot.into()).await;
    }
}

/// One request to the API, relative to its root (`service/tickets`).
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub method: Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Option<Value>,
    pub headers: Vec<(&'static str, &'static str)>,
    pub retry_write: bool,
}

impl Call {
    pub fn new(method: Method, path: impl Into<String>) -> Call {
        Call {
            method,
            path: path.into(),
            query: Vec::new(),
            body: None,
            headers: Vec::new(),
            retry_write: false,
        }
    }

    fn describe(&self) -> String {
        if self.query.is_empty() {
            return self.path.clone();
        }
        let query: Vec<String> = self.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("{}?{}", self.path, query.join("&"))
    }
}

/// A successful answer.
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: StatusCode,
    /// The URL that answered (for resolving relative links).
    pub url: reqwest::Url,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub request: RequestInfo,
}

impl Reply {
    /// Decodes the body, naming the path of the first field that does not fit.
    pub fn decode<T: DeserializeOwned>(&self, expected: &'static str) -> Result<T> {
        let mut de = serde_json::Deserializer::from_slice(&self.body);
        serde_path_to_error::deserialize(&mut de).map_err(|e| Error::Decode {
            expected,
            path: cap(&e.path().to_string()),
            message: without_quotes(&e.inner().to_string()),
            request: Box::new(self.request.clone()),
        })
    }
}

impl Client {
    /// Starts setting up a client for these credentials.
    pub fn builder(credentials: Credentials) -> ClientBuilder {
        ClientBuilder {
            credentials,
            api_version: DEFAULT_API_VERSION.to_owned(),
            extra_ca_pem: None,
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            retry_writes: false,
            max_concurrency: 8,
            requests_per_second: None,
            codebase: None,
            on_failure: None,
            fence: Fence::open(),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            max_pages: None,
            metric_labels: Vec::new(),
        }
    }

    /// The most pages one list stream reads, when capped.
    pub(crate) fn max_pages(&self) -> Option<u32> {
        self.inner.max_pages
    }

    /// Requests sent so far.
    pub fn stats(&self) -> Stats {
        Stats {
            requests: self.inner.sent.load(Ordering::Relaxed),
            retries: self.inner.retried.load(Ordering::Relaxed),
        }
    }
}

mod answer;
mod callback;
mod discover;
pub mod measure;
mod send;

/// `https://host[:port]` from what people write as a site.
fn site_origin(site: &str) -> Result<String> {
    let site = site.trim();
    let with_scheme = if site.contains("://") {
        site.to_owned()
    } else {
        format!("https://{site}")
    };
    let url = reqwest::Url::parse(&with_scheme).map_err(|e| {
        Error::Config(format!(
            "site `{site}` is not a host name or URL ({e}); write it like na.myconnectwise.net"
        ))
    })?;
    let host = url
        .host_str()
        .ok_or_else(|| Error::Config(format!("site `{site}` has no host")))?;
    Ok(match url.port() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    })
}

fn normalize_codebase(codebase: &str) -> String {
    format!("{}/", codebase.trim().trim_matches('/'))
}

#[cfg(test)]
mod tests;
