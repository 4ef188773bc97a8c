//! The endpoints the sandbox serves, as data: one [`Resource`] per collection, naming its
//! schema, the security-role function that guards it, its references and its rules.
//!
//! Eighteen collections are written out here with the rules ConnectWise applies to them
//! (references checked, unique fields, defaults, callbacks, notes of a ticket's
//! `initialDescription`). Every other collection of the published API ([`crate::published`])
//! is made from the schema at start-up: its operations as published, its function from
//! [`function_for`], its references where the model's `XReference` names one collection.

use std::collections::HashMap;
use std::sync::OnceLock;

pub use crate::functions::*;
use crate::published::{Collection, Published};
use crate::rules::{self, Rules};
use crate::schema::{Kind, Schemas};

/// How a child record names its parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParentLink {
    /// A top-level collection.
    None,
    /// An integer field holding the parent's id (`ticketId`, `agreementId`).
    IdField(&'static str),
    /// A reference field to the parent (`board`).
    RefField(&'static str),
    /// The parent appears only in the path (security role settings).
    PathOnly,
}

/// Where a reference field points.
#[derive(Debug, Clone, Copy)]
pub struct RefSpec {
    /// The field, as named on the wire.
    pub field: &'static str,
    /// The target collection's key.
    pub target: &'static str,
    /// For board-scoped targets (a ticket's status and type): the field of the same record
    /// whose id is the target's parent.
    pub scoped_by: Option<&'static str>,
}

const fn r(field: &'static str, target: &'static str) -> RefSpec {
    RefSpec {
        field,
        target,
        scoped_by: None,
    }
}

/// One collection the API serves.
#[derive(Debug)]
pub struct Resource {
    /// The collection key: its path with `{id}` for parent ids, lower case.
    pub key: &'static str,
    /// The path as ConnectWise spells it (for `_info` links).
    pub path: &'static str,
    /// The schema of its records.
    pub schema: &'static str,
    /// The name used in not-found messages (`Ticket Id 5 not found`).
    pub label: &'static str,
    /// The resource name used in field errors (`ticket`).
    pub resource: &'static str,
    /// The security-role function that guards it; `None` for any authenticated member.
    pub function: Option<Function>,
    /// How records name their parent.
    pub parent: ParentLink,
    /// Reference fields the sandbox resolves against its own collections.
    pub refs: &'static [RefSpec],
    /// Fields that must be unique (case-insensitively) within the parent.
    pub unique: &'static [&'static str],
    /// Whether POST, PUT/PATCH and DELETE are offered.
    pub writable: bool,
    /// Whether POST on the collection is offered (when writable).
    pub post: bool,
    /// Whether PUT on a record is offered (when writable).
    pub put: bool,
    /// Whether PATCH on a record is offered (when writable).
    pub patch: bool,
    /// Whether GET of one record is offered.
    pub get_one: bool,
    /// Whether `/count` is offered.
    pub count: bool,
    /// The collection holding this one's parents (for nested generated collections; the
    /// hand-written ones name theirs in the router).
    pub parent_key: Option<&'static str>,
    /// Whether DELETE is offered.
    pub deletable: bool,
    /// The callback `type` fired when a record changes.
    pub callback_type: Option<&'static str>,
    /// The field that makes a record "mine" for a role level of `My`.
    pub owner_field: Option<&'static str>,
    /// The defaults and checks ConnectWise applies when a record is made or changed.
    pub rules: Option<Rules>,
}

const BASE: Resource = Resource {
    key: "",
    path: "",
    schema: "",
    label: "",
    resource: "",
    function: None,
    parent: ParentLink::None,
    refs: &[],
    unique: &[],
    writable: true,
    post: true,
    put: true,
    patch: true,
    get_one: true,
    count: true,
    parent_key: None,
    deletable: true,
    callback_type: None,
    owner_field: None,
    rules: None,
};

