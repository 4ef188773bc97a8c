//! `cwbridge tenant export|apply`: a tenant's settings as a file (the engine's `settings`
//! module does the work: the document, its rules, the difference and the writes).

use std::io::Read;

use cwbridge_engine::settings::{ApplyOptions, MAX_DOCUMENT_BYTES, SettingsDocument};

use super::*;

/// The most bytes read from a private key file.
const MAX_KEY_FILE_BYTES: u64 = 64 << 10;

/// `cwbridge tenant export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The tenant, by name.
    #[arg(long)]
    tenant: String,
    /// Write JSON (the API's form) instead of TOML.
    #[arg(long)]
    json: bool,
    /// Write to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
}

/// `cwbridge tenant apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The settings document (TOML, or JSON when it starts with `{`); `-` reads standard
    /// input.
    file: PathBuf,
    /// The tenant, by name.
    #[arg(long)]
    tenant: String,
    /// Write the changes; without it the difference is shown and nothing is written.
    #[arg(long)]
    yes: bool,
    /// A file holding the API key's private half (readable by its owner only), for a
    /// connection the document makes or changes: a document never holds one.
    #[arg(long, value_name = "FILE")]
    private_key_file: Option<PathBuf>,
    /// Print the difference as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `cwbridge tenant export`.
pub async fn export(engine: &Engine, args: ExportArgs) -> anyhow::Result<()> {
    let tenant = engine.tenant_named(&args.tenant).await?;
    let doc = engine
        .export_settings(tenant.id)
        .await
        .with_context(|| format!("Failed to read the settings of {}", tenant.name))?;
    let text = if args.json {
        format!("{}\n", serde_json::to_string_pretty(&doc)?)
    } else {
        doc.to_toml()
            .context("Failed to write the settings as TOML")?
    };
    match &args.output {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => print!("{text}"),
    }
    Ok(())
}

/// Runs `cwbridge tenant apply`: the difference, and with --yes the writes.
pub async fn apply(engine: &Engine, args: ApplyArgs) -> anyhow::Result<()> {
    let tenant = engine.tenant_named(&args.tenant).await?;
    let text = read_document(&args.file)?;
    let doc = SettingsDocument::parse(&text)
        .with_context(|| format!("Failed to read {}", args.file.display()))?;
    let private_key = match &args.private_key_file {
        Some(path) => Some(read_private_key(path)?),
        None => None,
    };
    let options = ApplyOptions {
        private_key: private_key.as_deref(),
        dry_run: !args.yes,
    };
    let diff = engine
        .apply_settings(tenant.id, &doc, options)
        .await
        .with_context(|| format!("Failed to apply {} to {}", args.file.display(), tenant.name))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&diff)?);
    } else {
        print!("{diff}");
        println!(
            "{}",
            match (diff.changes(), diff.applied) {
                (0, _) => "nothing to change".to_owned(),
                (n, true) => format!("applied {n} change(s) to {}", tenant.name),
                (n, false) => format!(
                    "{n} change(s), nothing written: run again with --yes to apply them (ConnectWise's checks — product, agreement type, board, companies, agreements — run then, before anything is written)"
                ),
            }
        );
    }
    match diff.check {
        Some(check) if !check.ok => Err(crate::Unfinished(format!(
            "the settings were applied, but the connection of {} does not pass its check: `cwbridge check --tenant \"{}\"` says why",
            tenant.name, tenant.name
        ))
        .into()),
        _ => Ok(()),
    }
}

/// The document at `path` (`-`: standard input), up to the most a document may be.
fn read_document(path: &Path) -> anyhow::Result<String> {
    let limit = MAX_DOCUMENT_BYTES as u64 + 1;
    let mut text = String::new();
    if path == Path::new("-") {
        std::io::stdin()
            .take(limit)
            .read_to_string(&mut text)
            .context("cannot read the document from standard input")?;
    } else {
        std::fs::File::open(path)
            .and_then(|f| f.take(limit).read_to_string(&mut text))
            .with_context(|| format!("cannot read {}", path.display()))?;
    }
    Ok(text)
}

/// The private key in `path`, refused when others can read the file.
fn read_private_key(path: &Path) -> anyhow::Result<String> {
    crate::secret_file::check_private(path)?;
    let mut key = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_KEY_FILE_BYTES).read_to_string(&mut key))
        .with_context(|| format!("cannot read the private key file {}", path.display()))?;
    let key = key.trim();
    if key.is_empty() {
        anyhow::bail!("the private key file {} is empty", path.display());
    }
    Ok(key.to_owned())
}
