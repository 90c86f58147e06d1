//! `ewsconf compare`: several runs side by side. Reads each run's `report.json` (bounded, as
//! `--rerun-failed` does), lines the cases up by id and the verdicts up by category, and marks
//! every case whose verdicts are not all the same. [`html`] renders the page, [`terminal`] the
//! table printed after it.

pub mod html;
pub mod terminal;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer};

use crate::judge::Verdict;
use crate::run::{Counts, ExchangeRecord, Stage};

/// Name of the page `compare` writes into its output folder.
pub const HTML_FILE: &str = "compare.html";

/// Why runs could not be compared.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    /// Fewer than two runs were given.
    #[error("compare needs at least two runs, got {0}")]
    TooFewRuns(usize),
    /// The number of labels is not the number of runs.
    #[error("{labels} labels given for {runs} runs: give one --label per run, or none")]
    Labels {
        /// Labels given.
        labels: usize,
        /// Runs given.
        runs: usize,
    },
    /// A run's report could not be read, or is not a `report.json` written by `ewsconf run`.
    #[error(transparent)]
    Report(#[from] crate::case::RerunError),
    /// The page could not be written.
    #[error(transparent)]
    Page(#[from] crate::report::ReportError),
    /// The output folder could not be created.
    #[error("cannot write {}", path.display())]
    Write {
        /// The folder or file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// One run's `report.json`, as far as a comparison reads it.
#[derive(Debug, Clone, Deserialize)]
pub struct Report {
    /// The run's id.
    #[serde(default)]
    pub run_id: String,
    /// What was tested: `embedded mock (documented)` or the target's URL.
    #[serde(default)]
    pub target: String,
    /// One result per case.
    pub outcomes: Vec<CaseResult>,
}

/// One case of a run, as a comparison shows it.
#[derive(Debug, Clone, Deserialize)]
pub struct CaseResult {
    /// The case id.
    pub id: String,
    /// One-line title.
    #[serde(default)]
    pub title: String,
    /// The category.
    #[serde(default)]
    pub category: String,
    /// The verdict.
    #[serde(deserialize_with = "verdict")]
    pub verdict: Verdict,
    /// Why: the quirk matched, or why it was skipped or errored.
    #[serde(default)]
    pub reason: Option<String>,
    /// Each check that did not hold.
    #[serde(default)]
    pub findings: Vec<ReportFinding>,
    /// Every exchange of the case, in order.
    #[serde(default, deserialize_with = "exchanges")]
    pub exchanges: Vec<ExchangeRecord>,
    /// The answer to the request under test in one line.
    #[serde(default)]
    pub answer: Option<String>,
}

fn verdict<'de, D: Deserializer<'de>>(d: D) -> Result<Verdict, D::Error> {
    let name = String::deserialize(d)?;
    Verdict::ALL
        .into_iter()
        .find(|v| v.name() == name)
        .ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown verdict {name:?} (expected pass, quirk, fail, skip or error)"
            ))
        })
}

/// One check that did not hold, as a run's report records it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ReportFinding {
    /// Which check.
    pub check: String,
    /// What the case expected.
    pub expected: String,
    /// What the target did.
    pub actual: String,
}

#[derive(Deserialize)]
struct ExchangeFields {
    stage: String,
    #[serde(default)]
    operation: String,
    #[serde(default)]
    account: String,
    #[serde(default)]
    request: String,
    #[serde(default)]
    status: Option<u16>,
    #[serde(default)]
    response: Option<String>,
    #[serde(default)]
    elapsed_ms: f64,
    #[serde(default)]
    schema_errors: Vec<String>,
}

fn exchanges<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<ExchangeRecord>, D::Error> {
    let records = Vec::<ExchangeFields>::deserialize(d)?;
    records
        .into_iter()
        .map(|e| {
            let stage = match e.stage.as_str() {
                "setup" => Stage::Setup,
                "under-test" => Stage::UnderTest,
                "observe" => Stage::Observe,
                other => {
                    return Err(serde::de::Error::custom(format!(
                        "unknown exchange stage {other:?}"
                    )));
                }
            };
            Ok(ExchangeRecord {
                stage,
                operation: e.operation,
                account: e.account,
                request: e.request,
                status: e.status,
                response: e.response,
                elapsed_ms: e.elapsed_ms,
                schema_errors: e.schema_errors,
            })
        })
        .collect()
}

