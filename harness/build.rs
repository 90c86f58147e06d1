//! Finds the system libxml2 that `schema` validates with, through pkg-config.
//!
//! No bindgen and no libclang: the few libxml2 functions the validator calls are declared by hand
//! in `src/schema/ffi.rs`.

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
}
