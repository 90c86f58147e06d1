//! The `ewsconf` command line: run the conformance suite against the embedded mock or a real
//! server, list it, validate documents, and run the reference mock on its own.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};

use ewsconf::case::{Case, Selection, load_dir};
use ewsconf::mock::{Directory, MockConfig, MockServer, Profile};
use ewsconf::report;
use ewsconf::run::{Interrupt, RunError, RunOptions};
use ewsconf::schema::{SchemaSet, XmlErrorKind};
use ewsconf::target::{ClientOptions, Target, TargetFile};

/// Exit codes, stable across releases.
mod exit {
    /// Everything conformed (pass, quirk or skip), or every file was valid.
    pub const OK: u8 = 0;
    /// At least one conformance failure, harness error, change from the baseline, or invalid
    /// document.
    pub const FAILURES: u8 = 1;
    /// The command line, a case file, a target file or a schema directory is wrong.
    pub const USAGE: u8 = 2;
    /// The target could not be reached at all.
    pub const UNREACHABLE: u8 = 3;
}

#[derive(Parser)]
#[command(
    name = "ewsconf",
    version,
    about = "Conformance harness for the Exchange Web Services SendItem operation"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the conformance suite and write reports.
    Run {
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        select: SelectArgs,
        /// Cases in flight at once (default: the number of cores).
        #[arg(long, value_name = "N")]
        jobs: Option<usize>,
        /// Where to write reports; each run gets its own folder inside.
        #[arg(long, default_value = "reports", value_name = "DIR")]
        report_dir: PathBuf,
        /// Keep the items the run created instead of deleting them.
        #[arg(long)]
        keep: bool,
        /// Longest a single case may take, in seconds.
        #[arg(long, default_value_t = 120, value_name = "SECS")]
        case_timeout: u64,
        /// Show no progress bar.
        #[arg(long)]
        no_progress: bool,
        /// Compare each case's normalized response and state with the baseline in this folder;
        /// differences are reported as `changed`.
        #[arg(long, value_name = "DIR")]
        baseline: Option<PathBuf>,
        /// Rewrite the baseline folder from this run instead of comparing.
        #[arg(long, requires = "baseline")]
        update_baseline: bool,
    },
    /// Reproduce a documented Exchange quirk and compare the target with it.
    Quirk {
        /// Which quirk.
        #[arg(value_enum)]
        name: QuirkName,
        #[command(flatten)]
        target: TargetArgs,
        /// Where to write reports; the run gets its own folder inside.
        #[arg(long, default_value = "reports", value_name = "DIR")]
        report_dir: PathBuf,
        /// Keep the items the run created instead of deleting them.
        #[arg(long)]
        keep: bool,
    },
    /// Send generated requests, valid and malformed, and check invariants on every exchange.
    Fuzz {
        #[command(flatten)]
        target: TargetArgs,
        /// How many requests to send.
        #[arg(long, default_value_t = 1000, value_name = "N")]
        cases: usize,
        /// The seed; the same seed sends the same sequence (random when absent).
        #[arg(long, value_name = "S")]
        seed: Option<u64>,
        /// Requests in flight at once (default: 4 per core).
        #[arg(long, value_name = "N")]
        jobs: Option<usize>,
        /// Where to write reports.
        #[arg(long, default_value = "reports", value_name = "DIR")]
        report_dir: PathBuf,
        /// Where to write shrunk failures as case files.
        #[arg(long, default_value = "cases/regressions", value_name = "DIR")]
        regressions: PathBuf,
        /// Show no progress bar.
        #[arg(long)]
        no_progress: bool,
    },
    /// List the cases: id, tags and title.
    List {
        #[command(flatten)]
        select: SelectArgs,
    },
    /// Validate SOAP envelopes or bare EWS bodies against the EWS schema.
    Validate {
        /// Files to validate.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Validate against a server's own messages.xsd and types.xsd in this folder instead of
        /// the project's schemas.
        #[arg(long, value_name = "DIR")]
        schema_dir: Option<PathBuf>,
    },
    /// Run the reference mock EWS server until interrupted.
    Mock {
        /// Address to listen on; loopback unless told otherwise.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Behaviour: `documented` (Exchange's documented quirks) or `intended`.
        #[arg(long, default_value = "documented")]
        profile: Profile,
        /// Accounts and rights (TOML); the documented defaults when absent.
        #[arg(long, value_name = "FILE")]
        users: Option<PathBuf>,
        /// Delay before sent mail is delivered, in milliseconds.
        #[arg(long, default_value_t = 0, value_name = "N")]
        delivery_delay_ms: u64,
        /// Largest request body accepted, in bytes; larger ones get 413.
        #[arg(long, default_value_t = ewsconf::mock::DEFAULT_MAX_BODY_BYTES, value_name = "N")]
        max_body_bytes: usize,
    },
}

