//! The schema, one migration list per dialect, embedded in the binary and applied at open.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use sqlx::AnyPool;
use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};

use crate::Dialect;

/// `(version, description, SQL)` of each migration, in order.
type Steps = &'static [(i64, &'static str, &'static str)];

const SQLITE: Steps = &[
    (
        1,
        "tenants connections",
        include_str!("../migrations/sqlite/0001_tenants_connections.sql"),
    ),
    (
        2,
        "billing",
        include_str!("../migrations/sqlite/0002_billing.sql"),
    ),
    (
        3,
        "installation",
        include_str!("../migrations/sqlite/0003_installation.sql"),
    ),
    (
        4,
        "alerts",
        include_str!("../migrations/sqlite/0004_alerts.sql"),
    ),
    (
        5,
        "billing schedule",
        include_str!("../migrations/sqlite/0005_billing_schedule.sql"),
    ),
    (
        6,
        "run heartbeat",
        include_str!("../migrations/sqlite/0006_run_heartbeat.sql"),
    ),
    (
        7,
        "alert claims",
        include_str!("../migrations/sqlite/0007_alert_claims.sql"),
    ),
    (
        8,
        "wizard sessions and account alert types",
        include_str!("../migrations/sqlite/0008_web.sql"),
    ),
    (
        9,
        "connectwise failures",
        include_str!("../migrations/sqlite/0009_connectwise_failures.sql"),
    ),
    (
        10,
        "alert lanes",
        include_str!("../migrations/sqlite/0010_alert_lanes.sql"),
    ),
    (
        11,
        "tenant networks",
        include_str!("../migrations/sqlite/0011_tenant_networks.sql"),
    ),
    (
        12,
        "received alerts",
        include_str!("../migrations/sqlite/0012_received_alerts.sql"),
    ),
    (
        13,
        "alert lanes without rowid",
        include_str!("../migrations/sqlite/0013_lanes_without_rowid.sql"),
    ),
];

const POSTGRES: Steps = &[
    (
        1,
        "tenants connections",
        include_str!("../migrations/postgres/0001_tenants_connections.sql"),
    ),
    (
        2,
        "billing",
        include_str!("../migrations/postgres/0002_billing.sql"),
    ),
    (
        3,
        "installation",
        include_str!("../migrations/postgres/0003_installation.sql"),
    ),
    (
        4,
        "alerts",
        include_str!("../migrations/postgres/0004_alerts.sql"),
    ),
    (
        5,
        "billing schedule",
        include_str!("../migrations/postgres/0005_billing_schedule.sql"),
    ),
    (
        6,
        "run heartbeat",
        include_str!("../migrations/postgres/0006_run_heartbeat.sql"),
    ),
    (
        7,
        "alert claims",
        include_str!("../migrations/postgres/0007_alert_claims.sql"),
    ),
    (
        8,
        "wizard sessions and account alert types",
        include_str!("../migrations/postgres/0008_web.sql"),
    ),
    (
        9,
        "connectwise failures",
        include_str!("../migrations/postgres/0009_connectwise_failures.sql"),
    ),
    (
        10,
        "alert lanes",
        include_str!("../migrations/postgres/0010_alert_lanes.sql"),
    ),
    (
        11,
        "tenant networks",
        include_str!("../migrations/postgres/0011_tenant_networks.sql"),
    ),
    (
        12,
        "received alerts",
        include_str!("../migrations/postgres/0012_received_alerts.sql"),
    ),
];

/// The embedded migrations of one dialect, as sqlx's migrator takes them.
#[derive(Debug)]
struct Embedded(Steps);

impl<'s> MigrationSource<'s> for Embedded {
    fn resolve(
        self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 's>> {
        Box::pin(async move {
            Ok(self
                .0
                .iter()
                .map(|(version, description, sql)| {
                    Migration::new(
                        *version,
                        Cow::Borrowed(*description),
                        MigrationType::Simple,
                        Cow::Borrowed(*sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

/// Applies the migrations the database has not seen yet.
pub async fn run(pool: &AnyPool, dialect: Dialect) -> Result<(), sqlx::migrate::MigrateError> {
    let steps = match dialect {
        Dialect::Sqlite => SQLITE,
        Dialect::Postgres => POSTGRES,
    };
    Migrator::new(Embedded(steps)).await?.run(pool).await
}
