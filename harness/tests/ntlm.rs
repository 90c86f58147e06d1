//! NTLM end to end: ewsconf logs in with NTLMv2 and a channel binding through an HTTPS front
//! whose NTLM acceptor is Python's pyspnego (the library exchangelib's NTLM client is built on),
//! which requires the binding to its certificate as Exchange's Extended Protection does, and
//! forwards logged-in requests to the mock (`tests/interop/ntlm_front.py`).
//!
//! pyspnego goes into a venv cached under the cargo target dir. Where the registry cannot be
//! reached or `python3` cannot make a venv, a test prints a notice and passes; with `CI` set it
//! fails instead.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ewsconf::accounts::{DEFAULT_ACCOUNTS, DEFAULT_PASSWORD};
use ewsconf::ews::{BaseShape, DistinguishedFolderName, GetFolder, RequestEnvelope, Shape};
use ewsconf::mock::{MockConfig, MockServer, Profile};
use ewsconf::target::calls::folder_of;
use ewsconf::target::{Auth, Client, ClientOptions, Post, Secret, TargetError};
use serde_json::Value;

// Pinned, so that what the front relies on (its message classes, the acceptor's checks) stays.
const PYSPNEGO: &str = "pyspnego==0.12.4";

const INSTALL_TIMEOUT: Duration = Duration::from_secs(300);
const PROBE_TIMEOUT: Duration = Duration::from_secs(30);
const FRONT_START: Duration = Duration::from_secs(60);
const RUN_TIMEOUT: u64 = 600;

const INSTALL_HINT: &str =
    "install Python 3 with venv and pip (Debian: apt-get install python3 python3-venv python3-pip)";

/// The NetBIOS domain of the NTLM accounts.
const DOMAIN: &str = "EXAMPLE";

/// The NTLM password of a mock account's user: a canary that must never reach an output. The
/// front logs in to the mock with the mock's own password instead.
fn ntlm_password(user: &str) -> String {
    format!("ntlm-canary-{user}-Pa55!")
}

/// The user part of a default account's address.
fn user_of(address: &str) -> &str {
    address.split('@').next().unwrap_or(address)
}

// ---------------------------------------------------------------------------------------------
// Skipping, subprocesses, the cached install

/// Prints why the test cannot run and lets it pass, or fails it when `CI` is set.
fn unavailable(why: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "NTLM interop test cannot run under CI: {why}"
    );
    let _ = writeln!(std::io::stderr(), "skipping NTLM interop test: {why}");
}

/// Runs `command` to its end, killing it after `limit`: success and the output. `Err` when it
/// cannot start.
fn run(command: &mut Command, limit: Duration) -> std::io::Result<(bool, String)> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_string(&mut text);
            }
            text
        })
    };
    let out = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let err = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return Ok((false, format!("killed after {} s", limit.as_secs())));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = format!(
        "{}\n{}",
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default()
    );
    Ok((status.success(), output))
}

/// What pip prints when the registry cannot be reached.
const NETWORK_SIGNS: &[&str] = &[
    "NewConnectionError",
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Name or service not known",
    "Network is unreachable",
    "ConnectTimeoutError",
    "ReadTimeoutError",
    "Max retries exceeded",
    "killed after",
];

