//! What the engine's tests share besides the delivery pool: tenants, changed connection
//! inputs, engines over one store with other keyrings.

use cwbridge_engine::{ConnectionInput, Engine, EngineConfig, Keyring};
use cwbridge_store::TenantId;
use cwbridge_testkit::TestDb;

/// A new tenant named `name`.
pub async fn tenant(engine: &Engine, name: &str) -> TenantId {
    engine.create_tenant(name).await.unwrap().tenant.id
}

/// A new tenant named "Acme MSP" connected through `input`.
pub async fn connected_tenant(engine: &Engine, input: &ConnectionInput) -> TenantId {
    let t = tenant(engine, "Acme MSP").await;
    engine.save_connection(t, input).await.unwrap();
    t
}

/// `input` as `edit` changes it (a wrong key, another site…).
pub fn changed(
    input: &ConnectionInput,
    edit: impl FnOnce(&mut ConnectionInput),
) -> ConnectionInput {
    let mut input = input.clone();
    edit(&mut input);
    input
}

/// Another engine over `db`'s store, its keyring holding `keys` (the first seals).
pub fn keyed_engine<S: AsRef<str>>(db: &TestDb, keys: &[S], config: EngineConfig) -> Engine {
    let keyring = Keyring::from_base64(keys).unwrap();
    Engine::new(db.store.clone(), keyring, config)
}
