//! `ewsconf fuzz`: generated SendItem requests, valid and malformed mixed, against a target.
//! Each generated request is a [`Case`], judged by the same judge as the suite; a failure is
//! shrunk by proptest to a minimal request and written as the case file `ewsconf run` replays.
//!
//! Requests go out in batches: the batch's drafts are created in a few CreateItem calls, the
//! requests run concurrently, and one FindItem per folder then shows where every draft and copy
//! ended up.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use tokio::sync::Semaphore;

use crate::case::{Case, CaseRequest, FolderName, Placeholder, Role, Template};
use crate::ews::{
    CreateItem, DistinguishedFolderName as Folder, FolderId, Item, ItemId, ItemKind,
    MessageDisposition, ResponseCode,
};
use crate::generate::{FuzzCase, Malformation, SchemaEra, WATCHED, arb_fuzz_case};
use crate::judge::{self, Finding, FoundItem, Judgement, Observed, Verdict};
use crate::run::{ExchangeRecord, FuzzTally, Interrupt, Outcome, Replay, RunSummary, Stage};
use crate::schema::SchemaSet;
use crate::target::calls::folder_of;
use crate::target::{Account, CallError, Client, Post, Target, TargetError};

/// How a fuzz run goes.
#[derive(Debug, Clone)]
pub struct FuzzOptions {
    /// How many requests to send.
    pub cases: usize,
    /// The seed: the same seed gives the same sequence of requests.
    pub seed: u64,
    /// Requests in flight at once.
    pub jobs: usize,
    /// Requests per batch (drafts are created and checked per batch).
    pub batch: usize,
    /// The schemas responses are validated against.
    pub schemas: &'static SchemaSet,
    /// Where shrunk failures are written as case files; `None` writes nothing.
    pub regressions: Option<PathBuf>,
    /// Largest request body the target accepts (the oversize malformation goes one byte over).
    pub max_body: usize,
    /// Most shrink steps per failure.
    pub shrink_steps: usize,
    /// Most failures shrunk and written; later failing names are only counted.
    pub max_failures: usize,
}

/// What stops and bounds a fuzz run, beside [`FuzzOptions`].
#[derive(Debug, Clone)]
pub struct FuzzControl {
    /// Stops the run early: no new batch starts, requests in flight are cancelled, shrinking is
    /// skipped, and cleanup runs within [`crate::run::CLEANUP_AFTER_INTERRUPT`].
    pub interrupt: Interrupt,
    /// The target client's per-request timeout; shrinking's time bounds are counted in it.
    pub request_timeout: Duration,
}

impl Default for FuzzControl {
    fn default() -> Self {
        Self {
            interrupt: Interrupt::default(),
            request_timeout: crate::target::ClientOptions::default().timeout,
        }
    }
}

impl FuzzControl {
    /// The most all shrinking of a run may take: ten request timeouts, and at least a minute.
    pub fn shrink_budget(&self) -> Duration {
        self.request_timeout
            .saturating_mul(10)
            .max(Duration::from_secs(60))
    }

    /// The most one shrink step (setup, the request, one look per folder, the delete) may
    /// take: three request timeouts.
    pub fn step_bound(&self) -> Duration {
        self.request_timeout.saturating_mul(3)
    }

    /// The most cleanup at the end may take: two request timeouts, and at least a minute; less
    /// once interrupted.
    fn cleanup_budget(&self) -> Duration {
        self.interrupt.cleanup_budget(
            self.request_timeout
                .saturating_mul(2)
                .max(Duration::from_secs(60)),
        )
    }
}

