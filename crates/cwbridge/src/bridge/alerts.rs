//! `cwbridge alerts`: send an alert as the vendor's API does, list and retry them.

use super::*;

/// `cwbridge alerts send`: queues an alert, as `POST /api/v1/alerts` does; a running
/// `cwbridge serve` on the same database delivers it.
#[derive(Debug, Args)]
pub struct AlertsCmd {
    #[command(flatten)]
    engine: EngineArgs,
    #[command(subcommand)]
    action: AlertsAction,
}

#[derive(Debug, Subcommand)]
enum AlertsAction {
    /// Queue an alert.
    Send {
        /// The tenant, by name.
        #[arg(long)]
        tenant: String,
        /// The account it is about.
        #[arg(long)]
        account: String,
        /// Its type, e.g. dmarc-record-changed.
        #[arg(long = "type")]
        alert_type: String,
        /// What makes repeats the same alert (default: account and type).
        #[arg(long)]
        key: Option<String>,
        /// The ticket summary.
        #[arg(long)]
        summary: String,
        /// The alert's text (the ticket description).
        #[arg(long)]
        description: String,
        /// Report the alert resolved.
        #[arg(long)]
        resolved: bool,
        /// Deliver it now from this process instead of leaving it to `cwbridge serve`.
        #[arg(long)]
        deliver: bool,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List a tenant's latest alerts.
    List {
        /// The tenant, by name.
        #[arg(long)]
        tenant: String,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `cwbridge alerts …`.
pub async fn alerts(cmd: AlertsCmd) -> anyhow::Result<()> {
    let engine = cmd.engine.open().await?;
    match cmd.action {
        AlertsAction::Send {
            tenant,
            account,
            alert_type,
            key,
            summary,
            description,
            resolved,
            deliver,
            json,
        } => {
            let t = engine.tenant_named(&tenant).await?;
            let input = cwbridge_engine::alert::AlertInput {
                account,
                alert_type,
                key,
                summary,
                description,
                resolved,
            };
            let queued = engine.receive_alert(t.id, &input).await?;
            if deliver {
                while engine.deliver_next().await? {}
            }
            let now = engine.alert(t.id, queued.id).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&now)?);
            } else {
                println!(
                    "alert {} {}{}",
                    now.id,
                    now.state,
                    now.ticket_id
                        .map(|t| format!(" (ticket #{t})"))
                        .unwrap_or_default()
                );
            }
        }
        AlertsAction::List { tenant, json } => {
            let t = engine.tenant_named(&tenant).await?;
            let list = engine.alerts(t.id).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                for a in list {
                    println!(
                        "{}\t{}\t{}\t{}\t{}",
                        a.id,
                        a.state,
                        a.ticket_id.map(|t| t.to_string()).unwrap_or_default(),
                        a.summary,
                        a.last_error.unwrap_or_default()
                    );
                }
            }
        }
    }
    Ok(())
}
