//! Alerts → tickets (seed 004's step 4), exactly once.
//!
//! An alert is stored (committed) before it is acknowledged, then a worker delivers it:
//! a ticket on the default board for a new alert key, a note on the open ticket for a
//! repeat, and what the alert type's policy says for a resolve or a recurrence after the
//! ticket was closed. ConnectWise has no idempotency keys, and a create whose answer was lost
//! may still have happened, so every ticket carries its key's marker in `externalXRef` and
//! every note its alert's marker in its text; the worker looks for them before writing, which
//! makes a retry after a lost answer, a crash or a `kill -9` find the earlier write instead of
//! repeating it. Transient failures retry with backoff; permanent ones are kept with the reason.

use std::time::Duration;

use connectwise_client::conditions::field;
use connectwise_client::models::{
    BoardReference, CompanyReference, PriorityReference, ServiceNote, ServiceStatusReference,
    ServiceTypeReference, Ticket,
};
use connectwise_client::{Client, ErrorKind, Patch};
use cwbridge_store::{
    AlertPolicyRecord, AlertRecord, AlertTicketRecord, TenantId, TicketSettingsRecord, now_ms,
};
use futures_util::TryStreamExt;
use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::Engine;
use crate::error::{EngineError, Result};
use crate::forwarding::Route;

/// ConnectWise's limit on a ticket summary.
const SUMMARY_MAX: usize = 100;

/// The type of the wizard's test alerts: forwarded whatever an account's alert types say,
/// so an admin can see a ticket arrive before any real alert fires.
pub const TEST_ALERT_TYPE: &str = "cwbridge-test";

/// An alert as the vendor posts it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlertInput {
    /// The account it is about.
    pub account: String,
    /// Its type, e.g. `dmarc-record-changed`.
    #[serde(rename = "type")]
    pub alert_type: String,
    /// What makes repeats of it the same alert (default: account and type).
    #[serde(default)]
    pub key: Option<String>,
    /// A one-line summary (cut to ConnectWise's 100 characters on the ticket).
    pub summary: String,
    /// The alert's text, as the vendor's e-mail has it: the ticket's description.
    pub description: String,
    /// Whether this reports the alert resolved.
    #[serde(default)]
    pub resolved: bool,
}

/// An alert as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertView {
    /// Its id.
    pub id: i64,
    /// The account.
    pub account: String,
    /// The type.
    #[serde(rename = "type")]
    pub alert_type: String,
    /// The key.
    pub key: String,
    /// The summary.
    pub summary: String,
    /// Whether it reports a resolve.
    pub resolved: bool,
    /// `queued`, `delivered`, `skipped` or `failed`.
    pub state: String,
    /// The ticket it went to.
    pub ticket_id: Option<i64>,
    /// What delivery did: `ticket`, `note`, `reopen`, or why it was skipped.
    pub action: Option<String>,
    /// Attempts so far.
    pub attempts: i64,
    /// The last failure's reason.
    pub last_error: Option<String>,
    /// When it was received (Unix ms).
    pub created_at: i64,
    /// When its state last changed (Unix ms): for a delivered alert, when its ticket or note
    /// was made.
    pub updated_at: i64,
}

