//! List parameters as ConnectWise reads them: form-encoded (`+` is a space), names matched
//! case-insensitively, unknown ones ignored.

use connectwise_conditions::{Expr, OrderBy, Path, parse, parse_order_by};

use crate::error::CwError;
use crate::schema::{EntitySchema, Kind};

/// The default page size.
pub const DEFAULT_PAGE_SIZE: u64 = 25;
/// The largest page ConnectWise serves.
pub const MAX_PAGE_SIZE: u64 = 1000;

/// Decodes a query string into (name, value) pairs, form-encoded (`+` is a space).
pub fn pairs(raw: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.as_bytes())
        .into_owned()
        .collect()
}

/// The value of a parameter, matched case-insensitively (the last one wins).
pub fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .rev()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.trim().is_empty())
}

/// A parsed list request.
#[derive(Debug, Default)]
pub struct ListQuery {
    /// `conditions`.
    pub conditions: Option<Expr>,
    /// `childConditions`.
    pub child_conditions: Option<Expr>,
    /// `customFieldConditions`.
    pub custom_field_conditions: Option<Expr>,
    /// `orderBy`.
    pub order_by: Vec<OrderBy>,
    /// `fields`, each split on `/`.
    pub fields: Option<Vec<Vec<String>>>,
    /// `page`, from 1.
    pub page: u64,
    /// `pageSize`, clamped to 1..=1000.
    pub page_size: u64,
    /// `pageId` (forward-only paging cursor).
    pub page_id: Option<i64>,
}

impl ListQuery {
    /// Parses the list parameters, checking that conditions name fields the entity has.
    pub fn parse(pairs: &[(String, String)], schema: &EntitySchema) -> Result<Self, CwError> {
        let mut q = ListQuery {
            page: 1,
            page_size: DEFAULT_PAGE_SIZE,
            ..Default::default()
        };
        if let Some(c) = param(pairs, "conditions") {
            q.conditions = Some(parse_conditions("conditions", c, schema, false)?);
        }
        if let Some(c) = param(pairs, "childConditions") {
            q.child_conditions = Some(parse_conditions("childConditions", c, schema, true)?);
        }
        if let Some(c) = param(pairs, "customFieldConditions") {
            let expr = parse(c)
                .map_err(|e| CwError::bad_request(format!("customFieldConditions: {e}")))?;
            q.custom_field_conditions = Some(expr);
        }
        if let Some(o) = param(pairs, "orderBy") {
            q.order_by =
                parse_order_by(o).map_err(|e| CwError::bad_request(format!("orderBy: {e}")))?;
            for order in &mut q.order_by {
                alias_info_field(&mut order.path, schema);
                check_path("orderBy", order.path.segments(), schema)?;
            }
        }
        if let Some(f) = param(pairs, "fields") {
            q.fields = Some(
                f.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| s.split('/').map(str::to_owned).collect())
                    .collect(),
            );
        }
        if let Some(p) = param(pairs, "page") {
            let n: i64 = p.trim().parse().map_err(|_| {
                CwError::bad_request(format!("page must be a whole number, got '{p}'"))
            })?;
            q.page = n.max(1) as u64;
        }
        if let Some(p) = param(pairs, "pageSize") {
            let n: i64 = p.trim().parse().map_err(|_| {
                CwError::bad_request(format!("pageSize must be a whole number, got '{p}'"))
            })?;
            q.page_size = if n < 1 {
                DEFAULT_PAGE_SIZE
            } else {
                (n as u64).min(MAX_PAGE_SIZE)
            };
        }
        if let Some(p) = param(pairs, "pageId") {
            let n: i64 = p.trim().parse().map_err(|_| {
                CwError::bad_request(format!("pageId must be a whole number, got '{p}'"))
            })?;
            q.page_id = Some(n);
        }
        Ok(q)
    }
}

fn parse_conditions(
    name: &str,
    text: &str,
    schema: &EntitySchema,
    child: bool,
) -> Result<Expr, CwError> {
    let mut expr = parse(text).map_err(|e| CwError::bad_request(format!("{name}: {e}")))?;
    alias_info_fields(&mut expr, schema);
    for path in expr.paths() {
        let segments = path.segments();
        check_path(name, segments, schema)?;
        if child {
            let is_array = schema
                .field(&segments[0])
                .is_some_and(|f| matches!(f.kind, Kind::Array(_)));
            if !is_array {
                return Err(CwError::bad_request(format!(
                    "{name}: '{}' is not a list field of {}; childConditions filter on list members (such as communicationItems/value)",
                    segments[0], schema.name
                )));
            }
        }
    }
    Ok(expr)
}

/// The `_info` fields ConnectWise lets conditions name without the `_info/` prefix
/// (`lastUpdated > [2026-01-01T00:00:00Z]`, the usual incremental-sync filter).
const INFO_ALIASES: &[&str] = &["lastUpdated", "dateEntered", "enteredBy", "updatedBy"];

fn alias_info_field(path: &mut Path, schema: &EntitySchema) {
    let Some(first) = path.segments().first() else {
        return;
    };
    if schema.field(first).is_some() {
        return;
    }
    if let Some(alias) = INFO_ALIASES.iter().find(|a| a.eq_ignore_ascii_case(first)) {
        let rest: Vec<&str> = path.segments()[1..].iter().map(String::as_str).collect();
        let text = std::iter::once("_info")
            .chain(std::iter::once(*alias))
            .chain(rest)
            .collect::<Vec<_>>()
            .join("/");
        *path = Path::new(&text);
    }
}

fn alias_info_fields(expr: &mut Expr, schema: &EntitySchema) {
    match expr {
        Expr::And(children) | Expr::Or(children) => {
            for child in children {
                alias_info_fields(child, schema);
            }
        }
        Expr::Compare(c) => alias_info_field(&mut c.path, schema),
    }
}

fn check_path(name: &str, segments: &[String], schema: &EntitySchema) -> Result<(), CwError> {
    let first = segments.first().map(String::as_str).unwrap_or("");
    if schema.field(first).is_none() {
        return Err(CwError::bad_request(format!(
            "{name}: {} has no field '{first}'",
            schema.name
        )));
    }
    Ok(())
}

/// Rebuilds a query string for a `Link` header: the original parameters, minus paging ones,
/// with the paging parameter last (clients read the page number from the end).
pub fn link_query(raw: &str, last_name: &str, last_value: impl std::fmt::Display) -> String {
    let mut kept: Vec<&str> = raw
        .split('&')
        .filter(|p| !p.is_empty())
        .filter(|p| {
            let k = p.split_once('=').map_or(*p, |(k, _)| k);
            !k.eq_ignore_ascii_case("page") && !k.eq_ignore_ascii_case("pageId")
        })
        .collect();
    let last = format!("{last_name}={last_value}");
    kept.push(&last);
    kept.join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plus_is_a_space_and_names_are_case_insensitive() {
        let p = pairs("Conditions=name+like+%22Acme%25%22&PAGESIZE=5&unknown=1");
        assert_eq!(param(&p, "conditions"), Some("name like \"Acme%\""));
        assert_eq!(param(&p, "pageSize"), Some("5"));
    }

    #[test]
    fn link_query_puts_the_page_last() {
        assert_eq!(
            link_query("page=2&pageSize=10&conditions=id%3E1", "page", 3),
            "pageSize=10&conditions=id%3E1&page=3"
        );
    }
}
