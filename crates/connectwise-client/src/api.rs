//! The endpoints, grouped as ConnectWise's paths are: `client.service().tickets()`.

use reqwest::Method;
use serde::Serialize;

use crate::client::{Call, Client};
use crate::endpoint::Endpoint;
use crate::error::Result;
use crate::models::*;

impl Client {
    /// Any collection by its path below the API root (e.g. `service/tickets/5/notes`), typed
    /// by `T` (`serde_json::Value` for plain JSON).
    ///
    /// ```no_run
    /// # async fn run(client: connectwise_client::Client) -> connectwise_client::Result<()> {
    /// let notes = client
    ///     .endpoint::<serde_json::Value>("service/tickets/42/notes")
    ///     .list()
    ///     .send()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn endpoint<T: Model>(&self, path: &str) -> Endpoint<T> {
        Endpoint::new(self, path.trim_matches('/').to_owned())
    }

    /// Sends any request and answers its JSON body (`null` when there is none, as for a
    /// DELETE). `path` is below the API root, e.g. `service/tickets/5`.
    ///
    /// ```no_run
    /// # async fn run(client: connectwise_client::Client) -> connectwise_client::Result<()> {
    /// use connectwise_client::Method;
    ///
    /// let info = client.request_json(Method::GET, "system/info", &[], None).await?;
    /// # Ok(()) }
    /// ```
    pub async fn request_json(
        &self,
        method: Method,
        path: &str,
        query: &[(String, String)],
        body: Option<serde_json::Value>,
    ) -> Result<serde_json::Value> {
        let mut call = Call::new(method, path.trim_matches('/').to_owned());
        call.query = query.to_vec();
        call.body = body;
        let reply = self.send(&call).await?;
        if reply.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(serde_json::Value::Null);
        }
        reply.decode("JSON")
    }

    /// `company/…`: companies, their statuses and types, contacts.
    pub fn company(&self) -> CompanyApi<'_> {
        CompanyApi(self)
    }

    /// `finance/…`: agreements, their additions and types.
    pub fn finance(&self) -> FinanceApi<'_> {
        FinanceApi(self)
    }

    /// `procurement/…`: the product catalog.
    pub fn procurement(&self) -> ProcurementApi<'_> {
        ProcurementApi(self)
    }

    /// `service/…`: boards, their statuses and types, priorities, tickets and notes.
    pub fn service(&self) -> ServiceApi<'_> {
        ServiceApi(self)
    }

    /// `system/…`: members and their API keys, security roles, callbacks, system info.
    pub fn system(&self) -> SystemApi<'_> {
        SystemApi(self)
    }
}

/// `company/…` endpoints.
#[derive(Debug, Clone, Copy)]
pub struct CompanyApi<'c>(&'c Client);

impl CompanyApi<'_> {
    /// `company/companies`.
    pub fn companies(&self) -> Endpoint<Company> {
        Endpoint::new(self.0, "company/companies".into())
    }

    /// `company/companies/statuses`.
    pub fn statuses(&self) -> Endpoint<CompanyStatus> {
        Endpoint::new(self.0, "company/companies/statuses".into())
    }

    /// `company/companies/types`.
    pub fn types(&self) -> Endpoint<CompanyType> {
        Endpoint::new(self.0, "company/companies/types".into())
    }

    /// `company/contacts`.
    pub fn contacts(&self) -> Endpoint<Contact> {
        Endpoint::new(self.0, "company/contacts".into())
    }
}

/// `finance/…` endpoints.
#[derive(Debug, Clone, Copy)]
pub struct FinanceApi<'c>(&'c Client);

impl FinanceApi<'_> {
    /// `finance/agreements`.
    pub fn agreements(&self) -> Endpoint<Agreement> {
        Endpoint::new(self.0, "finance/agreements".into())
    }

    /// `finance/agreements/{agreement}/additions`.
    pub fn additions(&self, agreement: i64) -> Endpoint<Addition> {
        Endpoint::new(self.0, format!("finance/agreements/{agreement}/additions"))
    }

    /// `finance/agreements/types`.
    pub fn agreement_types(&self) -> Endpoint<AgreementType> {
        Endpoint::new(self.0, "finance/agreements/types".into())
    }
}

