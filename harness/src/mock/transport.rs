//! The mock's mail transport: what happens after a message is sent.
//!
//! Local recipients get a copy in their Inbox. Unknown addresses in a local domain fail, and the
//! sender's Inbox gets one non-delivery report (`REPORT.IPM.Note.NDR`) naming every failed
//! recipient. A requested delivery receipt becomes one `REPORT.IPM.Note.DR` naming the delivered
//! recipients. Addresses in other domains leave the organization and are not tracked.
//! The send itself has already answered NoError: failures only ever show up as reports. The
//! sender's saved copy is filed with the delivery, so a delivery delay delays it too, as Exchange
//! 2013 and later show the copy in Sent Items seconds after SendItem answers.

use crate::clock::now;

use super::directory::{Directory, UserIndex};
use super::folder::MockFolder;
use super::ids::FolderKey;
use super::store::{State, StoredItem};

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
    /// The sender's saved copy, filed when the message goes out: Exchange 2013 and later show
    /// it in Sent Items seconds after SendItem answers, not at once.
    pub saved_copy: Option<StoredItem>,
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
    pub fn apply(mut self, state: &mut State, directory: &Directory) -> Delivered {
        if let Some(copy) = self.saved_copy.take() {
            state.insert(copy);
        }
        let mut outcome = Delivered::default();
        // Each mailbox gets one copy, however often (and in whatever case) it is addressed.
        let mut inboxes: Vec<UserIndex> = Vec::new();
        for address in self.message.recipients() {
            match directory.by_address(address) {
                Some(user) if inboxes.contains(&user) => {}
                Some(user) => {
                    inboxes.push(user);
                    outcome.delivered.push(address.to_ascii_lowercase());
                }
                None if directory.is_local(address) => {
                    let address = address.to_ascii_lowercase();
                    if !outcome.failed.contains(&address) {
                        outcome.failed.push(address);
                    }
                }
                None => {}
            }
        }
        let sender = directory.users()[self.sender_mailbox].address.as_str();
        let ndr = (!outcome.failed.is_empty()).then(|| {
            report(
                &self,
                sender,
                NDR_CLASS,
                "Undeliverable",
                "Delivery has failed to these recipients or groups:",
                &outcome.failed,
            )
        });
        let dr = (self.message.delivery_receipt && !outcome.delivered.is_empty()).then(|| {
            report(
                &self,
                sender,
                DR_CLASS,
                "Delivered",
                "Your message has been delivered to the following recipients:",
                &outcome.delivered,
            )
        });
        // The last Inbox takes the message itself, the others a copy.
        if let Some((&last, others)) = inboxes.split_last() {
            for &user in others {
                state.insert(received(self.message.clone(), user));
            }
            state.insert(received(self.message, last));
        }
        for report in ndr.into_iter().chain(dr) {
            state.insert(report);
        }
        outcome
    }
}

/// `message` as it lands in `user`'s Inbox: unread, a first version.
fn received(mut message: StoredItem, user: UserIndex) -> StoredItem {
    message.folder = inbox(user);
    message.version = 1;
    message.is_draft = false;
    message.is_read = false;
    message
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ews::Item;
    use crate::mock::{Profile, Store};

    #[test]
    fn each_mailbox_gets_one_copy_and_each_failure_is_named_once() {
        let store = Store::new(Directory::documented_defaults(), Profile::Intended);
        let directory = &store.directory;
        let boss = directory.by_address("boss@example.com").unwrap();
        let carol = directory.by_address("carol@example.com").unwrap();
        let item = Item::message("twice")
            .to("carol@example.com")
            .to("nobody@example.com")
            .to("CAROL@example.com")
            .to("Nobody@Example.com")
            .to("someone@elsewhere.test");
        let message =
            StoredItem::from_wire(&item, store.folder_key(boss, MockFolder::Outbox), false);
        let mut state = store.lock();
        let outcome = Delivery {
            sender_mailbox: boss,
            message,
            saved_copy: None,
        }
        .apply(&mut state, directory);
        assert_eq!(outcome.delivered, ["carol@example.com"]);
        assert_eq!(outcome.failed, ["nobody@example.com"]);
        let carol_inbox: Vec<_> = state.in_folder(inbox(carol)).collect();
        assert_eq!(carol_inbox.len(), 1);
        assert_eq!(&*carol_inbox[0].1.subject, "twice");
        assert!(!carol_inbox[0].1.is_read);
        let reports: Vec<_> = state.in_folder(inbox(boss)).collect();
        assert_eq!(reports.len(), 1);
        assert_eq!(&*reports[0].1.item_class, NDR_CLASS);
        let body = &reports[0].1.body.as_ref().unwrap().1;
        assert_eq!(body.matches("nobody@example.com").count(), 1, "{body}");
    }
}
