//! A bridge's REST API at an address of its own, as the holder of a tenant token.

use std::time::{Duration, Instant};

use serde_json::Value;

/// A bridge's REST API at an address of its own (a `cwbridge` process's) as the holder of a
/// tenant token.
#[derive(Debug, Clone)]
pub struct Remote {
    /// The client the calls go through (also to wait for the process to answer).
    pub http: reqwest::Client,
    /// `http://HOST:PORT`, without a trailing slash.
    pub base: String,
    token: String,
}

impl Remote {
    /// The API at `base` as the holder of `token`, through `http`.
    pub fn new(http: reqwest::Client, base: impl Into<String>, token: impl Into<String>) -> Remote {
        Remote {
            http,
            base: base.into(),
            token: token.into(),
        }
    }

    /// A request to `method path` carrying the token, to add to and send.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
    }

    /// `method path` with a JSON body; answers the response.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &Value,
    ) -> reqwest::Response {
        let req = self.request(method, path).json(body);
        req.send().await.expect("the bridge answers")
    }

    /// `GET path`; answers its JSON.
    pub async fn get(&self, path: &str) -> Value {
        let res = self.request(reqwest::Method::GET, path).send().await;
        res.expect("the bridge answers")
            .json()
            .await
            .expect("a JSON answer")
    }

    /// `PUT path` with a JSON body; answers the JSON answer.
    pub async fn put(&self, path: &str, body: &Value) -> Value {
        let res = self.send(reqwest::Method::PUT, path, body).await;
        res.json().await.expect("a JSON answer")
    }

    /// PUTs each body at its path, in order, asserting that each is taken.
    pub async fn put_all<P: AsRef<str>>(&self, steps: impl IntoIterator<Item = (P, Value)>) {
        for (path, body) in steps {
            let path = path.as_ref();
            let res = self.send(reqwest::Method::PUT, path, &body).await;
            let status = res.status();
            let answer = res.text().await.unwrap_or_default();
            assert!(status.is_success(), "{path}: {status} {answer}");
        }
    }

    /// Asks `GET path` (a list, of alerts say) every 200 ms until `done` holds of it, for
    /// up to `within`; answers that list. Panics with the last list, naming `what` was
    /// waited for, when time runs out.
    pub async fn wait_for(
        &self,
        path: &str,
        what: &str,
        within: Duration,
        done: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        let deadline = Instant::now() + within;
        loop {
            let list: Vec<Value> = serde_json::from_value(self.get(path).await).expect("a list");
            if done(&list) {
                return list;
            }
            assert!(Instant::now() < deadline, "not {what}: {list:#?}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}