/// One run to compare: its label, its report folder and its report.
#[derive(Debug, Clone)]
pub struct Run {
    /// The column heading: `--label`, or the run's target.
    pub label: String,
    /// The folder holding the run's `report.json` (and `report.html`).
    pub folder: PathBuf,
    /// The report.
    pub report: Report,
}

/// Reads one run's report from `path`: a run's report folder, or its `report.json` itself.
/// Returns the folder and the report.
pub fn read_report(path: &Path) -> Result<(PathBuf, Report), CompareError> {
    Ok(crate::case::read_run_report(path)?)
}

/// Reads the runs at `paths` (two or more), labelled by `labels` (one per run, in order) or,
/// when `labels` is empty, by each run's target, made unique with its folder's name.
pub fn load(paths: &[PathBuf], labels: &[String]) -> Result<Vec<Run>, CompareError> {
    if paths.len() < 2 {
        return Err(CompareError::TooFewRuns(paths.len()));
    }
    if !labels.is_empty() && labels.len() != paths.len() {
        return Err(CompareError::Labels {
            labels: labels.len(),
            runs: paths.len(),
        });
    }
    let mut runs = Vec::with_capacity(paths.len());
    for path in paths {
        let (folder, report) = read_report(path)?;
        runs.push(Run {
            label: String::new(),
            folder,
            report,
        });
    }
    let names = if labels.is_empty() {
        let targets: Vec<String> = runs.iter().map(|r| r.report.target.clone()).collect();
        let folders: Vec<String> = runs.iter().map(|r| folder_name(&r.folder)).collect();
        default_labels(&targets, &folders)
    } else {
        labels.to_vec()
    };
    for (run, label) in runs.iter_mut().zip(names) {
        run.label = label;
    }
    Ok(runs)
}

/// The last component of `folder` (its canonical form's, for `.`), lossily as text.
fn folder_name(folder: &Path) -> String {
    let canonical = folder.canonicalize().unwrap_or_else(|_| folder.to_owned());
    canonical
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A label per run: its target, with its folder's name added when another run has the same
/// target, and a number added when that is still not unique.
fn default_labels(targets: &[String], folders: &[String]) -> Vec<String> {
    let mut labels: Vec<String> = targets
        .iter()
        .zip(folders)
        .map(|(target, folder)| {
            let target = if target.is_empty() { "run" } else { target };
            if targets.iter().filter(|t| *t == target).count() > 1 {
                format!("{target} ({folder})")
            } else {
                target.to_owned()
            }
        })
        .collect();
    let mut seen = BTreeSet::new();
    for (i, label) in labels.iter_mut().enumerate() {
        if !seen.insert(label.clone()) {
            *label = format!("{label} #{}", i + 1);
            seen.insert(label.clone());
        }
    }
    labels
}

/// One case across the runs.
#[derive(Debug, Clone)]
pub struct Row<'a> {
    /// The case id.
    pub id: &'a str,
    /// Its category, from the first run that has the case.
    pub category: &'a str,
    /// Its title, from the first run that has the case.
    pub title: &'a str,
    /// Per run, in order: the case's result, or `None` when the run does not have it.
    pub cells: Vec<Option<&'a CaseResult>>,
}

impl Row<'_> {
    /// True when the verdicts are not all the same; a run without the case counts as different.
    pub fn differs(&self) -> bool {
        let first = self.cells.first().copied().flatten().map(|c| c.verdict);
        first.is_none() || self.cells.iter().any(|c| c.map(|c| c.verdict) != first)
    }
}

/// Several runs lined up: a row per case id, and verdict counts per category and run.
#[derive(Debug, Clone)]
pub struct Comparison<'a> {
    /// The runs, in the order given.
    pub runs: &'a [Run],
    /// One row per case id over all runs, in id order.
    pub rows: Vec<Row<'a>>,
    /// Per category (in name order), per run: the counts of each verdict.
    pub categories: BTreeMap<&'a str, Vec<Counts>>,
}

impl Comparison<'_> {
    /// How many rows differ.
    pub fn differing(&self) -> usize {
        self.rows.iter().filter(|r| r.differs()).count()
    }
}

