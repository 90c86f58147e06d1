//! Known failures (`ewsconf run --known FILE`): cases a server is known to fail, each with the
//! reason and a link to where it is tracked, so that CI can stay green while still gating on
//! every other failure.
//!
//! ```toml
//! [[known]]
//! case = "save-rules/true-no-folder"   # a case id, or a glob such as "delegate/*"
//! reason = "SaveItemToFolder is ignored"
//! link = "https://example.com/issues/12"
//! ```
//!
//! The judge's verdict is never changed: being known is an annotation ([`Known`]) put on an
//! [`Outcome`] after the run, which the reports show and the exit code reads.

use std::path::Path;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::judge::Verdict;
use crate::location::Located;
use crate::run::{Outcome, RunSummary};

/// The largest known-failures file read, in bytes.
pub const MAX_KNOWN_FILE_BYTES: u64 = 1024 * 1024;

/// Why a known-failures file cannot be used: where, and what is wrong.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct KnownError(#[from] pub Located);

/// One `[[known]]` entry of the file.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The `case` value as written: an id or a glob.
    pub case: String,
    /// Why the case fails.
    pub reason: String,
    /// Where the failure is tracked, when given.
    pub link: Option<String>,
    matcher: globset::GlobMatcher,
}

/// The entries of a known-failures file, in file order.
#[derive(Debug, Clone, Default)]
pub struct KnownList {
    entries: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    known: Vec<RawEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    case: Spanned<String>,
    reason: Spanned<String>,
    link: Option<String>,
}

/// What became of a known case in this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KnownStatus {
    /// It failed as expected (`fail` or `error`, or `quirk` under `--strict`): it does not fail
    /// the run.
    StillFails,
    /// It passed (or matched a documented quirk without `--strict`): the entry can be removed.
    /// Under `--strict` this fails the run.
    NowPasses,
    /// It was skipped, so nothing was learnt.
    NotRun,
}

/// The annotation on an outcome whose case is listed as a known failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Known {
    /// The entry's `case` pattern that matched.
    pub entry: String,
    /// Why the case fails.
    pub reason: String,
    /// Where the failure is tracked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// What became of the case in this run.
    pub status: KnownStatus,
    /// Whether the run was under `--strict`, where a known case that passes fails the run.
    pub strict: bool,
}

impl Known {
    /// The one-line note reports show: `known failure: REASON (LINK)`, or, for a case that now
    /// passes, the advice to remove the entry.
    pub fn note(&self) -> String {
        let link = self
            .link
            .as_deref()
            .map(|l| format!(" ({l})"))
            .unwrap_or_default();
        match self.status {
            KnownStatus::StillFails => format!("known failure: {}{link}", self.reason),
            KnownStatus::NowPasses => format!(
                "known failure now passes: remove the entry {:?} (listed for: {}{link})",
                self.entry, self.reason
            ),
            KnownStatus::NotRun => {
                format!("known failure, not run this time: {}{link}", self.reason)
            }
        }
    }
}

impl KnownList {
    /// Reads and parses the known-failures file `path` (bounded by [`MAX_KNOWN_FILE_BYTES`]).
    pub fn load(path: &Path) -> Result<Self, KnownError> {
        let shown = path.display().to_string();
        let text = crate::input::read_text(path, MAX_KNOWN_FILE_BYTES, "known-failures file")
            .map_err(|e| {
                Located::file(
                    &shown,
                    format!("cannot read the known-failures file: {}", e.problem),
                )
            })?;
        Self::parse(&shown, &text)
    }

    /// Parses a known-failures file's text; `path` names it in errors.
    pub fn parse(path: &str, text: &str) -> Result<Self, KnownError> {
        let error = |at: usize, message: String| Located::at(path, text, at, message);
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            error(
                e.span().map_or(0, |s| s.start),
                e.message().trim_end().to_owned(),
            )
        })?;
        let mut entries = Vec::with_capacity(raw.known.len());
        for r in raw.known {
            let pattern = r.case.get_ref();
            if pattern.trim().is_empty() {
                return Err(error(
                    r.case.span().start,
                    "case must name a case id or a glob such as \"delegate/*\"".into(),
                )
                .into());
            }
            if r.reason.get_ref().trim().is_empty() {
                return Err(error(
                    r.reason.span().start,
                    "reason must say why the case fails".into(),
                )
                .into());
            }
            let matcher = globset::Glob::new(pattern)
                .map_err(|e| {
                    error(
                        r.case.span().start,
                        format!("case {pattern:?} is not a valid glob: {e}"),
                    )
                })?
                .compile_matcher();
            entries.push(Entry {
                case: pattern.clone(),
                reason: r.reason.into_inner(),
                link: r.link,
                matcher,
            });
        }
        Ok(Self { entries })
    }

    /// The entries, in file order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The first entry naming case `id`.
    pub fn find(&self, id: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.matcher.is_match(id))
    }

    /// Annotates every outcome of `summary` whose case an entry names with [`Known`]; under the
    /// summary's `strict` a `quirk` counts as failing. Returns the `case` patterns that named no outcome,
    /// so that stale entries can be pointed out.
    pub fn apply(&self, summary: &mut RunSummary) -> Vec<String> {
        let strict = summary.strict;
        let mut used = vec![false; self.entries.len()];
        for outcome in &mut summary.outcomes {
            let Some(i) = self
                .entries
                .iter()
                .position(|e| e.matcher.is_match(&outcome.id))
            else {
                continue;
            };
            used[i] = true;
            let entry = &self.entries[i];
            outcome.known = Some(Known {
                entry: entry.case.clone(),
                reason: entry.reason.clone(),
                link: entry.link.clone(),
                status: status(outcome, strict),
                strict,
            });
        }
        self.entries
            .iter()
            .zip(used)
            .filter(|(_, used)| !used)
            .map(|(e, _)| e.case.clone())
            .collect()
    }
}

