//! Reads: filtering (conditions, level My, territory; reference indexes narrowing candidates;
//! large scans on two threads), counting, paging and rendering lists and single records.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use connectwise_conditions::{Expr, Op, Value as CondValue};
use serde_json::{Value, json};

use crate::auth::Principal;
use crate::entity::{self, render_as};
use crate::error::CwError;
use crate::query::{self, ListQuery};
use crate::record::{FALSE, Record, Val};
use crate::resources::Resource;
use crate::roles::Level;
use crate::schema::{EntitySchema, Kind, Schemas};
use crate::store::Data;

use super::guard::{in_scope, is_mine, mine_only, not_mine};
use super::{ApiRequest, Shared, json_response};

/// The query's filters (conditions, childConditions, customFieldConditions, level My) as
/// one test of a record.
pub(super) struct Filter<'a> {
    data: &'a Data,
    resource: &'a Resource,
    /// The resource's schema, looked up once for the whole scan.
    schema: &'static EntitySchema,
    q: &'a ListQuery,
    p: &'a Principal,
    mine_only: bool,
}

pub(super) fn filter<'a>(
    data: &'a Data,
    resource: &'a Resource,
    q: &'a ListQuery,
    p: &'a Principal,
    mine_only: bool,
) -> Filter<'a> {
    Filter {
        data,
        resource,
        schema: Schemas::embedded().get(resource.schema),
        q,
        p,
        mine_only,
    }
}

impl Filter<'_> {
    /// Whether any filter is set (otherwise every record passes).
    fn is_selective(&self) -> bool {
        self.mine_only
            || self.p.territory.is_some()
            || self.q.conditions.is_some()
            || self.q.child_conditions.is_some()
            || self.q.custom_field_conditions.is_some()
    }

    fn keeps(&self, e: &Record) -> bool {
        let q = self.q;
        let field = |key: &str| field_or_flag(self.schema, e, key);
        (!self.mine_only || is_mine(self.resource, e, self.p))
            && in_scope(self.data, self.resource, e, self.p)
            && q.conditions
                .as_ref()
                .is_none_or(|c| c.matches_fields(&field))
            && q.child_conditions
                .as_ref()
                .is_none_or(|c| c.matches_fields(&field))
            && q.custom_field_conditions.as_ref().is_none_or(|c| {
                e.get("customFields")
                    .and_then(Val::as_array)
                    .is_some_and(|items| c.matches_any(items))
            })
    }
}

/// A record's field as conditions and `orderBy` read it: a boolean flag never set reads
/// `false`, as ConnectWise stores and sends it (`inactiveFlag = false` finds records made
/// without the flag).
pub(super) fn field_or_flag<'e>(
    schema: &EntitySchema,
    e: &'e Record,
    key: &str,
) -> Option<&'e Val> {
    e.field(key).or_else(|| {
        schema
            .field(key)
            .filter(|f| f.kind == Kind::Boolean)
            .map(|_| &FALSE)
    })
}

/// Collections larger than this are filtered on two threads.
pub(super) const PARALLEL_SCAN_MIN: usize = 20_000;

/// The records of a collection that pass the query's filters, in id order.
///
/// Filtering is a full scan. Large collections are split at the middle id and scanned on two
/// threads, off the async workers (`block_in_place`), so one big list neither blocks other
/// requests nor takes twice as long as the machine allows.
pub(super) fn matching<'d>(
    data: &'d Data,
    resource: &Resource,
    parent: i64,
    q: &ListQuery,
    p: &Principal,
    mine_only: bool,
) -> Vec<(i64, &'d Record)> {
    let keep = filter(data, resource, q, p, mine_only);
    if let Some(ids) = indexed_candidates(data, resource, parent, q) {
        return ids
            .into_iter()
            .filter_map(|id| Some((id, data.get(resource.key, parent, id)?)))
            .filter(|(_, e)| keep.keeps(e))
            .collect();
    }
    let scan = |lo: i64, hi: i64| -> Vec<(i64, &'d Record)> {
        data.children_between(resource.key, parent, lo, hi)
            .filter(|(_, e)| keep.keeps(e))
            .collect()
    };
    let bounds = data.id_bounds(resource.key, parent);
    let multi_thread = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    match bounds {
        Some((first, last, len))
            if keep.is_selective() && multi_thread && len >= PARALLEL_SCAN_MIN =>
        {
            let mid = first + (last - first) / 2;
            tokio::task::block_in_place(|| {
                std::thread::scope(|s| {
                    let upper = s.spawn(|| scan(mid + 1, last));
                    let mut out = scan(first, mid);
                    out.extend(upper.join().unwrap_or_default());
                    out
                })
            })
        }
        _ => scan(i64::MIN, i64::MAX),
    }
}

/// The candidate ids for a query one of whose `and`-ed comparisons is `field/id = N` or
/// `field/id in (N, …)`, read from the collection's reference index (the narrowest such
/// comparison wins); `None` when no comparison can use the index.
pub(super) fn indexed_candidates(
    data: &Data,
    resource: &Resource,
    parent: i64,
    q: &ListQuery,
) -> Option<Vec<i64>> {
    let refs = data.refs(resource.key)?;
    let conjuncts = match q.conditions.as_ref()? {
        Expr::And(children) => children.as_slice(),
        single => std::slice::from_ref(single),
    };
    conjuncts
        .iter()
        .filter_map(reference_lookup)
        .min_by_key(|(field, ids)| refs.estimate(field, ids))
        .map(|(field, ids)| refs.candidates(field, &ids, parent))
}

