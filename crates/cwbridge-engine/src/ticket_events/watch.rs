//! A ticket the bridge made, read again and compared with how it was last seen: closed,
//! reopened, notes added by people (the bridge's own notes are not news, and internal notes
//! — the MSP's own analysis — never leave ConnectWise). Each change is
//! recorded with its webhooks in one transaction, so it is queued once however many
//! callbacks, polls or instances see it. Polling finds the tickets changed since the last
//! read, for tenants ConnectWise cannot call back.

use connectwise_client::Client;
use connectwise_client::conditions::field;
use connectwise_client::models::{ServiceNote, Ticket};
use cwbridge_store::{NewWebhook, TenantId, TicketEventsRecord, WatchedTicket};
use futures_util::TryStreamExt;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::callback::CallbackOutcome;
use crate::{Engine, EngineError, Result};

/// Characters of a note's text a webhook carries (the rest is cut, marked `…`).
pub const NOTE_CHARS: usize = 10_000;

/// A note as the comparison reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoteSeen {
    /// Its id.
    pub id: i64,
    /// Whether it is not the vendor's to see: written by the bridge (its author is the
    /// member that made the ticket), or internal to the MSP.
    pub withheld: bool,
}

/// One change found on a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// A note added by a person.
    NoteAdded(i64),
    /// Closed since last seen.
    Closed,
    /// Open again since last seen closed.
    Reopened,
}

impl Found {
    /// The webhook's type.
    pub fn kind(self) -> &'static str {
        match self {
            Found::NoteAdded(_) => "ticket.note_added",
            Found::Closed => "ticket.closed",
            Found::Reopened => "ticket.reopened",
        }
    }
}

/// What changed since `seen` (closed, newest note), given whether the ticket is closed now
/// and its notes after the newest seen: the changes in order (notes first, as a resolution
/// note is written before the close), and the state to record.
pub fn changes(seen: (bool, i64), closed: bool, notes: &[NoteSeen]) -> (Vec<Found>, (bool, i64)) {
    let mut found: Vec<Found> = notes
        .iter()
        .filter(|n| n.id > seen.1 && !n.withheld)
        .map(|n| Found::NoteAdded(n.id))
        .collect();
    match (seen.0, closed) {
        (false, true) => found.push(Found::Closed),
        (true, false) => found.push(Found::Reopened),
        _ => {}
    }
    let newest = notes.iter().map(|n| n.id).fold(seen.1, i64::max);
    (found, (closed, newest))
}

/// The id of one change: the same change always gets the same id (a note by its id, a close
/// or reopen by the ticket's version when it was found), so it is queued once.
fn event_id(tenant: TenantId, ticket: i64, found: Found, version: i64) -> String {
    let which = match found {
        Found::NoteAdded(note) => format!("note:{note}"),
        Found::Closed | Found::Reopened => format!("{}:{version}", found.kind()),
    };
    let digest = Sha256::digest(format!("{tenant}:{ticket}:{which}").as_bytes());
    format!("evt_{}", &hex::encode(digest)[..32])
}

/// Whether ConnectWise says the ticket is closed.
fn is_closed(t: &Ticket) -> bool {
    t.closed_flag.unwrap_or(false)
}

/// Unix ms of an RFC 3339 time ConnectWise wrote.
fn unix_ms(text: &str) -> Option<i64> {
    let t =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    Some((t.unix_timestamp_nanos() / 1_000_000) as i64)
}

fn info<'a>(info: &'a Option<connectwise_client::models::RecordInfo>, key: &str) -> &'a str {
    info.as_ref()
        .and_then(|i| i.get(key))
        .map_or("", String::as_str)
}

