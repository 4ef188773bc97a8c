//! What the tests and the delivery benchmark share: Acme's account, a tenant ready for
//! alerts, the delivery pool run until stopped, and a ConnectWise site that accepts
//! connections and, once `hang` is set, never answers (a dead ConnectWise behind a live load
//! balancer).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use cwbridge_engine::account::AccountInput;
use cwbridge_engine::alert::TicketSettingsInput;
use cwbridge_engine::mapping::MappingInput;
use cwbridge_engine::{ConnectionInput, Engine};
use cwbridge_store::TenantId;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A tenant connected through `input`, with Acme (`g-acme`) mapped to company 1 and tickets
/// set up (Help Desk, New, Priority 3, Alert type), signed "on behalf of `signature`".
pub async fn alert_tenant(
    engine: &Engine,
    name: &str,
    input: &ConnectionInput,
    signature: &str,
) -> cwbridge_engine::Result<TenantId> {
    let t = engine.create_tenant(name).await?.tenant.id;
    engine.save_connection(t, input).await?;
    put_acme(engine, t, &["acme.example"]).await?;
    let company_1 = MappingInput {
        company_id: 1,
        agreement_id: None,
    };
    engine.map_account(t, "g-acme", &company_1).await?;
    let tickets = TicketSettingsInput {
        board: "Help Desk".into(),
        status: "New".into(),
        priority: "Priority 3 - Normal Response".into(),
        ticket_type: Some("Alert".into()),
        signature: Some(signature.into()),
    };
    engine.set_ticket_settings(t, &tickets).await?;
    Ok(t)
}

/// Puts Acme Corporation's account (`g-acme`) with these units, and no alert types.
pub async fn put_acme(engine: &Engine, t: TenantId, units: &[&str]) -> cwbridge_engine::Result<()> {
    let acme = AccountInput {
        alert_types: Vec::new(),
        name: "Acme Corporation".into(),
        units: units.iter().map(|u| u.to_string()).collect(),
    };
    engine.put_account(t, "g-acme", &acme).await?;
    Ok(())
}

/// An engine's delivery pool, running until stopped.
pub struct Worker {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Worker {
    /// Starts the engine's delivery pool.
    pub fn start(engine: &Engine) -> Worker {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let engine = engine.clone();
        let task = tokio::spawn(async move {
            engine
                .run_alert_worker(async move {
                    let _ = stopped.await;
                })
                .await
        });
        Worker { stop, task }
    }

    /// Stops taking alerts and waits (up to 5 s) for deliveries in flight; hanging ones are
    /// cut off.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = tokio::time::timeout(Duration::from_secs(5), self.task).await;
    }
}

/// A site that refuses the keys at once until `hang` is set, so a connection to it can be
/// saved quickly, then never answers.
/// It listens on 127.0.0.1 (plain http); answers its address and its `hang` switch.
pub async fn hanging_site() -> std::io::Result<(SocketAddr, Arc<AtomicBool>)> {
    let hang = Arc::new(AtomicBool::new(false));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let flag = hang.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let hang = flag.load(Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let _ = socket.read(&mut buf).await;
                if hang {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    return;
                }
                let body = br#"{"code":"Unauthorized","message":"no"}"#;
                let head = format!(
                    "HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(body).await;
            });
        }
    });
    Ok((addr, hang))
}
