//! The sandbox's state: entities in memory, made durable by an append-only journal in the
//! state directory that is folded into a snapshot at start-up and on shutdown.
//!
//! Records are kept sparse (only the fields that were set) and compact ([`Record`]); writes
//! hand in JSON maps ([`Entity`]), converted on the way in. Every collection is keyed by `(parent id, id)` so the records of one parent
//! (a ticket's notes, an agreement's additions) are a range scan. Ids come from one sequence
//! per collection and are never reused, even after a delete and a restart.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError, RwLock, RwLockReadGuard};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::index::RefIndex;
pub use crate::record::Record;

/// A record's fields as JSON, sparse: what requests write and read (stored as a compact
/// [`Record`]).
pub type Entity = Map<String, Value>;

/// One collection: records by `(parent id, id)`; top-level records have parent 0.
pub type Collection = BTreeMap<(i64, i64), Record>;

const SNAPSHOT: &str = "state.json";
const JOURNAL: &str = "journal.jsonl";

/// Everything the sandbox knows, in memory.
#[derive(Debug, Default)]
pub struct Data {
    collections: HashMap<String, Collection>,
    sequences: HashMap<String, i64>,
    refs: HashMap<String, RefIndex>,
}

impl Data {
    /// The collection with this key (its path template), empty if nothing was ever stored.
    pub fn collection(&self, key: &str) -> Option<&Collection> {
        self.collections.get(key)
    }

    /// One record.
    pub fn get(&self, key: &str, parent: i64, id: i64) -> Option<&Record> {
        self.collections.get(key)?.get(&(parent, id))
    }

    /// Finds a record by id when the parent is not known (ids are unique per collection).
    pub fn find_by_id(&self, key: &str, id: i64) -> Option<(i64, &Record)> {
        self.collections
            .get(key)?
            .iter()
            .find(|((_, i), _)| *i == id)
            .map(|((p, _), e)| (*p, e))
    }

    /// The records under one parent, in id order.
    pub fn children(&self, key: &str, parent: i64) -> impl Iterator<Item = (i64, &Record)> {
        self.collections
            .get(key)
            .into_iter()
            .flat_map(move |c| c.range((parent, i64::MIN)..=(parent, i64::MAX)))
            .map(|((_, id), e)| (*id, e))
    }

    /// The records under one parent with ids in `lo..=hi`, in id order.
    pub fn children_between(
        &self,
        key: &str,
        parent: i64,
        lo: i64,
        hi: i64,
    ) -> impl Iterator<Item = (i64, &Record)> {
        self.collections
            .get(key)
            .into_iter()
            .flat_map(move |c| c.range((parent, lo)..=(parent, hi)))
            .map(|((_, id), e)| (*id, e))
    }

    /// The lowest and highest id under one parent, and how many records the whole
    /// collection holds; `None` when it has none under that parent.
    pub fn id_bounds(&self, key: &str, parent: i64) -> Option<(i64, i64, usize)> {
        let c = self.collections.get(key)?;
        let mut range = c.range((parent, i64::MIN)..=(parent, i64::MAX));
        let first = range.next()?.0.1;
        let last = range.next_back().map_or(first, |((_, id), _)| *id);
        Some((first, last, c.len()))
    }

    /// The reference index of a collection (see [`RefIndex`]).
    pub fn refs(&self, key: &str) -> Option<&RefIndex> {
        self.refs.get(key)
    }

    fn insert(&mut self, c: String, p: i64, i: i64, v: Record) {
        let refs = self.refs.entry(c.clone()).or_default();
        let coll = self.collections.entry(c).or_default();
        if let Some(old) = coll.get(&(p, i)) {
            refs.remove((p, i), old);
        }
        refs.add((p, i), &v);
        coll.insert((p, i), v);
    }

    fn apply(&mut self, record: Change) {
        match record {
            Change::Put { c, p, i, v } => {
                let seq = self.sequences.entry(c.clone()).or_insert(0);
                *seq = (*seq).max(i);
                self.insert(c, p, i, Record::from_map(v));
            }
            Change::Del { c, p, i } => {
                let seq = self.sequences.entry(c.clone()).or_insert(0);
                *seq = (*seq).max(i);
                if let Some(old) = self
                    .collections
                    .get_mut(&c)
                    .and_then(|coll| coll.remove(&(p, i)))
                    && let Some(refs) = self.refs.get_mut(&c)
                {
                    refs.remove((p, i), &old);
                }
            }
        }
    }
}

