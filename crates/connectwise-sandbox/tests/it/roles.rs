//! Security roles: seed 004's role (billing plus tickets) made through the API, then, for each
//! permission level it grants, a role lacking exactly that level gets 403 on exactly the calls
//! that need it and succeeds on every other call.

use connectwise_sandbox::admin::AdminClient;
use connectwise_sandbox::roles::Action;
use connectwise_sandbox::{Grant, Level, Preset};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Api, TestSandbox, unique};

/// A module function and an action, worded as ConnectWise's role screen words them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Need {
    pub(crate) module: &'static str,
    pub(crate) function: &'static str,
    pub(crate) action: Action,
}

const fn need(module: &'static str, function: &'static str, action: Action) -> Need {
    Need {
        module,
        function,
        action,
    }
}

const COMPANY_INQUIRE: Need = need("Companies", "Company Maintenance", Action::Inquire);
const CATALOG_INQUIRE: Need = need("Procurement", "Product Catalog", Action::Inquire);
const CATALOG_ADD: Need = need("Procurement", "Product Catalog", Action::Add);
pub(crate) const TICKETS_INQUIRE: Need = need("Service Desk", "Service Tickets", Action::Inquire);
const TICKETS_ADD: Need = need("Service Desk", "Service Tickets", Action::Add);
pub(crate) const TICKETS_EDIT: Need = need("Service Desk", "Service Tickets", Action::Edit);
const AGREEMENTS_INQUIRE: Need = need("Finance", "Agreements", Action::Inquire);
const AGREEMENTS_ADD: Need = need("Finance", "Agreements", Action::Add);
const AGREEMENTS_EDIT: Need = need("Finance", "Agreements", Action::Edit);
const AGREEMENTS_DELETE: Need = need("Finance", "Agreements", Action::Delete);
/// Finance → Invoicing guards no endpoint the sandbox serves (invoices are not among them),
/// so a role without it must be refused nothing.
const INVOICING_INQUIRE: Need = need("Finance", "Invoicing", Action::Inquire);
const TABLE_SETUP_INQUIRE: Need = need("System", "Table Setup", Action::Inquire);

/// Every level seed 004's role grants.
const SEED_004_LEVELS: &[Need] = &[
    COMPANY_INQUIRE,
    CATALOG_INQUIRE,
    CATALOG_ADD,
    TICKETS_INQUIRE,
    TICKETS_ADD,
    TICKETS_EDIT,
    AGREEMENTS_INQUIRE,
    AGREEMENTS_ADD,
    AGREEMENTS_EDIT,
    AGREEMENTS_DELETE,
    INVOICING_INQUIRE,
    TABLE_SETUP_INQUIRE,
];

pub(crate) fn is(grant: &Grant, need: Need) -> bool {
    grant.function.module == need.module && grant.function.function == need.function
}

/// Seed 004's role with one level taken away.
fn seed_004_without(missing: Need) -> Vec<Grant> {
    let mut grants = Preset::BillingTickets.grants();
    let grant = grants
        .iter_mut()
        .find(|g| is(g, missing))
        .unwrap_or_else(|| panic!("seed 004's role has no {missing:?}"));
    assert_eq!(grant.levels.get(missing.action), Level::All, "{missing:?}");
    grant.levels.set(missing.action, Level::None);
    grants
}

/// Makes a role with these grants, an API member with it and a key, through the API.
/// Records the probes work on, made by the admin.
struct Fixtures {
    acme: i64,
    board: i64,
    ticket: i64,
    agreement: i64,
    addition_to_edit: i64,
    addition_to_delete: i64,
}

impl Fixtures {
    async fn make(admin: &Api) -> Self {
        let acme = admin.company_id("AcmeCorp").await;
        let board = admin.board_id("Help Desk").await;
        let target =
            json!({"summary": "Probe target", "board": {"id": board}, "company": {"id": acme}});
        let ticket = admin.create_id("service/tickets", target).await;
        let agreement = admin.first_id("finance/agreements").await;
        Self {
            acme,
            board,
            ticket,
            agreement,
            addition_to_edit: Self::addition(admin, agreement).await,
            addition_to_delete: Self::addition(admin, agreement).await,
        }
    }

    async fn addition(admin: &Api, agreement: i64) -> i64 {
        let ten = json!({"product": {"identifier": "M365-BP"}, "billCustomer": "Billable", "quantity": 10});
        let additions = format!("finance/agreements/{agreement}/additions");
        admin.create_id(&additions, ten).await
    }
}

/// One call and the level it needs.
struct Probe {
    method: Method,
    path: String,
    body: Option<Value>,
    needs: Need,
}

fn probe(method: Method, path: impl Into<String>, body: Option<Value>, needs: Need) -> Probe {
    Probe {
        method,
        path: path.into(),
        body,
        needs,
    }
}

