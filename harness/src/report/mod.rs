//! Reporters: each turns a [`RunSummary`] into something a person or a CI reads, and does
//! nothing else. [`terminal`] prints progress and a summary, [`junit`] writes `junit.xml`,
//! [`json`] writes `report.json`, [`html`] writes a self-contained `report.html`.
//! [`write_all`] renders the three files and puts them in a report folder.
//!
//! Every reporter and the baselines render a [`prepared`] summary: every secret the process
//! knows redacted ([`crate::secrets`]), and every text cut to
//! [`REPORT_MAX_EXCHANGE_BYTES`] with a note saying
//! so, so that a server's answer can neither leak a credential nor grow a report without bound.

pub mod html;
pub mod json;
pub mod junit;
pub mod terminal;

#[cfg(test)]
pub(crate) mod fixture;

use std::borrow::Cow;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::limits::REPORT_MAX_EXCHANGE_BYTES;
use crate::run::RunSummary;
use crate::secrets::{self, Secrets};

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

/// What a report or baseline shows of a text, beside its words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Text {
    /// A request body.
    Request,
    /// A response body.
    Response,
    /// Anything else: reasons, findings, diffs.
    Other,
}

impl Text {
    fn what(self) -> &'static str {
        match self {
            Text::Request => "the request",
            Text::Response => "the answer",
            Text::Other => "the text",
        }
    }
}

/// Every text of `summary` that reaches a report, with its kind, as `&` or `&mut` references.
/// Case ids, categories and tags come from case files and name files and anchors: they are
/// left as they are.
macro_rules! texts {
    ($summary:expr $(, $m:tt)?) => {{
        let s = $summary;
        let mut out = Vec::new();
        out.push((Text::Other, & $($m)? s.target));
        if let Some(v) = & $($m)? s.server_version {
            out.push((Text::Other, v));
        }
        for o in & $($m)? s.outcomes {
            out.push((Text::Other, & $($m)? o.title));
            out.push((Text::Other, & $($m)? o.reference));
            if let Some(v) = & $($m)? o.reason {
                out.push((Text::Other, v));
            }
            if let Some(v) = & $($m)? o.answer {
                out.push((Text::Other, v));
            }
            if let Some(v) = & $($m)? o.changed {
                out.push((Text::Other, v));
            }
            for f in & $($m)? o.findings {
                out.push((Text::Other, & $($m)? f.check));
                out.push((Text::Other, & $($m)? f.expected));
                out.push((Text::Other, & $($m)? f.actual));
            }
            for c in (& $($m)? o.state).into_iter().chain(& $($m)? o.quirk_state) {
                out.push((Text::Other, & $($m)? c.expectation));
                out.push((Text::Other, & $($m)? c.observed));
            }
            for e in & $($m)? o.exchanges {
                out.push((Text::Other, & $($m)? e.operation));
                out.push((Text::Other, & $($m)? e.account));
                out.push((Text::Request, & $($m)? e.request));
                if let Some(v) = & $($m)? e.response {
                    out.push((Text::Response, v));
                }
                for v in & $($m)? e.schema_errors {
                    out.push((Text::Other, v));
                }
            }
        }
        if let Some(f) = & $($m)? s.fuzz {
            for r in & $($m)? f.replays {
                if let Some(v) = & $($m)? r.command {
                    out.push((Text::Other, v));
                }
            }
        }
        if let Some(q) = & $($m)? s.quirk {
            out.push((Text::Other, & $($m)? q.reference));
            if let Some(v) = & $($m)? q.advice {
                out.push((Text::Other, v));
            }
            for p in & $($m)? q.preconditions {
                out.push((Text::Other, & $($m)? p.right));
                if let Some(v) = & $($m)? p.reason {
                    out.push((Text::Other, v));
                }
            }
            for r in & $($m)? q.rows {
                out.push((Text::Other, & $($m)? r.description));
                out.push((Text::Request, & $($m)? r.request));
                out.push((Text::Other, & $($m)? r.documented.response));
                out.push((Text::Other, & $($m)? r.intended.response));
                out.push((Text::Other, & $($m)? r.observed.response));
                if let Some(v) = & $($m)? r.difference {
                    out.push((Text::Other, v));
                }
                if let Some(v) = & $($m)? r.reason {
                    out.push((Text::Other, v));
                }
                if let Some(e) = & $($m)? r.exchange {
                    out.push((Text::Other, & $($m)? e.step));
                    out.push((Text::Other, & $($m)? e.account));
                    out.push((Text::Request, & $($m)? e.request));
                    if let Some(v) = & $($m)? e.response {
                        out.push((Text::Response, v));
                    }
                }
            }
        }
        out
    }};
}

use crate::limits::TRUNCATION_NOTE as TRUNCATED;

/// A text cut by [`prepare`], split into what was kept and the note
/// (`… truncated: the answer was N bytes, the report keeps M`); `None` for a whole text.
pub fn truncation(text: &str) -> Option<(&str, &str)> {
    let at = text.rfind(TRUNCATED)?;
    let (kept, note) = text.split_at(at);
    (kept.len() <= REPORT_MAX_EXCHANGE_BYTES).then_some((kept, &note[1..]))
}

fn needs_cut(text: &str) -> bool {
    text.len() > REPORT_MAX_EXCHANGE_BYTES && truncation(text).is_none()
}

/// Cuts `text` to [`REPORT_MAX_EXCHANGE_BYTES`] on a character boundary and appends the note.
fn cut(text: &mut String, kind: Text) {
    crate::limits::cut_for_report(text, text.len(), kind.what());
}

