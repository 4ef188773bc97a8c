//! How a document differs from what is stored, section by section: a pure comparison of
//! two documents (the stored one as export reads it, the wanted one checked), and the lines
//! a person reads.

use std::fmt;

use serde::Serialize;
use utoipa::ToSchema;

use super::compare::{Keyed, lists};
use super::document::{
    BillingSection, ConnectionSection, MappingEntry, PolicyEntry, RouteEntry, SettingsDocument,
    TicketsSection,
};
use crate::CheckReport;

/// A section of the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema, strum::Display)]
#[serde(rename_all = "camelCase")]
#[strum(serialize_all = "camelCase")]
pub enum SettingsSection {
    /// The ConnectWise connection.
    Connection,
    /// Billing & product.
    Billing,
    /// Ticket defaults.
    Tickets,
    /// Accounts mapped to companies.
    Mappings,
    /// The alert types each customer forwards.
    AlertRoutes,
    /// Alert-type policies.
    AlertPolicies,
}

/// Where a section stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum SectionState {
    /// Not in the document: left as it is.
    NotInDocument,
    /// As stored already.
    Unchanged,
    /// Some of it changes.
    Changed,
}

/// What happens to one thing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum SettingChangeKind {
    /// It is set where nothing was.
    Added,
    /// It is set to something else.
    Changed,
    /// It goes (back to the default).
    Removed,
}

/// One change: a field of a section, or an entry of a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SettingChange {
    /// Added, changed or removed.
    pub kind: SettingChangeKind,
    /// The field (`product`) or the entry's key (an account, an alert type).
    pub item: String,
    /// What it was, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub was: Option<String>,
    /// What it becomes, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub becomes: Option<String>,
}

/// One section's difference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SectionDiff {
    /// The section.
    pub section: SettingsSection,
    /// Whether it is in the document and whether it changes.
    pub state: SectionState,
    /// Entries the document lists (lists only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entries: Option<usize>,
    /// Its changes, one a field or entry.
    pub changes: Vec<SettingChange>,
}

/// How a tenant's settings differ from a document, and whether the document was applied.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SettingsDiff {
    /// Whether the changes were written (not for a dry run, nor when nothing changes).
    pub applied: bool,
    /// Every section, in the document's order.
    pub sections: Vec<SectionDiff>,
    /// The check made of a connection the document changed, after it was saved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check: Option<CheckReport>,
}

impl SettingsDiff {
    /// How many changes there are.
    pub fn changes(&self) -> usize {
        self.sections.iter().map(|s| s.changes.len()).sum()
    }

    /// Whether the document changes `section`.
    pub fn changes_section(&self, section: SettingsSection) -> bool {
        self.sections
            .iter()
            .any(|s| s.section == section && s.state == SectionState::Changed)
    }
}

