//! Helpers shared by the integration tests: where the shared reference data lives, a watchdog
//! for inputs that must not hang, and the suite with the options to run it.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

/// The folder holding `ews-schemas/` and `ews-samples/`: `$EWSCONF_SHARED`, or `shared/` beside
/// the workspace. `None` (with a notice) when it is missing, unless `CI` is set, where a missing
/// folder fails the test.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("EWSCONF_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared")));
    if dir.join("ews-schemas").is_dir() {
        return Some(dir);
    }
    let hint = format!(
        "shared reference data not found at {} (looked for ews-schemas/ there); \
         set EWSCONF_SHARED to the folder that holds ews-schemas/ and ews-samples/",
        dir.display()
    );
    assert!(std::env::var_os("CI").is_none(), "{hint}");
    eprintln!("skipping: {hint}");
    None
}

/// Runs `f` on its own thread and fails the test if it has not finished within `secs` seconds.
pub fn within<T: Send + 'static>(
    secs: u64,
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(value) => value,
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what}: still running after {secs} s"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("{what}: panicked"),
    }
}

/// The EWS messages namespace.
pub const M: &str = "http://schemas.microsoft.com/exchange/services/2006/messages";
/// The EWS types namespace.
pub const T: &str = "http://schemas.microsoft.com/exchange/services/2006/types";
/// The SOAP 1.1 envelope namespace.
pub const SOAP: &str = "http://schemas.xmlsoap.org/soap/envelope/";

/// A valid SendItemResponse envelope with one success message.
pub fn success_envelope() -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="{SOAP}">
  <s:Header>
    <t:ServerVersionInfo xmlns:t="{T}" MajorVersion="15" MinorVersion="1"/>
  </s:Header>
  <s:Body>
    <m:SendItemResponse xmlns:m="{M}">
      <m:ResponseMessages>
        <m:SendItemResponseMessage ResponseClass="Success">
          <m:ResponseCode>NoError</m:ResponseCode>
        </m:SendItemResponseMessage>
      </m:ResponseMessages>
    </m:SendItemResponse>
  </s:Body>
</s:Envelope>
"#
    )
}

/// The published samples: every `.xml` file in the folders of `ews-samples/` below `shared`,
/// sorted.
pub fn sample_files(shared: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for folder in ["msdocs", "msdocs-howto", "exchangelib-related"] {
        let dir = shared.join("ews-samples").join(folder);
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        files.extend(
            entries
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|x| x == "xml")),
        );
    }
    files.sort();
    files
}

/// Reads a file below the shared folder.
pub fn read_shared(dir: &std::path::Path, relative: &str) -> Vec<u8> {
    let path = dir.join(relative);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The conformance suite in `cases/`.
pub fn suite() -> Vec<ewsconf::case::Case> {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../cases"));
    ewsconf::case::load_dir(&dir).unwrap_or_else(|e| panic!("the suite loads: {e}"))
}

/// Run options for tests: `jobs` cases at once, the embedded schemas, nothing kept.
pub fn run_options(jobs: usize) -> ewsconf::run::RunOptions {
    ewsconf::run::RunOptions {
        jobs,
        keep: false,
        case_timeout: Duration::from_secs(60),
        schemas: ewsconf::schema::SchemaSet::embedded().expect("the project's schemas compile"),
    }
}

/// The whole suite, 4 cases at once, against an embedded mock started with `config`.
pub async fn run_suite(config: ewsconf::mock::MockConfig) -> ewsconf::run::RunSummary {
    let target = ewsconf::target::Target::embedded(config)
        .await
        .expect("mock starts");
    let summary = ewsconf::run::run(
        &target,
        &suite(),
        &run_options(4),
        &ewsconf::run::Interrupt::default(),
        |_| {},
    )
    .await
    .expect("runs");
    target.shutdown().await;
    summary
}
