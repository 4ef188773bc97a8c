//! One collection of records (`service/tickets`, `service/tickets/{id}/notes`) and the calls
//! ConnectWise offers on it.

use std::future::Future;
use std::marker::PhantomData;

use reqwest::Method;
use serde_json::Value;

use crate::client::{Call, Client};
use crate::error::{Error, Result};
use crate::list::List;
use crate::models::Model;
use crate::patch::Patch;

/// Fields no write ever sends: ConnectWise keeps them.
const ALWAYS_READ_ONLY: &[&str] = &["id", "_info"];

/// The calls on one collection, typed by its record. Each call answers a future that owns
/// what it needs, so calls can be joined or spawned without keeping the endpoint alive.
#[derive(Debug, Clone)]
pub struct Endpoint<T> {
    client: Client,
    path: String,
    read_only: &'static [&'static str],
    retry_writes: bool,
    _model: PhantomData<fn() -> T>,
}

impl<T: Model> Endpoint<T> {
    pub(crate) fn new(client: &Client, path: String) -> Self {
        Endpoint {
            client: client.clone(),
            read_only: read_only_fields(&path),
            path,
            retry_writes: false,
            _model: PhantomData,
        }
    }

    /// The collection's path below the API root, e.g. `service/tickets`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Retries this endpoint's POST and PATCH calls after failures that may have reached
    /// ConnectWise. Only for writes you know to be safe to repeat.
    pub fn retry_writes(mut self, yes: bool) -> Self {
        self.retry_writes = yes;
        self
    }

    /// One record by id.
    ///
    /// ```no_run
    /// # async fn run(client: connectwise_client::Client) -> connectwise_client::Result<()> {
    /// let ticket = client.service().tickets().get(42).await?;
    /// println!("{:?}", ticket.summary);
    /// # Ok(()) }
    /// ```
    pub fn get(&self, id: i64) -> impl Future<Output = Result<T>> + Send + 'static {
        let client = self.client.clone();
        let call = Call::new(Method::GET, format!("{}/{id}", self.path));
        async move { client.send(&call).await?.decode(T::SCHEMA) }
    }

    /// A list call to refine (conditions, order, page size) and send or stream.
    ///
    /// ```no_run
    /// # async fn run(client: connectwise_client::Client) -> connectwise_client::Result<()> {
    /// use connectwise_client::conditions::field;
    /// use futures_util::TryStreamExt;
    ///
    /// let open = client
    ///     .service()
    ///     .tickets()
    ///     .list()
    ///     .conditions(field("closedFlag").eq(false).and(field("board/name").eq("Help Desk")))
    ///     .page_size(1000)
    ///     .stream()
    ///     .try_collect::<Vec<_>>()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn list(&self) -> List<T> {
        List::new(self.client.clone(), self.path.clone())
    }

    /// Makes a record; answers it as ConnectWise stored it. Read-only fields are not sent.
    ///
    /// ```no_run
    /// # async fn run(client: connectwise_client::Client) -> connectwise_client::Result<()> {
    /// use connectwise_client::models::{BoardReference, CompanyReference, Ticket};
    ///
    /// let ticket = Ticket {
    ///     summary: Some("Printer offline".into()),
    ///     board: Some(BoardReference { id: Some(1), ..Default::default() }),
    ///     company: Some(CompanyReference { id: Some(19), ..Default::default() }),
    ///     ..Default::default()
    /// };
    /// let made = client.service().tickets().create(&ticket).await?;
    /// # Ok(()) }
    /// ```
    pub fn create(&self, record: &T) -> impl Future<Output = Result<T>> + Send + 'static {
        let client = self.client.clone();
        let mut call = Call::new(Method::POST, self.path.clone());
        call.retry_write = self.retry_writes;
        let body = self.write_body(record);
        async move {
            call.body = Some(body?);
            client.send(&call).await?.decode(T::SCHEMA)
        }
    }

    /// Replaces a record whole (PUT). Read-only fields are not sent.
    ///
    /// ```no_run
    /// # async fn run(client: connectwise_client::Client) -> connectwise_client::Result<()> {
    /// let tickets = client.service().tickets();
    /// let mut ticket = tickets.get(42).await?;
    /// ticket.summary = Some("Printer back online".into());
    /// tickets.replace(42, &ticket).await?;
    /// # Ok(()) }
    /// ```
    pub fn replace(&self, id: i64, record: &T) -> impl Future<Output = Result<T>> + Send + 'static {
        let client = self.client.clone();
        let mut call = Call::new(Method::PUT, format!("{}/{id}", self.path));
        let body = self.write_body(record);
        async move {
            call.body = Some(body?);
            client.send(&call).await?.decode(T::SCHEMA)
        }
    }

    /// Changes some fields (PATCH with ConnectWise's operation array).
    ///
    /// ```no_run
    /// # async fn run(client: connectwise_client::Client) -> connectwise_client::Result<()> {
    /// use connectwise_client::Patch;
    ///
    /// let patch = Patch::new().replace("summary", "Printer offline (2nd floor)");
    /// client.service().tickets().patch(42, &patch).await?;
    /// # Ok(()) }
    /// ```
    pub fn patch(
        &self,
        id: i64,
        patch: &Patch,
    ) -> impl Future<Output = Result<T>> + Send + 'static {
        let client = self.client.clone();
        let refused = patch
            .invalid()
            .map(|e| Error::Config(e.to_owned()))
            .or_else(|| {
                patch
                    .operations()
                    .iter()
                    .find(|op| {
                        let field = op
                            .path
                            .trim_start_matches('/')
                            .split('/')
                            .next()
                            .unwrap_or("");
                        self.is_read_only(field)
                    })
                    .map(|op| {
                        Error::Config(format!(
                            "`{}` is read-only on {}: ConnectWise keeps it",
                            op.path, self.path
                        ))
                    })
            });
        let mut call = Call::new(Method::PATCH, format!("{}/{id}", self.path));
        let mut ops = serde_json::to_value(patch.operations()).unwrap_or(Value::Null);
        strip_info(&mut ops);
        call.body = Some(ops);
        call.retry_write = self.retry_writes;
        async move {
            if let Some(e) = refused {
                return Err(e);
            }
            client.send(&call).await?.decode(T::SCHEMA)
        }
    }

    /// Deletes a record.
    ///
    /// ```no_run
    /// # async fn run(client: connectwise_client::Client) -> connectwise_client::Result<()> {
    /// client.service().tickets().delete(42).await?;
    /// # Ok(()) }
    /// ```
    pub fn delete(&self, id: i64) -> impl Future<Output = Result<()>> + Send + 'static {
        let client = self.client.clone();
        let call = Call::new(Method::DELETE, format!("{}/{id}", self.path));
        async move {
            client.send(&call).await?;
            Ok(())
        }
    }

    fn is_read_only(&self, field: &str) -> bool {
        ALWAYS_READ_ONLY
            .iter()
            .chain(self.read_only)
            .any(|f| f.eq_ignore_ascii_case(field))
    }

    /// The record as JSON without the fields ConnectWise keeps.
    fn write_body(&self, record: &T) -> Result<Value> {
        let mut body = serde_json::to_value(record)
            .map_err(|e| Error::Config(format!("cannot write a {}: {e}", T::SCHEMA)))?;
        if let Value::Object(map) = &mut body {
            map.retain(|k, _| !self.is_read_only(k));
        }
        strip_info(&mut body);
        Ok(body)
    }
}

