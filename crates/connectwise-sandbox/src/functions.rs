//! Security-role module functions, and which one guards each path of the published API.
//!
//! ConnectWise grants access by module (`Companies`, `Finance`, `Procurement`, `Project`,
//! `Sales`, `Schedule`, `Service Desk`, `System`, `Time & Expense`, `Marketing`) and, inside
//! it, by function (`Service Tickets`, `Invoicing`, …). [`function_for`] maps a path to its
//! function: the longest matching entry of [`BY_PATH`] wins, and every path falls at least to
//! its first segment's entry, so the whole published API is covered (a test walks it). Setup
//! lists (countries, currencies, board priorities, work types…) are `System > Table Setup`, as
//! in ConnectWise, whatever module their path is under. The crate's README lists the table.

/// A module function of a security role, as ConnectWise's settings name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Function {
    /// `moduleName`, e.g. `Service Desk`.
    pub module: &'static str,
    /// `moduleFunctionName`, e.g. `Service Tickets`.
    pub function: &'static str,
}

const fn f(module: &'static str, function: &'static str) -> Function {
    Function { module, function }
}

/// Companies → Company Maintenance.
pub const COMPANY_MAINTENANCE: Function = f("Companies", "Company Maintenance");
/// Companies → Contacts.
pub const CONTACTS: Function = f("Companies", "Contacts");
/// Companies → Configurations.
pub const CONFIGURATIONS: Function = f("Companies", "Configurations");
/// Companies → Company Finance.
pub const COMPANY_FINANCE: Function = f("Companies", "Company Finance");
/// Companies → Notes.
pub const COMPANY_NOTES: Function = f("Companies", "Notes");
/// Companies → Team Members.
pub const TEAM_MEMBERS: Function = f("Companies", "Team Members");
/// Companies → Manage Attachments (documents of any record).
pub const MANAGE_ATTACHMENTS: Function = f("Companies", "Manage Attachments");
/// Companies → Portal Security.
pub const PORTAL_SECURITY: Function = f("Companies", "Portal Security");
/// Finance → Agreements.
pub const AGREEMENTS: Function = f("Finance", "Agreements");
/// Finance → Invoicing.
pub const INVOICING: Function = f("Finance", "Invoicing");
/// Finance → Accounting Interface.
pub const ACCOUNTING_INTERFACE: Function = f("Finance", "Accounting Interface");
/// Finance → Billing Setup.
pub const BILLING_SETUP: Function = f("Finance", "Billing Setup");
/// Procurement → Product Catalog.
pub const PRODUCT_CATALOG: Function = f("Procurement", "Product Catalog");
/// Procurement → Products (products on tickets, projects, opportunities).
pub const PRODUCTS: Function = f("Procurement", "Products");
/// Procurement → Purchasing.
pub const PURCHASING: Function = f("Procurement", "Purchasing");
/// Procurement → Inventory.
pub const INVENTORY: Function = f("Procurement", "Inventory");
/// Procurement → RMA.
pub const RMA: Function = f("Procurement", "RMA");
/// Project → Project Headers.
pub const PROJECT_HEADERS: Function = f("Project", "Project Headers");
/// Project → Project Tickets.
pub const PROJECT_TICKETS: Function = f("Project", "Project Tickets");
/// Project → Project Templates.
pub const PROJECT_TEMPLATES: Function = f("Project", "Project Templates");
/// Sales → Opportunity.
pub const OPPORTUNITY: Function = f("Sales", "Opportunity");
/// Sales → Sales Activities.
pub const SALES_ACTIVITIES: Function = f("Sales", "Sales Activities");
/// Sales → Sales Orders.
pub const SALES_ORDERS: Function = f("Sales", "Sales Orders");
/// Sales → Sales Management (quotas, commissions, teams).
pub const SALES_MANAGEMENT: Function = f("Sales", "Sales Management");
/// Schedule → Schedule Entries.
pub const SCHEDULE_ENTRIES: Function = f("Schedule", "Schedule Entries");
/// Service Desk → Service Tickets.
pub const SERVICE_TICKETS: Function = f("Service Desk", "Service Tickets");
/// Service Desk → Ticket Templates.
pub const TICKET_TEMPLATES: Function = f("Service Desk", "Ticket Templates");
/// Service Desk → Knowledge Base.
pub const KNOWLEDGE_BASE: Function = f("Service Desk", "Knowledge Base");
/// System → Table Setup (setup lists: boards, statuses, types, priorities, agreement types,
/// callbacks, countries, currencies, work types…).
pub const TABLE_SETUP: Function = f("System", "Table Setup");
/// System → Member Maintenance.
pub const MEMBER_MAINTENANCE: Function = f("System", "Member Maintenance");
/// System → Security Roles.
pub const SECURITY_ROLES: Function = f("System", "Security Roles");
/// System → My Company.
pub const MY_COMPANY: Function = f("System", "My Company");
/// System → Reports.
pub const REPORTS: Function = f("System", "Reports");
/// System → Workflow Rules.
pub const WORKFLOW_RULES: Function = f("System", "Workflow Rules");
/// Time & Expense → Time Entry.
pub const TIME_ENTRY: Function = f("Time & Expense", "Time Entry");
/// Time & Expense → Time Sheets.
pub const TIME_SHEETS: Function = f("Time & Expense", "Time Sheets");
/// Time & Expense → Expense Entry.
pub const EXPENSE_ENTRY: Function = f("Time & Expense", "Expense Entry");
/// Time & Expense → Expense Reports.
pub const EXPENSE_REPORTS: Function = f("Time & Expense", "Expense Reports");
/// Marketing → Campaigns.
pub const CAMPAIGNS: Function = f("Marketing", "Campaigns");
/// Marketing → Marketing Groups.
pub const MARKETING_GROUPS: Function = f("Marketing", "Marketing Groups");