/// Lines up `runs`. A case id that appears more than once in one run counts once, first kept.
pub fn compare(runs: &[Run]) -> Comparison<'_> {
    let mut by_id: BTreeMap<&str, Vec<Option<&CaseResult>>> = BTreeMap::new();
    let mut categories: BTreeMap<&str, Vec<Counts>> = BTreeMap::new();
    for (i, run) in runs.iter().enumerate() {
        for o in &run.report.outcomes {
            let cells = by_id
                .entry(o.id.as_str())
                .or_insert_with(|| vec![None; runs.len()]);
            if cells[i].is_some() {
                continue;
            }
            cells[i] = Some(o);
            let counts = categories
                .entry(o.category.as_str())
                .or_insert_with(|| vec![Counts::default(); runs.len()]);
            counts[i].count(o.verdict);
        }
    }
    let rows = by_id
        .into_iter()
        .map(|(id, cells)| {
            let first = cells.iter().flatten().next();
            Row {
                id,
                category: first.map_or("", |c| c.category.as_str()),
                title: first.map_or("", |c| c.title.as_str()),
                cells,
            }
        })
        .collect();
    Comparison {
        runs,
        rows,
        categories,
    }
}

/// Renders the page for `comparison` and writes it as [`HTML_FILE`] into `out`, creating the
/// folder if missing. Links to each run's `report.html` are relative to `out`. Returns the
/// page's path.
pub fn write_page(comparison: &Comparison<'_>, out: &Path) -> Result<PathBuf, CompareError> {
    let write_err = |path: &Path| {
        let path = path.to_owned();
        move |source| CompareError::Write { path, source }
    };
    std::fs::create_dir_all(out).map_err(write_err(out))?;
    let base = out.canonicalize().map_err(write_err(out))?;
    let links: Vec<Option<String>> = comparison
        .runs
        .iter()
        .map(|run| {
            let report = run.folder.join(crate::report::HTML_FILE);
            let report = report.canonicalize().ok().filter(|p| p.is_file())?;
            Some(relative_href(&base, &report))
        })
        .collect();
    let page = html::render(comparison, &links);
    let path = out.join(HTML_FILE);
    crate::report::write_atomic(&path, page.as_bytes())?;
    Ok(path)
}

/// A relative URL from the folder `from` to the file `to`, both absolute and canonical:
/// `../runs/a/report.html`. Each segment is percent-encoded but for unreserved characters.
pub fn relative_href(from: &Path, to: &Path) -> String {
    let from: Vec<_> = from.components().collect();
    let to: Vec<_> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut segments: Vec<String> = vec!["..".to_owned(); from.len() - common];
    segments.extend(
        to[common..]
            .iter()
            .map(|c| percent_encode(c.as_os_str().as_encoded_bytes())),
    );
    segments.join("/")
}

