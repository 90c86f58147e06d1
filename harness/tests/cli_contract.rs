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

#[test]
fn a_failure_points_at_the_line_of_its_case_file_in_the_terminal_and_junit() {
    let cases = suite_with_a_failing_case();
    let c = cases.path().display().to_string();
    let file = cases.path().join("broken/wrong-code.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    // The line of the message expectation the mock's answer breaks.
    let line = text
        .lines()
        .position(|l| l.contains("ErrorItemNotFound"))
        .unwrap()
        + 1;
    let dir = tempfile::tempdir().unwrap();

    let out = run(&c, dir.path(), &["--only", "broken/*"]);

    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let pointer = format!("--> {}:{line}", file.display());
    assert!(
        stdout(&out).contains(&pointer),
        "{pointer}\n{}",
        stdout(&out)
    );
    let junit = std::fs::read_to_string(run_dir(dir.path()).join("junit.xml")).unwrap();
    let escaped = pointer.replace('>', "&gt;");
    assert!(junit.contains(&escaped), "{pointer}\n{junit}");
    let html = std::fs::read_to_string(run_dir(dir.path()).join("report.html")).unwrap();
    assert!(
        html.contains(&format!("--&gt; <code>{}:{line}</code>", file.display())),
        "no pointer in report.html"
    );
}

#[test]
fn a_case_of_the_embedded_suite_points_into_cases_as_the_repository_holds_it() {
    // Run from an empty folder, so the suite inside the binary is the one that runs. Under the
    // documented profile scenario A is a quirk: its intended outcome's findings are reported.
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ewsconf"))
        .args(["run", "--no-progress", "--only", "delegate/scenario-a"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let run = run_dir(&dir.path().join("reports"));
    let json = std::fs::read_to_string(run.join("report.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    let outcome = &json["outcomes"][0];
    assert_eq!(outcome["verdict"], "quirk");
    assert_eq!(outcome["file"], "cases/delegate/scenario-a.toml");

    let text = std::fs::read_to_string(format!("{}/delegate/scenario-a.toml", suite())).unwrap();
    let findings = outcome["findings"].as_array().unwrap();
    assert!(!findings.is_empty());
    let html = std::fs::read_to_string(run.join("report.html")).unwrap();
    for f in findings {
        let line = f["line"].as_u64().expect("every finding has a line") as usize;
        let check = f["check"].as_str().unwrap();
        if let Some(sentence) = check.strip_prefix("state ") {
            // A state sentence points at the line that writes it.
            let written = text.lines().nth(line - 1).unwrap();
            assert!(
                written.contains(sentence),
                "{check} -> line {line}: {written}"
            );
        }
        let pointer = format!("--&gt; <code>cases/delegate/scenario-a.toml:{line}</code>");
        assert!(html.contains(&pointer), "{pointer}");
    }
}

/// The ids of the suite's cases that name `requirement`, read from the case files.
fn naming(requirement: &str) -> Vec<String> {
    let cases = ewsconf::case::load_dir(Path::new(&suite())).unwrap();
    let mut ids: Vec<String> = cases
        .into_iter()
        .filter(|c| c.requirements.iter().any(|r| r == requirement))
        .map(|c| c.id)
        .collect();
    ids.sort();
    ids
}

#[test]
fn requirement_ids_select_cases_and_reach_junit_and_the_coverage_table() {
    const ID: &str = "MS-OXWSCORE_R1649";
    let want = naming(ID);
    assert!(want.len() >= 2, "{want:?}");

    let out = ewsconf(&["list", "--only", ID]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let mut listed: Vec<String> = stdout(&out)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect();
    listed.sort();
    assert_eq!(listed, want);

    let dir = tempfile::tempdir().unwrap();
    let out = run(&suite(), dir.path(), &["--only", ID]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let run = run_dir(dir.path());

    let junit = std::fs::read_to_string(run.join("junit.xml")).unwrap();
    let testcases: Vec<&str> = junit.split("<testcase ").skip(1).collect();
    assert_eq!(testcases.len(), want.len(), "{junit}");
    for case in testcases {
        let case = &case[..case.find("</testcase>").unwrap_or(case.len())];
        assert!(
            case.contains(&format!("<property name=\"requirement\" value=\"{ID}\"/>")),
            "{case}"
        );
        assert!(
            case.contains("<property name=\"section\" value=\"MS-OX"),
            "{case}"
        );
    }

    let html = std::fs::read_to_string(run.join("report.html")).unwrap();
    let row = |id: &str| {
        let at = html
            .find(&format!("<tr id=\"req-{id}\""))
            .unwrap_or_else(|| panic!("no coverage row for {id}"));
        html[at..at + html[at..].find("</tr>").unwrap()].to_owned()
    };
    let checked = row(ID);
    assert!(checked.contains("<td>holds</td>"), "{checked}");
    for id in &want {
        assert!(checked.contains(&format!(">{id}</a>")), "{id}: {checked}");
    }
    // Requirements no case of this run names are listed as such.
    assert!(row("MS-OXWSMSG_R172").contains("<td>not covered</td>"));

    // A requirement id matches no case name: a typo selects nothing rather than everything.
    let out = ewsconf(&["list", "--only", "MS-OXWSCORE_R999999"]);
    assert!(stdout(&out).trim().is_empty(), "{}", stdout(&out));
}