/// What became of a known case, from its verdict alone.
fn status(outcome: &Outcome, strict: bool) -> KnownStatus {
    match outcome.verdict {
        Verdict::Fail | Verdict::Error => KnownStatus::StillFails,
        Verdict::Quirk if strict => KnownStatus::StillFails,
        Verdict::Pass | Verdict::Quirk => KnownStatus::NowPasses,
        Verdict::Skip => KnownStatus::NotRun,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_globs_match_in_file_order() {
        let list = KnownList::parse(
            "known.toml",
            "[[known]]\ncase = \"delegate/*\"\nreason = \"no delegate copy\"\nlink = \"https://x/1\"\n\
             [[known]]\ncase = \"save-rules/raw-one\"\nreason = \"r\"\n",
        )
        .unwrap();
        assert_eq!(
            list.find("delegate/scenario-a").unwrap().reason,
            "no delegate copy"
        );
        assert_eq!(list.find("save-rules/raw-one").unwrap().link, None);
        assert!(list.find("save-rules/raw-two").is_none());
    }

    fn list(cases: &[&str]) -> KnownList {
        let text: String = cases
            .iter()
            .map(|c| format!("[[known]]\ncase = \"{c}\"\nreason = \"r\"\n"))
            .collect();
        KnownList::parse("k.toml", &text).unwrap()
    }

    /// `summary` judged with and without `--strict`, after applying `known`.
    fn fails(summary: &mut RunSummary, known: &[&str], strict: bool) -> bool {
        summary.strict = strict;
        list(known).apply(summary);
        summary.fails()
    }

    #[test]
    fn the_run_fails_on_unknown_failures_changes_and_under_strict_quirks() {
        // pass, pass, quirk, fail, skip, error, pass; two of them changed.
        let mut summary = crate::report::fixture::summary();
        assert!(summary.fails(), "a change fails the run");
        for o in &mut summary.outcomes {
            o.changed = None;
        }
        assert!(summary.fails());

        let stale =
            list(&["save-rules/false-with-folder", "errors/timeout", "x/*"]).apply(&mut summary);
        assert_eq!(stale, ["x/*"]);
        assert_eq!(
            summary.outcomes[3].known.as_ref().unwrap().status,
            KnownStatus::StillFails
        );
        assert_eq!(summary.outcomes[3].verdict, Verdict::Fail, "verdict kept");
        assert!(!summary.fails(), "every failure is known");
        assert_eq!(summary.strict_only_failures().count(), 0, "not strict");
        summary.strict = true;
        assert!(summary.fails(), "the quirk fails under --strict");
        let strict_only: Vec<&str> = summary
            .strict_only_failures()
            .map(|o| o.id.as_str())
            .collect();
        assert_eq!(strict_only, ["delegate/quirk-a"]);

        let failures = ["save-rules/false-with-folder", "errors/timeout"];
        let with_quirk = [&failures[..], &["delegate/quirk-a"]].concat();
        assert!(
            !fails(&mut summary, &with_quirk, true),
            "a known quirk is tolerated under --strict"
        );

        let everything = ["save-rules/*", "errors/*", "delegate/*"];
        assert!(
            fails(&mut summary, &everything, true),
            "a known case that passes fails under --strict"
        );
        let statuses: Vec<_> = summary
            .outcomes
            .iter()
            .map(|o| o.known.as_ref().unwrap().status)
            .collect();
        use KnownStatus::*;
        assert_eq!(
            statuses,
            [
                NowPasses, NowPasses, StillFails, StillFails, NotRun, StillFails, NowPasses
            ]
        );
        assert!(!fails(&mut summary, &everything, false));
    }

    #[test]
    fn errors_are_located() {
        let err = KnownList::parse(
            "k.toml",
            "[[known]]\ncase = \"a\"\nreason = \"r\"\nlnk = 1\n",
        )
        .unwrap_err();
        assert_eq!((err.0.line, err.0.column), (4, 1), "{err}");
        let err =
            KnownList::parse("k.toml", "[[known]]\ncase = \"a[\"\nreason = \"r\"\n").unwrap_err();
        assert_eq!((err.0.line, err.0.column), (2, 8), "{err}");
        assert!(
            err.to_string().starts_with("k.toml:2:8: case \"a[\""),
            "{err}"
        );
        let err =
            KnownList::parse("k.toml", "[[known]]\ncase = \"a\"\nreason = \" \"\n").unwrap_err();
        assert_eq!(err.0.line, 3, "{err}");
    }
}
