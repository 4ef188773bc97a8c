//! Which resource, record or action a path under `apis/3.0/` names, and the `Accept` version
//! check.

use axum::http::{HeaderMap, StatusCode, header};

use crate::error::CwError;
use crate::published::Published;
use crate::resources::{self as res, Resource};

use super::{CURRENT_API_VERSION, OLDEST_API_VERSION};

/// What a path under `apis/3.0/` names.
pub(super) enum Route {
    Info,
    Tokens(i64),
    Collection {
        resource: &'static Resource,
        /// The id of the record this collection is under (0 at the top).
        parent: i64,
        /// The id of that record's own parent, for collections nested twice (0 otherwise).
        grandparent: i64,
        id: Option<i64>,
        count: bool,
        /// For an `/info` view of the collection: the model it answers in (`TicketInfo`).
        view: Option<&'static str>,
    },
    /// A published path that is not a collection (a merge, a copy, a report, usages…): the
    /// path as ConnectWise spells it, and its published operations.
    Action {
        path: &'static str,
        methods: Vec<String>,
    },
}

pub(super) fn route(segments: &[String]) -> Option<Route> {
    if segments == ["system", "info"] {
        return Some(Route::Info);
    }
    if let [a, b, id, t] = segments
        && a == "system"
        && b == "members"
        && t == "tokens"
    {
        return id.parse().ok().map(Route::Tokens);
    }
    let mut template = Vec::new();
    let mut ids = Vec::new();
    for s in segments {
        match s.parse::<i64>() {
            Ok(n) => {
                template.push("{id}");
                ids.push(n);
            }
            Err(_) => template.push(s.as_str()),
        }
    }
    // `…/info`, `…/info/count` (also published as `…/count/info`) and `…/{id}/info` are
    // read-only views of the collection beside them, in the model ConnectWise publishes for
    // them (`XInfo`).
    let mut view = None;
    let n = template.len();
    let info_at = if n >= 1 && template[n - 1].eq_ignore_ascii_case("info") {
        Some(n - 1)
    } else if n >= 2 && template[n - 2].eq_ignore_ascii_case("info") && template[n - 1] == "count" {
        Some(n - 2)
    } else {
        None
    };
    if let Some(at) = info_at {
        let (_, ops) = Published::embedded().operations(&template.join("/"))?;
        let model = ops.get("get")?.returns.as_str();
        view = Some(model.trim_start_matches("list[").trim_end_matches(']'));
        template.remove(at);
    }
    let count = template.last() == Some(&"count");
    if count {
        template.pop();
    }
    let id = if template.last() == Some(&"{id}") && !count {
        template.pop();
        ids.pop()
    } else {
        None
    };
    let key = template.join("/");
    let Some(resource) = res::by_key(&key) else {
        return action(segments);
    };
    // Ids in the path are the parents' (the last the nearest), then the record's.
    let (parent, grandparent) = match ids.as_slice() {
        [] => (0, 0),
        [p] => (*p, 0),
        [.., g, p] => (*p, *g),
    };
    if ids.len() != key.matches("{id}").count() {
        return None;
    }
    Some(Route::Collection {
        resource,
        parent,
        grandparent,
        id,
        count,
        view,
    })
}

/// A published path that is not a collection the sandbox serves.
pub(super) fn action(segments: &[String]) -> Option<Route> {
    let template: Vec<&str> = segments
        .iter()
        .map(|s| {
            if s.parse::<i64>().is_ok() {
                "{id}"
            } else {
                s.as_str()
            }
        })
        .collect();
    let (path, ops) = Published::embedded().operations(&template.join("/"))?;
    let mut methods: Vec<String> = ops.keys().map(|m| m.to_ascii_uppercase()).collect();
    methods.sort();
    Some(Route::Action { path, methods })
}

pub(super) fn check_version(headers: &HeaderMap) -> Result<(), CwError> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    // A list of media types (`…+json; version=2021.1, application/json`, connectwise-rest's
    // default): the version is a parameter of one entry, not of the whole header.
    let Some(version) = accept
        .split(',')
        .flat_map(|media_type| media_type.split(';').skip(1))
        .map(str::trim)
        .find_map(|p| p.strip_prefix("version="))
    else {
        return Ok(());
    };
    let version = version.trim().trim_matches('"');
    let parse = |v: &str| -> Option<(u32, u32)> {
        let (y, n) = v.split_once('.')?;
        Some((y.parse().ok()?, n.parse().ok()?))
    };
    let wanted = parse(version);
    let (oldest, current) = (
        parse(OLDEST_API_VERSION).unwrap_or_default(),
        parse(CURRENT_API_VERSION).unwrap_or_default(),
    );
    match wanted {
        Some(v) if v >= oldest && v <= current => Ok(()),
        _ => Err(CwError::new(
            StatusCode::BAD_REQUEST,
            "InvalidVersion",
            format!(
                "API version '{version}' is not supported. Use a version from {OLDEST_API_VERSION} to {CURRENT_API_VERSION}, e.g. Accept: application/vnd.connectwise.com+json; version={CURRENT_API_VERSION}"
            ),
        )),
    }
}