impl From<AlertRecord> for AlertView {
    fn from(a: AlertRecord) -> Self {
        AlertView {
            id: a.id,
            account: a.account,
            alert_type: a.alert_type,
            key: a.alert_key,
            summary: a.summary,
            resolved: a.resolved,
            state: a.state,
            ticket_id: a.ticket_id,
            action: a.action,
            attempts: a.attempts,
            last_error: a.last_error,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

/// Step 4's ticket defaults, by name or id.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TicketSettingsInput {
    /// The service board.
    pub board: String,
    /// The status new tickets get (a status of that board).
    pub status: String,
    /// The priority.
    pub priority: String,
    /// The ticket type (a type of that board), optional.
    #[serde(default, rename = "type")]
    pub ticket_type: Option<String>,
    /// Who notes are written on behalf of (default `cwbridge`): ConnectWise shows the API
    /// member as their author, so the text says who really wrote them.
    #[serde(default)]
    pub signature: Option<String>,
}

/// What happens per alert type.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlertPolicyInput {
    /// Whether a resolved alert adds a note to its ticket (default: no; statuses stay
    /// independent, as in seed 004).
    #[serde(default)]
    pub note_on_resolve: bool,
    /// When an alert recurs after its ticket was closed: `new` ticket (default) or `reopen`.
    #[serde(default = "new_ticket")]
    pub recur_after_close: String,
}

fn new_ticket() -> String {
    "new".into()
}

fn hash12(text: &str) -> String {
    hex::encode(&Sha256::digest(text.as_bytes())[..6])
}

fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// How one delivery attempt ended.
enum Outcome {
    Delivered { ticket: i64, action: &'static str },
    Skipped(String),
}

impl Engine {
    /// The saved ticket defaults (step 4), if any.
    pub async fn ticket_settings(
        &self,
        tenant: TenantId,
    ) -> Result<Option<cwbridge_store::TicketSettingsRecord>> {
        Ok(self.store.ticket_settings(tenant).await?)
    }

    /// Saves step 4's defaults, checking the status and type belong to the board.
    pub async fn set_ticket_settings(
        &self,
        tenant: TenantId,
        input: &TicketSettingsInput,
    ) -> Result<TicketSettingsRecord> {
        let r = self.set_ticket_settings_inner(tenant, input).await;
        self.recheck_on_403(tenant, r).await
    }

    async fn set_ticket_settings_inner(
        &self,
        tenant: TenantId,
        input: &TicketSettingsInput,
    ) -> Result<TicketSettingsRecord> {
        let client = self.client_for(tenant).await?;
        let by = |v: &str| match v.trim().parse::<i64>() {
            Ok(id) => field("id").eq(id),
            Err(_) => field("name").eq(v.trim()),
        };
        let boards = client
            .service()
            .boards()
            .list()
            .conditions(by(&input.board))
            .send()
            .await?;
        let board = boards.first().ok_or_else(|| {
            EngineError::invalid(
                "board",
                format!("ConnectWise has no service board `{}`", input.board),
            )
        })?;
        let board_id = board.id.unwrap_or_default();
        let statuses = client
            .service()
            .board_statuses(board_id)
            .list()
            .conditions(by(&input.status))
            .send()
            .await?;
        let status = statuses.first().ok_or_else(|| {
            EngineError::invalid(
                "status",
                format!(
                    "board `{}` has no status `{}`",
                    board.name.clone().unwrap_or_default(),
                    input.status
                ),
            )
        })?;
        let priorities = client
            .service()
            .priorities()
            .list()
            .conditions(by(&input.priority))
            .send()
            .await?;
        let priority = priorities.first().ok_or_else(|| {
            EngineError::invalid(
                "priority",
                format!("ConnectWise has no priority `{}`", input.priority),
            )
        })?;
        let ticket_type = match &input.ticket_type {
            Some(t) if !t.trim().is_empty() => {
                let types = client
                    .service()
                    .board_types(board_id)
                    .list()
                    .conditions(by(t))
                    .send()
                    .await?;
                let found = types.into_iter().next().ok_or_else(|| {
                    EngineError::invalid(
                        "type",
                        format!(
                            "board `{}` has no ticket type `{t}`",
                            board.name.clone().unwrap_or_default()
                        ),
                    )
                })?;
                Some(found)
            }
            _ => None,
        };
        let record = TicketSettingsRecord {
            board_id,
            board_name: board.name.clone().unwrap_or_default(),
            status_id: status.id.unwrap_or_default(),
            status_name: status.name.clone().unwrap_or_default(),
            priority_id: priority.id.unwrap_or_default(),
            priority_name: priority.name.clone().unwrap_or_default(),
            type_id: ticket_type.as_ref().and_then(|t| t.id),
            type_name: ticket_type.and_then(|t| t.name),
            signature: input
                .signature
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .unwrap_or("cwbridge")
                .to_owned(),
        };
        self.store.put_ticket_settings(tenant, &record).await?;
        Ok(record)
    }