/// Every module function a new security role gets a setting for, in screen order.
pub const ALL_FUNCTIONS: &[Function] = &[
    COMPANY_MAINTENANCE,
    CONTACTS,
    CONFIGURATIONS,
    COMPANY_FINANCE,
    COMPANY_NOTES,
    TEAM_MEMBERS,
    MANAGE_ATTACHMENTS,
    PORTAL_SECURITY,
    AGREEMENTS,
    INVOICING,
    ACCOUNTING_INTERFACE,
    BILLING_SETUP,
    PRODUCT_CATALOG,
    PRODUCTS,
    PURCHASING,
    INVENTORY,
    RMA,
    PROJECT_HEADERS,
    PROJECT_TICKETS,
    PROJECT_TEMPLATES,
    OPPORTUNITY,
    SALES_ACTIVITIES,
    SALES_ORDERS,
    SALES_MANAGEMENT,
    SCHEDULE_ENTRIES,
    SERVICE_TICKETS,
    TICKET_TEMPLATES,
    KNOWLEDGE_BASE,
    TABLE_SETUP,
    MEMBER_MAINTENANCE,
    SECURITY_ROLES,
    MY_COMPANY,
    REPORTS,
    WORKFLOW_RULES,
    TIME_ENTRY,
    TIME_SHEETS,
    EXPENSE_ENTRY,
    EXPENSE_REPORTS,
    CAMPAIGNS,
    MARKETING_GROUPS,
];

