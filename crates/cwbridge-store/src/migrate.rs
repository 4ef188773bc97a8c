//! The schema, one migration list per dialect: every file of `migrations/<dialect>/`
//! (`NNNN_description.sql`), embedded by `sqlx::migrate!` so that none can be left out, and
//! applied at open.

use sqlx::AnyPool;
use sqlx::migrate::Migrator;

use crate::Dialect;

static SQLITE: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("./migrations/postgres");

fn migrator(dialect: Dialect) -> &'static Migrator {
    match dialect {
        Dialect::Sqlite => &SQLITE,
        Dialect::Postgres => &POSTGRES,
    }
}

/// The newest migration this build knows.
pub fn latest(dialect: Dialect) -> i64 {
    migrator(dialect)
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap_or(0)
}

/// Applies the migrations the database has not seen yet.
pub async fn run(pool: &AnyPool, dialect: Dialect) -> Result<(), sqlx::migrate::MigrateError> {
    migrator(dialect).run(pool).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_migration_file_is_embedded_in_order() {
        for (dialect, migrator) in [("sqlite", &SQLITE), ("postgres", &POSTGRES)] {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("migrations")
                .join(dialect);
            let files = std::fs::read_dir(dir).unwrap().count();
            let versions: Vec<i64> = migrator.iter().map(|m| m.version).collect();
            assert_eq!(
                versions,
                (1..=files as i64).collect::<Vec<_>>(),
                "{dialect}"
            );
        }
    }
}