/// The venv's python with pyspnego (and the `cryptography` it depends on) in it, installed
/// once per target dir.
fn pyspnego_python() -> Option<PathBuf> {
    let probe = run(
        Command::new("python3").args(["-c", "import venv, ensurepip"]),
        PROBE_TIMEOUT,
    );
    if !probe.is_ok_and(|(ok, _)| ok) {
        unavailable(&format!(
            "python3 with its venv module is missing: {INSTALL_HINT}"
        ));
        return None;
    }
    let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("interop-cache")
        .join("pyspnego-venv");
    let python = venv.join("bin").join("python");
    let stamp = venv.join(".ewsconf-installed");
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s == PYSPNEGO) {
        return Some(python);
    }
    // A half-finished install from an interrupted run starts over.
    let _ = std::fs::remove_dir_all(&venv);
    std::fs::create_dir_all(&venv).expect("cache folder");
    let (made, output) = run(
        Command::new("python3").args(["-m", "venv"]).arg(&venv),
        INSTALL_TIMEOUT,
    )
    .expect("python3 runs");
    assert!(made, "python3 -m venv failed ({INSTALL_HINT}):\n{output}");
    let (installed, output) = run(
        Command::new(&python).args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-input",
            "--quiet",
            "--retries",
            "1",
            "--timeout",
            "30",
            PYSPNEGO,
        ]),
        INSTALL_TIMEOUT,
    )
    .expect("pip runs");
    if !installed {
        let _ = std::fs::remove_dir_all(&venv);
        if NETWORK_SIGNS.iter().any(|s| output.contains(s)) {
            unavailable(&format!(
                "installing {PYSPNEGO}: the package registry cannot be reached:\n{output}"
            ));
            return None;
        }
        panic!("installing {PYSPNEGO} failed:\n{output}");
    }
    std::fs::write(&stamp, PYSPNEGO).expect("stamp file");
    Some(python)
}

// ---------------------------------------------------------------------------------------------
// The front

/// How the front is set up.
#[derive(Default)]
struct FrontOptions {
    /// Expect the binding of a certificate other than the one served.
    bind_to_other_cert: bool,
    /// Close each connection after this many logged-in requests (0: never).
    requests_per_connection: usize,
}

/// A running `ntlm_front.py` in front of a mock.
struct Front {
    child: Child,
    /// The front's EWS URL.
    url: String,
    /// The CA certificate (PEM) the front's certificate is signed with.
    ca: PathBuf,
    events: PathBuf,
    _dir: tempfile::TempDir,
}

impl Front {
    /// Starts the front with pyspnego's credential file holding every default account (as
    /// `EXAMPLE\user` with its NTLM password), forwarding to `upstream`.
    fn start(python: &Path, upstream: &str, options: &FrontOptions) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let users: String = DEFAULT_ACCOUNTS
            .iter()
            .map(|a| {
                let user = user_of(a.address);
                format!("{DOMAIN}:{user}:{}\n", ntlm_password(user))
            })
            .collect();
        let user_file = dir.path().join("ntlm-users");
        std::fs::write(&user_file, users).unwrap();
        let ca = dir.path().join("ca.pem");
        let events = dir.path().join("events.jsonl");
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/ntlm_front.py");
        let mut command = Command::new(python);
        command
            .arg(script)
            .args(["--upstream", upstream, "--upstream-domain", "example.com"])
            .args(["--upstream-password-env", "UPSTREAM_PASSWORD"])
            .arg("--ca-out")
            .arg(&ca)
            .arg("--events")
            .arg(&events)
            .args([
                "--requests-per-connection",
                &options.requests_per_connection.to_string(),
            ])
            .env("NTLM_USER_FILE", &user_file)
            .env("UPSTREAM_PASSWORD", DEFAULT_PASSWORD)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if options.bind_to_other_cert {
            command.arg("--bind-to-other-cert");
        }
        let mut child = command.spawn().expect("the front starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(FRONT_START).unwrap_or_default();
        let Some(port) = line.strip_prefix("listening ").map(str::trim) else {
            let _ = child.kill();
            panic!("the front did not start (it printed {line:?})");
        };
        Self {
            child,
            url: format!("https://127.0.0.1:{port}/EWS/Exchange.asmx"),
            ca,
            events,
            _dir: dir,
        }
    }

    /// One JSON object per request the front got, in order.
    fn events(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.events)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("an event is JSON"))
            .collect()
    }

    /// A client for the front, trusting its CA.
    fn client(&self) -> Client {
        let options = ClientOptions {
            ca_cert: Some(self.ca.clone()),
            insecure: false,
            timeout: Duration::from_secs(30),
        };
        Client::new(&self.url, &options).expect("client")
    }
}

