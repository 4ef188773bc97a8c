//! A sandbox with the seeds' admin steps done, and engines over each test database.

use connectwise_sandbox::admin::AdminClient;
use connectwise_sandbox::roles::Action;
use connectwise_sandbox::{Grant, Level, Preset, Sandbox, SandboxConfig, Seed};
use cwbridge_engine::{ConnectionInput, Engine, EngineConfig, Keyring};
use cwbridge_store::testing::{TestDb, databases};

/// A demo sandbox and its admin.
pub struct Site {
    pub sandbox: Sandbox,
    pub admin: AdminClient,
}

impl Site {
    pub async fn demo() -> Site {
        let sandbox = Sandbox::start(SandboxConfig {
            seed: Some(Seed::Demo),
            ..SandboxConfig::ephemeral()
        })
        .await
        .expect("the sandbox starts");
        let admin = AdminClient::new(sandbox.credentials().clone(), sandbox.ca_pem())
            .expect("the admin client");
        Site { sandbox, admin }
    }

    /// Seed 004's steps: a role with these grants, an API member holding it, a key; answers
    /// what the tenant types in step 1.
    pub async fn api_member(&self, name: &str, grants: &[Grant]) -> ConnectionInput {
        self.admin
            .create_role(name, grants)
            .await
            .expect("the role");
        let member = self
            .admin
            .create_member(
                name,
                name,
                Some("Integration"),
                &format!("{name}@msp.example"),
                name,
            )
            .await
            .expect("the member");
        let (public_key, private_key) = self
            .admin
            .create_key(member, "cwbridge")
            .await
            .expect("a key");
        let c = self.sandbox.credentials();
        ConnectionInput {
            site: c.site.clone(),
            company_id: c.company_id.clone(),
            public_key,
            private_key,
            client_id: c.client_id.clone(),
        }
    }

    /// Seed 004's role, with one level lowered to None.
    pub async fn member_lacking(
        &self,
        name: &str,
        function: &str,
        action: Action,
    ) -> ConnectionInput {
        let mut grants = Preset::BillingTickets.grants();
        grants
            .iter_mut()
            .find(|g| g.function.function == function)
            .expect("the preset grants that function")
            .levels
            .set(action, Level::None);
        self.api_member(name, &grants).await
    }

    /// The sandbox's admin as a typed client, to look at (and meddle with) what the bridge
    /// wrote.
    pub fn admin_client(&self) -> connectwise_client::Client {
        let c = self.sandbox.credentials();
        connectwise_client::Client::builder(connectwise_client::Credentials {
            site: c.site.clone(),
            company_id: c.company_id.clone(),
            public_key: c.public_key.clone(),
            private_key: c.private_key.clone(),
            client_id: c.client_id.clone(),
        })
        .extra_ca_pem(self.sandbox.ca_pem().unwrap().as_bytes().to_vec())
        .build()
        .unwrap()
    }

    pub fn config(&self) -> EngineConfig {
        EngineConfig {
            connectwise_ca: self.sandbox.ca_pem().map(|p| p.as_bytes().to_vec()),
            egress_address: Some("203.0.113.7".into()),
            fence: connectwise_client::Fence::public_only()
                .allow_network("127.0.0.1/32".parse().unwrap()),
            ..EngineConfig::default()
        }
    }
}

/// An engine per test database, with a fresh keyring.
pub async fn engines(config: &EngineConfig) -> Vec<(Engine, TestDb)> {
    let mut out = Vec::new();
    for db in databases().await {
        let keyring = Keyring::from_base64(&[Keyring::generate_key()]).unwrap();
        out.push((Engine::new(db.store.clone(), keyring, config.clone()), db));
    }
    out
}
