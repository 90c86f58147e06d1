//! A front written in Python (`tests/interop/*_front.py`) run as a child process in front of an
//! EWS endpoint: it serves HTTPS on loopback with a certificate of its own (its CA written to
//! `--ca-out`), prints `listening PORT` once it serves, and logs one JSON object per request it
//! got to `--events`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use ewsconf::accounts::{DEFAULT_ACCOUNTS, DefaultAccount};
use ewsconf::mock::{MockConfig, MockServer, Profile};
use ewsconf::target::{Client, ClientOptions};

use super::installs;

/// How long a front may take to say it listens.
pub const FRONT_START: Duration = Duration::from_secs(60);

/// A scratch folder for a front, and the command that starts `script` (a file name in
/// `tests/interop/`) with `python`, writing its CA certificate and its events into that folder.
/// The front's own options follow; [`Front::start`] starts it.
pub fn command(python: &Path, script: &str) -> (tempfile::TempDir, Command) {
    let dir = tempfile::tempdir().expect("a scratch folder");
    let mut command = Command::new(python);
    command
        .arg(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop")).join(script))
        .arg("--ca-out")
        .arg(dir.path().join("ca.pem"))
        .arg("--events")
        .arg(dir.path().join("events.jsonl"));
    (dir, command)
}

/// A running front, killed when dropped.
pub struct Front {
    child: Child,
    /// The front's EWS URL.
    pub url: String,
    /// The port the front listens on, on 127.0.0.1.
    pub port: String,
    /// The CA certificate (PEM) the front's certificate is signed with.
    pub ca: PathBuf,
    events: PathBuf,
    /// The front's scratch folder.
    pub dir: tempfile::TempDir,
}

impl Front {
    /// Starts `command` (as [`command`] made it, in `dir`) and waits for it to say it listens;
    /// fails the test unless it does within [`FRONT_START`].
    pub fn start(dir: tempfile::TempDir, command: Command) -> Self {
        match Self::launch(dir, command) {
            Ok(front) => front,
            Err(NotStarted::Spawn(e)) => panic!("the front starts: {e}"),
            Err(NotStarted::Unavailable(why)) => {
                panic!("the front did not start (it printed \"unavailable: {why}\")")
            }
        }
    }

    /// [`Front::start`], but where the front cannot start here (its interpreter is missing, or
    /// it printed `unavailable: WHY`) `None`, after [`installs::unavailable`] for `test`.
    pub fn start_or_skip(dir: tempfile::TempDir, command: Command, test: &str) -> Option<Self> {
        let program = command.get_program().to_string_lossy().into_owned();
        let why = match Self::launch(dir, command) {
            Ok(front) => return Some(front),
            Err(NotStarted::Spawn(e)) => format!("{program} cannot start: {e}"),
            Err(NotStarted::Unavailable(why)) => why,
        };
        installs::unavailable(test, &why);
        None
    }

    /// Starts `command` and reads its first line: the running front once it says it listens;
    /// fails the test when it says something else or nothing within [`FRONT_START`].
    fn launch(dir: tempfile::TempDir, mut command: Command) -> Result<Self, NotStarted> {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(NotStarted::Spawn)?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(FRONT_START).unwrap_or_default();
        if let Some(why) = line.strip_prefix("unavailable: ") {
            let _ = child.kill();
            let _ = child.wait();
            return Err(NotStarted::Unavailable(why.trim().to_owned()));
        }
        let Some(port) = line.strip_prefix("listening ").map(str::trim) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the front did not start (it printed {line:?})");
        };
        Ok(Self {
            child,
            url: format!("https://127.0.0.1:{port}/EWS/Exchange.asmx"),
            port: port.to_owned(),
            ca: dir.path().join("ca.pem"),
            events: dir.path().join("events.jsonl"),
            dir,
        })
    }

    /// One JSON object per request the front got, in order.
    pub fn events(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.events)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("an event is JSON"))
            .collect()
    }

    /// Client options trusting the front's CA, giving up on a call after 30 s.
    pub fn client_options(&self) -> ClientOptions {
        ClientOptions {
            ca_cert: Some(self.ca.clone()),
            insecure: false,
            timeout: Duration::from_secs(30),
        }
    }

    /// A client for the front, as [`Front::client_options`] sets it up.
    pub fn client(&self) -> Client {
        Client::new(&self.url, &self.client_options()).expect("client")
    }
}

/// Why a front did not start.
enum NotStarted {
    /// Its interpreter could not be started.
    Spawn(std::io::Error),
    /// It printed `unavailable: WHY`: it cannot run here.
    Unavailable(String),
}

