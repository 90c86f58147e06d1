//! Delivery and non-delivery reports, recognised by what reports carry, whoever writes them.
//!
//! A report is known by its item class (`REPORT.X.NDR`, `REPORT.X.DR` where `X` is the original's
//! class, as `REPORT.IPM.Note.NDR`) or, when a
//! server files it as an ordinary message, by its content: the RFC 3464 delivery-status fields
//! (`Action: failed` or `delivered`) or the wording MTAs give their reports. It is about a
//! message when the message's subject appears anywhere in it (subject, body, returned headers),
//! and the recipients it names are read from its per-recipient `Final-Recipient` or
//! `Original-Recipient` fields, or else from its text.
//!
//! References: <https://www.rfc-editor.org/rfc/rfc3464> (DSN fields),
//! <https://learn.microsoft.com/en-us/office/client-developer/outlook/mapi/mapi-report-messages>
//! (report classes).

use super::FoundItem;

pub use crate::case::ReportKind;

/// The kind of report an item class names, if it names one: `REPORT.X.NDR` or `REPORT.X.DR`,
/// `X` being the original's class (`REPORT.IPM.Note.NDR` for a message).
/// <https://learn.microsoft.com/en-us/office/client-developer/outlook/mapi/mapi-report-messages>
pub fn kind_of_class(class: &str) -> Option<ReportKind> {
    let class = class.to_ascii_uppercase();
    let rest = class.strip_prefix("REPORT.")?;
    if rest.ends_with(".NDR") {
        Some(ReportKind::Ndr)
    } else if rest.ends_with(".DR") {
        Some(ReportKind::Dr)
    } else {
        None
    }
}

/// `NDR` or `DR`.
pub fn kind_name(kind: ReportKind) -> &'static str {
    match kind {
        ReportKind::Dr => "DR",
        ReportKind::Ndr => "NDR",
    }
}

/// What MTAs write in the reports they make, lowercase, for reports filed as ordinary messages.
/// postfix: bounce(5) templates ("Undelivered Mail Returned to Sender", "Successful Mail
/// Delivery Report"); Sendmail: "Returned mail: see transcript for details", "Return receipt";
/// Exchange: "Delivery has failed to these recipients or groups"; gromox: "Mail has been
/// delivered successfully".
const NDR_WORDING: &[&str] = &[
    "undelivered mail returned to sender",
    "returned mail: see transcript for details",
    "delivery has failed to these recipients",
    "delivery status notification (failure)",
];
const DR_WORDING: &[&str] = &[
    "successful mail delivery report",
    "mail has been delivered successfully",
    "return receipt",
    "your message has been delivered to the following recipients",
    "delivery status notification (success)",
];

/// A report as read from a found item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report<'a> {
    /// The item it was read from.
    pub item: &'a FoundItem,
    /// The kind its class or content says, when no per-recipient fields say more.
    pub kind: Option<ReportKind>,
    /// The per-recipient fields: each recipient (lowercase) and the kind its `Action` makes it.
    pub recipients: Vec<(String, Option<ReportKind>)>,
}

impl<'a> Report<'a> {
    /// `item` read as a report, or `None` when nothing in it says it is one. Read receipts and
    /// other `REPORT.` classes are not delivery reports.
    pub fn read(item: &'a FoundItem) -> Option<Self> {
        let body = item.body.as_deref().unwrap_or("");
        let recipients = dsn_recipients(body);
        let kind = kind_of_class(&item.item_class).or_else(|| {
            if item.item_class.to_ascii_uppercase().starts_with("REPORT.") {
                return None;
            }
            let text = format!("{}\n{body}", item.subject).to_ascii_lowercase();
            if NDR_WORDING.iter().any(|w| text.contains(w)) {
                Some(ReportKind::Ndr)
            } else if DR_WORDING.iter().any(|w| text.contains(w)) {
                Some(ReportKind::Dr)
            } else {
                None
            }
        });
        let is_report = kind.is_some()
            || (!item.item_class.to_ascii_uppercase().starts_with("REPORT.")
                && recipients.iter().any(|(_, k)| k.is_some()));
        is_report.then_some(Self {
            item,
            kind,
            recipients,
        })
    }