/// Why the fuzz run could not go on.
#[derive(Debug, thiserror::Error)]
pub enum FuzzError {
    /// The target lacks an account the loop needs.
    #[error("the target has no {0} account")]
    MissingAccount(Role),
    /// Creating or observing drafts failed.
    #[error("setup failed: {0}")]
    Setup(#[source] Box<CallError>),
    /// Creating or observing drafts got no answer at all.
    #[error("setup got no answer")]
    NoAnswer(#[source] TargetError),
    /// A regression case could not be written.
    #[error("{path}: cannot write the regression case: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl From<CallError> for FuzzError {
    fn from(e: CallError) -> Self {
        match e {
            CallError::Target(e) => FuzzError::NoAnswer(e),
            e => FuzzError::Setup(Box::new(e)),
        }
    }
}

/// A shrunk failure.
#[derive(Debug, Clone)]
pub struct FuzzFailure {
    /// The case as generated.
    pub original: FuzzCase,
    /// The smallest case that still fails.
    pub shrunk: FuzzCase,
    /// The judge's verdict on the shrunk case: what broke, and its state checks.
    pub judgement: Judgement,
    /// The shrunk case's exchanges.
    pub exchanges: Vec<ExchangeRecord>,
    /// Where its regression case was written.
    pub case_file: Option<PathBuf>,
    /// Why shrinking stopped before it was done, if it did ("shrinking stopped: the target
    /// stopped answering").
    pub note: Option<String>,
}

/// The result of a fuzz run.
#[derive(Debug, Clone)]
pub struct FuzzReport {
    /// What was sent and checked, per malformation name; the summary holds a copy.
    pub tally: FuzzTally,
    /// Shrunk failures, one per malformation name at most.
    pub failures: Vec<FuzzFailure>,
    /// The run as the reporters read it: one outcome per malformation name.
    pub summary: RunSummary,
}

/// The rng proptest draws from for `seed`.
pub fn runner(seed: u64) -> TestRunner {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &bytes),
    )
}

/// The first `n` cases of the sequence `seed` gives.
pub fn sequence(seed: u64, n: usize) -> Vec<FuzzCase> {
    let mut runner = runner(seed);
    let strategy = arb_fuzz_case(SchemaEra::Current);
    (0..n)
        .filter_map(|_| strategy.new_tree(&mut runner).ok().map(|t| t.current()))
        .collect()
}

/// The case file that replays a shrunk failure, as `ewsconf fuzz` writes it.
pub fn regression_case(id: &str, case: &FuzzCase, seed: u64, findings: &[Finding]) -> String {
    let first = findings
        .first()
        .map(|f| format!("{}: expected {}, got {}", f.check, f.expected, f.actual))
        .unwrap_or_default();
    let case = case.to_case(id, format!("found by ewsconf fuzz --seed {seed}; {first}"));
    format!(
        "# Written by `ewsconf fuzz --seed {seed}`: the smallest request it found that breaks an invariant.\n{}",
        case.to_toml()
    )
}

struct Ctx<'a> {
    target: &'a Target,
    options: &'a FuzzOptions,
    marker: String,
    principal: &'a Account,
    impersonator: Option<&'a Account>,
    recipient: String,
    outsider: String,
    inbox: FolderId,
}

/// One generated request, judged.
struct Judged {
    judgement: Judgement,
    record: Record,
    /// The request got no answer within the client's timeout.
    timed_out: bool,
}

/// The request under test as it went, bodies shared rather than copied until a report needs
/// them.
struct Record {
    account: String,
    post: Post,
    answer: Option<(u16, Vec<u8>, Duration)>,
    schema_errors: Vec<String>,
}

impl Record {
    fn exchanges(&self) -> Vec<ExchangeRecord> {
        // An oversize body is 16 MiB of padding: the report keeps its start.
        let request = &self.post.body[..self.post.body.len().min(64 * 1024)];
        vec![ExchangeRecord {
            stage: Stage::UnderTest,
            operation: self.post.operation().to_owned(),
            account: self.account.clone(),
            request: String::from_utf8_lossy(request).into_owned(),
            status: self.answer.as_ref().map(|a| a.0),
            response: self
                .answer
                .as_ref()
                .map(|a| String::from_utf8_lossy(&a.1).into_owned()),
            elapsed_ms: self
                .answer
                .as_ref()
                .map_or(0.0, |a| a.2.as_secs_f64() * 1000.0),
            schema_errors: self.schema_errors.clone(),
        }]
    }
}

/// The generated case as this target can run it: without an impersonator, it is sent by the
/// principal itself.
fn adapt(mut case: FuzzCase, ctx: &Ctx<'_>) -> FuzzCase {
    if ctx.impersonator.is_none() {
        case.shape.impersonate = false;
    }
    case
}

