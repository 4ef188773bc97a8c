//! A sandbox per test, clients for it (faults set, credentials or settings changed), and
//! the tickets, raw reads and error checks the tests share.

use connectwise_client::models::Ticket;
use connectwise_client::{
    Client, ClientBuilder, Credentials, Error, ErrorKind, Method, RetryPolicy,
};
use connectwise_sandbox::{Faults, LostMode, Sandbox, SandboxConfig, Seed};
use serde_json::{Value, json};
use std::time::Duration;

/// A demo sandbox and the built-in admin's credentials in the client's format.
pub struct Site {
    pub sandbox: Sandbox,
}

impl Site {
    pub async fn demo() -> Site {
        Site::demo_with(|_| {}).await
    }

    /// A demo sandbox whose configuration `tweak` changes first (another codebase…).
    pub async fn demo_with(tweak: impl FnOnce(&mut SandboxConfig)) -> Site {
        let mut config = SandboxConfig::ephemeral();
        config.seed = Some(Seed::Demo);
        tweak(&mut config);
        Site {
            sandbox: Sandbox::start(config).await.expect("the sandbox starts"),
        }
    }

    pub fn credentials(&self) -> Credentials {
        let c = self.sandbox.credentials();
        c.clone()
    }

    /// Sets the sandbox's faults: the defaults, as `set` changes them.
    pub fn faults(&self, set: impl FnOnce(&mut Faults)) {
        let mut faults = Faults::default();
        set(&mut faults);
        self.sandbox.set_faults(faults).expect("the faults are set");
    }

    /// Has the sandbox carry out the next write but lose its answer as `mode` says.
    pub fn lose_next_write(&self, mode: LostMode) {
        self.faults(|f| {
            f.lose_next_writes = 1;
            f.lost_response_mode = mode;
        });
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
        self.client_with(|b| b)
    }

    /// A client from [`Site::builder`] as `tweak` changes it (a timeout, a budget…).
    pub fn client_with(&self, tweak: impl FnOnce(ClientBuilder) -> ClientBuilder) -> Client {
        tweak(self.builder()).build().expect("the client builds")
    }

    /// A client signing in with the admin's credentials as `edit` changes them.
    pub fn client_as(&self, edit: impl FnOnce(&mut Credentials)) -> Client {
        let mut credentials = self.credentials();
        edit(&mut credentials);
        self.builder_for(credentials)
            .build()
            .expect("the client builds")
    }
}

/// A new Help Desk ticket for Acme (references by name and identifier, as users write them).
pub fn ticket(summary: &str) -> Ticket {
    let body = json!({
        "summary": summary,
        "board": {"name": "Help Desk"},
        "company": {"identifier": "AcmeCorp"},
    });
    serde_json::from_value(body).expect("a ticket")
}

/// Creates [`ticket`]`(summary)` through `client`; answers ConnectWise's answer.
pub async fn create_ticket(client: &Client, summary: &str) -> connectwise_client::Result<Ticket> {
    client.service().tickets().create(&ticket(summary)).await
}

/// The records a GET of `path` (below the API root) answers, as raw JSON: up to 1000.
pub async fn raw_records(client: &Client, path: &str) -> Vec<Value> {
    let query = [("pageSize".to_owned(), "1000".to_owned())];
    let body = client
        .request_json(Method::GET, path, &query, None)
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    serde_json::from_value(body).unwrap_or_else(|e| panic!("GET {path}: not a list: {e}"))
}

/// Asserts `err` is of `kind` and its message names `what`.
pub fn assert_error(err: &Error, kind: ErrorKind, what: &str) {
    assert_eq!(err.kind(), kind, "{err}");
    assert!(err.to_string().contains(what), "{err}");
}
