//! `cwbridge sandbox`: run the ConnectWise look-alike, or take the seeds' admin steps on a
//! running one.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use connectwise_sandbox::admin::AdminClient;
use connectwise_sandbox::{Faults, Grant, LostMode, Preset, Sandbox, SandboxConfig, Seed, TlsMode};

/// Arguments of `cwbridge sandbox`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SandboxCmd {
    #[command(subcommand)]
    action: Option<Action>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Create a security role from a permission list or a preset (System > Security Roles).
    Role(RoleArgs),
    /// Create an API member (System > Members > API Members).
    Member(MemberArgs),
    /// Generate an API key for a member; the private key is printed once.
    Key(KeyArgs),
    /// Change the fault settings of a running sandbox.
    Faults(FaultsArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum SeedName {
    /// A realistic small MSP.
    Demo,
    /// Many records for benchmarks (see --companies and --tickets).
    Bench,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Directory for state, certificate and credentials (kept across restarts).
    #[arg(long, env = "CWBRIDGE_SANDBOX_STATE", default_value = ".sandbox")]
    state: PathBuf,
    /// Address to listen on.
    #[arg(
        long,
        env = "CWBRIDGE_SANDBOX_LISTEN",
        default_value = "127.0.0.1:8443"
    )]
    listen: SocketAddr,
    /// Data to load on first start.
    #[arg(long, value_enum)]
    seed: Option<SeedName>,
    /// Companies for --seed bench.
    #[arg(long, default_value_t = 1000)]
    companies: usize,
    /// Tickets for --seed bench.
    #[arg(long, default_value_t = 10_000)]
    tickets: usize,
    /// Serve plain HTTP instead of HTTPS.
    #[arg(long, conflicts_with_all = ["tls_cert", "tls_key"])]
    http: bool,
    /// Your own certificate chain (PEM) instead of the self-signed one.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key (PEM) for --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// The company id members log in with.
    #[arg(long, default_value = "sandbox")]
    company_id: String,
    /// The codebase the API is served under.
    #[arg(long, default_value = "v4_6_release/")]
    codebase: String,
    #[command(flatten)]
    faults: FaultFlags,
}

