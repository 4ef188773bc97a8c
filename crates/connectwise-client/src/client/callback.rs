//! What a callback receiver needs of ConnectWise: the key a delivery is signed with, fetched
//! from the `Metadata.key_url` the payload names, only when that URL is on this client's own
//! site (a forged payload naming another host must not make the receiver fetch from it).

use super::answer::*;
use super::*;

/// The key-URL answer: `{"signing_key": "…"}`.
#[derive(serde::Deserialize)]
struct SigningKey {
    signing_key: String,
}

/// How much of a key answer is read.
const KEY_ANSWER_BYTES: usize = 16 * 1024;

impl Client {
    /// The signing key published at `key_url`, which must be on this client's site (same
    /// scheme, host and port; [`Error::Refused`] otherwise, and nothing is fetched). Sent
    /// through the same fence, permits and answer cap as every request.
    pub async fn callback_signing_key(&self, key_url: &str) -> Result<String> {
        let inner = &*self.inner;
        let url = reqwest::Url::parse(key_url)
            .map_err(|_| Error::Refused("the callback's key URL is not a URL".into()))?;
        let origin = match (url.host_str(), url.port()) {
            (Some(host), Some(port)) => format!("{}://{host}:{port}", url.scheme()),
            (Some(host), None) => format!("{}://{host}", url.scheme()),
            (None, _) => String::new(),
        };
        if !origin.eq_ignore_ascii_case(&inner.origin) || !url.username().is_empty() {
            return Err(Error::Refused(
                "the callback's key URL is not on the tenant's ConnectWise site".into(),
            ));
        }
        let _permit = inner
            .permits
            .acquire()
            .await
            .expect("the semaphore is never closed");
        inner.sent.fetch_add(1, Ordering::Relaxed);
        let sent = inner
            .http
            .get(url)
            .header(AUTHORIZATION, inner.authorization.clone())
            .header("clientId", inner.client_id.clone())
            .send()
            .await;
        let response = sent.map_err(|e| {
            Error::Refused(format!("the key URL did not answer: {}", e.without_url()))
        })?;
        let (status, _, _, body) =
            read_answer(response, inner.max_response_bytes.min(KEY_ANSWER_BYTES))
                .await
                .map_err(|_| Error::Refused("the key URL's answer could not be read".into()))?;
        if !status.is_success() {
            return Err(Error::Refused(format!("the key URL answered {status}")));
        }
        let key: SigningKey = serde_json::from_slice(&body)
            .map_err(|_| Error::Refused("the key URL's answer holds no signing key".into()))?;
        Ok(key.signing_key)
    }
}
