//! What the benchmarks share: the runtime they run on, a SQLite store in a temporary
//! directory, an engine over it with a fresh keyring, and step 1's input for a sandbox.

use connectwise_sandbox::Sandbox;
use cwbridge_engine::{ConnectionInput, Engine, EngineConfig, Keyring};
use cwbridge_store::Store;
use tempfile::TempDir;

/// Runs `bench` to its end on a multi-threaded runtime.
pub fn run(bench: impl Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(bench)
}

/// A SQLite store in the file `file` of `dir`.
pub async fn sqlite(dir: &TempDir, file: &str) -> anyhow::Result<Store> {
    let path = dir.path().join(file);
    Ok(Store::open(&format!("sqlite://{}", path.display())).await?)
}

/// An engine over `store` with a fresh keyring.
pub fn engine(store: Store, config: EngineConfig) -> anyhow::Result<Engine> {
    let keyring = Keyring::from_base64(&[Keyring::generate_key()])?;
    Ok(Engine::new(store, keyring, config))
}

/// Step 1's input for the sandbox, as its built-in admin.
#[allow(dead_code)] // the backlog benchmark needs no sandbox
pub fn connection(sandbox: &Sandbox) -> ConnectionInput {
    let c = sandbox.credentials();
    ConnectionInput {
        site: c.site.clone(),
        company_id: c.company_id.clone(),
        public_key: c.public_key.clone(),
        private_key: c.private_key.clone(),
        client_id: c.client_id.clone(),
    }
}
