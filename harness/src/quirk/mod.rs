//! `ewsconf quirk delegate-copy`: the delegate Sent Items quirk, reproduced on demand.
//!
//! Five scenarios run with fresh drafts carrying the run marker: the two the SendItem reference
//! documents (A and B), A's workaround, and two controls. Each is observed with FindItem (did
//! the recipient get it, where is the draft, where is the copy) and compared with what the
//! reference documents and what the request intended.
//!
//! Reference: <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/senditem>

use std::time::{Duration, Instant};

use crate::case::Role;
use crate::ews::{
    DistinguishedFolderId, DistinguishedFolderName as Folder, Item, RequestEnvelope,
    RequestHeaders, ResponseBody, SendItem, TargetFolderId,
};
use crate::run::outcome::{
    Outcome, Place, QuirkObservation, QuirkReport, QuirkRow, QuirkVerdict, RunSummary, Verdict,
};
use crate::run::{ExchangeRecord, new_marker};
use crate::target::calls::folder_of;
use crate::target::{Account, CallError, Client, Post, Target};

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
    Setup(Box<CallError>),
}

impl From<CallError> for QuirkError {
    fn from(e: CallError) -> Self {
        QuirkError::Setup(Box::new(e))
    }
}

/// How long to wait for mail to arrive and copies to settle on a real server.
const SETTLE: Duration = Duration::from_secs(30);

struct Scenario {
    name: &'static str,
    description: &'static str,
    sender: Role,
    owner: Role,
    save: bool,
    folder: Option<(Folder, Option<Role>)>,
    documented: (Vec<Place>, Vec<Place>),
    intended: (Vec<Place>, Vec<Place>),
}

fn scenarios() -> Vec<Scenario> {
    use Place::*;
    vec![
        Scenario {
            name: "A",
            description: "the delegate sends a draft in the principal's Drafts; SavedItemFolderId is sentitems with no Mailbox",
            sender: Role::Delegate,
            owner: Role::Principal,
            save: true,
            folder: Some((Folder::SentItems, None)),
            documented: (vec![PrincipalDrafts], vec![]),
            intended: (vec![], vec![DelegateSentItems]),
        },
        Scenario {
            name: "A-workaround",
            description: "the same, naming the principal's Mailbox in the DistinguishedFolderId",
            sender: Role::Delegate,
            owner: Role::Principal,
            save: true,
            folder: Some((Folder::SentItems, Some(Role::Principal))),
            documented: (vec![], vec![PrincipalSentItems]),
            intended: (vec![], vec![PrincipalSentItems]),
        },
        Scenario {
            name: "B",
            description: "the delegate sends a draft in the delegate's own Drafts with the copy to the principal's Sent Items",
            sender: Role::Delegate,
            owner: Role::Delegate,
            save: true,
            folder: Some((Folder::SentItems, Some(Role::Principal))),
            documented: (vec![DelegateDrafts], vec![]),
            intended: (vec![], vec![PrincipalSentItems]),
        },
        Scenario {
            name: "control-principal",
            description: "control: the principal sends its own draft, SaveItemToFolder=true, no folder",
            sender: Role::Principal,
            owner: Role::Principal,
            save: true,
            folder: None,
            documented: (vec![], vec![PrincipalSentItems]),
            intended: (vec![], vec![PrincipalSentItems]),
        },
        Scenario {
            name: "control-no-save",
            description: "control: the delegate sends the principal's draft with SaveItemToFolder=false",
            sender: Role::Delegate,
            owner: Role::Principal,
            save: false,
            folder: None,
            documented: (vec![], vec![]),
            intended: (vec![], vec![]),
        },
    ]
}

const PLACES: [(Place, Role, Folder); 4] = [
    (Place::PrincipalDrafts, Role::Principal, Folder::Drafts),
    (Place::DelegateDrafts, Role::Delegate, Folder::Drafts),
    (
        Place::PrincipalSentItems,
        Role::Principal,
        Folder::SentItems,
    ),
    (Place::DelegateSentItems, Role::Delegate, Folder::SentItems),
];

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

/// Runs the five scenarios and returns the table, with one outcome per scenario.
pub async fn delegate_copy(target: &Target, keep: bool) -> Result<RunSummary, QuirkError> {
    let started = Instant::now();
    let started_at = crate::mock::store::format_time(crate::mock::store::now());
    let marker = new_marker();
    check_preconditions(target, &marker).await?;
    let mut rows = Vec::new();
    let mut outcomes = Vec::new();
    for scenario in scenarios() {
        let (row, outcome) = run_scenario(target, &marker, &scenario).await?;
        rows.push(row);
        outcomes.push(outcome);
    }
    if !keep {
        crate::run::clean_up(target, &marker).await;
    }
    Ok(RunSummary {
        run_id: crate::run::run_id(
            &started_at,
            &format!("quirk-{}", crate::run::marker_tail(&marker)),
        ),
        target: target.description.clone(),
        server_version: None,
        started: started_at,
        elapsed: started.elapsed(),
        outcomes,
        quirk: Some(QuirkReport {
            name: "delegate-copy".into(),
            reference: "SendItem operation reference, Remarks (delegate access)".into(),
            rows,
        }),
    })
}