fn cut(text: &str) -> String {
    if text.chars().count() <= NOTE_CHARS {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(NOTE_CHARS - 1).collect();
    out.push('…');
    out
}

impl Engine {
    /// Reads ticket `id` again and records what changed since it was last seen.
    pub(crate) async fn observe_ticket(
        &self,
        tenant: TenantId,
        client: &Client,
        id: i64,
        events: &TicketEventsRecord,
    ) -> Result<CallbackOutcome> {
        let ticket = match client.service().tickets().get(id).await {
            Ok(t) => t,
            Err(e) if e.kind() == connectwise_client::ErrorKind::NotFound => {
                return Ok(CallbackOutcome::ignored("no such ticket"));
            }
            Err(e) => return Err(e.into()),
        };
        self.observe(tenant, client, &ticket, events).await
    }

    /// Records what changed on `ticket` (as just read) since it was last seen; a ticket the
    /// bridge did not make is ignored.
    async fn observe(
        &self,
        tenant: TenantId,
        client: &Client,
        ticket: &Ticket,
        events: &TicketEventsRecord,
    ) -> Result<CallbackOutcome> {
        let installation = self.store.installation_id().await?;
        let ours = format!("cwb-{installation}-{tenant}-");
        let id = ticket.id.unwrap_or_default();
        if !ticket
            .external_x_ref
            .as_deref()
            .is_some_and(|x| x.starts_with(&ours))
        {
            return Ok(CallbackOutcome::ignored("not a ticket cwbridge made"));
        }
        let author = info(&ticket.info, "enteredBy").to_owned();
        // Two writers may see one change at once: the one that records it second reads again.
        for _ in 0..3 {
            let seen = self.store.watched_ticket(tenant, id).await?;
            // Made since ticket events were on: compared with the ticket as made. Made
            // before: what it is now is where watching starts, and nothing is news.
            // ConnectWise writes whole seconds, so the second they were turned on counts.
            let made_since = unix_ms(info(&ticket.info, "dateEntered"))
                .is_some_and(|made| made / 1000 >= events.enabled_at / 1000);
            let baseline = match seen {
                Some(w) => Some((w.closed, w.last_note_id)),
                None if made_since => Some((false, 0)),
                None => None,
            };
            let after = baseline.map_or(0, |(_, note)| note);
            let notes: Vec<ServiceNote> = client
                .service()
                .ticket_notes(id)
                .list()
                .conditions(field("id").gt(after))
                .order_by("id")
                .page_size(1000)
                .stream()
                .try_collect()
                .await?;
            let seen_notes: Vec<NoteSeen> = notes
                .iter()
                .filter_map(|n| {
                    let internal = n.internal_analysis_flag.unwrap_or(false)
                        || n.internal_flag.unwrap_or(false);
                    Some(NoteSeen {
                        id: n.id?,
                        withheld: internal || info(&n.info, "enteredBy") == author,
                    })
                })
                .collect();
            let (found, now) = match baseline {
                Some(baseline) => changes(baseline, is_closed(ticket), &seen_notes),
                None => changes((is_closed(ticket), 0), is_closed(ticket), &[]),
            };
            let now = match baseline {
                Some(_) => now,
                None => (now.0, seen_notes.iter().map(|n| n.id).max().unwrap_or(0)),
            };
            if seen.is_some_and(|w| (w.closed, w.last_note_id) == now) && found.is_empty() {
                return Ok(CallbackOutcome::ignored("nothing changed"));
            }
            let version = seen.map_or(0, |w: WatchedTicket| w.version);
            let webhooks: Vec<NewWebhook> = found
                .iter()
                .map(|f| {
                    let event = event_id(tenant, id, *f, version);
                    let note = match f {
                        Found::NoteAdded(n) => notes.iter().find(|x| x.id == Some(*n)),
                        _ => None,
                    };
                    NewWebhook {
                        body: body(&event, *f, tenant, ticket, note).to_string(),
                        event_id: event,
                        kind: f.kind().to_owned(),
                    }
                })
                .collect();
            if self
                .store
                .record_ticket(tenant, id, seen, now, &webhooks)
                .await?
            {
                if !webhooks.is_empty() {
                    self.webhook_queued.notify_one();
                }
                return Ok(CallbackOutcome {
                    queued: webhooks.len(),
                    ignored: None,
                });
            }
        }
        Err(EngineError::Conflict(format!(
            "ticket {id} kept changing while it was read; the next callback or poll records it"
        )))
    }

    /// Reads the tickets the bridge made for `tenant` that changed since the last poll, and
    /// records their changes; answers how many webhooks were queued.
    pub async fn poll_tickets(&self, tenant: TenantId) -> Result<usize> {
        let Some(events) = self.store.ticket_events(tenant).await? else {
            return Ok(0);
        };
        let client = self.client_for(tenant).await?;
        let installation = self.store.installation_id().await?;
        // A few seconds of overlap: a change made in the second of the last read is read
        // again, and recorded once.
        let from = events.polled_to.unwrap_or(events.enabled_at) - 5_000;
        let since = time::OffsetDateTime::from_unix_timestamp(from.max(0) / 1000)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        let changed: Vec<Ticket> = client
            .service()
            .tickets()
            .list()
            .conditions(
                field("externalXRef")
                    .like(format!("cwb-{installation}-{tenant}-%"))
                    .and(field("lastUpdated").gt(since)),
            )
            .order_by("id")
            .page_size(1000)
            .stream()
            .try_collect()
            .await?;
        let mut queued = 0;
        let mut newest = events.polled_to.unwrap_or(events.enabled_at);
        for t in &changed {
            queued += self.observe(tenant, &client, t, &events).await?.queued;
            if let Some(at) = unix_ms(info(&t.info, "lastUpdated")) {
                newest = newest.max(at);
            }
        }
        self.store.set_polled_to(tenant, newest).await?;
        Ok(queued)
    }
}

/// Tenants polled at once.
const POLLED_AT_ONCE: usize = 16;

impl Engine {
    /// Polls every tenant that polls, [`POLLED_AT_ONCE`] at a time, every
    /// `ticket_poll_interval`, until `stop` resolves; one tenant's trouble never stops the
    /// others'.
    pub async fn run_ticket_poller(&self, stop: impl std::future::Future<Output = ()>) {
        use futures_util::StreamExt;
        let mut stop = std::pin::pin!(stop);
        loop {
            match self.store.polling_tenants().await {
                Ok(tenants) => {
                    futures_util::stream::iter(tenants)
                        .for_each_concurrent(POLLED_AT_ONCE, |r| async move {
                            let tenant = TenantId(r.tenant_id);
                            if let Err(e) = self.poll_tickets(tenant).await {
                                tracing::warn!(tenant.id = %tenant, error = %e, "polling tickets failed");
                            }
                        })
                        .await
                }
                Err(e) => tracing::warn!(error = %e, "listing the tenants that poll failed"),
            }
            tokio::select! {
                _ = &mut stop => return,
                _ = tokio::time::sleep(self.config.ticket_poll_interval) => {}
            }
        }
    }
}

/// The webhook's JSON.
fn body(
    event: &str,
    found: Found,
    tenant: TenantId,
    t: &Ticket,
    note: Option<&ServiceNote>,
) -> Value {
    let name = |r: Option<&str>| r.map(str::to_owned);
    let mut body = json!({
        "id": event,
        "type": found.kind(),
        "createdAt": time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        "tenantId": tenant.0,
        "ticket": {
            "id": t.id,
            "summary": t.summary,
            "status": name(t.status.as_ref().and_then(|s| s.name.as_deref())),
            "closed": is_closed(t),
            "board": name(t.board.as_ref().and_then(|b| b.name.as_deref())),
            "company": name(t.company.as_ref().and_then(|c| c.identifier.as_deref())),
            "externalXRef": t.external_x_ref,
        },
    });
    if let Some(n) = note {
        body["note"] = json!({
            "id": n.id,
            "text": cut(n.text.as_deref().unwrap_or_default()),
            "createdBy": n.created_by.clone().or_else(|| Some(info(&n.info, "enteredBy").to_owned())),
            "dateCreated": n.date_created,
        });
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(id: i64, withheld: bool) -> NoteSeen {
        NoteSeen { id, withheld }
    }

    #[test]
    fn a_ticket_s_changes_are_its_peoples_notes_then_its_close_or_reopen() {
        let cases = [
            ("nothing", (false, 0), false, vec![], vec![], (false, 0)),
            (
                "closed",
                (false, 3),
                true,
                vec![],
                vec![Found::Closed],
                (true, 3),
            ),
            (
                "reopened",
                (true, 3),
                false,
                vec![],
                vec![Found::Reopened],
                (false, 3),
            ),
            (
                "a note, then closed",
                (false, 3),
                true,
                vec![note(4, false)],
                vec![Found::NoteAdded(4), Found::Closed],
                (true, 4),
            ),
            (
                "the bridge's own note, or an internal one, is not the vendor's",
                (false, 3),
                false,
                vec![note(4, true), note(5, false)],
                vec![Found::NoteAdded(5)],
                (false, 5),
            ),
            (
                "a note seen already",
                (false, 5),
                false,
                vec![note(5, false)],
                vec![],
                (false, 5),
            ),
        ];
        for (label, seen, closed, notes, want, state) in cases {
            assert_eq!(changes(seen, closed, &notes), (want, state), "{label}");
        }
    }

    #[test]
    fn one_change_has_one_id_and_another_change_another() {
        let t = TenantId(1);
        let a = event_id(t, 7, Found::Closed, 2);
        assert_eq!(a, event_id(t, 7, Found::Closed, 2));
        for other in [
            event_id(t, 7, Found::Closed, 4),
            event_id(t, 8, Found::Closed, 2),
            event_id(TenantId(2), 7, Found::Closed, 2),
            event_id(t, 7, Found::Reopened, 2),
            event_id(t, 7, Found::NoteAdded(2), 2),
        ] {
            assert_ne!(a, other);
        }
        assert!(a.starts_with("evt_") && a.len() == 36);
    }
}