/// Which function guards a path: path prefixes (lower case, `{id}` for ids), the longest
/// match winning. Each first segment has an entry, so every path has a function.
pub const BY_PATH: &[(&str, Function)] = &[
    // Companies
    ("company", TABLE_SETUP),
    ("company/companies", COMPANY_MAINTENANCE),
    ("company/companies/{id}/notes", COMPANY_NOTES),
    ("company/companies/{id}/teams", TEAM_MEMBERS),
    ("company/companies/statuses", TABLE_SETUP),
    ("company/companies/types", TABLE_SETUP),
    ("company/companies/info/types", TABLE_SETUP),
    ("company/companyfinance", COMPANY_FINANCE),
    ("company/companypickeritems", COMPANY_MAINTENANCE),
    ("company/companytypeassociations", COMPANY_MAINTENANCE),
    ("company/configurations", CONFIGURATIONS),
    ("company/configurations/statuses", TABLE_SETUP),
    ("company/configurations/types", TABLE_SETUP),
    ("company/contact", CONTACTS),
    ("company/contacts", CONTACTS),
    ("company/contacts/departments", TABLE_SETUP),
    ("company/contacts/relationships", TABLE_SETUP),
    ("company/contacts/types", TABLE_SETUP),
    ("company/contacttypeassociations", CONTACTS),
    ("company/contactsync", CONTACTS),
    ("company/m365contact", CONTACTS),
    ("company/m365contactsync", CONTACTS),
    ("company/management", CONFIGURATIONS),
    ("company/managementbackups", CONFIGURATIONS),
    ("company/managementitsolutions", CONFIGURATIONS),
    ("company/manageddevicesintegrations", CONFIGURATIONS),
    ("company/portalconfigurations", PORTAL_SECURITY),
    ("company/portalsecuritylevels", PORTAL_SECURITY),
    ("company/portalsecuritysettings", PORTAL_SECURITY),
    ("configurations", TABLE_SETUP),
    // Finance
    ("finance", TABLE_SETUP),
    ("finance/accounting", ACCOUNTING_INTERFACE),
    ("finance/accountingpackages", ACCOUNTING_INTERFACE),
    ("finance/accountingpackagesetup", ACCOUNTING_INTERFACE),
    ("finance/glaccounts", ACCOUNTING_INTERFACE),
    ("finance/glcaptions", ACCOUNTING_INTERFACE),
    ("finance/glpaths", ACCOUNTING_INTERFACE),
    ("finance/agreementrecap", AGREEMENTS),
    ("finance/agreements", AGREEMENTS),
    ("finance/agreements/types", TABLE_SETUP),
    ("finance/agreementtypes", TABLE_SETUP),
    ("finance/batchsetups", BILLING_SETUP),
    ("finance/billingsetups", BILLING_SETUP),
    ("finance/closedinvoices", INVOICING),
    ("finance/companyfinance", COMPANY_FINANCE),
    ("finance/invoiceemailtemplates", BILLING_SETUP),
    ("finance/invoices", INVOICING),
    ("finance/invoicetemplates", BILLING_SETUP),
    ("finance/invoicetemplatesetups", BILLING_SETUP),
    // Procurement
    ("procurement", TABLE_SETUP),
    ("procurement/adjustments", INVENTORY),
    ("procurement/catalog", PRODUCT_CATALOG),
    ("procurement/onhandserialnumbers", INVENTORY),
    ("procurement/pricingschedules", PRODUCT_CATALOG),
    ("procurement/products", PRODUCTS),
    ("procurement/purchaseorders", PURCHASING),
    ("procurement/purchasingdemands", PURCHASING),
    ("procurement/rmaactions", RMA),
    ("procurement/rmadispositions", RMA),
    ("procurement/rmastatuses", RMA),
    ("procurement/rmatags", RMA),
    ("procurement/warehousebins", INVENTORY),
    ("procurement/warehouses", INVENTORY),
    ("procurement/directionalsyncs", PRODUCT_CATALOG),
    // Project
    ("project", PROJECT_HEADERS),
    ("project/projecttemplates", PROJECT_TEMPLATES),
    ("project/tickets", PROJECT_TICKETS),
    ("project/billingrates", TABLE_SETUP),
    ("project/boards", TABLE_SETUP),
    ("project/phasestatuses", TABLE_SETUP),
    ("project/projecttypes", TABLE_SETUP),
    ("project/securityroles", TABLE_SETUP),
    ("project/statuses", TABLE_SETUP),
    ("project/statusindicators", TABLE_SETUP),
    // Sales
    ("sales", TABLE_SETUP),
    ("sales/activities", SALES_ACTIVITIES),
    ("sales/commissions", SALES_MANAGEMENT),
    ("sales/opportunities", OPPORTUNITY),
    ("sales/orders", SALES_ORDERS),
    ("sales/quotas", SALES_MANAGEMENT),
    ("sales/salesteams", SALES_MANAGEMENT),
    // Schedule
    ("schedule", TABLE_SETUP),
    ("schedule/details", SCHEDULE_ENTRIES),
    ("schedule/entries", SCHEDULE_ENTRIES),
    ("schedule/portalcalendars", SCHEDULE_ENTRIES),
    // Service Desk
    ("service", TABLE_SETUP),
    ("service/info", SERVICE_TICKETS),
    ("service/knowledgebasearticles", KNOWLEDGE_BASE),
    ("service/knowledgebasecategories", KNOWLEDGE_BASE),
    ("service/knowledgebasesettings", KNOWLEDGE_BASE),
    ("service/knowledgebasesubcategories", KNOWLEDGE_BASE),
    ("service/scheduling", SERVICE_TICKETS),
    ("service/servicesignoff", SERVICE_TICKETS),
    ("service/templates", TICKET_TEMPLATES),
    ("service/ticketlinks", SERVICE_TICKETS),
    ("service/tickets", SERVICE_TICKETS),
    ("service/ticketsyncs", SERVICE_TICKETS),
    // System
    ("system", TABLE_SETUP),
    ("system/apimembers", MEMBER_MAINTENANCE),
    ("system/audittrail", REPORTS),
    ("system/customreports", REPORTS),
    ("system/documents", MANAGE_ATTACHMENTS),
    ("system/members", MEMBER_MAINTENANCE),
    ("system/membertemplates", MEMBER_MAINTENANCE),
    ("system/myaccount", MEMBER_MAINTENANCE),
    ("system/mycompany", MY_COMPANY),
    ("system/mymembers", MEMBER_MAINTENANCE),
    ("system/mysecurity", SECURITY_ROLES),
    ("system/portalreports", REPORTS),
    ("system/reportcards", REPORTS),
    ("system/reports", REPORTS),
    ("system/securityroles", SECURITY_ROLES),
    ("system/ssousers", MEMBER_MAINTENANCE),
    ("system/workflowactions", WORKFLOW_RULES),
    ("system/workflows", WORKFLOW_RULES),
    // Time & Expense
    ("time", TABLE_SETUP),
    ("time/activitystopwatches", TIME_ENTRY),
    ("time/entries", TIME_ENTRY),
    ("time/info", TIME_ENTRY),
    ("time/schedulestopwatches", TIME_ENTRY),
    ("time/sheets", TIME_SHEETS),
    ("time/ticketstopwatches", TIME_ENTRY),
    ("expense", TABLE_SETUP),
    ("expense/entries", EXPENSE_ENTRY),
    ("expense/info", EXPENSE_ENTRY),
    ("expense/reports", EXPENSE_REPORTS),
    // Marketing
    ("marketing", CAMPAIGNS),
    ("marketing/groups", MARKETING_GROUPS),
];