/// One change, as written to the journal.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
enum Change {
    Put {
        c: String,
        p: i64,
        i: i64,
        v: Entity,
    },
    Del {
        c: String,
        p: i64,
        i: i64,
    },
}

#[derive(Deserialize)]
struct Snapshot {
    version: u32,
    sequences: HashMap<String, i64>,
    collections: HashMap<String, Vec<(i64, i64, Record)>>,
}

/// A snapshot as written: borrowing the records rather than copying them.
#[derive(Serialize)]
struct SnapshotOut<'a> {
    version: u32,
    sequences: &'a HashMap<String, i64>,
    collections: HashMap<&'a str, Vec<(i64, i64, &'a Record)>>,
}

/// The state and, when persistent, its directory and journal.
pub struct Store {
    data: RwLock<Data>,
    journal: Mutex<Option<BufWriter<File>>>,
    dir: Option<PathBuf>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("dir", &self.dir).finish()
    }
}

impl Store {
    /// A store that keeps nothing on disk.
    pub fn in_memory() -> Store {
        Store {
            data: RwLock::new(Data::default()),
            journal: Mutex::new(None),
            dir: None,
        }
    }

    /// Opens (or creates) the state in `dir`: loads the snapshot, replays the journal
    /// (a torn last line from a crash is ignored), then compacts both into a new snapshot.
    pub fn open(dir: &Path) -> anyhow::Result<Store> {
        fs::create_dir_all(dir)
            .with_context(|| format!("Failed to create the state directory {}", dir.display()))?;
        let mut data = Data::default();
        let snapshot_path = dir.join(SNAPSHOT);
        if snapshot_path.exists() {
            let file = File::open(&snapshot_path)
                .with_context(|| format!("Failed to open {}", snapshot_path.display()))?;
            let snap: Snapshot = serde_json::from_reader(BufReader::new(file))
                .with_context(|| format!("Failed to read {}", snapshot_path.display()))?;
            anyhow::ensure!(
                snap.version == 1,
                "{} is of snapshot version {}; this sandbox reads version 1",
                snapshot_path.display(),
                snap.version
            );
            data.sequences = snap.sequences;
            for (key, rows) in snap.collections {
                for (p, i, v) in rows {
                    data.insert(key.clone(), p, i, v);
                }
            }
        }
        let journal_path = dir.join(JOURNAL);
        if journal_path.exists() {
            let file = File::open(&journal_path)
                .with_context(|| format!("Failed to open {}", journal_path.display()))?;
            for line in BufReader::new(file).lines() {
                let line = line?;
                match serde_json::from_str::<Change>(&line) {
                    Ok(record) => data.apply(record),
                    // Only the last line can be torn (a crash mid-write); stop there.
                    Err(_) => break,
                }
            }
        }
        let store = Store {
            data: RwLock::new(data),
            journal: Mutex::new(None),
            dir: Some(dir.to_owned()),
        };
        store.compact()?;
        Ok(store)
    }

    /// Whether the store is backed by a directory.
    pub fn is_persistent(&self) -> bool {
        self.dir.is_some()
    }

    /// Writes a fresh snapshot and starts an empty journal.
    pub fn compact(&self) -> anyhow::Result<()> {
        let Some(dir) = &self.dir else { return Ok(()) };
        let data = self.data.read().unwrap_or_else(PoisonError::into_inner);
        let mut journal = self.journal.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(j) = journal.as_mut() {
            j.flush()?;
        }
        let snap = SnapshotOut {
            version: 1,
            sequences: &data.sequences,
            collections: data
                .collections
                .iter()
                .map(|(k, c)| {
                    let rows = c.iter().map(|((p, i), v)| (*p, *i, v)).collect();
                    (k.as_str(), rows)
                })
                .collect(),
        };
        let tmp = dir.join(format!("{SNAPSHOT}.tmp"));
        {
            let mut w = BufWriter::new(
                private_options()
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .open(&tmp)?,
            );
            serde_json::to_writer(&mut w, &snap)?;
            w.flush()?;
            w.get_ref().sync_all()?;
        }
        fs::rename(&tmp, dir.join(SNAPSHOT))?;
        let file = private_options()
            .create(true)
            .write(true)
            .truncate(true)
            .open(dir.join(JOURNAL))?;
        *journal = Some(BufWriter::new(file));
        Ok(())
    }

