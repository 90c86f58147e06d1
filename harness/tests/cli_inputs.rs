//! Files given on the command line that are not what they should be: `/dev/zero`, a named pipe
//! with no writer, a directory, a file over the size limit. Each command refuses the file at
//! once with exit code 2 and a message naming the file and what is wrong, instead of reading
//! until memory runs out or waiting for a writer forever.
#![cfg(unix)]

mod common;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Longest a refusal may take before the test calls it a hang (and kills the command).
const HANG: Duration = Duration::from_secs(60);

/// What a command did: exit code, stdout and stderr.
struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `ewsconf args…`, killing it and failing the test if it has not ended within [`HANG`].
fn ewsconf(args: &[&OsStr], env: &[(&str, &str)]) -> Ran {
    let dir = tempfile::tempdir().unwrap();
    let (out, err) = (dir.path().join("out"), dir.path().join("err"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_ewsconf"))
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .expect("runs");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > HANG {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "ewsconf {args:?} still running after {HANG:?}: {}",
                std::fs::read_to_string(&err).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Ran {
        code: status.code(),
        stdout: std::fs::read_to_string(&out).unwrap(),
        stderr: std::fs::read_to_string(&err).unwrap(),
    }
}

fn os(s: &str) -> &OsStr {
    s.as_ref()
}

/// Runs `ewsconf run --cases <the suite> --report-dir <dir>/reports` with `args` and `$PW` set.
fn run_suite(dir: &Path, args: &[&OsStr]) -> Ran {
    let reports = dir.join("reports");
    let mut all = vec![os("run"), os("--cases"), os(CASES)];
    all.extend(args);
    all.extend([os("--report-dir"), reports.as_os_str()]);
    ewsconf(&all, &[("PW", common::PASSWORD)])
}

/// The project's suite.
const CASES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../cases");

/// A named pipe at `path`, with no writer.
fn fifo(path: &Path) -> PathBuf {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: `c` is a NUL-terminated path that outlives the call.
    let made = unsafe { libc::mkfifo(c.as_ptr(), 0o600) };
    assert_eq!(made, 0, "mkfifo {}", path.display());
    path.to_owned()
}

/// A file of `len` bytes (sparse: nothing is written).
fn sized(path: &Path, len: u64) -> PathBuf {
    std::fs::File::create(path).unwrap().set_len(len).unwrap();
    path.to_owned()
}

/// The hostile inputs in `dir`, each with the words the refusal must contain: `/dev/zero`, a
/// FIFO, a directory and a file one byte over `limit`.
fn hostile(dir: &Path, limit: u64) -> Vec<(PathBuf, String)> {
    let folder = dir.join("folder");
    std::fs::create_dir(&folder).unwrap();
    vec![
        (
            PathBuf::from("/dev/zero"),
            "it is a character device, not a regular file".to_owned(),
        ),
        (
            fifo(&dir.join("pipe")),
            "it is a named pipe (FIFO), not a regular file".to_owned(),
        ),
        (folder, "it is a directory, not a regular file".to_owned()),
        (
            sized(&dir.join("huge"), limit + 1),
            format!("it is larger than the limit of {limit} bytes"),
        ),
    ]
}

/// Checks that the command refused `path` with exit code 2 and a message naming it and `why`.
fn refused(ran: &Ran, path: &Path, why: &str) {
    let shown = path.display().to_string();
    assert_eq!(ran.code, Some(2), "{shown}: {}{}", ran.stdout, ran.stderr);
    let line = ran
        .stderr
        .lines()
        .find(|l| l.contains(&shown))
        .unwrap_or_else(|| panic!("{shown} not named: {}", ran.stderr));
    assert!(line.contains(why), "expected {why:?}: {line}");
}

#[test]
fn validate_refuses_what_is_not_a_regular_file() {
    let dir = tempfile::tempdir().unwrap();
    for (path, why) in hostile(dir.path(), 16 * 1024 * 1024) {
        let ran = ewsconf(&[os("validate"), path.as_os_str()], &[]);
        if why.starts_with("it is larger") {
            // A document over the schema limit is an invalid document, reported at 1:1 as the
            // validator reports any document it will not parse: exit code 1.
            assert_eq!(ran.code, Some(1), "{}{}", ran.stdout, ran.stderr);
            assert_eq!(
                ran.stdout,
                format!(
                    "{}:1:1: document is larger than 16777216 bytes\n",
                    path.display()
                )
            );
            continue;
        }
        assert_eq!(ran.stdout, "", "{}", path.display());
        refused(&ran, &path, &format!("cannot read: {why}"));
    }
}

#[test]
fn run_refuses_a_target_file_that_is_not_a_regular_file() {
    let dir = tempfile::tempdir().unwrap();
    for (path, why) in hostile(dir.path(), ewsconf::limits::MAX_TARGET_FILE_BYTES) {
        let ran = run_suite(dir.path(), &[os("--target"), path.as_os_str()]);
        refused(&ran, &path, &format!("cannot read the target file: {why}"));
        assert!(!dir.path().join("reports").exists());
    }
}

#[test]
fn mock_refuses_a_users_file_that_is_not_a_regular_file() {
    let dir = tempfile::tempdir().unwrap();
    for (path, why) in hostile(dir.path(), ewsconf::limits::MAX_USERS_FILE_BYTES) {
        let ran = ewsconf(
            &[
                os("mock"),
                os("--listen"),
                os("127.0.0.1:0"),
                os("--users"),
                path.as_os_str(),
            ],
            &[],
        );
        refused(&ran, &path, &why);
        assert!(!ran.stdout.contains("ewsconf mock"), "{}", ran.stdout);
    }
}

#[test]
fn a_case_file_that_is_not_a_regular_file_stops_the_listing() {
    let dir = tempfile::tempdir().unwrap();
    let limit = ewsconf::limits::MAX_CASE_FILE_BYTES;
    let hostile = hostile(dir.path(), limit);
    // Each in a suite of its own, named as a case file: `/dev/zero` through a link.
    for (i, (path, why)) in hostile.into_iter().enumerate() {
        let suite = dir.path().join(format!("suite{i}"));
        std::fs::create_dir_all(suite.join("items")).unwrap();
        let case = suite.join("items").join("hostile.toml");
        std::os::unix::fs::symlink(&path, &case).unwrap();
        if path.is_dir() {
            // The suite walks into folders; a folder is a case file only when named as one.
            continue;
        }
        let ran = ewsconf(&[os("list"), os("--cases"), suite.as_os_str()], &[]);
        refused(&ran, &case, &format!("cannot read: {why}"));
    }
}

#[test]
fn a_ca_certificate_that_is_not_a_regular_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let target = common::write_target_file(dir.path(), "https://127.0.0.1:1/EWS/Exchange.asmx");
    for (path, why) in hostile(dir.path(), ewsconf::limits::MAX_CA_CERT_BYTES) {
        let ran = run_suite(
            dir.path(),
            &[
                os("--target"),
                target.as_os_str(),
                os("--ca-cert"),
                path.as_os_str(),
            ],
        );
        let why = format!("cannot read the CA certificate: {why}");
        refused(&ran, &path, &why);
    }
}

#[test]
fn a_baseline_that_is_not_a_regular_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let baselines = dir.path().join("baselines");
    std::fs::create_dir_all(baselines.join("delegate")).unwrap();
    let baseline = fifo(&baselines.join("delegate/control-principal-own-draft.txt"));
    let ran = run_suite(
        dir.path(),
        &[
            os("--only"),
            os("delegate/control-principal-own-draft"),
            os("--no-progress"),
            os("--baseline"),
            baselines.as_os_str(),
        ],
    );
    refused(
        &ran,
        &baseline,
        "cannot read the baseline: it is a named pipe (FIFO), not a regular file",
    );
}
