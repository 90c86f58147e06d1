//! `ewsconf fuzz`: generated SendItem requests, valid and malformed mixed, against a target,
//! with invariants checked on every exchange. A failure is shrunk by proptest to a minimal
//! request and written as a case file that `ewsconf run` replays.
//!
//! Requests go out in batches: the batch's drafts are created in a few CreateItem calls, the
//! requests run concurrently, and one FindItem per folder then shows where every draft and copy
//! ended up.

mod regression;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use tokio::sync::Semaphore;

use crate::case::Role;
use crate::ews::{
    ConnectingSid, CreateItem, DistinguishedFolderName as Folder, FolderId, Item, ItemId,
    MessageDisposition, ResponseBody, ResponseClass, ResponseCode, ResponseEnvelope,
};
use crate::generate::{Acceptable, FuzzCase, PoolIds, SchemaEra, arb_fuzz_case};
use crate::judge::{self, Observed};
use crate::run::{ExchangeRecord, Finding, Outcome, RunSummary, Verdict};
use crate::schema::SchemaSet;
use crate::target::calls::folder_of;
use crate::target::{Account, CallError, Client, Post, Target, TargetError};

pub use regression::regression_case;

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

/// Why the fuzz run could not go on.
#[derive(Debug, thiserror::Error)]
pub enum FuzzError {
    /// The target lacks an account the loop needs.
    #[error("the target has no {0} account")]
    MissingAccount(Role),
    /// Creating or observing drafts failed.
    #[error("setup failed: {0}")]
    Setup(Box<CallError>),
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
        FuzzError::Setup(Box::new(e))
    }
}

/// Exchanges and failures for one malformation name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameStats {
    /// Requests sent.
    pub exchanges: usize,
    /// Requests that broke an invariant.
    pub failures: usize,
}

/// A shrunk failure.
#[derive(Debug, Clone)]
pub struct FuzzFailure {
    /// The case as generated.
    pub original: FuzzCase,
    /// The smallest case that still fails.
    pub shrunk: FuzzCase,
    /// What broke, for the shrunk case.
    pub findings: Vec<Finding>,
    /// The shrunk case's exchanges.
    pub exchanges: Vec<ExchangeRecord>,
    /// Where its regression case was written.
    pub case_file: Option<PathBuf>,
}

