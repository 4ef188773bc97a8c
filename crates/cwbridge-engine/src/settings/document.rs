//! The settings document: its sections as serde types (TOML and JSON alike, unknown fields
//! refused), read with every unreadable field named by its path, and written as TOML.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::billing::{DriftPolicy, Mode};
use crate::error::{EngineError, Result, failed_field, without_position};

/// The most bytes of a document read from a file (the API reads up to its body limit).
pub const MAX_DOCUMENT_BYTES: usize = 32 << 20;

/// A tenant's settings as one document: what `cwbridge tenant export` and
/// `GET /api/v1/settings` write, and `apply` and `PUT /api/v1/settings` take. A section
/// left out is left as it is; a list given is the whole list (what it does not name is
/// removed). No private key is ever in it. A list holds at most as many entries as a tenant
/// may have accounts (policies: 1,000); account ids are 1 to 200 characters without `/`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SettingsDocument {
    /// The ConnectWise connection, without its private key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<ConnectionSection>,
    /// Billing & product (step 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing: Option<BillingSection>,
    /// Ticket defaults (step 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tickets: Option<TicketsSection>,
    /// Every account's mapping (step 3): accounts not listed are unmapped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mappings: Option<Vec<MappingEntry>>,
    /// The alert types each customer forwards: customers not listed forward every type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_routes: Option<Vec<RouteEntry>>,
    /// Alert-type policies: types not listed get the default (a new ticket after a close,
    /// no note on resolve).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_policies: Option<Vec<PolicyEntry>>,
}

/// The connection, as `PUT /api/v1/connection` takes it but without the private key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConnectionSection {
    /// The ConnectWise site, e.g. `na.myconnectwise.net` (at most 255 characters, as are
    /// the company id, the public key and the clientId).
    #[schema(min_length = 1)]
    pub site: String,
    /// The company id typed at ConnectWise's login.
    #[schema(min_length = 1)]
    pub company_id: String,
    /// The API key's public half.
    #[schema(min_length = 1)]
    pub public_key: String,
    /// The clientId; left out, the bridge's own.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub client_id: String,
}

/// Billing & product. Each ConnectWise record is named, and given by id too when exported:
/// the name decides (ConnectWise is asked for it), the id beside it is for people — so a
/// document fits any MSP's ConnectWise, whose ids differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BillingSection {
    /// The catalog product's identifier, e.g. `DMARC-MONITOR` (names are at most 200
    /// characters).
    #[schema(min_length = 1)]
    pub product: String,
    /// Its id.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::whole::whole_opt"
    )]
    #[schema(minimum = 1)]
    pub product_id: Option<i64>,
    /// The default agreement type's name.
    #[schema(min_length = 1)]
    pub agreement_type: String,
    /// Its id.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::whole::whole_opt"
    )]
    #[schema(minimum = 1)]
    pub agreement_type_id: Option<i64>,
    /// How lines are billed.
    pub mode: Mode,
    /// What to do with lines of ours edited by hand (default `report`).
    #[serde(default = "report")]
    pub drift_policy: DriftPolicy,
    /// Apply on its own every this many hours (0, the default: on demand only).
    #[serde(default, deserialize_with = "crate::whole::whole")]
    #[schema(maximum = 744)]
    pub schedule_hours: u32,
}

fn report() -> DriftPolicy {
    DriftPolicy::Report
}

/// Ticket defaults; names and ids as in [`BillingSection`] (a type's id needs its name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TicketsSection {
    /// The service board's name.
    #[schema(min_length = 1)]
    pub board: String,
    /// Its id.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::whole::whole_opt"
    )]
    #[schema(minimum = 1)]
    pub board_id: Option<i64>,
    /// The status new tickets get (one of the board's).
    #[schema(min_length = 1)]
    pub status: String,
    /// Its id.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::whole::whole_opt"
    )]
    #[schema(minimum = 1)]
    pub status_id: Option<i64>,
    /// The priority's name.
    #[schema(min_length = 1)]
    pub priority: String,
    /// Its id.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::whole::whole_opt"
    )]
    #[schema(minimum = 1)]
    pub priority_id: Option<i64>,
    /// The ticket type (one of the board's), if any.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub ticket_type: Option<String>,
    /// Its id.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::whole::whole_opt"
    )]
    #[schema(minimum = 1)]
    pub type_id: Option<i64>,
    /// Who notes are written on behalf of (default `cwbridge`; at most 100 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

