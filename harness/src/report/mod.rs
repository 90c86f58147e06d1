//! Reporters: each turns a [`RunSummary`] into something a person or a CI reads, and does
//! nothing else. [`terminal`] prints progress and a summary, [`junit`] writes `junit.xml`,
//! [`json`] writes `report.json`, [`html`] writes a self-contained `report.html`.
//! [`write_all`] renders the three files and puts them in a report folder.

pub mod html;
pub mod json;
pub mod junit;
pub mod terminal;

#[cfg(test)]
pub(crate) mod fixture;

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::run::RunSummary;

/// Name of the JUnit XML report in a report folder.
pub const JUNIT_FILE: &str = "junit.xml";
/// Name of the JSON report in a report folder.
pub const JSON_FILE: &str = "report.json";
/// Name of the HTML report in a report folder.
pub const HTML_FILE: &str = "report.html";

/// Where [`write_all`] put each report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportPaths {
    /// `junit.xml`.
    pub junit: PathBuf,
    /// `report.json`.
    pub json: PathBuf,
    /// `report.html`.
    pub html: PathBuf,
    /// `quirk-NAME.json`, the quirk table, when the run reproduced a quirk.
    pub quirk: Option<PathBuf>,
}

/// Why the reports could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The report folder could not be created.
    #[error("cannot create report folder {path}")]
    CreateDir {
        /// The folder.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// A report file could not be written or moved into place.
    #[error("cannot write report {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// `junit.xml` could not be rendered.
    #[error("cannot render {JUNIT_FILE}")]
    Junit(#[source] junit::JunitError),
    /// `report.json` could not be rendered.
    #[error("cannot render {JSON_FILE}")]
    Json(#[source] json::JsonError),
    /// The quirk table could not be rendered as JSON.
    #[error("cannot render the quirk table")]
    Quirk(#[source] serde_json::Error),
}

/// Renders `junit.xml`, `report.json` and `report.html` for `summary` and writes them into `dir`,
/// creating it if missing.
///
/// All three are rendered before any is written. Each file is written to a temporary name in
/// `dir` and then renamed over the final name, so a reader never sees a half-written report and
/// a failed write leaves the previous file as it was.
pub fn write_all(summary: &RunSummary, dir: &Path) -> Result<ReportPaths, ReportError> {
    let junit = junit::render(summary).map_err(ReportError::Junit)?;
    let json = json::render(summary).map_err(ReportError::Json)?;
    let html = html::render(summary);
    let quirk = summary
        .quirk
        .as_ref()
        .map(|q| {
            serde_json::to_string_pretty(q)
                .map(|json| (dir.join(format!("quirk-{}.json", q.name)), json))
        })
        .transpose()
        .map_err(ReportError::Quirk)?;

    fs::create_dir_all(dir).map_err(|source| ReportError::CreateDir {
        path: dir.to_path_buf(),
        source,
    })?;
    let paths = ReportPaths {
        junit: dir.join(JUNIT_FILE),
        json: dir.join(JSON_FILE),
        html: dir.join(HTML_FILE),
        quirk: quirk.as_ref().map(|(path, _)| path.clone()),
    };
    write_atomic(&paths.junit, junit.as_bytes())?;
    write_atomic(&paths.json, json.as_bytes())?;
    write_atomic(&paths.html, html.as_bytes())?;
    if let Some((path, json)) = &quirk {
        write_atomic(path, json.as_bytes())?;
    }
    Ok(paths)
}

/// Writes `bytes` to a fresh temporary file beside `path`, flushes it to disk and renames it to
/// `path`. On any error the temporary file is removed.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let err = |source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        // The temporary file may not exist (open failed); either way the error to report is `e`.
        let _ = fs::remove_file(&tmp);
        return Err(err(e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_all_writes_three_files_and_no_leftovers() {
        // Arrange
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("reports").join("run-1");
        let summary = fixture::summary();

        // Act
        let paths = write_all(&summary, &dir).unwrap();

        // Assert
        assert_eq!(paths.junit, dir.join("junit.xml"));
        assert_eq!(paths.json, dir.join("report.json"));
        assert_eq!(paths.html, dir.join("report.html"));
        let json = fs::read_to_string(&paths.json).unwrap();
        assert_eq!(json, json::render(&summary).unwrap());
        assert!(
            fs::read_to_string(&paths.html)
                .unwrap()
                .contains("id=\"count-pass\">3<")
        );
        assert!(
            fs::read_to_string(&paths.junit)
                .unwrap()
                .starts_with("<?xml")
        );
        let mut names: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["junit.xml", "report.html", "report.json"]);
    }

    #[test]
    fn write_all_replaces_previous_reports() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("report.json"), "old").unwrap();
        let summary = fixture::summary();

        write_all(&summary, tmp.path()).unwrap();

        let json = fs::read_to_string(tmp.path().join("report.json")).unwrap();
        assert!(json.starts_with('{'), "old report left in place: {json}");
    }

    #[test]
    fn unwritable_folder_names_the_path() {
        // A file where the folder should be: create_dir_all fails.
        let tmp = tempfile::tempdir().unwrap();
        let blocker = tmp.path().join("blocker");
        fs::write(&blocker, "x").unwrap();
        let dir = blocker.join("run");

        let err = write_all(&fixture::summary(), &dir).unwrap_err();

        assert!(matches!(err, ReportError::CreateDir { .. }), "{err:?}");
        assert!(err.to_string().contains(&*dir.to_string_lossy()), "{err}");
        assert!(std::error::Error::source(&err).is_some());
    }

    #[test]
    fn failed_rename_keeps_the_previous_file_and_removes_the_temp() {
        // A folder sits where report.html should go: the rename fails, nothing else changes.
        let tmp = tempfile::tempdir().unwrap();
        fs::create_dir(tmp.path().join("report.html")).unwrap();
        fs::write(tmp.path().join("report.html").join("keep"), "k").unwrap();

        let err = write_all(&fixture::summary(), tmp.path()).unwrap_err();

        match &err {
            ReportError::Write { path, .. } => assert!(path.ends_with("report.html")),
            other => panic!("unexpected error {other:?}"),
        }
        assert!(tmp.path().join("report.html").join("keep").exists());
        let leftovers: Vec<_> = fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
}