/// The result of a fuzz run.
#[derive(Debug, Clone)]
pub struct FuzzReport {
    /// The seed.
    pub seed: u64,
    /// Requests sent (not counting set-up and observation).
    pub exchanges: usize,
    /// Invariant checks made.
    pub invariants: usize,
    /// Per malformation name (`valid` for none).
    pub by_name: BTreeMap<&'static str, NameStats>,
    /// Shrunk failures, one per malformation name at most.
    pub failures: Vec<FuzzFailure>,
    /// Wall time of the sending and checking.
    pub elapsed: Duration,
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

struct Ctx<'a> {
    target: &'a Target,
    options: &'a FuzzOptions,
    marker: String,
    principal: &'a Account,
    recipient: String,
    outsider: String,
    sender: (&'a Account, Option<ConnectingSid>),
    inbox: FolderId,
}

/// One case's outcome: the findings, the invariants checked, and its exchanges.
struct Checked {
    findings: Vec<Finding>,
    invariants: usize,
    raw: Raw,
}

/// An exchange kept as it came (bodies shared, not copied) until a report needs it.
struct Raw {
    label: String,
    account: String,
    post: Post,
    answer: Option<(u16, Vec<u8>, Duration)>,
    schema_errors: Vec<String>,
}

impl Raw {
    fn records(&self) -> Vec<ExchangeRecord> {
        // An oversize body is 16 MiB of padding: the report keeps its start.
        let request = &self.post.body[..self.post.body.len().min(64 * 1024)];
        vec![ExchangeRecord {
            label: self.label.clone(),
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

/// Runs the loop; `progress` sees the number of requests done so far.
pub async fn fuzz(
    target: &Target,
    options: &FuzzOptions,
    mut progress: impl FnMut(usize),
) -> Result<FuzzReport, FuzzError> {
    let started = Instant::now();
    let started_at = crate::mock::store::format_time(crate::mock::store::now());
    let account = |role| target.account(role).ok_or(FuzzError::MissingAccount(role));
    let principal = account(Role::Principal)?;
    let impersonator = target.account(Role::Impersonator);
    let ctx = Ctx {
        target,
        options,
        marker: crate::run::new_marker(),
        principal,
        recipient: account(Role::Recipient)?.address.clone(),
        outsider: target.address(Role::Outsider, "").unwrap_or_else(|| {
            format!(
                "nobody@{}",
                target
                    .unknown_domain
                    .as_deref()
                    .unwrap_or("example.invalid")
            )
        }),
        sender: (principal, None),
        inbox: target
            .client
            .folder_id(principal, folder_of(&principal.address, Folder::Inbox))
            .await?,
    };
    let mut rng = runner(options.seed);
    let strategy = arb_fuzz_case(SchemaEra::Current);
    let mut report = FuzzReport {
        seed: options.seed,
        exchanges: 0,
        invariants: 0,
        by_name: BTreeMap::new(),
        failures: Vec::new(),
        elapsed: Duration::ZERO,
        summary: RunSummary {
            run_id: String::new(),
            target: target.description.clone(),
            server_version: None,
            started: started_at.clone(),
            elapsed: Duration::ZERO,
            outcomes: Vec::new(),
            quirk: None,
        },
    };
    let mut failed_names: BTreeSet<&'static str> = BTreeSet::new();
    let mut first_exchanges: BTreeMap<&'static str, Vec<ExchangeRecord>> = BTreeMap::new();
    let mut done = 0;
    while done < options.cases {
        let size = options.batch.min(options.cases - done).max(1);
        let mut trees: Vec<Option<Box<dyn ValueTree<Value = FuzzCase>>>> = Vec::with_capacity(size);
        for _ in 0..size {
            if let Ok(tree) = strategy.new_tree(&mut rng) {
                trees.push(Some(Box::new(tree)));
            }
        }
        let cases: Vec<FuzzCase> = trees.iter().flatten().map(|t| t.current()).collect();
        let results = run_batch(&ctx, done, &cases, impersonator).await?;
        for (i, (case, checked)) in cases.iter().zip(results).enumerate() {
            let name = case.name();
            let stats = report.by_name.entry(name).or_default();
            stats.exchanges += 1;
            report.exchanges += 1;
            report.invariants += checked.invariants;
            first_exchanges
                .entry(name)
                .or_insert_with(|| checked.raw.records());
            if checked.findings.is_empty() {
                continue;
            }
            stats.failures += 1;
            // Each malformation name is shrunk once: its first failure stands for the rest.
            if report.failures.len() < options.max_failures && failed_names.insert(name) {
                if let Some(tree) = trees[i].take() {
                    report
                        .failures
                        .push(shrink(&ctx, impersonator, tree, checked, case.clone()).await?);
                }
            }
        }
        done += size;
        progress(done);
    }
    report.elapsed = started.elapsed();
    crate::run::clean_up(target, &ctx.marker).await;
    if let Some(dir) = &options.regressions {
        for (n, failure) in report.failures.iter_mut().enumerate() {
            let id = format!(
                "regressions/{}-seed{}-{n}",
                failure.shrunk.name(),
                options.seed
            );
            let text = regression_case(&id, &failure.shrunk, options.seed, &failure.findings);
            let path = crate::baseline::path(dir, id.trim_start_matches("regressions/"))
                .with_extension("toml");
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|source| FuzzError::Write {
                    path: parent.to_owned(),
                    source,
                })?;
            }
            std::fs::write(&path, text).map_err(|source| FuzzError::Write {
                path: path.clone(),
                source,
            })?;
            failure.case_file = Some(path);
        }
    }
    report.summary.run_id = crate::run::run_id(&started_at, &format!("fuzz-{}", options.seed));
    report.summary.elapsed = report.elapsed;
    report.summary.outcomes = report
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
                verdict: if failure.is_some() {
                    Verdict::Fail
                } else {
                    Verdict::Pass
                },
                reason: failure.map(|f| {
                    format!(
                        "{} of {} failed; shrunk to {} ItemId(s){}",
                        stats.failures,
                        stats.exchanges,
                        f.shrunk.effective_shape().items.len(),
                        f.case_file
                            .as_ref()
                            .map(|p| format!(", written to {}", p.display()))
                            .unwrap_or_default()
                    )
                }),
                findings: failure.map(|f| f.findings.clone()).unwrap_or_default(),
                exchanges: failure.map_or_else(
                    || first_exchanges.remove(name).unwrap_or_default(),
                    |f| f.exchanges.clone(),
                ),
                state: Vec::new(),
                elapsed_ms: 0.0,
                changed: None,
            }
        })
        .collect();
    Ok(report)
}

