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
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use ewsconf::ews::DistinguishedFolderName;
use ewsconf::mock::MockServer;
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
    common::relay(common::pass_on(&p.http, &p.upstream, &headers, body).await).await
}

/// The documented mock behind a [`Proxy`] that leaves every SendItem hanging, and a [`Scratch`]
/// folder with a target file for the proxy; returns those, the proxy's handle and the mock.
async fn hanging_on_send_item() -> (Scratch, Proxy, MockServer) {
    let mock = common::documented_mock().await;
    let proxy = Proxy {
        upstream: mock.url().to_owned(),
        http: reqwest::Client::new(),
        hang: Arc::default(),
        hung: Arc::default(),
    };
    proxy.hang("SendItem");
    let app = axum::Router::new()
        .fallback(axum::routing::post(forward))
        .with_state(proxy.clone());
    let url = common::serve_on_loopback(app).await;
    (Scratch::new(&url), proxy, mock)
}

/// A scratch folder holding a target file (the mock's default accounts at one URL), where a
/// command writes its reports (`reports/`) and `fuzz` its regressions.
struct Scratch {
    dir: tempfile::TempDir,
    target: PathBuf,
}

impl Scratch {
    fn new(url: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let target = common::write_target_file(dir.path(), url);
        Self { dir, target }
    }

    /// `name` below the folder.
    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    /// Every `report.json` written below `reports/`, read.
    fn reports(&self) -> Vec<serde_json::Value> {
        let dir = self.dir.path().join("reports");
        if !dir.exists() {
            return Vec::new();
        }
        common::files_below(&dir)
            .into_iter()
            .filter(|(path, _)| path.ends_with("report.json"))
            .map(|(_, bytes)| serde_json::from_slice(&bytes).expect("report.json is JSON"))
            .collect()
    }

    /// Starts `ewsconf <command> --target <file> <args> --report-dir reports/`.
    fn spawn(&self, command: &[&str], args: &[&str]) -> Child {
        let (target, reports) = (self.target.display().to_string(), self.path("reports"));
        let mut all = command.to_vec();
        all.extend(["--target", &target]);
        all.extend(args);
        all.extend(["--report-dir", &reports]);
        spawn(&all)
    }

    /// Starts `ewsconf run` of the suite's `save-rules/*` cases with `args`.
    fn run_save_rules(&self, args: &[&str]) -> Child {
        let suite = suite();
        let mut all = vec!["--cases", &suite, "--only", "save-rules/*", "--no-progress"];
        all.extend(args);
        self.spawn(&["run"], &all)
    }

