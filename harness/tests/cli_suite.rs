//! The suite inside the binary, on the binary: `ewsconf list` and `ewsconf run` from a folder
//! with no `cases/`, `--cases DIR`, `--partition K/N` and `--rerun-failed RUN_DIR`.

mod common;

use common::ewsconf_in;

use common::run_dir;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Output;

/// How many cases the suite in `cases/` holds.
const SUITE_SIZE: usize = 86;

/// The ids `ewsconf list args…` prints, run in an empty folder; the command must succeed.
fn listed(args: &[&str]) -> Vec<String> {
    let empty = tempfile::tempdir().unwrap();
    let out = ewsconf_in(empty.path(), &[&["list"], args].concat());
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| line.split_whitespace().next().unwrap_or("").to_owned())
        .collect()
}

/// `ewsconf run --rerun-failed RUN_DIR --report-dir REPORTS --no-progress`, started in `dir`.
fn rerun_failed(dir: &Path, run_dir: &Path, reports: &Path) -> Output {
    ewsconf_in(
        dir,
        &[
            "run",
            "--rerun-failed",
            run_dir.to_str().unwrap(),
            "--no-progress",
            "--report-dir",
            reports.to_str().unwrap(),
        ],
    )
}

/// `(id, verdict)` of every outcome in a run folder's report.json.
fn outcomes(run: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(run.join("report.json")).unwrap();
    let report: serde_json::Value = serde_json::from_str(&text).unwrap();
    report["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["id"].as_str().unwrap().to_owned(),
                o["verdict"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn list_from_a_folder_without_cases_lists_the_whole_suite() {
    let ids = listed(&[]);

    assert_eq!(ids.len(), SUITE_SIZE, "{ids:?}");
    assert!(ids.iter().any(|id| id == "reference/success"), "{ids:?}");
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), SUITE_SIZE);
}

#[test]
fn run_from_a_folder_without_cases_runs_the_embedded_suite_on_the_mock() {
    let empty = tempfile::tempdir().unwrap();
    let reports = empty.path().join("reports");

    let out = ewsconf_in(
        empty.path(),
        &[
            "run",
            "--only",
            "reference/{success,invalid-id}",
            "--no-progress",
            "--report-dir",
            reports.to_str().unwrap(),
        ],
    );

    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let ran: BTreeSet<String> = outcomes(&run_dir(&reports))
        .into_iter()
        .map(|(id, verdict)| {
            assert_eq!(verdict, "pass", "{id}");
            id
        })
        .collect();
    assert_eq!(
        ran,
        BTreeSet::from([
            "reference/success".to_owned(),
            "reference/invalid-id".to_owned()
        ])
    );
}

#[test]
fn cases_runs_another_suite_from_disk() {
    let suite = tempfile::tempdir().unwrap();
    let own = suite.path().join("mine");
    std::fs::create_dir(&own).unwrap();
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../cases/reference/success.toml"),
    )
    .unwrap();
    std::fs::write(
        own.join("one.toml"),
        text.replace("id = \"reference/success\"", "id = \"mine/one\""),
    )
    .unwrap();

    assert_eq!(
        listed(&["--cases", suite.path().to_str().unwrap()]),
        ["mine/one"]
    );

    // A broken case in that suite is named by its path on disk.
    std::fs::write(own.join("two.toml"), "id = 3\n").unwrap();
    let empty = tempfile::tempdir().unwrap();
    let out = ewsconf_in(
        empty.path(),
        &["list", "--cases", suite.path().to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("two.toml:1:"), "{stderr}");
}

#[test]
fn partitions_are_disjoint_whole_and_stable() {
    let whole: BTreeSet<String> = listed(&[]).into_iter().collect();
    let parts = || -> Vec<Vec<String>> {
        (1..=3)
            .map(|k| listed(&["--partition", &format!("{k}/3")]))
            .collect()
    };

    let first = parts();
    let mut union = BTreeSet::new();
    for part in &first {
        assert!(!part.is_empty());
        for id in part {
            assert!(union.insert(id.clone()), "{id} is in two parts");
        }
    }
    assert_eq!(union, whole);
    assert_eq!(parts(), first, "the parts changed between two calls");
}

#[test]
fn partitions_apply_to_the_selection() {
    let selected: BTreeSet<String> = listed(&["--tag", "delegate"]).into_iter().collect();
    let mut union = BTreeSet::new();
    for k in 1..=2 {
        for id in listed(&["--tag", "delegate", "--partition", &format!("{k}/2")]) {
            assert!(selected.contains(&id), "{id} is not tagged delegate");
            assert!(union.insert(id.clone()), "{id} is in two parts");
        }
    }
    assert_eq!(union, selected);
}

#[test]
fn a_bad_partition_exits_2_and_says_why() {
    let empty = tempfile::tempdir().unwrap();
    for (bad, why) in [
        ("0/3", "between 1 and N"),
        ("4/3", "between 1 and N"),
        ("x", "not of the form K/N"),
        ("1/0", "at least 1"),
    ] {
        for command in ["list", "run"] {
            let out = ewsconf_in(empty.path(), &[command, "--partition", bad]);
            assert_eq!(
                out.status.code(),
                Some(2),
                "{command} --partition {bad}: {out:?}"
            );
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                stderr.contains("--partition") && stderr.contains(why),
                "{stderr}"
            );
        }
    }
    assert!(
        std::fs::read_dir(empty.path()).unwrap().next().is_none(),
        "a refused run wrote something"
    );
}

#[test]
fn rerun_failed_runs_only_the_failed_cases() {
    let dir = tempfile::tempdir().unwrap();
    let earlier = dir.path().join("earlier");
    std::fs::create_dir(&earlier).unwrap();
    std::fs::write(
        earlier.join("report.json"),
        r#"{"run_id": "earlier", "outcomes": [
            {"id": "reference/success", "verdict": "pass"},
            {"id": "reference/invalid-id", "verdict": "fail"},
            {"id": "changekey/stale", "verdict": "quirk"},
            {"id": "changekey/missing", "verdict": "skip"}
        ]}"#,
    )
    .unwrap();
    let reports = dir.path().join("reports");

    let out = rerun_failed(dir.path(), &earlier, &reports);

    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        outcomes(&run_dir(&reports)),
        [("reference/invalid-id".to_owned(), "pass".to_owned())]
    );
}

#[test]
fn rerun_failed_without_a_usable_report_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-run");
    let out = ewsconf_in(
        dir.path(),
        &["run", "--rerun-failed", missing.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no-such-run"),
        "{out:?}"
    );

    let foreign = dir.path().join("foreign");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("report.json"), "<junit/>").unwrap();
    let out = ewsconf_in(
        dir.path(),
        &["run", "--rerun-failed", foreign.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("report.json"),
        "{out:?}"
    );
}

#[test]
fn rerun_failed_after_a_clean_run_runs_nothing_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("report.json"),
        r#"{"outcomes": [{"id": "reference/success", "verdict": "pass"}]}"#,
    )
    .unwrap();
    let reports = dir.path().join("reports");

    let out = rerun_failed(dir.path(), dir.path(), &reports);

    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("nothing to re-run"),
        "{out:?}"
    );
    assert!(
        !reports.exists(),
        "a run with nothing to re-run wrote reports"
    );
}
