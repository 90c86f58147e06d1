//! The mock's mail transport: what happens after a message is sent.
//!
//! Local recipients get a copy in their Inbox. Unknown addresses in a local domain fail, and the
//! sender's Inbox gets one non-delivery report (`REPORT.IPM.Note.NDR`) naming every failed
//! recipient. A requested delivery receipt becomes one `REPORT.IPM.Note.DR` naming the delivered
//! recipients. Addresses in other domains leave the organization and are not tracked.
//! The send itself has already answered NoError: failures only ever show up as reports. The
//! sender's saved copy is filed with the delivery, so a delivery delay delays it too, as Exchange
//! 2013 and later show the copy in Sent Items seconds after SendItem answers.
//!
//! Reports come in the shape a [`ReportStyle`] names: Exchange's (a `REPORT.` class, the
//! original's subject in the report's), postfix's or Sendmail's (an RFC 3464 multipart/report
//! with the original's headers returned, under a subject of its own).

use crate::clock::now;

use super::directory::{Directory, UserIndex};
use super::folder::MockFolder;
use super::ids::FolderKey;
use super::store::{State, StoredItem};

/// Item class of a non-delivery report.
pub const NDR_CLASS: &str = "REPORT.IPM.Note.NDR";
/// Item class of a delivery report.
pub const DR_CLASS: &str = "REPORT.IPM.Note.DR";

/// The shape of the reports the mock's transport writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ReportStyle {
    /// Exchange's: class `REPORT.IPM.Note.NDR`/`DR`, subject `Undeliverable: ` or
    /// `Delivered: ` and the original's, the recipients listed in the body.
    #[default]
    Exchange,
    /// postfix's bounce(8) reports: "Undelivered Mail Returned to Sender" and "Successful Mail
    /// Delivery Report", a human-readable part, a `message/delivery-status` part (RFC 3464) and
    /// the returned headers; filed with a `REPORT.` class, as a store classes a
    /// `multipart/report`.
    Postfix,
    /// Sendmail's: "Returned mail: see transcript for details" and "Return receipt", with the
    /// transcript, a `message/delivery-status` part and the returned headers; filed as an
    /// ordinary message (`IPM.Note`), as a store that does not class reports does.
    Sendmail,
    /// A report that names its original by Message-ID alone, in `In-Reply-To` and `References`
    /// (RFC 5322 section 3.6.4), under a subject of its own and with the recipients in its text:
    /// nothing in it carries the original's subject. Filed with a `REPORT.` class.
    Referencing,
}

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
    /// The shape of the reports it makes.
    pub report_style: ReportStyle,
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
        let ndr =
            (!outcome.failed.is_empty()).then(|| report(&self, sender, NDR_CLASS, &outcome.failed));
        let dr = (self.message.delivery_receipt && !outcome.delivered.is_empty())
            .then(|| report(&self, sender, DR_CLASS, &outcome.delivered));
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

/// The report of `class` about `delivery`, naming `recipients`, in the delivery's style.
fn report(delivery: &Delivery, sender: &str, class: &str, recipients: &[String]) -> StoredItem {
    let (subject, body) = report_text(
        delivery.report_style,
        class == NDR_CLASS,
        &delivery.message,
        recipients,
    );
    let item_class = match delivery.report_style {
        ReportStyle::Exchange | ReportStyle::Postfix | ReportStyle::Referencing => class,
        ReportStyle::Sendmail => "IPM.Note",
    };
    StoredItem {
        kind: crate::ews::ItemKind::Message,
        folder: inbox(delivery.sender_mailbox),
        version: 1,
        item_class: item_class.into(),
        subject: subject.into(),
        body: Some((crate::ews::BodyType::Text, body.into())),
        to: vec![sender.into()],
        cc: Vec::new(),
        bcc: Vec::new(),
        from: Some(
            match delivery.report_style {
                ReportStyle::Exchange => "postmaster@mock.invalid",
                ReportStyle::Postfix | ReportStyle::Sendmail | ReportStyle::Referencing => {
                    "MAILER-DAEMON@mock.invalid"
                }
            }
            .into(),
        ),
        sender: None,
        is_draft: false,
        is_read: false,
        delivery_receipt: false,
        read_receipt: false,
        created: now(),
        sent: Some(now()),
        internet_message_id: None,
        in_reply_to: match delivery.report_style {
            ReportStyle::Referencing => delivery.message.internet_message_id.clone(),
            _ => None,
        },
        references: None,
        conversation: None,
        responds_to: None,
        raw: Vec::new(),
    }
}

/// The boundary between the parts of a postfix or Sendmail report.
const BOUNDARY: &str = "mock.invalid/report";

