//! Helpers shared by the integration tests: where the reference data lives.
#![allow(dead_code)]

use std::path::PathBuf;

/// The shared reference data (official schemas and samples): `$EWSCONF_SHARED`, or `shared/`
/// beside the checkout.
///
/// Returns `None` with a printed notice when it is missing; with `CI` set, a missing folder fails
/// the test instead, since CI must exercise these checks.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("EWSCONF_SHARED") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared")),
    };
    if dir.join("ews-schemas").is_dir() && dir.join("ews-samples").is_dir() {
        return Some(dir);
    }
    let message = format!(
        "the shared reference data (ews-schemas/, ews-samples/) is not at {}; \
         set EWSCONF_SHARED to the folder that holds them",
        dir.display()
    );
    if std::env::var_os("CI").is_some() {
        panic!("{message}");
    }
    eprintln!("skipping: {message}");
    None
}

/// Reads a file below the shared folder.
pub fn read_shared(dir: &std::path::Path, relative: &str) -> Vec<u8> {
    let path = dir.join(relative);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}
