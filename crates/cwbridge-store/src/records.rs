//! What the store keeps, as plain values, each read from its row by `sqlx::FromRow`.

use sqlx::any::{Any, AnyTypeInfo, AnyValueRef};
use sqlx::error::BoxDynError;
use sqlx::{Decode, FromRow, Type};

/// A tenant's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantId(pub i64);

impl From<i64> for TenantId {
    fn from(id: i64) -> Self {
        TenantId(id)
    }
}

/// A flag column: both dialects keep flags as integers (0 or 1), read here as a `bool`.
#[derive(Debug, Clone, Copy)]
pub struct IntFlag(i64);

impl From<IntFlag> for bool {
    fn from(flag: IntFlag) -> bool {
        flag.0 != 0
    }
}

impl Type<Any> for IntFlag {
    fn type_info() -> AnyTypeInfo {
        <i64 as Type<Any>>::type_info()
    }

    fn compatible(ty: &AnyTypeInfo) -> bool {
        <i64 as Type<Any>>::compatible(ty)
    }
}

impl<'r> Decode<'r, Any> for IntFlag {
    fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(IntFlag(<i64 as Decode<'r, Any>>::decode(value)?))
    }
}

/// The queue at a glance, every tenant's and every instance's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromRow)]
pub struct QueueGauges {
    /// Alerts queued, or received and not yet in their lanes.
    pub depth: i64,
    /// Of those, held by a worker: delivering, or held by an instance that died and not yet
    /// taken over.
    pub in_flight: i64,
    /// When the alert due longest came due (Unix ms), if any is due: how far delivery is
    /// behind.
    pub oldest_due: Option<i64>,
}

/// A text column holding a value its enum does not know.
#[derive(Debug, thiserror::Error)]
#[error("`{value}` is not a known {what}")]
pub struct UnknownValue {
    what: &'static str,
    value: String,
}

/// Reads a text column into its enum; the error names what the column holds.
fn known<T: std::str::FromStr>(what: &'static str, value: String) -> Result<T, UnknownValue> {
    value.parse().map_err(|_| UnknownValue { what, value })
}

/// Where an alert is. Stored and shown as `queued`, `delivered`, `skipped` or `failed`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, strum::Display, strum::EnumString, strum::IntoStaticStr,
)]
#[strum(serialize_all = "snake_case")]
pub enum AlertState {
    /// Waiting for delivery, or (`received` in the table) stored and not yet in its lane:
    /// the same to anyone outside the store.
    #[strum(to_string = "queued", serialize = "received")]
    Queued,
    /// A ticket or note was written.
    Delivered,
    /// Not forwarded (its type is turned off for its account).
    Skipped,
    /// Given up, with the reason.
    Failed,
}

impl AlertState {
    /// How it is stored and shown.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl TryFrom<String> for AlertState {
    type Error = UnknownValue;

    fn try_from(s: String) -> Result<Self, UnknownValue> {
        known("alert state", s)
    }
}

/// Where a billing run is. Stored and shown as `running`, `done` or `failed`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, strum::Display, strum::EnumString, strum::IntoStaticStr,
)]
#[strum(serialize_all = "snake_case")]
pub enum RunStatus {
    /// Carrying its plan out (or stopped without finishing: its heartbeat tells).
    Running,
    /// Finished; some changes may have failed (its summary says).
    Done,
    /// Stopped by an error.
    Failed,
}

impl RunStatus {
    /// How it is stored and shown.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl TryFrom<String> for RunStatus {
    type Error = UnknownValue;

    fn try_from(s: String) -> Result<Self, UnknownValue> {
        known("run status", s)
    }
}

impl std::fmt::Display for TenantId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// One of the vendor's MSP customers.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Tenant {
    /// Its id.
    #[sqlx(try_from = "i64")]
    pub id: TenantId,
    /// Its unique name.
    pub name: String,
    /// When it was made (Unix ms).
    pub created_at: i64,
}

/// A tenant's ConnectWise connection as stored: the private key sealed.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct StoredConnection {
    /// The site, as the user wrote it.
    pub site: String,
    /// The company id.
    pub company_id: String,
    /// The API key's public half.
    pub public_key: String,
    /// The API key's private half, sealed (see the engine's `secret` module).
    pub private_key_sealed: String,
    /// The clientId.
    pub client_id: String,
    /// When it was saved (Unix ms).
    pub updated_at: i64,
}