impl Drop for Front {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn intended_mock() -> MockServer {
    MockServer::start(MockConfig::with_profile(Profile::Intended))
        .await
        .expect("mock starts")
}

/// An NTLM account of the front's credential file.
fn ntlm(user: &str, password: &str) -> Auth {
    Auth::Ntlm {
        username: format!("{DOMAIN}\\{user}"),
        password: Secret::new(password),
    }
}

/// A GetFolder of `address`'s Inbox: a request that answers the same every time.
fn get_inbox(address: &str) -> Post {
    Post::soap(&RequestEnvelope::new(GetFolder {
        folder_shape: Shape::new(BaseShape::IdOnly),
        folder_ids: vec![folder_of(address, DistinguishedFolderName::Inbox)],
    }))
}

/// A target file naming every default account as an NTLM account of the front.
fn target_file(url: &str, mock: &MockServer) -> String {
    let directory = &mock.store().directory;
    let mut text = format!("url = \"{url}\"\nunknown_domain = \"example.com\"\n");
    for account in &DEFAULT_ACCOUNTS {
        let user = user_of(account.address);
        text.push_str(&format!(
            "\n[accounts.{role}]\naddress = \"{address}\"\nusername = \"{DOMAIN}\\\\{user}\"\n\
             password_env = \"NTLM_PW_{upper}\"\nauth = \"ntlm\"\n",
            role = account.role,
            address = account.address,
            upper = user.to_uppercase(),
        ));
        if let Some(i) = directory.by_address(account.address) {
            text.push_str(&format!("sid = \"{}\"\n", directory.users()[i].sid));
        }
    }
    text
}

// ---------------------------------------------------------------------------------------------
// Tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_passes_through_a_front_requiring_ntlm_channel_binding_and_no_output_holds_a_password()
 {
    let Some(python) = pyspnego_python() else {
        return;
    };
    // Arrange: the mock behind the front, and a target file of NTLM accounts.
    let mock = intended_mock().await;
    let front = Front::start(&python, mock.url(), &FrontOptions::default());
    let work = tempfile::tempdir().unwrap();
    std::fs::write(
        work.path().join("target.toml"),
        target_file(&front.url, &mock),
    )
    .unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_ewsconf"));
    command
        .args(["run", "--target", "target.toml", "--ca-cert"])
        .arg(&front.ca)
        .args(["--cases", concat!(env!("CARGO_MANIFEST_DIR"), "/../cases")])
        .args(["--report-dir", "reports", "--no-progress"])
        .current_dir(work.path());
    for account in &DEFAULT_ACCOUNTS {
        let user = user_of(account.address);
        command.env(
            format!("NTLM_PW_{}", user.to_uppercase()),
            ntlm_password(user),
        );
    }

    // Act
    let out = tokio::task::spawn_blocking(move || {
        common::within(RUN_TIMEOUT, "the suite through the NTLM front", move || {
            command.output().expect("ewsconf runs")
        })
    })
    .await
    .unwrap();

    // Assert: each case ends as it does against the same mock reached directly, and none
    // fails or errs.
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let files = common::files_below(work.path());
    let report: Value = files
        .iter()
        .find(|(p, _)| p.ends_with("report.json"))
        .map(|(_, b)| serde_json::from_slice(b).expect("report.json is JSON"))
        .unwrap_or_else(|| panic!("no report.json:\n{stdout}\n{stderr}"));
    let through_front: BTreeMap<String, String> = report["outcomes"]
        .as_array()
        .expect("outcomes")
        .iter()
        .map(|o| {
            let verdict = o["verdict"].as_str().unwrap_or_default().to_owned();
            (o["id"].as_str().unwrap_or_default().to_owned(), verdict)
        })
        .collect();
    let failed: Vec<String> = report["outcomes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|o| o["verdict"] == "fail" || o["verdict"] == "error")
        .map(|o| format!("{} {}: {}", o["verdict"], o["id"], o["reason"]))
        .collect();
    assert!(failed.is_empty(), "{}\n{stderr}", failed.join("\n"));
    let direct: BTreeMap<String, String> =
        common::run_suite(MockConfig::with_profile(Profile::Intended))
            .await
            .outcomes
            .iter()
            .map(|o| {
                let verdict = serde_json::to_value(o.verdict).unwrap();
                (
                    o.id.clone(),
                    verdict.as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
    assert_eq!(through_front, direct);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");

    // The logins: connection by connection, each on an empty POST, none refused, and the
    // requests of the run went over logged-in connections without credentials of their own.
    let events = front.events();
    let logins: Vec<&Value> = events
        .iter()
        .filter(|e| e["auth"] == "authenticate")
        .collect();
    assert!(!logins.is_empty(), "no NTLM login reached the front");
    for login in &logins {
        assert_eq!(login["body_bytes"], 0, "a login carried a request: {login}");
        assert!(
            login.get("refused").is_none(),
            "a login was refused: {login}"
        );
    }
    let requests: Vec<&Value> = events
        .iter()
        .filter(|e| e["auth"] == "none" && e["body_bytes"] != 0)
        .collect();
    assert!(
        requests.iter().all(|e| e["status"] != 401),
        "a request was refused on a logged-in connection"
    );
    let send_items = requests
        .iter()
        .filter(|e| e["action"] == "SendItem")
        .count();
    assert!(send_items > 0, "no SendItem went through the front");
    let most_logins = DEFAULT_ACCOUNTS.len() * ewsconf::target::ntlm::CONNECTIONS_PER_ACCOUNT;
    assert!(
        logins.len() <= most_logins && logins.len() < requests.len(),
        "{} logins for {} requests: NTLM logged in per request, not per connection",
        logins.len(),
        requests.len()
    );

    // No NTLM password in the reports, stdout or stderr.
    for (what, text) in files
        .iter()
        .map(|(p, b)| {
            (
                p.display().to_string(),
                String::from_utf8_lossy(b).into_owned(),
            )
        })
        .chain([("stdout".into(), stdout), ("stderr".into(), stderr)])
    {
        for account in &DEFAULT_ACCOUNTS {
            let password = ntlm_password(user_of(account.address));
            assert!(!text.contains(&password), "{what} holds {password}");
        }
    }
    drop(front);
    mock.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_an_ntlm_login_error_naming_the_account() {
    let Some(python) = pyspnego_python() else {
        return;
    };
    let mock = intended_mock().await;
    let front = Front::start(&python, mock.url(), &FrontOptions::default());
    let client = front.client();

    let result = client
        .post(
            &ntlm("boss", "not-the-password-31"),
            get_inbox("boss@example.com"),
        )
        .await;

    let err = result.expect_err("a wrong password logs in");
    assert!(matches!(err, TargetError::Login { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("NTLM")
            && message.contains("EXAMPLE\\boss")
            && message.contains("password"),
        "{message}"
    );
    assert!(!message.contains("not-the-password-31"), "{message}");
    let events = front.events();
    assert!(
        events.iter().all(|e| e["body_bytes"] == 0),
        "the request went out before a login: {events:?}"
    );
    assert!(
        events.iter().any(|e| e.get("refused").is_some()),
        "{events:?}"
    );

    // The right password on the same client logs in and gets the answer.
    let answer = client
        .post(
            &ntlm("boss", &ntlm_password("boss")),
            get_inbox("boss@example.com"),
        )
        .await
        .expect("the right password logs in");
    assert_eq!(answer.status, 200);
    assert!(answer.envelope().is_ok(), "{:?}", answer.body);
    drop(front);
    mock.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_bound_to_another_certificate_is_refused() {
    let Some(python) = pyspnego_python() else {
        return;
    };
    // The front expects the binding of a certificate other than the one it serves, as a server
    // behind a TLS-terminating middlebox would: the binding ewsconf sends cannot match.
    let mock = intended_mock().await;
    let front = Front::start(
        &python,
        mock.url(),
        &FrontOptions {
            bind_to_other_cert: true,
            ..FrontOptions::default()
        },
    );

    let result = front
        .client()
        .post(
            &ntlm("helper", &ntlm_password("helper")),
            get_inbox("helper@example.com"),
        )
        .await;

    let err = result.expect_err("a login with a binding to another certificate succeeded");
    let message = err.to_string();
    assert!(
        matches!(err, TargetError::Login { .. })
            && message.contains("NTLM")
            && message.contains("EXAMPLE\\helper")
            && message.contains("channel binding"),
        "{message}"
    );
    let events = front.events();
    let refused: Vec<&str> = events
        .iter()
        .filter_map(|e| e["refused"].as_str())
        .collect();
    assert_eq!(
        refused,
        ["a channel binding to another certificate"],
        "{events:?}"
    );
    drop(front);
    mock.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_connection_logs_in_again_and_no_request_goes_twice() {
    let Some(python) = pyspnego_python() else {
        return;
    };
    // The front closes each connection after 3 requests, as a keep-alive limit does.
    let mock = intended_mock().await;
    let front = Front::start(
        &python,
        mock.url(),
        &FrontOptions {
            requests_per_connection: 3,
            ..FrontOptions::default()
        },
    );
    let client = front.client();
    let auth = ntlm("carol", &ntlm_password("carol"));

    for n in 0..7 {
        let answer = client
            .post(&auth, get_inbox("carol@example.com"))
            .await
            .unwrap_or_else(|e| panic!("request {n}: {e}"));
        assert_eq!(answer.status, 200, "request {n}");
    }

    let events = front.events();
    let logins = events
        .iter()
        .filter(|e| e["auth"] == "authenticate")
        .count();
    let requests = events
        .iter()
        .filter(|e| e["auth"] == "none" && e["action"] == "GetFolder")
        .count();
    // The login's empty POST counts towards the 3, so each connection carries two of the 7
    // requests: four connections, each logged in once.
    assert_eq!((logins, requests), (4, 7), "{events:?}");
    drop(front);
    mock.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_answer_size_cap_holds_on_an_ntlm_connection() {
    let Some(python) = pyspnego_python() else {
        return;
    };
    let mock = intended_mock().await;
    let front = Front::start(&python, mock.url(), &FrontOptions::default());
    let client = front.client().with_max_response_bytes(64);

    let result = client
        .post(
            &ntlm("boss", &ntlm_password("boss")),
            get_inbox("boss@example.com"),
        )
        .await;

    assert!(
        matches!(result, Err(TargetError::TooLarge { limit: 64, .. })),
        "{result:?}"
    );
    drop(front);
    mock.shutdown().await;
}

#[tokio::test]
async fn a_server_without_ntlm_is_named_with_the_schemes_it_offers() {
    // The mock offers Basic only.
    let mock = intended_mock().await;
    let client = Client::new(mock.url(), &ClientOptions::default()).unwrap();

    let result = client
        .post(&ntlm("boss", "any-password"), get_inbox("boss@example.com"))
        .await;

    let message = result.expect_err("logged in without NTLM").to_string();
    assert!(
        message.contains("NTLM")
            && message.contains("EXAMPLE\\boss")
            && message.contains("offers: Basic"),
        "{message}"
    );
    mock.shutdown().await;
}

#[tokio::test]
async fn a_server_that_never_answers_the_login_times_out() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/EWS/Exchange.asmx",
        listener.local_addr().unwrap()
    );
    // Accepts connections and reads nothing.
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    let options = ClientOptions {
        timeout: Duration::from_secs(1),
        ..ClientOptions::default()
    };
    let client = Client::new(&url, &options).unwrap();

    let result = tokio::time::timeout(
        Duration::from_secs(30),
        client.post(&ntlm("boss", "any-password"), get_inbox("boss@example.com")),
    )
    .await
    .expect("the client gave up by itself");

    assert!(
        matches!(result, Err(TargetError::Timeout { .. })),
        "{result:?}"
    );
    held.abort();
}
