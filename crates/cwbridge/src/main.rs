#![doc = include_str!("../README.md")]

mod api;
mod bridge;
mod config;
mod demo;
mod logging;
mod sandbox;
mod secret_file;

use clap::{Parser, Subcommand};

/// cwbridge connects a vendor's platform to ConnectWise Manage (ConnectWise PSA).
#[derive(Debug, Parser)]
#[command(
    name = "cwbridge",
    version,
    about,
    long_about = "cwbridge connects a vendor's platform to ConnectWise Manage (ConnectWise PSA): \
        a permission-checked connection per MSP, customer mapping, agreement billing planned \
        before it is applied, and alerts that become tickets exactly once.\n\n\
        Start with `cwbridge demo`: a sandboxed ConnectWise and the bridge, with the set-up \
        wizard to walk in a browser.",
    after_help = "Exit status: 0 done; 1 failed (the message says why and what to do); \
        2 the command line is wrong; 3 done, but not cleanly (a check that does not pass, \
        billing changes that failed and will be retried).\n\n\
        Commands that print data take --json. Set CWBRIDGE_LOG (e.g. info, or \
        cwbridge=debug) for logs on standard error."
)]
struct Cli {
    /// How log lines on standard error read: `text` for people, `json` (one object a line,
    /// with the spans they happened in) for log shippers.
    #[arg(long, global = true, env = "CWBRIDGE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    /// One readable line an event.
    Text,
    /// One JSON object an event, with its span and the spans around it.
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the demo: a sandboxed ConnectWise and the bridge with its set-up wizard (--auto: set up too).
    Demo(demo::DemoCmd),
    /// Run a sandboxed ConnectWise Manage (or manage one: roles, members, keys, faults).
    Sandbox(sandbox::SandboxCmd),
    /// Call the ConnectWise API: `cwbridge api GET /service/tickets --all`.
    Api(api::ApiCmd),
    /// Run the bridge: the set-up wizard and status pages at /, the vendor REST API under /api/v1.
    Serve(bridge::ServeCmd),
    /// Check a tenant's ConnectWise connection: reach, keys, role permissions.
    Check(bridge::CheckCmd),
    /// Make or list tenants (the vendor's MSP customers).
    Tenant(bridge::TenantCmd),
    /// Plan or apply a tenant's agreement billing.
    Billing(bridge::BillingCmd),
    /// Send or list alerts (delivered as tickets).
    Alerts(bridge::AlertsCmd),
    /// Check a config file: `config check --config cwbridge.toml` prints every serve setting
    /// in effect and where it came from (flag, environment, file, default), secrets hidden.
    #[command(subcommand)]
    Config(ConfigCmd),
    /// Re-seal stored ConnectWise private keys under the newest secret key.
    #[command(name = "secrets-rotate")]
    SecretsRotate(bridge::SecretsCmd),
}

/// `cwbridge config …`.
#[derive(Debug, Subcommand)]
enum ConfigCmd {
    /// Print the serve settings in effect, as TOML, secrets hidden; takes what serve takes.
    Check(bridge::ServeCmd),
}

/// The command did its work, but not all of it went through (exit status 3).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Unfinished(pub String);

fn main() {
    let parsed = match config::parse(std::env::args_os().collect()) {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    if let Command::Config(ConfigCmd::Check(_)) = &parsed.cli.command {
        println!("{}", config::check(&parsed));
        return;
    }
    let cli = parsed.cli;
    let telemetry = match logging::init(cli.log_format) {
        Ok(telemetry) => telemetry,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: failed to start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Demo(cmd) => demo::run(cmd).await,
            Command::Sandbox(cmd) => sandbox::run(cmd).await,
            Command::Api(cmd) => api::run(cmd).await,
            Command::Serve(cmd) => bridge::serve(cmd).await,
            Command::Check(cmd) => bridge::check(cmd).await,
            Command::Tenant(cmd) => bridge::tenant(cmd).await,
            Command::Billing(cmd) => bridge::billing(cmd).await,
            Command::Alerts(cmd) => bridge::alerts(cmd).await,
            Command::SecretsRotate(cmd) => bridge::rotate(cmd).await,
            Command::Config(_) => Ok(()),
        }
    });
    // The last spans are exported before the process exits.
    drop(telemetry);
    if let Err(e) = result {
        // One readable line: the outermost context, then its causes.
        let causes: Vec<String> = e.chain().map(ToString::to_string).collect();
        eprintln!("error: {}", causes.join(": "));
        std::process::exit(if e.downcast_ref::<Unfinished>().is_some() {
            3
        } else {
            1
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_cli() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
