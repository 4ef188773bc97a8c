//! `cwbridge api`: the operator's way to call ConnectWise, in the spirit of `gh api`.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use connectwise_client::{Client, Credentials};
use futures_util::TryStreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Deserialize;
use serde_json::Value;

/// Call the ConnectWise API and print its JSON.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    cwbridge api GET /service/tickets --conditions 'status/name=\"New\"' --all\n  \
    cwbridge api PATCH /service/tickets/42 --data '[{\"op\":\"replace\",\"path\":\"summary\",\"value\":\"x\"}]'\n  \
    cwbridge api GET /company/companies --credentials .sandbox/credentials.json --ca .sandbox/cert.pem")]
pub struct ApiCmd {
    /// GET, POST, PUT, PATCH or DELETE.
    method: String,
    /// The path below the API root, e.g. /service/tickets or /service/tickets/42/notes.
    path: String,
    /// `conditions`, e.g. 'board/name="Help Desk" and closedFlag=false'.
    #[arg(long)]
    conditions: Option<String>,
    /// `childConditions`.
    #[arg(long)]
    child_conditions: Option<String>,
    /// `customFieldConditions`.
    #[arg(long)]
    custom_field_conditions: Option<String>,
    /// `orderBy`, e.g. 'name asc'.
    #[arg(long)]
    order_by: Option<String>,
    /// `fields`, comma-separated, e.g. id,name,company/id.
    #[arg(long)]
    fields: Option<String>,
    /// Records per page (1–1000).
    #[arg(long)]
    page_size: Option<u32>,
    /// Which page to read (without --all).
    #[arg(long)]
    page: Option<u32>,
    /// Read every page and print one record per line (JSON lines).
    #[arg(long)]
    all: bool,
    /// The request body: JSON, @FILE, or - for standard input.
    #[arg(long)]
    data: Option<String>,
    /// Retry POST and PATCH after failures that may have reached ConnectWise.
    #[arg(long)]
    retry_writes: bool,
    /// The API version pinned in the Accept header.
    #[arg(long, default_value = connectwise_client::DEFAULT_API_VERSION)]
    api_version: String,
    /// A credentials file as the sandbox writes it (site, companyId, publicKey, privateKey,
    /// clientId).
    #[arg(long, value_name = "FILE", conflicts_with = "profile")]
    credentials: Option<PathBuf>,
    /// A connection profile of the config file ([profiles.NAME] with site, company_id,
    /// public_key, private_key, client_id and optionally ca). Without --credentials or
    /// --profile, the CWBRIDGE_CW_* environment variables are read.
    #[arg(long, value_name = "NAME", env = "CWBRIDGE_PROFILE")]
    profile: Option<String>,
    /// The config file (default: $XDG_CONFIG_HOME/cwbridge/config.toml, else
    /// ~/.config/cwbridge/config.toml).
    #[arg(long, value_name = "FILE", env = "CWBRIDGE_CONFIG")]
    config: Option<PathBuf>,
    /// A PEM certificate to trust besides the system's (the sandbox's cert.pem).
    #[arg(long, value_name = "FILE", env = "CWBRIDGE_CW_CA")]
    ca: Option<PathBuf>,
}

/// A `[profiles.NAME]` table of the config file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Profile {
    site: String,
    company_id: String,
    public_key: String,
    private_key: String,
    client_id: String,
    ca: Option<PathBuf>,
}

/// The parts of the config file `cwbridge api` reads.
#[derive(Debug, Deserialize)]
struct ConfigFile {
    #[serde(default)]
    profiles: BTreeMap<String, Profile>,
}

fn config_path(cmd: &ApiCmd) -> anyhow::Result<PathBuf> {
    if let Some(p) = &cmd.config {
        return Ok(p.clone());
    }
    let base = match std::env::var_os("XDG_CONFIG_HOME") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => {
            PathBuf::from(std::env::var_os("HOME").context("HOME is not set: pass --config FILE")?)
                .join(".config")
        }
    };
    Ok(base.join("cwbridge/config.toml"))
}

/// The credentials and extra CA to use: --credentials, else --profile, else the environment.
fn credentials(cmd: &ApiCmd) -> anyhow::Result<(Credentials, Option<PathBuf>)> {
    if let Some(path) = &cmd.credentials {
        return Ok((Credentials::from_file(path)?, cmd.ca.clone()));
    }
    if let Some(name) = &cmd.profile {
        let path = config_path(cmd)?;
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read the config file {}", path.display()))?;
        let mut file: ConfigFile =
            toml::from_str(&text).with_context(|| format!("{} is not valid", path.display()))?;
        let known: Vec<String> = file.profiles.keys().cloned().collect();
        let p = file.profiles.remove(name).with_context(|| {
            let known = if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            };
            format!(
                "{} has no profile `{name}` (it has: {known})",
                path.display()
            )
        })?;
        let credentials = Credentials {
            site: p.site,
            company_id: p.company_id,
            public_key: p.public_key,
            private_key: p.private_key,
            client_id: p.client_id,
        };
        return Ok((credentials, cmd.ca.clone().or(p.ca)));
    }
    let var = |name: &str| {
        std::env::var(name).with_context(|| {
            format!("{name} is not set: pass --credentials FILE or --profile NAME, or set CWBRIDGE_CW_SITE, CWBRIDGE_CW_COMPANY_ID, CWBRIDGE_CW_PUBLIC_KEY, CWBRIDGE_CW_PRIVATE_KEY and CWBRIDGE_CW_CLIENT_ID")
        })
    };
    let credentials = Credentials {
        site: var("CWBRIDGE_CW_SITE")?,
        company_id: var("CWBRIDGE_CW_COMPANY_ID")?,
        public_key: var("CWBRIDGE_CW_PUBLIC_KEY")?,
        private_key: var("CWBRIDGE_CW_PRIVATE_KEY")?,
        client_id: var("CWBRIDGE_CW_CLIENT_ID")?,
    };
    Ok((credentials, cmd.ca.clone()))
}

