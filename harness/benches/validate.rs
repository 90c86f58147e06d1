//! Throughput of strict parse + validation of a ~2 KB SendItemResponse envelope: ewsconf on one
//! thread, on every core, and `xmllint --schema` over the same documents in one process, given
//! the schema files as written and as ewsconf compiles them (long enumerations as patterns).
//!
//! Run with `cargo bench --bench validate`. Each figure is the median of 5 runs.

use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use ewsconf::schema::{SchemaSet, compiled_schemas, embedded_schemas};

mod common;

use common::{WRAPPER, envelope, median, write_schemas};

const RUNS: usize = 5;
const DOCS_PER_THREAD: usize = 20_000;
const XMLLINT_FILES: usize = 5_000;

/// Docs/s of `threads` threads each validating `DOCS_PER_THREAD` documents.
fn ewsconf_run(set: &SchemaSet, doc: &[u8], threads: usize) -> f64 {
    let start = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                for _ in 0..DOCS_PER_THREAD {
                    let validation = set.validate(doc);
                    assert!(validation.is_valid(), "{:?}", validation.errors);
                }
            });
        }
    });
    (threads * DOCS_PER_THREAD) as f64 / start.elapsed().as_secs_f64()
}

/// Docs/s of one xmllint process validating `XMLLINT_FILES` files, or why it could not run.
fn xmllint_run(dir: &Path, files: &[String]) -> Result<f64, String> {
    let start = Instant::now();
    let status = Command::new("xmllint")
        .current_dir(dir)
        .args(["--noout", "--schema", WRAPPER])
        .args(files)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| e.to_string())?;
    let elapsed = start.elapsed().as_secs_f64();
    if !status.success() {
        return Err(format!(
            "xmllint failed ({status}); run it by hand in {}",
            dir.display()
        ));
    }
    Ok(files.len() as f64 / elapsed)
}

/// Writes `schemas` (name, text) beside the wrapper schema and `XMLLINT_FILES` copies of `doc`.
fn write_xmllint_inputs<'a>(
    dir: &Path,
    schemas: impl Iterator<Item = (&'a str, &'a str)>,
    doc: &str,
) -> std::io::Result<Vec<String>> {
    write_schemas(dir, schemas)?;
    (0..XMLLINT_FILES)
        .map(|i| {
            let name = format!("f{i:05}.xml");
            std::fs::write(dir.join(&name), doc)?;
            Ok(name)
        })
        .collect()
}

fn main() -> ExitCode {
    let doc = envelope();
    let set = match SchemaSet::embedded() {
        Ok(set) => set,
        Err(e) => {
            eprintln!("embedded schemas do not compile: {e}");
            return ExitCode::FAILURE;
        }
    };
    let first = set.validate(doc.as_bytes());
    if !first.is_valid() {
        eprintln!("the benchmark document is not valid: {:?}", first.errors);
        return ExitCode::FAILURE;
    }
    let cores = std::thread::available_parallelism().map_or(1, usize::from);

    let one = median(
        (0..RUNS)
            .map(|_| ewsconf_run(set, doc.as_bytes(), 1))
            .collect(),
    );
    let all = median(
        (0..RUNS)
            .map(|_| ewsconf_run(set, doc.as_bytes(), cores))
            .collect(),
    );

    let xmllint = |schemas: &mut dyn Iterator<Item = (&'static str, &'static str)>| {
        let dir = tempfile::tempdir().map_err(|e| format!("cannot create a temp dir: {e}"))?;
        let files = write_xmllint_inputs(dir.path(), schemas, &doc)
            .map_err(|e| format!("cannot write the xmllint inputs: {e}"))?;
        let runs: Result<Vec<f64>, String> =
            (0..RUNS).map(|_| xmllint_run(dir.path(), &files)).collect();
        runs.map(median)
    };
    let as_written = xmllint(&mut embedded_schemas());
    let as_compiled = xmllint(&mut compiled_schemas());

    println!(
        "validate: strict parse + schema validation of a {}-byte SendItemResponse envelope",
        doc.len()
    );
    println!(
        "median of {RUNS} runs; ewsconf: {DOCS_PER_THREAD} docs per thread; xmllint: {XMLLINT_FILES} files in one process"
    );
    println!();
    println!("  {:<38} {:>8}", "run", "docs/s");
    println!("  {:<38} {:>8.0}", "(a) ewsconf, 1 thread", one);
    println!(
        "  {:<38} {:>8.0}",
        format!("(b) ewsconf, {cores} threads"),
        all
    );
    let mut rates = Vec::new();
    for (label, result) in [
        ("(c) xmllint, schema files as written", as_written),
        ("(d) xmllint, schemas as compiled", as_compiled),
    ] {
        match result {
            Ok(rate) => {
                println!("  {label:<38} {rate:>8.0}");
                rates.push(rate);
            }
            Err(e) if e.contains("No such file") || e.contains("not found") => {
                println!("  {label}: not installed; skipped (apt-get install libxml2-utils)");
            }
            Err(e) => println!("  {label}: skipped: {e}"),
        }
    }
    if let [written, compiled] = rates[..] {
        println!();
        println!("  ratio (b)/(c): {:.1}", all / written);
        println!("  ratio (b)/(d): {:.1}", all / compiled);
    }
    ExitCode::SUCCESS
}
