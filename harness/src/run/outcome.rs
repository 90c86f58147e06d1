//! What a run produces: one [`Outcome`] per case, gathered in a [`RunSummary`]. Reporters read
//! these values and nothing else.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::case::Case;
use crate::judge::delegate_copy::QuirkReport;
use crate::judge::{Finding, Judgement, StateCheck, Verdict};
pub use crate::target::throttle::Throttling;

/// What an exchange was for, in the order a case makes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// Creating, changing or looking up what the request under test needs.
    Setup,
    /// The request the case is about.
    UnderTest,
    /// Looking at the state the request left behind.
    Observe,
}

/// One HTTP exchange of a case, as the reports show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExchangeRecord {
    /// What the exchange was for.
    pub stage: Stage,
    /// The operation, from the `SOAPAction` (`SendItem`, `CreateItem`), or `request`.
    pub operation: String,
    /// The account that sent it.
    pub account: String,
    /// The request body as sent.
    pub request: String,
    /// HTTP status, if a response came.
    pub status: Option<u16>,
    /// The response body (lossy UTF-8), if a response came.
    pub response: Option<String>,
    /// Time from sending to the last byte.
    pub elapsed_ms: f64,
    /// Schema errors in the response, `line:column: message`.
    pub schema_errors: Vec<String>,
}

/// A body as a record keeps it: whole up to what a report shows
/// ([`REPORT_MAX_EXCHANGE_BYTES`](crate::limits::REPORT_MAX_EXCHANGE_BYTES)), else cut there at
/// once, so that a run against a server sending huge answers does not hold them all until its
/// reports are written. Secrets are redacted before the cut, in a margin past it, so that no cut
/// leaves the start of one behind.
fn kept(body: &[u8], what: &str) -> String {
    use crate::limits::{REPORT_MAX_EXCHANGE_BYTES, cut_for_report};
    const MARGIN: usize = 64 * 1024;
    if body.len() <= REPORT_MAX_EXCHANGE_BYTES {
        return String::from_utf8_lossy(body).into_owned();
    }
    let prefix = &body[..body.len().min(REPORT_MAX_EXCHANGE_BYTES + MARGIN)];
    let mut text = String::from_utf8_lossy(prefix).into_owned();
    crate::secrets::installed().redact_in_place(&mut text);
    cut_for_report(&mut text, body.len(), what);
    text
}

impl ExchangeRecord {
    /// The record of an exchange `account` made at `stage`; `schema_errors` are the response's,
    /// when it was validated.
    pub fn of(
        stage: Stage,
        account: &str,
        exchange: &crate::target::Exchange,
        schema_errors: Vec<String>,
    ) -> Self {
        Self {
            stage,
            operation: exchange.request.operation().to_owned(),
            account: account.to_owned(),
            request: kept(&exchange.request.body, "the request"),
            status: Some(exchange.status),
            response: Some(kept(&exchange.body, "the answer")),
            elapsed_ms: exchange.elapsed.as_secs_f64() * 1000.0,
            schema_errors,
        }
    }

    /// How reports title the exchange: `SendItem (under test)`, `setup: CreateItem`,
    /// `observe: FindItem`.
    pub fn label(&self) -> String {
        match self.stage {
            Stage::Setup => format!("setup: {}", self.operation),
            Stage::UnderTest => format!("{} (under test)", self.operation),
            Stage::Observe => format!("observe: {}", self.operation),
        }
    }
}

/// What names an outcome in the reports: a case's, or the run's own for a harness error.
pub(crate) struct Identity {
    pub id: String,
    pub title: String,
    pub category: String,
    pub tags: Vec<String>,
    pub reference: String,
    pub requirements: Vec<String>,
    pub section: Option<String>,
    pub file: Option<String>,
}

impl Identity {
    /// The identity of what the run itself did (cleanup, a fuzz run), not of a case file.
    pub fn run(id: &str, title: &str, category: &str, reference: &str) -> Self {
        Self {
            id: id.to_owned(),
            title: title.to_owned(),
            category: category.to_owned(),
            tags: vec![category.to_owned()],
            reference: reference.to_owned(),
            requirements: Vec::new(),
            section: None,
            file: None,
        }
    }
}

impl Outcome {
    /// An outcome for `case` that ends in `verdict` for `reason` before anything was judged.
    pub fn unjudged(case: &Case, verdict: Verdict, reason: Option<String>) -> Self {
        Self::ended(
            Identity {
                id: case.id.clone(),
                title: case.title.clone(),
                category: case.category.clone(),
                tags: case.tags.clone(),
                reference: case.reference.clone(),
                requirements: case.requirements.clone(),
                section: Some(case.section.clone()),
                file: Some(case.path.display().to_string()),
            },
            verdict,
            reason,
        )
    }

