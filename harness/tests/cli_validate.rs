//! The command line as a user runs it: `ewsconf validate` (`OK` or `file:line:col` per error, and
//! the exit code; many files on several threads, still reported in input order), and output into
//! a pipe that closes early.

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

/// A SendItemResponse envelope with `messages` response messages, each with `code`.
fn response(code: &str, messages: usize) -> String {
    let message = format!(
        "        <m:SendItemResponseMessage ResponseClass=\"Success\">\n          <m:ResponseCode>{code}</m:ResponseCode>\n        </m:SendItemResponseMessage>\n"
    );
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\">\n  <s:Body>\n    <m:SendItemResponse xmlns:m=\"http://schemas.microsoft.com/exchange/services/2006/messages\">\n      <m:ResponseMessages>\n{}      </m:ResponseMessages>\n    </m:SendItemResponse>\n  </s:Body>\n</s:Envelope>\n",
        message.repeat(messages)
    )
}

#[test]
fn many_files_on_several_threads_are_reported_in_input_order() {
    let dir = tempfile::tempdir().unwrap();
    let schemas = ewsconf::schema::SchemaSet::embedded().unwrap();
    // 200 paths: every 7th file invalid in its own way, every 13th a large valid one (so that
    // threads finish out of order), and one path that does not exist.
    let mut paths = Vec::new();
    let mut expected_out = String::new();
    let mut valid_only = Vec::new();
    let missing = 101;
    for i in 0..200 {
        let path = dir.path().join(format!("f{i:03}.xml"));
        let shown = path.to_str().unwrap().to_owned();
        if i == missing {
            paths.push(shown);
            continue;
        }
        let text = if i % 7 == 3 {
            response(&format!("NotACode{i}"), 1 + i % 4)
        } else if i % 13 == 5 {
            response("NoError", 3000)
        } else {
            response("NoError", 1 + i % 4)
        };
        std::fs::write(&path, &text).unwrap();
        let validation = schemas.validate(text.as_bytes());
        if validation.is_valid() {
            expected_out.push_str(&format!("{shown}: OK\n"));
            valid_only.push(shown.clone());
        } else {
            assert!(i % 7 == 3, "file {i} should be valid: {validation:?}");
            assert_eq!(validation.errors.len(), 1 + i % 4);
            for e in &validation.errors {
                assert!(e.message.contains(&format!("NotACode{i}")), "{e:?}");
                expected_out.push_str(&format!(
                    "{shown}:{}:{}: {}: {}\n",
                    e.line, e.column, e.kind, e.message
                ));
            }
        }
        paths.push(shown);
    }
    let expected_err = format!(
        "{}: cannot read: No such file or directory (os error 2)\n",
        paths[missing]
    );
    let args = |jobs: &[&'static str], files: &[String]| {
        let mut args = vec!["validate"];
        args.extend_from_slice(jobs);
        let mut args: Vec<String> = args.into_iter().map(str::to_owned).collect();
        args.extend_from_slice(files);
        args
    };
    for jobs in [&[][..], &["--jobs", "4"], &["--jobs", "1"]] {
        let argv = args(jobs, &paths);
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        let (code, out, err) = ewsconf(&argv);
        assert_eq!(out, expected_out, "jobs {jobs:?}");
        assert_eq!(err, expected_err, "jobs {jobs:?}");
        assert_eq!(code, 2, "jobs {jobs:?}");
    }

    // Without the unreadable path: invalid files make it 1; valid files alone make it 0.
    let mut readable = paths.clone();
    readable.remove(missing);
    let argv = args(&["--jobs", "3"], &readable);
    let (code, out, err) = ewsconf(&argv.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (1, expected_out.as_str(), "")
    );
    let argv = args(&["--jobs", "3"], &valid_only);
    let (code, out, _) = ewsconf(&argv.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 0, "{out}");
    let oks: Vec<String> = valid_only.iter().map(|p| format!("{p}: OK")).collect();
    assert_eq!(out.lines().collect::<Vec<_>>(), oks);
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