    /// Sets an alert type's policy.
    pub async fn set_alert_policy(
        &self,
        tenant: TenantId,
        alert_type: &str,
        input: &AlertPolicyInput,
    ) -> Result<()> {
        if !["new", "reopen"].contains(&input.recur_after_close.as_str()) {
            return Err(EngineError::invalid(
                "recurAfterClose",
                "choose `new` (a new ticket) or `reopen` (the closed one)",
            ));
        }
        Ok(self
            .store
            .put_alert_policy(
                tenant,
                &AlertPolicyRecord {
                    alert_type: alert_type.to_owned(),
                    note_on_resolve: input.note_on_resolve,
                    recur_after_close: input.recur_after_close.clone(),
                },
            )
            .await?)
    }

    /// Queues a test alert for an account, as the wizard's "Send a test alert" does: a new
    /// ticket each time, on the account's company, with the ticket defaults.
    pub async fn send_test_alert(&self, tenant: TenantId, account: &str) -> Result<AlertView> {
        let now = now_ms();
        self.receive_alert(
            tenant,
            &AlertInput {
                account: account.to_owned(),
                alert_type: TEST_ALERT_TYPE.to_owned(),
                key: Some(format!("{TEST_ALERT_TYPE}/{account}/{now}")),
                summary: "Test alert from cwbridge".to_owned(),
                description: format!(
                    "This is a test alert sent from cwbridge's set-up page at {} (Unix ms {now}).\nReal alerts arrive on this board the same way, with the description of the alert e-mail.",
                    time::OffsetDateTime::now_utc().date()
                ),
                resolved: false,
            },
        )
        .await
    }

    /// Stores an alert durably and queues it; answers once it is committed.
    pub async fn receive_alert(&self, tenant: TenantId, input: &AlertInput) -> Result<AlertView> {
        Ok(self.receive_alert_once(tenant, input, None).await?.0)
    }

    /// [`Engine::receive_alert`], once per `idempotency_key`: a resend with a key the tenant
    /// used before stores nothing and answers the alert stored then (and `true`), across
    /// instances and restarts, for as long as the alert is kept. A key reused for a
    /// different alert is a conflict.
    pub async fn receive_alert_once(
        &self,
        tenant: TenantId,
        input: &AlertInput,
        idempotency_key: Option<&str>,
    ) -> Result<(AlertView, bool)> {
        for (field_name, value) in [
            ("account", &input.account),
            ("type", &input.alert_type),
            ("summary", &input.summary),
        ] {
            if value.trim().is_empty() {
                return Err(EngineError::invalid(
                    field_name,
                    format!("give the alert's {field_name}"),
                ));
            }
        }
        let limits = &self.config.limits;
        for (field_name, value, max) in [
            (
                "account",
                input.account.as_str(),
                limits.alert_account_chars,
            ),
            ("type", input.alert_type.as_str(), limits.alert_type_chars),
            (
                "key",
                input.key.as_deref().unwrap_or(""),
                limits.alert_key_chars,
            ),
            (
                "summary",
                input.summary.as_str(),
                limits.alert_summary_chars,
            ),
            (
                "description",
                input.description.as_str(),
                limits.alert_description_chars,
            ),
        ] {
            if value.chars().count() > max {
                return Err(EngineError::invalid(
                    field_name,
                    format!(
                        "the alert's {field_name} is longer than {max} characters, the most cwbridge takes"
                    ),
                ));
            }
        }
        if let Some(k) = idempotency_key
            && (k.is_empty() || k.len() > 255 || !k.bytes().all(|b| b.is_ascii_graphic()))
        {
            return Err(EngineError::invalid(
                "Idempotency-Key",
                "an idempotency key is 1 to 255 visible ASCII characters, e.g. a UUID",
            ));
        }
        let key = input
            .key
            .clone()
            .filter(|k| !k.trim().is_empty())
            .unwrap_or_else(|| format!("{}:{}", input.account.trim(), input.alert_type.trim()));
        let record = AlertRecord::received(
            tenant,
            input.account.trim(),
            input.alert_type.trim(),
            key,
            input.summary.trim(),
            input.description.clone(),
            input.resolved,
        );
        self.check_queue_room(tenant).await?;
        match self
            .intake
            .store(
                &self.store,
                &self.alert_queued,
                record.clone(),
                idempotency_key.map(str::to_owned),
            )
            .await?
        {
            cwbridge_store::Accepted::New(id) => {
                self.queue_counts.accepted(tenant);
                self.alert_queued.notify_one();
                Ok((AlertView::from(AlertRecord { id, ..record }), false))
            }
            cwbridge_store::Accepted::Repeat(existing) => {
                let same = existing.account == record.account
                    && existing.alert_type == record.alert_type
                    && existing.alert_key == record.alert_key
                    && existing.summary == record.summary
                    && existing.description == record.description
                    && existing.resolved == record.resolved;
                if !same {
                    return Err(EngineError::Conflict(format!(
                        "Idempotency-Key was used for alert {} with other content: use a new key for a new alert",
                        existing.id
                    )));
                }
                Ok((AlertView::from(*existing), true))
            }
        }
    }