/// Shrinks a failing case with proptest's simplify / complicate steps, re-running each
/// candidate on its own fresh drafts.
async fn shrink(
    ctx: &Ctx<'_>,
    impersonator: Option<&Account>,
    mut tree: Box<dyn ValueTree<Value = FuzzCase>>,
    checked: Checked,
    original: FuzzCase,
) -> Result<FuzzFailure, FuzzError> {
    let mut best = (tree.current(), checked);
    let mut steps = 0;
    let mut offset = 1_000_000;
    while steps < ctx.options.shrink_steps && tree.simplify() {
        loop {
            steps += 1;
            offset += 1;
            let candidate = tree.current();
            let mut result =
                run_batch(ctx, offset, std::slice::from_ref(&candidate), impersonator).await?;
            let checked = result.remove(0);
            if !checked.findings.is_empty() {
                best = (candidate, checked);
                break;
            }
            if steps >= ctx.options.shrink_steps || !tree.complicate() {
                break;
            }
        }
    }
    let (shrunk, checked) = best;
    Ok(FuzzFailure {
        original,
        shrunk,
        findings: checked.findings,
        exchanges: checked.raw.records(),
        case_file: None,
    })
}

/// Subjects carry the batch, so that one FindItem per folder sees just that batch's drafts.
fn subject(marker: &str, batch: usize, case: usize, draft: usize) -> String {
    format!("{marker} b{batch} f{case} d{draft}")
}

