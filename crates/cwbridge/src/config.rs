//! `--config FILE` for `cwbridge serve` and `cwbridge config check`: a TOML file holding any
//! serve setting under its flag's name, `_` for `-` (`database_url`, `listen`,
//! `allow_network = ["10.0.0.0/8"]`, …).
//! Flags beat environment variables, which beat the file, which beats the defaults: the
//! file's values become the flags' defaults before the command line is read again. A key
//! that is no setting is refused, named.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{ArgMatches, Command, CommandFactory, FromArgMatches};

use crate::Cli;

/// The subcommands that read `--config`, by their path from the top.
const READERS: [&[&str]; 2] = [&["serve"], &["config", "check"]];

/// Settings printed as `<redacted>`; the database URL has its password hidden.
const SECRETS: [&str; 2] = ["operator_token", "secret_keys"];

/// The largest config file read.
const MAX_FILE_BYTES: u64 = 1 << 20;

/// A command line read with its config file applied.
pub struct Parsed {
    /// The command.
    pub cli: Cli,
    /// What clap read, for `config check`.
    pub matches: ArgMatches,
    /// The settings the file gave, by their ids.
    pub from_file: Vec<String>,
}

/// Reads the command line; when it names a config file (`--config` or `CWBRIDGE_CONFIG`),
/// reads it and reads the command line again with the file's values as defaults. On a
/// wrong command line clap prints its message and exits 2; a bad file is `Err`.
pub fn parse(args: Vec<OsString>) -> Result<Parsed, String> {
    let first = Cli::command().get_matches_from(args.clone());
    let Some((path, sub)) = READERS
        .iter()
        .find_map(|at| reader(&first, at).map(|m| (m.get_one::<PathBuf>("config").cloned(), *at)))
    else {
        return finish(first, Vec::new());
    };
    let Some(path) = path else {
        return finish(first, Vec::new());
    };
    let table = read(&path)?;
    let mut command = Cli::command();
    let mut from_file = Vec::new();
    for (key, value) in table {
        let values = values_of(&path, &key, &value)?;
        let id = settings(&command, sub)
            .into_iter()
            .find(|(k, _)| *k == key)
            .map(|(_, a)| a.get_id().to_string())
            .ok_or_else(|| unknown_key(&path, &key, sub))?;
        command = with_default(command, sub, &id, values);
        from_file.push(id);
    }
    finish(command.get_matches_from(args), from_file)
}

fn finish(matches: ArgMatches, from_file: Vec<String>) -> Result<Parsed, String> {
    let cli = Cli::from_arg_matches(&matches).map_err(|e| e.to_string())?;
    Ok(Parsed {
        cli,
        matches,
        from_file,
    })
}

/// The matches of the subcommand at `path`, if that is the one given.
fn reader<'a>(matches: &'a ArgMatches, path: &[&str]) -> Option<&'a ArgMatches> {
    path.iter()
        .try_fold(matches, |m, name| match m.subcommand() {
            Some((n, sub)) if n == *name => Some(sub),
            _ => None,
        })
}

/// The file as a TOML table.
fn read(path: &Path) -> Result<toml::Table, String> {
    let shown = path.display();
    let size = std::fs::metadata(path)
        .map_err(|e| format!("cannot read the config file {shown}: {e}"))?
        .len();
    if size > MAX_FILE_BYTES {
        return Err(format!(
            "the config file {shown} is {size} bytes; cwbridge reads at most {MAX_FILE_BYTES}"
        ));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the config file {shown}: {e}"))?;
    text.parse::<toml::Table>().map_err(|e| {
        let first = e.to_string();
        let first = first.lines().next().unwrap_or_default().to_owned();
        format!("the config file {shown} is not valid TOML: {first}")
    })
}

/// A setting's values as the command line would spell them: a string, number or boolean,
/// or a list of them for a setting that takes several.
fn values_of(path: &Path, key: &str, value: &toml::Value) -> Result<Vec<String>, String> {
    let one = |v: &toml::Value| match v {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Float(f) => Some(f.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        _ => None,
    };
    let values = match value {
        toml::Value::Array(items) => items.iter().map(one).collect::<Option<Vec<_>>>(),
        v => one(v).map(|s| vec![s]),
    };
    values.ok_or_else(|| {
        format!(
            "{}: `{key}` takes a string, a number, true/false, or a list of them",
            path.display()
        )
    })
}

/// The subcommand at `sub`.
fn leaf<'a>(command: &'a Command, sub: &[&str]) -> &'a Command {
    sub.iter().fold(command, |c, name| {
        c.find_subcommand(name).expect("a reader exists")
    })
}

