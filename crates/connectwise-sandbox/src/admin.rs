//! The seeds' admin steps as calls to a running sandbox's API, for people who would rather
//! not call it by hand: make a security role from a permission list, an API member, an API
//! key. They use the built-in admin's `credentials.json`, exactly as an admin would use
//! ConnectWise's screens.

use std::path::Path;

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::Credentials;
use crate::roles::Grant;

/// A client for the admin steps.
#[derive(Debug, Clone)]
pub struct AdminClient {
    http: reqwest::Client,
    origin: String,
    /// The API base, found through `/login/companyinfo` on first use (as clients do, so the
    /// steps follow a `--codebase` or an upgrade).
    base: tokio::sync::OnceCell<String>,
    creds: Credentials,
}

impl AdminClient {
    /// Connects with credentials and, for HTTPS, the certificate to trust (PEM).
    pub fn new(creds: Credentials, ca_pem: Option<&str>) -> anyhow::Result<Self> {
        let mut builder = reqwest::Client::builder();
        if let Some(pem) = ca_pem {
            let cert = reqwest::Certificate::from_pem(pem.as_bytes())
                .context("Failed to read the sandbox certificate")?;
            builder = builder.add_root_certificate(cert);
        }
        let origin = if creds.site.starts_with("http://") || creds.site.starts_with("https://") {
            creds.site.clone()
        } else {
            format!("https://{}", creds.site)
        };
        Ok(Self {
            http: builder.build()?,
            origin,
            base: tokio::sync::OnceCell::new(),
            creds,
        })
    }

