//! The schema, one migration list per dialect, embedded in the binary (every file of
//! `migrations/<dialect>/`, by build.rs) and applied at open.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use sqlx::AnyPool;
use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};

use crate::Dialect;

/// `(version, description, SQL)` of each migration, in order.
type Steps = &'static [(i64, &'static str, &'static str)];

// `SQLITE` and `POSTGRES`: every file of `migrations/<dialect>/`, listed by build.rs.
include!(concat!(env!("OUT_DIR"), "/migrations.rs"));

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_migration_file_is_embedded_in_order() {
        for (dialect, steps) in [("sqlite", SQLITE), ("postgres", POSTGRES)] {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("migrations")
                .join(dialect);
            let files = std::fs::read_dir(dir).unwrap().count();
            assert_eq!(steps.len(), files, "{dialect}");
            let versions: Vec<i64> = steps.iter().map(|(v, _, _)| *v).collect();
            assert_eq!(
                versions,
                (1..=files as i64).collect::<Vec<_>>(),
                "{dialect}"
            );
        }
    }
}