/// Creates the drafts (and tasks, ghosts and stale keys) a batch needs, sends every request,
/// and checks the answers and where everything ended up.
async fn run_batch(
    ctx: &Ctx<'_>,
    first: usize,
    cases: &[FuzzCase],
    impersonator: Option<&Account>,
) -> Result<Vec<Checked>, FuzzError> {
    let client = &ctx.target.client;
    let principal = ctx.principal;
    let drafts_folder = folder_of(&principal.address, Folder::Drafts);
    // Drafts: one per pool slot a case names.
    let mut wanted: Vec<(usize, usize, Item)> = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let shape = case.effective_shape();
        let slots: BTreeSet<usize> = shape.items.iter().map(|r| r.draft).collect();
        for d in slots {
            wanted.push((
                i,
                d,
                Item::message(subject(&ctx.marker, first, first + i, d)).to(ctx.recipient.clone()),
            ));
        }
        if case.malformation == Some(crate::generate::Malformation::NonMessageItem) {
            wanted.push((
                i,
                usize::MAX,
                Item::task(subject(&ctx.marker, first, first + i, 99)),
            ));
        }
        if case.malformation == Some(crate::generate::Malformation::ForeignId) {
            wanted.push((
                i,
                usize::MAX - 1,
                Item::message(subject(&ctx.marker, first, first + i, 98)),
            ));
        }
    }
    let ids = create_many(
        client,
        principal,
        drafts_folder.clone(),
        wanted.iter().map(|(_, _, item)| item.clone()).collect(),
    )
    .await?;
    let placeholder = ItemId::new("unused");
    let mut pools: Vec<PoolIds> = cases
        .iter()
        .map(|_| PoolIds {
            drafts: vec![placeholder.clone(); crate::generate::send::POOL_SIZE],
            stale: vec![None; crate::generate::send::POOL_SIZE],
            task: placeholder.clone(),
            ghost: placeholder.clone(),
            sender: principal.address.clone(),
            outsider: ctx.outsider.clone(),
            inbox: ctx.inbox.clone(),
        })
        .collect();
    let mut ghosts = Vec::new();
    for ((i, d, _), id) in wanted.iter().zip(ids) {
        match *d {
            usize::MAX => pools[*i].task = id,
            x if x == usize::MAX - 1 => {
                ghosts.push(id.clone());
                pools[*i].ghost = id;
            }
            d => pools[*i].drafts[d] = id,
        }
    }
    if !ghosts.is_empty() {
        client.delete(principal, ghosts).await?;
    }
    let mut touches: FuturesUnordered<_> = cases
        .iter()
        .enumerate()
        .flat_map(|(i, case)| case.stale_drafts().into_iter().map(move |d| (i, d)))
        .map(|(i, d)| {
            let old = pools[i].drafts[d].clone();
            let subject = subject(&ctx.marker, first, first + i, d);
            async move {
                (
                    i,
                    d,
                    old.change_key.clone(),
                    client.touch(principal, old, &subject).await,
                )
            }
        })
        .collect();
    let mut touched = Vec::new();
    while let Some((i, d, old, new)) = touches.next().await {
        touched.push((i, d, old, new?));
    }
    drop(touches);
    for (i, d, old, new) in touched {
        pools[i].stale[d] = old;
        pools[i].drafts[d] = new;
    }

    // Send.
    let semaphore = Semaphore::new(ctx.options.jobs.max(1));
    let mut sends: FuturesUnordered<_> = cases
        .iter()
        .enumerate()
        .map(|(i, case)| {
            let semaphore = &semaphore;
            let pool = &pools[i];
            async move {
                let _permit = semaphore.acquire().await;
                let (account, sid) = match (case.effective_shape().impersonate, impersonator) {
                    (true, Some(imp)) => (
                        imp,
                        Some(ConnectingSid::PrimarySmtpAddress(principal.address.clone())),
                    ),
                    _ => ctx.sender.clone(),
                };
                let rendered = case.render(pool, sid, ctx.options.max_body);
                let post = Post {
                    body: rendered.body.into(),
                    content_type: rendered.content_type,
                    soap_action: rendered.soap_action,
                };
                let result = client.post(&account.auth, post.clone()).await;
                (
                    i,
                    account.address.clone(),
                    post,
                    rendered.item_count,
                    result,
                )
            }
        })
        .collect();
    let mut answers = Vec::new();
    while let Some(answer) = sends.next().await {
        answers.push(answer);
    }
    answers.sort_by_key(|a| a.0);

    // Where everything is now.
    let marker = format!("{} b{first} ", ctx.marker);
    let mut located: BTreeMap<String, Vec<Folder>> = BTreeMap::new();
    let mut seen = Vec::new();
    for folder in [
        Folder::Drafts,
        Folder::SentItems,
        Folder::Inbox,
        Folder::DeletedItems,
    ] {
        for item in client
            .find(principal, folder_of(&principal.address, folder), &marker)
            .await?
        {
            seen.extend(item.item_id);
            if let Some(s) = item.subject {
                located.entry(s).or_default().push(folder);
            }
        }
    }
    // The batch is judged: clear it away, so folders stay small and searches stay fast.
    if !seen.is_empty() {
        client.delete(principal, seen).await?;
    }

    Ok(answers
        .into_iter()
        .map(|(i, account, post, item_count, result)| {
            let located = |d: usize| {
                located
                    .get(&subject(&ctx.marker, first, first + i, d))
                    .cloned()
                    .unwrap_or_default()
            };
            check(ctx, &cases[i], &account, post, item_count, result, &located)
        })
        .collect())
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