impl Drop for Front {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What `ewsconf run` of the whole suite did through a front.
pub struct SuiteRun {
    /// How the command ended, and all it printed.
    pub out: std::process::Output,
    /// Its stdout, as text.
    pub stdout: String,
    /// Its stderr, as text.
    pub stderr: String,
    /// The `report.json` it wrote.
    pub report: serde_json::Value,
    /// Every file it wrote, by its path below the scratch folder.
    pub files: Vec<(PathBuf, Vec<u8>)>,
}

impl Front {
    /// Runs `ewsconf run` of the whole suite in a fresh scratch folder holding `target` as
    /// `target.toml`, trusting the front's CA, with `env` set; fails the test (as `what`) if it
    /// runs past `limit_secs` or writes no `report.json`.
    pub async fn run_suite(
        &self,
        target: &str,
        env: &[(String, String)],
        what: &'static str,
        limit_secs: u64,
    ) -> SuiteRun {
        let work = tempfile::tempdir().expect("a scratch folder");
        std::fs::write(work.path().join("target.toml"), target).expect("target file");
        let mut command = Command::new(env!("CARGO_BIN_EXE_ewsconf"));
        command
            .args(["run", "--target", "target.toml", "--ca-cert"])
            .arg(&self.ca)
            .args(["--cases", concat!(env!("CARGO_MANIFEST_DIR"), "/../cases")])
            .args(["--report-dir", "reports", "--no-progress"])
            .envs(env.iter().map(|(k, v)| (k, v)))
            .current_dir(work.path());
        let out = tokio::task::spawn_blocking(move || {
            super::within(limit_secs, what, move || {
                command.output().expect("ewsconf runs")
            })
        })
        .await
        .expect("the run's thread");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let files = super::files_below(work.path());
        let report = files
            .iter()
            .find(|(p, _)| p.ends_with("report.json"))
            .map(|(_, b)| serde_json::from_slice(b).expect("report.json is JSON"))
            .unwrap_or_else(|| panic!("no report.json:\n{stdout}\n{stderr}"));
        SuiteRun {
            out,
            stdout,
            stderr,
            report,
            files,
        }
    }
}

impl SuiteRun {
    /// The outcomes in `report.json`.
    pub fn outcomes(&self) -> &[serde_json::Value] {
        self.report["outcomes"].as_array().expect("outcomes")
    }

    /// Each case's verdict, by case id.
    pub fn verdicts(&self) -> BTreeMap<String, String> {
        self.outcomes()
            .iter()
            .map(|o| {
                let verdict = o["verdict"].as_str().unwrap_or_default().to_owned();
                (o["id"].as_str().unwrap_or_default().to_owned(), verdict)
            })
            .collect()
    }

    /// Everything the run wrote, by name: each file (by its path), its stdout and its stderr.
    pub fn texts(&self) -> Vec<(String, String)> {
        self.files
            .iter()
            .map(|(p, b)| {
                (
                    p.display().to_string(),
                    String::from_utf8_lossy(b).into_owned(),
                )
            })
            .chain([
                ("stdout".into(), self.stdout.clone()),
                ("stderr".into(), self.stderr.clone()),
            ])
            .collect()
    }

    /// Fails the test, showing stdout and stderr, unless the command exited with `code`.
    pub fn assert_exit_code(&self, code: i32) {
        assert_eq!(
            self.out.status.code(),
            Some(code),
            "{}\n{}",
            self.stdout,
            self.stderr
        );
    }

    /// Fails the test, naming each case and its reason, if a case failed or erred.
    pub fn assert_none_failed_or_erred(&self) {
        let failed: Vec<String> = self
            .outcomes()
            .iter()
            .filter(|o| o["verdict"] == "fail" || o["verdict"] == "error")
            .map(|o| format!("{} {}: {}", o["verdict"], o["id"], o["reason"]))
            .collect();
        assert!(failed.is_empty(), "{}\n{}", failed.join("\n"), self.stderr);
    }
}

/// Each case's verdict (as `report.json` names it), by case id, when the whole suite runs
/// against the intended mock reached directly.
pub async fn direct_verdicts() -> BTreeMap<String, String> {
    super::run_suite(MockConfig::with_profile(Profile::Intended))
        .await
        .outcomes
        .iter()
        .map(|o| {
            let verdict = serde_json::to_value(o.verdict).expect("a verdict serializes");
            (
                o.id.clone(),
                verdict.as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// The lines of a target file naming every default account of `mock`'s directory: for each,
/// `[accounts.ROLE]`, its `address`, what `extra` gives for it (each line ending in a newline),
/// and its `sid` when the directory has the account.
pub fn account_tables(mock: &MockServer, extra: impl Fn(&DefaultAccount) -> String) -> String {
    let directory = &mock.store().directory;
    let mut text = String::new();
    for account in &DEFAULT_ACCOUNTS {
        text.push_str(&format!(
            "\n[accounts.{}]\naddress = \"{}\"\n{}",
            account.role,
            account.address,
            extra(account)
        ));
        if let Some(i) = directory.by_address(account.address) {
            text.push_str(&format!("sid = \"{}\"\n", directory.users()[i].sid));
        }
    }
    text
}