/// Runs the loop; `progress` sees the number of requests done so far.
pub async fn fuzz(
    target: &Target,
    options: &FuzzOptions,
    progress: impl FnMut(usize),
) -> Result<FuzzReport, FuzzError> {
    fuzz_until(target, options, &FuzzControl::default(), progress).await
}

/// Runs the loop until it is done or `control.interrupt` stops it; `progress` sees the number of
/// requests done so far. Whatever happens, the run's items are then cleaned up within a bounded
/// time; what could not be deleted is an `error` outcome named `cleanup`.
pub async fn fuzz_until(
    target: &Target,
    options: &FuzzOptions,
    control: &FuzzControl,
    progress: impl FnMut(usize),
) -> Result<FuzzReport, FuzzError> {
    let started = Instant::now();
    let started_at = crate::clock::format_time(crate::clock::now());
    let marker = crate::run::new_marker();
    control.interrupt.in_use(&marker);
    let mut report = FuzzReport {
        tally: FuzzTally {
            seed: options.seed,
            exchanges: 0,
            invariants: 0,
            by_name: BTreeMap::new(),
            replays: Vec::new(),
        },
        failures: Vec::new(),
        summary: RunSummary {
            run_id: crate::run::run_id(&started_at, &format!("fuzz-{}", options.seed)),
            target: target.description.clone(),
            server_version: None,
            started: started_at,
            elapsed: Duration::ZERO,
            outcomes: Vec::new(),
            fuzz: None,
            quirk: None,
            throttling: Default::default(),
            strict: false,
        },
    };
    let mut first_exchanges: BTreeMap<&'static str, Vec<ExchangeRecord>> = BTreeMap::new();
    let looped = fuzz_loop(
        target,
        options,
        control,
        &marker,
        &mut report,
        &mut first_exchanges,
        progress,
    )
    .await;
    report.summary.elapsed = started.elapsed();
    let left = crate::run::clean_up(
        target,
        &marker,
        control.cleanup_budget(),
        &control.interrupt,
    )
    .await;
    let stopped = looped?;
    if let Some(dir) = &options.regressions {
        for (n, failure) in report.failures.iter_mut().enumerate() {
            let id = format!(
                "regressions/{}-seed{}-{n}",
                failure.shrunk.name(),
                options.seed
            );
            let text = regression_case(
                &id,
                &failure.shrunk,
                options.seed,
                &failure.judgement.findings,
            );
            let path = crate::baseline::path(dir, id.trim_start_matches("regressions/"))
                .with_extension("toml");
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|source| FuzzError::Write {
                    path: parent.to_owned(),
                    source,
                })?;
            }
            // Its title quotes the server's answer: no secret goes into the file.
            let text = crate::secrets::redact(&text);
            std::fs::write(&path, text.as_bytes()).map_err(|source| FuzzError::Write {
                path: path.clone(),
                source,
            })?;
            failure.case_file = Some(path);
        }
    }
    report.tally.replays = report
        .failures
        .iter()
        .map(|f| Replay {
            name: f.shrunk.name(),
            item_ids: f.shrunk.effective_shape().items.len(),
            command: f.case_file.as_ref().map(|path| {
                let dir = options.regressions.as_deref().unwrap_or(path.as_path());
                let stem = path.file_stem().unwrap_or_default().to_string_lossy();
                format!(
                    "ewsconf run --cases {} --only 'regressions/{stem}'",
                    dir.display()
                )
            }),
        })
        .collect();
    report.summary.fuzz = Some(report.tally.clone());
    report.summary.outcomes = report
        .tally
        .by_name
        .iter()
        .map(|(name, stats)| {
            let failure = report.failures.iter().find(|f| f.shrunk.name() == *name);
            Outcome {
                id: format!("fuzz/{name}"),
                title: format!(
                    "{} generated request(s) with malformation {name}",
                    stats.exchanges
                ),
                category: "fuzz".into(),
                tags: vec!["fuzz".into()],
                reference: format!("ewsconf fuzz --seed {}", options.seed),
                requirements: Vec::new(),
                section: None,
                // The shrunk failure's case file, when one was written.
                file: failure
                    .and_then(|f| f.case_file.as_ref())
                    .map(|p| p.display().to_string()),
                verdict: if failure.is_some() {
                    Verdict::Fail
                } else {
                    Verdict::Pass
                },
                reason: failure.map(|f| {
                    format!(
                        "{} of {} failed; shrunk to {} ItemId(s){}{}",
                        stats.failures,
                        stats.exchanges,
                        f.shrunk.effective_shape().items.len(),
                        f.case_file
                            .as_ref()
                            .map(|p| format!(", written to {}", p.display()))
                            .unwrap_or_default(),
                        f.note
                            .as_ref()
                            .map(|n| format!("; {n}"))
                            .unwrap_or_default()
                    )
                }),
                findings: failure
                    .map(|f| f.judgement.findings.clone())
                    .unwrap_or_default(),
                exchanges: failure.map_or_else(
                    || first_exchanges.remove(name).unwrap_or_default(),
                    |f| f.exchanges.clone(),
                ),
                state: failure
                    .map(|f| f.judgement.state.clone())
                    .unwrap_or_default(),
                quirk_state: Vec::new(),
                answer: None,
                elapsed_ms: 0.0,
                changed: None,
                known: None,
            }
        })
        .collect();
    if let Some(why) = stopped {
        report.summary.outcomes.push(crate::run::harness_error(
            "fuzz/stopped",
            &format!("{} generated requests", options.cases),
            &format!("ewsconf fuzz --seed {}", options.seed),
            format!(
                "{why}: {} of {} requests sent",
                report.tally.exchanges, options.cases
            ),
        ));
    }
    if !left.is_clean() {
        report.summary.outcomes.push(crate::run::left_behind(&left));
    }
    Ok(report)
}

