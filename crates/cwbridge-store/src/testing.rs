//! Databases for tests: a fresh SQLite file always, and a fresh PostgreSQL schema when
//! `CWBRIDGE_TEST_DATABASE_URL` names a server (as `.ci/run` sets it).

use crate::Store;

/// A store for one test, removed when dropped: the SQLite file with its directory, and the
/// PostgreSQL schema by [`TestDb::cleanup`] or, when a test panics before it, on drop.
pub struct TestDb {
    /// The store.
    pub store: Store,
    /// `sqlite` or `postgres`, for messages.
    pub label: &'static str,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
    url: String,
}

impl TestDb {
    /// A URL reaching this database, for a process of its own (`cwbridge serve
    /// --database-url`): the SQLite file, or the server with the test's schema as its
    /// search path.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The PostgreSQL schema this test's store lives in (`None` on SQLite, or once dropped).
    pub fn schema(&self) -> Option<&str> {
        self.pg.as_ref().map(|(_, schema)| schema.as_str())
    }

    /// Drops the PostgreSQL schema (SQLite files go with the value).
    pub async fn cleanup(mut self) {
        self.store.close().await;
        if let Some((url, schema)) = self.pg.take() {
            drop_schema(&url, &schema).await;
        }
    }
}

async fn drop_schema(url: &str, schema: &str) {
    if let Ok(admin) = Store::open_admin(url).await {
        let _ = admin.drop_schema(schema).await;
        admin.close().await;
    }
}

impl Drop for TestDb {
    /// A test that panicked never reached [`TestDb::cleanup`]: its schema is dropped here, on
    /// a thread with a runtime of its own (drop cannot wait on the test's runtime).
    fn drop(&mut self) {
        let Some((url, schema)) = self.pg.take() else {
            return;
        };
        let store = self.store.clone();
        let dropped = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                // Bounded: a transaction the panicking test left open must not hang the run.
                rt.block_on(async {
                    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), async {
                        store.close().await;
                        drop_schema(&url, &schema).await;
                    })
                    .await;
                });
            }
        });
        let _ = dropped.join();
    }
}

/// One store per database this machine offers: SQLite always, PostgreSQL when
/// `CWBRIDGE_TEST_DATABASE_URL` is set (otherwise a line says it was skipped).
pub async fn databases() -> Vec<TestDb> {
    let mut out = Vec::new();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = format!("sqlite://{}", dir.path().join("cwbridge.db").display());
    out.push(TestDb {
        store: Store::open(&url).await.expect("SQLite opens"),
        label: "sqlite",
        _dir: Some(dir),
        pg: None,
        url,
    });
    match std::env::var("CWBRIDGE_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => {
            let schema = format!("test_{:016x}", rand::random::<u64>());
            let admin = Store::open_admin(&url)
                .await
                .expect("CWBRIDGE_TEST_DATABASE_URL is reachable");
            admin.create_schema(&schema).await.expect("a test schema");
            let store = Store::open_with(&url, Some(&schema))
                .await
                .expect("PostgreSQL opens");
            let sep = if url.contains('?') { '&' } else { '?' };
            let process_url = format!("{url}{sep}options=-c%20search_path%3D{schema}");
            out.push(TestDb {
                store,
                label: "postgres",
                _dir: None,
                pg: Some((url, schema)),
                url: process_url,
            });
        }
        _ => eprintln!("postgres: skipped (CWBRIDGE_TEST_DATABASE_URL is not set)"),
    }
    out
}