/// One line per section left alone or unchanged, one per change:
/// `mappings: + g-acme: company #19 Acme Corporation`.
impl fmt::Display for SettingsDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for s in &self.sections {
            let entries = s.entries.map(|n| format!(" ({n})")).unwrap_or_default();
            match s.state {
                SectionState::NotInDocument => {
                    writeln!(f, "{}: not in the document, left as it is", s.section)?
                }
                SectionState::Unchanged => writeln!(f, "{}: unchanged{entries}", s.section)?,
                SectionState::Changed => {
                    for c in &s.changes {
                        let sign = match c.kind {
                            SettingChangeKind::Added => '+',
                            SettingChangeKind::Changed => '~',
                            SettingChangeKind::Removed => '-',
                        };
                        let what = match (&c.was, &c.becomes) {
                            (Some(was), Some(becomes)) => format!("{was} → {becomes}"),
                            (was, becomes) => was.clone().or(becomes.clone()).unwrap_or_default(),
                        };
                        writeln!(f, "{}: {sign} {}: {what}", s.section, c.item)?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// What the document says of the private key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Key {
    /// None given: the saved one is kept.
    Kept,
    /// One given, the same as the saved one.
    Same,
    /// One given that is new.
    New,
}

/// A ConnectWise record as a document names it: its name, and its id when given.
type Named<'a> = (&'a str, Option<i64>);

/// Whether the record a document wants is the one stored: by name, in any case, as
/// ConnectWise compares names (an id beside it is for people).
fn same_named(stored: Named<'_>, wanted: Named<'_>) -> bool {
    stored.0.to_lowercase() == wanted.0.to_lowercase()
}

fn named((name, id): Named<'_>) -> String {
    match id {
        Some(id) => format!("{name} (#{id})"),
        None => name.to_owned(),
    }
}

/// A singleton section's field changes, stored (if any) against wanted.
struct Fields {
    fresh: bool,
    out: Vec<SettingChange>,
}

impl Fields {
    fn new(fresh: bool) -> Fields {
        Fields {
            fresh,
            out: Vec::new(),
        }
    }

    fn push(&mut self, item: &str, was: Option<String>, becomes: String, same: bool) {
        if self.fresh || !same {
            self.out.push(SettingChange {
                kind: if self.fresh {
                    SettingChangeKind::Added
                } else {
                    SettingChangeKind::Changed
                },
                item: item.to_owned(),
                was: if self.fresh { None } else { was },
                becomes: Some(becomes),
            });
        }
    }

    /// A field compared as it is written.
    fn plain(&mut self, item: &str, was: Option<String>, becomes: String) {
        let same = was.as_deref() == Some(becomes.as_str());
        self.push(item, was, becomes, same);
    }

    /// A ConnectWise record, compared by [`same_named`].
    fn named(&mut self, item: &str, was: Option<Named<'_>>, becomes: Option<Named<'_>>) {
        let same = match (was, becomes) {
            (Some(s), Some(w)) => same_named(s, w),
            (s, w) => s.is_none() && w.is_none(),
        };
        let words = |n: Option<Named<'_>>| n.map_or_else(|| "none".to_owned(), named);
        self.push(item, Some(words(was)), words(becomes), same);
    }
}

fn connection(
    stored: Option<&ConnectionSection>,
    wanted: &ConnectionSection,
    key: Key,
) -> Vec<SettingChange> {
    let mut f = Fields::new(stored.is_none());
    for (item, was, becomes) in [
        ("site", stored.map(|s| &s.site), &wanted.site),
        (
            "companyId",
            stored.map(|s| &s.company_id),
            &wanted.company_id,
        ),
        (
            "publicKey",
            stored.map(|s| &s.public_key),
            &wanted.public_key,
        ),
        ("clientId", stored.map(|s| &s.client_id), &wanted.client_id),
    ] {
        f.plain(item, was.cloned(), becomes.clone());
    }
    if key == Key::New {
        f.push(
            "privateKey",
            None,
            "the one given (not shown)".into(),
            false,
        );
    }
    f.out
}

fn billing(stored: Option<&BillingSection>, wanted: &BillingSection) -> Vec<SettingChange> {
    fn product(b: &BillingSection) -> Named<'_> {
        (&b.product, b.product_id)
    }
    fn agreement_type(b: &BillingSection) -> Named<'_> {
        (&b.agreement_type, b.agreement_type_id)
    }
    let mut f = Fields::new(stored.is_none());
    f.named("product", stored.map(product), Some(product(wanted)));
    f.named(
        "agreementType",
        stored.map(agreement_type),
        Some(agreement_type(wanted)),
    );
    f.plain(
        "mode",
        stored.map(|s| s.mode.to_string()),
        wanted.mode.to_string(),
    );
    f.plain(
        "driftPolicy",
        stored.map(|s| s.drift_policy.to_string()),
        wanted.drift_policy.to_string(),
    );
    f.plain(
        "scheduleHours",
        stored.map(|s| s.schedule_hours.to_string()),
        wanted.schedule_hours.to_string(),
    );
    f.out
}