    /// Whether this report is of `kind`: its class says so, or one of its recipients' `Action`.
    pub fn is(&self, kind: ReportKind) -> bool {
        if self.recipients.iter().any(|(_, k)| k.is_some()) {
            self.recipients.iter().any(|(_, k)| *k == Some(kind))
        } else {
            self.kind == Some(kind)
        }
    }

    /// Whether the report is about the message whose subject is `subject` and whose
    /// Message-ID is one of `message_ids`: the subject appears in the report's subject or body
    /// (the returned headers included), ignoring case and how header folding split it; or one
    /// of the Message-IDs appears there or in its `InReplyTo` and `References`.
    pub fn is_about(&self, subject: &str, message_ids: &[&str]) -> bool {
        let texts = [
            self.item.subject.as_str(),
            self.item.body.as_deref().unwrap_or(""),
            self.item.references.as_deref().unwrap_or(""),
        ];
        let want = squeeze(subject);
        let by_subject = !want.is_empty() && texts.iter().any(|t| squeeze(t).contains(&want));
        by_subject
            || message_ids.iter().any(|id| {
                let id = bare_id(id).to_ascii_lowercase();
                !id.is_empty() && texts.iter().any(|t| t.to_ascii_lowercase().contains(&id))
            })
    }

    /// Whether the report names `address` as a recipient of `kind`: in its per-recipient fields
    /// when it has them, else anywhere in its text.
    pub fn names(&self, address: &str, kind: ReportKind) -> bool {
        let address = address.to_ascii_lowercase();
        if self.recipients.iter().any(|(_, k)| k.is_some()) {
            self.recipients
                .iter()
                .any(|(a, k)| *a == address && *k == Some(kind))
        } else {
            self.item
                .body
                .as_deref()
                .unwrap_or("")
                .to_ascii_lowercase()
                .contains(&address)
        }
    }
}

/// A Message-ID without its angle brackets, as it is written inside other text.
fn bare_id(id: &str) -> &str {
    id.trim().trim_start_matches('<').trim_end_matches('>')
}

/// Lowercase, with every run of whitespace made one space.
fn squeeze(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_lowercase()
}

/// The per-recipient fields of an RFC 3464 delivery-status part found in `text`: each
/// `Final-Recipient` (or `Original-Recipient` when there is no final one) with the kind its
/// block's `Action` makes it (`failed`: NDR; `delivered`, `relayed`, `expanded`: DR).
fn dsn_recipients(text: &str) -> Vec<(String, Option<ReportKind>)> {
    let mut out: Vec<(String, Option<ReportKind>)> = Vec::new();
    // A block is a run of fields separated from the next by a blank line.
    for block in text.replace("\r\n", "\n").split("\n\n") {
        let mut final_recipient = None;
        let mut original_recipient = None;
        let mut action = None;
        for line in block.lines() {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match name.trim().to_ascii_lowercase().as_str() {
                "final-recipient" => final_recipient = address_of(value),
                "original-recipient" => original_recipient = address_of(value),
                "action" => {
                    action = match value.to_ascii_lowercase().as_str() {
                        "failed" => Some(ReportKind::Ndr),
                        "delivered" | "relayed" | "expanded" => Some(ReportKind::Dr),
                        _ => None,
                    }
                }
                _ => {}
            }
        }
        if let Some(address) = final_recipient.or(original_recipient)
            && !out.iter().any(|(a, k)| *a == address && *k == action)
        {
            out.push((address, action));
        }
    }
    out
}