    /// An outcome of what `who` names that ends in `verdict` for `reason`, with nothing judged.
    pub(crate) fn ended(who: Identity, verdict: Verdict, reason: Option<String>) -> Self {
        let Identity {
            id,
            title,
            category,
            tags,
            reference,
            requirements,
            section,
            file,
        } = who;
        Self {
            id,
            title,
            category,
            tags,
            reference,
            requirements,
            section,
            file,
            verdict,
            reason,
            findings: Vec::new(),
            exchanges: Vec::new(),
            state: Vec::new(),
            quirk_state: Vec::new(),
            answer: None,
            elapsed_ms: 0.0,
            changed: None,
            known: None,
        }
    }

    /// Takes the judge's verdict, reasons and state checks.
    pub fn judged(&mut self, judgement: Judgement) {
        self.verdict = judgement.verdict;
        self.reason = judgement.reason;
        self.findings = judgement.findings;
        self.state = judgement.state;
        self.quirk_state = judgement.quirk_state;
        self.answer = Some(judgement.answer);
    }
}

/// The result of one case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    /// The case id, e.g. `save-rules/true-no-folder`.
    pub id: String,
    /// One-line title.
    pub title: String,
    /// The category: the case's folder.
    pub category: String,
    /// Tags.
    pub tags: Vec<String>,
    /// What the case rests on: a protocol section, the reference page, a seed scenario.
    pub reference: String,
    /// The protocol requirements the case checks (`MS-OXWSCORE_R465`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub requirements: Vec<String>,
    /// The protocol document section the case rests on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub section: Option<String>,
    /// The case file, as the suite names it (`cases/save-rules/true-no-folder.toml`); a
    /// finding's `line` is a line of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The verdict.
    pub verdict: Verdict,
    /// For `quirk`, the documented deviation matched; for `skip` and `error`, the reason.
    pub reason: Option<String>,
    /// For `fail` (and for `quirk`, the intended outcome that was missed): each check that did
    /// not hold.
    pub findings: Vec<Finding>,
    /// Every exchange, setup included, in order.
    pub exchanges: Vec<ExchangeRecord>,
    /// The state expectations and what was observed.
    pub state: Vec<StateCheck>,
    /// The documented deviation's state expectations and what was observed, when the case has
    /// one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub quirk_state: Vec<StateCheck>,
    /// The answer to the request under test in one line, when one came.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
    /// Wall time of the case.
    pub elapsed_ms: f64,
    /// A difference from the stored baseline, as a unified diff.
    pub changed: Option<String>,
    /// The case is listed as a known failure (`--known`): the entry, and what became of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub known: Option<crate::known::Known>,
}

impl Outcome {
    /// Where in the case file `finding` points, as compilers write it: `cases/x/y.toml:12`, or
    /// the file alone when the finding has no line; `None` for an outcome with no case file.
    pub fn locate(&self, finding: &Finding) -> Option<String> {
        let file = self.file.as_deref()?;
        Some(match finding.line {
            Some(line) => format!("{file}:{line}"),
            None => file.to_owned(),
        })
    }

    /// True when this outcome makes the run end in exit code 1, the one place that decides it: a
    /// `fail` or `error` that is not a known failure, any change from the baseline, and under
    /// `strict` a `quirk` or a known failure that now passes.
    pub fn fails_run(&self, strict: bool) -> bool {
        use crate::known::KnownStatus;
        self.changed.is_some()
            || match (&self.known, self.verdict) {
                (Some(k), _) => strict && k.status == KnownStatus::NowPasses,
                (None, Verdict::Fail | Verdict::Error) => true,
                (None, Verdict::Quirk) => strict,
                (None, Verdict::Pass | Verdict::Skip) => false,
            }
    }
}

/// Counts of each verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// `pass`.
    pub pass: usize,
    /// `quirk`.
    pub quirk: usize,
    /// `fail`.
    pub fail: usize,
    /// `skip`.
    pub skip: usize,
    /// `error`.
    pub error: usize,
    /// Cases whose behaviour changed from the baseline.
    pub changed: usize,
}

impl Counts {
    /// Counts `o`'s verdict, and its change from the baseline.
    pub fn add(&mut self, o: &Outcome) {
        self.count(o.verdict);
        if o.changed.is_some() {
            self.changed += 1;
        }
    }

