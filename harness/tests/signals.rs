//! Signals, closed pipes and targets that stop answering, on the binary: SIGINT and SIGTERM stop
//! `run`, `quirk` and `fuzz` with bounded cleanup and reports written, a second signal ends the
//! process at once listing what was left, a peer or reader that closes its end is an I/O error
//! rather than a silent death, and `fuzz` against a hanging target ends within a bound
//! proportional to its timeout.
//!
//! The hostile servers are loopback listeners scripted here: a proxy in front of the embedded
//! mock that never answers chosen operations, a server that accepts and never answers, and one
//! that answers 413 and closes before reading the body.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ewsconf::ews::DistinguishedFolderName;
use ewsconf::mock::{MockConfig, MockServer, Profile};
use ewsconf::target::Client;
use ewsconf::target::calls::{Account, folder_of};

/// The longest any child process may take here before the test calls it a hang.
const HANG: Duration = Duration::from_secs(120);

/// A proxy in front of the mock that never answers the operations in `hang`.
#[derive(Clone)]
struct Proxy {
    upstream: String,
    http: reqwest::Client,
    /// Operations (the last part of the `SOAPAction`) that get no answer.
    hang: Arc<Mutex<Vec<&'static str>>>,
    /// Every operation that reached the proxy and was left hanging, in order.
    hung: Arc<Mutex<Vec<String>>>,
}

impl Proxy {
    fn hang(&self, operation: &'static str) {
        self.hang.lock().unwrap().push(operation);
    }

