//! The endpoints the sandbox serves, as data: one [`Resource`] per collection, naming its
//! schema, the security-role function that guards it, its references and its rules.

/// A module function of a security role, as ConnectWise's settings name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Function {
    /// `moduleName`, e.g. `Service Desk`.
    pub module: &'static str,
    /// `moduleFunctionName`, e.g. `Service Tickets`.
    pub function: &'static str,
}

/// Companies → Company Maintenance.
pub const COMPANY_MAINTENANCE: Function = Function {
    module: "Companies",
    function: "Company Maintenance",
};
/// Companies → Contacts.
pub const CONTACTS: Function = Function {
    module: "Companies",
    function: "Contacts",
};
/// Finance → Agreements.
pub const AGREEMENTS: Function = Function {
    module: "Finance",
    function: "Agreements",
};
/// Finance → Invoicing.
pub const INVOICING: Function = Function {
    module: "Finance",
    function: "Invoicing",
};
/// Procurement → Product Catalog.
pub const PRODUCT_CATALOG: Function = Function {
    module: "Procurement",
    function: "Product Catalog",
};
/// Service Desk → Service Tickets.
pub const SERVICE_TICKETS: Function = Function {
    module: "Service Desk",
    function: "Service Tickets",
};
/// System → Table Setup (boards, statuses, types, priorities, agreement types, callbacks).
pub const TABLE_SETUP: Function = Function {
    module: "System",
    function: "Table Setup",
};
/// System → Member Maintenance.
pub const MEMBER_MAINTENANCE: Function = Function {
    module: "System",
    function: "Member Maintenance",
};
/// System → Security Roles.
pub const SECURITY_ROLES: Function = Function {
    module: "System",
    function: "Security Roles",
};
/// Time & Expense → Time Entry.
pub const TIME_ENTRY: Function = Function {
    module: "Time & Expense",
    function: "Time Entry",
};
/// Time & Expense → Expense Entry.
pub const EXPENSE_ENTRY: Function = Function {
    module: "Time & Expense",
    function: "Expense Entry",
};

/// Every module function a new security role gets a setting for, in screen order.
pub const ALL_FUNCTIONS: &[Function] = &[
    COMPANY_MAINTENANCE,
    CONTACTS,
    AGREEMENTS,
    INVOICING,
    PRODUCT_CATALOG,
    SERVICE_TICKETS,
    TABLE_SETUP,
    MEMBER_MAINTENANCE,
    SECURITY_ROLES,
    TIME_ENTRY,
    EXPENSE_ENTRY,
];

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
    /// Whether DELETE is offered.
    pub deletable: bool,
    /// The callback `type` fired when a record changes.
    pub callback_type: Option<&'static str>,
    /// The field that makes a record "mine" for a role level of `My`.
    pub owner_field: Option<&'static str>,
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
    deletable: true,
    callback_type: None,
    owner_field: None,
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

/// The resource table.
pub static RESOURCES: &[Resource] = &[
    Resource {
        key: COMPANIES,
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
        path: "system/securityRoles/{parent}/settings",
        schema: "SecurityRoleSetting",
        label: "SecurityRoleSetting",
        resource: "securityRoleSetting",
        function: Some(SECURITY_ROLES),
        parent: ParentLink::PathOnly,
        deletable: false,
        ..BASE
    },
    Resource {
        key: CALLBACKS,
        path: "system/callbacks",
        schema: "CallbackEntry",
        label: "CallbackEntry",
        resource: "callbackEntry",
        function: Some(TABLE_SETUP),
        ..BASE
    },
];

/// The resource with this key.
pub fn by_key(key: &str) -> Option<&'static Resource> {
    RESOURCES.iter().find(|r| r.key == key)
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
