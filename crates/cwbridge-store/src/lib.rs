#![doc = include_str!("../README.md")]

mod alerts;
pub use alerts::{Accepted, AlertQuery, PROMOTE_BATCH};
mod billing;
mod failures;
mod migrate;
pub mod records;
mod sessions;
mod settings;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod ticket_events;

use std::str::FromStr;
use std::time::Duration;

use sqlx::FromRow;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor, Row};

pub use records::*;
pub use sessions::SessionRecord;
pub use settings::SettingsWrite;
pub use ticket_events::{
    NewWebhook, TicketEventsRecord, WatchedTicket, WebhookOutcome, WebhookRecord,
};

/// A kind of secret the store keeps sealed, one a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sealed {
    /// The ConnectWise API key's private half.
    ConnectionKey,
    /// The tenant's own webhook secret.
    WebhookSecret,
}

impl Sealed {
    /// Every kind.
    pub const ALL: [Sealed; 2] = [Sealed::ConnectionKey, Sealed::WebhookSecret];

    /// Its table and column.
    fn place(self) -> (&'static str, &'static str) {
        match self {
            Sealed::ConnectionKey => ("connections", "private_key_sealed"),
            Sealed::WebhookSecret => ("ticket_events", "webhook_secret"),
        }
    }
}

/// Which database a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite, one file.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

impl Dialect {
    /// `count` copies of `row` joined by commas, for a statement of many rows; each `?` in
    /// `row` is one parameter, bound in order, and the statement's parameters before these
    /// rows are `before`.
    ///
    /// SQLite keeps the anonymous `?`. sqlx binds a numbered parameter (`$n`) by asking
    /// SQLite its name, which scans every name of the statement: a 500-row insert of 5,000
    /// parameters cost 12.5 million steps, and the intake's batches grew slower the bigger
    /// a backlog made them. PostgreSQL gets `$n`, numbered on from `before`.
    pub(crate) fn rows(self, row: &str, count: usize, before: usize) -> String {
        let mut sql = String::with_capacity((row.len() + 8) * count);
        let mut n = before;
        for i in 0..count {
            if i > 0 {
                sql.push_str(", ");
            }
            match self {
                Dialect::Sqlite => sql.push_str(row),
                Dialect::Postgres => {
                    for (j, part) in row.split('?').enumerate() {
                        if j > 0 {
                            n += 1;
                            sql.push('$');
                            sql.push_str(&n.to_string());
                        }
                        sql.push_str(part);
                    }
                }
            }
        }
        sql
    }
}

/// What can go wrong storing or reading.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL names no database cwbridge can use (shown without its password).
    #[error("database URL `{0}` is not sqlite://… or postgres://…")]
    UnsupportedUrl(String),
    /// A unique value is taken (e.g. a tenant name).
    #[error("{what} already exists")]
    Conflict {
        /// What was taken, e.g. `tenant name "acme"`.
        what: String,
    },
    /// Applying the schema failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database refused or failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A stored value could not be read back.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// Whether the database was only too busy: a lock or a pooled connection not had in
    /// time (SQLite's `SQLITE_BUSY`/`SQLITE_LOCKED`, PostgreSQL's lock timeouts and
    /// serialization failures). Nothing was written; the same call may succeed later.
    pub fn is_busy(&self) -> bool {
        match self {
            StoreError::Database(sqlx::Error::PoolTimedOut) => true,
            StoreError::Database(sqlx::Error::Database(e)) => {
                let code = e.code().unwrap_or_default();
                matches!(
                    code.as_ref(),
                    "5" | "6" | "261" | "262" | "517" | "40001" | "40P01" | "55P03"
                ) || e.message().contains("database is locked")
            }
            _ => false,
        }
    }
}

/// A specialised `Result` for store calls.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The database: a pool of connections and its dialect. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    /// Where accepted alerts are written: on SQLite one connection that syncs every commit
    /// to disk (`synchronous = FULL`), so an alert acknowledged survives power loss while
    /// the rest (delivery state, which the markers make safe to redo) syncs less often; on
    /// PostgreSQL, whose commits are durable already, the main pool.
    intake: AnyPool,
    dialect: Dialect,
}

/// A database URL fit to print: its password, if any, replaced by `***`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) if userinfo.contains(':') => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}")
        }
        _ => url.to_owned(),
    }
}

