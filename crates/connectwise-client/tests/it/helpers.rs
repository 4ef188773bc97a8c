//! A sandbox per test and a client for it.

use connectwise_client::{Client, ClientBuilder, Credentials, RetryPolicy};
use connectwise_sandbox::{Sandbox, SandboxConfig, Seed};
use std::time::Duration;

/// A demo sandbox and the built-in admin's credentials in the client's format.
pub struct Site {
    pub sandbox: Sandbox,
}

impl Site {
    pub async fn demo() -> Site {
        Site::start(SandboxConfig {
            seed: Some(Seed::Demo),
            ..SandboxConfig::ephemeral()
        })
        .await
    }

    pub async fn start(config: SandboxConfig) -> Site {
        Site {
            sandbox: Sandbox::start(config).await.expect("the sandbox starts"),
        }
    }

    pub fn credentials(&self) -> Credentials {
        let c = self.sandbox.credentials();
        c.clone()
    }

    /// A builder trusting the sandbox's certificate, with quick retries so tests stay short.
    pub fn builder_for(&self, credentials: Credentials) -> ClientBuilder {
        Client::builder(credentials)
            .extra_ca_pem(self.sandbox.ca_pem().expect("HTTPS").as_bytes().to_vec())
            .retry(RetryPolicy {
                max_retries: 5,
                base_delay: Duration::from_millis(10),
                max_delay: Duration::from_secs(5),
            })
            .timeout(Duration::from_secs(10))
    }

    pub fn builder(&self) -> ClientBuilder {
        self.builder_for(self.credentials())
    }

    pub fn client(&self) -> Client {
        self.builder().build().expect("the client builds")
    }
}

/// A new Help Desk ticket for Acme (references by name and identifier, as users write them).
pub fn ticket(summary: &str) -> connectwise_client::models::Ticket {
    use connectwise_client::models::{BoardReference, CompanyReference, Ticket};
    Ticket {
        summary: Some(summary.into()),
        board: Some(BoardReference {
            name: Some("Help Desk".into()),
            ..Default::default()
        }),
        company: Some(CompanyReference {
            identifier: Some("AcmeCorp".into()),
            ..Default::default()
        }),
        ..Default::default()
    }
}
