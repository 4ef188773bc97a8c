//! Embeds every migration file of each dialect in version order, so that a file added to
//! `migrations/<dialect>/` cannot be left out of the binary, and a gap or a repeated version
//! fails the build instead of a database.
//!
//! Written by hand rather than with `sqlx::migrate!`: that macro needs sqlx's `macros`
//! feature, which builds the database drivers (SQLite's C library among them) a second time
//! for the compiler; listing a directory is all this needs.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut code =
        String::from("// Written by build.rs from migrations/<dialect>/NNNN_description.sql.\n");
    for dialect in ["sqlite", "postgres"] {
        let dir = root.join(dialect);
        println!("cargo:rerun-if-changed={}", dir.display());
        let mut steps: Vec<(i64, String, String)> = Vec::new();
        for entry in std::fs::read_dir(&dir).expect("the migrations directory") {
            let path = entry.expect("a directory entry").path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            let Some(stem) = name.strip_suffix(".sql") else {
                panic!(
                    "{}: only NNNN_description.sql files belong here",
                    path.display()
                );
            };
            let (version, description) = stem
                .split_once('_')
                .and_then(|(v, d)| Some((v.parse::<i64>().ok()?, d.replace('_', " "))))
                .unwrap_or_else(|| panic!("{}: name it NNNN_description.sql", path.display()));
            steps.push((version, description, path.display().to_string()));
        }
        steps.sort();
        for (i, (version, _, path)) in steps.iter().enumerate() {
            assert_eq!(
                *version,
                i as i64 + 1,
                "{path}: migrations are numbered 1, 2, 3… with no gap or repeat"
            );
        }
        let _ = writeln!(code, "const {}: Steps = &[", dialect.to_uppercase());
        for (version, description, path) in &steps {
            let _ = writeln!(
                code,
                "    ({version}, {description:?}, include_str!({path:?})),"
            );
        }
        code.push_str("];\n");
    }
    let out = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("migrations.rs");
    std::fs::write(out, code).expect("the migration list");
}