fn tickets(stored: Option<&TicketsSection>, wanted: &TicketsSection) -> Vec<SettingChange> {
    fn board(t: &TicketsSection) -> Named<'_> {
        (&t.board, t.board_id)
    }
    fn status(t: &TicketsSection) -> Named<'_> {
        (&t.status, t.status_id)
    }
    fn priority(t: &TicketsSection) -> Named<'_> {
        (&t.priority, t.priority_id)
    }
    fn ticket_type(t: &TicketsSection) -> Option<Named<'_>> {
        t.ticket_type.as_deref().map(|n| (n, t.type_id))
    }
    let mut f = Fields::new(stored.is_none());
    f.named("board", stored.map(board), Some(board(wanted)));
    f.named("status", stored.map(status), Some(status(wanted)));
    f.named("priority", stored.map(priority), Some(priority(wanted)));
    f.named("type", stored.and_then(ticket_type), ticket_type(wanted));
    f.plain(
        "signature",
        stored.and_then(|s| s.signature.clone()),
        wanted.signature.clone().unwrap_or_default(),
    );
    f.out
}

/// A list's changes: added and changed entries in the document's order, then removed ones;
/// `gone` says what a removed entry becomes.
fn list<T>(
    k: &Keyed<'_, T>,
    key: impl Fn(&T) -> &str,
    words: impl Fn(&T) -> String,
    gone: &str,
) -> Vec<SettingChange> {
    let mut out: Vec<(usize, SettingChange)> = k
        .added
        .iter()
        .map(|(i, w)| (*i, SettingChangeKind::Added, None, w))
        .chain(
            k.changed
                .iter()
                .map(|(i, s, w)| (*i, SettingChangeKind::Changed, Some(words(s)), w)),
        )
        .map(|(i, kind, was, w)| {
            let change = SettingChange {
                kind,
                item: key(w).to_owned(),
                was,
                becomes: Some(words(w)),
            };
            (i, change)
        })
        .collect();
    out.sort_by_key(|(i, _)| *i);
    out.into_iter()
        .map(|(_, c)| c)
        .chain(k.removed.iter().map(|s| SettingChange {
            kind: SettingChangeKind::Removed,
            item: key(s).to_owned(),
            was: Some(words(s)),
            becomes: Some(gone.to_owned()),
        }))
        .collect()
}

fn mapping_words(m: &MappingEntry) -> String {
    let mut words = format!("company #{}", m.company_id);
    if let Some(name) = &m.company_name {
        words.push_str(&format!(" {name}"));
    }
    if let Some(agreement) = m.agreement_id {
        words.push_str(&format!(", agreement #{agreement}"));
    }
    words
}

fn route_words(r: &RouteEntry) -> String {
    match r.types.as_slice() {
        [all] if all == "*" => "every type".to_owned(),
        [] => "no type".to_owned(),
        types => types.join(", "),
    }
}

fn policy_words(p: &PolicyEntry) -> String {
    format!(
        "{} after a close, {}",
        if p.recur_after_close == "reopen" {
            "reopen"
        } else {
            "new ticket"
        },
        if p.note_on_resolve {
            "note on resolve"
        } else {
            "no note on resolve"
        }
    )
}

/// A section's difference: `changes` is `None` when the document leaves it out.
fn section(
    section: SettingsSection,
    entries: Option<usize>,
    changes: Option<Vec<SettingChange>>,
) -> SectionDiff {
    let state = match &changes {
        None => SectionState::NotInDocument,
        Some(c) if c.is_empty() => SectionState::Unchanged,
        Some(_) => SectionState::Changed,
    };
    SectionDiff {
        section,
        state,
        entries,
        changes: changes.unwrap_or_default(),
    }
}

