//! Delivering one alert: claimed under a lease with a deadline, routed, and written to
//! ConnectWise once (a ticket found by its key's marker before one is made, a note by its
//! alert's marker), retried with backoff or kept failed with the reason.

use super::*;

/// How one delivery attempt ended.
enum Outcome {
    Delivered { ticket: i64, action: &'static str },
    Skipped(String),
}

impl Engine {
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
    #[tracing::instrument(name = "alert.deliver", skip_all, fields(tenant.id = alert.tenant.0, alert.id = alert.id, attempt = alert.attempts))]
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
        let measured = match &outcome {
            Ok(Outcome::Delivered { .. }) => "delivered",
            Ok(Outcome::Skipped(_)) => "skipped",
            Err(e) if e.is_transient() && !self.retries_exhausted(&alert) => "retried",
            Err(_) => "failed",
        };
        measure::count(measure::ALERT_DELIVERIES, tenant, &[("outcome", measured)]);
        let held = match outcome {
            Ok(Outcome::Delivered { ticket, action }) => {
                measure::alert_reached_connectwise(tenant, alert.created_at);
                self.store
                    .finish_alert(
                        alert.id,
                        &claim,
                        cwbridge_store::AlertState::Delivered,
                        Some(ticket),
                        Some(action),
                        None,
                    )
                    .await?
            }
            Ok(Outcome::Skipped(why)) => {
                self.store
                    .finish_alert(
                        alert.id,
                        &claim,
                        cwbridge_store::AlertState::Skipped,
                        None,
                        Some(&why),
                        None,
                    )
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
                    .finish_alert(
                        alert.id,
                        &claim,
                        cwbridge_store::AlertState::Failed,
                        None,
                        None,
                        Some(&reason),
                    )
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

        // The generation whose ticket this alert opens, and whether it is new to the store.
        let (generation, first_of_generation) = match link {
            Some(AlertTicketRecord {
                generation,
                ticket_id: Some(ticket),
                ..
            }) => {
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
                (generation + 1, true)
            }
            Some(l) => (l.generation, false),
            None => (1, true),
        };
        if first_of_generation {
            let record = AlertTicketRecord {
                generation,
                ticket_id: None,
                created_by: None,
            };
            self.store
                .put_alert_ticket(tenant, &a.alert_key, record)
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

/// Stops a task when dropped: the claim's renewal ends with its delivery, even one that is
/// itself cancelled (an instance shutting down).
pub(crate) struct AbortOnDrop(pub(crate) tokio::task::JoinHandle<()>);

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
pub(super) fn backoff(attempts: i64) -> Duration {
    let base = 1u64 << attempts.clamp(0, 10);
    let secs = base.min(600);
    Duration::from_millis(rand::thread_rng().gen_range(secs * 500..=secs * 1000))
}