/// Companies.
pub const COMPANIES: &str = "company/companies";
/// Company statuses.
pub const COMPANY_STATUSES: &str = "company/companies/statuses";
/// Company types.
pub const COMPANY_TYPES: &str = "company/companies/types";
/// Contacts.
pub const CONTACTS_KEY: &str = "company/contacts";
/// Agreements.
pub const AGREEMENTS_KEY: &str = "finance/agreements";
/// Agreement additions.
pub const ADDITIONS: &str = "finance/agreements/{id}/additions";
/// Agreement types.
pub const AGREEMENT_TYPES: &str = "finance/agreements/types";
/// The product catalog.
pub const CATALOG: &str = "procurement/catalog";
/// Service boards.
pub const BOARDS: &str = "service/boards";
/// A board's statuses.
pub const BOARD_STATUSES: &str = "service/boards/{id}/statuses";
/// A board's types.
pub const BOARD_TYPES: &str = "service/boards/{id}/types";
/// Priorities.
pub const PRIORITIES: &str = "service/priorities";
/// Tickets.
pub const TICKETS: &str = "service/tickets";
/// A ticket's notes.
pub const NOTES: &str = "service/tickets/{id}/notes";
/// Members.
pub const MEMBERS: &str = "system/members";
/// Security roles.
pub const ROLES: &str = "system/securityroles";
/// A role's settings.
pub const ROLE_SETTINGS: &str = "system/securityroles/{id}/settings";
/// Callbacks.
pub const CALLBACKS: &str = "system/callbacks";
/// API keys (internal: never listed, only created through `members/{id}/tokens`).
pub const API_KEYS: &str = "_keys";

