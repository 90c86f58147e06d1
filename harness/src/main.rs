//! The `ewsconf` command line: run the conformance suite against the embedded mock or a real
//! server, list it, validate documents, and run the reference mock on its own.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{CommandFactory, Parser, Subcommand};

use ewsconf::case::{Case, Selection, load_dir};
use ewsconf::mock::{Directory, MockConfig, MockError, MockServer, Profile};
use ewsconf::report::{self, ReportPaths};
use ewsconf::run::{Interrupt, RunError, RunOptions, RunSummary};
use ewsconf::schema::{SchemaSet, report_files};
use ewsconf::target::{CallError, ClientOptions, Target, TargetError, TargetFile};

/// Exit codes, stable across releases.
mod exit {
    /// Everything conformed (pass, quirk or skip), or every file was valid.
    pub const OK: u8 = 0;
    /// At least one conformance failure or harness error not listed as known, change from the
    /// baseline, or invalid document; under `--strict` also a quirk, or a known failure that
    /// passed.
    pub const FAILURES: u8 = 1;
    /// The command line, a case file, a target file or a schema directory is wrong.
    pub const USAGE: u8 = 2;
    /// The target could not be reached at all.
    pub const UNREACHABLE: u8 = 3;
}

/// The most cases, requests or files in flight at once a command accepts.
const MAX_JOBS: u64 = 1024;

/// The longest timeout a command accepts, in seconds: a day.
const MAX_SECS: u64 = 86_400;

/// How a command ended, before it becomes an exit code.
enum Ending {
    /// Everything conformed, or every file was valid.
    Clean,
    /// A failure, an error, a change from the baseline, or an invalid document.
    Failures,
    /// An input the command was given could not be used (an unreadable file).
    Unusable,
    /// The target cannot be used: unreachable, or no account logs in.
    Unreachable,
}

impl Ending {
    /// `Failures` when the run fails ([`RunSummary::fails`]), else `Clean`.
    fn of(summary: &RunSummary) -> Self {
        if summary.fails() {
            Ending::Failures
        } else {
            Ending::Clean
        }
    }
}

/// The one place a command's result becomes a documented exit code. An error is a usage or
/// configuration problem, unless what stopped the command was a target that could not be
/// reached (or a mock that could not listen).
fn exit_code(result: anyhow::Result<Ending>) -> u8 {
    match result {
        Ok(Ending::Clean) => exit::OK,
        Ok(Ending::Failures) => exit::FAILURES,
        Ok(Ending::Unusable) => exit::USAGE,
        Ok(Ending::Unreachable) => exit::UNREACHABLE,
        Err(e) => {
            eprintln!("ewsconf: {}", ewsconf::secrets::redact(&format!("{e:#}")));
            // A target that accepts and never answers stops a command as surely as one that
            // cannot be reached.
            let no_answer =
                |t: &TargetError| t.is_retryable() || matches!(t, TargetError::Timeout { .. });
            let unreachable = e.chain().any(|cause| {
                cause.downcast_ref::<TargetError>().is_some_and(no_answer)
                    || matches!(cause.downcast_ref::<CallError>(), Some(CallError::Target(t)) if no_answer(t))
                    || matches!(cause.downcast_ref::<RunError>(), Some(RunError::Unreachable(_)))
                    || matches!(cause.downcast_ref::<MockError>(), Some(MockError::Bind { .. }))
            });
            if unreachable {
                exit::UNREACHABLE
            } else {
                exit::USAGE
            }
        }
    }
}

/// Set once stdout's reader has gone away: the rest of the output is dropped.
static STDOUT_CLOSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Writes to stdout. A reader that went away (`ewsconf list | head -1`) is not an error: the
/// rest of the output is dropped and the command ends as it would have, reports and cleanup
/// included.
fn emit(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    use std::sync::atomic::Ordering;
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    // Everything printed may quote a server's answer: no secret goes out.
    let text = args.to_string();
    let text = ewsconf::secrets::redact(&text);
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        STDOUT_CLOSED.store(true, Ordering::Relaxed);
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("ewsconf: cannot write to stdout: {e}");
        }
    }
}

/// `print!` through [`emit`].
macro_rules! out {
    ($($arg:tt)*) => { emit(format_args!($($arg)*)) };
}