fn body(data: &str) -> anyhow::Result<Value> {
    let text = match data {
        "-" => std::io::read_to_string(std::io::stdin()).context("cannot read standard input")?,
        file if file.starts_with('@') => std::fs::read_to_string(&file[1..])
            .with_context(|| format!("cannot read {}", &file[1..]))?,
        json => json.to_owned(),
    };
    serde_json::from_str(&text).context("--data is not JSON")
}

/// Runs `cwbridge api`.
pub async fn run(cmd: ApiCmd) -> anyhow::Result<()> {
    let method: connectwise_client::Method = cmd
        .method
        .to_ascii_uppercase()
        .parse()
        .with_context(|| format!("`{}` is not an HTTP method", cmd.method))?;
    if !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&method.as_str()) {
        bail!("method {method} is not one ConnectWise takes: use GET, POST, PUT, PATCH or DELETE");
    }
    if cmd.all && method != connectwise_client::Method::GET {
        bail!("--all reads every page of a list: use it with GET");
    }
    let (credentials, ca) = credentials(&cmd)?;
    let mut builder = Client::builder(credentials)
        .api_version(&cmd.api_version)
        .retry_writes(cmd.retry_writes);
    if let Some(ca) = &ca {
        let pem = std::fs::read(ca).with_context(|| format!("cannot read {}", ca.display()))?;
        builder = builder.extra_ca_pem(pem);
    }
    let client = builder.build()?;
    // A query written into the path (`/service/tickets?pageSize=5`) joins the flags'.
    let (path, inline_query) = match cmd.path.split_once('?') {
        Some((path, query)) => (path.trim_matches('/'), query),
        None => (cmd.path.trim_matches('/'), ""),
    };
    let inline: Vec<(String, String)> = query_pairs(inline_query);
    let stdout = std::io::stdout();
    if cmd.all {
        let mut list = client.endpoint::<Value>(path).list();
        for (name, value) in &inline {
            list = match name.to_ascii_lowercase().as_str() {
                "conditions" => list.conditions(value),
                "childconditions" => list.child_conditions(value),
                "customfieldconditions" => list.custom_field_conditions(value),
                "orderby" => list.order_by(value),
                "fields" => list.fields(value.split(',')),
                "pagesize" => list.page_size(
                    value
                        .parse()
                        .with_context(|| format!("pageSize `{value}` is not a number"))?,
                ),
                _ => bail!("`{name}` in the path is not a list parameter --all understands"),
            };
        }
        if let Some(c) = &cmd.conditions {
            list = list.conditions(c);
        }
        if let Some(c) = &cmd.child_conditions {
            list = list.child_conditions(c);
        }
        if let Some(c) = &cmd.custom_field_conditions {
            list = list.custom_field_conditions(c);
        }
        if let Some(o) = &cmd.order_by {
            list = list.order_by(o);
        }
        if let Some(f) = &cmd.fields {
            list = list.fields(f.split(','));
        }
        list = list.page_size(
            cmd.page_size
                .unwrap_or(connectwise_client::list::MAX_PAGE_SIZE),
        );
        // Output to a file or pipe: show progress on the terminal, against the count.
        let progress = if stdout.is_terminal() {
            ProgressBar::hidden()
        } else {
            let bar = match list.count().await {
                Ok(total) => ProgressBar::new(total),
                Err(_) => ProgressBar::no_length(),
            };
            bar.set_draw_target(ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{bar:40} {pos}/{len} records, {per_sec}, {eta} left")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        };
        let mut records = std::pin::pin!(list.stream());
        let mut out = std::io::BufWriter::new(stdout.lock());
        while let Some(record) = records.try_next().await? {
            serde_json::to_writer(&mut out, &record)?;
            out.write_all(b"\n")?;
            progress.inc(1);
        }
        out.flush()?;
        progress.finish_and_clear();
        return Ok(());
    }
    let mut query = inline;
    let params = [
        ("conditions", cmd.conditions.clone()),
        ("childConditions", cmd.child_conditions.clone()),
        ("customFieldConditions", cmd.custom_field_conditions.clone()),
        ("orderBy", cmd.order_by.clone()),
        ("fields", cmd.fields.clone()),
        ("pageSize", cmd.page_size.map(|n| n.to_string())),
        ("page", cmd.page.map(|n| n.to_string())),
    ];
    for (name, value) in params {
        if let Some(v) = value {
            query.push((name.to_owned(), v));
        }
    }
    let data = cmd.data.as_deref().map(body).transpose()?;
    let answer = client.request_json(method, path, &query, data).await?;
    if !answer.is_null() {
        let mut out = stdout.lock();
        serde_json::to_writer_pretty(&mut out, &answer)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// `a=1&b=x%20y` as decoded pairs (`+` is a space, as ConnectWise reads it).
fn query_pairs(query: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}