/// An account mapped to a company.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MappingEntry {
    /// The vendor's id for the account (the vendor's platform pushes accounts).
    #[schema(min_length = 1)]
    pub account: String,
    /// The ConnectWise company.
    #[serde(deserialize_with = "crate::whole::whole")]
    #[schema(minimum = 1)]
    pub company_id: i64,
    /// The company's name, for people: the name saved is ConnectWise's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
    /// An agreement of that company to bill on instead of the default type's.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::whole::whole_opt"
    )]
    #[schema(minimum = 1)]
    pub agreement_id: Option<i64>,
}

impl MappingEntry {
    /// `account` mapped to company `company_id`, on its default agreement.
    pub fn new(account: impl Into<String>, company_id: i64) -> MappingEntry {
        MappingEntry {
            account: account.into(),
            company_id,
            company_name: None,
            agreement_id: None,
        }
    }
}

/// The alert types one customer forwards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RouteEntry {
    /// The vendor's id for the account.
    #[schema(min_length = 1)]
    pub account: String,
    /// The types it forwards, each 1 to 100 characters: `["*"]` for every type (also ones
    /// added later), `[]` for none.
    #[schema(max_items = 200)]
    pub types: Vec<String>,
}

/// What happens to one alert type's tickets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyEntry {
    /// The alert type, e.g. `dmarc-record-changed` (1 to 100 characters).
    #[serde(rename = "type")]
    #[schema(min_length = 1)]
    pub alert_type: String,
    /// Whether a resolved alert adds a note to its ticket (default: no).
    #[serde(default)]
    pub note_on_resolve: bool,
    /// When an alert recurs after its ticket was closed: `new` ticket (default) or `reopen`.
    #[serde(default = "new_ticket")]
    pub recur_after_close: String,
}

fn new_ticket() -> String {
    "new".into()
}

/// The comment a TOML document starts with.
const TOML_HEADER: &str = "\
# A cwbridge tenant's settings (`cwbridge tenant export`). `cwbridge tenant apply FILE --tenant NAME`
# shows how a tenant differs from them and, with --yes, makes it so. A section left out is left
# as it is; a list is the whole list. Names decide; the ids beside them are for people.
# No private key is kept here: give one with --private-key-file when the connection changes.
";

impl SettingsDocument {
    /// Reads a document: JSON when it starts with `{`, else TOML. A field that cannot be
    /// read (unknown, of the wrong type, missing) is refused named by its path, e.g.
    /// `mappings[3].companyId`.
    pub fn parse(text: &str) -> Result<SettingsDocument> {
        if text.len() > MAX_DOCUMENT_BYTES {
            return Err(EngineError::invalid(
                "document",
                format!("a settings document is at most {MAX_DOCUMENT_BYTES} bytes"),
            ));
        }
        if text.trim_start().starts_with('{') {
            let mut json = serde_json::Deserializer::from_str(text);
            serde_path_to_error::deserialize(&mut json).map_err(|e| {
                let inner = e.inner();
                let message = format!(
                    "line {}: {}",
                    inner.line(),
                    without_position(&inner.to_string())
                );
                refusal(e.path(), &message)
            })
        } else {
            serde_path_to_error::deserialize(toml::Deserializer::new(text)).map_err(|e| {
                let inner = e.inner();
                let line = inner
                    .span()
                    .map(|s| text[..s.start.min(text.len())].lines().count().max(1));
                // One line, as every refusal is.
                let lines = inner.message().lines().map(str::trim);
                let words = lines
                    .filter(|w| !w.is_empty())
                    .collect::<Vec<_>>()
                    .join(": ");
                let message = match line {
                    Some(line) => format!("line {line}: {words}"),
                    None => words,
                };
                refusal(e.path(), &message)
            })
        }
    }

    /// The document as TOML, after a comment saying what it is and how to apply it.
    pub fn to_toml(&self) -> Result<String, toml::ser::Error> {
        Ok(format!("{TOML_HEADER}\n{}", toml::to_string(self)?))
    }
}