    /// Refuses an alert when the tenant's queue is full (429 with `Retry-After`). The count
    /// is read at most once a second per tenant (every ten seconds while it is below half
    /// the limit) and kept up to date with this instance's own accepts in between, so a busy
    /// tenant costs one count, bounded by the limit, a second at most.
    async fn check_queue_room(&self, tenant: TenantId) -> Result<()> {
        let max = self.config.limits.queued_alerts_per_tenant;
        let queued = match self.queue_counts.fresh(tenant, max) {
            Some(n) => n,
            None => {
                let n = self.store.queued_alerts_upto(tenant, max).await?;
                self.queue_counts.set(tenant, n);
                n
            }
        };
        if queued >= max {
            return Err(EngineError::TooMany {
                message: format!(
                    "{queued} alerts are already queued for this tenant, the most cwbridge holds; they are delivered as ConnectWise takes them"
                ),
                retry_after: 30,
            });
        }
        Ok(())
    }

    /// A tenant's latest alerts.
    pub async fn alerts(&self, tenant: TenantId) -> Result<Vec<AlertView>> {
        Ok(self
            .store
            .alerts(tenant, 200)
            .await?
            .into_iter()
            .map(AlertView::from)
            .collect())
    }

    /// A page of a tenant's alerts, newest first, with the filters of `q`; `q.limit` is
    /// kept between 1 and 1,000. The next page is asked for with `before` set to the last
    /// id of this one.
    pub async fn alerts_page(
        &self,
        tenant: TenantId,
        q: &cwbridge_store::AlertQuery,
    ) -> Result<Vec<AlertView>> {
        if let Some(state) = &q.state
            && !["queued", "delivered", "skipped", "failed"].contains(&state.as_str())
        {
            return Err(EngineError::invalid(
                "state",
                "a state is queued, delivered, skipped or failed",
            ));
        }
        let q = cwbridge_store::AlertQuery {
            limit: q.limit.clamp(1, 1000),
            ..q.clone()
        };
        Ok(self
            .store
            .alerts_matching(tenant, &q)
            .await?
            .into_iter()
            .map(AlertView::from)
            .collect())
    }

    /// One alert of a tenant.
    pub async fn alert(&self, tenant: TenantId, id: i64) -> Result<AlertView> {
        self.store
            .alert(tenant, id)
            .await?
            .map(AlertView::from)
            .ok_or_else(|| EngineError::NotFound(format!("no alert {id}")))
    }

    /// Queues a failed alert again.
    pub async fn retry_alert(&self, tenant: TenantId, id: i64) -> Result<AlertView> {
        if !self.store.requeue_alert(tenant, id).await? {
            return Err(EngineError::Conflict(format!(
                "alert {id} has not failed, or does not exist"
            )));
        }
        self.alert_queued.notify_one();
        self.alert(tenant, id).await
    }

