//! Absence settled by a positive control. A `ROLE:FOLDER lacks NAME` sentence is not decided by
//! one early look: after the request under test, the runner sends a marker message through the
//! same transport towards each folder a `lacks` sentence watches, and the absence counts only
//! once a look finds the marker there. A marker that never arrives within the case's poll
//! timeout leaves the absence unconfirmed, and the case `error`.
//!
//! Why the marker's arrival settles the absence, per folder kind:
//! - an Inbox gets mail by delivery. The marker is sent by the account that sent the request
//!   under test, after it, to the folder's owner: once the marker is delivered, a message the
//!   request sent to that owner has had the same path and more time.
//! - any other folder (Sent Items, Drafts, Deleted Items, …) gets items only as the saved copy
//!   of a send, which servers file when the message goes out (Exchange 2013 and later seconds
//!   after SendItem answers). The marker is sent by the folder's owner with its copy saved in
//!   that folder, after the request under test: once its copy is filed, a copy the request had
//!   the server file there has had as long.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::case::{Case, FolderName, Role, StateKind};
use crate::ews::{CreateItem, Item, MessageDisposition};
use crate::judge::FoundItem;
use crate::target::calls::folder_of;
use crate::target::{Account, Client};

use super::case_run::RunContext;

/// A place a state sentence looks into: whose folder, and which.
pub(crate) type Place = (Role, FolderName);

/// One marker sent to confirm the absences in one place.
pub(crate) struct Control {
    /// The watched folder.
    place: Place,
    /// The marker's subject: the run marker, the case id and the folder, so that the case's own
    /// observation finds it and cleanup removes it.
    subject: String,
    /// Why the marker could not be sent, if it could not.
    unsent: Option<String>,
}

/// The places the `lacks` sentences of `case` (intended and quirk) watch.
pub(crate) fn watched(case: &Case) -> BTreeSet<Place> {
    case.expect
        .state
        .iter()
        .chain(case.quirk.iter().flat_map(|q| &q.expect.state))
        .filter(|e| matches!(e.kind, StateKind::Lacks(_)))
        .map(|e| (e.owner, e.folder))
        .collect()
}

/// The subject of the marker that confirms absence in `folder`.
fn subject(marker: &str, case: &Case, folder: FolderName) -> String {
    format!("{marker} {} [absence control {folder}]", case.id)
}

/// Sends one marker per watched place, all at once: to each watched Inbox's owner from the
/// case's sender (one message for all of them), and for each other folder from its owner with
/// the copy saved there, with CreateItem and `MessageDisposition` `SendOnly` or
/// `SendAndSaveCopy`.
/// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/createitem>
pub(crate) async fn send_markers(
    ctx: &RunContext<'_>,
    case: &Case,
    client: &Client,
    watched: &BTreeSet<Place>,
) -> Vec<Control> {
    let owner = |role: Role| ctx.target.account(role);
    let inbox_owners: Vec<Place> = watched
        .iter()
        .copied()
        .filter(|(_, f)| *f == FolderName::Inbox)
        .collect();
    let inbox_subject = subject(ctx.marker, case, FolderName::Inbox);
    let inbox = async {
        if inbox_owners.is_empty() {
            return None;
        }
        let recipients: Vec<&str> = inbox_owners
            .iter()
            .filter_map(|(r, _)| owner(*r).map(|a| a.address.as_str()))
            .collect();
        let mut item = Item::message(&inbox_subject);
        for r in &recipients {
            item = item.to(*r);
        }
        let create = CreateItem::new(Some(MessageDisposition::SendOnly), vec![item]);
        // From the account that sent the request under test; the principal when that account
        // cannot send mail of its own.
        let mut sent = Err("the case's sender has no account".to_owned());
        for role in [case.sender, Role::Principal] {
            if let Some(account) = owner(role) {
                sent = send(client, account, create.clone()).await;
                if sent.is_ok() {
                    break;
                }
            }
        }
        Some(sent.err())
    };
    let others = futures_util::future::join_all(
        watched
            .iter()
            .copied()
            .filter(|(_, f)| *f != FolderName::Inbox)
            .map(|(role, folder)| async move {
                let subject = subject(ctx.marker, case, folder);
                let unsent = match owner(role) {
                    None => Some(format!("no {role} account")),
                    Some(account) => {
                        let create = CreateItem::new(
                            Some(MessageDisposition::SendAndSaveCopy),
                            vec![Item::message(&subject).to(&account.address)],
                        )
                        .saved_item_folder_id(folder_of(&account.address, folder.distinguished()));
                        send(client, account, create).await.err()
                    }
                };
                Control {
                    place: (role, folder),
                    subject,
                    unsent,
                }
            }),
    );
    let (inbox, mut controls) = tokio::join!(inbox, others);
    if let Some(unsent) = inbox {
        controls.extend(inbox_owners.into_iter().map(|place| Control {
            place,
            subject: inbox_subject.clone(),
            unsent: unsent.clone(),
        }));
    }
    controls
}

/// Sends `create` as `account`; `Err` says why it was not sent.
async fn send(client: &Client, account: &Account, create: CreateItem) -> Result<(), String> {
    client
        .perform(account, create)
        .await
        .map_err(|e| e.to_string())
}

/// The watched places whose marker a look has found.
pub(crate) fn arrived(
    controls: &[Control],
    folders: &BTreeMap<Place, Result<Vec<FoundItem>, String>>,
) -> BTreeSet<Place> {
    controls
        .iter()
        .filter(|c| {
            c.unsent.is_none()
                && matches!(folders.get(&c.place), Some(Ok(items))
                    if items.iter().any(|i| i.subject == c.subject))
        })
        .map(|c| c.place)
        .collect()
}

/// For each watched place whose marker was not found, why its absence is not confirmed.
pub(crate) fn unconfirmed(
    controls: &[Control],
    arrived: &BTreeSet<Place>,
    waited: Duration,
) -> BTreeMap<Place, String> {
    controls
        .iter()
        .filter(|c| !arrived.contains(&c.place))
        .map(|c| {
            let (role, folder) = c.place;
            let why = match &c.unsent {
                Some(e) => format!(
                    "cannot confirm absence: the marker {:?} for {role}:{folder} could not be \
                     sent: {e}",
                    c.subject
                ),
                None => format!(
                    "cannot confirm absence: the marker {:?} did not arrive in {role}:{folder} \
                     within {:.1} s",
                    c.subject,
                    waited.as_secs_f64()
                ),
            };
            (c.place, why)
        })
        .collect()
}