/// The batches, each judged as it comes back, and the shrinking of failures. Returns why the
/// loop stopped before every request was sent, if it did.
async fn fuzz_loop(
    target: &Target,
    options: &FuzzOptions,
    control: &FuzzControl,
    marker: &str,
    report: &mut FuzzReport,
    first_exchanges: &mut BTreeMap<&'static str, Vec<ExchangeRecord>>,
    mut progress: impl FnMut(usize),
) -> Result<Option<String>, FuzzError> {
    const INTERRUPTED: &str = "the run was interrupted";
    let interrupt = &control.interrupt;
    let account = |role| target.account(role).ok_or(FuzzError::MissingAccount(role));
    let principal = account(Role::Principal)?;
    let recipient = account(Role::Recipient)?.address.clone();
    let inbox = tokio::select! {
        inbox = target
            .client
            .folder_id(principal, folder_of(&principal.address, Folder::Inbox)) => inbox?,
        () = interrupt.wait() => return Ok(Some(INTERRUPTED.to_owned())),
    };
    let ctx = Ctx {
        target,
        options,
        marker: marker.to_owned(),
        principal,
        impersonator: target.account(Role::Impersonator),
        recipient,
        outsider: target.address(Role::Outsider, "").unwrap_or_else(|| {
            format!(
                "nobody@{}",
                target
                    .unknown_domain
                    .as_deref()
                    .unwrap_or("example.invalid")
            )
        }),
        inbox,
    };
    let mut rng = runner(options.seed);
    let strategy = arb_fuzz_case(SchemaEra::Current);
    let mut shrinking = Shrinking {
        left: control.shrink_budget(),
        budget: control.shrink_budget(),
        step_bound: control.step_bound(),
        interrupt,
        given_up: None,
    };
    let mut done = 0;
    while done < options.cases {
        let size = options.batch.min(options.cases - done).max(1);
        let mut trees: Vec<Box<dyn ValueTree<Value = FuzzCase>>> = Vec::with_capacity(size);
        for _ in 0..size {
            if let Ok(tree) = strategy.new_tree(&mut rng) {
                trees.push(Box::new(tree));
            }
        }
        let cases: Vec<FuzzCase> = trees.iter().map(|t| adapt(t.current(), &ctx)).collect();
        let results = tokio::select! {
            results = run_batch(&ctx, done, &cases) => results?,
            () = interrupt.wait() => return Ok(Some(INTERRUPTED.to_owned())),
        };
        // A batch in which no request got an answer: the target has stopped answering, and every
        // further batch would wait as long.
        let silent = !results.is_empty() && results.iter().all(|j| j.timed_out);
        for ((case, judged), tree) in cases.iter().zip(results).zip(trees) {
            let name = case.name();
            let stats = report.tally.by_name.entry(name).or_default();
            stats.exchanges += 1;
            report.tally.exchanges += 1;
            report.tally.invariants += judged.judgement.checks;
            first_exchanges
                .entry(name)
                .or_insert_with(|| judged.record.exchanges());
            if judged.judgement.verdict.conforms() {
                continue;
            }
            stats.failures += 1;
            // Each malformation name is shrunk once: its first failure stands for the rest.
            let shrunk_already = report.failures.iter().any(|f| f.original.name() == name);
            if report.failures.len() < options.max_failures && !shrunk_already {
                report
                    .failures
                    .push(shrink(&ctx, &mut shrinking, tree, judged, case.clone()).await?);
            }
        }
        done += size;
        progress(done);
        if interrupt.triggered() {
            return Ok(Some(INTERRUPTED.to_owned()));
        }
        if silent && done < options.cases {
            return Ok(Some(format!(
                "stopped: the target stopped answering (none of the last {size} requests got an answer)"
            )));
        }
    }
    Ok(None)
}

