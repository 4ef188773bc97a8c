//! Reference indexes: per collection, which records point at which id through each reference
//! field, so `company/id = 7` or `board/id in (1, 2)` reads a handful of candidates instead of
//! scanning every record (the way ConnectWise's database answers the same query from its
//! foreign-key indexes).
//!
//! The index only narrows: every candidate is still tested against the whole filter, so a
//! record the index cannot key (a reference array, or an id that is not an integer) is kept
//! as a candidate for every lookup on that field rather than risk a missed match.

use std::collections::{BTreeSet, HashMap};

use crate::record::{Record, Val};

/// A record's place in its collection: `(parent id, id)`.
type Key = (i64, i64);

/// The reference indexes of one collection, by field name (lowercase, as conditions match
/// field names case-insensitively).
#[derive(Debug, Default)]
pub struct RefIndex {
    fields: HashMap<String, FieldIndex>,
}

#[derive(Debug, Default)]
struct FieldIndex {
    /// Records by the id their reference holds.
    ids: HashMap<i64, BTreeSet<Key>>,
    /// Records whose value the index cannot key; candidates for every lookup.
    others: BTreeSet<Key>,
}

/// How one field value can be reached by `field/id`.
enum Slot {
    Id(i64),
    Unkeyed,
}

fn slot(value: &Val) -> Option<Slot> {
    match value {
        Val::Obj(_) => match connectwise_conditions::Node::member(value, "id")? {
            Val::Null => None,
            Val::Int(id) => Some(Slot::Id(*id)),
            _ => Some(Slot::Unkeyed),
        },
        Val::Arr(_) | Val::Json(_) => Some(Slot::Unkeyed),
        // A scalar has no `id` below it: `field/id` is missing and cannot equal a number.
        _ => None,
    }
}

impl RefIndex {
    /// Adds a record's references.
    pub fn add(&mut self, key: Key, entity: &Record) {
        for (name, value) in entity.iter() {
            if let Some(slot) = slot(value) {
                let field = self.fields.entry(name.to_ascii_lowercase()).or_default();
                match slot {
                    Slot::Id(id) => field.ids.entry(id).or_default().insert(key),
                    Slot::Unkeyed => field.others.insert(key),
                };
            }
        }
    }

    /// Removes a record's references (`entity` as it was stored).
    pub fn remove(&mut self, key: Key, entity: &Record) {
        for (name, value) in entity.iter() {
            let Some(slot) = slot(value) else { continue };
            let Some(field) = self.fields.get_mut(&name.to_ascii_lowercase()) else {
                continue;
            };
            match slot {
                Slot::Id(id) => {
                    if let Some(set) = field.ids.get_mut(&id) {
                        set.remove(&key);
                        if set.is_empty() {
                            field.ids.remove(&id);
                        }
                    }
                }
                Slot::Unkeyed => {
                    field.others.remove(&key);
                }
            }
        }
    }

    /// The ids under `parent` of the records whose `field/id` may be one of `ids`, in id
    /// order. A superset: the caller still tests each record.
    pub fn candidates(&self, field: &str, ids: &[i64], parent: i64) -> Vec<i64> {
        let Some(index) = self.fields.get(&field.to_ascii_lowercase()) else {
            return Vec::new();
        };
        let range = (parent, i64::MIN)..=(parent, i64::MAX);
        let mut out: BTreeSet<i64> = index.others.range(range.clone()).map(|k| k.1).collect();
        for id in ids {
            if let Some(set) = index.ids.get(id) {
                out.extend(set.range(range.clone()).map(|k| k.1));
            }
        }
        out.into_iter().collect()
    }

    /// How many candidates a lookup would return at most (to pick the narrowest field).
    pub fn estimate(&self, field: &str, ids: &[i64]) -> usize {
        self.fields
            .get(&field.to_ascii_lowercase())
            .map_or(0, |index| {
                index.others.len()
                    + ids
                        .iter()
                        .filter_map(|id| index.ids.get(id))
                        .map(BTreeSet::len)
                        .sum::<usize>()
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entity(v: serde_json::Value) -> Record {
        Record::from_map(v.as_object().cloned().unwrap())
    }

    #[test]
    fn finds_records_by_reference_and_forgets_removed_ones() {
        let mut index = RefIndex::default();
        let a = entity(json!({"company": {"id": 7}, "board": {"id": 1}}));
        let b = entity(json!({"company": {"id": 8}, "board": {"id": 1}}));
        index.add((0, 1), &a);
        index.add((0, 2), &b);
        assert_eq!(index.candidates("Company", &[7], 0), vec![1]);
        assert_eq!(index.candidates("board", &[1], 0), vec![1, 2]);
        assert_eq!(index.candidates("board", &[1], 5), Vec::<i64>::new());
        index.remove((0, 1), &a);
        assert_eq!(index.candidates("company", &[7, 8], 0), vec![2]);
        assert_eq!(index.estimate("board", &[1]), 1);
    }

    #[test]
    fn values_it_cannot_key_are_always_candidates() {
        let mut index = RefIndex::default();
        index.add((0, 1), &entity(json!({"company": {"id": "7"}})));
        index.add((0, 2), &entity(json!({"company": [{"id": 7}]})));
        index.add(
            (0, 3),
            &entity(json!({"company": {"id": 9}, "summary": "x"})),
        );
        assert_eq!(index.candidates("company", &[7], 0), vec![1, 2]);
        assert!(index.candidates("summary", &[7], 0).is_empty());
    }
}