/// `procurement/…` endpoints.
#[derive(Debug, Clone, Copy)]
pub struct ProcurementApi<'c>(&'c Client);

impl ProcurementApi<'_> {
    /// `procurement/catalog`.
    pub fn catalog(&self) -> Endpoint<CatalogItem> {
        Endpoint::new(self.0, "procurement/catalog".into())
    }
}

/// `service/…` endpoints.
#[derive(Debug, Clone, Copy)]
pub struct ServiceApi<'c>(&'c Client);

impl ServiceApi<'_> {
    /// `service/boards`.
    pub fn boards(&self) -> Endpoint<Board> {
        Endpoint::new(self.0, "service/boards".into())
    }

    /// `service/boards/{board}/statuses`.
    pub fn board_statuses(&self, board: i64) -> Endpoint<BoardStatus> {
        Endpoint::new(self.0, format!("service/boards/{board}/statuses"))
    }

    /// `service/boards/{board}/types`.
    pub fn board_types(&self, board: i64) -> Endpoint<BoardType> {
        Endpoint::new(self.0, format!("service/boards/{board}/types"))
    }

    /// `service/priorities`.
    pub fn priorities(&self) -> Endpoint<Priority> {
        Endpoint::new(self.0, "service/priorities".into())
    }

    /// `service/tickets`.
    pub fn tickets(&self) -> Endpoint<Ticket> {
        Endpoint::new(self.0, "service/tickets".into())
    }

    /// `service/tickets/{ticket}/notes`.
    pub fn ticket_notes(&self, ticket: i64) -> Endpoint<ServiceNote> {
        Endpoint::new(self.0, format!("service/tickets/{ticket}/notes"))
    }
}

/// `system/…` endpoints.
#[derive(Debug, Clone, Copy)]
pub struct SystemApi<'c>(&'c Client);

/// The body of a new API key request.
#[derive(Serialize)]
struct TokenRequest<'a> {
    description: &'a str,
}

impl SystemApi<'_> {
    /// `system/members`.
    pub fn members(&self) -> Endpoint<Member> {
        Endpoint::new(self.0, "system/members".into())
    }

    /// Makes an API key for a member (`POST system/members/{id}/tokens`); the private key is
    /// in the answer and nowhere else.
    ///
    /// ```no_run
    /// # async fn run(client: connectwise_client::Client) -> connectwise_client::Result<()> {
    /// let key = client.system().create_api_key(7, "Portal").await?;
    /// println!("{:?} {:?}", key.public_key, key.private_key);
    /// # Ok(()) }
    /// ```
    pub async fn create_api_key(&self, member: i64, description: &str) -> Result<Token> {
        let mut call = Call::new(Method::POST, format!("system/members/{member}/tokens"));
        call.body = serde_json::to_value(TokenRequest { description }).ok();
        self.0.send(&call).await?.decode("Token")
    }

    /// `system/securityroles`.
    pub fn security_roles(&self) -> Endpoint<SecurityRole> {
        Endpoint::new(self.0, "system/securityroles".into())
    }

    /// `system/securityRoles/{role}/settings`.
    pub fn security_role_settings(&self, role: i64) -> Endpoint<SecurityRoleSetting> {
        Endpoint::new(self.0, format!("system/securityRoles/{role}/settings"))
    }

    /// `system/callbacks`.
    pub fn callbacks(&self) -> Endpoint<CallbackEntry> {
        Endpoint::new(self.0, "system/callbacks".into())
    }

    /// `system/info`: the server's version and whether it is cloud-hosted.
    pub async fn info(&self) -> Result<Info> {
        self.0
            .send(&Call::new(Method::GET, "system/info"))
            .await?
            .decode("Info")
    }
}