    /// Reads the state.
    pub fn read(&self) -> RwLockReadGuard<'_, Data> {
        self.data.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Changes the state: `f` runs under the write lock, and what it changed is journaled
    /// (in order, flushed to the OS) before the lock is released.
    pub fn write<R>(&self, f: impl FnOnce(&mut Writer<'_>) -> R) -> anyhow::Result<R> {
        let mut data = self.data.write().unwrap_or_else(PoisonError::into_inner);
        let mut writer = Writer {
            data: &mut data,
            records: Vec::new(),
        };
        let out = f(&mut writer);
        let records = writer.records;
        if !records.is_empty() {
            let mut journal = self.journal.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(j) = journal.as_mut() {
                for line in &records {
                    j.write_all(line.as_bytes())?;
                    j.write_all(b"\n")?;
                }
                j.flush()?;
            }
        }
        Ok(out)
    }
}

/// A change in progress, handed to [`Store::write`]'s closure.
pub struct Writer<'a> {
    data: &'a mut Data,
    records: Vec<String>,
}

impl Writer<'_> {
    /// The state as it is now, changes so far included.
    pub fn data(&self) -> &Data {
        self.data
    }

    /// The next id of a collection (ids are never reused).
    pub fn next_id(&mut self, key: &str) -> i64 {
        let seq = self.data.sequences.entry(key.to_owned()).or_insert(0);
        *seq += 1;
        *seq
    }

    /// Stores a record (insert or replace).
    pub fn put(&mut self, key: &str, parent: i64, id: i64, entity: Entity) -> &Record {
        let change = Change::Put {
            c: key.to_owned(),
            p: parent,
            i: id,
            v: entity,
        };
        if let Ok(line) = serde_json::to_string(&change) {
            self.records.push(line);
        }
        self.data.apply(change);
        self.data
            .get(key, parent, id)
            .expect("a record just stored is there")
    }

    /// Removes a record.
    pub fn delete(&mut self, key: &str, parent: i64, id: i64) {
        let record = Change::Del {
            c: key.to_owned(),
            p: parent,
            i: id,
        };
        if let Ok(line) = serde_json::to_string(&record) {
            self.records.push(line);
        }
        self.data.apply(record);
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        if let Ok(mut j) = self.journal.lock()
            && let Some(j) = j.as_mut()
        {
            let _ = j.flush();
        }
    }
}

/// Options for a file of the state directory: it holds the built-in admin's key hash and
/// the callback signing key, so only its owner reads it.
fn private_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entity(v: Value) -> Entity {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn records_survive_a_reopen_and_ids_are_not_reused() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            store
                .write(|w| {
                    let a = w.next_id("t");
                    w.put("t", 0, a, entity(json!({"name": "a"})));
                    let b = w.next_id("t");
                    w.put("t", 0, b, entity(json!({"name": "b"})));
                    w.delete("t", 0, b);
                })
                .unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.read().get("t", 0, 1).unwrap()["name"], "a");
        assert!(store.read().get("t", 0, 2).is_none());
        assert_eq!(store.write(|w| w.next_id("t")).unwrap(), 3);
    }

    #[test]
    fn a_torn_journal_line_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            store
                .write(|w| {
                    w.put("t", 0, 1, entity(json!({"name": "a"})));
                })
                .unwrap();
        }
        let mut j = OpenOptions::new()
            .append(true)
            .open(dir.path().join(JOURNAL))
            .unwrap();
        j.write_all(b"{\"op\":\"put\",\"c\":\"t\",\"p\":0,\"i\":2,\"v\":{\"na")
            .unwrap();
        drop(j);
        let store = Store::open(dir.path()).unwrap();
        assert!(store.read().get("t", 0, 1).is_some());
        assert!(store.read().get("t", 0, 2).is_none());
    }

    #[test]
    fn children_are_scoped_to_their_parent() {
        let store = Store::in_memory();
        store
            .write(|w| {
                w.put("n", 1, 1, Entity::new());
                w.put("n", 2, 2, Entity::new());
                w.put("n", 1, 3, Entity::new());
            })
            .unwrap();
        let ids: Vec<i64> = store.read().children("n", 1).map(|(i, _)| i).collect();
        assert_eq!(ids, vec![1, 3]);
    }
}