/// `println!` through [`emit`].
macro_rules! outln {
    () => { emit(format_args!("\n")) };
    ($($arg:tt)*) => { emit(format_args!("{}\n", format_args!($($arg)*))) };
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
        /// Cases in flight at once (default 32: a case mostly waits for mail, and each account's
        /// requests in flight stay under Exchange's EWSMaxConcurrency whatever this is).
        #[arg(long, value_name = "N", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=MAX_JOBS))]
        jobs: Option<usize>,
        /// Where to write reports; each run gets its own folder inside.
        #[arg(long, default_value = "reports", value_name = "DIR")]
        report_dir: PathBuf,
        /// Keep the items the run created instead of deleting them.
        #[arg(long)]
        keep: bool,
        /// Longest a single case may take, in seconds (1 to 86400), its share of cleanup included.
        #[arg(long, default_value_t = 120, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=MAX_SECS))]
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
        /// Known failures (TOML `[[known]]` entries with `case`, `reason`, `link`): a listed
        /// case that fails is reported with its reason and link and does not fail the run.
        #[arg(long, value_name = "FILE")]
        known: Option<PathBuf>,
        /// Count a `quirk` as a failure, and a known failure that passes too.
        #[arg(long)]
        strict: bool,
        /// Run only the cases whose verdict was `fail` or `error` in this earlier run (its report
        /// folder, holding report.json).
        #[arg(long, value_name = "RUN_DIR")]
        rerun_failed: Option<PathBuf>,
    },
    /// Check that a target file's server can be used, one line per check.
    ///
    /// Checks reachability and TLS, the schemes the server offers (WWW-Authenticate), each
    /// account's login (a GetFolder of its Inbox) and the server's version, and the delegate's
    /// rights as `quirk delegate-copy` checks them (sending one probe message to the principal,
    /// deleted afterwards). Each problem names the account and the fix.
    ///
    /// Exit codes: 0 every check passed; 1 the server can be used but an account or a right is
    /// missing; 2 the target file cannot be used; 3 the server cannot be used (unreachable, TLS
    /// refused, or no account logs in).
    Probe {
        /// The target file (TOML) describing the server and its accounts.
        #[arg(long, value_name = "FILE")]
        target: PathBuf,
        #[command(flatten)]
        connection: ConnectionArgs,
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
        /// How many requests to send, 1 to 100000000.
        #[arg(long, default_value_t = 1000, value_name = "N", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=100_000_000))]
        cases: usize,
        /// The seed; the same seed sends the same sequence (random when absent).
        #[arg(long, value_name = "S")]
        seed: Option<u64>,
        /// Requests in flight at once, 1 to 1024 (default: 8 per core).
        #[arg(long, value_name = "N", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=MAX_JOBS))]
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
        /// Files validated at once, 1 to 1024 (default: the number of cores).
        #[arg(long, value_name = "N", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=MAX_JOBS))]
        jobs: Option<usize>,
    },
    /// Run the reference mock EWS server until Ctrl-C or SIGTERM, which end it with exit code 0.
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
        /// Delay before sent mail is delivered, in milliseconds (0 to 3600000).
        #[arg(long, default_value_t = 0, value_name = "N", value_parser = clap::value_parser!(u64).range(0..=3_600_000))]
        delivery_delay_ms: u64,
        /// Largest request body accepted, in bytes (1 to 1073741824); larger ones get 413.
        #[arg(long, default_value_t = ewsconf::limits::DEFAULT_MAX_BODY_BYTES, value_name = "N", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1 << 30))]
        max_body_bytes: usize,
        /// Seconds a request's headers may take from their first byte (1 to 3600).
        #[arg(long, default_value_t = ewsconf::mock::conn::DEFAULT_HEADER_READ_TIMEOUT.as_secs(), value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=3600))]
        header_timeout_secs: u64,
        /// Seconds a request's body may take once its headers are in (1 to 3600); later gets 408.
        #[arg(long, default_value_t = ewsconf::mock::server::DEFAULT_BODY_READ_TIMEOUT.as_secs(), value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=3600))]
        body_timeout_secs: u64,
        /// Seconds a connection may pass without a byte either way before it is closed (1 to 86400).
        #[arg(long, default_value_t = ewsconf::mock::conn::DEFAULT_IDLE_TIMEOUT.as_secs(), value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=86_400))]
        idle_timeout_secs: u64,
        /// Connections open at once (1 to 65536; default: the descriptor limit less 64, at most
        /// 1024). Past it a newcomer closes the longest-idle connection, or gets 503 if all are busy.
        #[arg(long, value_name = "N", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=65_536))]
        max_connections: Option<usize>,
    },
    /// Put several runs side by side: verdicts by category and case, differing cases first.
    ///
    /// Reads each run's report.json and writes OUT/compare.html, one self-contained page: the
    /// verdict counts by category per run, then a row per case with a column per run, the rows
    /// whose verdicts differ first, each linking to that run's report.html and holding every
    /// run's answer, findings and exchanges. Prints the same tables.
    ///
    /// Exit codes: 0 every run has the same verdict for every case; 1 some case differs
    /// (a case missing from a run counts as differing); 2 fewer than two runs or a report that
    /// cannot be read.
    Compare {
        /// The runs: each a run's report folder, or its report.json.
        #[arg(required = true, num_args = 2.., value_name = "RUN_DIR")]
        runs: Vec<PathBuf>,
        /// Where to write compare.html; created if missing.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// A run's column heading (repeatable: one per run, in order); default the run's target.
        #[arg(long, value_name = "NAME")]
        label: Vec<String>,
    },
    /// Print a shell completion script for ewsconf.
    ///
    /// For example: `ewsconf completions bash > /etc/bash_completion.d/ewsconf`, or
    /// `ewsconf completions zsh > "${fpath[1]}/_ewsconf"`.
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print ewsconf's man page (roff), e.g. `ewsconf man > /usr/local/share/man/man1/ewsconf.1`.
    Man {
        /// Write ewsconf.1 and one page per command (ewsconf-run.1, …) into this folder instead.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
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
    #[command(flatten)]
    connection: ConnectionArgs,
}