/// Calls covering every level of seed 004's role (Invoicing aside: it guards nothing here).
fn probes(f: &Fixtures) -> Vec<Probe> {
    use Method as M;
    let (acme, board, ticket, agreement) = (f.acme, f.board, f.ticket, f.agreement);
    let additions = format!("finance/agreements/{agreement}/additions");
    vec![
        probe(M::GET, "company/companies", None, COMPANY_INQUIRE),
        probe(
            M::GET,
            format!("company/companies/{acme}"),
            None,
            COMPANY_INQUIRE,
        ),
        probe(M::GET, "company/companies/count", None, COMPANY_INQUIRE),
        probe(M::GET, "procurement/catalog", None, CATALOG_INQUIRE),
        probe(
            M::POST,
            "procurement/catalog",
            Some(
                json!({"identifier": unique("PROBE-"), "description": "Probe", "customerDescription": "Probe"}),
            ),
            CATALOG_ADD,
        ),
        probe(M::GET, "service/tickets", None, TICKETS_INQUIRE),
        probe(
            M::GET,
            format!("service/tickets/{ticket}"),
            None,
            TICKETS_INQUIRE,
        ),
        probe(
            M::POST,
            "service/tickets",
            Some(json!({"summary": "Probe", "board": {"id": board}, "company": {"id": acme}})),
            TICKETS_ADD,
        ),
        probe(
            M::PATCH,
            format!("service/tickets/{ticket}"),
            Some(json!([{"op": "replace", "path": "summary", "value": "Probed"}])),
            TICKETS_EDIT,
        ),
        probe(
            M::GET,
            format!("service/tickets/{ticket}/notes"),
            None,
            TICKETS_INQUIRE,
        ),
        probe(
            M::POST,
            format!("service/tickets/{ticket}/notes"),
            Some(json!({"text": "Probe", "detailDescriptionFlag": true})),
            TICKETS_ADD,
        ),
        probe(M::GET, "finance/agreements", None, AGREEMENTS_INQUIRE),
        probe(
            M::POST,
            "finance/agreements",
            Some(json!({"name": "Probe", "type": {"name": "Block Time"}, "company": {"id": acme}})),
            AGREEMENTS_ADD,
        ),
        probe(
            M::PATCH,
            format!("finance/agreements/{agreement}"),
            Some(json!([{"op": "replace", "path": "billAmount", "value": 99}])),
            AGREEMENTS_EDIT,
        ),
        probe(M::GET, additions.clone(), None, AGREEMENTS_INQUIRE),
        probe(
            M::POST,
            additions.clone(),
            Some(json!({"product": {"identifier": "BACKUP-SRV"}, "billCustomer": "Billable"})),
            AGREEMENTS_ADD,
        ),
        probe(
            M::PATCH,
            format!("{additions}/{}", f.addition_to_edit),
            Some(json!([{"op": "replace", "path": "quantity", "value": 12}])),
            AGREEMENTS_EDIT,
        ),
        probe(
            M::DELETE,
            format!("{additions}/{}", f.addition_to_delete),
            None,
            AGREEMENTS_DELETE,
        ),
        probe(M::GET, "service/boards", None, TABLE_SETUP_INQUIRE),
        probe(
            M::GET,
            format!("service/boards/{board}/statuses"),
            None,
            TABLE_SETUP_INQUIRE,
        ),
        probe(
            M::GET,
            format!("service/boards/{board}/types"),
            None,
            TABLE_SETUP_INQUIRE,
        ),
        probe(M::GET, "service/priorities", None, TABLE_SETUP_INQUIRE),
        probe(
            M::GET,
            "finance/agreements/types",
            None,
            TABLE_SETUP_INQUIRE,
        ),
        probe(
            M::GET,
            "company/companies/statuses",
            None,
            TABLE_SETUP_INQUIRE,
        ),
    ]
}