    /// Counts one case with `verdict`.
    pub fn count(&mut self, verdict: Verdict) {
        match verdict {
            Verdict::Pass => self.pass += 1,
            Verdict::Quirk => self.quirk += 1,
            Verdict::Fail => self.fail += 1,
            Verdict::Skip => self.skip += 1,
            Verdict::Error => self.error += 1,
        }
    }

    /// Each verdict some case has, with its count, in [`Verdict::ALL`] order.
    pub fn nonzero(&self) -> impl Iterator<Item = (Verdict, usize)> + '_ {
        Verdict::ALL
            .into_iter()
            .map(|v| (v, self.of(v)))
            .filter(|(_, n)| *n > 0)
    }

    /// How many cases have `verdict`.
    pub fn of(&self, verdict: Verdict) -> usize {
        match verdict {
            Verdict::Pass => self.pass,
            Verdict::Quirk => self.quirk,
            Verdict::Fail => self.fail,
            Verdict::Skip => self.skip,
            Verdict::Error => self.error,
        }
    }

    /// Every case counted.
    pub fn total(&self) -> usize {
        self.pass + self.quirk + self.fail + self.skip + self.error
    }
}

/// A whole run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSummary {
    /// Unique id of the run; also the report folder's name.
    pub run_id: String,
    /// What was tested: `embedded mock (documented)` or the target's URL.
    pub target: String,
    /// The server's version, from the first `ServerVersionInfo` seen.
    pub server_version: Option<String>,
    /// When the run started, `xs:dateTime` in UTC.
    pub started: String,
    /// Wall time of the run.
    #[serde(serialize_with = "millis")]
    pub elapsed: Duration,
    /// One outcome per case, in case order.
    pub outcomes: Vec<Outcome>,
    /// What a fuzz run (`ewsconf fuzz`) counted, when that is what ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fuzz: Option<FuzzTally>,
    /// The table of a quirk reproduction (`ewsconf quirk`), when that is what ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quirk: Option<QuirkReport>,
    /// The back-offs the server asked for during the run, and how long requests waited them
    /// out; left out when there were none.
    #[serde(skip_serializing_if = "Throttling::is_none")]
    pub throttling: Throttling,
    /// Whether the run was judged under `--strict`, where a documented quirk fails it; every
    /// reporter reads it from here, so that none shows as passing what fails the run.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub strict: bool,
}

/// Exchanges and failures for one malformation name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NameStats {
    /// Requests sent.
    pub exchanges: usize,
    /// Requests that broke an invariant.
    pub failures: usize,
}

/// What a fuzz run counted: the seed, the exchanges and checks, and each malformation name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FuzzTally {
    /// The seed; `ewsconf fuzz --seed SEED` sends the same sequence.
    pub seed: u64,
    /// Requests sent (not counting set-up and observation).
    pub exchanges: usize,
    /// Checks the judge made.
    pub invariants: usize,
    /// Per malformation name (`valid` for none).
    pub by_name: BTreeMap<&'static str, NameStats>,
    /// For each shrunk failure: its name, its ItemIds, and the command that replays it.
    pub replays: Vec<Replay>,
}

/// How to replay one shrunk fuzz failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Replay {
    /// The malformation name.
    pub name: &'static str,
    /// How many ItemIds the shrunk request carries.
    pub item_ids: usize,
    /// The command that replays it, when its case file was written.
    pub command: Option<String>,
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64() * 1000.0)
}

impl RunSummary {
    /// Counts of every verdict over the whole run.
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for o in &self.outcomes {
            c.add(o);
        }
        c
    }

    /// Counts per category, categories in name order: the conformance matrix.
    pub fn by_category(&self) -> BTreeMap<&str, Counts> {
        let mut map: BTreeMap<&str, Counts> = BTreeMap::new();
        for o in &self.outcomes {
            map.entry(o.category.as_str()).or_default().add(o);
        }
        map
    }

    /// True when every case passed or matched a documented quirk (skips allowed).
    pub fn conforms(&self) -> bool {
        let c = self.counts();
        c.fail == 0 && c.error == 0
    }

    /// True when the run must end in exit code 1: some outcome [fails the run](Outcome::fails_run)
    /// under the run's own [`strict`](Self::strict).
    pub fn fails(&self) -> bool {
        self.outcomes.iter().any(|o| o.fails_run(self.strict))
    }

    /// The outcomes that fail the run only because it is strict: quirks, and known failures that
    /// now pass.
    pub fn strict_only_failures(&self) -> impl Iterator<Item = &Outcome> {
        self.outcomes
            .iter()
            .filter(|o| self.strict && o.fails_run(true) && !o.fails_run(false))
    }
}