/// The time bounds shrinking keeps, across every failure of a run.
struct Shrinking<'a> {
    /// The time shrinking has left.
    left: Duration,
    /// The whole budget, for messages.
    budget: Duration,
    /// The most one step may take.
    step_bound: Duration,
    interrupt: &'a Interrupt,
    /// Why shrinking was given up for the rest of the run, once it was.
    given_up: Option<String>,
}

/// Shrinks a failing case with proptest's simplify / complicate steps, re-running each
/// candidate on its own fresh drafts, within the run's shrinking budget. A step that gets no
/// answer, or takes longer than its bound, ends all shrinking for the run: the target has
/// stopped answering, and every further step would wait as long.
async fn shrink(
    ctx: &Ctx<'_>,
    bounds: &mut Shrinking<'_>,
    mut tree: Box<dyn ValueTree<Value = FuzzCase>>,
    judged: Judged,
    original: FuzzCase,
) -> Result<FuzzFailure, FuzzError> {
    let mut best = (original.clone(), judged);
    let mut steps = 0;
    let mut offset = 1_000_000;
    let mut note = bounds.given_up.clone();
    let began = tokio::time::Instant::now();
    let deadline = began.checked_add(bounds.left).unwrap_or(began);
    'shrinking: while note.is_none() && steps < ctx.options.shrink_steps && tree.simplify() {
        loop {
            if tokio::time::Instant::now() >= deadline {
                note = Some(format!(
                    "shrinking stopped: its time budget of {:?} ran out",
                    bounds.budget
                ));
                break 'shrinking;
            }
            steps += 1;
            offset += 1;
            let candidate = adapt(tree.current(), ctx);
            let until = tokio::time::Instant::now()
                .checked_add(bounds.step_bound)
                .map_or(deadline, |t| t.min(deadline));
            let step = tokio::time::timeout_at(
                until,
                run_batch(ctx, offset, std::slice::from_ref(&candidate)),
            );
            let result = tokio::select! {
                result = step => result,
                () = bounds.interrupt.wait() => {
                    note = Some("shrinking stopped: the run was interrupted".to_owned());
                    break 'shrinking;
                }
            };
            let judged = match result {
                Err(_) if until < deadline => {
                    let why = format!(
                        "shrinking stopped: the target stopped answering (a step took longer than {:?})",
                        bounds.step_bound
                    );
                    bounds.given_up = Some(why.clone());
                    note = Some(why);
                    break 'shrinking;
                }
                Err(_) => {
                    note = Some(format!(
                        "shrinking stopped: its time budget of {:?} ran out",
                        bounds.budget
                    ));
                    break 'shrinking;
                }
                Ok(Err(e @ (FuzzError::Setup(_) | FuzzError::NoAnswer(_)))) => {
                    let why = match &e {
                        FuzzError::NoAnswer(t @ TargetError::Timeout { .. }) => {
                            format!("shrinking stopped: the target stopped answering ({t})")
                        }
                        FuzzError::NoAnswer(t) => format!("shrinking stopped: {e}: {t}"),
                        e => format!("shrinking stopped: {e}"),
                    };
                    bounds.given_up = Some(why.clone());
                    note = Some(why);
                    break 'shrinking;
                }
                Ok(Err(e)) => return Err(e),
                Ok(Ok(mut result)) => result.remove(0),
            };
            if judged.timed_out {
                let why = format!(
                    "shrinking stopped: the target stopped answering ({})",
                    judged.judgement.answer
                );
                bounds.given_up = Some(why.clone());
                note = Some(why);
                break 'shrinking;
            }
            if !judged.judgement.verdict.conforms() {
                best = (candidate, judged);
                break;
            }
            if steps >= ctx.options.shrink_steps || !tree.complicate() {
                break;
            }
        }
    }
    bounds.left = bounds.left.saturating_sub(began.elapsed());
    let (shrunk, judged) = best;
    Ok(FuzzFailure {
        original,
        shrunk,
        judgement: judged.judgement,
        exchanges: judged.record.exchanges(),
        case_file: None,
        note,
    })
}

