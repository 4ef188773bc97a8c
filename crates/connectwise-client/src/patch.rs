//! PATCH bodies: ConnectWise's operation arrays, built from typed changes.

use serde::Serialize;
use serde_json::Value;

use crate::models::PatchOperation;

/// A list of changes to one record, sent as ConnectWise's PATCH operation array.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Patch {
    ops: Vec<PatchOperation>,
    /// Why a value could not become JSON; the patch is refused rather than sent with `null`.
    invalid: Option<String>,
}

impl Patch {
    /// No changes yet.
    pub fn new() -> Patch {
        Patch::default()
    }

    fn push(mut self, op: &str, path: &str, value: Option<Value>) -> Patch {
        self.ops.push(PatchOperation {
            op: op.to_owned(),
            path: path.to_owned(),
            value,
        });
        self
    }

    /// Sets a field, e.g. `replace("summary", "New")` or `replace("status", BoardStatusRef)`.
    /// A value that cannot be JSON (a map with non-string keys) makes the whole patch invalid
    /// ([`Patch::invalid`]): it is refused, never sent with `null` in that value's place.
    pub fn replace(self, path: &str, value: impl Serialize) -> Patch {
        self.with_value("replace", path, value)
    }

    /// Adds a value (ConnectWise uses it for fields that were empty).
    pub fn add(self, path: &str, value: impl Serialize) -> Patch {
        self.with_value("add", path, value)
    }

    fn with_value(mut self, op: &str, path: &str, value: impl Serialize) -> Patch {
        match serde_json::to_value(value) {
            Ok(v) => self.push(op, path, Some(v)),
            Err(e) => {
                self.invalid
                    .get_or_insert(format!("the value for `{path}` is not JSON: {e}"));
                self
            }
        }
    }

    /// Why the patch cannot be sent, if one of its values could not become JSON.
    pub fn invalid(&self) -> Option<&str> {
        self.invalid.as_deref()
    }

    /// Clears a field.
    pub fn remove(self, path: &str) -> Patch {
        self.push("remove", path, None)
    }

    /// The changes that turn `before` into `after`: a `replace` for every top-level field
    /// whose value differs, a `remove` for one that was cleared. Fields only `before` knows
    /// about in its unknown-field map are left alone.
    ///
    /// ```no_run
    /// # async fn run(client: connectwise_client::Client) -> connectwise_client::Result<()> {
    /// use connectwise_client::Patch;
    ///
    /// let tickets = client.service().tickets();
    /// let before = tickets.get(42).await?;
    /// let mut after = before.clone();
    /// after.summary = Some("Printer fixed".into());
    /// tickets.patch(42, &Patch::diff(&before, &after)).await?;
    /// # Ok(()) }
    /// ```
    pub fn diff<T: Serialize>(before: &T, after: &T) -> Patch {
        let (Ok(Value::Object(old)), Ok(Value::Object(new))) =
            (serde_json::to_value(before), serde_json::to_value(after))
        else {
            return Patch::new();
        };
        let mut patch = Patch::new();
        for (key, value) in &new {
            if old.get(key) != Some(value) {
                patch = patch.replace(key, value);
            }
        }
        for key in old.keys().filter(|k| !new.contains_key(*k)) {
            patch = patch.remove(key);
        }
        patch
    }

    /// Whether there is nothing to change.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The operations, in order.
    pub fn operations(&self) -> &[PatchOperation] {
        &self.ops
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{ServiceStatusReference, Ticket};
    use serde_json::json;

    #[test]
    fn builds_connectwise_operations() {
        let p = Patch::new()
            .replace("summary", "New")
            .add("status", json!({"id": 5}))
            .remove("contact");
        assert_eq!(
            serde_json::to_value(p.operations()).unwrap(),
            json!([
                {"op": "replace", "path": "summary", "value": "New"},
                {"op": "add", "path": "status", "value": {"id": 5}},
                {"op": "remove", "path": "contact"}
            ])
        );
    }

    #[test]
    fn a_diff_names_only_what_changed() {
        let before = Ticket {
            summary: Some("Old".into()),
            budget_hours: Some(1.0),
            initial_description: Some("text".into()),
            ..Default::default()
        };
        let after = Ticket {
            summary: Some("New".into()),
            budget_hours: Some(1.0),
            status: Some(ServiceStatusReference {
                id: Some(7),
                ..Default::default()
            }),
            ..Default::default()
        };
        let ops = serde_json::to_value(Patch::diff(&before, &after).operations()).unwrap();
        assert_eq!(
            ops,
            json!([
                {"op": "replace", "path": "status", "value": {"id": 7}},
                {"op": "replace", "path": "summary", "value": "New"},
                {"op": "remove", "path": "initialDescription"}
            ])
        );
        assert!(Patch::diff(&before, &before).is_empty());
    }
}
