//! Build-time work for `ewsconf`:
//!
//! - finds the system libxml2 that `schema` validates with, through pkg-config. No bindgen and
//!   no libclang: the few libxml2 functions the validator calls are declared by hand in
//!   `src/schema/ffi.rs`;
//! - lists the suite's case files (`cases/` at the repository root) for `src/case/embedded.rs`,
//!   which compiles them into the binary, so that `ewsconf run` and `ewsconf list` work from any
//!   folder.

use std::path::PathBuf;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    if let Err(err) = pkg_config::Config::new()
        .atleast_version("2.9")
        .probe("libxml-2.0")
    {
        panic!(
            "ewsconf needs libxml2 (2.9 or newer) and its pkg-config file.\n\
             On Debian or Ubuntu: apt-get install libxml2-dev pkg-config\n\
             pkg-config said: {err}"
        );
    }
    embed_suite();
}

/// Writes `$OUT_DIR/embedded_cases.rs`: a static list of `(cases/…/file.toml, its text)`, every
/// `*.toml` below `cases/` in path order, each text through `include_str!`.
fn embed_suite() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let suite = manifest.join("..").join("cases");
    // A directory makes cargo watch every file below it: adding, changing or removing a case
    // rebuilds the list.
    println!("cargo::rerun-if-changed={}", suite.display());
    let mut files = Vec::new();
    walk::collect(&suite, &mut files)
        .unwrap_or_else(|e| panic!("cannot list the suite in {}: {e}", suite.display()));
    files.sort();
    let mut code = String::from(
        "/// Every case file of the suite: its path from the repository root, and its text.\n\
         pub(super) static FILES: &[(&str, &str)] = &[\n",
    );
    for file in &files {
        let relative = file.strip_prefix(&suite).expect("listed below the suite");
        let relative: Vec<&str> = relative
            .components()
            .map(|c| {
                c.as_os_str()
                    .to_str()
                    .unwrap_or_else(|| panic!("{}: the path is not UTF-8", file.display()))
            })
            .collect();
        let absolute = file
            .canonicalize()
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let absolute = absolute
            .to_str()
            .unwrap_or_else(|| panic!("{}: the path is not UTF-8", file.display()));
        code.push_str(&format!(
            "    ({:?}, include_str!({:?})),\n",
            format!("cases/{}", relative.join("/")),
            absolute
        ));
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo"));
    std::fs::write(out.join("embedded_cases.rs"), code)
        .unwrap_or_else(|e| panic!("cannot write the embedded suite's list: {e}"));
}

// The same walk `ewsconf run --cases DIR` makes.
#[path = "src/case/walk.rs"]
mod walk;
