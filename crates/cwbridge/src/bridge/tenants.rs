//! `cwbridge check`, `cwbridge tenant …` and `cwbridge secrets rotate`: a tenant's
//! connection, its record and token, and the keys sealing its secrets (its settings as a
//! document in `settings.rs`).

use super::*;

/// `cwbridge check`: checks a tenant's ConnectWise connection now.
#[derive(Debug, Args)]
pub struct CheckCmd {
    #[command(flatten)]
    engine: EngineArgs,
    /// The tenant, by name.
    #[arg(long)]
    tenant: String,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `cwbridge check`; exits non-zero when the check fails.
pub async fn check(cmd: CheckCmd) -> anyhow::Result<()> {
    let engine = cmd.engine.open().await?;
    let tenant = engine.tenant_named(&cmd.tenant).await?;
    let report = engine.check_connection(tenant.id).await?;
    if cmd.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for step in &report.steps {
            println!(
                "{} {}: {}",
                if step.ok { "ok  " } else { "FAIL" },
                step.name,
                step.message
            );
            for hint in &step.hints {
                println!("       - {hint}");
            }
        }
        for p in &report.permissions {
            let mark = match p.status {
                cwbridge_engine::preflight::Status::Granted => "ok  ",
                cwbridge_engine::preflight::Status::Missing => "FAIL",
                cwbridge_engine::preflight::Status::Unverified => "?   ",
            };
            println!(
                "{mark} {} > {}: {:?} {}",
                p.module, p.function, p.action, p.level
            );
        }
    }
    if !report.ok {
        return Err(crate::Unfinished(format!(
            "the connection of tenant `{}` does not pass its check",
            cmd.tenant
        ))
        .into());
    }
    Ok(())
}

/// `cwbridge tenant …`.
#[derive(Debug, Args)]
pub struct TenantCmd {
    #[command(flatten)]
    engine: EngineArgs,
    #[command(subcommand)]
    action: TenantAction,
}

#[derive(Debug, Subcommand)]
enum TenantAction {
    /// Make a tenant and print its token (shown once).
    Create {
        /// Its name.
        name: String,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List tenants.
    List {
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Give a tenant a new token (shown once); its old tokens stop working and its wizard
    /// sessions end.
    RotateToken {
        /// The tenant's name.
        name: String,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke every token of a tenant and end its sessions (its data is kept);
    /// `rotate-token` enables it again.
    Disable {
        /// The tenant's name.
        name: String,
    },
    /// Set the networks this tenant's ConnectWise may be in beyond public addresses (its
    /// on-premise server over a private link), for this tenant alone; none clears them.
    AllowNetworks {
        /// The tenant's name.
        name: String,
        /// CIDRs or single addresses, e.g. 10.20.0.0/16.
        networks: Vec<String>,
    },
    /// Write a tenant's settings as one document (TOML, or JSON with --json): the
    /// connection without its private key, billing, ticket defaults, mappings, alert
    /// routes and policies.
    Export(super::settings::ExportArgs),
    /// Show how a tenant's settings differ from a document and, with --yes, make them so
    /// (checked whole first: nothing is written when any part is refused).
    Apply(super::settings::ApplyArgs),
}

/// Runs `cwbridge tenant …`.
pub async fn tenant(cmd: TenantCmd) -> anyhow::Result<()> {
    let engine = cmd.engine.open().await?;
    match cmd.action {
        TenantAction::Create { name, json } => {
            let made = engine.create_tenant(&name).await?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({"id": made.tenant.id.0, "name": made.tenant.name, "token": made.token})
                );
            } else {
                println!("tenant {} (id {})", made.tenant.name, made.tenant.id);
                println!("token (shown once): {}", made.token);
            }
        }
        TenantAction::RotateToken { name, json } => {
            let tenant = engine.tenant_named(&name).await?;
            let token = engine.rotate_token(tenant.id).await?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({"id": tenant.id.0, "name": tenant.name, "token": token})
                );
            } else {
                println!("new token of {} (shown once): {token}", tenant.name);
            }
        }
        TenantAction::Disable { name } => {
            let tenant = engine.tenant_named(&name).await?;
            engine.disable_tenant(tenant.id).await?;
            println!(
                "{}: every token revoked and every session ended; `cwbridge tenant rotate-token` enables it again",
                tenant.name
            );
        }
        TenantAction::AllowNetworks { name, networks } => {
            let tenant = engine.tenant_named(&name).await?;
            let set = engine.set_allowed_networks(tenant.id, &networks).await?;
            if set.is_empty() {
                println!("{}: no networks beyond public addresses", tenant.name);
            } else {
                println!("{}: may also reach {}", tenant.name, set.join(", "));
            }
        }
        TenantAction::Export(args) => super::settings::export(&engine, args).await?,
        TenantAction::Apply(args) => super::settings::apply(&engine, args).await?,
        TenantAction::List { json } => {
            let tenants = engine.tenants().await?;
            if json {
                let list: Vec<_> = tenants
                    .iter()
                    .map(|t| serde_json::json!({"id": t.id.0, "name": t.name, "createdAt": t.created_at}))
                    .collect();
                println!("{}", serde_json::Value::Array(list));
            } else {
                for t in tenants {
                    println!("{}\t{}", t.id, t.name);
                }
            }
        }
    }
    Ok(())
}

/// `cwbridge secrets rotate`: re-seals every stored ConnectWise private key under the
/// newest key of --secret-keys.
#[derive(Debug, Args)]
pub struct SecretsCmd {
    #[command(flatten)]
    engine: EngineArgs,
    /// Print the count as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `cwbridge secrets-rotate`.
pub async fn rotate(cmd: SecretsCmd) -> anyhow::Result<()> {
    let engine = cmd.engine.open().await?;
    let n = engine.rotate_secrets().await?;
    if cmd.json {
        println!("{}", serde_json::json!({"resealed": n}));
    } else {
        println!("re-sealed {n} secret(s) under the newest key");
    }
    Ok(())
}