/// How to talk to a server: TLS trust and the per-request timeout.
#[derive(clap::Args)]
struct ConnectionArgs {
    /// Trust this CA certificate (PEM) for the target's TLS.
    #[arg(long, value_name = "FILE")]
    ca_cert: Option<PathBuf>,
    /// Accept any TLS certificate. Anyone on the path can then read the credentials.
    #[arg(long)]
    insecure: bool,
    /// Per-request timeout, in seconds (1 to 86400).
    #[arg(long, default_value_t = 30, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=MAX_SECS))]
    timeout: u64,
}

impl ConnectionArgs {
    /// The client options these arguments ask for, warning about `--insecure`.
    fn client_options(&self) -> ClientOptions {
        if self.insecure {
            eprintln!(
                "WARNING: --insecure accepts any TLS certificate; anyone on the network path can read the credentials."
            );
        }
        ClientOptions {
            ca_cert: self.ca_cert.clone(),
            insecure: self.insecure,
            timeout: Duration::from_secs(self.timeout),
        }
    }
}

/// Which cases.
#[derive(clap::Args)]
struct SelectArgs {
    /// Read the suite from this folder instead of the one compiled into the binary.
    #[arg(long, value_name = "DIR")]
    cases: Option<PathBuf>,
    /// Only cases whose id matches this glob, e.g. `delegate/*`.
    #[arg(long, value_name = "GLOB")]
    only: Option<String>,
    /// Only cases with this tag (repeatable; any of them).
    #[arg(long, value_name = "TAG")]
    tag: Vec<String>,
    /// Only part K of N (e.g. `2/4`): the selected cases in id order, dealt out in turn to N
    /// disjoint parts that together make the whole selection, the same on every run.
    #[arg(long, value_name = "K/N")]
    partition: Option<ewsconf::case::Partition>,
}

impl SelectArgs {
    fn load(&self) -> anyhow::Result<Vec<Case>> {
        self.load_among(None)
    }