/// The quirks `ewsconf quirk` reproduces.
#[derive(Clone, Copy, clap::ValueEnum)]
enum QuirkName {
    /// A delegate's sent copy does not reach Sent Items (SendItem reference, Remarks).
    DelegateCopy,
}

/// Where the suite runs.
#[derive(clap::Args)]
struct TargetArgs {
    /// A real server, described by a target file (TOML); the embedded mock when absent.
    #[arg(long, value_name = "FILE", conflicts_with = "profile")]
    target: Option<PathBuf>,
    /// The embedded mock's behaviour: `documented` or `intended`.
    #[arg(long, default_value = "documented")]
    profile: Profile,
    /// Validate responses against a server's own messages.xsd and types.xsd in this folder.
    #[arg(long, value_name = "DIR")]
    schema_dir: Option<PathBuf>,
    /// Trust this CA certificate (PEM) for the target's TLS.
    #[arg(long, value_name = "FILE")]
    ca_cert: Option<PathBuf>,
    /// Accept any TLS certificate. Anyone on the path can then read the credentials.
    #[arg(long)]
    insecure: bool,
    /// Per-request timeout, in seconds.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    timeout: u64,
}

/// Which cases.
#[derive(clap::Args)]
struct SelectArgs {
    /// The suite's folder.
    #[arg(long, default_value = "cases", value_name = "DIR")]
    cases: PathBuf,
    /// Only cases whose id matches this glob, e.g. `delegate/*`.
    #[arg(long, value_name = "GLOB")]
    only: Option<String>,
    /// Only cases with this tag (repeatable; any of them).
    #[arg(long, value_name = "TAG")]
    tag: Vec<String>,
}

impl SelectArgs {
    fn load(&self) -> anyhow::Result<Vec<Case>> {
        let selection =
            Selection::new(self.only.as_deref(), &self.tag).map_err(anyhow::Error::msg)?;
        let cases = load_dir(&self.cases)?;
        let selected: Vec<Case> = cases.into_iter().filter(|c| selection.matches(c)).collect();
        if selected.is_empty() {
            anyhow::bail!("no case in {} matches the selection", self.cases.display());
        }
        Ok(selected)
    }
}

fn main() -> ExitCode {
    // Like other command-line tools, end quietly when the reader of stdout goes away
    // (`ewsconf list | head`) instead of panicking on the failed write.
    // SAFETY: called first thing in main, before any thread exists; SIG_DFL is a valid handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run {
            target,
            select,
            jobs,
            report_dir,
            keep,
            case_timeout,
            no_progress,
            baseline,
            update_baseline,
        } => run_suite(
            &target,
            &select,
            &RunArgs {
                jobs,
                report_dir,
                keep,
                case_timeout,
                progress: !no_progress,
                baseline,
                update_baseline,
            },
        ),
        Command::List { select } => list(&select),
        Command::Fuzz {
            target,
            cases,
            seed,
            jobs,
            report_dir,
            regressions,
            no_progress,
        } => fuzz(
            &target,
            cases,
            seed,
            jobs,
            &report_dir,
            &regressions,
            !no_progress,
        ),
        Command::Quirk {
            name: QuirkName::DelegateCopy,
            target,
            report_dir,
            keep,
        } => quirk(&target, &report_dir, keep),
        Command::Validate { files, schema_dir } => validate(&files, schema_dir.as_deref()),
        Command::Mock {
            listen,
            profile,
            users,
            delivery_delay_ms,
            max_body_bytes,
        } => mock(
            listen,
            profile,
            users.as_deref(),
            delivery_delay_ms,
            max_body_bytes,
        ),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("ewsconf: {e:#}");
            ExitCode::from(exit::USAGE)
        }
    }
}