/// How `wanted` (checked, as it would be stored) differs from `stored` (as export reads
/// it), every section in order; `key` is what the document's caller said of the private key.
pub(crate) fn between(
    stored: &SettingsDocument,
    wanted: &SettingsDocument,
    key: Key,
) -> Vec<SectionDiff> {
    let (s, w, l) = (stored, wanted, lists(stored, wanted));
    vec![
        section(
            SettingsSection::Connection,
            None,
            w.connection
                .as_ref()
                .map(|w| connection(s.connection.as_ref(), w, key)),
        ),
        section(
            SettingsSection::Billing,
            None,
            w.billing.as_ref().map(|w| billing(s.billing.as_ref(), w)),
        ),
        section(
            SettingsSection::Tickets,
            None,
            w.tickets.as_ref().map(|w| tickets(s.tickets.as_ref(), w)),
        ),
        section(
            SettingsSection::Mappings,
            w.mappings.as_ref().map(Vec::len),
            w.mappings
                .as_ref()
                .map(|_| list(&l.mappings, |m| &m.account, mapping_words, "unmapped")),
        ),
        section(
            SettingsSection::AlertRoutes,
            w.alert_routes.as_ref().map(Vec::len),
            w.alert_routes.as_ref().map(|_| {
                let gone = "every type (the default)";
                list(&l.routes, |r| &r.account, route_words, gone)
            }),
        ),
        section(
            SettingsSection::AlertPolicies,
            w.alert_policies.as_ref().map(Vec::len),
            w.alert_policies
                .as_ref()
                .map(|_| list(&l.policies, |p| &p.alert_type, policy_words, "the default")),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::billing::Mode;
    use crate::settings::document::tests::full;

    fn lines(stored: &SettingsDocument, wanted: &SettingsDocument, key: Key) -> Vec<String> {
        let diff = SettingsDiff {
            applied: false,
            sections: between(stored, wanted, key),
            check: None,
        };
        diff.to_string().lines().map(str::to_owned).collect()
    }

    #[test]
    fn each_change_is_one_line_and_sections_left_out_say_so() {
        let stored = SettingsDocument {
            mappings: Some(vec![
                MappingEntry::new("a", 1),
                MappingEntry::new("b", 2),
                MappingEntry::new("d", 4),
            ]),
            ..full()
        };
        let mut wanted = stored.clone();
        wanted.connection = None;
        let billing = wanted.billing.as_mut().unwrap();
        // By name, in another case, without the id: the same product.
        (billing.product, billing.product_id) = ("dmarc-monitor".into(), None);
        billing.mode = Mode::Bundled;
        let tickets = wanted.tickets.as_mut().unwrap();
        // Names decide: another board by name, the same status under another id.
        (tickets.board, tickets.board_id) = ("Service Board".into(), None);
        tickets.status_id = Some(99);
        let named_a = MappingEntry {
            company_name: Some("Acme".into()),
            ..MappingEntry::new("a", 1)
        };
        wanted.mappings = Some(vec![
            MappingEntry::new("c", 3),
            named_a,
            MappingEntry::new("b", 9),
        ]);
        wanted.alert_routes = Some(Vec::new());
        assert_eq!(
            lines(&stored, &wanted, Key::Kept),
            [
                "connection: not in the document, left as it is",
                "billing: ~ mode: per_unit → bundled",
                "tickets: ~ board: Help Desk (#1) → Service Board",
                "mappings: + c: company #3",
                "mappings: ~ b: company #2 → company #9",
                "mappings: - d: company #4 → unmapped",
                "alertRoutes: - g-acme: dmarc-failure, spf-failing → every type (the default)",
                "alertPolicies: unchanged (1)",
            ]
        );
    }

    #[test]
    fn a_fresh_tenant_gets_every_field_and_a_new_key_is_named_not_shown() {
        let wanted = full();
        let fresh = lines(&SettingsDocument::default(), &wanted, Key::New);
        assert!(fresh.contains(&"connection: + privateKey: the one given (not shown)".to_owned()));
        assert!(fresh.contains(&"billing: + product: DMARC-MONITOR (#41)".to_owned()));
        assert!(fresh.contains(&"tickets: + type: Alert (#2)".to_owned()));
        assert!(fresh.contains(
            &"alertPolicies: + dmarc-failure: reopen after a close, note on resolve".to_owned()
        ));
        assert_eq!(fresh.len(), 5 + 5 + 5 + 3);
        let same = lines(&wanted, &wanted, Key::Same);
        assert!(
            same.iter()
                .all(|l| l.ends_with(": unchanged") || l.contains("unchanged (")),
            "{same:?}"
        );
    }
}
