//! Tools written elsewhere that interop tests drive: subprocesses run to their end with a
//! deadline, and installs from a package registry (a Python venv with pip packages, or anything
//! else) cached under the cargo target dir. Where a registry cannot be reached or a tool is
//! missing, a test prints a notice and passes; with `CI` set it fails instead.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one install (a venv, a pip or npm install) may take.
pub const INSTALL_TIMEOUT: Duration = Duration::from_secs(300);
/// How long a probe for a tool (`python3 -c …`, `node --version`) may take.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(30);

/// What a subprocess did.
pub struct Finished {
    /// It exited with success.
    pub success: bool,
    /// Killed at the deadline.
    pub timed_out: bool,
    /// Its stdout (empty when it was killed).
    pub stdout: String,
    /// Its stderr (when it was killed, a line saying so).
    pub stderr: String,
}

impl Finished {
    /// Stdout and stderr, one after the other.
    pub fn output(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// Prints why `test` cannot run and lets it pass, or fails it when `CI` is set.
pub fn unavailable(test: &str, why: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "{test} cannot run under CI: {why}"
    );
    // Straight to stderr, not eprintln!: the notice shows even when the harness captures output.
    let _ = writeln!(std::io::stderr(), "skipping {test}: {why}");
}

/// Runs `command` to its end, killing it after `limit`. `Err` when it cannot start.
pub fn run(command: &mut Command, limit: Duration) -> std::io::Result<Finished> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    // Drain both pipes on threads so a chatty child never blocks on a full pipe.
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
            // A grandchild may still hold the pipes open: leave the readers behind.
            return Ok(Finished {
                success: false,
                timed_out: true,
                stdout: String::new(),
                stderr: format!("killed after {} s", limit.as_secs()),
            });
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Ok(Finished {
        success: status.success(),
        timed_out: false,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
}

/// True when `command` runs and succeeds: a probe for a tool.
pub fn works(command: &mut Command) -> bool {
    run(command, PROBE_TIMEOUT).is_ok_and(|f| f.success)
}

/// The folder installs are cached in, below the cargo target dir.
pub fn cache_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("interop-cache")
}

/// How to get a Python that makes venvs, for [`venv_python`]'s `hint`.
pub const PYTHON_HINT: &str =
    "install Python 3 with venv and pip (Debian: apt-get install python3 python3-venv python3-pip)";

/// What pip and npm print when the registry cannot be reached.
const NETWORK_SIGNS: &[&str] = &[
    "NewConnectionError",
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Name or service not known",
    "Network is unreachable",
    "Connection refused",
    "ConnectTimeoutError",
    "ReadTimeoutError",
    "Max retries exceeded",
    "ENOTFOUND",
    "EAI_AGAIN",
    "ECONNREFUSED",
    "ECONNRESET",
    "ETIMEDOUT",
    "ENETUNREACH",
    "network request to",
];

/// The lines of an install's output that say the registry cannot be reached.
fn network_errors(output: &str) -> Vec<&str> {
    output
        .lines()
        .filter(|l| NETWORK_SIGNS.iter().any(|s| l.contains(s)))
        .take(3)
        .collect()
}

/// Runs `install` into `dir` unless a previous run finished it (its stamp file names `what`),
/// holding a lock beside `dir` meanwhile.
/// `None` (after [`unavailable`] for `test`) when the registry cannot be reached; a failure for
/// any other reason fails the test.
pub fn cached_install(
    test: &str,
    dir: &Path,
    what: &str,
    install: impl FnOnce(&Path) -> std::io::Result<Finished>,
) -> Option<()> {
    // One install at a time per folder, across the tests of a binary and across binaries: two
    // tests wanting the same venv at once would otherwise build it over each other.
    std::fs::create_dir_all(cache_dir()).expect("cache folder");
    let lock = std::fs::File::create(dir.with_extension("lock")).expect("lock file");
    lock.lock().expect("install lock");
    let stamp = dir.join(".ewsconf-installed");
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s == what) {
        return Some(());
    }
    // A half-finished install from an interrupted run starts over.
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("cache folder");
    let started = Instant::now();
    let finished = install(dir).unwrap_or_else(|e| panic!("installing {what}: {e}"));
    let output = finished.output();
    if !finished.success {
        let _ = std::fs::remove_dir_all(dir);
        let network = if finished.timed_out {
            vec![finished.stderr.as_str()]
        } else {
            network_errors(&output)
        };
        if !network.is_empty() {
            unavailable(
                test,
                &format!(
                    "installing {what}: the package registry cannot be reached:\n{}",
                    network.join("\n")
                ),
            );
            return None;
        }
        panic!("installing {what} failed:\n{output}");
    }
    std::fs::write(&stamp, what).expect("stamp file");
    let _ = writeln!(
        std::io::stderr(),
        "installed {what} in {:.1} s (cold cache)",
        started.elapsed().as_secs_f64()
    );
    Some(())
}

/// The python of a venv named `name` in the [`cache_dir`] with `package` (a pinned pip
/// requirement) installed in it, made once per target dir. `None` (after [`unavailable`] for
/// `test`) when `python3` cannot make a venv or the registry cannot be reached; `hint` says how
/// to install what is missing.
pub fn venv_python(test: &str, name: &str, package: &str, hint: &str) -> Option<PathBuf> {
    // Debian's python3 makes venvs only with python3-venv, which brings ensurepip.
    if !works(Command::new("python3").args(["-c", "import venv, ensurepip"])) {
        unavailable(
            test,
            &format!("python3 with its venv module is missing: {hint}"),
        );
        return None;
    }
    let venv = cache_dir().join(name);
    let python = venv.join("bin").join("python");
    cached_install(test, &venv, package, |dir| {
        let made = run(
            Command::new("python3").args(["-m", "venv"]).arg(dir),
            INSTALL_TIMEOUT,
        )?;
        assert!(
            made.success,
            "python3 -m venv failed ({hint}):\n{}",
            made.output()
        );
        run(
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
                package,
            ]),
            INSTALL_TIMEOUT,
        )
    })?;
    Some(python)
}

/// Runs a client script (Python or Node.js) logged in as `user` with `password`, for at most
/// `limit`, and returns the JSON object it printed last; fails the test, with what it printed,
/// when it fails or prints no JSON.
pub async fn run_client(
    mut command: Command,
    user: &str,
    password: &str,
    limit: Duration,
) -> serde_json::Value {
    command
        .env("EWS_USER", user)
        .env("EWS_PASSWORD", password)
        // The server is on loopback: no proxy from the environment may sit in between.
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost");
    let what = format!("{command:?}");
    let finished = tokio::task::spawn_blocking(move || run(&mut command, limit))
        .await
        .expect("client thread")
        .unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    assert!(
        finished.success,
        "{what} failed{}\nstdout:\n{}\nstderr:\n{}",
        if finished.timed_out {
            " (timed out)"
        } else {
            ""
        },
        finished.stdout,
        finished.stderr
    );
    let last = finished.stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("{what}: last line is not JSON ({e}): {last:?}"))
}