/// The collections written out by hand, with their rules.
pub static RESOURCES: &[Resource] = &[
    Resource {
        key: COMPANIES,
        rules: Some(rules::companies),
        path: "company/companies",
        schema: "Company",
        label: "Company",
        resource: "company",
        function: Some(COMPANY_MAINTENANCE),
        refs: &[
            r("status", COMPANY_STATUSES),
            r("types", COMPANY_TYPES),
            r("defaultContact", CONTACTS_KEY),
            r("billingContact", CONTACTS_KEY),
            r("parentCompany", COMPANIES),
            r("billToCompany", COMPANIES),
            r("territoryManager", MEMBERS),
        ],
        unique: &["identifier"],
        callback_type: Some("company"),
        owner_field: Some("territoryManager"),
        ..BASE
    },
    Resource {
        key: COMPANY_STATUSES,
        path: "company/companies/statuses",
        schema: "CompanyStatus",
        label: "CompanyStatus",
        resource: "companyStatus",
        function: Some(TABLE_SETUP),
        unique: &["name"],
        ..BASE
    },
    Resource {
        key: COMPANY_TYPES,
        rules: Some(rules::active_by_default),
        path: "company/companies/types",
        schema: "CompanyType",
        label: "CompanyType",
        resource: "companyType",
        function: Some(TABLE_SETUP),
        unique: &["name"],
        ..BASE
    },
    Resource {
        key: CONTACTS_KEY,
        path: "company/contacts",
        schema: "Contact",
        label: "Contact",
        resource: "contact",
        function: Some(CONTACTS),
        refs: &[r("company", COMPANIES), r("managerContact", CONTACTS_KEY)],
        ..BASE
    },
    Resource {
        key: AGREEMENTS_KEY,
        rules: Some(rules::agreements),
        path: "finance/agreements",
        schema: "Agreement",
        label: "Agreement",
        resource: "agreement",
        function: Some(AGREEMENTS),
        refs: &[
            r("company", COMPANIES),
            r("type", AGREEMENT_TYPES),
            r("contact", CONTACTS_KEY),
            r("billToCompany", COMPANIES),
            r("billToContact", CONTACTS_KEY),
            r("parentAgreement", AGREEMENTS_KEY),
        ],
        callback_type: Some("agreement"),
        ..BASE
    },
    Resource {
        key: ADDITIONS,
        rules: Some(rules::additions),
        path: "finance/agreements/{parent}/additions",
        schema: "Addition",
        label: "Addition",
        resource: "addition",
        function: Some(AGREEMENTS),
        parent: ParentLink::IdField("agreementId"),
        refs: &[r("product", CATALOG)],
        ..BASE
    },
    Resource {
        key: AGREEMENT_TYPES,
        rules: Some(rules::active_by_default),
        path: "finance/agreements/types",
        schema: "AgreementType",
        label: "AgreementType",
        resource: "agreementType",
        function: Some(TABLE_SETUP),
        unique: &["name"],
        ..BASE
    },
    Resource {
        key: CATALOG,
        rules: Some(rules::active_by_default),
        path: "procurement/catalog",
        schema: "CatalogItem",
        label: "CatalogItem",
        resource: "catalogItem",
        function: Some(PRODUCT_CATALOG),
        refs: &[r("vendor", COMPANIES)],
        unique: &["identifier"],
        ..BASE
    },
    Resource {
        key: BOARDS,
        rules: Some(rules::active_by_default),
        path: "service/boards",
        schema: "Board",
        label: "Board",
        resource: "board",
        function: Some(TABLE_SETUP),
        unique: &["name"],
        ..BASE
    },
    Resource {
        key: BOARD_STATUSES,
        rules: Some(rules::board_statuses),
        path: "service/boards/{parent}/statuses",
        schema: "BoardStatus",
        label: "BoardStatus",
        resource: "boardStatus",
        function: Some(TABLE_SETUP),
        parent: ParentLink::RefField("board"),
        refs: &[r("board", BOARDS)],
        unique: &["name"],
        ..BASE
    },
    Resource {
        key: BOARD_TYPES,
        path: "service/boards/{parent}/types",
        schema: "BoardType",
        label: "BoardType",
        resource: "boardType",
        function: Some(TABLE_SETUP),
        parent: ParentLink::RefField("board"),
        refs: &[r("board", BOARDS)],
        unique: &["name"],
        ..BASE
    },
    Resource {
        key: PRIORITIES,
        path: "service/priorities",
        schema: "Priority",
        label: "Priority",
        resource: "priority",
        function: Some(TABLE_SETUP),
        unique: &["name"],
        ..BASE
    },
    Resource {
        key: TICKETS,
        rules: Some(rules::tickets),
        path: "service/tickets",
        schema: "Ticket",
        label: "Ticket",
        resource: "ticket",
        function: Some(SERVICE_TICKETS),
        refs: &[
            r("board", BOARDS),
            RefSpec {
                field: "status",
                target: BOARD_STATUSES,
                scoped_by: Some("board"),
            },
            RefSpec {
                field: "type",
                target: BOARD_TYPES,
                scoped_by: Some("board"),
            },
            r("priority", PRIORITIES),
            r("company", COMPANIES),
            r("contact", CONTACTS_KEY),
            r("agreement", AGREEMENTS_KEY),
            r("owner", MEMBERS),
        ],
        callback_type: Some("ticket"),
        owner_field: Some("owner"),
        ..BASE
    },
    Resource {
        key: NOTES,
        rules: Some(rules::notes),
        path: "service/tickets/{parent}/notes",
        schema: "ServiceNote",
        label: "ServiceNote",
        resource: "serviceNote",
        function: Some(SERVICE_TICKETS),
        parent: ParentLink::IdField("ticketId"),
        refs: &[r("member", MEMBERS), r("contact", CONTACTS_KEY)],
        owner_field: Some("member"),
        ..BASE
    },
    Resource {
        key: MEMBERS,
        rules: Some(rules::members),
        path: "system/members",
        schema: "Member",
        label: "Member",
        resource: "member",
        function: Some(MEMBER_MAINTENANCE),
        refs: &[r("securityRole", ROLES), r("reportsTo", MEMBERS)],
        unique: &["identifier"],
        deletable: false,
        ..BASE
    },
    Resource {
        key: ROLES,
        rules: Some(rules::roles),
        path: "system/securityroles",
        schema: "SecurityRole",
        label: "SecurityRole",
        resource: "securityRole",
        function: Some(SECURITY_ROLES),
        unique: &["name"],
        ..BASE
    },
    Resource {
        key: ROLE_SETTINGS,
        rules: Some(rules::role_settings),
        path: "system/securityRoles/{parent}/settings",
        schema: "SecurityRoleSetting",
        label: "SecurityRoleSetting",
        resource: "securityRoleSetting",
        function: Some(SECURITY_ROLES),
        parent: ParentLink::PathOnly,
        post: false,
        deletable: false,
        ..BASE
    },
    Resource {
        key: CALLBACKS,
        rules: Some(rules::callbacks),
        path: "system/callbacks",
        schema: "CallbackEntry",
        label: "CallbackEntry",
        resource: "callbackEntry",
        function: Some(TABLE_SETUP),
        ..BASE
    },
];

/// The resource with this key: a hand-written one, or one made from the published API.
pub fn by_key(key: &str) -> Option<&'static Resource> {
    table().by_key.get(key).copied()
}

/// Every collection served: the hand-written ones, then the ones made from the published
/// API, in path order.
pub fn all() -> &'static [&'static Resource] {
    &table().all
}

struct Table {
    all: Vec<&'static Resource>,
    by_key: HashMap<&'static str, &'static Resource>,
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut all: Vec<&'static Resource> = RESOURCES.iter().collect();
        let published = Published::embedded();
        for c in &published.collections {
            if RESOURCES.iter().any(|r| r.key == c.key()) {
                continue;
            }
            // Made once per process and kept for its life, like the static table.
            all.push(Box::leak(Box::new(generated(c, published))));
        }
        let by_key = all.iter().map(|r| (r.key, *r)).collect();
        Table { all, by_key }
    })
}