    /// Starts `ewsconf fuzz` of 50 cases with `args`, its regressions kept in `regressions/`.
    fn fuzz(&self, args: &[&str]) -> Child {
        let regressions = self.path("regressions");
        let mut all = vec!["--cases", "50"];
        all.extend(args);
        all.extend(["--no-progress", "--regressions", &regressions]);
        self.spawn(&["fuzz"], &all)
    }
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

/// Waits for the child to end and checks that it exited with `code`; returns its output and its
/// stderr as text.
async fn ended_with(child: Child, code: i32) -> (Output, String) {
    let out = finished(child).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{out:?}");
    (out, stderr)
}

/// Sends SIGTERM to the child, and checks that it then ends with exit code 1 saying it was
/// interrupted; returns its output and its stderr as text.
async fn stopped_by_sigterm(child: Child) -> (Output, String) {
    signal(&child, libc::SIGTERM);
    let (out, stderr) = ended_with(child, 1).await;
    assert!(stderr.contains("interrupted (SIGTERM)"), "{stderr}");
    (out, stderr)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
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
    let (scratch, proxy, mock) = hanging_on_send_item().await;
    let child = scratch.run_save_rules(&["--jobs", "2"]);
    proxy.hung("SendItem").await;
    // From now on the target stops answering deletes too: cleanup cannot finish.
    proxy.hang("DeleteItem");
    let (out, stderr) = stopped_by_sigterm(child).await;
    let left = left_count(&stderr).unwrap_or_else(|| panic!("no count of what is left: {stderr}"));
    assert!(left >= 1, "{stderr}");
    assert!(stderr.contains("cleanup stopped"), "{stderr}");
    // The reports are written, with the interrupted cases and what cleanup left.
    let reports = scratch.reports();
    assert_eq!(reports.len(), 1, "{out:?}");
    let json = reports[0].to_string();
    assert!(json.contains("the run was interrupted"), "{json}");
    assert!(json.contains("left on the server"), "{json}");
    assert!(text(&out.stdout).contains("reports: "), "{out:?}");
    mock.shutdown().await;
}

/// Every case is bounded by `--case-timeout`, whatever the server does: against one that never
/// answers a SendItem, each case ends as `error` and the run ends with its reports, with no
/// signal needed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_against_a_server_that_hangs_on_senditem_ends_by_its_case_timeouts() {
    let (scratch, _proxy, mock) = hanging_on_send_item().await;
    let child = scratch.run_save_rules(&["--timeout", "30", "--case-timeout", "2"]);
    let (out, _) = ended_with(child, 1).await;
    let reports = scratch.reports();
    assert_eq!(reports.len(), 1, "{out:?}");
    let outcomes = reports[0]["outcomes"].as_array().expect("outcomes");
    let cases: Vec<_> = outcomes
        .iter()
        .filter(|o| {
            o["id"]
                .as_str()
                .is_some_and(|id| id.starts_with("save-rules/"))
        })
        .collect();
    assert!(!cases.is_empty(), "{out:?}");
    for o in cases {
        assert_eq!(o["verdict"], "error", "{o}");
        assert!(
            o["reason"]
                .as_str()
                .is_some_and(|r| r.contains("did not finish within")),
            "{o}"
        );
    }
    mock.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_signal_ends_a_run_at_once_and_lists_what_is_left() {
    let (scratch, proxy, mock) = hanging_on_send_item().await;
    let child = scratch.run_save_rules(&[]);
    proxy.hung("SendItem").await;
    proxy.hang("DeleteItem");
    signal(&child, libc::SIGINT);
    // Cleanup has found the run's drafts and waits on their deletion: a second signal now.
    proxy.hung("DeleteItem").await;
    signal(&child, libc::SIGINT);
    let (_, stderr) = ended_with(child, 130).await;
    assert!(stderr.contains("interrupted again (SIGINT)"), "{stderr}");
    // What is left, by subject and ItemId: the drafts the cases created, carrying the marker.
    assert!(stderr.contains("items left on the server"), "{stderr}");
    let listed: Vec<&str> = stderr.lines().filter(|l| l.contains("(ItemId ")).collect();
    assert!(!listed.is_empty(), "{stderr}");
    assert!(listed.iter().all(|l| l.contains("ewsconf-")), "{stderr}");
    // It ended before writing reports.
    assert!(scratch.reports().is_empty());
    mock.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_quirk_cleans_up_its_probe_and_writes_the_reports() {
    // The rights check sends its probe draft: it hangs there.
    let (scratch, proxy, mock) = hanging_on_send_item().await;
    let child = scratch.spawn(&["quirk", "delegate-copy"], &[]);
    proxy.hung("SendItem").await;
    assert_eq!(
        run_items(&mock, common::BOSS, DistinguishedFolderName::Drafts).await,
        1,
        "the probe draft is there before the signal"
    );
    let (out, _) = stopped_by_sigterm(child).await;
    assert_eq!(scratch.reports().len(), 1, "{out:?}");
    assert_eq!(
        run_items(&mock, common::BOSS, DistinguishedFolderName::Drafts).await,
        0,
        "the probe draft is cleaned up"
    );
    mock.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_fuzz_cleans_up_and_writes_the_reports() {
    let (scratch, proxy, mock) = hanging_on_send_item().await;
    let child = scratch.fuzz(&["--seed", "7"]);
    proxy.hung("SendItem").await;
    assert!(run_items(&mock, common::BOSS, DistinguishedFolderName::Drafts).await > 0);
    let (out, _) = stopped_by_sigterm(child).await;
    let reports = scratch.reports();
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
    let (scratch, _proxy, mock) = hanging_on_send_item().await;
    let child = scratch.fuzz(&["--seed", "3", "--timeout", "1"]);
    let (out, stderr) = ended_with(child, 1).await;
    assert!(
        stderr.contains("shrinking stopped: the target stopped answering"),
        "{stderr}"
    );
    assert_eq!(scratch.reports().len(), 1, "{out:?}");
    mock.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzz_against_a_server_that_never_answers_ends_after_its_timeout() {
    // Accepts every connection and never answers.
    let (listener, url) = common::loopback_listener().await;
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let scratch = Scratch::new(&url);
    let child = scratch.fuzz(&["--timeout", "1"]);
    let (_, stderr) = ended_with(child, 3).await;
    assert!(stderr.contains("no response"), "{stderr}");
}

/// A case whose request is one byte over the 16 MiB body cap.
const OVERSIZE_CASE: &str = r#"id = "transport/oversize"
title = "A request over the body cap"
reference = "a server may refuse a body it will not read"
section = "MS-OXWSCORE 3.1.4.8"
[request]
as = "principal"
mangle = "oversize"
raw = '''<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body/></soap:Envelope>'''
[expect]
http_status = 413
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_answers_413_and_closes_mid_body_is_an_error_not_a_silent_death() {
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
    let scratch = Scratch::new(&format!("http://{addr}/EWS/Exchange.asmx"));
    let cases = scratch.path("cases");
    std::fs::create_dir_all(format!("{cases}/transport")).unwrap();
    std::fs::write(format!("{cases}/transport/oversize.toml"), OVERSIZE_CASE).unwrap();
    let child = scratch.spawn(&["run"], &["--cases", &cases, "--no-progress"]);
    let out = finished(child).await;
    // Ended by itself with a documented code, not killed by SIGPIPE (no code at all).
    assert!(matches!(out.status.code(), Some(0 | 1)), "{out:?}");
    assert!(!text(&out.stderr).contains("panicked"), "{out:?}");
    assert!(text(&out.stdout).contains("reports: "), "{out:?}");
    assert_eq!(scratch.reports().len(), 1, "{out:?}");
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