    /// Reads `credentials.json` and `cert.pem` from a sandbox's state directory.
    pub fn from_state_dir(dir: &Path) -> anyhow::Result<Self> {
        let path = dir.join("credentials.json");
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "Failed to read {}: start the sandbox with --state {} first",
                path.display(),
                dir.display()
            )
        })?;
        let creds: Credentials = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a credentials file", path.display()))?;
        let pem = std::fs::read_to_string(dir.join("cert.pem")).ok();
        Self::new(creds, pem.as_deref())
    }

    async fn api_base(&self) -> anyhow::Result<&str> {
        let base = self
            .base
            .get_or_try_init(|| async {
                let url = format!(
                    "{}/login/companyinfo/{}",
                    self.origin, self.creds.company_id
                );
                let info: Value = self
                    .http
                    .get(&url)
                    .send()
                    .await
                    .with_context(|| format!("Failed to reach the sandbox at {url}"))?
                    .json()
                    .await
                    .with_context(|| format!("{url} did not answer JSON"))?;
                let codebase = info["Codebase"].as_str().with_context(|| {
                    format!("{url} does not know company '{}'", self.creds.company_id)
                })?;
                anyhow::Ok(format!("{}/{codebase}apis/3.0", self.origin))
            })
            .await?;
        Ok(base)
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let url = format!(
            "{}/{}",
            self.api_base().await?,
            path.trim_start_matches('/')
        );
        let mut req = self
            .http
            .request(method.clone(), &url)
            .header("Authorization", self.creds.authorization())
            .header("clientId", &self.creds.client_id)
            .header(
                "Accept",
                "application/vnd.connectwise.com+json; version=2025.1",
            );
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req
            .send()
            .await
            .with_context(|| format!("Failed to reach the sandbox at {url}"))?;
        let status = res.status();
        let text = res.text().await.unwrap_or_default();
        if !status.is_success() {
            let message = serde_json::from_str::<Value>(&text)
                .ok()
                .map(|v| describe_error(&v))
                .unwrap_or(text);
            bail!("{method} {path} answered {status}: {message}");
        }
        Ok(if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)?
        })
    }

    /// Makes a security role with these grants (other functions None); returns its id.
    pub async fn create_role(&self, name: &str, grants: &[Grant]) -> anyhow::Result<i64> {
        let role = self
            .call(
                reqwest::Method::POST,
                "system/securityroles",
                Some(json!({"name": name})),
            )
            .await?;
        let id = role["id"].as_i64().context("the role has no id")?;
        let settings = self
            .call(
                reqwest::Method::GET,
                &format!("system/securityroles/{id}/settings?pageSize=1000"),
                None,
            )
            .await?;
        for setting in settings.as_array().into_iter().flatten() {
            let module = setting["moduleName"].as_str().unwrap_or("");
            let function = setting["moduleFunctionName"].as_str().unwrap_or("");
            let Some(grant) = grants
                .iter()
                .find(|g| g.function.module == module && g.function.function == function)
            else {
                continue;
            };
            let sid = setting["id"].as_i64().context("a setting has no id")?;
            let l = grant.levels;
            self.call(
                reqwest::Method::PATCH,
                &format!("system/securityroles/{id}/settings/{sid}"),
                Some(json!([
                    {"op": "replace", "path": "inquireLevel", "value": l.inquire.as_str()},
                    {"op": "replace", "path": "addLevel", "value": l.add.as_str()},
                    {"op": "replace", "path": "editLevel", "value": l.edit.as_str()},
                    {"op": "replace", "path": "deleteLevel", "value": l.delete.as_str()},
                ])),
            )
            .await?;
        }
        Ok(id)
    }

    /// Makes an API member (license class A) with a role, at level Corporate; returns its id.
    pub async fn create_member(
        &self,
        identifier: &str,
        first_name: &str,
        last_name: Option<&str>,
        email: &str,
        role: &str,
    ) -> anyhow::Result<i64> {
        let member = self
            .call(
                reqwest::Method::POST,
                "system/members",
                Some(json!({
                    "identifier": identifier,
                    "firstName": first_name,
                    "lastName": last_name,
                    "officeEmail": email,
                    "licenseClass": "A",
                    "securityRole": {"name": role},
                    "structureLevel": {"id": 1, "name": "Corporate"},
                })),
            )
            .await?;
        member["id"].as_i64().context("the member has no id")
    }

    /// Finds a member's id by Member ID.
    pub async fn member_id(&self, identifier: &str) -> anyhow::Result<i64> {
        let conditions = connectwise_conditions::field("identifier")
            .eq(identifier)
            .to_string();
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("conditions", &conditions)
            .finish();
        let url = format!("system/members?{query}");
        let list = self.call(reqwest::Method::GET, &url, None).await?;
        list.get(0)
            .and_then(|m| m["id"].as_i64())
            .with_context(|| format!("no member with Member ID '{identifier}'"))
    }

    /// Makes an API key for a member; the private key is in the answer and nowhere else.
    pub async fn create_key(
        &self,
        member_id: i64,
        description: &str,
    ) -> anyhow::Result<(String, String)> {
        let token = self
            .call(
                reqwest::Method::POST,
                &format!("system/members/{member_id}/tokens"),
                Some(json!({"description": description})),
            )
            .await?;
        Ok((
            token["publicKey"].as_str().unwrap_or_default().to_owned(),
            token["privateKey"].as_str().unwrap_or_default().to_owned(),
        ))
    }

    /// Sends fault settings to the sandbox's control endpoint.
    pub async fn set_faults(&self, faults: &crate::Faults) -> anyhow::Result<()> {
        let res = self
            .http
            .put(format!("{}/_sandbox/faults", self.origin))
            .header("Authorization", self.creds.authorization())
            .header("clientId", &self.creds.client_id)
            .json(faults)
            .send()
            .await?;
        if !res.status().is_success() {
            bail!(
                "the sandbox refused the faults: {}",
                res.text().await.unwrap_or_default()
            );
        }
        Ok(())
    }
}

fn describe_error(v: &Value) -> String {
    let mut out = v["message"].as_str().unwrap_or("").to_owned();
    for e in v["errors"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "; {}: {}",
            e["field"].as_str().unwrap_or("?"),
            e["message"].as_str().unwrap_or("")
        ));
    }
    out
}