/// Subjects carry the batch, so that one FindItem per folder sees just that batch's drafts.
fn subject(marker: &str, batch: usize, case: usize, item: &str) -> String {
    let mut numbers = itoa::Buffer::new();
    let batch = numbers.format(batch).to_owned();
    [marker, " b", &batch, " f", numbers.format(case), " ", item].concat()
}

/// Which case of the batch starting at `first` a subject belongs to.
fn case_of(subject: &str, first: usize) -> Option<usize> {
    let after = &subject[subject.find(" f")? + 2..];
    let digits = after.split(' ').next()?;
    digits.parse::<usize>().ok()?.checked_sub(first)
}

/// The ids a case's placeholders stand for.
#[derive(Default)]
struct Pool {
    items: BTreeMap<String, (ItemId, Option<String>)>,
    ghost: Option<ItemId>,
}

/// Creates the drafts (and tasks, ghosts and stale keys) a batch needs, sends every request,
/// and judges each answer and where everything ended up.
async fn run_batch(
    ctx: &Ctx<'_>,
    first: usize,
    generated: &[FuzzCase],
) -> Result<Vec<Judged>, FuzzError> {
    let client = &ctx.target.client;
    let principal = ctx.principal;
    let cases: Vec<Case> = generated
        .iter()
        .enumerate()
        .map(|(i, g)| g.to_case(&format!("fuzz/{}-{}", g.name(), first + i), String::new()))
        .collect();

    // Set up: every case's items in a few CreateItem calls, and a ghost per case that needs one.
    let mut wanted: Vec<(usize, String, Item)> = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        for s in &case.setup {
            let subject = subject(&ctx.marker, first, first + i, &s.name);
            let item = match s.kind {
                crate::case::SetupKind::Task => Item::task(subject),
                // Generated cases hold messages and tasks only.
                _ => Item::message(subject).to(ctx.recipient.clone()),
            };
            wanted.push((i, s.name.clone(), item));
        }
        if generated[i].malformation == Some(Malformation::ForeignId) {
            let ghost = Item::message(subject(&ctx.marker, first, first + i, "ghost"));
            wanted.push((i, String::new(), ghost));
        }
    }
    // Messages go to Drafts, tasks to Tasks: Exchange creates a task only in a tasks folder
    // (ErrorCannotCreateTaskInNonTaskFolder).
    let (tasks, messages): (Vec<_>, Vec<_>) = wanted
        .into_iter()
        .partition(|(_, _, item)| item.kind == ItemKind::Task);
    let mut ids = create_many(
        client,
        principal,
        folder_of(&principal.address, Folder::Drafts),
        messages.iter().map(|(_, _, item)| item.clone()).collect(),
    )
    .await?;
    let task_ids = create_many(
        client,
        principal,
        folder_of(&principal.address, Folder::Tasks),
        tasks.iter().map(|(_, _, item)| item.clone()).collect(),
    )
    .await?;
    ids.extend(task_ids.iter().cloned());
    let wanted: Vec<_> = messages.into_iter().chain(tasks).collect();
    let mut pools: Vec<Pool> = cases.iter().map(|_| Pool::default()).collect();
    let mut ghosts = Vec::new();
    for ((i, name, _), id) in wanted.into_iter().zip(ids) {
        if name.is_empty() {
            ghosts.push(id.clone());
            pools[i].ghost = Some(id);
        } else {
            pools[i].items.insert(name, (id, None));
        }
    }
    if !ghosts.is_empty() {
        client.delete(principal, ghosts).await?;
    }
    let mut touches: FuturesUnordered<_> = cases
        .iter()
        .enumerate()
        .flat_map(|(i, case)| case.stale_items().into_iter().map(move |n| (i, n)))
        .filter_map(|(i, name)| {
            let old = pools[i].items.get(name)?.0.clone();
            let subject = subject(&ctx.marker, first, first + i, name);
            Some(async move {
                let new = client.touch(principal, old.clone(), &subject).await;
                (i, name, old.change_key, new)
            })
        })
        .collect();
    let mut touched = Vec::new();
    while let Some((i, name, old, new)) = touches.next().await {
        touched.push((i, name.to_owned(), old, new?));
    }
    drop(touches);
    for (i, name, old, new) in touched {
        pools[i].items.insert(name, (new, old));
    }

    // Send.
    let semaphore = Semaphore::new(ctx.options.jobs.clamp(1, Semaphore::MAX_PERMITS));
    let mut sends: FuturesUnordered<_> = cases
        .iter()
        .enumerate()
        .map(|(i, case)| {
            let semaphore = &semaphore;
            let pool = &pools[i];
            async move {
                let _permit = semaphore.acquire().await;
                let account = match case.sender {
                    Role::Impersonator => ctx.impersonator.unwrap_or(principal),
                    _ => principal,
                };
                let (post, item_count) = fill(ctx, case, pool);
                let result = client.post(&account.auth, post.clone()).await;
                (i, account.address.clone(), post, item_count, result)
            }
        })
        .collect();
    let mut answers = Vec::new();
    while let Some(answer) = sends.next().await {
        answers.push(answer);
    }
    answers.sort_by_key(|a| a.0);

    // Where everything is now: one look per watched folder for the whole batch.
    let marker = format!("{} b{first} ", ctx.marker);
    let mut located: Vec<BTreeMap<FolderName, Vec<FoundItem>>> = vec![BTreeMap::new(); cases.len()];
    let mut seen = Vec::new();
    for folder in WATCHED {
        for item in client
            .find(
                principal,
                folder_of(&principal.address, folder.distinguished()),
                &marker,
            )
            .await?
        {
            seen.extend(item.item_id);
            let subject = item.subject.unwrap_or_default();
            if let Some(list) = case_of(&subject, first).and_then(|i| located.get_mut(i)) {
                list.entry(folder).or_default().push(FoundItem {
                    subject,
                    item_class: item.item_class.unwrap_or_default(),
                    ..FoundItem::default()
                });
            }
        }
    }
    // The batch is judged: clear it away, so folders stay small and searches stay fast. Tasks
    // cannot be sent, so they are still in Tasks.
    seen.extend(task_ids);
    if !seen.is_empty() {
        client.delete(principal, seen).await?;
    }

    Ok(answers
        .into_iter()
        .zip(located)
        .map(|((i, account, post, item_count, result), mut found)| {
            let mut observed = match &result {
                Ok(exchange) => Observed::received(exchange, ctx.options.schemas, item_count),
                Err(e) => Observed::no_answer(e.to_string()),
            };
            observed.folders = WATCHED
                .into_iter()
                .map(|f| {
                    (
                        (Role::Principal, f),
                        Ok(found.remove(&f).unwrap_or_default()),
                    )
                })
                .collect();
            let tokens = |name: &str| subject(&ctx.marker, first, first + i, name);
            let addresses = |role: Role| ctx.target.address(role, &ctx.marker);
            let judgement = match &result {
                Ok(_) => judge::judge(&cases[i], &observed, &tokens, &addresses),
                Err(e) => unanswered(e),
            };
            let timed_out = matches!(result, Err(TargetError::Timeout { .. }));
            Judged {
                judgement,
                timed_out,
                record: Record {
                    account,
                    post,
                    schema_errors: observed.schema_errors,
                    answer: result.ok().map(|e| (e.status, e.body, e.elapsed)),
                },
            }
        })
        .collect())
}

