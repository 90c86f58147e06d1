//! `--rerun-failed RUN_DIR`: the ids of the cases that failed or errored in an earlier run, read
//! from its `report.json`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The largest `report.json` read: every exchange of a run is bounded (see
/// [`REPORT_MAX_EXCHANGE_BYTES`](crate::limits::REPORT_MAX_EXCHANGE_BYTES)), so a report of the
/// suite stays far below this.
pub const MAX_REPORT_BYTES: u64 = 512 * 1024 * 1024;

/// Why an earlier run's report could not be used (by `--rerun-failed` or `compare`).
#[derive(Debug, thiserror::Error)]
pub enum RerunError {
    /// The report could not be read.
    #[error(transparent)]
    Read(#[from] crate::input::InputError),
    /// The report is not a run's `report.json`.
    #[error("{}: not a report.json written by `ewsconf run`: {source}", path.display())]
    Invalid {
        /// The report.
        path: PathBuf,
        /// What did not parse.
        #[source]
        source: serde_json::Error,
    },
}

#[derive(Deserialize)]
struct Report {
    outcomes: Vec<ReportOutcome>,
}

#[derive(Deserialize)]
struct ReportOutcome {
    id: String,
    verdict: String,
}

/// Reads the `report.json` of an earlier run at `path` (a run's report folder, or the file
/// itself) as far as `T` takes it. Returns the run's report folder and the report.
pub fn read_run_report<T: serde::de::DeserializeOwned>(
    path: &Path,
) -> Result<(PathBuf, T), RerunError> {
    let (folder, file) = if path.is_dir() {
        (path.to_owned(), path.join(crate::report::JSON_FILE))
    } else {
        let folder = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        (folder, path.to_owned())
    };
    let text = crate::input::read_text(&file, MAX_REPORT_BYTES, "run's report")?;
    let report =
        serde_json::from_str(&text).map_err(|source| RerunError::Invalid { path: file, source })?;
    Ok((folder, report))
}

/// The ids of the cases whose verdict was `fail` or `error` in the run whose reports are in
/// `run_dir` (a run's report folder, or its `report.json` itself).
pub fn failed_in(run_dir: &Path) -> Result<BTreeSet<String>, RerunError> {
    let (_, report): (_, Report) = read_run_report(run_dir)?;
    Ok(report
        .outcomes
        .into_iter()
        .filter(|o| matches!(o.verdict.as_str(), "fail" | "error"))
        .map(|o| o.id)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_fail_and_error_only() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("report.json"),
            r#"{"run_id": "r", "outcomes": [
                {"id": "a/pass", "verdict": "pass", "title": "t"},
                {"id": "a/fail", "verdict": "fail"},
                {"id": "a/quirk", "verdict": "quirk"},
                {"id": "a/error", "verdict": "error"},
                {"id": "a/skip", "verdict": "skip"}
            ]}"#,
        )
        .unwrap();

        let failed = failed_in(dir.path()).unwrap();

        assert_eq!(
            failed.into_iter().collect::<Vec<_>>(),
            ["a/error", "a/fail"]
        );
    }

    #[test]
    fn a_missing_or_foreign_report_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(failed_in(dir.path()), Err(RerunError::Read(e)) if e.is_not_found()));
        std::fs::write(dir.path().join("report.json"), r#"{"outcomes": 3}"#).unwrap();
        assert!(matches!(
            failed_in(dir.path()),
            Err(RerunError::Invalid { .. })
        ));
    }
}
