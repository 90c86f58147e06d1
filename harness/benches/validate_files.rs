//! Wall time of `ewsconf validate FILE…` over 20,000 SendItemResponse envelopes of about 2 KB,
//! each its own file, against `xmllint --noout --schema` over the same files.
//!
//! The release binary runs as a user runs it (every core, and `--jobs 1` for comparison);
//! xmllint is given the project's schema files as written and, like for like, as ewsconf
//! compiles them (long enumerations as patterns). Every tool gets the same command lines (the
//! file names split the same way when they would not fit on one), with its output thrown away.
//! Each round runs every tool once, starting with a different one each round; figures are
//! medians over the rounds, and the main ratio is also given round by round. The CPU time the
//! tool's processes used (user and system) shows how much of the machine each one had.
//!
//! Run with `cargo bench --bench validate_files`. Without xmllint (Debian: `libxml2-utils`)
//! only ewsconf is timed.

use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use ewsconf::schema::{SchemaSet, compiled_schemas, embedded_schemas};

mod common;

use common::{WRAPPER, envelope, median, write_schemas};

const ROUNDS: usize = 7;
const FILES: usize = 20_000;
/// Most bytes of file names (with their NULs and argv pointers) on one command line: well
/// under Linux's `ARG_MAX` (2 MiB by default, shared with the environment).
const ARG_BYTES: usize = 512 * 1024;

/// One tool's command line, less the file names.
struct Subject {
    label: String,
    program: &'static str,
    args: Vec<String>,
}

/// A run's wall time and its processes' CPU time (user and system), in seconds.
#[derive(Clone, Copy)]
struct Timing {
    wall: f64,
    cpu: f64,
}

/// CPU seconds used so far by the children this process has waited for.
fn children_cpu() -> f64 {
    // SAFETY: `getrusage` only writes the zeroed struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage
    };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

impl Subject {
    /// Runs over every chunk of files in `dir`; how long it took, or why it failed.
    fn run(&self, dir: &Path, chunks: &[&[String]]) -> Result<Timing, String> {
        let cpu = children_cpu();
        let start = Instant::now();
        for chunk in chunks {
            let status = Command::new(self.program)
                .current_dir(dir)
                .args(&self.args)
                .args(*chunk)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .map_err(|e| format!("{}: {e}", self.program))?;
            if !status.success() {
                return Err(format!("{} failed: {status}", self.label));
            }
        }
        Ok(Timing {
            wall: start.elapsed().as_secs_f64(),
            cpu: children_cpu() - cpu,
        })
    }
}