/// The function that guards a path template (`company/companies/{id}/sites`, any case):
/// the longest [`BY_PATH`] prefix that matches it segment by segment. `None` only for a
/// first segment no published path has.
pub fn function_for(template: &str) -> Option<Function> {
    let lower = template.trim_matches('/').to_ascii_lowercase();
    BY_PATH
        .iter()
        .filter(|(prefix, _)| {
            lower == *prefix
                || lower
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with('/'))
        })
        .max_by_key(|(prefix, _)| prefix.len())
        .map(|&(_, function)| function)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_prefix_names_the_function() {
        assert_eq!(
            function_for("service/tickets/{id}/notes"),
            Some(SERVICE_TICKETS)
        );
        assert_eq!(
            function_for("service/boards/{id}/statuses"),
            Some(TABLE_SETUP)
        );
        assert_eq!(function_for("finance/invoices/{id}/pdf"), Some(INVOICING));
        assert_eq!(
            function_for("Company/Companies/{id}/Notes"),
            Some(COMPANY_NOTES)
        );
        // A prefix matches whole segments only: `company/contactsync` is not `company/contacts`.
        assert_eq!(function_for("company/contactsx"), Some(TABLE_SETUP));
        assert_eq!(function_for("nowhere/at/all"), None);
    }

    #[test]
    fn the_readme_lists_the_table_as_it_is() {
        let readme = include_str!("../README.md");
        let rows: Vec<String> = BY_PATH
            .iter()
            .map(|(p, f)| format!("| `{p}` | {} | {} |", f.module, f.function))
            .collect();
        let listed: Vec<&str> = readme.lines().filter(|l| l.starts_with("| `")).collect();
        assert_eq!(listed, rows, "README.md's table differs from BY_PATH");
    }

    #[test]
    fn every_function_in_the_table_is_one_roles_are_made_with() {
        for (prefix, function) in BY_PATH {
            assert!(
                ALL_FUNCTIONS.contains(function),
                "{prefix}: {function:?} is not in ALL_FUNCTIONS"
            );
            assert_eq!(*prefix, prefix.to_ascii_lowercase());
        }
    }
}