/// A report's subject and its text: for postfix and Sendmail the whole `multipart/report`, as a
/// store that keeps it as the body shows it.
pub fn report_text(
    style: ReportStyle,
    failed: bool,
    message: &StoredItem,
    recipients: &[String],
) -> (String, String) {
    let mut lines = Vec::new();
    match style {
        ReportStyle::Referencing => {
            let (subject, lead) = if failed {
                (
                    "Non-delivery report",
                    "Your message could not be delivered to:",
                )
            } else {
                ("Delivery report", "Your message has been delivered to:")
            };
            return (
                subject.to_owned(),
                format!("{lead}\n{}\n", recipients.join("\n")),
            );
        }
        ReportStyle::Exchange => {
            let (prefix, lead) = if failed {
                (
                    "Undeliverable",
                    "Delivery has failed to these recipients or groups:",
                )
            } else {
                (
                    "Delivered",
                    "Your message has been delivered to the following recipients:",
                )
            };
            return (
                format!("{prefix}: {}", message.subject),
                format!(
                    "{lead}\n{}\n\nSubject: {}",
                    recipients.join("\n"),
                    message.subject
                ),
            );
        }
        ReportStyle::Postfix => {
            lines.push("This is the mail system at host mock.invalid.".to_owned());
            lines.push(String::new());
            if failed {
                lines.push("I'm sorry to have to inform you that your message could not".into());
                lines.push("be delivered to one or more recipients. It's attached below.".into());
            } else {
                lines.push("Your message was successfully delivered to the destination(s)".into());
                lines.push("listed below.".into());
            }
            lines.push(String::new());
            lines.push("                   The mail system".into());
            lines.push(String::new());
            for r in recipients {
                lines.push(if failed {
                    format!("<{r}>: unknown user: \"{}\"", local_part(r))
                } else {
                    format!("<{r}>: delivery via local: delivered to mailbox")
                });
            }
        }
        ReportStyle::Sendmail => {
            lines.push("The original message was received from localhost".into());
            lines.push(String::new());
            if failed {
                lines.push(
                    "   ----- The following addresses had permanent fatal errors -----".into(),
                );
                for r in recipients {
                    lines.push(format!("<{r}>"));
                    lines.push(format!("    (reason: 550 5.1.1 <{r}>... User unknown)"));
                }
                lines.push(String::new());
                lines.push("   ----- Transcript of session follows -----".into());
                for r in recipients {
                    lines.push(format!("550 5.1.1 <{r}>... User unknown"));
                }
            } else {
                lines.push(
                    "   ----- The following addresses had successful delivery notifications -----"
                        .into(),
                );
                for r in recipients {
                    lines.push(format!("<{r}>  (successfully delivered to mailbox)"));
                }
                lines.push(String::new());
                lines.push("   ----- Transcript of session follows -----".into());
                for r in recipients {
                    lines.push(format!("<{r}>... Successfully delivered"));
                }
            }
        }
    }
    // The delivery-status part (RFC 3464): one block per recipient.
    lines.push(String::new());
    lines.push(format!("--{BOUNDARY}"));
    lines.push("Content-Description: Delivery report".into());
    lines.push("Content-Type: message/delivery-status".into());
    lines.push(String::new());
    lines.push("Reporting-MTA: dns; mock.invalid".into());
    for r in recipients {
        lines.push(String::new());
        lines.push(format!("Final-Recipient: rfc822; {r}"));
        lines.push(format!("Original-Recipient: rfc822;{r}"));
        let (action, status) = if failed {
            ("failed", "5.1.1")
        } else {
            ("delivered", "2.0.0")
        };
        lines.push(format!("Action: {action}"));
        lines.push(format!("Status: {status}"));
    }
    // The returned headers.
    lines.push(String::new());
    lines.push(format!("--{BOUNDARY}"));
    lines.push(if failed {
        "Content-Description: Undelivered Message Headers".into()
    } else {
        "Content-Description: Message Headers".into()
    });
    lines.push("Content-Type: text/rfc822-headers".into());
    lines.push(String::new());
    if let Some(from) = &message.from {
        lines.push(format!("From: {from}"));
    }
    let list = |l: &[Box<str>]| l.iter().map(|a| &**a).collect::<Vec<_>>().join(", ");
    if !message.to.is_empty() {
        lines.push(format!("To: {}", list(&message.to)));
    }
    if !message.cc.is_empty() {
        lines.push(format!("Cc: {}", list(&message.cc)));
    }
    lines.push(format!("Subject: {}", message.subject));
    lines.push(String::new());
    lines.push(format!("--{BOUNDARY}--"));
    let subject = match (style, failed) {
        (ReportStyle::Sendmail, true) => "Returned mail: see transcript for details",
        (ReportStyle::Sendmail, false) => "Return receipt",
        (_, true) => "Undelivered Mail Returned to Sender",
        (_, false) => "Successful Mail Delivery Report",
    };
    (subject.to_owned(), lines.join("\n") + "\n")
}

fn local_part(address: &str) -> &str {
    address.split('@').next().unwrap_or(address)
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
            report_style: ReportStyle::Exchange,
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
