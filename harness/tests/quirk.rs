//! `ewsconf quirk delegate-copy` against the embedded mock: the documented profile reproduces
//! A and B, the workaround and the controls behave as intended, and the intended profile fixes
//! everything. The command writes the table as JSON and as a section of the HTML report.

use std::process::Command;

use ewsconf::judge::delegate_copy::QuirkVerdict;
use ewsconf::mock::{MockConfig, Profile};
use ewsconf::target::Target;

async fn verdicts(profile: Profile) -> Vec<(String, QuirkVerdict)> {
    let target = Target::embedded(MockConfig::with_profile(profile))
        .await
        .unwrap();
    let options = ewsconf::RunOptions {
        jobs: 2,
        keep: false,
        case_timeout: std::time::Duration::from_secs(60),
        schemas: ewsconf::SchemaSet::embedded().unwrap(),
    };
    let summary = ewsconf::quirk::delegate_copy(&target, &options, &Default::default())
        .await
        .expect("the reproduction runs");
    target.shutdown().await;
    let table = summary.quirk.expect("a quirk table");
    table
        .rows
        .into_iter()
        .map(|r| (r.scenario, r.verdict))
        .collect()
}

fn expected(a: QuirkVerdict, b: QuirkVerdict) -> Vec<(String, QuirkVerdict)> {
    [
        ("A", a),
        ("A-workaround", QuirkVerdict::Fixed),
        ("B", b),
        ("control-principal", QuirkVerdict::Fixed),
        ("control-no-save", QuirkVerdict::Fixed),
    ]
    .into_iter()
    .map(|(s, v)| (s.to_owned(), v))
    .collect()
}

#[tokio::test]
async fn documented_profile_reproduces_a_and_b() {
    assert_eq!(
        verdicts(Profile::Documented).await,
        expected(QuirkVerdict::Reproduced, QuirkVerdict::Reproduced)
    );
}

#[tokio::test]
async fn intended_profile_fixes_everything() {
    assert_eq!(
        verdicts(Profile::Intended).await,
        expected(QuirkVerdict::Fixed, QuirkVerdict::Fixed)
    );
}

#[test]
fn the_command_prints_the_table_and_writes_json_and_html() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ewsconf"))
        .args([
            "quirk",
            "delegate-copy",
            "--profile",
            "documented",
            "--report-dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("| A | ") && stdout.contains("| reproduced |"),
        "{stdout}"
    );
    let run = std::fs::read_dir(dir.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("quirk-delegate-copy.json")).unwrap())
            .unwrap();
    let rows = json["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 5);
    assert_eq!(rows[0]["verdict"], "reproduced");
    // The exact request of scenario A: sentitems with no Mailbox.
    let request = rows[0]["request"].as_str().unwrap();
    assert!(
        request.contains(r#"<t:DistinguishedFolderId Id="sentitems"/>"#),
        "{request}"
    );
    let html = std::fs::read_to_string(run.join("report.html")).unwrap();
    assert!(
        html.contains("id=\"quirk\"") && html.contains("id=\"quirk-B\""),
        "no quirk section"
    );
}