/// The fields ConnectWise keeps on the records of a collection, beyond `id` and `_info`
/// (matched on the path with ids left out, e.g. `service/tickets/{id}/notes`).
fn read_only_fields(path: &str) -> &'static [&'static str] {
    let shape: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .map(|s| if s.parse::<i64>().is_ok() { "{id}" } else { s })
        .collect();
    match shape.join("/").to_ascii_lowercase().as_str() {
        "service/tickets" => &["closedFlag", "closedDate", "closedBy"],
        "service/tickets/{id}/notes" => &["createdBy", "dateCreated"],
        "finance/agreements/{id}/additions" => {
            &["extPrice", "extCost", "margin", "agreementStatus"]
        }
        "system/members" => &["password", "token"],
        "system/callbacks" => &["memberId"],
        _ => &[],
    }
}

/// Removes `_info` blocks at any depth: references carry them on reads, and ConnectWise
/// keeps them.
fn strip_info(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.remove("_info");
            map.values_mut().for_each(strip_info);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_info),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn read_only_fields_follow_the_collection_whatever_the_ids() {
        assert!(read_only_fields("/service/tickets/42/notes").contains(&"dateCreated"));
        assert!(read_only_fields("service/tickets").contains(&"closedFlag"));
        assert!(read_only_fields("company/companies").is_empty());
    }

    #[test]
    fn info_blocks_go_at_every_depth() {
        let mut v = json!({"_info": {"a": "b"}, "company": {"id": 1, "_info": {"x": "y"}}, "list": [{"_info": {}}]});
        strip_info(&mut v);
        assert_eq!(v, json!({"company": {"id": 1}, "list": [{}]}));
    }
}
