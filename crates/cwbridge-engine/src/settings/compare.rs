//! How a document's lists (mappings, alert routes, policies) differ from the stored ones,
//! entry by entry, keyed by account or alert type: what the difference shows and what apply
//! writes.

use std::collections::{HashMap, HashSet};

use super::document::{MappingEntry, PolicyEntry, RouteEntry, SettingsDocument};

/// How two lists keyed by account (or alert type) differ.
pub(crate) struct Keyed<'a, T> {
    /// In the document, not stored: with their places in the document.
    pub added: Vec<(usize, &'a T)>,
    /// Stored and different in the document: their places, what is stored, what is wanted.
    pub changed: Vec<(usize, &'a T, &'a T)>,
    /// Stored, not in the document.
    pub removed: Vec<&'a T>,
}

impl<'a, T> Keyed<'a, T> {
    /// The entries to save — added and changed, as the document has them — with their
    /// places in the document.
    pub fn wanted(&self) -> impl Iterator<Item = (usize, &'a T)> + '_ {
        (self.added.iter().copied()).chain(self.changed.iter().map(|(i, _, w)| (*i, *w)))
    }
}

/// Compares two lists by key; `same` says whether two entries of one key are alike. A list
/// the document leaves out (`None`) changes nothing.
pub(crate) fn keyed<'a, T>(
    stored: &'a Option<Vec<T>>,
    wanted: &'a Option<Vec<T>>,
    key: impl Fn(&T) -> &str,
    same: impl Fn(&T, &T) -> bool,
) -> Keyed<'a, T> {
    let mut out = Keyed {
        added: Vec::new(),
        changed: Vec::new(),
        removed: Vec::new(),
    };
    let Some(wanted) = wanted else {
        return out;
    };
    let stored = stored.as_deref().unwrap_or_default();
    let by_key: HashMap<&str, &T> = stored.iter().map(|s| (key(s), s)).collect();
    let listed: HashSet<&str> = wanted.iter().map(&key).collect();
    out.removed = stored.iter().filter(|s| !listed.contains(key(s))).collect();
    for (i, w) in wanted.iter().enumerate() {
        match by_key.get(key(w)) {
            None => out.added.push((i, w)),
            Some(s) if !same(s, w) => out.changed.push((i, s, w)),
            Some(_) => {}
        }
    }
    out
}

/// How the document's lists differ from the stored ones.
pub(crate) struct Lists<'a> {
    /// Mappings, by account.
    pub mappings: Keyed<'a, MappingEntry>,
    /// Alert routes, by account.
    pub routes: Keyed<'a, RouteEntry>,
    /// Alert-type policies, by type.
    pub policies: Keyed<'a, PolicyEntry>,
}

/// How `wanted`'s lists differ from `stored`'s.
pub(crate) fn lists<'a>(stored: &'a SettingsDocument, wanted: &'a SettingsDocument) -> Lists<'a> {
    Lists {
        mappings: keyed(
            &stored.mappings,
            &wanted.mappings,
            |m| &m.account,
            same_mapping,
        ),
        routes: keyed(
            &stored.alert_routes,
            &wanted.alert_routes,
            |r| &r.account,
            same_route,
        ),
        policies: keyed(
            &stored.alert_policies,
            &wanted.alert_policies,
            |p| &p.alert_type,
            same_policy,
        ),
    }
}

/// Whether a mapping stays as it is (names are for people).
pub(crate) fn same_mapping(a: &MappingEntry, b: &MappingEntry) -> bool {
    (a.company_id, a.agreement_id) == (b.company_id, b.agreement_id)
}

/// Whether a route stays as it is.
pub(crate) fn same_route(a: &RouteEntry, b: &RouteEntry) -> bool {
    a.types == b.types
}

/// Whether a policy stays as it is.
pub(crate) fn same_policy(a: &PolicyEntry, b: &PolicyEntry) -> bool {
    (a.note_on_resolve, &a.recur_after_close) == (b.note_on_resolve, &b.recur_after_close)
}