fn list(select: &SelectArgs) -> anyhow::Result<u8> {
    for case in select.load()? {
        println!("{:<44} [{}] {}", case.id, case.tags.join(","), case.title);
    }
    Ok(exit::OK)
}

fn schemas(dir: Option<&Path>) -> anyhow::Result<&'static SchemaSet> {
    match dir {
        // One set per process: leaking it gives the same lifetime as the embedded one.
        Some(dir) => Ok(Box::leak(Box::new(
            SchemaSet::from_dir(dir)
                .with_context(|| format!("loading schemas from {}", dir.display()))?,
        ))),
        None => SchemaSet::embedded().context("compiling the embedded schemas"),
    }
}

/// Builds the target the arguments describe: the embedded mock, or a target file's server.
async fn target(args: &TargetArgs) -> anyhow::Result<Target> {
    if args.insecure {
        eprintln!(
            "WARNING: --insecure accepts any TLS certificate; anyone on the network path can read the credentials."
        );
    }
    let client_options = ClientOptions {
        ca_cert: args.ca_cert.clone(),
        insecure: args.insecure,
        timeout: Duration::from_secs(args.timeout),
    };
    Ok(match &args.target {
        Some(path) => Target::remote(
            TargetFile::load(path, &|name| std::env::var(name).ok())?,
            &client_options,
        )?,
        None => Target::embedded(MockConfig::with_profile(args.profile)).await?,
    })
}

fn fuzz(
    args: &TargetArgs,
    cases: usize,
    seed: Option<u64>,
    jobs: Option<usize>,
    report_dir: &Path,
    regressions: &Path,
    progress: bool,
) -> anyhow::Result<u8> {
    let seed = seed.unwrap_or_else(ewsconf::run::random_u64);
    println!("seed {seed} (ewsconf fuzz --seed {seed} sends the same sequence)");
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let options = ewsconf::fuzz::FuzzOptions {
        cases,
        seed,
        jobs: jobs.unwrap_or(8 * cores),
        batch: 512,
        schemas: schemas(args.schema_dir.as_deref())?,
        regressions: Some(regressions.to_owned()),
        max_body: ewsconf::mock::DEFAULT_MAX_BODY_BYTES,
        shrink_steps: 200,
        max_failures: 10,
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let target = target(args).await?;
        let bar = indicatif::ProgressBar::new(cases as u64);
        if !progress || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        }
        let result = ewsconf::fuzz::fuzz(&target, &options, |done| bar.set_position(done as u64)).await;
        bar.finish_and_clear();
        target.shutdown().await;
        let report = match result {
            Ok(report) => report,
            Err(ewsconf::fuzz::FuzzError::Setup(e))
                if matches!(&*e, ewsconf::target::CallError::Target(t) if t.is_retryable()) =>
            {
                eprintln!("ewsconf: {e}");
                return Ok(exit::UNREACHABLE);
            }
            Err(e) => return Err(e.into()),
        };
        println!("{:<34} {:>9} {:>9}", "malformation", "exchanges", "failures");
        for (name, stats) in &report.by_name {
            println!("{name:<34} {:>9} {:>9}", stats.exchanges, stats.failures);
        }
        let secs = report.elapsed.as_secs_f64();
        println!(
            "{} exchanges, {} invariants checked, {} failing malformation(s) in {secs:.2} s ({:.0} exchanges/s); seed {}",
            report.exchanges,
            report.invariants,
            report.failures.len(),
            report.exchanges as f64 / secs.max(1e-9),
            report.seed
        );
        for f in &report.failures {
            println!("\nFAIL {} (shrunk to {} ItemId(s))", f.shrunk.name(), f.shrunk.effective_shape().items.len());
            for finding in &f.findings {
                println!("  {}: expected {}, actual {}", finding.check, finding.expected, finding.actual);
            }
            if let Some(path) = &f.case_file {
                println!("  replay: ewsconf run --cases {} --only '{}'", regressions.display(), path.file_stem().map(|s| s.to_string_lossy().into_owned()).map(|s| format!("regressions/{s}")).unwrap_or_default());
            }
        }
        let dir = report_dir.join(&report.summary.run_id);
        let paths = report::write_all(&report.summary, &dir)?;
        println!("\nreports: {}, {}, {}", paths.junit.display(), paths.json.display(), paths.html.display());
        Ok(if report.failures.is_empty() { exit::OK } else { exit::FAILURES })
    })
}

