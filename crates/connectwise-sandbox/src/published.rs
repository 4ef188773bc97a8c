//! ConnectWise Manage's whole published API as data: every path, its operations and the
//! models they answer, read from `schema/cw-manage-published.json` (written by
//! `schema/derive.py` from pyconnectwise, which is generated from ConnectWise's published
//! OpenAPI document).
//!
//! From the paths this module finds the **collections**: a path whose GET answers a list of a
//! model, with its `/{id}` (get, put, patch, delete as published), `/count`, POST where
//! published, and the `/info` views ConnectWise offers beside many of them (served by the
//! router in their `XInfo` model). Every other path is an **action** (merges, copies,
//! reports, usages, bulk operations) that the sandbox names as not simulated.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::Value;

/// The derived document, embedded.
pub const PUBLISHED_JSON: &str = include_str!("../schema/cw-manage-published.json");

/// One operation of a path.
#[derive(Debug, Clone, Deserialize)]
pub struct Operation {
    /// The model answered: `Company`, `list[Company]`, `Count` or `None`.
    pub returns: String,
    /// Whether the operation takes a body.
    #[serde(default)]
    pub body: bool,
}

/// The operations of one path, by lower-case method.
pub type Operations = HashMap<String, Operation>;

/// One collection of the published API.
#[derive(Debug, Clone)]
pub struct Collection {
    /// The path as ConnectWise spells it, `{id}` for each parent id
    /// (`company/companies/{id}/sites`), without a leading `/`.
    pub path: String,
    /// The model of its records.
    pub model: String,
    /// Whether POST on the collection is published.
    pub post: bool,
    /// Whether GET on `/{id}` is published.
    pub get: bool,
    /// Whether PUT on `/{id}` is published.
    pub put: bool,
    /// Whether PATCH on `/{id}` is published.
    pub patch: bool,
    /// Whether DELETE on `/{id}` is published.
    pub delete: bool,
    /// Whether `/count` is published.
    pub count: bool,
    /// The model of the `/info` view (`CompanyInfo`), when published.
    pub info: Option<String>,
}

impl Collection {
    /// The collection's key: its path in lower case (paths match case-insensitively).
    pub fn key(&self) -> String {
        self.path.to_ascii_lowercase()
    }

    /// The collection holding this one's parents (`company/companies` for
    /// `company/companies/{id}/sites`), if it is nested.
    pub fn parent_path(&self) -> Option<&str> {
        self.path.rfind("/{id}/").map(|at| &self.path[..at])
    }
}

/// The published API.
#[derive(Debug)]
pub struct Published {
    /// Every path (without the leading `/`, as spelled) with its operations.
    pub paths: Vec<(String, Operations)>,
    /// Operations by lower-case path.
    by_key: HashMap<String, usize>,
    /// The collections, in path order.
    pub collections: Vec<Collection>,
}

impl Published {
    /// The embedded document, read once.
    pub fn embedded() -> &'static Published {
        static PUBLISHED: OnceLock<Published> = OnceLock::new();
        PUBLISHED.get_or_init(|| {
            let doc: Value =
                serde_json::from_str(PUBLISHED_JSON).expect("the published API is JSON");
            Published::from_document(&doc)
        })
    }

    /// Reads `x-endpoints` of a derived document.
    pub fn from_document(doc: &Value) -> Published {
        let mut paths: Vec<(String, Operations)> = doc
            .get("x-endpoints")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter_map(|(path, ops)| {
                let ops: Operations = serde_json::from_value(ops.clone()).ok()?;
                Some((path.trim_start_matches('/').to_owned(), ops))
            })
            .collect();
        paths.sort_by(|a, b| a.0.cmp(&b.0));
        let by_key: HashMap<String, usize> = paths
            .iter()
            .enumerate()
            .map(|(i, (p, _))| (p.to_ascii_lowercase(), i))
            .collect();
        let op = |path: &str, method: &str| -> Option<&Operation> {
            by_key
                .get(&path.to_ascii_lowercase())
                .and_then(|&i| paths[i].1.get(method))
        };
        let mut collections = Vec::new();
        for (path, ops) in &paths {
            let Some(model) = ops
                .get("get")
                .and_then(|g| g.returns.strip_prefix("list["))
                .and_then(|m| m.strip_suffix(']'))
            else {
                continue;
            };
            // `…/info` lists are views of the collection beside them, and `…/usages` lists
            // are answers about other records: neither is a collection of its own.
            let last = path.rsplit('/').next().unwrap_or_default();
            if last == "{id}"
                || last.eq_ignore_ascii_case("info")
                || last.eq_ignore_ascii_case("usages")
                || last.eq_ignore_ascii_case("list")
                || model == "Usage"
            {
                continue;
            }
            let item = format!("{path}/{{id}}");
            // A record answers the collection's model; where the published record path
            // answers another (a handful), the record path is an action, not served here.
            let same = |o: &Operation| o.returns == model || o.returns == "None";
            let record = |method: &str| op(&item, method).is_some_and(same);
            let odd = op(&item, "get").is_some_and(|o| o.returns != model);
            let info = op(&format!("{path}/info"), "get")
                .and_then(|o| o.returns.strip_prefix("list["))
                .and_then(|m| m.strip_suffix(']'))
                .map(str::to_owned);
            collections.push(Collection {
                path: path.clone(),
                model: model.to_owned(),
                post: op(path, "post").is_some_and(|o| o.returns == model),
                get: !odd && record("get"),
                put: !odd && record("put"),
                patch: !odd && record("patch"),
                delete: !odd && op(&item, "delete").is_some(),
                count: op(&format!("{path}/count"), "get").is_some(),
                info,
            });
        }
        Published {
            paths,
            by_key,
            collections,
        }
    }

    /// The operations of a path template (`company/companies/{id}/merge`), matched
    /// case-insensitively.
    pub fn operations(&self, template: &str) -> Option<(&str, &Operations)> {
        self.by_key
            .get(&template.to_ascii_lowercase())
            .map(|&i| (self.paths[i].0.as_str(), &self.paths[i].1))
    }

    /// How many operations the published API has in all.
    pub fn operation_count(&self) -> usize {
        self.paths.iter().map(|(_, ops)| ops.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_published_api_is_connectwise_sized_and_finds_its_collections() {
        let p = Published::embedded();
        assert!(p.paths.len() > 1_600, "{} paths", p.paths.len());
        assert!(p.operation_count() > 2_800);
        let sites = p
            .collections
            .iter()
            .find(|c| c.path == "company/companies/{id}/sites")
            .expect("company sites are a collection");
        assert_eq!(sites.model, "CompanySite");
        assert_eq!(sites.parent_path(), Some("company/companies"));
        assert!(sites.post && sites.get && sites.patch && sites.delete && sites.count);
        let info = |path: &str| {
            p.collections
                .iter()
                .find(|c| c.path == path)
                .map(|c| c.info.clone())
        };
        assert_eq!(info("service/tickets"), Some(Some("TicketInfo".into())));
        assert_eq!(info("company/companies"), Some(None));
        assert!(
            p.collections
                .iter()
                .all(|c| !c.path.ends_with("/info") && c.model != "Usage")
        );
        let (spelled, merge) = p.operations("COMPANY/companies/{id}/MERGE").unwrap();
        assert_eq!(spelled, "company/companies/{id}/merge");
        assert!(merge.contains_key("post"));
    }
}