/// `(field, ids)` when a condition reads `field/id = N` or `field/id in (N, …)` with
/// integer literals (which is all the index can answer exactly).
pub(super) fn reference_lookup(expr: &Expr) -> Option<(&str, Vec<i64>)> {
    let Expr::Compare(c) = expr else { return None };
    let [field, id] = c.path.segments() else {
        return None;
    };
    if !id.eq_ignore_ascii_case("id") {
        return None;
    }
    let integer = |v: &CondValue| -> Option<i64> {
        let text = match v {
            CondValue::Number(t) | CondValue::String(t) => t.trim(),
            _ => return None,
        };
        let n: f64 = text.parse().ok()?;
        (n.fract() == 0.0 && n.abs() < 9.0e15).then_some(n as i64)
    };
    let ids = match (c.op, &c.value) {
        (Op::Eq, v) => vec![integer(v)?],
        (Op::In, CondValue::List(items)) => items.iter().map(integer).collect::<Option<_>>()?,
        _ => return None,
    };
    Some((field.as_str(), ids))
}

pub(super) fn count_records(
    shared: &Shared,
    req: &ApiRequest<'_>,
    p: &Principal,
    resource: &Resource,
    parent: i64,
) -> Result<Response, CwError> {
    let pairs = query::pairs(req.raw_query);
    let q = ListQuery::parse(&pairs, Schemas::embedded().get(resource.schema))?;
    let mine = mine_only(p, resource);
    let data = shared.store.read();
    let n = matching(&data, resource, parent, &q, p, mine).len();
    Ok(json_response(StatusCode::OK, &json!({ "count": n })))
}

pub(super) fn list(
    shared: &Shared,
    req: &ApiRequest<'_>,
    p: &Principal,
    resource: &Resource,
    model: &str,
    parent: i64,
) -> Result<Response, CwError> {
    let pairs = query::pairs(req.raw_query);
    let q = ListQuery::parse(&pairs, Schemas::embedded().get(resource.schema))?;
    let forward_only = req
        .headers
        .get("pagination-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("forward-only"));
    let mine = mine_only(p, resource);
    let api_base = shared.api_base();
    let link_base = format!("{}{}", shared.base_url, req.path);
    let data = shared.store.read();
    let size = q.page_size as usize;
    let mut links = Vec::new();
    let page: Vec<(i64, &Record)> = if forward_only {
        // Forward-only reads like `id > pageId` in id order: scan from the cursor and stop
        // one record past the page, which is what makes it cheap for the server.
        let after = q.page_id.unwrap_or(0);
        let keep = filter(&data, resource, &q, p, mine);
        let mut rest = data
            .children_between(resource.key, parent, after.saturating_add(1), i64::MAX)
            .filter(|(_, e)| keep.keeps(e));
        let page: Vec<_> = rest.by_ref().take(size).collect();
        if rest.next().is_some()
            && let Some((last, _)) = page.last()
        {
            links.push(format!(
                "<{link_base}?{}>; rel=\"next\"",
                query::link_query(req.raw_query, "pageId", last)
            ));
        }
        page
    } else {
        let mut hits = matching(&data, resource, parent, &q, p, mine);
        if !q.order_by.is_empty() {
            let schema = Schemas::embedded().get(resource.schema);
            hits.sort_by(|(a_id, a), (b_id, b)| {
                connectwise_conditions::compare_fields(
                    &|k: &str| field_or_flag(schema, a, k),
                    &|k: &str| field_or_flag(schema, b, k),
                    &q.order_by,
                )
                .then(a_id.cmp(b_id))
            });
        }
        let total = hits.len();
        let last_page = total.div_ceil(size).max(1) as u64;
        let page_no = q.page;
        let link = |n: u64, rel: &str| {
            format!(
                "<{link_base}?{}>; rel=\"{rel}\"",
                query::link_query(req.raw_query, "page", n)
            )
        };
        if page_no > 1 {
            links.push(link(1, "first"));
            links.push(link((page_no - 1).min(last_page), "prev"));
        }
        if page_no < last_page {
            links.push(link(page_no + 1, "next"));
            links.push(link(last_page, "last"));
        }
        let start = ((page_no - 1) as usize).saturating_mul(size);
        hits.into_iter().skip(start).take(size).collect()
    };
    let items: Vec<Value> = page
        .into_iter()
        .map(|(id, e)| {
            let r = render_as(resource, model, id, e, &api_base);
            match &q.fields {
                Some(f) => entity::project(&r, f),
                None => r,
            }
        })
        .collect();
    drop(data);
    let mut response = json_response(StatusCode::OK, &Value::Array(items));
    if !links.is_empty()
        && let Ok(v) = HeaderValue::from_str(&links.join(", "))
    {
        response.headers_mut().insert(header::LINK, v);
    }
    Ok(response)
}

#[allow(clippy::too_many_arguments)]
pub(super) fn get_one(
    shared: &Shared,
    req: &ApiRequest<'_>,
    p: &Principal,
    level: Level,
    resource: &Resource,
    model: &str,
    parent: i64,
    id: i64,
) -> Result<Response, CwError> {
    let api_base = shared.api_base();
    let data = shared.store.read();
    let e = data
        .get(resource.key, parent, id)
        .ok_or_else(|| CwError::record_not_found(resource.label, id))?;
    if !in_scope(&data, resource, e, p) {
        return Err(CwError::record_not_found(resource.label, id));
    }
    if level == Level::My && !is_mine(resource, e, p) {
        return Err(not_mine(resource, id));
    }
    let rendered = render_as(resource, model, id, e, &api_base);
    drop(data);
    let pairs = query::pairs(req.raw_query);
    let body = match query::param(&pairs, "fields") {
        Some(f) => {
            let fields: Vec<Vec<String>> = f
                .split(',')
                .map(|s| s.trim().split('/').map(str::to_owned).collect())
                .collect();
            entity::project(&rendered, &fields)
        }
        None => rendered,
    };
    Ok(json_response(StatusCode::OK, &body))
}