async fn run_scenario(
    target: &Target,
    marker: &str,
    s: &Scenario,
) -> Result<(QuirkRow, Outcome), QuirkError> {
    let started = Instant::now();
    let (client, log) = target.client.with_log();
    let owner = account(target, s.owner)?;
    let sender = account(target, s.sender)?;
    let recipient = account(target, Role::Recipient)?;
    let subject = format!("{marker} delegate-copy [{}]", s.name);
    let draft = Item::message(&subject)
        .to(recipient.address.clone())
        .with_body("ewsconf quirk delegate-copy");
    let id = client
        .create_in(sender, folder_of(&owner.address, Folder::Drafts), draft)
        .await?;

    let mut send = SendItem::new([id]).save_item_to_folder(s.save);
    if let Some((folder, mailbox)) = s.folder {
        let folder_id = DistinguishedFolderId {
            id: folder,
            change_key: None,
            mailbox: match mailbox {
                Some(role) => Some(crate::ews::Mailbox::smtp(
                    account(target, role)?.address.clone(),
                )),
                None => None,
            },
        };
        send = send.saved_item_folder_id(TargetFolderId::DistinguishedFolderId(folder_id));
    }
    let headers = RequestHeaders {
        request_server_version: target.version,
        ..RequestHeaders::default()
    };
    let envelope = RequestEnvelope::new(send).with_headers(headers);
    let request = envelope.to_xml();
    let exchange = client
        .post(&sender.auth, Post::soap(&envelope))
        .await
        .map_err(CallError::from)?;
    client.record(&sender.address, &exchange);
    let under_test = log.lock().map_or(0, |l| l.len()) - 1;
    let response = match exchange.envelope() {
        Ok(e) => match e.body {
            ResponseBody::Response(r) => {
                r.response_messages
                    .first()
                    .map_or("no response message".into(), |m| {
                        format!(
                            "{} {}",
                            m.response_class,
                            m.response_code.map_or("(no code)", |c| c.as_str())
                        )
                    })
            }
            ResponseBody::Fault(f) => format!("SOAP Fault {}", f.fault_code.name),
        },
        Err(e) => format!("HTTP {}: not an EWS response ({e})", exchange.status),
    };

    let documented = expected(&s.documented);
    let intended = expected(&s.intended);
    let deadline = Instant::now() + SETTLE;
    let observed = loop {
        let observed = observe(&client, target, &subject, &response).await?;
        let settled = observed.delivered && (observed == documented || observed == intended);
        if settled || Instant::now() >= deadline {
            break observed;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let verdict = if observed == intended {
        QuirkVerdict::Fixed
    } else if observed == documented {
        QuirkVerdict::Reproduced
    } else {
        QuirkVerdict::Different
    };
    let difference = (verdict == QuirkVerdict::Different).then(|| {
        format!(
            "documented: {}; intended: {}; observed: {}",
            documented.describe(),
            intended.describe(),
            observed.describe()
        )
    });
    let exchanges = log
        .lock()
        .map(|l| {
            l.iter()
                .enumerate()
                .map(|(i, e)| ExchangeRecord {
                    label: if i == under_test {
                        "SendItem (under test)".into()
                    } else {
                        "setup or observe".into()
                    },
                    account: e.account.clone(),
                    request: String::from_utf8_lossy(&e.exchange.request.body).into_owned(),
                    status: Some(e.exchange.status),
                    response: Some(String::from_utf8_lossy(&e.exchange.body).into_owned()),
                    elapsed_ms: e.exchange.elapsed.as_secs_f64() * 1000.0,
                    schema_errors: Vec::new(),
                })
                .collect()
        })
        .unwrap_or_default();
    let outcome = Outcome {
        id: format!("delegate-copy/{}", s.name),
        title: s.description.to_owned(),
        category: "delegate-copy".into(),
        tags: vec!["quirk".into()],
        reference: "SendItem operation reference, Remarks".into(),
        verdict: match verdict {
            QuirkVerdict::Fixed => Verdict::Pass,
            QuirkVerdict::Reproduced => Verdict::Quirk,
            QuirkVerdict::Different => Verdict::Fail,
        },
        reason: match verdict {
            QuirkVerdict::Reproduced => {
                Some("reproduces the documented delegate-copy quirk".into())
            }
            _ => None,
        },
        findings: difference
            .iter()
            .map(|_| crate::run::Finding {
                check: "behaviour".into(),
                expected: format!(
                    "{} (documented) or {} (intended)",
                    documented.describe(),
                    intended.describe()
                ),
                actual: observed.describe(),
            })
            .collect(),
        exchanges,
        state: Vec::new(),
        elapsed_ms: started.elapsed().as_secs_f64() * 1000.0,
        changed: None,
    };
    let row = QuirkRow {
        scenario: s.name.into(),
        description: s.description.into(),
        request,
        documented,
        intended,
        observed,
        verdict,
        difference,
    };
    Ok((row, outcome))
}

fn expected((draft, copy): &(Vec<Place>, Vec<Place>)) -> QuirkObservation {
    QuirkObservation {
        response: "Success NoError".into(),
        delivered: true,
        draft: draft.clone(),
        copy: copy.clone(),
    }
}

async fn observe(
    client: &Client,
    target: &Target,
    subject: &str,
    response: &str,
) -> Result<QuirkObservation, QuirkError> {
    let recipient = account(target, Role::Recipient)?;
    let delivered = !client
        .find(
            recipient,
            folder_of(&recipient.address, Folder::Inbox),
            subject,
        )
        .await?
        .is_empty();
    let mut draft = Vec::new();
    let mut copy = Vec::new();
    for (place, role, folder) in PLACES {
        let owner = account(target, role)?;
        if !client
            .find(owner, folder_of(&owner.address, folder), subject)
            .await?
            .is_empty()
        {
            if folder == Folder::Drafts {
                draft.push(place);
            } else {
                copy.push(place);
            }
        }
    }
    Ok(QuirkObservation {
        response: response.to_owned(),
        delivered,
        draft,
        copy,
    })
}