/// The result of one connection check.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct CheckRecord {
    /// When (Unix ms).
    pub checked_at: i64,
    /// Whether everything passed.
    #[sqlx(try_from = "IntFlag")]
    pub ok: bool,
    /// The report, as JSON.
    pub report: String,
}

/// One of the vendor's accounts (seed 004's "domain group") and its billable units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRecord {
    /// The vendor's id for it.
    pub external_id: String,
    /// Its name.
    pub name: String,
    /// Its billable units (seed 004's "sending domains"), sorted.
    pub units: Vec<String>,
    /// The alert types the vendor has configured for it.
    pub alert_types: Vec<String>,
}

/// How a tenant bills (seed 004's step 2).
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct BillingSettingsRecord {
    /// The catalog product's id.
    pub product_id: i64,
    /// Its identifier.
    pub product_identifier: String,
    /// Its description (used on lines).
    pub product_description: String,
    /// Its price per unit.
    pub unit_price: f64,
    /// The default agreement type's id.
    pub agreement_type_id: i64,
    /// Its name.
    pub agreement_type_name: String,
    /// `per_unit`, `bundled` or `not_billable`.
    pub mode: String,
    /// What to do with a line of ours edited by hand: `report`, `correct` or `adopt`.
    pub drift_policy: String,
    /// Apply on its own every this many hours (0: on demand only).
    pub schedule_hours: i64,
}

/// An account mapped to a ConnectWise company (seed 004's step 3).
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct MappingRecord {
    /// The account.
    pub external_id: String,
    /// The company's id.
    pub company_id: i64,
    /// The company's name, as it was when mapped.
    pub company_name: String,
    /// An agreement chosen instead of the default type's.
    pub agreement_id: Option<i64>,
}

/// An agreement addition the bridge made and owns.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct LineRecord {
    /// What the line bills: `{account}/{unit}`, or `{account}/*` for a bundle.
    pub line_key: String,
    /// The addition's id in ConnectWise.
    pub addition_id: i64,
    /// Its agreement.
    pub agreement_id: i64,
    /// Its company.
    pub company_id: i64,
    /// Its quantity, as last written.
    pub quantity: f64,
    /// Its description, as last written.
    pub description: String,
    /// `Billable` or `DoNotBill`, as last written.
    pub bill_customer: String,
    /// Whether the bridge cancelled it.
    #[sqlx(try_from = "IntFlag")]
    pub cancelled: bool,
    /// When a hand edit was adopted: the wanted state it stands in for (a later change of
    /// the wanted state updates the line again).
    pub pinned: Option<String>,
}

/// One billing run.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct RunRecord {
    /// Its id.
    pub id: i64,
    /// When it started (Unix ms).
    pub started_at: i64,
    /// When it finished, if it did.
    pub finished_at: Option<i64>,
    /// Where it is.
    #[sqlx(try_from = "String")]
    pub status: RunStatus,
    /// What it did, as JSON.
    pub summary: String,
    /// The run it undoes, when it is an undo.
    pub undoes: Option<i64>,
}

/// One change a run made, for the audit.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct ChangeRecord {
    /// Its id.
    pub id: i64,
    /// When (Unix ms).
    pub at: i64,
    /// `create`, `update`, `cancel`, `adopt`, `correct` or `failed`.
    pub kind: String,
    /// What, as JSON.
    pub detail: String,
    /// What it did to the addition (its state before and after), as JSON; none for a change
    /// that wrote nothing, or one recorded before effects were kept.
    pub effect: Option<String>,
    /// The change it reverts, when made by an undo.
    pub reverts: Option<i64>,
}

/// A change to record in a run's audit.
#[derive(Debug, Clone, Copy, Default)]
pub struct NewChange<'a> {
    /// `create`, `update`, `cancel`, `adopt`, `correct`, `keep-hand-edit` or `failed`.
    pub kind: &'a str,
    /// What, as JSON.
    pub detail: &'a str,
    /// What it did to the addition, as JSON.
    pub effect: Option<&'a str>,
    /// The change it reverts, when made by an undo.
    pub reverts: Option<i64>,
}