fn prepare_with(summary: &mut RunSummary, secrets: &Secrets) {
    for (kind, text) in texts!(summary, mut) {
        // Redact first: a cut through a secret would leave its first characters behind.
        secrets.redact_in_place(text);
        if needs_cut(text) {
            cut(text, kind);
        }
    }
}

/// Makes `summary` fit to write, in place: every secret [installed](secrets::install)
/// redacted, and every request body, response body and other text longer than
/// [`REPORT_MAX_EXCHANGE_BYTES`] cut, ending in a note such as `… truncated: the answer was
/// 52428800 bytes, the report keeps 262144`. Doing it once spares every writer a copy.
pub fn prepare(summary: &mut RunSummary) {
    prepare_with(summary, &secrets::installed());
}

/// `summary` as the reports and baselines show it (see [`prepare`]): borrowed when there is
/// nothing to redact or cut.
pub fn prepared(summary: &RunSummary) -> Cow<'_, RunSummary> {
    let secrets = secrets::installed();
    let dirty = texts!(summary)
        .into_iter()
        .any(|(_, t)| needs_cut(t) || secrets.found_in(t));
    if dirty {
        let mut owned = summary.clone();
        prepare_with(&mut owned, &secrets);
        Cow::Owned(owned)
    } else {
        Cow::Borrowed(summary)
    }
}

/// Renders `junit.xml`, `report.json` and `report.html` for `summary` and writes them into `dir`,
/// creating it if missing. What they show is [`prepared`]: secrets redacted, texts bounded.
///
/// All three are rendered before any is written. Each file is written to a temporary name in
/// `dir` and then renamed over the final name, so a reader never sees a half-written report and
/// a failed write leaves the previous file as it was.
pub fn write_all(summary: &RunSummary, dir: &Path) -> Result<ReportPaths, ReportError> {
    let summary = &*prepared(summary);
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
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
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
    fn prepare_cuts_long_bodies_once_and_says_so() {
        let mut summary = fixture::summary();
        let big = format!("<a>{}</a>", "x".repeat(3 * 1024 * 1024));
        summary.outcomes[0].exchanges[0].response = Some(big.clone());
        summary.outcomes[0].exchanges[0].request = "é".repeat(REPORT_MAX_EXCHANGE_BYTES);

        let once = prepared(&summary).into_owned();
        let mut twice = once.clone();
        prepare(&mut twice);

        assert_eq!(once, twice, "a second pass changes nothing");
        let response = once.outcomes[0].exchanges[0].response.as_deref().unwrap();
        let (kept, note) = truncation(response).unwrap();
        assert_eq!(kept, &big[..REPORT_MAX_EXCHANGE_BYTES]);
        assert_eq!(
            note,
            format!(
                "… truncated: the answer was {} bytes, the report keeps {REPORT_MAX_EXCHANGE_BYTES}",
                big.len()
            )
        );
        // Cut on a character boundary: 'é' is two bytes.
        let request = &once.outcomes[0].exchanges[0].request;
        let (kept, note) = truncation(request).unwrap();
        assert_eq!(kept.len(), REPORT_MAX_EXCHANGE_BYTES);
        assert!(note.starts_with("… truncated: the request was"), "{note}");
        // Everything short is untouched.
        assert_eq!(once.outcomes[1], summary.outcomes[1]);
        assert!(matches!(prepared(&once), Cow::Borrowed(_)));
    }

    #[test]
    fn every_report_of_a_huge_answer_stays_bounded_and_says_truncated() {
        let tmp = tempfile::tempdir().unwrap();
        let mut summary = fixture::summary();
        // Deeply nested markup, the worst case for the HTML pretty-printer.
        let body = "<a>".repeat(4 * 1024 * 1024 / 3);
        summary.outcomes[0].exchanges[0].response = Some(body);

        let paths = write_all(&summary, tmp.path()).unwrap();

        let bound = 2 * REPORT_MAX_EXCHANGE_BYTES * 6 + 512 * 1024;
        for (path, needle) in [
            (&paths.json, "… truncated: the answer was 4194303 bytes"),
            (&paths.html, "… truncated: the answer was 4194303 bytes"),
            (&paths.junit, "… truncated: the answer was 4194303 bytes"),
        ] {
            let text = fs::read_to_string(path).unwrap();
            assert!(
                text.len() < bound,
                "{}: {} bytes",
                path.display(),
                text.len()
            );
            assert!(text.contains(needle), "{}", path.display());
        }
    }

    #[test]
    fn installed_secrets_never_reach_a_report() {
        let tmp = tempfile::tempdir().unwrap();
        let secret = "report-unit-canary-9d2f";
        crate::secrets::install(Secrets::from_values([secret]));
        let mut summary = fixture::summary();
        summary.outcomes[0].exchanges[0].response = Some(format!(
            "<a p=\"{secret}\" q=\"{}\">report-unit-canary%2D9d2f</a>",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, secret)
        ));
        summary.outcomes[0].reason = Some(format!("the server said {secret}"));

        let paths = write_all(&summary, tmp.path()).unwrap();

        for path in [&paths.json, &paths.html, &paths.junit] {
            let text = fs::read_to_string(path).unwrap();
            assert!(!text.contains("report-unit-canary"), "{}", path.display());
            assert!(
                !text.contains("cmVwb3J0LXVuaXQtY2FuYXJ5"),
                "{}",
                path.display()
            );
        }
        let json = fs::read_to_string(&paths.json).unwrap();
        assert!(json.contains("the server said SECRET"), "{json}");
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
