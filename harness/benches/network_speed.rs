//! Wall time of the whole suite against a server whose mail takes 2 s to arrive: `ewsconf mock
//! --delivery-delay-ms 2000` on loopback, reached as a real target through a target file, with
//! `ewsconf run`'s default settings.
//!
//! Run with `cargo bench --bench network_speed`. Figures are medians of `RUNS` runs (default 3,
//! set `EWSCONF_BENCH_RUNS`). To put another build beside this one, name its binary in
//! `EWSCONF_COMPARE_BIN`: its runs are interleaved with this build's, against the same mock.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::Instant;

const DELAY_MS: &str = "2000";

/// The roles the suite uses and the mock's default accounts that play them.
const ACCOUNTS: [(&str, &str); 7] = [
    ("principal", "boss"),
    ("delegate", "helper"),
    ("recipient", "carol"),
    ("outsider", "mallory"),
    ("impersonator", "svc"),
    ("reviewer", "reader"),
    ("sendas", "assistant"),
];

/// The mock, started from this build's binary; killed when dropped.
struct Mock(Child);

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the mock and returns it with the URL it printed.
fn start_mock(exe: &Path) -> (Mock, String) {
    let mut child = Command::new(exe)
        .args([
            "mock",
            "--listen",
            "127.0.0.1:0",
            "--delivery-delay-ms",
            DELAY_MS,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the mock starts");
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut first = String::new();
    BufReader::new(stdout)
        .read_line(&mut first)
        .expect("the mock prints its URL");
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("a URL on the mock's first line")
        .to_owned();
    (Mock(child), url)
}

fn target_file(url: &str, dir: &Path) -> PathBuf {
    let mut text = format!("url = \"{url}\"\nunknown_domain = \"example.com\"\n");
    for (role, user) in ACCOUNTS {
        text.push_str(&format!(
            "[accounts.{role}]\naddress = \"{user}@example.com\"\npassword_env = \"EWSCONF_BENCH_PASSWORD\"\n"
        ));
    }
    let path = dir.join("target.toml");
    std::fs::write(&path, text).expect("target file written");
    path
}

/// One run of `exe` against the target: its wall time in seconds. A run that does not conform
/// ends the benchmark with what it printed: its time would measure something else.
fn run_suite(exe: &Path, target: &Path, reports: &Path) -> f64 {
    let started = Instant::now();
    let out = Command::new(exe)
        .args(["run", "--no-progress", "--target"])
        .arg(target)
        .arg("--report-dir")
        .arg(reports)
        // The suite's cases are found relative to the working directory.
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .env("EWSCONF_BENCH_PASSWORD", "secret")
        .output()
        .expect("ewsconf runs");
    let seconds = started.elapsed().as_secs_f64();
    if !out.status.success() {
        let tail = |b: &[u8]| {
            let text = String::from_utf8_lossy(b).into_owned();
            text.lines().rev().take(20).collect::<Vec<_>>().join("\n")
        };
        panic!(
            "{} did not conform ({}):\n{}\n{}",
            exe.display(),
            out.status,
            tail(&out.stdout),
            tail(&out.stderr)
        );
    }
    seconds
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() -> ExitCode {
    if std::env::args().any(|a| a == "--list") {
        return ExitCode::SUCCESS;
    }
    let runs: usize = std::env::var("EWSCONF_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .max(1);
    let this = PathBuf::from(env!("CARGO_BIN_EXE_ewsconf"));
    let mut builds = vec![("this build", this.clone())];
    if let Some(other) = std::env::var_os("EWSCONF_COMPARE_BIN") {
        builds.push(("compared build", PathBuf::from(other)));
    }
    let dir = tempfile::tempdir().expect("temporary folder");
    let (_mock, url) = start_mock(&this);
    let target = target_file(&url, dir.path());
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); builds.len()];
    for _ in 0..runs {
        for (i, (name, exe)) in builds.iter().enumerate() {
            let seconds = run_suite(exe, &target, &dir.path().join("reports"));
            eprintln!("{name}: {seconds:.2} s");
            times[i].push(seconds);
        }
    }
    println!(
        "cargo bench --bench network_speed (release; mail delivered after {DELAY_MS} ms; default settings; medians of {runs} runs, interleaved)\n"
    );
    println!("| build | whole suite |");
    println!("|---|---:|");
    for ((name, _), t) in builds.iter().zip(&times) {
        println!("| {name} | {:.1} s |", median(t.clone()));
    }
    ExitCode::SUCCESS
}