/// The settings of the subcommand at `sub` a file may hold (its flags but `--config`), by
/// their name in the file.
fn settings<'a>(command: &'a Command, sub: &[&str]) -> Vec<(String, &'a clap::Arg)> {
    let mut args: Vec<(String, &clap::Arg)> = leaf(command, sub)
        .get_arguments()
        .filter_map(|a| Some((a.get_long()?.replace('-', "_"), a)))
        .filter(|(key, _)| key != "config")
        .collect();
    args.sort_by(|a, b| a.0.cmp(&b.0));
    args
}

/// `command` with `values` as the default of the argument `id` of the subcommand at `sub`.
fn with_default(command: Command, sub: &[&str], id: &str, values: Vec<String>) -> Command {
    match sub.split_first() {
        None => command.mut_arg(id, |arg| arg.default_values(values)),
        Some((name, rest)) => {
            command.mut_subcommand(*name, |child| with_default(child, rest, id, values))
        }
    }
}

fn unknown_key(path: &Path, key: &str, sub: &[&str]) -> String {
    let command = Cli::command();
    let known: Vec<String> = settings(&command, sub)
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    format!(
        "{}: `{key}` is not a setting of cwbridge serve (settings: {})",
        path.display(),
        known.join(", ")
    )
}

/// `cwbridge config check`: every serve setting in effect, where it came from, secrets
/// hidden, as TOML a config file could hold.
pub fn check(parsed: &Parsed) -> String {
    let Some(matches) = reader(&parsed.matches, READERS[1]) else {
        return String::new();
    };
    let command = Cli::command();
    let mut lines = Vec::new();
    for (key, arg) in settings(&command, READERS[1]) {
        let id = arg.get_id().as_str();
        let source = match matches.value_source(id) {
            Some(ValueSource::CommandLine) => "flag",
            Some(ValueSource::EnvVariable) => "environment",
            Some(ValueSource::DefaultValue) if parsed.from_file.iter().any(|k| k == id) => {
                "config file"
            }
            Some(ValueSource::DefaultValue) => "default",
            _ => "unset",
        };
        let raw: Vec<String> = matches
            .get_raw(id)
            .map(|vals| vals.map(|v| v.to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        let shown: Vec<String> = raw
            .iter()
            .map(|v| match id {
                _ if SECRETS.contains(&id) => "<redacted>".to_owned(),
                "database_url" => cwbridge_store::redact_url(v),
                _ => v.clone(),
            })
            .collect();
        let value = match shown.as_slice() {
            [] => {
                lines.push(format!("# {key} is not set"));
                continue;
            }
            [one] if !takes_many(arg) => toml_value(one),
            many => format!(
                "[{}]",
                many.iter()
                    .map(|v| toml_value(v))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        lines.push(format!("{key} = {value}  # {source}"));
    }
    lines.join("\n")
}

fn takes_many(arg: &clap::Arg) -> bool {
    matches!(arg.get_action(), clap::ArgAction::Append)
}

/// A value as TOML spells it: numbers and booleans bare, the rest quoted.
fn toml_value(v: &str) -> String {
    if v.parse::<i64>().is_ok() || v.parse::<f64>().is_ok() || v == "true" || v == "false" {
        v.to_owned()
    } else {
        toml::Value::String(v.to_owned()).to_string()
    }
}
