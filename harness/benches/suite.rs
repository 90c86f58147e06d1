//! Wall time and peak memory of the whole suite in `cases/` against the embedded mock, as
//! `ewsconf run` does it (release build, default jobs), and the throughput of `ewsconf fuzz`
//! including schema validation of every response.
//!
//! Run with `cargo bench --bench suite`. Figures are medians of 5 runs; peak memory is the
//! process's high-water mark (VmHWM), measured in a fresh child process per figure.

mod common;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use ewsconf::case::load_dir;
use ewsconf::fuzz::{FuzzOptions, fuzz};
use ewsconf::mock::{MockConfig, Profile};
use ewsconf::run::{Interrupt, RunOptions, run};
use ewsconf::schema::SchemaSet;
use ewsconf::target::Target;

use common::{child_arg, child_figures, median, peak_rss_mib, suite_dir};

const RUNS: usize = 5;
const FUZZ_CASES: usize = 20_000;

/// One measurement in this process; prints `seconds rate peak_mib`.
fn child(kind: &str) -> ExitCode {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let cases = load_dir(&suite_dir()).expect("suite");
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
    if let Some(kind) = child_arg() {
        return child(&kind);
    }
    let measure = |kind: &str| -> Vec<(f64, f64, f64)> {
        (0..RUNS)
            .map(|_| {
                let (v, said) = child_figures(kind);
                assert_eq!(v.len(), 3, "child said: {said}");
                (v[0], v[1], v[2])
            })
            .collect()
    };
    let cases = load_dir(&suite_dir()).map_or(0, |c| c.len());
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