fn quirk(args: &TargetArgs, report_dir: &Path, keep: bool) -> anyhow::Result<u8> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let target = target(args).await?;
        let result = ewsconf::quirk::delegate_copy(&target, keep).await;
        target.shutdown().await;
        let summary = match result {
            Ok(summary) => summary,
            Err(ewsconf::quirk::QuirkError::Setup(e))
                if matches!(&*e, ewsconf::target::CallError::Target(t) if t.is_retryable()) =>
            {
                eprintln!("ewsconf: {e}");
                return Ok(exit::UNREACHABLE);
            }
            Err(e) => return Err(e.into()),
        };
        let dir = report_dir.join(&summary.run_id);
        let paths = report::write_all(&summary, &dir)?;
        if let Some(table) = &summary.quirk {
            print!("{}", table.markdown());
            let json = dir.join("quirk-delegate-copy.json");
            std::fs::write(&json, serde_json::to_string_pretty(table)?)
                .with_context(|| format!("writing {}", json.display()))?;
            println!(
                "\nreports: {}, {}, {}",
                paths.html.display(),
                paths.json.display(),
                json.display()
            );
        }
        // Reproducing the quirk is not a failure; a behaviour that is neither documented nor
        // intended is.
        Ok(if summary.counts().fail == 0 {
            exit::OK
        } else {
            exit::FAILURES
        })
    })
}

/// How `run` runs, beside the target and the selection.
struct RunArgs {
    jobs: Option<usize>,
    report_dir: PathBuf,
    keep: bool,
    case_timeout: u64,
    progress: bool,
    baseline: Option<PathBuf>,
    update_baseline: bool,
}

fn run_suite(args: &TargetArgs, select: &SelectArgs, run: &RunArgs) -> anyhow::Result<u8> {
    let RunArgs {
        jobs,
        report_dir,
        keep,
        case_timeout,
        progress,
        ..
    } = run;
    let (jobs, keep, case_timeout, progress) = (*jobs, *keep, *case_timeout, *progress);
    let cases = select.load()?;
    let schemas = schemas(args.schema_dir.as_deref())?;
    let options = RunOptions {
        jobs: jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())),
        keep,
        case_timeout: Duration::from_secs(case_timeout),
        schemas,
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let target = target(args).await?;
        let interrupt = Interrupt::default();
        let on_signal = interrupt.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("interrupted: finishing, cleaning up and writing reports");
                on_signal.trigger();
            }
        });
        let mut bar = report::terminal::Progress::new(cases.len() as u64, progress);
        let result =
            ewsconf::run::run(&target, &cases, &options, &interrupt, |o| bar.case_done(o)).await;
        bar.finish();
        let secrets: Vec<String> = target.secrets().into_iter().map(str::to_owned).collect();
        target.shutdown().await;
        let mut summary = match result {
            Ok(summary) => summary,
            Err(RunError::Unreachable(e)) => {
                eprintln!("ewsconf: {e}");
                return Ok(exit::UNREACHABLE);
            }
        };
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        match (&run.baseline, run.update_baseline) {
            (Some(dir), true) => {
                ewsconf::baseline::update(&summary, dir, &secrets)?;
                println!("baseline written to {}", dir.display());
            }
            (Some(dir), false) => ewsconf::baseline::compare(&mut summary, dir, &secrets)?,
            (None, _) => {}
        }
        let dir = report_dir.join(&summary.run_id);
        let paths = report::write_all(&summary, &dir)?;
        let color = std::io::IsTerminal::is_terminal(&std::io::stdout());
        print!("{}", report::terminal::summary(&summary, color));
        println!(
            "reports: {}, {}, {}",
            paths.junit.display(),
            paths.json.display(),
            paths.html.display()
        );
        Ok(if summary.conforms() {
            exit::OK
        } else {
            exit::FAILURES
        })
    })
}