/// A leaked string: generated resources live as long as the process, like the static ones.
fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// A collection of the published API as a resource.
fn generated(c: &Collection, published: &Published) -> Resource {
    let schemas = Schemas::embedded();
    let schema = schemas.find(&c.model);
    let parent_model = c.parent_path().and_then(|p| {
        published
            .collections
            .iter()
            .find(|o| o.path.eq_ignore_ascii_case(p))
            .map(|o| o.model.as_str())
    });
    // A child names its parent by a `<parent>Id` field or a reference to the parent's model,
    // when its model has one; otherwise only by the path.
    let parent = match (c.parent_path(), parent_model, schema) {
        (None, _, _) => ParentLink::None,
        (Some(_), Some(pm), Some(s)) => {
            let id_field = format!("{}Id", lower_first(pm));
            let ref_model = format!("{pm}Reference");
            if s.fields
                .iter()
                .any(|f| f.name == id_field && f.kind == Kind::Integer)
            {
                ParentLink::IdField(leak(id_field))
            } else if let Some(f) = s
                .fields
                .iter()
                .find(|f| f.kind == Kind::Ref(ref_model.clone()))
            {
                ParentLink::RefField(leak(f.name.clone()))
            } else {
                ParentLink::PathOnly
            }
        }
        (Some(_), _, _) => ParentLink::PathOnly,
    };
    let parent_field = match parent {
        ParentLink::RefField(f) => Some(f),
        _ => None,
    };
    let mut refs = Vec::new();
    for field in schema.map(|s| s.fields.as_slice()).unwrap_or_default() {
        let target_model = match &field.kind {
            Kind::Ref(m) => m,
            Kind::Array(inner) => match &**inner {
                Kind::Ref(m) => m,
                _ => continue,
            },
            _ => continue,
        };
        if Some(field.name.as_str()) == parent_field {
            refs.push(RefSpec {
                field: leak(field.name.clone()),
                target: leak(c.parent_path().unwrap_or_default().to_ascii_lowercase()),
                scoped_by: None,
            });
            continue;
        }
        let Some(target) = target_model.strip_suffix("Reference") else {
            continue;
        };
        let mut owners = published
            .collections
            .iter()
            .filter(|o| o.model == target && o.parent_path().is_none());
        if let (Some(only), None) = (owners.next(), owners.next()) {
            refs.push(RefSpec {
                field: leak(field.name.clone()),
                target: leak(only.key()),
                scoped_by: None,
            });
        }
    }
    let path = match c.path.rfind("{id}") {
        Some(at) => format!("{}{{parent}}{}", &c.path[..at], &c.path[at + 4..]),
        None => c.path.clone(),
    };
    Resource {
        key: leak(c.key()),
        path: leak(path),
        schema: leak(c.model.clone()),
        label: leak(c.model.clone()),
        resource: leak(lower_first(&c.model)),
        function: function_for(&c.path),
        parent,
        refs: Box::leak(refs.into_boxed_slice()),
        unique: &[],
        writable: c.post || c.put || c.patch,
        post: c.post,
        put: c.put,
        patch: c.patch,
        get_one: c.get,
        count: c.count,
        parent_key: c.parent_path().map(|p| leak(p.to_ascii_lowercase())),
        deletable: c.delete,
        callback_type: None,
        owner_field: None,
        rules: None,
    }
}

/// `CompanySite` → `companySite`.
fn lower_first(name: &str) -> String {
    let mut chars = name.chars();
    chars
        .next()
        .map(|c| c.to_ascii_lowercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// The resource table entry for a key known at compile time.
///
/// # Panics
/// If the key is not in the table (a programming error).
pub fn get(key: &str) -> &'static Resource {
    by_key(key).unwrap_or_else(|| panic!("no resource {key}"))
}

impl Resource {
    /// The resource's reference spec for a field.
    pub fn ref_spec(&self, field: &str) -> Option<&RefSpec> {
        self.refs
            .iter()
            .find(|r| r.field.eq_ignore_ascii_case(field))
    }

    /// This resource's path for a parent id (`service/tickets/5/notes`).
    pub fn path_for(&self, parent: i64) -> String {
        self.path.replace("{parent}", &parent.to_string())
    }
}