/// Makes seed 004's role minus `missing`, and checks every probe: 403 naming the module,
/// function and level exactly where `missing` is needed, success everywhere else.
async fn only_calls_needing_it_are_forbidden(missing: Need) {
    // Arrange
    let sb = TestSandbox::demo().await;
    let fixtures = Fixtures::make(&sb.api()).await;
    let (_, creds) = sb.member_with_role(&seed_004_without(missing)).await;
    let api = sb.api_as(&creds);

    // Act / Assert
    let mut wrong = Vec::new();
    for p in probes(&fixtures) {
        let reply = api.call(p.method.clone(), &p.path, p.body.as_ref()).await;
        let call = format!("{} {}", p.method, p.path);
        if p.needs == missing {
            if reply.status != 403 {
                wrong.push(format!(
                    "{call}: expected 403, got {} {}",
                    reply.status, reply.text
                ));
                continue;
            }
            let message = reply.body["message"].as_str().unwrap_or_default();
            let level = p.needs.action.label();
            if reply.body["code"].as_str().is_none()
                || !message.contains(p.needs.module)
                || !message.contains(p.needs.function)
                || !message.contains(level)
            {
                wrong.push(format!(
                    "{call}: the 403 must name {} > {} {level}: {}",
                    p.needs.module, p.needs.function, reply.text
                ));
            }
        } else if !reply.status.is_success() {
            wrong.push(format!(
                "{call}: expected success, got {} {}",
                reply.status, reply.text
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "a role without {missing:?}:\n  {}",
        wrong.join("\n  ")
    );
}

macro_rules! without {
    ($($name:ident => $need:expr),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                only_calls_needing_it_are_forbidden($need).await;
            }
        )*
    };
}

without! {
    a_role_without_company_maintenance_inquire_gets_403_exactly_where_it_is_needed => COMPANY_INQUIRE,
    a_role_without_product_catalog_inquire_gets_403_exactly_where_it_is_needed => CATALOG_INQUIRE,
    a_role_without_product_catalog_add_gets_403_exactly_where_it_is_needed => CATALOG_ADD,
    a_role_without_service_tickets_inquire_gets_403_exactly_where_it_is_needed => TICKETS_INQUIRE,
    a_role_without_service_tickets_add_gets_403_exactly_where_it_is_needed => TICKETS_ADD,
    a_role_without_service_tickets_edit_gets_403_exactly_where_it_is_needed => TICKETS_EDIT,
    a_role_without_agreements_inquire_gets_403_exactly_where_it_is_needed => AGREEMENTS_INQUIRE,
    a_role_without_agreements_add_gets_403_exactly_where_it_is_needed => AGREEMENTS_ADD,
    a_role_without_agreements_edit_gets_403_exactly_where_it_is_needed => AGREEMENTS_EDIT,
    a_role_without_agreements_delete_gets_403_exactly_where_it_is_needed => AGREEMENTS_DELETE,
    a_role_without_invoicing_inquire_is_refused_nothing_the_sandbox_serves => INVOICING_INQUIRE,
    a_role_without_table_setup_inquire_gets_403_exactly_where_it_is_needed => TABLE_SETUP_INQUIRE,
}

#[test]
fn every_level_of_seed_004s_role_has_a_variant_without_it() {
    let granted: Vec<Need> = Preset::BillingTickets
        .grants()
        .iter()
        .flat_map(|g| {
            [Action::Inquire, Action::Add, Action::Edit, Action::Delete]
                .into_iter()
                .filter(|a| g.levels.get(*a) != Level::None)
                .map(|action| need(g.function.module, g.function.function, action))
                .collect::<Vec<_>>()
        })
        .collect();
    for n in &granted {
        assert!(SEED_004_LEVELS.contains(n), "no variant without {n:?}");
    }
    assert_eq!(granted.len(), SEED_004_LEVELS.len());
}

#[tokio::test]
async fn seed_004s_role_is_allowed_every_probe_and_refused_what_it_lacks() {
    // Arrange
    let sb = TestSandbox::demo().await;
    let admin = sb.api();
    let fixtures = Fixtures::make(&admin).await;
    let (_, creds) = sb.member_with_role(&Preset::BillingTickets.grants()).await;
    let api = sb.api_as(&creds);

    // Act / Assert: everything the role grants works…
    for p in probes(&fixtures) {
        api.call(p.method, &p.path, p.body.as_ref())
            .await
            .expect_status_success();
    }
    api.get("system/info").await.expect_status(200);
    // …and what it does not grant is refused.
    for (method, path, body) in [
        (
            Method::POST,
            "company/companies".to_owned(),
            Some(json!({"identifier": "Nope", "name": "Nope"})),
        ),
        (
            Method::DELETE,
            format!("service/tickets/{}", fixtures.ticket),
            None,
        ),
        (Method::GET, "system/members".to_owned(), None),
        (Method::GET, "system/securityroles".to_owned(), None),
        (Method::GET, "company/contacts".to_owned(), None),
        (
            Method::POST,
            "service/boards".to_owned(),
            Some(json!({"name": "Nope"})),
        ),
    ] {
        api.call(method, &path, body.as_ref())
            .await
            .expect_status(403);
    }
}

#[tokio::test]
async fn the_admin_steps_follow_the_codebase_companyinfo_reports() {
    // Arrange: a site on another codebase, as after a ConnectWise upgrade.
    let sb = TestSandbox::start(connectwise_sandbox::SandboxConfig {
        codebase: "v2025_1/".into(),
        ..connectwise_sandbox::SandboxConfig::ephemeral()
    })
    .await;
    let steps = AdminClient::new(sb.admin().clone(), sb.sandbox.ca_pem()).unwrap();

    // Act
    let role = steps
        .create_role("Portal", &Preset::BillingTickets.grants())
        .await
        .unwrap();

    // Assert
    let all_settings = format!("system/securityroles/{role}/settings?pageSize=1000");
    let settings = sb.api().list(&all_settings).await;
    assert!(
        settings
            .iter()
            .any(|s| s["moduleFunctionName"] == "Service Tickets" && s["addLevel"] == "All")
    );
}
