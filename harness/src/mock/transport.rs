//! The mock's mail transport: what happens after a message is sent.
//!
//! Local recipients get a copy in their Inbox. Unknown addresses in a local domain fail, and the
//! sender's Inbox gets one non-delivery report (`REPORT.IPM.Note.NDR`) naming every failed
//! recipient. A requested delivery receipt becomes one `REPORT.IPM.Note.DR` naming the delivered
//! recipients. Addresses in other domains leave the organization and are not tracked.
//! The send itself has already answered NoError: failures only ever show up as reports.

use super::directory::{Directory, UserIndex};
use super::ids::FolderKey;
use super::store::{MockFolder, State, StoredItem, now};

/// Item class of a non-delivery report.
pub const NDR_CLASS: &str = "REPORT.IPM.Note.NDR";
/// Item class of a delivery report.
pub const DR_CLASS: &str = "REPORT.IPM.Note.DR";

/// A sent message on its way to its recipients.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The mailbox the message was sent from; reports go to its Inbox.
    pub sender_mailbox: UserIndex,
    /// The message as sent.
    pub message: StoredItem,
}

/// What a delivery did, for tests and logs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delivered {
    /// Local recipients whose Inbox got the message.
    pub delivered: Vec<String>,
    /// Local-domain addresses with no mailbox.
    pub failed: Vec<String>,
}

impl Delivery {
    /// Delivers the message and files the reports, under the store's lock.
    pub fn apply(self, state: &mut State, directory: &Directory) -> Delivered {
        let mut outcome = Delivered::default();
        let mut seen = std::collections::BTreeSet::new();
        for address in self.message.recipients() {
            let address = address.to_ascii_lowercase();
            if !seen.insert(address.clone()) {
                continue;
            }
            match directory.by_address(&address) {
                Some(user) => {
                    let mut copy = self.message.clone();
                    copy.folder = inbox(user);
                    copy.version = 1;
                    copy.is_draft = false;
                    copy.is_read = false;
                    state.insert(copy);
                    outcome.delivered.push(address);
                }
                None if directory.is_local(&address) => outcome.failed.push(address),
                None => {}
            }
        }
        let sender = directory.users()[self.sender_mailbox].address.as_str();
        if !outcome.failed.is_empty() {
            state.insert(report(
                &self,
                sender,
                NDR_CLASS,
                "Undeliverable",
                "Delivery has failed to these recipients or groups:",
                &outcome.failed,
            ));
        }
        if self.message.delivery_receipt && !outcome.delivered.is_empty() {
            state.insert(report(
                &self,
                sender,
                DR_CLASS,
                "Delivered",
                "Your message has been delivered to the following recipients:",
                &outcome.delivered,
            ));
        }
        outcome
    }
}

fn inbox(user: UserIndex) -> FolderKey {
    FolderKey {
        mailbox: user as u16,
        folder: MockFolder::Inbox,
    }
}

fn report(
    delivery: &Delivery,
    sender: &str,
    class: &str,
    prefix: &str,
    lead: &str,
    recipients: &[String],
) -> StoredItem {
    let body = format!(
        "{lead}\n{}\n\nSubject: {}",
        recipients.join("\n"),
        delivery.message.subject
    );
    StoredItem {
        kind: crate::ews::ItemKind::Message,
        folder: inbox(delivery.sender_mailbox),
        version: 1,
        item_class: class.into(),
        subject: format!("{prefix}: {}", delivery.message.subject).into(),
        body: Some((crate::ews::BodyType::Text, body.into())),
        to: vec![sender.into()],
        cc: Vec::new(),
        bcc: Vec::new(),
        from: Some("postmaster@mock.invalid".into()),
        sender: None,
        is_draft: false,
        is_read: false,
        delivery_receipt: false,
        read_receipt: false,
        created: now(),
        sent: Some(now()),
    }
}
