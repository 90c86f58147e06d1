//! Wall time and peak memory of the whole suite in `cases/` against the embedded mock, as
//! `ewsconf run` does it (release build, default jobs), and the throughput of `ewsconf fuzz`
//! including schema validation of every response.
//!
//! Run with `cargo bench --bench suite`. Figures are medians of 5 runs; peak memory is the
//! process's high-water mark (VmHWM), measured in a fresh child process per figure.

use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use ewsconf::case::load_dir;
use ewsconf::fuzz::{FuzzOptions, fuzz};
use ewsconf::mock::{MockConfig, Profile};
use ewsconf::run::{Interrupt, RunOptions, run};
use ewsconf::schema::SchemaSet;
use ewsconf::target::Target;

const RUNS: usize = 5;
const FUZZ_CASES: usize = 20_000;

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// One measurement in this process; prints `seconds rate peak_mib`.
fn child(kind: &str) -> ExitCode {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let cases = load_dir(&PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../cases"
    )))
    .expect("suite");
    let schemas = SchemaSet::embedded().expect("schemas");
    let jobs = std::thread::available_parallelism().map_or(2, |n| n.get());
    let (seconds, rate) = runtime.block_on(async {
        let started = Instant::now();
        let target = Target::embedded(MockConfig::with_profile(Profile::Documented))
            .await
            .expect("mock");
        match kind {
            "suite" => {
                let options = RunOptions {
                    jobs,
                    keep: false,
                    case_timeout: Duration::from_secs(60),
                    schemas,
                };
                let summary = run(&target, &cases, &options, &Interrupt::default(), |_| {})
                    .await
                    .expect("run");
                assert!(summary.conforms(), "the suite does not conform to the mock");
                (
                    started.elapsed().as_secs_f64(),
                    cases.len() as f64 / started.elapsed().as_secs_f64(),
                )
            }
            _ => {
                let options = FuzzOptions {
                    cases: FUZZ_CASES,
                    seed: 7,
                    jobs: 8 * jobs,
                    batch: 512,
                    schemas,
                    regressions: None,
                    max_body: ewsconf::limits::DEFAULT_MAX_BODY_BYTES,
                    shrink_steps: 0,
                    max_failures: 0,
                };
                let report = fuzz(&target, &options, |_| {}).await.expect("fuzz");
                let secs = report.summary.elapsed.as_secs_f64();
                (secs, report.tally.exchanges as f64 / secs)
            }
        }
    });
    println!("{seconds} {rate} {}", peak_rss_mib());
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        return child(&args[i + 1]);
    }
    let exe = std::env::current_exe().expect("own path");
    let measure = |kind: &str| -> Vec<(f64, f64, f64)> {
        (0..RUNS)
            .map(|_| {
                let out = Command::new(&exe)
                    .args(["--child", kind])
                    .output()
                    .expect("child runs");
                let text = String::from_utf8_lossy(&out.stdout);
                let v: Vec<f64> = text
                    .split_whitespace()
                    .filter_map(|x| x.parse().ok())
                    .collect();
                assert_eq!(
                    v.len(),
                    3,
                    "child said: {text}{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                (v[0], v[1], v[2])
            })
            .collect()
    };
    let cases = load_dir(&PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../cases"
    )))
    .map_or(0, |c| c.len());
    let suite = measure("suite");
    let fuzzed = measure("fuzz");
    let col =
        |v: &[(f64, f64, f64)], f: fn(&(f64, f64, f64)) -> f64| median(v.iter().map(f).collect());
    println!(
        "cargo bench --bench suite (release; medians of {RUNS} runs, each in a fresh process)\n"
    );
    println!("| measurement | wall time | rate | peak memory (VmHWM) |");
    println!("|---|---:|---:|---:|");
    println!(
        "| whole suite ({cases} cases) against the embedded mock | {:.2} s | {:.0} cases/s | {:.1} MiB |",
        col(&suite, |r| r.0),
        col(&suite, |r| r.1),
        col(&suite, |r| r.2)
    );
    println!(
        "| ewsconf fuzz, {FUZZ_CASES} exchanges, every response schema-validated | {:.2} s | {:.0} exchanges/s | {:.1} MiB |",
        col(&fuzzed, |r| r.0),
        col(&fuzzed, |r| r.1),
        col(&fuzzed, |r| r.2)
    );
    println!(
        "\nall runs (suite seconds): {:?}",
        suite
            .iter()
            .map(|r| (r.0 * 100.0).round() / 100.0)
            .collect::<Vec<_>>()
    );
    println!(
        "all runs (fuzz exchanges/s): {:?}",
        fuzzed.iter().map(|r| r.1.round()).collect::<Vec<_>>()
    );
    ExitCode::SUCCESS
}
