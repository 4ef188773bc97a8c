//! `cwbridge tenant export|apply` run as processes, as an operator runs them: a tenant's
//! settings kept in a TOML file, shown as a difference against another tenant and applied
//! with --yes, which then exports the same file; a refused file and a run without --yes
//! write nothing.

#[allow(dead_code)] // only the world and the command on its directory are needed here
mod common;

use std::path::Path;

use cwbridge_engine::account::AccountInput;
use cwbridge_engine::mapping::MappingInput;
use cwbridge_engine::{ConnectionInput, Engine, Keyring};
use cwbridge_store::Store;
use cwbridge_testkit::{connected_tenant, help_desk_tickets, run};

use common::{cwbridge, world};

/// What a command printed, and its exit status.
struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `cwbridge ARGS` on `dir` (the arguments are read at once, not kept).
fn cli(dir: &Path, args: &[&str]) -> impl Future<Output = Ran> + use<> {
    let mut cmd = cwbridge(dir);
    cmd.args(args);
    async move {
        let out = run(cmd).await;
        Ran {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// A file in `dir` holding `text`, with Unix `mode`.
fn file(dir: &Path, name: &str, text: &str, mode: u32) -> String {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenants_settings_file_applies_to_another_tenant_only_with_yes() {
    // Arrange: the bridge's database and key in the world's directory, where the commands
    // run; Acme set up as the wizard leaves it, Beta with the same account pushed.
    let w = world().await;
    let dir = w.dir.path();
    let key = Keyring::generate_key();
    file(dir, "cwbridge.key", &key, 0o600);
    let url = format!("sqlite://{}", dir.join("bridge.db").display());
    let store = Store::open(&url).await.unwrap();
    let engine = Engine::new(
        store,
        Keyring::from_base64(&[key]).unwrap(),
        w.site.config(),
    );
    let input: ConnectionInput = serde_json::from_value(w.connection()).unwrap();
    let acme = connected_tenant(&engine, "Acme MSP", &input)
        .await
        .tenant
        .id;
    let beta = engine.create_tenant("Beta MSP").await.unwrap().tenant.id;
    let account = AccountInput {
        name: "Acme Corporation".into(),
        units: vec!["acme.example".into()],
        alert_types: Vec::new(),
    };
    for t in [acme, beta] {
        engine.put_account(t, "g-acme", &account).await.unwrap();
    }
    let mapping = MappingInput {
        company_id: 1,
        agreement_id: None,
    };
    engine.map_account(acme, "g-acme", &mapping).await.unwrap();
    engine
        .set_ticket_settings(acme, &help_desk_tickets())
        .await
        .unwrap();
    let export = |tenant: &'static str| cli(dir, &["tenant", "export", "--tenant", tenant]);
    let acme_file = dir.join("acme.toml").display().to_string();
    let saved = cli(
        dir,
        &[
            "tenant", "export", "--tenant", "Acme MSP", "--output", &acme_file,
        ],
    );
    assert_eq!(saved.await.code, Some(0));
    let acme_toml = std::fs::read_to_string(&acme_file).unwrap();
    assert!(
        acme_toml.contains("[[mappings]]\naccount = \"g-acme\""),
        "{acme_toml}"
    );
    let beta_before = export("Beta MSP").await.stdout;
    let apply = ["tenant", "apply", &acme_file, "--tenant", "Beta MSP"];
    let key_file = file(dir, "key.txt", &input.private_key, 0o644);
    let with_key = [&apply[..], &["--private-key-file", &key_file]].concat();

    // A key file others can read is refused with the fix, in one line.
    let readable = cli(dir, &with_key).await;
    assert_eq!(readable.code, Some(1), "{}", readable.stderr);
    assert!(readable.stderr.contains("chmod 600"), "{}", readable.stderr);
    assert_eq!(readable.stderr.trim().lines().count(), 1);
    file(dir, "key.txt", &input.private_key, 0o600);

    // Without --yes: the difference, and nothing written.
    let shown = cli(dir, &with_key).await;
    assert_eq!(shown.code, Some(0), "{}", shown.stderr);
    for line in [
        "connection: + privateKey: the one given (not shown)",
        "billing: + product: DMARC-MONITOR (#",
        "mappings: + g-acme: company #1 Acme Corporation",
        "alertRoutes: unchanged (0)",
        "nothing written: run again with --yes",
    ] {
        assert!(shown.stdout.contains(line), "{line}:\n{}", shown.stdout);
    }
    assert_eq!(export("Beta MSP").await.stdout, beta_before);

    // A file naming an account Beta does not have: refused by name, nothing written.
    let unknown = format!("{acme_toml}\n[[mappings]]\naccount = \"g-nobody\"\ncompanyId = 1\n");
    let unknown_file = file(dir, "unknown.toml", &unknown, 0o644);
    let refused = [
        "tenant",
        "apply",
        &unknown_file,
        "--tenant",
        "Beta MSP",
        "--private-key-file",
        &key_file,
        "--yes",
    ];
    let refused = cli(dir, &refused).await;
    assert_eq!(refused.code, Some(1), "{}", refused.stdout);
    assert!(
        refused.stderr.contains("mappings[1].account"),
        "{}",
        refused.stderr
    );
    assert!(refused.stderr.contains("g-nobody"), "{}", refused.stderr);
    assert_eq!(export("Beta MSP").await.stdout, beta_before);

    // Act
    let applied = cli(dir, &[&with_key[..], &["--yes"]].concat()).await;

    // Assert
    assert_eq!(applied.code, Some(0), "{}", applied.stderr);
    assert!(applied.stdout.contains("applied "), "{}", applied.stdout);
    assert_eq!(export("Beta MSP").await.stdout, acme_toml);
    let again = cli(dir, &[&apply[..], &["--yes", "--json"]].concat()).await;
    let again: serde_json::Value = serde_json::from_str(&again.stdout).unwrap();
    assert_eq!(again["applied"], false, "{again:#}");
    w.site.sandbox.stop().await;
}