fn finding(check: &str, expected: impl Into<String>, actual: impl Into<String>) -> Finding {
    Finding {
        check: check.to_owned(),
        expected: expected.into(),
        actual: actual.into(),
    }
}

#[allow(clippy::too_many_arguments)]
fn check(
    ctx: &Ctx<'_>,
    case: &FuzzCase,
    account: &str,
    post: Post,
    item_count: usize,
    result: Result<crate::target::Exchange, TargetError>,
    located: &dyn Fn(usize) -> Vec<Folder>,
) -> Checked {
    let exchange = match result {
        Ok(exchange) => exchange,
        Err(e) => {
            let raw = Raw {
                label: format!("SendItem ({})", case.name()),
                account: account.to_owned(),
                post,
                answer: None,
                schema_errors: Vec::new(),
            };
            let check = if matches!(e, TargetError::Timeout { .. }) {
                "no hang past the timeout"
            } else {
                "an answer"
            };
            return Checked {
                findings: vec![finding(check, "an HTTP answer", e.to_string())],
                invariants: 1,
                raw,
            };
        }
    };
    let is_xml = exchange.body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<');
    // A valid answer is validated and read in one pass; any other is read on its own.
    let parsed = is_xml.then(|| ctx.options.schemas.parse_valid(&exchange.body));
    let (schema_errors, envelope): (Vec<String>, _) = match parsed {
        Some(Ok(root)) => (Vec::new(), ResponseEnvelope::from_element(&root)),
        Some(Err(validation)) => (
            validation.errors.iter().map(|e| e.to_string()).collect(),
            ResponseEnvelope::parse(&exchange.body),
        ),
        None => (Vec::new(), ResponseEnvelope::parse(&exchange.body)),
    };
    let observed = Observed {
        status: exchange.status,
        is_xml,
        schema_errors: schema_errors.clone(),
        envelope: envelope.map_err(|e| e.to_string()),
        item_count: Some(item_count),
        folders: BTreeMap::new(),
    };
    // Schema, 5xx with fault, one message per ItemId, class agrees with code: 4 invariants.
    let mut findings = judge::protocol_findings(&observed);
    let mut invariants = 4;
    let messages = match &observed.envelope {
        Ok(ResponseEnvelope {
            body: ResponseBody::Response(r),
            ..
        }) => Some(&r.response_messages),
        _ => None,
    };
    invariants += 1;
    findings.extend(acceptable(case, &observed, messages));

    // State: each draft moved only if its send succeeded, and its copy is where the save rules say.
    let shape = case.effective_shape();
    let slots: BTreeSet<usize> = shape.items.iter().map(|r| r.draft).collect();
    for d in slots {
        invariants += 1;
        let positions: Vec<usize> = shape
            .items
            .iter()
            .enumerate()
            .filter(|(_, r)| r.draft == d)
            .map(|(p, _)| p)
            .collect();
        let sent = match (case.malformation, messages) {
            // A stale or otherwise substituted first id does not name this draft.
            (Some(m), Some(list)) => {
                positions.iter().any(|p| {
                    let substituted = *p == 0
                        && matches!(
                            m,
                            crate::generate::Malformation::MalformedId
                                | crate::generate::Malformation::ForeignId
                                | crate::generate::Malformation::NonMessageItem
                                | crate::generate::Malformation::EmptyId
                        );
                    !substituted
                        && list
                            .get(*p)
                            .is_some_and(|m| m.response_class == ResponseClass::Success)
                }) || (m == crate::generate::Malformation::DuplicateItemId
                    && d == shape.items[0].draft
                    && list
                        .last()
                        .is_some_and(|m| m.response_class == ResponseClass::Success))
            }
            (None, Some(list)) => positions.iter().any(|p| {
                list.get(*p)
                    .is_some_and(|m| m.response_class == ResponseClass::Success)
            }),
            (_, None) => false,
        };
        let copy = if sent && shape.save {
            Some(shape.folder.map_or(Folder::SentItems, |f| f.folder()))
        } else {
            None
        };
        let expected: Vec<Folder> = match (sent, copy) {
            (false, _) => vec![Folder::Drafts],
            (true, Some(f)) => vec![f],
            (true, None) => vec![],
        };
        let mut actual = located(d);
        actual.sort();
        let mut want = expected.clone();
        want.sort();
        if actual != want {
            let show = |f: &[Folder]| {
                if f.is_empty() {
                    "nowhere".to_owned()
                } else {
                    f.iter().map(|f| f.as_str()).collect::<Vec<_>>().join(", ")
                }
            };
            findings.push(finding(
                &format!("state of draft {d}"),
                format!(
                    "{} ({})",
                    show(&want),
                    if sent { "sent" } else { "not sent: unchanged" }
                ),
                show(&actual),
            ));
        }
    }

    Checked {
        findings,
        invariants,
        raw: Raw {
            label: format!("SendItem ({})", case.name()),
            account: account.to_owned(),
            post,
            answer: Some((exchange.status, exchange.body, exchange.elapsed)),
            schema_errors,
        },
    }
}