    /// Delivers one due alert, if any, taking tenants in turn; answers whether there was
    /// one. For commands and tests: `cwbridge serve` runs [`Engine::run_alert_worker`],
    /// which delivers many at once.
    pub async fn deliver_next(&self) -> Result<bool> {
        let lease = self.config.alert_lease.as_millis() as i64;
        self.store.promote_all_received().await?;
        for tenant in self.store.tenants_with_queued_alerts(0, i64::MAX).await? {
            let claim = crate::tenant::new_token();
            if let Some(alert) = self.store.claim_alert(tenant, lease, &claim).await? {
                self.deliver_claimed(alert, claim).await?;
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Delivers an alert this worker has claimed, within the delivery deadline, and records
    /// the outcome: delivered, skipped, back in the queue (a transient failure under the
    /// retry cap) or failed.
    pub(crate) async fn deliver_claimed(&self, alert: AlertRecord, claim: String) -> Result<()> {
        let lease = self.config.alert_lease.as_millis() as i64;
        // Keep the claim while delivering, however slow ConnectWise is; a worker that dies
        // stops renewing it, and another takes the alert over when it lapses.
        let renew = {
            let (store, claim, id) = (self.store.clone(), claim.clone(), alert.id);
            AbortOnDrop(tokio::spawn(async move {
                let mut every = tokio::time::interval(std::time::Duration::from_millis(
                    (lease / 3).max(1) as u64,
                ));
                every.tick().await;
                loop {
                    every.tick().await;
                    if !matches!(store.extend_claim(id, &claim, lease).await, Ok(true)) {
                        return;
                    }
                }
            }))
        };
        let tenant = alert.tenant;
        let deadline = self.config.delivery_deadline;
        // One deadline for the whole attempt, whatever the client's own retries: a site that
        // accepts connections and never answers holds a delivery slot no longer than this.
        let outcome = match tokio::time::timeout(deadline, self.deliver(&alert)).await {
            Ok(outcome) => outcome.map_err(Failed::Engine),
            Err(_) => Err(Failed::Deadline(deadline)),
        };
        drop(renew);
        self.breaker_record(tenant, &outcome);
        let held = match outcome {
            Ok(Outcome::Delivered { ticket, action }) => {
                self.store
                    .finish_alert(
                        alert.id,
                        &claim,
                        "delivered",
                        Some(ticket),
                        Some(action),
                        None,
                    )
                    .await?
            }
            Ok(Outcome::Skipped(why)) => {
                self.store
                    .finish_alert(alert.id, &claim, "skipped", None, Some(&why), None)
                    .await?
            }
            Err(e) if e.is_transient() && !self.retries_exhausted(&alert) => {
                let wait = backoff(alert.attempts);
                tracing::info!(alert.id = alert.id, error = %e, wait_ms = wait.as_millis() as u64, "alert delivery will be retried");
                self.store
                    .retry_alert(
                        alert.id,
                        &claim,
                        now_ms() + wait.as_millis() as i64,
                        &e.to_string(),
                    )
                    .await?
            }
            Err(e) => {
                tracing::warn!(alert.id = alert.id, error = %e, "alert delivery failed");
                if matches!(&e, Failed::Engine(EngineError::ConnectWise(c)) if c.kind() == ErrorKind::Permission)
                {
                    // A role changed since the last check: say so where the admin looks.
                    let _ = self.check_connection(tenant).await;
                }
                let reason = if e.is_transient() {
                    format!(
                        "gave up after {} attempts over {}: {e}",
                        alert.attempts,
                        human_duration(now_ms() - alert.created_at)
                    )
                } else {
                    e.to_string()
                };
                self.store
                    .finish_alert(alert.id, &claim, "failed", None, None, Some(&reason))
                    .await?
            }
        };
        if !held {
            tracing::warn!(
                alert.id = alert.id,
                "the alert's claim lapsed during delivery; its new holder decides"
            );
        }
        Ok(())
    }

    /// Whether a transient failure should end the alert instead of retrying it: the
    /// attempts or the age cap is reached.
    fn retries_exhausted(&self, alert: &AlertRecord) -> bool {
        alert.attempts >= self.config.max_delivery_attempts
            || now_ms() - alert.created_at >= self.config.max_delivery_age.as_millis() as i64
    }

    async fn deliver(&self, a: &AlertRecord) -> Result<Outcome> {
        let tenant = a.tenant;
        let Some(settings) = self.store.ticket_settings(tenant).await? else {
            return Err(EngineError::invalid(
                "tickets",
                "tickets are not set up: choose the board, status and priority first",
            ));
        };
        if a.alert_type != TEST_ALERT_TYPE
            && let Some(route) = self.store.alert_route(tenant, &a.account).await?
            && !Route::from_stored(&route).forwards(&a.alert_type)
        {
            return Ok(Outcome::Skipped(format!(
                "alert type `{}` is not forwarded for this account",
                a.alert_type
            )));
        }
        let Some(mapping) = self
            .store
            .mappings(tenant)
            .await?
            .into_iter()
            .find(|m| m.external_id == a.account)
        else {
            return Err(EngineError::invalid(
                "account",
                format!(
                    "account `{}` is not mapped to a ConnectWise company",
                    a.account
                ),
            ));
        };
        let policy = self
            .store
            .alert_policy(tenant, &a.alert_type)
            .await?
            .unwrap_or(AlertPolicyRecord {
                alert_type: a.alert_type.clone(),
                note_on_resolve: false,
                recur_after_close: "new".into(),
            });
        let client = self.client_for(tenant).await?;
        let installation = self.store.installation_id().await?;
        let link = self.store.alert_ticket(tenant, &a.alert_key).await?;

        if a.resolved {
            let Some(ticket) = link.and_then(|l| l.ticket_id) else {
                return Ok(Outcome::Skipped(
                    "resolved before any ticket was made".into(),
                ));
            };
            if !policy.note_on_resolve {
                return Ok(Outcome::Skipped(
                    "alert and ticket statuses stay independent".into(),
                ));
            }
            self.note_once(&client, &installation, &settings, ticket, a, "Resolved")
                .await?;
            return Ok(Outcome::Delivered {
                ticket,
                action: "note",
            });
        }

        // This very alert made the key's ticket (and a crash kept it queued): done.
        if let Some(AlertTicketRecord {
            ticket_id: Some(ticket),
            created_by: Some(by),
            ..
        }) = link
            && by == a.id
        {
            return Ok(Outcome::Delivered {
                ticket,
                action: "ticket",
            });
        }

        if let Some(AlertTicketRecord {
            generation,
            ticket_id: Some(ticket),
            ..
        }) = link
        {
            match client.service().tickets().get(ticket).await {
                Ok(t) if t.closed_flag != Some(true) => {
                    self.note_once(&client, &installation, &settings, ticket, a, "Again")
                        .await?;
                    return Ok(Outcome::Delivered {
                        ticket,
                        action: "note",
                    });
                }
                Ok(_) if policy.recur_after_close == "reopen" => {
                    client
                        .service()
                        .tickets()
                        .patch(
                            ticket,
                            &Patch::new().replace(
                                "status",
                                ServiceStatusReference {
                                    id: Some(settings.status_id),
                                    ..Default::default()
                                },
                            ),
                        )
                        .await?;
                    self.note_once(&client, &installation, &settings, ticket, a, "Recurred")
                        .await?;
                    return Ok(Outcome::Delivered {
                        ticket,
                        action: "reopen",
                    });
                }
                // Closed (or deleted): this occurrence opens the key's next ticket.
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
            let next = AlertTicketRecord {
                generation: generation + 1,
                ticket_id: None,
                created_by: None,
            };
            self.store
                .put_alert_ticket(tenant, &a.alert_key, next)
                .await?;
            let ticket = self
                .ticket_once(
                    &client,
                    &installation,
                    &settings,
                    mapping.company_id,
                    a,
                    next.generation,
                )
                .await?;
            return Ok(Outcome::Delivered {
                ticket,
                action: "ticket",
            });
        }
        let generation = link.map_or(1, |l| l.generation);
        if link.is_none() {
            self.store
                .put_alert_ticket(
                    tenant,
                    &a.alert_key,
                    AlertTicketRecord {
                        generation,
                        ticket_id: None,
                        created_by: None,
                    },
                )
                .await?;
        }
        let ticket = self
            .ticket_once(
                &client,
                &installation,
                &settings,
                mapping.company_id,
                a,
                generation,
            )
            .await?;
        Ok(Outcome::Delivered {
            ticket,
            action: "ticket",
        })
    }

    /// The key's ticket of this generation: found by its marker, or made with it.
    async fn ticket_once(
        &self,
        client: &Client,
        installation: &str,
        settings: &TicketSettingsRecord,
        company: i64,
        a: &AlertRecord,
        generation: i64,
    ) -> Result<i64> {
        let marker = format!(
            "cwb-{installation}-{}-{}-{generation}",
            a.tenant,
            hash12(&a.alert_key)
        );
        let tickets = client.service().tickets();
        let found = tickets
            .list()
            .conditions(field("externalXRef").eq(marker.as_str()))
            .send()
            .await?;
        let id = match found.first().and_then(|t| t.id) {
            Some(id) => id,
            None => {
                let ticket = Ticket {
                    summary: Some(cut(&a.summary, SUMMARY_MAX)),
                    initial_description: Some(a.description.clone()),
                    company: Some(CompanyReference {
                        id: Some(company),
                        ..Default::default()
                    }),
                    board: Some(BoardReference {
                        id: Some(settings.board_id),
                        ..Default::default()
                    }),
                    status: Some(ServiceStatusReference {
                        id: Some(settings.status_id),
                        ..Default::default()
                    }),
                    priority: Some(PriorityReference {
                        id: Some(settings.priority_id),
                        ..Default::default()
                    }),
                    r#type: settings.type_id.map(|id| ServiceTypeReference {
                        id: Some(id),
                        ..Default::default()
                    }),
                    external_x_ref: Some(marker),
                    ..Default::default()
                };
                tickets.create(&ticket).await?.id.unwrap_or_default()
            }
        };
        self.store
            .put_alert_ticket(
                a.tenant,
                &a.alert_key,
                AlertTicketRecord {
                    generation,
                    ticket_id: Some(id),
                    created_by: Some(a.id),
                },
            )
            .await?;
        Ok(id)
    }

    /// A note for this alert on the ticket, unless one with its marker is there already.
    async fn note_once(
        &self,
        client: &Client,
        installation: &str,
        settings: &TicketSettingsRecord,
        ticket: i64,
        a: &AlertRecord,
        what: &str,
    ) -> Result<()> {
        let marker = format!("[cwb-alert {installation}-{}]", a.id);
        let notes = client.service().ticket_notes(ticket);
        let existing: Vec<ServiceNote> =
            notes.list().page_size(1000).stream().try_collect().await?;
        if existing
            .iter()
            .any(|n| n.text.as_deref().is_some_and(|t| t.contains(&marker)))
        {
            return Ok(());
        }
        let text = format!(
            "Written by cwbridge on behalf of {}. {what}: {}\n\n{}\n\n{marker}",
            settings.signature, a.summary, a.description
        );
        notes
            .create(&ServiceNote {
                text: Some(text),
                detail_description_flag: Some(true),
                ..Default::default()
            })
            .await?;
        Ok(())
    }
}

/// Each tenant's queued alerts as last counted, with when; accepts on this instance are
/// added as they happen.
#[derive(Debug, Default)]
pub(crate) struct QueueCounts(
    std::sync::Mutex<std::collections::HashMap<TenantId, (std::time::Instant, i64)>>,
);

impl QueueCounts {
    /// How long a count near the limit (half of it or more) is trusted.
    const FRESH: Duration = Duration::from_secs(1);

    /// How long a count well below the limit is trusted: counting is bounded by the limit,
    /// and a long queue far from it need not be counted every second.
    const FRESH_WHEN_LOW: Duration = Duration::from_secs(10);

    /// The count when it is fresh. When it is stale, the first caller is told to count
    /// again (`None`) and, meanwhile, the others keep the old count: at most one count a
    /// second per tenant however many alerts arrive at once.
    fn fresh(&self, tenant: TenantId, limit: i64) -> Option<i64> {
        let mut map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (at, n) = map.get_mut(&tenant)?;
        let trusted = if *n < limit / 2 {
            Self::FRESH_WHEN_LOW
        } else {
            Self::FRESH
        };
        if at.elapsed() < trusted {
            return Some(*n);
        }
        *at = std::time::Instant::now();
        None
    }

    fn set(&self, tenant: TenantId, n: i64) {
        let mut map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Tenants not heard from lately are forgotten, so the map stays small.
        if map.len() > 10_000 {
            map.retain(|_, (at, _)| at.elapsed() < Self::FRESH_WHEN_LOW);
        }
        map.insert(tenant, (std::time::Instant::now(), n));
    }

    fn accepted(&self, tenant: TenantId) {
        let mut map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, n)) = map.get_mut(&tenant) {
            *n += 1;
        }
    }
}

/// Stops a task when dropped: the claim's renewal ends with its delivery, even one that is
/// itself cancelled (an instance shutting down).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Why a delivery attempt did not succeed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Failed {
    /// The engine's error, from ConnectWise or the store.
    #[error(transparent)]
    Engine(EngineError),
    /// The attempt ran past its overall deadline (it may have written: the markers make
    /// the retry safe).
    #[error("ConnectWise did not finish the delivery within {} s", .0.as_secs())]
    Deadline(Duration),
}

impl Failed {
    /// Whether trying again later may work: ConnectWise unreachable, throttled, failing,
    /// too slow, or a write whose answer was lost (the markers make the retry safe).
    pub(crate) fn is_transient(&self) -> bool {
        match self {
            Failed::Engine(EngineError::ConnectWise(c)) => {
                c.maybe_applied()
                    || matches!(c.kind(), ErrorKind::Transient | ErrorKind::RateLimited)
            }
            Failed::Engine(EngineError::Store(_)) | Failed::Deadline(_) => true,
            Failed::Engine(_) => false,
        }
    }

