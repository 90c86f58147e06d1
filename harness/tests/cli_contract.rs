//! The CI contract of `ewsconf run`, on the binary: a change from the baseline exits 1,
//! `--strict` counts a quirk as a failure, and `--known` lists failures that do not fail the
//! run but are shown, with their reason and link, in every report.

mod common;

use common::run_dir;
use std::path::Path;
use std::process::{Command, Output};

fn ewsconf(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ewsconf"))
        .args(args)
        .output()
        .expect("ewsconf runs")
}

fn suite() -> String {
    format!("{}/../cases", env!("CARGO_MANIFEST_DIR"))
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `ewsconf run` on the embedded mock with `cases`, reports in `reports`, and `extra` flags.
fn run(cases: &str, reports: &Path, extra: &[&str]) -> Output {
    let reports = reports.display().to_string();
    let mut args = vec![
        "run",
        "--cases",
        cases,
        "--no-progress",
        "--report-dir",
        &reports,
    ];
    args.extend_from_slice(extra);
    ewsconf(&args)
}

const SUCCESS: &str = "reference/success";

#[test]
fn a_change_from_the_baseline_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let baseline = dir.path().join("baseline");
    let b = baseline.display().to_string();
    let reports = dir.path().join("reports");

    let out = run(
        &suite(),
        &reports,
        &["--only", SUCCESS, "--baseline", &b, "--update-baseline"],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let out = run(&suite(), &reports, &["--only", SUCCESS, "--baseline", &b]);
    assert_eq!(out.status.code(), Some(0), "an unchanged run: {out:?}");
    assert!(!stdout(&out).contains("1 changed"), "{}", stdout(&out));

    let file = baseline.join("reference/success.txt");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("verdict: pass", "verdict: fail")).unwrap();
    let out = run(&suite(), &reports, &["--only", SUCCESS, "--baseline", &b]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(stdout(&out).contains("1 changed"), "{}", stdout(&out));
}

#[test]
fn strict_counts_a_quirk_as_a_failure_in_the_exit_code_and_every_report() {
    let dir = tempfile::tempdir().unwrap();
    let (lenient, strict) = (dir.path().join("lenient"), dir.path().join("strict"));
    // The documented profile reproduces Exchange's delegate quirks.
    let out = run(&suite(), &lenient, &["--only", "delegate/scenario-*"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(stdout(&out).contains("QUIRK"), "{}", stdout(&out));
    assert!(!stdout(&out).contains("Fails under --strict"));
    let out = run(
        &suite(),
        &strict,
        &["--only", "delegate/scenario-*", "--strict"],
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        stdout(&out).contains("Fails under --strict: delegate/scenario-a"),
        "{}",
        stdout(&out)
    );

    // What CI dashboards read agrees with the exit code: red under --strict, green without.
    let junit = |reports: &Path| std::fs::read_to_string(run_dir(reports).join("junit.xml"));
    let (lenient_junit, strict_junit) = (junit(&lenient).unwrap(), junit(&strict).unwrap());
    assert!(!lenient_junit.contains("<failure"), "{lenient_junit}");
    let scenario_a = &strict_junit[strict_junit.find("name=\"delegate/scenario-a\"").unwrap()..];
    let scenario_a = &scenario_a[..scenario_a.find("</testcase>").unwrap()];
    assert!(scenario_a.contains("type=\"quirk-strict\""), "{scenario_a}");

    let json = std::fs::read_to_string(run_dir(&strict).join("report.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["strict"], true);
    let quirks = json["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["verdict"] == "quirk")
        .count();
    assert!(quirks >= 2, "scenario-a and scenario-b reproduce the quirk");
    let failures = format!("failures=\"{quirks}\"");
    assert!(strict_junit.contains(&failures), "{strict_junit}");

    let html = std::fs::read_to_string(run_dir(&strict).join("report.html")).unwrap();
    assert!(
        html.contains("id=\"strict\">Fails under --strict"),
        "no strict verdict"
    );
    assert_eq!(html.matches("fails under --strict</span>").count(), quirks);
    let html = std::fs::read_to_string(run_dir(&lenient).join("report.html")).unwrap();
    assert!(!html.contains("under --strict"));
}

/// A suite holding `reference/success` and `broken/wrong-code`, a case that expects an error
/// code the mock (rightly) does not answer, so it fails.
fn suite_with_a_failing_case() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let success = std::fs::read_to_string(format!("{}/reference/success.toml", suite())).unwrap();
    std::fs::create_dir_all(dir.path().join("reference")).unwrap();
    std::fs::create_dir_all(dir.path().join("broken")).unwrap();
    std::fs::write(dir.path().join("reference/success.toml"), &success).unwrap();
    let broken = success
        .replace("id = \"reference/success\"", "id = \"broken/wrong-code\"")
        .replace(
            "{ class = \"Success\", code = \"NoError\" }",
            "{ class = \"Error\", code = \"ErrorItemNotFound\" }",
        );
    assert_ne!(broken, success);
    std::fs::write(dir.path().join("broken/wrong-code.toml"), broken).unwrap();
    dir
}

const REASON: &str = "wrong code expected on purpose";
const LINK: &str = "https://example.com/issues/42";

fn known_file(dir: &Path, case: &str) -> String {
    let path = dir.join("known.toml");
    std::fs::write(
        &path,
        format!("[[known]]\ncase = \"{case}\"\nreason = \"{REASON}\"\nlink = \"{LINK}\"\n"),
    )
    .unwrap();
    path.display().to_string()
}

#[test]
fn a_known_failure_does_not_fail_the_run_and_every_report_shows_it() {
    let cases = suite_with_a_failing_case();
    let c = cases.path().display().to_string();
    let dir = tempfile::tempdir().unwrap();

    // Unlisted, the case fails the run.
    let out = run(&c, &dir.path().join("plain"), &[]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");

    let known = known_file(dir.path(), "broken/*");
    let reports = dir.path().join("known");
    let out = run(&c, &reports, &["--known", &known]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let terminal = stdout(&out);
    assert!(terminal.contains("FAIL  broken/wrong-code"), "{terminal}");
    assert!(
        terminal.contains(REASON) && terminal.contains(LINK),
        "{terminal}"
    );

    let run = run_dir(&reports);
    let junit = std::fs::read_to_string(run.join("junit.xml")).unwrap();
    assert!(junit.contains("type=\"known-failure\""), "{junit}");
    assert!(!junit.contains("<failure"), "{junit}");
    assert!(junit.contains(REASON) && junit.contains(LINK), "{junit}");

    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("report.json")).unwrap()).unwrap();
    let broken = json["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == "broken/wrong-code")
        .unwrap();
    // The verdict stays the judge's; being known is an annotation.
    assert_eq!(broken["verdict"], "fail");
    assert_eq!(broken["known"]["reason"], REASON);
    assert_eq!(broken["known"]["link"], LINK);
    assert_eq!(broken["known"]["status"], "still-fails");

    let html = std::fs::read_to_string(run.join("report.html")).unwrap();
    assert!(html.contains(REASON), "reason missing from report.html");
    assert!(
        html.contains(&format!("<a href=\"{LINK}\">")),
        "link missing from report.html"
    );
}

#[test]
fn a_known_case_that_passes_is_reported_and_fails_only_under_strict() {
    let dir = tempfile::tempdir().unwrap();
    let known = known_file(dir.path(), SUCCESS);

    let out = run(
        &suite(),
        &dir.path().join("lenient"),
        &["--only", SUCCESS, "--known", &known],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        stdout(&out).contains("known failure now passes: remove the entry"),
        "{}",
        stdout(&out)
    );

    let out = run(
        &suite(),
        &dir.path().join("strict"),
        &["--only", SUCCESS, "--known", &known, "--strict"],
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let junit =
        std::fs::read_to_string(run_dir(&dir.path().join("strict")).join("junit.xml")).unwrap();
    assert!(junit.contains("type=\"known-now-passes\""), "{junit}");
}

#[test]
fn a_malformed_known_file_exits_2_naming_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("known.toml");
    std::fs::write(&path, "[[known]]\ncase = \"a\"\nreson = \"typo\"\n").unwrap();
    let out = run(
        &suite(),
        dir.path(),
        &["--only", SUCCESS, "--known", &path.display().to_string()],
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("{}:3:1:", path.display())),
        "{stderr}"
    );

    let missing = dir.path().join("absent.toml").display().to_string();
    let out = run(
        &suite(),
        dir.path(),
        &["--only", SUCCESS, "--known", &missing],
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("absent.toml"),
        "{out:?}"
    );
}