/// Splits `names` into runs whose command line stays within [`ARG_BYTES`].
fn chunks(names: &[String]) -> Vec<&[String]> {
    let mut chunks = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, name) in names.iter().enumerate() {
        let cost = name.len() + 1 + size_of::<usize>();
        if bytes + cost > ARG_BYTES && i > start {
            chunks.push(&names[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes += cost;
    }
    if start < names.len() {
        chunks.push(&names[start..]);
    }
    chunks
}

/// Checks once, untimed (which also warms the page cache), that ewsconf calls every file valid.
fn check_ewsconf(dir: &Path, chunks: &[&[String]]) -> Result<(), String> {
    let mut oks = 0;
    for chunk in chunks {
        let out = Command::new(env!("CARGO_BIN_EXE_ewsconf"))
            .current_dir(dir)
            .arg("validate")
            .args(*chunk)
            .output()
            .map_err(|e| format!("ewsconf: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "ewsconf validate failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        oks += stdout
            .lines()
            .zip(chunk.iter())
            .filter(|(line, name)| *line == format!("{name}: OK"))
            .count();
    }
    if oks != FILES {
        return Err(format!("ewsconf printed {oks} OK lines for {FILES} files"));
    }
    Ok(())
}

fn xmllint_installed() -> bool {
    Command::new("xmllint")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

fn main() -> ExitCode {
    match bench() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("validate_files: {e}");
            ExitCode::FAILURE
        }
    }
}

fn bench() -> Result<(), String> {
    let doc = envelope();
    let set = SchemaSet::embedded().map_err(|e| format!("embedded schemas: {e}"))?;
    if !set.validate(doc.as_bytes()).is_valid() {
        return Err("the benchmark document is not valid".to_owned());
    }
    let dir = tempfile::tempdir().map_err(|e| format!("cannot create a temp dir: {e}"))?;
    let io = |e: std::io::Error| format!("cannot write the inputs: {e}");
    let names: Vec<String> = (0..FILES)
        .map(|i| {
            let name = format!("f{i:05}.xml");
            std::fs::write(dir.path().join(&name), &doc).map(|()| name)
        })
        .collect::<Result<_, _>>()
        .map_err(io)?;
    let chunks = chunks(&names);
    check_ewsconf(dir.path(), &chunks)?;

    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let ewsconf = |label: String, extra: &[&str]| Subject {
        label,
        program: env!("CARGO_BIN_EXE_ewsconf"),
        args: ["validate"]
            .iter()
            .chain(extra)
            .map(|s| (*s).to_owned())
            .collect(),
    };
    let mut subjects = vec![
        ewsconf(format!("(a) ewsconf validate ({cores} jobs)"), &[]),
        ewsconf("(b) ewsconf validate --jobs 1".to_owned(), &["--jobs", "1"]),
    ];
    let xmllint = xmllint_installed();
    if xmllint {
        for (sub, label, schemas) in [
            (
                "written",
                "(c) xmllint, schema files as written",
                embedded_schemas().collect::<Vec<_>>(),
            ),
            (
                "compiled",
                "(d) xmllint, schemas as compiled",
                compiled_schemas().collect(),
            ),
        ] {
            let schema_dir = dir.path().join(sub);
            std::fs::create_dir(&schema_dir).map_err(io)?;
            write_schemas(&schema_dir, schemas.into_iter()).map_err(io)?;
            let subject = Subject {
                label: label.to_owned(),
                program: "xmllint",
                args: ["--noout", "--schema", &format!("{sub}/{WRAPPER}")]
                    .map(str::to_owned)
                    .to_vec(),
            };
            // Untimed: fails loudly if xmllint does not accept the files.
            subject.run(dir.path(), &chunks)?;
            subjects.push(subject);
        }
    }

    let mut timings = vec![Vec::new(); subjects.len()];
    for round in 0..ROUNDS {
        for k in 0..subjects.len() {
            let s = (round + k) % subjects.len();
            timings[s].push(subjects[s].run(dir.path(), &chunks)?);
        }
    }
    let seconds: Vec<Vec<f64>> = timings
        .iter()
        .map(|t| t.iter().map(|t| t.wall).collect())
        .collect();
    let cpu: Vec<f64> = timings
        .iter()
        .map(|t| median(t.iter().map(|t| t.cpu).collect()))
        .collect();

    println!(
        "validate_files: `ewsconf validate FILE…` and `xmllint --noout --schema S FILE…` on {FILES} files of {} bytes each (SendItemResponse envelopes)",
        doc.len()
    );
    println!(
        "{} command line(s) per run; median of {ROUNDS} interleaved rounds",
        chunks.len()
    );
    println!();
    println!(
        "  {:<38} {:>8} {:>8} {:>8}",
        "run", "seconds", "files/s", "CPU s"
    );
    let medians: Vec<f64> = seconds.iter().map(|s| median(s.clone())).collect();
    for ((subject, secs), cpu) in subjects.iter().zip(&medians).zip(&cpu) {
        println!(
            "  {:<38} {secs:>8.3} {:>8.0} {cpu:>8.3}",
            subject.label,
            FILES as f64 / secs
        );
    }
    if !xmllint {
        println!();
        println!("  xmllint: not installed; skipped (Debian: apt-get install libxml2-utils)");
        return Ok(());
    }
    println!();
    println!("  ratio (c)/(a): {:.2}", medians[2] / medians[0]);
    println!("  ratio (d)/(a): {:.2}", medians[3] / medians[0]);
    println!("  ratio (c)/(b): {:.2}", medians[2] / medians[1]);
    let rounds: Vec<String> = seconds[2]
        .iter()
        .zip(&seconds[0])
        .map(|(c, a)| format!("{:.2}", c / a))
        .collect();
    println!("  ratio (c)/(a) round by round: {}", rounds.join(" "));
    Ok(())
}