/// Whether the answer is one the case's oracle accepts.
fn acceptable(
    case: &FuzzCase,
    observed: &Observed,
    messages: Option<&Vec<crate::ews::ResponseMessage>>,
) -> Vec<Finding> {
    let fault_code = observed
        .envelope
        .as_ref()
        .ok()
        .and_then(|e| e.fault())
        .and_then(|f| f.response_code());
    let codes = |c: &[ResponseCode]| {
        c.iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>()
            .join(" or ")
    };
    let describe = || match (messages, fault_code) {
        (Some(list), _) => list
            .iter()
            .map(|m| {
                format!(
                    "{} {}",
                    m.response_class,
                    m.response_code.map_or("(no code)", |c| c.as_str())
                )
            })
            .collect::<Vec<_>>()
            .join(", "),
        (None, Some(code)) => format!("HTTP {} SOAP Fault {code}", observed.status),
        (None, None) => format!("HTTP {}", observed.status),
    };
    match (case.acceptable(), case.expected_messages(), messages) {
        (Acceptable::Fault(c), _, _) => {
            if observed.status == 500 && fault_code.is_some_and(|f| c.contains(&f)) {
                Vec::new()
            } else {
                vec![finding(
                    "acceptable answer",
                    format!("HTTP 500 SOAP Fault {}", codes(c)),
                    describe(),
                )]
            }
        }
        (Acceptable::Status(s), _, _) => {
            if s.contains(&observed.status) || (observed.status == 500 && fault_code.is_some()) {
                Vec::new()
            } else {
                vec![finding(
                    "acceptable answer",
                    format!("HTTP {s:?}"),
                    describe(),
                )]
            }
        }
        (_, Some(expected), Some(list)) => list
            .iter()
            .zip(expected)
            .enumerate()
            .filter(|(_, (m, want))| match want {
                None => m.response_class != ResponseClass::Success,
                Some(c) => {
                    m.response_class != ResponseClass::Error
                        || !m.response_code.is_some_and(|x| c.contains(&x))
                }
            })
            .map(|(i, (m, want))| {
                finding(
                    &format!("acceptable answer, message {}", i + 1),
                    want.map_or("Success NoError".to_owned(), |c| {
                        format!("Error {}", codes(c))
                    }),
                    format!(
                        "{} {}",
                        m.response_class,
                        m.response_code.map_or("(no code)", |c| c.as_str())
                    ),
                )
            })
            .collect(),
        _ => vec![finding(
            "acceptable answer",
            "response messages",
            describe(),
        )],
    }
}