/// A document refused at `path`, or as a whole when the path names no field.
fn refusal(path: &serde_path_to_error::Path, message: &str) -> EngineError {
    let field = failed_field(&path.to_string(), message);
    EngineError::invalid(field.as_deref().unwrap_or("document"), message)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A document with every section and field.
    pub(crate) fn full() -> SettingsDocument {
        SettingsDocument {
            connection: Some(ConnectionSection {
                site: "cw.msp.example".into(),
                company_id: "acme".into(),
                public_key: "pub".into(),
                client_id: "client".into(),
            }),
            billing: Some(BillingSection {
                product: "DMARC-MONITOR".into(),
                product_id: Some(41),
                agreement_type: "Managed Services".into(),
                agreement_type_id: Some(3),
                mode: Mode::PerUnit,
                drift_policy: DriftPolicy::Report,
                schedule_hours: 24,
            }),
            tickets: Some(TicketsSection {
                board: "Help Desk".into(),
                board_id: Some(1),
                status: "New".into(),
                status_id: Some(16),
                priority: "Priority 3 - Normal Response".into(),
                priority_id: Some(8),
                ticket_type: Some("Alert".into()),
                type_id: Some(2),
                signature: Some("EasyDMARC".into()),
            }),
            mappings: Some(vec![MappingEntry {
                account: "g-acme".into(),
                company_id: 19,
                company_name: Some("Acme Corporation".into()),
                agreement_id: Some(7),
            }]),
            alert_routes: Some(vec![RouteEntry {
                account: "g-acme".into(),
                types: vec!["dmarc-failure".into(), "spf-failing".into()],
            }]),
            alert_policies: Some(vec![PolicyEntry {
                alert_type: "dmarc-failure".into(),
                note_on_resolve: true,
                recur_after_close: "reopen".into(),
            }]),
        }
    }

    #[test]
    fn a_document_reads_back_from_toml_and_json_as_it_was() {
        for doc in [full(), SettingsDocument::default()] {
            let toml = doc.to_toml().unwrap();
            assert!(toml.starts_with("# A cwbridge tenant's settings"), "{toml}");
            assert_eq!(SettingsDocument::parse(&toml).unwrap(), doc, "{toml}");
            let json = serde_json::to_string(&doc).unwrap();
            assert_eq!(SettingsDocument::parse(&json).unwrap(), doc, "{json}");
        }
        let empty_lists = SettingsDocument {
            mappings: Some(Vec::new()),
            alert_routes: Some(Vec::new()),
            tickets: full().tickets,
            ..SettingsDocument::default()
        };
        let toml = empty_lists.to_toml().unwrap();
        assert_eq!(
            SettingsDocument::parse(&toml).unwrap(),
            empty_lists,
            "{toml}"
        );
    }

    #[test]
    fn an_unreadable_field_is_refused_named_by_its_path() {
        let mapping = "[[mappings]]\naccount = \"g-acme\"\n";
        for (text, field) in [
            (format!("{mapping}companyId = \"x\"\n"), "mappings[0].companyId"),
            (mapping.to_owned(), "mappings[0].companyId"),
            (format!("{mapping}companyId = 1\nnotes = 2\n"), "mappings[0].notes"),
            ("[billing]\nprodukt = \"x\"\n".to_owned(), "billing.produkt"),
            ("[connection]\nprivateKey = \"x\"\n".to_owned(), "connection.privateKey"),
            ("mappings = [".to_owned(), "document"),
            (
                r#"{"mappings": [{"account": "a", "companyId": 1}, {"account": "b", "companyId": -1.5}]}"#.to_owned(),
                "mappings[1].companyId",
            ),
            (r#"{"alertRoutes": [{"account": "a"}]}"#.to_owned(), "alertRoutes[0].types"),
            (r#"{"tickets": 1}"#.to_owned(), "tickets"),
        ] {
            match SettingsDocument::parse(&text) {
                Err(EngineError::Invalid { field: got, message }) => {
                    assert_eq!(got, field, "{text}: {message}");
                    assert!(message.starts_with("line ") || got == "document", "{message}");
                    assert!(!message.contains('\n'), "one line: {message}");
                }
                other => panic!("{text}: {other:?}"),
            }
        }
    }
}