/// A request that got no answer: a failure of the target (a hang past the timeout, a dropped
/// connection), not something to judge.
fn unanswered(e: &TargetError) -> Judgement {
    let check = if matches!(e, TargetError::Timeout { .. }) {
        "no hang past the timeout"
    } else {
        "an answer"
    };
    Judgement {
        verdict: Verdict::Fail,
        reason: None,
        findings: vec![Finding {
            check: check.to_owned(),
            expected: "an HTTP answer".to_owned(),
            actual: e.to_string(),
            line: None,
        }],
        state: Vec::new(),
        quirk_state: Vec::new(),
        answer: e.to_string(),
        checks: 1,
    }
}

/// The case's request with its placeholders filled in from the batch's pool.
fn fill(ctx: &Ctx<'_>, case: &Case, pool: &Pool) -> (Post, Option<usize>) {
    let CaseRequest::Raw(raw) = &case.request else {
        // Generated cases are raw requests; anything else has nothing to send.
        return (
            Post {
                body: Default::default(),
                content_type: String::new(),
                soap_action: None,
            },
            None,
        );
    };
    let item = |name: &str| pool.items.get(name);
    let filled = Template::parse(&raw.body).and_then(|t| {
        t.fill(|p| {
            Ok(match p {
                Placeholder::Id(n) => item(n).map(|i| i.0.id.clone()).unwrap_or_default(),
                Placeholder::ChangeKey(n) => item(n)
                    .and_then(|i| i.0.change_key.clone())
                    .unwrap_or_default(),
                Placeholder::StaleKey(n) => item(n).and_then(|i| i.1.clone()).unwrap_or_default(),
                Placeholder::Deleted => pool
                    .ghost
                    .as_ref()
                    .map(|g| g.id.clone())
                    .unwrap_or_default(),
                Placeholder::Address(Role::Outsider) => ctx.outsider.clone(),
                Placeholder::Address(role) => {
                    ctx.target.address(role, &ctx.marker).unwrap_or_default()
                }
                Placeholder::FolderId(..) => ctx.inbox.id.clone(),
                Placeholder::Marker => ctx.marker.clone(),
            })
        })
    });
    // The generator writes only placeholders it knows; a body that does not fill goes as it is.
    let filled = filled.unwrap_or_else(|_| raw.body.clone());
    crate::run::raw_post(raw, filled, ctx.options.max_body)
}

async fn create_many(
    client: &Client,
    account: &Account,
    folder: crate::ews::TargetFolderId,
    items: Vec<Item>,
) -> Result<Vec<ItemId>, FuzzError> {
    let mut ids = Vec::with_capacity(items.len());
    for chunk in items.chunks(200) {
        let create = CreateItem::new(Some(MessageDisposition::SaveOnly), chunk.to_vec())
            .saved_item_folder_id(folder.clone());
        let messages = client
            .messages(account, &Default::default(), create)
            .await?;
        for m in messages {
            let id = m.items.into_iter().next().and_then(|i| i.item_id);
            ids.push(
                id.ok_or(CallError::Ews {
                    operation: "CreateItem",
                    code: m
                        .response_code
                        .unwrap_or(ResponseCode::ErrorInternalServerError),
                    text: m.message_text,
                })?,
            );
        }
    }
    Ok(ids)
}
