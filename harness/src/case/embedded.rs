//! The suite compiled into the binary: every case file below `cases/` at build time, so that
//! `ewsconf run` and `ewsconf list` work from any folder. `build.rs` lists the files; each keeps
//! its `cases/…` path in errors and reports.

use std::path::Path;

use super::file::push_unique;
use super::{Case, CaseError, parse_case};

include!(concat!(env!("OUT_DIR"), "/embedded_cases.rs"));

/// The embedded case files: each one's path from the repository root (`cases/…/name.toml`) and
/// its text, in path order.
pub fn embedded_files() -> &'static [(&'static str, &'static str)] {
    FILES
}

/// Reads the embedded suite as [`load_dir`](super::load_dir) reads a folder: in path order, the
/// category taken from the first folder below `cases/`, every id unique.
pub fn load_embedded() -> Result<Vec<Case>, CaseError> {
    let mut cases: Vec<Case> = Vec::with_capacity(FILES.len());
    for (path, text) in FILES {
        let case = parse_case(Path::new(path), text, &category(path))?;
        push_unique(&mut cases, case, path)?;
    }
    Ok(cases)
}

/// The category of an embedded file, `cases/<category>/…`, as a folder's would be.
fn category(path: &str) -> String {
    let file = Path::new(path);
    super::file::category(file.strip_prefix("cases").unwrap_or(file))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn suite_dir() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../cases")
    }

    #[test]
    fn the_embedded_suite_is_the_suite_on_disk() {
        let embedded = load_embedded().expect("the embedded suite loads");
        let on_disk = super::super::load_dir(&suite_dir()).expect("the suite loads");

        let ids = |cases: &[Case]| cases.iter().map(|c| c.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&embedded), ids(&on_disk));
        for (e, d) in embedded.iter().zip(&on_disk) {
            assert_eq!(e.category, d.category, "{}", e.id);
            assert_eq!(e.request, d.request, "{}", e.id);
            assert_eq!(e.expect, d.expect, "{}", e.id);
            let relative = d.path.strip_prefix(suite_dir()).unwrap();
            assert_eq!(e.path, Path::new("cases").join(relative), "{}", e.id);
        }
    }

    #[test]
    fn categories_come_from_the_first_folder() {
        assert_eq!(
            category("cases/save-rules/true-no-folder.toml"),
            "save-rules"
        );
        assert_eq!(category("cases/regressions/deep/x.toml"), "regressions");
        assert_eq!(category("cases/top.toml"), "uncategorized");
    }
}