/// The address of a DSN recipient field's value, `rfc822; someone@example.com`.
fn address_of(value: &str) -> Option<String> {
    let address = match value.split_once(';') {
        Some((_, a)) => a,
        None => value,
    };
    let address = address.trim().trim_start_matches('<').trim_end_matches('>');
    address.contains('@').then(|| address.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(class: &str, subject: &str, body: &str) -> FoundItem {
        FoundItem {
            subject: subject.into(),
            item_class: class.into(),
            body: Some(body.into()),
            ..FoundItem::default()
        }
    }

    #[test]
    fn dsn_fields_decide_kind_and_recipients() {
        let body = "Reporting-MTA: dns; mx.example.com\n\nFinal-Recipient: rfc822; Nobody@Example.com\nOriginal-Recipient: rfc822;nobody@example.com\nAction: failed\nStatus: 5.1.1\n\nFinal-Recipient: rfc822; carol@example.com\nAction: delivered\nStatus: 2.0.0\n";
        let i = item("IPM.Note", "Undelivered Mail Returned to Sender", body);
        let r = Report::read(&i).expect("a report");
        assert!(r.is(ReportKind::Ndr) && r.is(ReportKind::Dr));
        assert!(r.names("nobody@example.com", ReportKind::Ndr));
        assert!(!r.names("carol@example.com", ReportKind::Ndr));
        assert!(r.names("carol@example.com", ReportKind::Dr));
    }

    #[test]
    fn an_ordinary_message_is_no_report_and_a_read_receipt_is_neither() {
        let plain = item("IPM.Note", "hello [draft]", "ewsconf case x");
        assert!(Report::read(&plain).is_none());
        let read = item(
            "REPORT.IPM.Note.IPNRN",
            "Read: x",
            "Your message was read. Undelivered Mail Returned to Sender",
        );
        assert!(Report::read(&read).is_none());
    }

    #[test]
    fn wording_alone_makes_a_report_and_its_text_names_the_recipients() {
        // A report filed as an ordinary message with no delivery-status fields in its body.
        let i = item(
            "IPM.Note",
            "Mail has been delivered successfully",
            "Subject: ewsconf-ab12 t/x [draft]\nTo: carol@example.com",
        );
        let r = Report::read(&i).expect("a report");
        assert!(r.is(ReportKind::Dr) && !r.is(ReportKind::Ndr));
        assert!(r.names("Carol@example.com", ReportKind::Dr));
        assert!(!r.names("dave@example.com", ReportKind::Dr));
        assert_eq!(
            kind_of_class("REPORT.IPM.Note.SMIME.NDR"),
            Some(ReportKind::Ndr)
        );
        assert_eq!(kind_of_class("REPORT.IPM.Note.IPNRN"), None);
    }

    #[test]
    fn a_folded_subject_in_returned_headers_still_matches() {
        let i = item(
            "IPM.Note",
            "Undelivered Mail Returned to Sender",
            "Subject: ewsconf-ab12 transport/x\n [draft]\n",
        );
        let r = Report::read(&i).expect("a report");
        assert!(r.is_about("ewsconf-AB12 transport/x [draft]", &[]));
        assert!(!r.is_about("ewsconf-cd34 transport/x [draft]", &[]));
    }

    #[test]
    fn a_report_naming_its_original_by_message_id_alone_is_about_it() {
        let mut i = item(
            "IPM.Note",
            "Mail has been delivered successfully",
            "Your message to carol@example.com was delivered.",
        );
        i.references = Some("<1.ab12@mock.invalid>".into());
        let r = Report::read(&i).expect("a report");
        assert!(!r.is_about("ewsconf-ab12 transport/x [draft]", &[]));
        assert!(r.is_about(
            "ewsconf-ab12 transport/x [draft]",
            &["<1.AB12@mock.invalid>"]
        ));
        assert!(!r.is_about(
            "ewsconf-ab12 transport/x [draft]",
            &["<2.ab12@mock.invalid>"]
        ));
    }
}
