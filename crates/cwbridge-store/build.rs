//! Rebuilds the store when a migration is added: `sqlx::migrate!` embeds every file of
//! `migrations/<dialect>/` at compile time, but cargo only knows to look again when told.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