/// Ticket defaults (seed 004's step 4).
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct TicketSettingsRecord {
    /// The service board's id.
    pub board_id: i64,
    /// Its name.
    pub board_name: String,
    /// The status new tickets get (of that board).
    pub status_id: i64,
    /// Its name.
    pub status_name: String,
    /// The priority's id.
    pub priority_id: i64,
    /// Its name.
    pub priority_name: String,
    /// The ticket type (of that board), if any.
    pub type_id: Option<i64>,
    /// Its name.
    pub type_name: Option<String>,
    /// Who notes are written on behalf of (the API member writes them).
    pub signature: String,
}

/// What happens per alert type.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct AlertPolicyRecord {
    /// The alert type.
    pub alert_type: String,
    /// Whether a resolved alert adds a note to its ticket.
    #[sqlx(try_from = "IntFlag")]
    pub note_on_resolve: bool,
    /// When an alert recurs after its ticket was closed: `new` ticket, or `reopen` it.
    pub recur_after_close: String,
}

/// One alert, as received and as delivered so far.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct AlertRecord {
    /// Its id.
    pub id: i64,
    /// Its tenant.
    #[sqlx(rename = "tenant_id", try_from = "i64")]
    pub tenant: TenantId,
    /// The account it is about.
    #[sqlx(rename = "external_id")]
    pub account: String,
    /// Its type, e.g. `dmarc-record-changed`.
    pub alert_type: String,
    /// What makes repeats of it the same alert.
    pub alert_key: String,
    /// The ticket summary.
    pub summary: String,
    /// The text (the alert e-mail's), the ticket's description.
    pub description: String,
    /// Whether this is the alert resolving.
    #[sqlx(try_from = "IntFlag")]
    pub resolved: bool,
    /// Where it is.
    #[sqlx(try_from = "String")]
    pub state: AlertState,
    /// The ticket it went to.
    pub ticket_id: Option<i64>,
    /// What delivery did: `ticket`, `note`, `reopen`, …
    pub action: Option<String>,
    /// Delivery attempts so far.
    pub attempts: i64,
    /// The last failure.
    pub last_error: Option<String>,
    /// When it was received (Unix ms).
    pub created_at: i64,
    /// When its state last changed (Unix ms): for a delivered alert, when it was delivered.
    pub updated_at: i64,
}

impl AlertRecord {
    /// An alert as received, before it is stored: queued, not yet attempted, no id yet
    /// (the store gives it one).
    pub fn received(
        tenant: TenantId,
        account: impl Into<String>,
        alert_type: impl Into<String>,
        alert_key: impl Into<String>,
        summary: impl Into<String>,
        description: impl Into<String>,
        resolved: bool,
    ) -> AlertRecord {
        let now = crate::now_ms();
        AlertRecord {
            id: 0,
            tenant,
            account: account.into(),
            alert_type: alert_type.into(),
            alert_key: alert_key.into(),
            summary: summary.into(),
            description: description.into(),
            resolved,
            state: AlertState::Queued,
            ticket_id: None,
            action: None,
            attempts: 0,
            last_error: None,
            created_at: now,
            updated_at: now,
        }
    }
}

/// The ticket an alert key has now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromRow)]
pub struct AlertTicketRecord {
    /// How many tickets this key has had (a new one after a close bumps it).
    pub generation: i64,
    /// The current ticket, once known.
    pub ticket_id: Option<i64>,
    /// The alert that made the current ticket.
    pub created_by: Option<i64>,
}

/// A failed answer from a tenant's ConnectWise (the connection-health page).
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct FailureRecord {
    /// When (Unix ms).
    pub at: i64,
    /// The method.
    pub method: String,
    /// The path, with its query.
    pub path: String,
    /// The status; `None` when no answer came.
    pub status: Option<i64>,
    /// ConnectWise's message, or what went wrong.
    pub message: String,
    /// Whether the client retried it.
    #[sqlx(try_from = "IntFlag")]
    pub retrying: bool,
}