    /// The selected cases, and of them only those named in `ids` when given.
    fn load_among(
        &self,
        ids: Option<&std::collections::BTreeSet<String>>,
    ) -> anyhow::Result<Vec<Case>> {
        let selection =
            Selection::new(self.only.as_deref(), &self.tag).map_err(anyhow::Error::msg)?;
        let (cases, suite) = match &self.cases {
            Some(dir) => (load_dir(dir)?, dir.display().to_string()),
            None => (
                ewsconf::case::load_embedded()?,
                "the embedded suite".to_owned(),
            ),
        };
        for id in ids.into_iter().flatten() {
            if !cases.iter().any(|c| c.id == *id) {
                eprintln!("warning: {id} failed in the earlier run but is not in {suite}");
            }
        }
        let mut selected: Vec<Case> = cases
            .into_iter()
            .filter(|c| selection.matches(c) && ids.is_none_or(|ids| ids.contains(&c.id)))
            .collect();
        if let Some(part) = self.partition {
            selected = part.select(selected);
        }
        if selected.is_empty() {
            let part = self.partition.map(|p| format!(" (part {p})"));
            anyhow::bail!(
                "no case in {suite} matches the selection{}",
                part.unwrap_or_default()
            );
        }
        Ok(selected)
    }
}

fn main() -> ExitCode {
    // A peer that closes its end (a server answering 413 and closing before the body is read)
    // must be an I/O error like any other, not a silent death with no report and no cleanup:
    // EPIPE comes back from the write instead. Writes to a closed stdout are handled in `emit`.
    // SAFETY: called first thing in main, before any thread exists; SIG_IGN is a valid handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
    // A panic message may quote a server's answer: print it with the run's secrets redacted.
    ewsconf::secrets::install_panic_hook();
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
            known,
            strict,
            rerun_failed,
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
                known,
                strict,
                rerun_failed,
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
        Command::Probe { target, connection } => probe(&target, &connection),
        Command::Validate {
            files,
            schema_dir,
            jobs,
        } => validate(&files, schema_dir.as_deref(), jobs),
        Command::Mock {
            listen,
            profile,
            users,
            delivery_delay_ms,
            max_body_bytes,
            header_timeout_secs,
            body_timeout_secs,
            idle_timeout_secs,
            max_connections,
        } => mock(
            listen,
            profile,
            users.as_deref(),
            delivery_delay_ms,
            max_body_bytes,
            ewsconf::mock::ConnectionLimits {
                header_read_timeout: Duration::from_secs(header_timeout_secs),
                idle_timeout: Duration::from_secs(idle_timeout_secs),
                max_connections: max_connections
                    .unwrap_or_else(ewsconf::mock::conn::default_max_connections),
                ..ewsconf::mock::ConnectionLimits::default()
            },
            Duration::from_secs(body_timeout_secs),
        ),
        Command::Compare { runs, out, label } => compare(&runs, &out, &label),
        Command::Completions { shell } => completions(shell),
        Command::Man { dir } => man_page(dir.as_deref()),
    };
    ExitCode::from(exit_code(result))
}

/// Prints the completion script for `shell`, generated from the command-line definition.
fn completions(shell: clap_complete::Shell) -> anyhow::Result<Ending> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "ewsconf", &mut script);
    out!("{}", String::from_utf8_lossy(&script));
    Ok(Ending::Clean)
}

/// Prints the man page, generated from the command-line definition; with `dir`, writes it and
/// one page per command into that folder and prints their paths.
fn man_page(dir: Option<&Path>) -> anyhow::Result<Ending> {
    if let Some(dir) = dir {
        clap_mangen::generate_to(Cli::command(), dir)
            .with_context(|| format!("writing man pages into {}", dir.display()))?;
        let mut pages: Vec<PathBuf> = std::fs::read_dir(dir)
            .with_context(|| format!("listing {}", dir.display()))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| {
                path.file_name()
                    .and_then(|name| name.to_str())
                    .is_some_and(|name| name.starts_with("ewsconf") && name.ends_with(".1"))
            })
            .collect();
        pages.sort();
        for page in pages {
            outln!("{}", page.display());
        }
        return Ok(Ending::Clean);
    }
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut page)
        .context("rendering the man page")?;
    out!("{}", String::from_utf8_lossy(&page));
    Ok(Ending::Clean)
}