/// The current time in Unix milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl Store {
    /// Connects to `sqlite://PATH` (created if missing) or `postgres://…`, and brings the
    /// schema up to date.
    pub async fn open(url: &str) -> Result<Store> {
        Store::open_with(url, None).await
    }

    /// Like [`Store::open`], with every PostgreSQL connection confined to `schema` (tests use
    /// one schema each).
    pub async fn open_with(url: &str, pg_schema: Option<&str>) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let dialect = if url.starts_with("sqlite:") {
            Dialect::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Dialect::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl(redact_url(url)));
        };
        let url = match dialect {
            Dialect::Sqlite if !url.contains("mode=") => {
                let sep = if url.contains('?') { '&' } else { '?' };
                format!("{url}{sep}mode=rwc")
            }
            _ => url.to_owned(),
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let intake_options = options.clone();
        let schema = pg_schema.map(str::to_owned);
        let pool = AnyPoolOptions::new()
            .max_connections(match dialect {
                Dialect::Sqlite => 4,
                Dialect::Postgres => 10,
            })
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _| {
                let schema = schema.clone();
                Box::pin(async move {
                    match dialect {
                        Dialect::Sqlite => {
                            // NORMAL sync is durable across a process crash (the journal
                            // is in the OS); the intake connection below syncs every commit.
                            sqlite_setup(conn, "NORMAL").await?;
                        }
                        Dialect::Postgres => {
                            if let Some(schema) = schema {
                                conn.execute(format!("SET search_path TO \"{schema}\"").as_str())
                                    .await?;
                            }
                        }
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        migrate::run(&pool, dialect).await?;
        let intake = match dialect {
            Dialect::Sqlite => {
                AnyPoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(Duration::from_secs(30))
                    .after_connect(|conn, _| {
                        Box::pin(async move { sqlite_setup(conn, "FULL").await })
                    })
                    .connect_with(intake_options)
                    .await?
            }
            Dialect::Postgres => pool.clone(),
        };
        Ok(Store {
            pool,
            intake,
            dialect,
        })
    }

    /// A bare connection to a PostgreSQL server, without migrations (for making and
    /// dropping test schemas).
    #[cfg(any(test, feature = "testing"))]
    pub(crate) async fn open_admin(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let pool = AnyPoolOptions::new()
            .max_connections(1)
            .connect(url)
            .await?;
        Ok(Store {
            intake: pool.clone(),
            pool,
            dialect: Dialect::Postgres,
        })
    }

    #[cfg(any(test, feature = "testing"))]
    pub(crate) async fn create_schema(&self, schema: &str) -> Result<()> {
        sqlx::query(&format!("CREATE SCHEMA \"{schema}\""))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    #[cfg(any(test, feature = "testing"))]
    pub(crate) async fn drop_schema(&self, schema: &str) -> Result<()> {
        sqlx::query(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
            .execute(&self.pool)
            .await?;
        self.pool.close().await;
        Ok(())
    }

    /// Which database this is.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Answers whether the database answers and holds every migration this build knows
    /// (`Ok(false)`: another instance's newer or older schema, or one half-migrated).
    pub async fn ready(&self) -> Result<bool> {
        let row = sqlx::query(
            "SELECT COALESCE(MAX(version), 0) AS v FROM _sqlx_migrations WHERE success = TRUE",
        )
        .fetch_one(&self.pool)
        .await?;
        let applied: i64 = row.try_get("v")?;
        Ok(applied == migrate::latest(self.dialect))
    }

    /// The main pool's connections: open, and of those idle.
    pub fn pool_use(&self) -> (u32, usize) {
        (self.pool.size(), self.pool.num_idle())
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.intake.close().await;
        self.pool.close().await;
    }

    /// This installation's id: 16 random hex digits made on first use, the same for every
    /// instance sharing the database.
    pub async fn installation_id(&self) -> Result<String> {
        let fresh = format!("{:016x}", rand::random::<u64>());
        sqlx::query(
            "INSERT INTO installation (key, value) VALUES ('id', $1) ON CONFLICT (key) DO NOTHING",
        )
        .bind(&fresh)
        .execute(&self.pool)
        .await?;
        let row = sqlx::query("SELECT value FROM installation WHERE key = 'id'")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("value")?)
    }

    // ---- tenants -------------------------------------------------------------------------

    /// Makes a tenant and its first API token (given as a hash) in one transaction.
    pub async fn create_tenant(&self, name: &str, token_hash: &str) -> Result<Tenant> {
        let mut tx = self.pool.begin().await?;
        let now = now_ms();
        let row =
            sqlx::query("INSERT INTO tenants (name, created_at) VALUES ($1, $2) RETURNING id")
                .bind(name)
                .bind(now)
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| conflict(e, || format!("tenant name \"{name}\"")))?;
        let id: i64 = row.try_get("id")?;
        sqlx::query(
            "INSERT INTO tenant_tokens (tenant_id, token_hash, label, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(token_hash)
        .bind("initial")
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Tenant {
            id: TenantId(id),
            name: name.to_owned(),
            created_at: now,
        })
    }

    /// Every tenant, oldest first.
    pub async fn tenants(&self) -> Result<Vec<Tenant>> {
        let rows = sqlx::query("SELECT id, name, created_at FROM tenants ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(tenant_from).collect()
    }

    /// Sets the networks the operator allows for one tenant (a JSON array of CIDRs, or
    /// `None`); answers whether the tenant exists.
    pub async fn set_tenant_networks(
        &self,
        tenant: TenantId,
        networks: Option<&str>,
    ) -> Result<bool> {
        let done = sqlx::query("UPDATE tenants SET allowed_networks = $1 WHERE id = $2")
            .bind(networks)
            .bind(tenant.0)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The networks the operator allows for one tenant, as stored.
    pub async fn tenant_networks(&self, tenant: TenantId) -> Result<Option<String>> {
        let row = sqlx::query("SELECT allowed_networks FROM tenants WHERE id = $1")
            .bind(tenant.0)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row
            .map(|r| r.try_get::<Option<String>, _>("allowed_networks"))
            .transpose()?
            .flatten())
    }

    /// Replaces every token of a tenant with `new_hash` (or none: the tenant is disabled)
    /// and ends its wizard sessions, in one transaction; answers whether the tenant exists.
    pub async fn replace_tenant_tokens(
        &self,
        tenant: TenantId,
        new_hash: Option<&str>,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM tenant_tokens WHERE tenant_id = $1")
            .bind(tenant.0)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM web_sessions WHERE tenant_id = $1")
            .bind(tenant.0)
            .execute(&mut *tx)
            .await?;
        let exists = sqlx::query("SELECT id FROM tenants WHERE id = $1")
            .bind(tenant.0)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        if exists && let Some(hash) = new_hash {
            sqlx::query(
                "INSERT INTO tenant_tokens (tenant_id, token_hash, label, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(tenant.0)
            .bind(hash)
            .bind("rotated")
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(exists)
    }

    /// The tenant holding the token with this hash.
    pub async fn tenant_by_token_hash(&self, token_hash: &str) -> Result<Option<Tenant>> {
        let row = sqlx::query(
            "SELECT t.id, t.name, t.created_at FROM tenant_tokens k JOIN tenants t ON t.id = k.tenant_id WHERE k.token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(tenant_from).transpose()
    }

    // ---- connections ---------------------------------------------------------------------

    /// Saves a tenant's ConnectWise connection, replacing the previous one.
    pub async fn put_connection(&self, tenant: TenantId, c: &StoredConnection) -> Result<()> {
        connection_upsert(tenant, c).execute(&self.pool).await?;
        Ok(())
    }

    /// A tenant's connection, if it has one.
    pub async fn connection(&self, tenant: TenantId) -> Result<Option<StoredConnection>> {
        Ok(sqlx::query_as::<_, StoredConnection>(
            "SELECT site, company_id, public_key, private_key_sealed, client_id, updated_at FROM connections WHERE tenant_id = $1",
        )
        .bind(tenant.0)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Every tenant's sealed secret of one kind (to re-seal them under a new key).
    pub async fn sealed(&self, kind: Sealed) -> Result<Vec<(TenantId, String)>> {
        let (table, column) = kind.place();
        let sql = format!(
            "SELECT tenant_id, {column} AS sealed FROM {table} WHERE {column} IS NOT NULL ORDER BY tenant_id"
        );
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| Ok((TenantId(r.try_get("tenant_id")?), r.try_get("sealed")?)))
            .collect()
    }

    /// Replaces a tenant's sealed secret of one kind if it is still `old` (so a concurrent
    /// save wins); answers whether it was.
    pub async fn reseal(
        &self,
        kind: Sealed,
        tenant: TenantId,
        old: &str,
        new: &str,
    ) -> Result<bool> {
        let (table, column) = kind.place();
        let sql =
            format!("UPDATE {table} SET {column} = $1 WHERE tenant_id = $2 AND {column} = $3");
        let done = sqlx::query(&sql)
            .bind(new)
            .bind(tenant.0)
            .bind(old)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records the result of checking a tenant's connection (`report` is JSON).
    pub async fn record_check(&self, tenant: TenantId, ok: bool, report: &str) -> Result<i64> {
        let at = now_ms();
        sqlx::query("INSERT INTO connection_checks (tenant_id, checked_at, ok, report) VALUES ($1, $2, $3, $4)")
            .bind(tenant.0)
            .bind(at)
            .bind(i64::from(ok))
            .bind(report)
            .execute(&self.pool)
            .await?;
        Ok(at)
    }

    /// The latest check of a tenant's connection.
    pub async fn last_check(&self, tenant: TenantId) -> Result<Option<CheckRecord>> {
        Ok(sqlx::query_as::<_, CheckRecord>(
            "SELECT checked_at, ok, report FROM connection_checks WHERE tenant_id = $1 ORDER BY id DESC LIMIT 1",
        )
        .bind(tenant.0)
        .fetch_optional(&self.pool)
        .await?)
    }
}

/// A statement of one or more, ready to run on the pool or in a transaction.
pub(crate) type Statement<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// The statement saving a tenant's connection, replacing the previous one.
pub(crate) fn connection_upsert(tenant: TenantId, c: &StoredConnection) -> Statement<'_> {
    sqlx::query(
        "INSERT INTO connections (tenant_id, site, company_id, public_key, private_key_sealed, client_id, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (tenant_id) DO UPDATE SET site = excluded.site, company_id = excluded.company_id, \
         public_key = excluded.public_key, private_key_sealed = excluded.private_key_sealed, \
         client_id = excluded.client_id, updated_at = excluded.updated_at",
    )
    .bind(tenant.0)
    .bind(&c.site)
    .bind(&c.company_id)
    .bind(&c.public_key)
    .bind(&c.private_key_sealed)
    .bind(&c.client_id)
    .bind(now_ms())
}

fn tenant_from(row: &AnyRow) -> Result<Tenant> {
    Ok(Tenant::from_row(row)?)
}

/// Turns a unique-constraint violation into [`StoreError::Conflict`].
fn conflict(e: sqlx::Error, what: impl FnOnce() -> String) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Conflict { what: what() }
        }
        _ => StoreError::Database(e),
    }
}

/// Settings of every SQLite connection, with the `synchronous` level of its pool.
async fn sqlite_setup(conn: &mut sqlx::AnyConnection, synchronous: &str) -> sqlx::Result<()> {
    // Pages of 2 KiB for a new database (an existing one keeps its own): an accept touches
    // one page of each index per tenant, every touched page goes to the WAL whole, and with
    // a long queue those pages are all different. Half the bytes to sync made alerts posted
    // during a 100,000-alert backlog accepted 1.5 times as fast (docs/BENCHMARKS.md).
    conn.execute("PRAGMA page_size = 2048").await?;
    // WAL: readers never wait for the writer.
    conn.execute("PRAGMA journal_mode = WAL").await?;
    conn.execute(format!("PRAGMA synchronous = {synchronous}").as_str())
        .await?;
    // Checkpoint every 32 MiB of WAL, not 4: a page written by many commits between two
    // checkpoints is copied into the database once.
    conn.execute("PRAGMA wal_autocheckpoint = 16000").await?;
    // 32 MiB of pages a connection: a long queue's indexes stay in memory.
    conn.execute("PRAGMA cache_size = -32768").await?;
    conn.execute("PRAGMA foreign_keys = ON").await?;
    conn.execute("PRAGMA busy_timeout = 10000").await?;
    Ok(())
}

#[cfg(test)]
mod redact_tests {
    use super::redact_url;

    #[test]
    fn passwords_never_print() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/cw"),
            "postgres://app:***@db:5432/cw"
        );
        assert_eq!(redact_url("postgres://app@db/cw"), "postgres://app@db/cw");
        assert_eq!(redact_url("sqlite://cwbridge.db"), "sqlite://cwbridge.db");
    }
}

#[cfg(test)]
mod rows_tests {
    use super::Dialect;

    #[test]
    fn rows_number_postgres_parameters_on_and_leave_sqlite_anonymous() {
        assert_eq!(
            Dialect::Postgres.rows("(?, 'q', ?)", 3, 1),
            "($2, 'q', $3), ($4, 'q', $5), ($6, 'q', $7)"
        );
        assert_eq!(
            Dialect::Sqlite.rows("(?, 'q', ?)", 2, 1),
            "(?, 'q', ?), (?, 'q', ?)"
        );
        assert_eq!(Dialect::Postgres.rows("(?)", 0, 0), "");
    }
}