    /// Whether it says ConnectWise itself is unwell (what the circuit breaker counts),
    /// rather than something about this one alert.
    pub(crate) fn is_site_failure(&self) -> bool {
        match self {
            Failed::Engine(EngineError::ConnectWise(c)) => {
                matches!(c.kind(), ErrorKind::Transient | ErrorKind::RateLimited)
            }
            Failed::Deadline(_) => true,
            Failed::Engine(_) => false,
        }
    }
}

/// A span of milliseconds in words: `45 s`, `12 min`, `3 h 20 min`.
fn human_duration(ms: i64) -> String {
    let secs = (ms / 1000).max(0);
    match secs {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s => format!("{} h {} min", s / 3600, s % 3600 / 60),
    }
}

/// 2^attempts seconds, jittered, at most ten minutes.
fn backoff(attempts: i64) -> Duration {
    let base = 1u64 << attempts.clamp(0, 10);
    let secs = base.min(600);
    Duration::from_millis(rand::thread_rng().gen_range(secs * 500..=secs * 1000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_fit_connectwise_and_backoff_grows_to_a_cap() {
        assert_eq!(cut(&"x".repeat(150), SUMMARY_MAX).chars().count(), 100);
        assert_eq!(cut("short", SUMMARY_MAX), "short");
        assert!(backoff(1) <= Duration::from_secs(2));
        assert!(backoff(30) <= Duration::from_secs(600));
        assert!(backoff(30) >= Duration::from_secs(300));
    }
}