/// Compares the runs at `runs`, writes `out/compare.html` and prints the tables: `Clean` when
/// every run agrees on every case, `Failures` when some case differs.
fn compare(runs: &[PathBuf], out: &Path, labels: &[String]) -> anyhow::Result<Ending> {
    let runs = ewsconf::compare::load(runs, labels)?;
    let comparison = ewsconf::compare::compare(&runs);
    let page = ewsconf::compare::write_page(&comparison, out)?;
    out!("{}", ewsconf::compare::terminal::render(&comparison));
    outln!("comparison: {}", page.display());
    Ok(if comparison.differing() > 0 {
        Ending::Failures
    } else {
        Ending::Clean
    })
}

fn list(select: &SelectArgs) -> anyhow::Result<Ending> {
    for case in select.load()? {
        outln!("{:<44} [{}] {}", case.id, case.tags.join(","), case.title);
    }
    Ok(Ending::Clean)
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
    let client_options = args.connection.client_options();
    let target = match &args.target {
        Some(path) => Target::remote(
            TargetFile::load(path, &|name| std::env::var(name).ok())?,
            &client_options,
        )?,
        None => Target::embedded(MockConfig::with_profile(args.profile)).await?,
    };
    // From here on every report, baseline, message and panic redacts its credentials.
    ewsconf::secrets::install(ewsconf::secrets::Secrets::of(&target));
    Ok(target)
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Stops `interrupt` on SIGINT (Ctrl-C) or SIGTERM (how CI stops a job): no new work starts,
/// cleanup runs within a bounded time and the reports are written. A second signal ends the
/// process at once, with 128 + the signal's number (130, 143), listing what cleanup knows to be
/// still on the server. Must be called inside the runtime.
fn interrupt_on_signals() -> anyhow::Result<Interrupt> {
    use tokio::signal::unix::{SignalKind, signal};
    let interrupt = Interrupt::default();
    let mut sigint = signal(SignalKind::interrupt()).context("handling SIGINT")?;
    let mut sigterm = signal(SignalKind::terminate()).context("handling SIGTERM")?;
    let on_signal = interrupt.clone();
    tokio::spawn(async move {
        loop {
            let (name, number) = tokio::select! {
                Some(()) = sigint.recv() => ("SIGINT", libc::SIGINT),
                Some(()) = sigterm.recv() => ("SIGTERM", libc::SIGTERM),
                else => return,
            };
            if !on_signal.triggered() {
                eprintln!(
                    "interrupted ({name}): stopping, cleaning up (at most {} s) and writing reports; \
                     a second signal ends at once",
                    ewsconf::run::CLEANUP_AFTER_INTERRUPT.as_secs()
                );
                on_signal.trigger();
                continue;
            }
            eprintln!("interrupted again ({name}): ending now, without cleanup or reports");
            eprint!("{}", on_signal.left_on_server());
            std::process::exit(128 + number);
        }
    });
    Ok(interrupt)
}

/// Says what cleanup could not delete, if anything.
fn report_leftovers(interrupt: &Interrupt) {
    let left = interrupt.left_on_server();
    if !left.is_clean() {
        eprint!("cleaning up: {left}");
    }
}

fn print_paths(paths: &ReportPaths) {
    let mut shown = vec![
        paths.junit.display(),
        paths.json.display(),
        paths.html.display(),
    ];
    shown.extend(paths.quirk.iter().map(|p| p.display()));
    let shown: Vec<String> = shown.iter().map(ToString::to_string).collect();
    outln!("reports: {}", shown.join(", "));
}

fn fuzz(
    args: &TargetArgs,
    cases: usize,
    seed: Option<u64>,
    jobs: Option<usize>,
    report_dir: &Path,
    regressions: &Path,
    progress: bool,
) -> anyhow::Result<Ending> {
    let seed = seed.unwrap_or_else(ewsconf::run::random_u64);
    outln!("seed {seed} (ewsconf fuzz --seed {seed} sends the same sequence)");
    let options = ewsconf::fuzz::FuzzOptions {
        cases,
        seed,
        jobs: jobs.unwrap_or(8 * cores()),
        batch: 512,
        schemas: schemas(args.schema_dir.as_deref())?,
        regressions: Some(regressions.to_owned()),
        max_body: ewsconf::limits::DEFAULT_MAX_BODY_BYTES,
        shrink_steps: 200,
        max_failures: 10,
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let control = ewsconf::fuzz::FuzzControl {
            interrupt: interrupt_on_signals()?,
            request_timeout: Duration::from_secs(args.connection.timeout),
        };
        let target = target(args).await?;
        let bar = indicatif::ProgressBar::new(cases as u64);
        if !progress || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        }
        let result = ewsconf::fuzz::fuzz_until(&target, &options, &control, |done| {
            bar.set_position(done as u64)
        })
        .await;
        bar.finish_and_clear();
        target.shutdown().await;
        report_leftovers(&control.interrupt);
        let report = result?;
        for failure in &report.failures {
            if let Some(note) = &failure.note {
                let note = ewsconf::secrets::redact(note);
                eprintln!("{}: {note}", failure.shrunk.name());
            }
        }
        let mut summary = report.summary;
        report::prepare(&mut summary);
        if let Some(stopped) = summary.outcomes.iter().find(|o| o.id == "fuzz/stopped") {
            eprintln!("fuzz {}", stopped.reason.as_deref().unwrap_or("stopped"));
        }
        out!("{}", report::terminal::fuzz(&summary));
        let paths = report::write_all(&summary, &report_dir.join(&summary.run_id))?;
        outln!();
        print_paths(&paths);
        Ok(Ending::of(&summary))
    })
}

