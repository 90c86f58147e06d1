//! What a run produces: one [`Outcome`] per case, gathered in a [`RunSummary`]. Reporters read
//! these values and nothing else.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

/// The graded verdict of one case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Behaves as the protocol documents intend.
    Pass,
    /// Matches a deviation documented for Exchange; the outcome names which.
    Quirk,
    /// Neither.
    Fail,
    /// A precondition or feature is missing on the target; the outcome says which.
    Skip,
    /// The harness could not complete the case; the outcome says why.
    Error,
}

impl Verdict {
    /// Every verdict, in report order.
    pub const ALL: [Verdict; 5] = [
        Verdict::Pass,
        Verdict::Quirk,
        Verdict::Fail,
        Verdict::Skip,
        Verdict::Error,
    ];

    /// The verdict's name in reports.
    pub const fn name(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Quirk => "quirk",
            Verdict::Fail => "fail",
            Verdict::Skip => "skip",
            Verdict::Error => "error",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One check the judge made that did not hold: what was expected and what happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Which check, e.g. `http status`, `schema`, `message 2 code`, `state principal:drafts`.
    pub check: String,
    /// What the case expected.
    pub expected: String,
    /// What the target did.
    pub actual: String,
}

/// One HTTP exchange of a case, as the reports show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExchangeRecord {
    /// What the exchange was for: `SendItem` (the request under test) or `setup: CreateItem`.
    pub label: String,
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

/// One state expectation and what was observed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StateCheck {
    /// The expectation as the case wrote it, e.g. `principal:sentitems contains draft`.
    pub expectation: String,
    /// What was found, e.g. `1 item` or `0 items`.
    pub observed: String,
    /// Whether the expectation held.
    pub held: bool,
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
    /// Wall time of the case.
    pub elapsed_ms: f64,
    /// A difference from the stored baseline, as a unified diff.
    pub changed: Option<String>,
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
    fn add(&mut self, o: &Outcome) {
        match o.verdict {
            Verdict::Pass => self.pass += 1,
            Verdict::Quirk => self.quirk += 1,
            Verdict::Fail => self.fail += 1,
            Verdict::Skip => self.skip += 1,
            Verdict::Error => self.error += 1,
        }
        if o.changed.is_some() {
            self.changed += 1;
        }
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
    /// The table of a quirk reproduction (`ewsconf quirk`), when that is what ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quirk: Option<QuirkReport>,
}

/// Where a draft or its copy can be, in a quirk reproduction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Place {
    /// The principal's Drafts.
    PrincipalDrafts,
    /// The delegate's Drafts.
    DelegateDrafts,
    /// The principal's Sent Items.
    PrincipalSentItems,
    /// The delegate's Sent Items.
    DelegateSentItems,
}

impl Place {
    /// How reports name the place.
    pub const fn label(self) -> &'static str {
        match self {
            Place::PrincipalDrafts => "principal's Drafts",
            Place::DelegateDrafts => "delegate's Drafts",
            Place::PrincipalSentItems => "principal's Sent Items",
            Place::DelegateSentItems => "delegate's Sent Items",
        }
    }
}

/// What one scenario did (or is documented or intended to do).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuirkObservation {
    /// `ResponseClass ResponseCode` of the SendItem response, or what came instead.
    pub response: String,
    /// Whether the recipient got the message.
    pub delivered: bool,
    /// Where the draft is afterwards; empty when it is gone.
    pub draft: Vec<Place>,
    /// Where a copy landed; empty when there is none.
    pub copy: Vec<Place>,
}

impl QuirkObservation {
    /// One line: response, delivery, draft and copy.
    pub fn describe(&self) -> String {
        let places = |p: &[Place], none: &str| {
            if p.is_empty() {
                none.to_owned()
            } else {
                p.iter()
                    .map(|p| p.label())
                    .collect::<Vec<_>>()
                    .join(" and ")
            }
        };
        format!(
            "{}; {}; draft: {}; copy: {}",
            self.response,
            if self.delivered {
                "delivered"
            } else {
                "not delivered"
            },
            places(&self.draft, "gone"),
            places(&self.copy, "none")
        )
    }
}

/// How a scenario's observed behaviour compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum QuirkVerdict {
    /// It matches the documented quirk (and not the intent).
    Reproduced,
    /// It matches what the request intended.
    Fixed,
    /// Neither; the row spells out the difference.
    Different,
}

impl QuirkVerdict {
    /// The verdict's name in reports.
    pub const fn name(self) -> &'static str {
        match self {
            QuirkVerdict::Reproduced => "reproduced",
            QuirkVerdict::Fixed => "fixed",
            QuirkVerdict::Different => "different",
        }
    }
}

/// One scenario of a quirk reproduction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuirkRow {
    /// Short name: `A`, `A-workaround`, `B`, `control-principal`, `control-no-save`.
    pub scenario: String,
    /// What the scenario does.
    pub description: String,
    /// The exact SendItem request sent, ready to paste into a bug report.
    pub request: String,
    /// What the SendItem reference documents Exchange doing.
    pub documented: QuirkObservation,
    /// What the request asked for.
    pub intended: QuirkObservation,
    /// What this target did.
    pub observed: QuirkObservation,
    /// The comparison.
    pub verdict: QuirkVerdict,
    /// For `different`, how the observation differs from both.
    pub difference: Option<String>,
}

/// The result of `ewsconf quirk`: one row per scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuirkReport {
    /// The quirk's name, e.g. `delegate-copy`.
    pub name: String,
    /// Where it is documented.
    pub reference: String,
    /// The scenarios.
    pub rows: Vec<QuirkRow>,
}

impl QuirkReport {
    /// The table as Markdown, as the terminal prints it and the README quotes it.
    pub fn markdown(&self) -> String {
        let mut out = String::from(
            "| scenario | documented (SendItem reference) | intended by the request | this target | verdict |\n|---|---|---|---|---|\n",
        );
        for r in &self.rows {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                r.scenario,
                r.documented.describe(),
                r.intended.describe(),
                r.observed.describe(),
                r.verdict.name()
            ));
        }
        out
    }
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
}
