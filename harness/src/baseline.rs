//! Baselines: a case's normalized request, response and observed state as plain text, one file
//! per case, so that a run can be compared with the last one and any change in a server's
//! behaviour shows up as a unified diff. The project's own snapshots use the same text.

use std::path::{Path, PathBuf};

use crate::normalize::Normalizer;
use crate::run::{Outcome, RunSummary, Stage};
use crate::secrets::{self, Secrets};

/// Why a baseline could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    /// A baseline file could not be read.
    #[error("{path}: cannot read the baseline: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A baseline file could not be written.
    #[error("{path}: cannot write the baseline: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// The baseline text of one outcome: verdict, the normalized request under test and its
/// response, and each state expectation with what was observed. `secrets`, and every secret
/// [installed](secrets::install), are redacted in every form [`Secrets`] knows.
pub fn render(outcome: &Outcome, secrets: &[&str]) -> String {
    render_with(outcome, &all_secrets(secrets))
}

/// `secrets` and the installed ones.
fn all_secrets(secrets: &[&str]) -> Secrets {
    Secrets::from_values(secrets).union(&secrets::installed())
}

fn render_with(outcome: &Outcome, secrets: &Secrets) -> String {
    let mut n = Normalizer::with_secrets(secrets.clone());
    // Ids are numbered in the order the case's exchanges first show them, setup included.
    for e in &outcome.exchanges {
        n.learn(&e.request);
        if let Some(body) = &e.response {
            n.learn(body);
        }
    }
    let mut out = format!("case: {}\nverdict: {}\n", outcome.id, outcome.verdict);
    if let Some(reason) = &outcome.reason {
        out.push_str(&format!("reason: {}\n", n.text(reason)));
    }
    if let Some(e) = outcome
        .exchanges
        .iter()
        .find(|e| e.stage == Stage::UnderTest)
    {
        out.push_str("\n--- request\n");
        out.push_str(&n.document(&e.request));
        match (&e.status, &e.response) {
            (Some(status), Some(body)) => {
                out.push_str(&format!("\n--- response: HTTP {status}\n"));
                out.push_str(&n.document(body));
            }
            _ => out.push_str("\n--- response: none\n"),
        }
    }
    if !outcome.state.is_empty() {
        out.push_str("\n--- state\n");
        for s in &outcome.state {
            out.push_str(&format!(
                "{}: {}{}\n",
                secrets.redact(&s.expectation),
                secrets.redact(&s.observed),
                if s.held { "" } else { " (not held)" }
            ));
        }
    }
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// Where the baseline of case `id` lives under `dir`: the id's `/` become folders.
pub fn path(dir: &Path, id: &str) -> PathBuf {
    let mut p = dir.to_path_buf();
    for part in id.split('/') {
        // Ids come from case files; never let one climb out of the baseline folder.
        if part.is_empty() || part == "." || part == ".." {
            p.push("_");
        } else {
            p.push(part);
        }
    }
    p.set_extension("txt");
    p
}

/// Compares every outcome with its baseline in `dir` and records differences in
/// [`Outcome::changed`] as unified diffs. A missing baseline is a change from nothing. The
/// summary is [prepared](crate::report::prepare) first: secrets redacted, bodies bounded.
pub fn compare(
    summary: &mut RunSummary,
    dir: &Path,
    secrets: &[&str],
) -> Result<(), BaselineError> {
    let secrets = all_secrets(secrets);
    crate::report::prepare(summary);
    for outcome in &mut summary.outcomes {
        let file = path(dir, &outcome.id);
        let old = match crate::input::read_text(
            &file,
            crate::limits::MAX_BASELINE_FILE_BYTES,
            "baseline",
        ) {
            Ok(text) => text,
            Err(e) if e.is_not_found() => String::new(),
            Err(e) => {
                return Err(BaselineError::Read {
                    path: file,
                    source: e.into(),
                });
            }
        };
        let new = render_with(outcome, &secrets);
        if old != new {
            let diff = similar::TextDiff::from_lines(&old, &new);
            let text = diff
                .unified_diff()
                .context_radius(3)
                .header(&format!("baseline {}", file.display()), "this run")
                .to_string();
            outcome.changed = Some(text);
        }
    }
    Ok(())
}

/// Writes every outcome's baseline into `dir`, replacing what was there; what is written is
/// [prepared](crate::report::prepared): secrets redacted, bodies bounded.
pub fn update(summary: &RunSummary, dir: &Path, secrets: &[&str]) -> Result<(), BaselineError> {
    let secrets = all_secrets(secrets);
    let summary = crate::report::prepared(summary);
    for outcome in &summary.outcomes {
        let file = path(dir, &outcome.id);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent).map_err(|source| BaselineError::Write {
                path: parent.to_owned(),
                source,
            })?;
        }
        std::fs::write(&file, render_with(outcome, &secrets))
            .map_err(|source| BaselineError::Write { path: file, source })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_never_leave_the_folder() {
        assert_eq!(
            path(Path::new("b"), "delegate/scenario-a"),
            PathBuf::from("b/delegate/scenario-a.txt")
        );
        assert_eq!(
            path(Path::new("b"), "../../etc/passwd"),
            PathBuf::from("b/_/_/etc/passwd.txt")
        );
    }
}