#[derive(Debug, Args)]
struct FaultFlags {
    /// Milliseconds added to every API request.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Share (0-1) of API requests answered 500/503.
    #[arg(long, default_value_t = 0.0)]
    error_rate: f64,
    /// Share (0-1) of API requests answered 429.
    #[arg(long, default_value_t = 0.0)]
    throttle_rate: f64,
    /// Retry-After seconds sent with a 429.
    #[arg(long, default_value_t = 1)]
    retry_after: u64,
    /// Requests per second allowed per member.
    #[arg(long)]
    member_rate_limit: Option<u32>,
    /// Share (0-1) of writes carried out whose response is lost.
    #[arg(long, default_value_t = 0.0)]
    lost_response_rate: f64,
    /// How a lost response is lost.
    #[arg(long, value_enum, default_value_t = LostFlag::Drop)]
    lost_response_mode: LostFlag,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LostFlag {
    /// Close the connection without answering.
    Drop,
    /// Hold the answer past any client timeout.
    Stall,
}

impl FaultFlags {
    fn to_faults(&self) -> Faults {
        Faults {
            latency_ms: self.latency_ms,
            error_rate: self.error_rate,
            throttle_rate: self.throttle_rate,
            retry_after_secs: self.retry_after,
            member_rate_limit: self.member_rate_limit,
            lost_response_rate: self.lost_response_rate,
            lost_response_mode: match self.lost_response_mode {
                LostFlag::Drop => LostMode::Drop,
                LostFlag::Stall => LostMode::Stall,
            },
            ..Faults::default()
        }
    }
}

#[derive(Debug, Args)]
struct Target {
    /// The running sandbox's state directory (its credentials.json and cert.pem are used).
    #[arg(long, env = "CWBRIDGE_SANDBOX_STATE", default_value = ".sandbox")]
    state: PathBuf,
    /// Print what was made as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct RoleArgs {
    #[command(subcommand)]
    action: RoleAction,
}

#[derive(Debug, Subcommand)]
enum RoleAction {
    /// Create a role.
    Create {
        #[command(flatten)]
        target: Target,
        /// The Role ID (name).
        #[arg(long)]
        name: String,
        /// Start from a preset: admin (seed 000) or billing-tickets (seed 004).
        #[arg(long)]
        preset: Option<Preset>,
        /// A permission line, repeatable: "Service Desk/Service Tickets: inquire=All, add=All".
        #[arg(long = "permission")]
        permissions: Vec<Grant>,
    },
}

#[derive(Debug, Args)]
struct MemberArgs {
    #[command(subcommand)]
    action: MemberAction,
}

#[derive(Debug, Subcommand)]
enum MemberAction {
    /// Create an API member at level Corporate.
    Create {
        #[command(flatten)]
        target: Target,
        /// The Member ID, e.g. DeskDirector.
        #[arg(long)]
        identifier: String,
        /// A working e-mail address at your company.
        #[arg(long)]
        email: String,
        /// The member name (ConnectWise shows it on notes the member writes).
        #[arg(long)]
        name: String,
        /// The security role (Role ID).
        #[arg(long)]
        role: String,
    },
}

#[derive(Debug, Args)]
struct KeyArgs {
    #[command(subcommand)]
    action: KeyAction,
}

#[derive(Debug, Subcommand)]
enum KeyAction {
    /// Generate a key pair; the private key is shown only now.
    Create {
        #[command(flatten)]
        target: Target,
        /// The member's Member ID.
        #[arg(long)]
        member: String,
        /// A description, e.g. API-Key.
        #[arg(long, default_value = "API-Key")]
        description: String,
    },
}

#[derive(Debug, Args)]
struct FaultsArgs {
    #[command(flatten)]
    target: Target,
    #[command(flatten)]
    faults: FaultFlags,
}

/// Runs `cwbridge sandbox …`.
pub async fn run(cmd: SandboxCmd) -> anyhow::Result<()> {
    match cmd.action {
        None => serve(cmd.serve).await,
        Some(Action::Role(RoleArgs {
            action:
                RoleAction::Create {
                    target,
                    name,
                    preset,
                    permissions,
                },
        })) => {
            let mut grants = preset.map(Preset::grants).unwrap_or_default();
            for g in permissions {
                grants.retain(|existing| existing.function != g.function);
                grants.push(g);
            }
            let client = AdminClient::from_state_dir(&target.state)?;
            let id = client.create_role(&name, &grants).await?;
            if target.json {
                println!("{}", serde_json::json!({"id": id, "name": name}));
            } else {
                println!("Created security role '{name}' (id {id}).");
            }
            Ok(())
        }
        Some(Action::Member(MemberArgs {
            action:
                MemberAction::Create {
                    target,
                    identifier,
                    email,
                    name,
                    role,
                },
        })) => {
            let client = AdminClient::from_state_dir(&target.state)?;
            let (first, last) = match name.split_once(' ') {
                Some((f, l)) => (f.to_owned(), Some(l.to_owned())),
                None => (name.clone(), None),
            };
            let id = client
                .create_member(&identifier, &first, last.as_deref(), &email, &role)
                .await?;
            if target.json {
                println!(
                    "{}",
                    serde_json::json!({"id": id, "identifier": identifier, "role": role})
                );
            } else {
                println!(
                    "Created API member '{identifier}' (id {id}) with role '{role}', level Corporate."
                );
            }
            Ok(())
        }
        Some(Action::Key(KeyArgs {
            action:
                KeyAction::Create {
                    target,
                    member,
                    description,
                },
        })) => {
            let client = AdminClient::from_state_dir(&target.state)?;
            let id = client.member_id(&member).await?;
            let (public, private) = client.create_key(id, &description).await?;
            if target.json {
                println!(
                    "{}",
                    serde_json::json!({"member": member, "publicKey": public, "privateKey": private})
                );
            } else {
                println!("Public key:  {public}");
                println!("Private key: {private}");
                println!("Write the private key down now: it is not shown again.");
            }
            Ok(())
        }
        Some(Action::Faults(FaultsArgs { target, faults })) => {
            let client = AdminClient::from_state_dir(&target.state)?;
            client.set_faults(&faults.to_faults()).await?;
            if target.json {
                println!("{}", serde_json::json!({"updated": true}));
            } else {
                println!("Fault settings updated.");
            }
            Ok(())
        }
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let tls = match (args.http, args.tls_cert, args.tls_key) {
        (true, _, _) => TlsMode::Plain,
        (false, Some(cert), Some(key)) => TlsMode::Files { cert, key },
        _ => TlsMode::SelfSigned,
    };
    let seed = args.seed.map(|s| match s {
        SeedName::Demo => Seed::Demo,
        SeedName::Bench => Seed::Bench {
            companies: args.companies,
            tickets: args.tickets,
        },
    });
    let config = SandboxConfig {
        state_dir: Some(args.state.clone()),
        listen: args.listen,
        tls,
        company_id: args.company_id,
        codebase: args.codebase,
        seed,
        faults: args.faults.to_faults(),
        ..SandboxConfig::ephemeral()
    };
    let sandbox = Sandbox::start(config)
        .await
        .context("Failed to start the sandbox")?;
    let creds = sandbox.credentials();
    let state = args.state.display();
    println!("ConnectWise Manage sandbox running at {}", sandbox.url());
    println!("  API base:     {}", sandbox.api_url());
    println!("  company id:   {}", creds.company_id);
    println!("  credentials:  {state}/credentials.json (admin API member, private key inside)");
    if sandbox.ca_pem().is_some() {
        println!("  certificate:  {state}/cert.pem (trust it, or pass it as --ca)");
    }
    println!();
    println!("Try it:");
    let ca = if sandbox.ca_pem().is_some() {
        format!("--cacert {state}/cert.pem ")
    } else {
        String::new()
    };
    println!(
        "  curl {ca}-u '{}+{}:<privateKey from credentials.json>' -H 'clientId: {}' {}company/companies",
        creds.company_id,
        creds.public_key,
        creds.client_id,
        sandbox.api_url()
    );
    println!();
    println!("Press Ctrl-C to stop; state is kept in {state}.");
    sandbox.run_until_signal().await
}
