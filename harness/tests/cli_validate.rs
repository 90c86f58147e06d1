//! The command line as a user runs it: `ewsconf validate` (`OK` or `file:line:col` per error, and
//! the exit code), and output into a pipe that closes early.

use std::process::Command;

fn ewsconf(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ewsconf"))
        .args(args)
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn valid_and_invalid_files_are_reported_with_positions_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.xml");
    std::fs::write(
        &good,
        r#"<m:SendItemResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"><m:ResponseMessages><m:SendItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode></m:SendItemResponseMessage></m:ResponseMessages></m:SendItemResponse>"#,
    )
    .unwrap();
    let bad = dir.path().join("bad.xml");
    std::fs::write(
        &bad,
        "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:m=\"http://schemas.microsoft.com/exchange/services/2006/messages\">\n<soap:Body>\n  <m:SendItem><m:ItemIds/></m:SendItem>\n</soap:Body></soap:Envelope>",
    )
    .unwrap();
    let truncated = dir.path().join("truncated.xml");
    std::fs::write(&truncated, "<m:SendItem xmlns:m=\"urn:x\">\n<m:ItemIds>").unwrap();

    let (code, out, _) = ewsconf(&["validate", good.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.trim(), format!("{}: OK", good.display()));

    let (code, out, _) = ewsconf(&[
        "validate",
        good.to_str().unwrap(),
        bad.to_str().unwrap(),
        truncated.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!("{}: OK", good.display())), "{out}");
    assert!(
        out.contains(&format!("{}:3:3: schema:", bad.display())),
        "{out}"
    );
    assert!(out.contains("SaveItemToFolder"), "{out}");
    assert!(
        out.contains(&format!("{}:2:", truncated.display())),
        "{out}"
    );

    let (code, _, err) = ewsconf(&["validate", dir.path().join("missing.xml").to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot read"), "{err}");
    let (code, _, err) = ewsconf(&[
        "validate",
        "--schema-dir",
        dir.path().to_str().unwrap(),
        good.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("messages.xsd"), "{err}");
}

#[test]
fn a_reader_that_goes_away_ends_the_output_without_a_panic() {
    use std::process::Stdio;
    let cases = concat!(env!("CARGO_MANIFEST_DIR"), "/../cases");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ewsconf"))
        .args(["list", "--cases", cases])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    // Close the reading end before the listing (80 lines) is written.
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
}
