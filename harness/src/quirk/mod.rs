//! `ewsconf quirk delegate-copy`: the delegate Sent Items quirk, reproduced on demand.
//!
//! It is a run of the suite's delegate cases (the two scenarios the SendItem reference
//! documents, A's workaround and two controls), through the same runner and judge as any run,
//! plus a table that sets each outcome beside what the reference documents and what the request
//! intended.
//!
//! Reference: <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/senditem>

use std::path::Path;

use crate::case::{Case, CaseError, Requirement, Role, parse_case};
use crate::ews::{
    DistinguishedFolderName as Folder, Item, ResponseBody, ResponseCode, ResponseEnvelope, SendItem,
};
use crate::judge::Verdict;
use crate::judge::delegate_copy::{
    Precondition, PreconditionStatus, QuirkExchange, QuirkObservation, QuirkReport, QuirkRow,
    QuirkVerdict, SetupFailure, permission_advice,
};
use crate::run::{ExchangeRecord, Interrupt, Outcome, RunError, RunOptions, RunSummary, Stage};
use crate::target::calls::folder_of;
use crate::target::{Account, CallError, Target};

/// Why the reproduction could not run.
#[derive(Debug, thiserror::Error)]
pub enum QuirkError {
    /// The target lacks an account the scenarios need.
    #[error("the target has no {0} account: add [accounts.{0}] to the target file")]
    MissingAccount(Role),
    /// The delegate lacks rights the scenarios need.
    #[error(
        "the delegate lacks rights on the principal's mailbox:\n{missing}\nGrant them, e.g. in the Exchange Management Shell:\n{how}"
    )]
    Rights {
        /// Each missing right, one per line.
        missing: String,
        /// PowerShell that grants them.
        how: String,
    },
    /// The run itself could not start.
    #[error(transparent)]
    Run(#[from] RunError),
    /// A built-in scenario does not read (a defect of the build).
    #[error(transparent)]
    Scenario(#[from] CaseError),
}

/// The scenarios, by their short names, and the suite's case file each one runs.
const SCENARIOS: [(&str, &str, &str); 5] = [
    (
        "A",
        "delegate/scenario-a.toml",
        include_str!("../../../cases/delegate/scenario-a.toml"),
    ),
    (
        "A-workaround",
        "delegate/scenario-a-workaround.toml",
        include_str!("../../../cases/delegate/scenario-a-workaround.toml"),
    ),
    (
        "B",
        "delegate/scenario-b.toml",
        include_str!("../../../cases/delegate/scenario-b.toml"),
    ),
    (
        "control-principal",
        "delegate/control-principal-own-draft.toml",
        include_str!("../../../cases/delegate/control-principal-own-draft.toml"),
    ),
    (
        "control-no-save",
        "delegate/control-delegate-no-save.toml",
        include_str!("../../../cases/delegate/control-delegate-no-save.toml"),
    ),
];

/// The delegate cases the reproduction runs, each with its scenario's short name.
pub fn scenarios() -> Result<Vec<(&'static str, Case)>, CaseError> {
    SCENARIOS
        .iter()
        .map(|(name, file, text)| {
            let path = Path::new("cases").join(file);
            Ok((*name, parse_case(&path, text, "delegate")?))
        })
        .collect()
}

/// Runs the scenarios and returns the run, with the table in [`RunSummary::quirk`].
///
/// Each scenario is a case of its own: one that fails, or whose answers cannot be read, gives a
/// `different` row and the others still run. Only a missing account or a right the target
/// refuses with a permission error stops the reproduction before it starts; a right whose check
/// gets no readable answer is reported as unknown.
pub async fn delegate_copy(
    target: &Target,
    options: &RunOptions,
    interrupt: &Interrupt,
) -> Result<RunSummary, QuirkError> {
    let scenarios = scenarios()?;
    let probe_marker = crate::run::new_marker();
    interrupt.in_use(&probe_marker);
    // An interrupt during the checks leaves them unfinished; the run then starts no case.
    let checked = tokio::select! {
        checked = check_preconditions(target, &probe_marker) => Some(checked),
        () = interrupt.wait() => None,
    };
    let run = match checked.unwrap_or(Ok(Vec::new())) {
        Ok(preconditions) => {
            let cases: Vec<Case> = scenarios.iter().map(|(_, c)| c.clone()).collect();
            crate::run::run(target, &cases, options, interrupt, |_| {})
                .await
                .map(|summary| (summary, preconditions))
                .map_err(QuirkError::from)
        }
        Err(e) => Err(e),
    };
    // The rights probe carries a marker of its own; what it sent is cleaned up like the run's.
    let left = if options.keep {
        crate::run::Leftovers::default()
    } else {
        crate::run::clean_up(
            target,
            &probe_marker,
            interrupt.cleanup_budget(options.case_timeout),
            interrupt,
        )
        .await
    };
    let (mut summary, preconditions) = run?;
    if !left.is_clean() {
        let mut note = crate::run::left_behind(&left);
        note.id = "cleanup/rights-probe".into();
        summary.outcomes.push(note);
    }
    let mut report = table(&scenarios, &summary);
    report.preconditions = preconditions;
    name_delegate_access_skips(&mut report);
    report.advice = advice(target, &report);
    summary.quirk = Some(report);
    Ok(summary)
}

/// Why a row is `different`, in one line: the reason the runner or the judge gave, else each
/// check that did not hold.
fn reason(outcome: &Outcome) -> String {
    let findings = || {
        outcome
            .findings
            .iter()
            .map(|f| format!("{}: expected {}, got {}", f.check, f.expected, f.actual))
            .collect::<Vec<_>>()
            .join("; ")
    };
    match (&outcome.reason, outcome.verdict) {
        (Some(r), Verdict::Fail) if !outcome.findings.is_empty() => {
            format!("{}: {r}; {}", outcome.verdict, findings())
        }
        (Some(r), v) => format!("{v}: {r}"),
        (None, v) if !outcome.findings.is_empty() => format!("{v}: {}", findings()),
        (None, v) => format!("{v}: no reason given"),
    }
}

/// Gives each row the runner skipped for want of delegate access the failure of the quirk's own
/// check of the same rights (opening and creating in the principal's Drafts, as the runner's
/// check does): the runner made no exchange for the row to rest on.
fn name_delegate_access_skips(report: &mut QuirkReport) {
    let prefix = format!("skip: requires {}:", Requirement::DelegateAccess.name());
    let Some(failure) = report
        .preconditions
        .iter()
        .filter(|p| p.right == READ_DRAFTS || p.right == CREATE_DRAFTS)
        .find_map(|p| p.failure)
    else {
        return;
    };
    for row in &mut report.rows {
        let Some(reason) = &mut row.reason else {
            continue;
        };
        if row.failure.is_none() && row.exchange.is_none() && reason.starts_with(&prefix) {
            row.failure = Some(failure);
            reason.push_str(&format!(" [{}]", failure.describe()));
        }
    }
}

/// How to grant the delegate its rights, when a scenario's step was refused with a permission
/// error; `None` for any other failure.
fn advice(target: &Target, report: &QuirkReport) -> Option<String> {
    let refused = report
        .rows
        .iter()
        .any(|r| r.failure == Some(SetupFailure::Permission));
    let principal = target.account(Role::Principal)?;
    let delegate = target.account(Role::Delegate)?;
    refused.then(|| permission_advice(&principal.address, &delegate.address))
}

/// Why the step an exchange records failed, from its status and answer; `None` when it shows
/// no failure.
fn failure_of_exchange(e: &QuirkExchange) -> Option<SetupFailure> {
    let ews = e
        .response
        .as_deref()
        .and_then(|body| ResponseEnvelope::parse(body.as_bytes()).ok())
        .map(|envelope| match envelope.body {
            ResponseBody::Fault(fault) => fault.response_code().into_iter().collect(),
            ResponseBody::Response(r) => r
                .response_messages
                .iter()
                .filter_map(|m| m.response_code)
                .collect::<Vec<_>>(),
        });
    SetupFailure::classify(e.status, ews.as_deref())
}

/// Why a call failed: no answer, an answer that is not EWS (and its status), or the EWS code.
fn failure_of_call(e: &CallError) -> SetupFailure {
    let classified = if let CallError::Target(_) = e {
        SetupFailure::classify(None, None)
    } else if let CallError::NotEws { status, .. } = e {
        SetupFailure::classify(Some(*status), None)
    } else {
        let codes: Vec<ResponseCode> = e.response_code().into_iter().collect();
        SetupFailure::classify(Some(200), Some(&codes))
    };
    classified.unwrap_or(SetupFailure::EwsError)
}

/// The exchange a `different` row rests on: for an error, the last step made (the one that
/// failed); otherwise the request under test.
fn exchange_of(outcome: &Outcome) -> Option<QuirkExchange> {
    let record: Option<&ExchangeRecord> = match outcome.verdict {
        Verdict::Error | Verdict::Skip => outcome.exchanges.last(),
        _ => outcome
            .exchanges
            .iter()
            .find(|e| e.stage == Stage::UnderTest)
            .or(outcome.exchanges.last()),
    };
    record.map(|e| QuirkExchange {
        step: e.label(),
        account: e.account.clone(),
        request: e.request.clone(),
        status: e.status,
        response: e.response.clone(),
    })
}

/// The table: each scenario's outcome beside what is documented and what was intended. A
/// scenario with no outcome still gets its row, `different`.
pub fn table(scenarios: &[(&str, Case)], summary: &RunSummary) -> QuirkReport {
    let rows = scenarios
        .iter()
        .map(|(name, case)| {
            let Some(outcome) = summary.outcomes.iter().find(|o| o.id == case.id) else {
                let missing = Outcome::unjudged(
                    case,
                    Verdict::Error,
                    Some("the run has no outcome for this case".to_owned()),
                );
                return row(name, case, &missing);
            };
            row(name, case, outcome)
        })
        .collect();
    QuirkReport {
        name: "delegate-copy".into(),
        reference: "SendItem operation reference, Remarks (delegate access)".into(),
        rows,
        preconditions: Vec::new(),
        advice: None,
    }
}

/// One scenario's row.
fn row(name: &str, case: &Case, outcome: &Outcome) -> QuirkRow {
    let intended = QuirkObservation::expected(&case.expect);
    let documented = case.quirk.as_ref().map_or_else(
        || intended.clone(),
        |q| QuirkObservation::expected(&q.expect),
    );
    let checks: Vec<_> = outcome
        .state
        .iter()
        .chain(&outcome.quirk_state)
        .cloned()
        .collect();
    let answer = outcome
        .answer
        .clone()
        .or_else(|| outcome.reason.clone())
        .unwrap_or_else(|| "no answer".to_owned());
    let observed = QuirkObservation::observed(&answer, &checks);
    let verdict = QuirkVerdict::of(outcome.verdict);
    let different = verdict == QuirkVerdict::Different;
    let exchange = different.then(|| exchange_of(outcome)).flatten();
    // A row that stopped at a step says why that step failed.
    let failure = exchange
        .as_ref()
        .filter(|_| matches!(outcome.verdict, Verdict::Error | Verdict::Skip))
        .and_then(failure_of_exchange);
    let difference = different.then(|| {
        format!(
            "documented: {}; intended: {}; observed: {}{}",
            documented.describe(),
            intended.describe(),
            observed.describe(),
            outcome
                .reason
                .as_ref()
                .map(|r| format!(" ({}: {r})", outcome.verdict))
                .unwrap_or_default()
        )
    });
    QuirkRow {
        scenario: name.to_owned(),
        description: case.title.clone(),
        request: outcome
            .exchanges
            .iter()
            .find(|e| e.stage == Stage::UnderTest)
            .map(|e| e.request.clone())
            .unwrap_or_default(),
        documented,
        intended,
        observed,
        verdict,
        difference,
        reason: different.then(|| match failure {
            Some(f) => format!("{} [{}]", reason(outcome), f.describe()),
            None => reason(outcome),
        }),
        exchange,
        failure,
    }
}

fn account(target: &Target, role: Role) -> Result<&Account, QuirkError> {
    target.account(role).ok_or(QuirkError::MissingAccount(role))
}

/// What a right's check found, from the check's result: `missing` only when the target refused
/// it with a permission error ([`SetupFailure::Permission`]); any other failure (no answer, an
/// authentication failure, a redirect, an answer that is not EWS, another EWS error) leaves it
/// `unknown`, and the reason names which.
fn precondition(right: &str, result: Result<(), CallError>) -> Precondition {
    let (status, reason, failure) = match result {
        Ok(()) => (PreconditionStatus::Held, None, None),
        Err(e) => {
            let failure = failure_of_call(&e);
            let status = if failure == SetupFailure::Permission {
                PreconditionStatus::Missing
            } else {
                PreconditionStatus::Unknown
            };
            (
                status,
                Some(format!("{}: {e}", failure.describe())),
                Some(failure),
            )
        }
    };
    Precondition {
        right: right.to_owned(),
        status,
        reason,
        failure,
    }
}

const READ_DRAFTS: &str = "read the principal's Drafts";
const CREATE_DRAFTS: &str = "create items in the principal's Drafts";
const SEND_ON_BEHALF: &str = "send on behalf of the principal (SendOnBehalf)";
const READ_SENT_ITEMS: &str = "read the principal's Sent Items";

/// Checks the delegate's rights: read and create in the principal's Drafts, SendOnBehalf, and
/// read the principal's Sent Items.
///
/// A right the target refuses with a permission error (one of
/// [`PERMISSION_CODES`](crate::judge::delegate_copy::PERMISSION_CODES)) is missing, and any
/// missing right is [`QuirkError::Rights`], with how to grant it. Any other failure (no answer,
/// an authentication failure, a redirect, an answer that is not EWS, another EWS error) leaves
/// its right unknown, with the kind of failure named: it is returned, not fatal, and the
/// scenarios show the rest.
pub async fn check_preconditions(
    target: &Target,
    marker: &str,
) -> Result<Vec<Precondition>, QuirkError> {
    let checked = check_rights(target, marker).await?;
    let principal = account(target, Role::Principal)?;
    let delegate = account(target, Role::Delegate)?;
    let missing: Vec<&str> = checked
        .iter()
        .filter(|c| c.status == PreconditionStatus::Missing)
        .map(|c| c.right.as_str())
        .collect();
    if missing.is_empty() {
        return Ok(checked);
    }
    Err(QuirkError::Rights {
        missing: missing
            .iter()
            .map(|m| format!("  - {m}"))
            .collect::<Vec<_>>()
            .join("\n"),
        how: permission_advice(&principal.address, &delegate.address),
    })
}

/// Checks the delegate's rights as [`check_preconditions`] does and returns what each check
/// found, a missing right included; only a missing account is an error. The probe draft it may
/// leave carries `marker` in its subject, for cleanup.
pub async fn check_rights(target: &Target, marker: &str) -> Result<Vec<Precondition>, QuirkError> {
    let principal = account(target, Role::Principal)?;
    let delegate = account(target, Role::Delegate)?;
    account(target, Role::Recipient)?;
    let drafts = folder_of(&principal.address, Folder::Drafts);
    let mut checked = vec![precondition(
        READ_DRAFTS,
        target.client.can_open(delegate, drafts.clone()).await,
    )];
    let probe = Item::message(format!("{marker} rights probe")).to(principal.address.clone());
    match target.client.create_in(delegate, drafts, probe).await {
        Err(e) => {
            let why = format!("not checked: the probe draft could not be created ({e})");
            checked.push(precondition(CREATE_DRAFTS, Err(e)));
            checked.push(Precondition {
                right: SEND_ON_BEHALF.to_owned(),
                status: PreconditionStatus::Unknown,
                reason: Some(why),
                failure: None,
            });
        }
        Ok(id) => {
            checked.push(precondition(CREATE_DRAFTS, Ok(())));
            // Sending on the principal's behalf to the principal, with no copy: the only way EWS
            // lets a delegate find out whether it holds SendOnBehalf.
            let send = SendItem::new([id.clone()]).save_item_to_folder(false);
            let sent = match target.client.send_item(delegate, send).await {
                Ok(messages) => match messages.first() {
                    Some(m) if m.response_code == Some(ResponseCode::NoError) => Ok(()),
                    Some(m) => Err(CallError::Ews {
                        operation: "SendItem",
                        code: m
                            .response_code
                            .unwrap_or(ResponseCode::ErrorInternalServerError),
                        text: m.message_text.clone(),
                    }),
                    None => Err(CallError::NotEws {
                        operation: "SendItem",
                        status: 200,
                        reason: "the response carries no response message".to_owned(),
                    }),
                },
                Err(e) => Err(e),
            };
            if sent.is_err() {
                let _ = target.client.delete(delegate, vec![id]).await;
            }
            checked.push(precondition(SEND_ON_BEHALF, sent));
        }
    }
    let sent_items = folder_of(&principal.address, Folder::SentItems);
    checked.push(precondition(
        READ_SENT_ITEMS,
        target.client.can_open(delegate, sent_items).await,
    ));
    Ok(checked)
}
