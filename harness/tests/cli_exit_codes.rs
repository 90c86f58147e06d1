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