fn quirk(args: &TargetArgs, report_dir: &Path, keep: bool) -> anyhow::Result<Ending> {
    let options = RunOptions {
        jobs: cores(),
        keep,
        case_timeout: Duration::from_secs(120),
        schemas: schemas(args.schema_dir.as_deref())?,
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let interrupt = interrupt_on_signals()?;
        let target = target(args).await?;
        let result = ewsconf::quirk::delegate_copy(&target, &options, &interrupt).await;
        target.shutdown().await;
        report_leftovers(&interrupt);
        let mut summary = result?;
        report::prepare(&mut summary);
        let paths = report::write_all(&summary, &report_dir.join(&summary.run_id))?;
        out!("{}", report::terminal::quirk(&summary));
        outln!();
        print_paths(&paths);
        // Reproducing the quirk is not a failure; a behaviour that is neither documented nor
        // intended is, and so is a row that could not be decided (a skipped case included).
        let different = summary.quirk.as_ref().is_some_and(|q| {
            q.rows
                .iter()
                .any(|r| r.verdict == ewsconf::judge::delegate_copy::QuirkVerdict::Different)
        });
        Ok(if different {
            Ending::Failures
        } else {
            Ending::of(&summary)
        })
    })
}

fn probe(path: &Path, connection: &ConnectionArgs) -> anyhow::Result<Ending> {
    let file = TargetFile::load(path, &|name| std::env::var(name).ok())?;
    let mut options = connection.client_options();
    // As `Target::remote` applies it: the file's timeout wins.
    if let Some(secs) = file.timeout_secs {
        options.timeout = Duration::from_secs(secs);
    }
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let target = Target::remote(file, &options)?;
        ewsconf::secrets::install(ewsconf::secrets::Secrets::of(&target));
        let report = ewsconf::probe::probe(&target, &options).await?;
        target.shutdown().await;
        out!("{}", report.render());
        Ok(match report.usability() {
            ewsconf::probe::Usability::Usable => Ending::Clean,
            ewsconf::probe::Usability::Partly => Ending::Failures,
            ewsconf::probe::Usability::Unusable => Ending::Unreachable,
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
    known: Option<PathBuf>,
    strict: bool,
    rerun_failed: Option<PathBuf>,
}

fn run_suite(args: &TargetArgs, select: &SelectArgs, run: &RunArgs) -> anyhow::Result<Ending> {
    let cases = match &run.rerun_failed {
        Some(dir) => {
            let failed = ewsconf::case::failed_in(dir)?;
            if failed.is_empty() {
                let dir = dir.display();
                outln!("nothing to re-run: no case failed or errored in {dir}");
                return Ok(Ending::Clean);
            }
            select.load_among(Some(&failed))?
        }
        None => select.load()?,
    };
    let known = match &run.known {
        Some(path) => ewsconf::known::KnownList::load(path)?,
        None => ewsconf::known::KnownList::default(),
    };
    let options = RunOptions {
        jobs: run.jobs.unwrap_or(ewsconf::run::RunOptions::DEFAULT_JOBS),
        keep: run.keep,
        case_timeout: Duration::from_secs(run.case_timeout),
        schemas: schemas(args.schema_dir.as_deref())?,
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let interrupt = interrupt_on_signals()?;
        let target = target(args).await?;
        let mut bar = report::terminal::Progress::new(cases.len() as u64, run.progress);
        let result =
            ewsconf::run::run(&target, &cases, &options, &interrupt, |o| bar.case_done(o)).await;
        bar.finish();
        let secrets: Vec<String> = target.secrets().into_iter().map(str::to_owned).collect();
        target.shutdown().await;
        report_leftovers(&interrupt);
        let mut summary = result?;
        // The one pass every output starts from: secrets redacted, bodies bounded.
        report::prepare(&mut summary);
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        match (&run.baseline, run.update_baseline) {
            (Some(dir), true) => {
                ewsconf::baseline::update(&summary, dir, &secrets)?;
                outln!("baseline written to {}", dir.display());
            }
            (Some(dir), false) => ewsconf::baseline::compare(&mut summary, dir, &secrets)?,
            (None, _) => {}
        }
        summary.strict = run.strict;
        for stale in known.apply(&mut summary) {
            eprintln!("warning: known failure {stale:?} names no case of this run");
        }
        let paths = report::write_all(&summary, &run.report_dir.join(&summary.run_id))?;
        let color = std::io::IsTerminal::is_terminal(&std::io::stdout());
        out!("{}", report::terminal::summary(&summary, color));
        print_paths(&paths);
        Ok(Ending::of(&summary))
    })
}

fn validate(
    files: &[PathBuf],
    schema_dir: Option<&Path>,
    jobs: Option<usize>,
) -> anyhow::Result<Ending> {
    let owned;
    let schemas: &SchemaSet = match schema_dir {
        Some(dir) => {
            owned = SchemaSet::from_dir(dir)
                .with_context(|| format!("loading schemas from {}", dir.display()))?;
            &owned
        }
        None => SchemaSet::embedded().context("compiling the embedded schemas")?,
    };
    let jobs = jobs.unwrap_or_else(cores);
    let stdout = std::io::stdout();
    let mut stderr = std::io::stderr().lock();
    // Line by line on a terminal; in large writes into a pipe or a file.
    let summary = if std::io::IsTerminal::is_terminal(&stdout) {
        report_files(files, schemas, jobs, &mut stdout.lock(), &mut stderr)
    } else {
        report_files(
            files,
            schemas,
            jobs,
            &mut std::io::BufWriter::new(stdout.lock()),
            &mut stderr,
        )
    };
    let summary = match summary {
        Ok(summary) => summary,
        // The reader of stdout went away (`ewsconf validate … | head`): end quietly.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(Ending::Clean),
        Err(e) => return Err(anyhow::Error::new(e).context("writing the results")),
    };
    Ok(if summary.unreadable > 0 {
        Ending::Unusable
    } else if summary.invalid > 0 {
        Ending::Failures
    } else {
        Ending::Clean
    })
}

fn mock(
    listen: SocketAddr,
    profile: Profile,
    users: Option<&Path>,
    delivery_delay_ms: u64,
    max_body_bytes: usize,
    connections: ewsconf::mock::ConnectionLimits,
    body_read_timeout: Duration,
) -> anyhow::Result<Ending> {
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
        server_threads: cores(),
        connections,
        body_read_timeout,
        ..MockConfig::default()
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let server = MockServer::bind(config, listen).await?;
        if !server.addr().ip().is_loopback() {
            eprintln!(
                "warning: the mock listens on {}, reachable from other machines",
                server.addr()
            );
        }
        outln!("ewsconf mock ({profile}) at {}", server.url());
        outln!("accounts:");
        for line in accounts {
            outln!("  {line}");
        }
        outln!("Ctrl-C or SIGTERM stops it.");
        // Stopping on request is the mock's normal end: exit 0. Requests in progress get a few
        // seconds to finish; a second signal stops at once.
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .context("listening for SIGTERM")?;
        tokio::select! {
            stopped = tokio::signal::ctrl_c() => stopped.context("waiting for Ctrl-C")?,
            _ = terminate.recv() => {}
        }
        tokio::select! {
            () = server.shutdown() => {}
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
        Ok(Ending::Clean)
    })
}
