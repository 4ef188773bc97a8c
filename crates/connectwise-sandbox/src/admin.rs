//! The seeds' admin steps as calls to a running sandbox's API, for people who would rather
//! not call it by hand: make a security role from a permission list, an API member, an API
//! key. They use the built-in admin's `credentials.json` and `connectwise-client`, exactly as
//! an admin (or an integration) would use ConnectWise, so the same steps work on a real site.

use std::path::Path;

use anyhow::{Context, bail};
use connectwise_client::conditions::field;
use connectwise_client::models::{Member, SecurityRole};
use connectwise_client::{Client, Patch};

use crate::Credentials;
use crate::roles::Grant;

/// A client for the admin steps: the typed ConnectWise client signed in as the admin, and the
/// sandbox's own origin for its control endpoints.
#[derive(Debug, Clone)]
pub struct AdminClient {
    client: Client,
    control: reqwest::Client,
    origin: String,
    creds: Credentials,
}

impl AdminClient {
    /// Connects with credentials and, for HTTPS, the certificate to trust (PEM).
    pub fn new(creds: Credentials, ca_pem: Option<&str>) -> anyhow::Result<Self> {
        let mut builder = Client::builder(creds.clone());
        let mut control = reqwest::Client::builder();
        if let Some(pem) = ca_pem {
            builder = builder.extra_ca_pem(pem.as_bytes().to_vec());
            let cert = reqwest::Certificate::from_pem(pem.as_bytes())
                .context("Failed to read the sandbox certificate")?;
            control = control.add_root_certificate(cert);
        }
        let origin = if creds.site.starts_with("http://") || creds.site.starts_with("https://") {
            creds.site.clone()
        } else {
            format!("https://{}", creds.site)
        };
        Ok(Self {
            client: builder
                .build()
                .context("Failed to make a ConnectWise client")?,
            control: control.build()?,
            origin,
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

    /// The admin's typed client, to read (or meddle with) what an integration wrote.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Makes a security role with these grants (other functions None); returns its id.
    pub async fn create_role(&self, name: &str, grants: &[Grant]) -> anyhow::Result<i64> {
        let system = self.client.system();
        let role = system
            .security_roles()
            .create(&SecurityRole {
                name: Some(name.to_owned()),
                ..Default::default()
            })
            .await?;
        let id = role.id.context("the role has no id")?;
        let settings = system
            .security_role_settings(id)
            .list()
            .page_size(1000)
            .send()
            .await?;
        for setting in settings {
            let module = setting.module_name.as_deref().unwrap_or("");
            let function = setting.module_function_name.as_deref().unwrap_or("");
            let Some(grant) = grants
                .iter()
                .find(|g| g.function.module == module && g.function.function == function)
            else {
                continue;
            };
            let sid = setting.id.context("a setting has no id")?;
            let l = grant.levels;
            let patch = Patch::new()
                .replace("inquireLevel", l.inquire.as_str())
                .replace("addLevel", l.add.as_str())
                .replace("editLevel", l.edit.as_str())
                .replace("deleteLevel", l.delete.as_str());
            system.security_role_settings(id).patch(sid, &patch).await?;
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
        let member: Member = serde_json::from_value(serde_json::json!({
            "identifier": identifier,
            "firstName": first_name,
            "lastName": last_name,
            "officeEmail": email,
            "licenseClass": "A",
            "securityRole": {"name": role},
            "structureLevel": {"id": 1, "name": "Corporate"},
        }))?;
        let member = self.client.system().members().create(&member).await?;
        member.id.context("the member has no id")
    }

    /// Finds a member's id by Member ID.
    pub async fn member_id(&self, identifier: &str) -> anyhow::Result<i64> {
        let found = self
            .client
            .system()
            .members()
            .list()
            .conditions(field("identifier").eq(identifier))
            .fields(["id"])
            .page_size(1)
            .send()
            .await?;
        found
            .first()
            .and_then(|m| m.id)
            .with_context(|| format!("no member with Member ID '{identifier}'"))
    }

    /// Makes an API key for a member; the private key is in the answer and nowhere else.
    pub async fn create_key(
        &self,
        member_id: i64,
        description: &str,
    ) -> anyhow::Result<(String, String)> {
        let token = self
            .client
            .system()
            .create_api_key(member_id, description)
            .await?;
        Ok((
            token.public_key.unwrap_or_default(),
            token.private_key.unwrap_or_default(),
        ))
    }

    /// Sends fault settings to the sandbox's control endpoint (not part of ConnectWise's API,
    /// so sent outside the typed client).
    pub async fn set_faults(&self, faults: &crate::Faults) -> anyhow::Result<()> {
        let res = self
            .control
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