    /// Waits until a request for `operation` hangs in the proxy; fails the test after `HANG`.
    async fn hung(&self, operation: &str) {
        let seen = async {
            while !self.hung.lock().unwrap().iter().any(|o| o == operation) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        tokio::time::timeout(HANG, seen)
            .await
            .unwrap_or_else(|_| panic!("no {operation} reached the proxy"));
    }
}

async fn forward(State(p): State<Proxy>, headers: HeaderMap, body: Bytes) -> Response {
    let operation = headers
        .get("soapaction")
        .and_then(|v| v.to_str().ok())
        .and_then(|a| a.trim_matches('"').rsplit('/').next())
        .unwrap_or("")
        .to_owned();
    if p.hang.lock().unwrap().iter().any(|h| *h == operation) {
        p.hung.lock().unwrap().push(operation);
        std::future::pending::<()>().await;
    }
    let mut request = p.http.post(&p.upstream).body(body);
    for (name, value) in &headers {
        if name != header::HOST && name != header::CONTENT_LENGTH {
            request = request.header(name.as_str(), value.as_bytes());
        }
    }
    match request.send().await {
        Ok(answer) => {
            let status = StatusCode::from_u16(answer.status().as_u16()).unwrap_or(StatusCode::OK);
            let content_type = answer.headers().get("content-type").cloned();
            let bytes = answer.bytes().await.unwrap_or_default();
            let mut response = (status, bytes).into_response();
            if let Some(v) = content_type {
                response.headers_mut().insert(header::CONTENT_TYPE, v);
            }
            response
        }
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}

/// The documented mock behind a [`Proxy`]; returns the proxy's EWS URL, its handle and the mock.
async fn proxied() -> (String, Proxy, MockServer) {
    let mock = MockServer::start(MockConfig::with_profile(Profile::Documented))
        .await
        .expect("the mock starts");
    let proxy = Proxy {
        upstream: mock.url().to_owned(),
        http: reqwest::Client::new(),
        hang: Arc::default(),
        hung: Arc::default(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new()
        .fallback(axum::routing::post(forward))
        .with_state(proxy.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/EWS/Exchange.asmx"), proxy, mock)
}

/// A target file for the mock's default accounts at `url`, written in `dir`.
fn target_file(dir: &Path, url: &str) -> PathBuf {
    let path = dir.join("target.toml");
    std::fs::write(
        &path,
        format!(
            "url = \"{url}\"\n\
             [accounts.principal]\naddress = \"boss@example.com\"\npassword_env = \"PW\"\n\
             [accounts.delegate]\naddress = \"helper@example.com\"\npassword_env = \"PW\"\n\
             [accounts.recipient]\naddress = \"carol@example.com\"\npassword_env = \"PW\"\n"
        ),
    )
    .unwrap();
    path
}

fn suite() -> String {
    format!("{}/../cases", env!("CARGO_MANIFEST_DIR"))
}

/// Starts the binary with `args`, stdout and stderr captured.
fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_ewsconf"))
        .args(args)
        .env("PW", common::PASSWORD)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ewsconf starts")
}

fn signal(child: &Child, signal: libc::c_int) {
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // SAFETY: kill(2) with the pid of a child this test started and has not yet reaped.
    let sent = unsafe { libc::kill(pid, signal) };
    assert_eq!(sent, 0, "kill failed");
}

/// Waits for the child to end; fails the test if it is still running after `HANG`.
async fn finished(child: Child) -> Output {
    let waiting = tokio::task::spawn_blocking(move || child.wait_with_output());
    tokio::time::timeout(HANG, waiting)
        .await
        .expect("ewsconf ended")
        .unwrap()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Every `report.json` below `dir`, read.
fn reports(dir: &Path) -> Vec<serde_json::Value> {
    if !dir.exists() {
        return Vec::new();
    }
    common::files_below(dir)
        .into_iter()
        .filter(|(path, _)| path.ends_with("report.json"))
        .map(|(_, bytes)| serde_json::from_slice(&bytes).expect("report.json is JSON"))
        .collect()
}

/// The number in "cleaning up: N items left on the server", if the text says it.
fn left_count(stderr: &str) -> Option<usize> {
    let at = stderr.find("cleaning up: ")? + "cleaning up: ".len();
    stderr[at..].split(' ').next()?.parse().ok()
}

/// The items whose subject carries a run marker in `owner`'s `folder`, read on the mock itself.
async fn run_items(mock: &MockServer, owner: &str, folder: DistinguishedFolderName) -> usize {
    let client = Client::new(mock.url(), &Default::default()).unwrap();
    client
        .find(
            &Account::basic(owner, common::PASSWORD),
            folder_of(owner, folder),
            "ewsconf-",
        )
        .await
        .expect("FindItem on the mock")
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_a_run_cleans_up_within_a_bound_and_says_what_was_left() {
    let dir = tempfile::tempdir().unwrap();
    let (url, proxy, mock) = proxied().await;
    proxy.hang("SendItem");
    let target = target_file(dir.path(), &url);
    let report_dir = dir.path().join("reports");
    let child = spawn(&[
        "run",
        "--target",
        &target.display().to_string(),
        "--cases",
        &suite(),
        "--only",
        "save-rules/*",
        "--no-progress",
        "--jobs",
        "2",
        "--report-dir",
        &report_dir.display().to_string(),
    ]);
    proxy.hung("SendItem").await;
    // From now on the target stops answering deletes too: cleanup cannot finish.
    proxy.hang("DeleteItem");
    signal(&child, libc::SIGTERM);
    let out = finished(child).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(stderr.contains("interrupted (SIGTERM)"), "{stderr}");
    let left = left_count(&stderr).unwrap_or_else(|| panic!("no count of what is left: {stderr}"));
    assert!(left >= 1, "{stderr}");
    assert!(stderr.contains("cleanup stopped"), "{stderr}");
    // The reports are written, with the interrupted cases and what cleanup left.
    let reports = reports(&report_dir);
    assert_eq!(reports.len(), 1, "{out:?}");
    let json = reports[0].to_string();
    assert!(json.contains("the run was interrupted"), "{json}");
    assert!(json.contains("left on the server"), "{json}");
    assert!(text(&out.stdout).contains("reports: "), "{out:?}");
    mock.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_signal_ends_a_run_at_once_and_lists_what_is_left() {
    let dir = tempfile::tempdir().unwrap();
    let (url, proxy, mock) = proxied().await;
    proxy.hang("SendItem");
    let target = target_file(dir.path(), &url);
    let report_dir = dir.path().join("reports");
    let child = spawn(&[
        "run",
        "--target",
        &target.display().to_string(),
        "--cases",
        &suite(),
        "--only",
        "save-rules/*",
        "--no-progress",
        "--report-dir",
        &report_dir.display().to_string(),
    ]);
    proxy.hung("SendItem").await;
    proxy.hang("DeleteItem");
    signal(&child, libc::SIGINT);
    // Cleanup has found the run's drafts and waits on their deletion: a second signal now.
    proxy.hung("DeleteItem").await;
    signal(&child, libc::SIGINT);
    let out = finished(child).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{out:?}");
    assert!(stderr.contains("interrupted again (SIGINT)"), "{stderr}");
    // What is left, by subject and ItemId: the drafts the cases created, carrying the marker.
    assert!(stderr.contains("items left on the server"), "{stderr}");
    let listed: Vec<&str> = stderr.lines().filter(|l| l.contains("(ItemId ")).collect();
    assert!(!listed.is_empty(), "{stderr}");
    assert!(listed.iter().all(|l| l.contains("ewsconf-")), "{stderr}");
    // It ended before writing reports.
    assert!(reports(&report_dir).is_empty());
    mock.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_quirk_cleans_up_its_probe_and_writes_the_reports() {
    let dir = tempfile::tempdir().unwrap();
    let (url, proxy, mock) = proxied().await;
    // The rights check sends its probe draft: it hangs there.
    proxy.hang("SendItem");
    let target = target_file(dir.path(), &url);
    let report_dir = dir.path().join("reports");
    let child = spawn(&[
        "quirk",
        "delegate-copy",
        "--target",
        &target.display().to_string(),
        "--report-dir",
        &report_dir.display().to_string(),
    ]);
    proxy.hung("SendItem").await;
    assert_eq!(
        run_items(&mock, common::BOSS, DistinguishedFolderName::Drafts).await,
        1,
        "the probe draft is there before the signal"
    );
    signal(&child, libc::SIGTERM);
    let out = finished(child).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(stderr.contains("interrupted (SIGTERM)"), "{stderr}");
    assert_eq!(reports(&report_dir).len(), 1, "{out:?}");
    assert_eq!(
        run_items(&mock, common::BOSS, DistinguishedFolderName::Drafts).await,
        0,
        "the probe draft is cleaned up"
    );
    mock.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_fuzz_cleans_up_and_writes_the_reports() {
    let dir = tempfile::tempdir().unwrap();
    let (url, proxy, mock) = proxied().await;
    proxy.hang("SendItem");
    let target = target_file(dir.path(), &url);
    let report_dir = dir.path().join("reports");
    let child = spawn(&[
        "fuzz",
        "--target",
        &target.display().to_string(),
        "--cases",
        "50",
        "--seed",
        "7",
        "--no-progress",
        "--report-dir",
        &report_dir.display().to_string(),
        "--regressions",
        &dir.path().join("regressions").display().to_string(),
    ]);
    proxy.hung("SendItem").await;
    assert!(run_items(&mock, common::BOSS, DistinguishedFolderName::Drafts).await > 0);
    signal(&child, libc::SIGTERM);
    let out = finished(child).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(stderr.contains("interrupted (SIGTERM)"), "{stderr}");
    let reports = reports(&report_dir);
    assert_eq!(reports.len(), 1, "{out:?}");
    assert!(
        reports[0].to_string().contains("the run was interrupted"),
        "{}",
        reports[0]
    );
    for folder in [
        DistinguishedFolderName::Drafts,
        DistinguishedFolderName::Tasks,
    ] {
        assert_eq!(
            run_items(&mock, common::BOSS, folder).await,
            0,
            "the batch's items in {folder} are cleaned up"
        );
    }
    mock.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzz_against_a_target_that_hangs_on_senditem_ends_and_says_shrinking_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let (url, proxy, mock) = proxied().await;
    proxy.hang("SendItem");
    let target = target_file(dir.path(), &url);
    let report_dir = dir.path().join("reports");
    let child = spawn(&[
        "fuzz",
        "--target",
        &target.display().to_string(),
        "--cases",
        "50",
        "--seed",
        "3",
        "--timeout",
        "1",
        "--no-progress",
        "--report-dir",
        &report_dir.display().to_string(),
        "--regressions",
        &dir.path().join("regressions").display().to_string(),
    ]);
    let out = finished(child).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        stderr.contains("shrinking stopped: the target stopped answering"),
        "{stderr}"
    );
    assert_eq!(reports(&report_dir).len(), 1, "{out:?}");
    mock.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzz_against_a_server_that_never_answers_ends_after_its_timeout() {
    let dir = tempfile::tempdir().unwrap();
    // Accepts every connection and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let target = target_file(dir.path(), &format!("http://{addr}/EWS/Exchange.asmx"));
    let child = spawn(&[
        "fuzz",
        "--target",
        &target.display().to_string(),
        "--cases",
        "50",
        "--timeout",
        "1",
        "--no-progress",
        "--report-dir",
        &dir.path().join("reports").display().to_string(),
        "--regressions",
        &dir.path().join("regressions").display().to_string(),
    ]);
    let out = finished(child).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert!(stderr.contains("no response"), "{stderr}");
}

/// A case whose request is one byte over the 16 MiB body cap.
const OVERSIZE_CASE: &str = r#"id = "transport/oversize"
title = "A request over the body cap"
reference = "a server may refuse a body it will not read"
[request]
as = "principal"
mangle = "oversize"
raw = '''<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body/></soap:Envelope>'''
[expect]
http_status = 413
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_answers_413_and_closes_mid_body_is_an_error_not_a_silent_death() {
    let dir = tempfile::tempdir().unwrap();
    // Reads the request head, answers 413 and closes without reading the body.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for socket in listener.incoming() {
            let Ok(mut socket) = socket else { return };
            let mut head = BufReader::new(socket.try_clone().unwrap());
            let mut line = String::new();
            while head.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                line.clear();
            }
            let _ = socket.write_all(
                b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
            // FIN first, then the close with the body unread sends RST: the client's socket is
            // in CLOSE_WAIT when the reset comes, so its next write fails with EPIPE (not
            // ECONNRESET), which raises SIGPIPE unless the process ignores it.
            let _ = socket.shutdown(std::net::Shutdown::Write);
            std::thread::sleep(Duration::from_millis(50));
            drop(head);
            drop(socket);
        }
    });
    let cases = dir.path().join("cases/transport");
    std::fs::create_dir_all(&cases).unwrap();
    std::fs::write(cases.join("oversize.toml"), OVERSIZE_CASE).unwrap();
    let target = target_file(dir.path(), &format!("http://{addr}/EWS/Exchange.asmx"));
    let report_dir = dir.path().join("reports");
    let child = spawn(&[
        "run",
        "--target",
        &target.display().to_string(),
        "--cases",
        &dir.path().join("cases").display().to_string(),
        "--no-progress",
        "--report-dir",
        &report_dir.display().to_string(),
    ]);
    let out = finished(child).await;
    // Ended by itself with a documented code, not killed by SIGPIPE (no code at all).
    assert!(matches!(out.status.code(), Some(0 | 1)), "{out:?}");
    assert!(!text(&out.stderr).contains("panicked"), "{out:?}");
    assert!(text(&out.stdout).contains("reports: "), "{out:?}");
    assert_eq!(reports(&report_dir).len(), 1, "{out:?}");
}

#[test]
fn list_into_a_reader_that_goes_away_ends_quietly_with_0() {
    // More lines than a pipe holds, so that writing meets the closed end.
    let dir = tempfile::tempdir().unwrap();
    let template = std::fs::read_to_string(format!("{}/save-rules/raw-one.toml", suite())).unwrap();
    let long_title = format!("title = \"{}\"", "x".repeat(400));
    for n in 0..600 {
        let text = template
            .replace(
                "id = \"save-rules/raw-one\"",
                &format!("id = \"many/case-{n}\""),
            )
            .lines()
            .map(|l| {
                if l.starts_with("title = ") {
                    long_title.as_str()
                } else {
                    l
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        std::fs::write(dir.path().join(format!("case-{n}.toml")), text).unwrap();
    }
    let mut child = spawn(&["list", "--cases", &dir.path().display().to_string()]);
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 64];
    stdout.read_exact(&mut first).expect("the first line");
    drop(stdout);
    let out = common::within(60, "ewsconf list", move || {
        child.wait_with_output().unwrap()
    });
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
}
