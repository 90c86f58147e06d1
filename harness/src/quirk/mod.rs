//! `ewsconf quirk delegate-copy`: the delegate Sent Items quirk, reproduced on demand.
//!
//! It is a run of the suite's delegate cases (the two scenarios the SendItem reference
//! documents, A's workaround and two controls), through the same runner and judge as any run,
//! plus a table that sets each outcome beside what the reference documents and what the request
//! intended.
//!
//! Reference: <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/senditem>

use std::path::Path;

use crate::case::{Case, CaseError, Role, parse_case};
use crate::ews::{DistinguishedFolderName as Folder, Item, SendItem};
use crate::judge::delegate_copy::{QuirkObservation, QuirkReport, QuirkRow, QuirkVerdict};
use crate::run::{Interrupt, RunError, RunOptions, RunSummary, Stage};
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
    /// A setup or observation call failed.
    #[error("setup failed: {0}")]
    Setup(#[source] Box<CallError>),
    /// The run itself could not start.
    #[error(transparent)]
    Run(#[from] RunError),
    /// A built-in scenario does not read (a defect of the build).
    #[error(transparent)]
    Scenario(#[from] CaseError),
}

impl From<CallError> for QuirkError {
    fn from(e: CallError) -> Self {
        QuirkError::Setup(Box::new(e))
    }
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
pub async fn delegate_copy(
    target: &Target,
    options: &RunOptions,
    interrupt: &Interrupt,
) -> Result<RunSummary, QuirkError> {
    let scenarios = scenarios()?;
    check_preconditions(target, &crate::run::new_marker()).await?;
    let cases: Vec<Case> = scenarios.iter().map(|(_, c)| c.clone()).collect();
    let mut summary = crate::run::run(target, &cases, options, interrupt, |_| {}).await?;
    summary.quirk = Some(table(&scenarios, &summary));
    Ok(summary)
}

/// The table: each scenario's outcome beside what is documented and what was intended.
pub fn table(scenarios: &[(&str, Case)], summary: &RunSummary) -> QuirkReport {
    let rows = scenarios
        .iter()
        .filter_map(|(name, case)| {
            let outcome = summary.outcomes.iter().find(|o| o.id == case.id)?;
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
            let difference = (verdict == QuirkVerdict::Different).then(|| {
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
            Some(QuirkRow {
                scenario: (*name).to_owned(),
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
            })
        })
        .collect();
    QuirkReport {
        name: "delegate-copy".into(),
        reference: "SendItem operation reference, Remarks (delegate access)".into(),
        rows,
    }
}

fn account(target: &Target, role: Role) -> Result<&Account, QuirkError> {
    target.account(role).ok_or(QuirkError::MissingAccount(role))
}

/// Checks the delegate's rights: read and create in the principal's Drafts, and SendOnBehalf.
pub async fn check_preconditions(target: &Target, marker: &str) -> Result<(), QuirkError> {
    let principal = account(target, Role::Principal)?;
    let delegate = account(target, Role::Delegate)?;
    account(target, Role::Recipient)?;
    let drafts = folder_of(&principal.address, Folder::Drafts);
    let mut missing = Vec::new();
    match target.client.can_open(delegate, drafts.clone()).await {
        // No answer at all is not a missing right: say so instead.
        Err(e @ CallError::Target(_)) => return Err(e.into()),
        Err(_) => missing.push("read the principal's Drafts".to_owned()),
        Ok(()) => {}
    }
    let probe = Item::message(format!("{marker} rights probe")).to(principal.address.clone());
    match target.client.create_in(delegate, drafts, probe).await {
        Err(_) => missing.push("create items in the principal's Drafts".to_owned()),
        Ok(id) => {
            // Sending on the principal's behalf to the principal, with no copy: the only way EWS
            // lets a delegate find out whether it holds SendOnBehalf.
            let send = SendItem::new([id.clone()]).save_item_to_folder(false);
            let sent = target.client.send_item(delegate, send).await?;
            if sent.first().and_then(|m| m.response_code) != Some(crate::ews::ResponseCode::NoError)
            {
                missing.push("send on behalf of the principal (SendOnBehalf)".to_owned());
                let _ = target.client.delete(delegate, vec![id]).await;
            }
        }
    }
    if target
        .client
        .can_open(delegate, folder_of(&principal.address, Folder::SentItems))
        .await
        .is_err()
    {
        missing.push("read the principal's Sent Items".to_owned());
    }
    if missing.is_empty() {
        return Ok(());
    }
    let (p, d) = (&principal.address, &delegate.address);
    Err(QuirkError::Rights {
        missing: missing
            .iter()
            .map(|m| format!("  - {m}"))
            .collect::<Vec<_>>()
            .join("\n"),
        how: format!(
            "  Add-MailboxFolderPermission -Identity {p}:\\Drafts -User {d} -AccessRights Editor\n  \
             Add-MailboxFolderPermission -Identity \"{p}:\\Sent Items\" -User {d} -AccessRights Editor\n  \
             Set-Mailbox -Identity {p} -GrantSendOnBehalfTo @{{Add=\"{d}\"}}"
        ),
    })
}
