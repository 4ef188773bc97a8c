//! The permission preflight: which security-role permissions the enabled features need,
//! checked one by one against ConnectWise without changing anything there, and reported the
//! way an admin fixes them (module → function → level).
//!
//! ConnectWise checks the member's role before anything else, so each permission is probed
//! with a request that cannot change data: Inquire lists one record; Add posts an empty
//! record (refused as invalid when allowed); Edit and Delete name record 0, which never
//! exists (404 when allowed). A 403 means the level is missing.

use connectwise_client::{Client, ErrorKind, Method};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// An action a security role grants per module function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Action {
    /// Inquire Level.
    Inquire,
    /// Add Level.
    Add,
    /// Edit Level.
    Edit,
    /// Delete Level.
    Delete,
}

/// What the bridge does, each needing its own permissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Feature {
    /// Agreement additions for the vendor's product (seed 004's step 2).
    Billing,
    /// Alerts as service tickets (seed 004's step 4).
    Tickets,
}

/// One permission: a module function, an action, and the endpoint that proves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Need {
    /// The module, as the role screen names it, e.g. `Service Desk`.
    pub module: &'static str,
    /// The function, e.g. `Service Tickets`.
    pub function: &'static str,
    /// The action.
    pub action: Action,
    /// The collection that needs it, below the API root.
    pub probe: &'static str,
    /// Which features need it.
    pub features: &'static [Feature],
}

const BOTH: &[Feature] = &[Feature::Billing, Feature::Tickets];
const BILLING: &[Feature] = &[Feature::Billing];
const TICKETS: &[Feature] = &[Feature::Tickets];

/// The manifest: seed 004's security role, permission by permission, with what needs each.
pub const MANIFEST: &[Need] = &[
    need(
        "Companies",
        "Company Maintenance",
        Action::Inquire,
        "company/companies",
        BOTH,
    ),
    need(
        "Procurement",
        "Product Catalog",
        Action::Inquire,
        "procurement/catalog",
        BILLING,
    ),
    need(
        "Procurement",
        "Product Catalog",
        Action::Add,
        "procurement/catalog",
        BILLING,
    ),
    need(
        "Service Desk",
        "Service Tickets",
        Action::Inquire,
        "service/tickets",
        TICKETS,
    ),
    need(
        "Service Desk",
        "Service Tickets",
        Action::Edit,
        "service/tickets",
        TICKETS,
    ),
    need(
        "Service Desk",
        "Service Tickets",
        Action::Add,
        "service/tickets",
        TICKETS,
    ),
    need(
        "Finance",
        "Agreements",
        Action::Inquire,
        "finance/agreements",
        BILLING,
    ),
    need(
        "Finance",
        "Agreements",
        Action::Edit,
        "finance/agreements",
        BILLING,
    ),
    need(
        "Finance",
        "Agreements",
        Action::Add,
        "finance/agreements",
        BILLING,
    ),
    need(
        "Finance",
        "Agreements",
        Action::Delete,
        "finance/agreements",
        BILLING,
    ),
    need(
        "Finance",
        "Invoicing",
        Action::Inquire,
        "finance/invoices",
        BILLING,
    ),
    need(
        "System",
        "Table Setup",
        Action::Inquire,
        "service/boards",
        BOTH,
    ),
];

const fn need(
    module: &'static str,
    function: &'static str,
    action: Action,
    probe: &'static str,
    features: &'static [Feature],
) -> Need {
    Need {
        module,
        function,
        action,
        probe,
        features,
    }
}

/// The outcome of one permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The role grants it.
    Granted,
    /// The role lacks it: ConnectWise answered 403.
    Missing,
    /// This server could not tell (it does not serve the probed endpoint, or failed).
    Unverified,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PermissionCheck {
    /// The module, e.g. `Service Desk`.
    pub module: String,
    /// The function, e.g. `Service Tickets`.
    pub function: String,
    /// The action.
    pub action: Action,
    /// The level it needs: always `All`.
    pub level: String,
    /// The outcome.
    pub status: Status,
    /// How to fix it, or why it could not be told.
    pub detail: String,
}

/// Checks every permission the features need, in the manifest's order.
pub async fn check(client: &Client, features: &[Feature]) -> Vec<PermissionCheck> {
    let mut out = Vec::new();
    for need in MANIFEST
        .iter()
        .filter(|n| n.features.iter().any(|f| features.contains(f)))
    {
        let (status, detail) = probe(client, need).await;
        out.push(PermissionCheck {
            module: need.module.to_owned(),
            function: need.function.to_owned(),
            action: need.action,
            level: "All".to_owned(),
            status,
            detail,
        });
    }
    out
}

async fn probe(client: &Client, need: &Need) -> (Status, String) {
    let path = need.probe;
    let (method, path, body, allowed_status) = match need.action {
        Action::Inquire => (Method::GET, path.to_owned(), None, None),
        Action::Add => (Method::POST, path.to_owned(), Some(json!({})), Some(400)),
        Action::Edit => (
            Method::PATCH,
            format!("{path}/0"),
            Some(json!([])),
            Some(404),
        ),
        Action::Delete => (Method::DELETE, format!("{path}/0"), None, Some(404)),
    };
    let query = if need.action == Action::Inquire {
        vec![("pageSize".to_owned(), "1".to_owned())]
    } else {
        Vec::new()
    };
    let fix = format!(
        "In ConnectWise: System > Security Roles > the API member's role > {} > {}: set {:?} Level to All",
        need.module, need.function, need.action
    );
    match client
        .request_json(method, path.as_str(), &query, body)
        .await
    {
        Ok(_) if need.action == Action::Inquire => (Status::Granted, String::new()),
        // An Add or Edit probe that succeeded would have changed data; none can, but say so.
        Ok(_) => (Status::Granted, "the probe was accepted".to_owned()),
        Err(e) => match (e.kind(), e.status().map(|s| s.as_u16())) {
            (ErrorKind::Permission, _) => (Status::Missing, fix),
            (_, Some(s)) if Some(s) == allowed_status => (Status::Granted, String::new()),
            (ErrorKind::Validation, _) if need.action == Action::Add => {
                (Status::Granted, String::new())
            }
            (ErrorKind::NotFound, _) if need.action == Action::Inquire => (
                Status::Unverified,
                format!("this ConnectWise does not serve {path}, so the level cannot be checked"),
            ),
            _ => (Status::Unverified, format!("the check failed: {e}")),
        },
    }
}