fn validate(files: &[PathBuf], schema_dir: Option<&Path>) -> anyhow::Result<u8> {
    let owned;
    let schemas: &SchemaSet = match schema_dir {
        Some(dir) => {
            owned = SchemaSet::from_dir(dir)
                .with_context(|| format!("loading schemas from {}", dir.display()))?;
            &owned
        }
        None => SchemaSet::embedded().context("compiling the embedded schemas")?,
    };
    let mut code = exit::OK;
    for file in files {
        let shown = file.display();
        let too_large = std::fs::metadata(file)
            .map(|m| m.len() > schemas.limits().max_bytes as u64)
            .unwrap_or(false);
        if too_large {
            println!(
                "{shown}:1:1: document is larger than {} bytes",
                schemas.limits().max_bytes
            );
            code = code.max(exit::FAILURES);
            continue;
        }
        let bytes = match std::fs::read(file) {
            Ok(bytes) => bytes,
            Err(e) => {
                eprintln!("{shown}: cannot read: {e}");
                code = exit::USAGE;
                continue;
            }
        };
        let validation = schemas.validate(&bytes);
        if validation.errors.is_empty() {
            println!("{shown}: OK");
            continue;
        }
        code = code.max(exit::FAILURES);
        for e in &validation.errors {
            let kind = match e.kind {
                XmlErrorKind::Schema => "schema",
                XmlErrorKind::NotWellFormed => "not well-formed",
                XmlErrorKind::Doctype => "doctype",
                XmlErrorKind::TooLarge => "too large",
                XmlErrorKind::TooDeep => "too deep",
                XmlErrorKind::Internal => "internal",
            };
            println!("{shown}:{}:{}: {kind}: {}", e.line, e.column, e.message);
        }
    }
    Ok(code)
}

fn mock(
    listen: SocketAddr,
    profile: Profile,
    users: Option<&Path>,
    delivery_delay_ms: u64,
    max_body_bytes: usize,
) -> anyhow::Result<u8> {
    let directory = match users {
        Some(path) => Directory::load(path)?,
        None => Directory::documented_defaults(),
    };
    let accounts = directory.describe();
    let config = MockConfig {
        profile,
        directory,
        delivery_delay: Duration::from_millis(delivery_delay_ms),
        max_body_bytes,
        server_threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
        ..MockConfig::default()
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let server = match MockServer::bind(config, listen).await {
            Ok(server) => server,
            Err(e) => {
                eprintln!("ewsconf: {e}");
                return Ok(exit::UNREACHABLE);
            }
        };
        if !server.addr().ip().is_loopback() {
            eprintln!(
                "warning: the mock listens on {}, reachable from other machines",
                server.addr()
            );
        }
        println!("ewsconf mock ({profile}) at {}", server.url());
        println!("accounts:");
        for line in accounts {
            println!("  {line}");
        }
        println!("Ctrl-C stops it.");
        tokio::signal::ctrl_c()
            .await
            .context("waiting for Ctrl-C")?;
        server.shutdown().await;
        Ok(exit::OK)
    })
}