/// Percent-encodes every byte but ASCII letters, digits and `-._~`.
fn percent_encode(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A case result with `id` in `category` and `verdict`, nothing else.
    pub(crate) fn case(id: &str, category: &str, verdict: Verdict) -> CaseResult {
        CaseResult {
            id: id.to_owned(),
            title: format!("title of {id}"),
            category: category.to_owned(),
            verdict,
            reason: None,
            findings: Vec::new(),
            exchanges: Vec::new(),
            answer: None,
        }
    }

    /// A run labelled `label` with `outcomes`.
    pub(crate) fn run(label: &str, outcomes: Vec<CaseResult>) -> Run {
        Run {
            label: label.to_owned(),
            folder: PathBuf::from(label),
            report: Report {
                run_id: label.to_owned(),
                target: label.to_owned(),
                outcomes,
            },
        }
    }

    fn sample() -> Vec<Run> {
        use Verdict::*;
        vec![
            run(
                "a",
                vec![
                    case("d/x", "d", Pass),
                    case("d/y", "d", Quirk),
                    case("s/z", "s", Pass),
                ],
            ),
            run(
                "b",
                vec![
                    case("d/x", "d", Pass),
                    case("d/y", "d", Fail),
                    case("s/w", "s", Skip),
                ],
            ),
        ]
    }

    #[test]
    fn rows_are_the_union_in_id_order_and_differ_as_verdicts_do() {
        let runs = sample();
        let c = compare(&runs);
        let rows: Vec<(&str, bool)> = c.rows.iter().map(|r| (r.id, r.differs())).collect();
        assert_eq!(
            rows,
            [("d/x", false), ("d/y", true), ("s/w", true), ("s/z", true)]
        );
        assert_eq!(c.differing(), 3);
    }

    #[test]
    fn absent_everywhere_but_one_still_differs_and_equal_rows_do_not() {
        let row = Row {
            id: "a",
            category: "c",
            title: "t",
            cells: vec![None, None],
        };
        assert!(row.differs());
        let one = case("a", "c", Verdict::Skip);
        let same = Row {
            cells: vec![Some(&one), Some(&one), Some(&one)],
            ..row.clone()
        };
        assert!(!same.differs());
        let second_missing = Row {
            cells: vec![Some(&one), None],
            ..row
        };
        assert!(second_missing.differs());
    }

    #[test]
    fn categories_count_each_verdict_per_run() {
        let runs = sample();
        let c = compare(&runs);
        let d = &c.categories["d"];
        assert_eq!((d[0].pass, d[0].quirk, d[0].fail), (1, 1, 0));
        assert_eq!((d[1].pass, d[1].quirk, d[1].fail), (1, 0, 1));
        let s = &c.categories["s"];
        assert_eq!((s[0].pass, s[0].skip, s[0].total()), (1, 0, 1));
        assert_eq!((s[1].pass, s[1].skip, s[1].total()), (0, 1, 1));
    }

    #[test]
    fn a_repeated_id_in_one_run_counts_once() {
        let runs = vec![
            run(
                "a",
                vec![case("x", "c", Verdict::Pass), case("x", "c", Verdict::Fail)],
            ),
            run("b", vec![case("x", "c", Verdict::Pass)]),
        ];
        let c = compare(&runs);
        assert_eq!(c.rows.len(), 1);
        assert!(!c.rows[0].differs());
        assert_eq!(c.categories["c"][0].total(), 1);
    }

    #[test]
    fn relative_href_climbs_and_encodes() {
        assert_eq!(
            relative_href(
                Path::new("/w/out"),
                Path::new("/w/reports/run 1#x/report.html")
            ),
            "../reports/run%201%23x/report.html"
        );
        assert_eq!(
            relative_href(Path::new("/w"), Path::new("/w/r/report.html")),
            "r/report.html"
        );
        assert_eq!(
            relative_href(Path::new("/a/b/c"), Path::new("/report.html")),
            "../../../report.html"
        );
    }

    #[test]
    fn default_labels_are_targets_made_unique() {
        let labels = default_labels(
            &["m (documented)".into(), "m (intended)".into()],
            &["r1".into(), "r2".into()],
        );
        assert_eq!(labels, ["m (documented)", "m (intended)"]);
        let labels = default_labels(&["m".into(), "m".into()], &["r1".into(), "r2".into()]);
        assert_eq!(labels, ["m (r1)", "m (r2)"]);
        let labels = default_labels(&["m".into(), "m".into()], &["r".into(), "r".into()]);
        assert_eq!(labels, ["m (r)", "m (r) #2"]);
    }

    #[test]
    fn bad_reports_are_errors_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let garbage = dir.path().join("garbage");
        std::fs::create_dir(&garbage).unwrap();
        std::fs::write(garbage.join("report.json"), "{not json").unwrap();
        let e = read_report(&garbage).unwrap_err();
        assert!(
            matches!(
                e,
                CompareError::Report(crate::case::RerunError::Invalid { .. })
            ),
            "{e}"
        );
        assert!(e.to_string().contains("report.json"), "{e}");

        let verdict = dir.path().join("verdict.json");
        std::fs::write(
            &verdict,
            r#"{"outcomes": [{"id": "a", "verdict": "maybe"}]}"#,
        )
        .unwrap();
        let e = read_report(&verdict).unwrap_err();
        assert!(e.to_string().contains("maybe"), "{e}");

        let missing = dir.path().join("missing");
        let e = read_report(&missing).unwrap_err();
        assert!(
            matches!(e, CompareError::Report(crate::case::RerunError::Read(_))),
            "{e}"
        );
        assert!(e.to_string().contains("missing"), "{e}");

        let e = load(&[garbage], &[]).unwrap_err();
        assert!(matches!(e, CompareError::TooFewRuns(1)), "{e}");
    }

    #[test]
    fn a_minimal_report_reads_with_its_exchanges() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("report.json"),
            r#"{"run_id": "r", "target": "t", "outcomes": [{"id": "a", "verdict": "fail",
                "findings": [{"check": "c", "expected": "e", "actual": "x"}],
                "exchanges": [{"stage": "under-test", "operation": "SendItem",
                    "account": "boss", "request": "<a/>", "status": 200, "response": null,
                    "elapsed_ms": 1.5, "schema_errors": []}]}]}"#,
        )
        .unwrap();
        let (folder, report) = read_report(dir.path()).unwrap();
        assert_eq!(folder, dir.path());
        let o = &report.outcomes[0];
        assert_eq!(o.verdict, Verdict::Fail);
        assert_eq!(o.findings[0].actual, "x");
        assert_eq!(o.exchanges[0].label(), "SendItem (under test)");
    }
}
