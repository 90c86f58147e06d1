//! The exit codes of `ewsconf run` and `ewsconf mock`, on the binary: 0 when the suite conforms,
//! 2 for a target file that cannot be used, 3 for a target that cannot be reached or a mock that
//! cannot listen.

use std::process::{Command, Output};

fn ewsconf(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ewsconf"))
        .args(args)
        .env("PW", "secret")
        .output()
        .expect("ewsconf runs")
}

fn code(out: &Output) -> Option<i32> {
    out.status.code()
}

fn suite() -> String {
    format!("{}/../cases", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn a_conforming_run_exits_0() {
    let reports = tempfile::tempdir().unwrap();
    let out = ewsconf(&[
        "run",
        "--cases",
        &suite(),
        "--only",
        "reference/*",
        "--no-progress",
        "--report-dir",
        &reports.path().display().to_string(),
    ]);
    assert_eq!(code(&out), Some(0), "{out:?}");
}

#[test]
fn a_target_file_that_does_not_exist_exits_2() {
    let out = ewsconf(&[
        "run",
        "--cases",
        &suite(),
        "--target",
        "/nonexistent/target.toml",
    ]);
    assert_eq!(code(&out), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("target.toml"),
        "{out:?}"
    );
}

#[test]
fn a_target_nobody_listens_on_exits_3() {
    // A port taken and let go again: nothing listens there now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("target.toml");
    std::fs::write(
        &target,
        format!(
            "url = \"http://127.0.0.1:{port}/EWS/Exchange.asmx\"\n\
             [accounts.principal]\naddress = \"boss@example.com\"\npassword_env = \"PW\"\n\
             [accounts.delegate]\naddress = \"helper@example.com\"\npassword_env = \"PW\"\n\
             [accounts.recipient]\naddress = \"carol@example.com\"\npassword_env = \"PW\"\n"
        ),
    )
    .unwrap();
    let out = ewsconf(&[
        "run",
        "--cases",
        &suite(),
        "--no-progress",
        "--target",
        &target.display().to_string(),
        "--report-dir",
        &dir.path().display().to_string(),
    ]);
    assert_eq!(code(&out), Some(3), "{out:?}");
}

#[test]
fn a_mock_that_cannot_listen_exits_3() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = ewsconf(&["mock", "--listen", &addr]);
    assert_eq!(code(&out), Some(3), "{out:?}");
}

#[test]
fn numbers_out_of_range_in_flags_exit_2_naming_the_flag() {
    for args in [
        &["run", "--jobs", "18446744073709551615"][..],
        &["run", "--jobs", "0"],
        &["run", "--case-timeout", "0"],
        &["run", "--timeout", "18446744073709551615"],
        &["fuzz", "--jobs", "18446744073709551615"],
        &["fuzz", "--cases", "0"],
        &["quirk", "delegate-copy", "--timeout", "0"],
        &["validate", "--jobs", "99999", "x.xml"],
        &["mock", "--delivery-delay-ms", "18446744073709551615"],
    ] {
        let out = ewsconf(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(code(&out), Some(2), "{args:?}: {out:?}");
        let flag = args.iter().find(|a| a.starts_with("--")).unwrap();
        assert!(stderr.contains(flag), "{args:?}: {stderr}");
        assert!(stderr.contains("is not in"), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

/// A folder holding one case file, `reference/one.toml`, with `extra` after its first line.
fn case_with(extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(format!("{}/save-rules/raw-one.toml", suite())).unwrap();
    let (first, rest) = text.split_once('\n').unwrap();
    std::fs::create_dir_all(dir.path().join("reference")).unwrap();
    std::fs::write(
        dir.path().join("reference/one.toml"),
        format!("{first}\n{extra}\n{rest}"),
    )
    .unwrap();
    dir
}

#[test]
fn numbers_out_of_range_in_case_files_are_located_errors() {
    for (extra, field) in [
        (
            "poll_timeout_secs = 9223372036854775807",
            "poll_timeout_secs",
        ),
        ("poll_timeout_secs = -1", "poll_timeout_secs"),
    ] {
        let dir = case_with(extra);
        let out = ewsconf(&[
            "run",
            "--cases",
            &dir.path().display().to_string(),
            "--no-progress",
            "--report-dir",
            &dir.path().join("reports").display().to_string(),
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(code(&out), Some(2), "{extra}: {out:?}");
        // file:line:col, the line being the one that holds the number.
        assert!(stderr.contains("one.toml:2:"), "{extra}: {stderr}");
        assert!(stderr.contains(field), "{extra}: {stderr}");
        assert!(!stderr.contains("panicked"), "{extra}: {stderr}");
    }
}

#[test]
fn an_item_count_or_http_status_out_of_range_is_a_located_error() {
    let text = std::fs::read_to_string(format!("{}/save-rules/raw-one.toml", suite())).unwrap();
    for (from, to, said) in [
        (
            "item_count = 1",
            "item_count = 9223372036854775807",
            "item_count",
        ),
        (
            "[expect]\n",
            "[expect]\nhttp_status = 999\n",
            "not an HTTP status",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("reference")).unwrap();
        assert!(text.contains(from));
        std::fs::write(
            dir.path().join("reference/one.toml"),
            text.replace(from, to),
        )
        .unwrap();
        let out = ewsconf(&["list", "--cases", &dir.path().display().to_string()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(code(&out), Some(2), "{to}: {out:?}");
        // The number's own line: the one that names it.
        let changed = text.replace(from, to);
        let line = changed
            .lines()
            .position(|l| Some(l) == to.lines().last())
            .unwrap()
            + 1;
        assert!(
            stderr.contains(&format!("one.toml:{line}:")),
            "{to}: line {line}: {stderr}"
        );
        assert!(stderr.contains(said), "{to}: {stderr}");
    }
}
