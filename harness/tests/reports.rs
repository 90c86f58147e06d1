//! Delivery and non-delivery reports recognised by what they carry, in the shapes Exchange,
//! postfix and Sendmail write them, and in one that names its original by Message-ID alone,
//! delivered by the mock over loopback.

mod common;

use std::path::PathBuf;

use common::{BOSS, CAROL, Mock};
use ewsconf::Verdict;
use ewsconf::ews::{DistinguishedFolderName as Folder, FindItem, Item, RequestHeaders, SendItem};
use ewsconf::mock::{MockConfig, Profile, ReportStyle};
use ewsconf::target::calls::folder_of;

const STYLES: [(ReportStyle, &str); 4] = [
    (ReportStyle::Exchange, "exchange"),
    (ReportStyle::Postfix, "postfix"),
    (ReportStyle::Sendmail, "sendmail"),
    (ReportStyle::Referencing, "referencing"),
];

fn config(style: ReportStyle) -> MockConfig {
    MockConfig {
        report_style: style,
        ..MockConfig::with_profile(Profile::Intended)
    }
}

fn fixture(name: &str) -> String {
    let path = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/reports/"
    ))
    .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every item in the boss's Inbox, read whole: `Subject`, `ItemClass`, `InReplyTo` and
/// `References` when it has them, and the body, as a fixture holds them.
async fn inbox(mock: &Mock) -> Vec<String> {
    let account = Mock::account(BOSS);
    let find = FindItem::shallow(folder_of(BOSS, Folder::Inbox));
    let messages = mock
        .client
        .messages(&account, &RequestHeaders::default(), find)
        .await
        .expect("FindItem");
    let mut out = Vec::new();
    for item in messages
        .into_iter()
        .flat_map(|m| m.root_folder.map(|r| r.items).unwrap_or_default())
    {
        let read = mock.get(BOSS, item.item_id.expect("an id")).await;
        let mut text = format!(
            "Subject: {}\nItemClass: {}\n",
            read.subject.unwrap_or_default(),
            read.item_class.unwrap_or_default(),
        );
        for (name, value) in [
            ("InReplyTo", read.in_reply_to),
            ("References", read.references),
        ] {
            if let Some(value) = value {
                text.push_str(&format!("{name}: {value}\n"));
            }
        }
        text.push('\n');
        text.push_str(&read.body.map(|b| b.content).unwrap_or_default());
        out.push(text);
    }
    out.sort();
    out
}

/// The mock writes each shape as its fixture shows it: an NDR for the unknown address and a DR
/// for the delivered one.
#[tokio::test]
async fn the_mock_writes_each_report_shape_as_its_fixture() {
    for (style, name) in STYLES {
        let mock = Mock::with(config(style)).await;
        let mut item = Item::message("rep1 shape")
            .with_body("body")
            .to(CAROL)
            .to("ghost@example.com");
        item.is_delivery_receipt_requested = Some(true);
        let id = mock.create(BOSS, BOSS, item).await;
        assert_eq!(mock.send(BOSS, SendItem::new([id])).await, vec![common::OK]);
        let mut want = vec![
            fixture(&format!("{name}-ndr.txt")),
            fixture(&format!("{name}-dr.txt")),
        ];
        want.sort();
        assert_eq!(inbox(&mock).await, want, "{name}");
    }
}

/// Runs the transport cases against the mock writing reports in `style`, `runs` times on the
/// same mailboxes, and fails unless every outcome is `pass`, explaining each that is not.
async fn transport_cases_pass(style: ReportStyle, runs: usize) {
    let cases: Vec<_> = common::suite()
        .into_iter()
        .filter(|c| c.id.starts_with("transport/"))
        .collect();
    assert!(cases.len() >= 5, "the transport cases load");
    let target = ewsconf::target::Target::embedded(config(style))
        .await
        .expect("mock starts");
    let mut bad = Vec::new();
    for run in 0..runs {
        let summary = common::run_on(&target, &cases, 4).await;
        assert_eq!(summary.outcomes.len(), cases.len());
        bad.extend(
            summary
                .outcomes
                .iter()
                .filter(|o| o.verdict != Verdict::Pass)
                .map(|o| {
                    format!(
                        "run {run}: {} is {} {:?} {:?}",
                        o.id,
                        o.verdict,
                        o.reason,
                        o.findings
                            .iter()
                            .map(|f| format!("{}: {}", f.check, f.actual))
                            .collect::<Vec<_>>()
                    )
                }),
        );
    }
    target.shutdown().await;
    assert!(bad.is_empty(), "{bad:#?}");
}

/// One test per entry: `name: Style, runs;` is [`transport_cases_pass`] with reports in that
/// style, that many runs on the same mailboxes.
macro_rules! transport_cases_pass_tests {
    ($($(#[$doc:meta])* $name:ident: $style:ident, $runs:literal;)*) => {$(
        $(#[$doc])*
        #[tokio::test]
        async fn $name() {
            transport_cases_pass(ReportStyle::$style, $runs).await;
        }
    )*};
}

transport_cases_pass_tests! {
    exchange_reports_are_recognised: Exchange, 1;
    /// postfix's "Undelivered Mail Returned to Sender" does not carry the original's subject in
    /// its own: it is recognised by its class and the returned headers, its recipients by its
    /// `Final-Recipient` fields.
    postfix_reports_are_recognised: Postfix, 1;
    /// Sendmail's reports, filed as ordinary messages, are recognised by their delivery-status
    /// part.
    sendmail_reports_filed_as_ordinary_messages_are_recognised: Sendmail, 1;
    /// A report that names its original by Message-ID alone (`InReplyTo`, `References`), with
    /// nothing of the original's subject in it, is tied to the original through the Message-ID
    /// the original was seen with.
    reports_naming_the_original_by_message_id_alone_are_recognised: Referencing, 1;
    /// The second run meets the first run's reports in the same Inbox, about other messages
    /// (another marker): neither the search nor the judge counts them, so each case still sees
    /// exactly one.
    an_earlier_runs_reports_are_not_counted: Postfix, 2;
}

/// A case whose setup sends `earlier` to an unknown address first, then sends `draft` to the
/// recipient only, expecting `state`.
fn other_message_case(state: &str) -> ewsconf::case::Case {
    let text = format!(
        r#"
id = "reports/other-message"
title = "An NDR for another message of the same case"
reference = "t"
section = "MS-OXWSCORE 3.1.4.8"
requires = ["bounces"]
poll_timeout_secs = 1
[[setup]]
name = "earlier"
owner = "principal"
to = ["unknown"]
pre_send = true
[[setup]]
name = "draft"
owner = "principal"
to = ["recipient"]
{send}state = ["recipient:inbox contains draft", "{state}"]
"#,
        send = common::SEND_DRAFT
    );
    ewsconf::case::parse_case(
        std::path::Path::new("reports/other-message.toml"),
        &text,
        "reports",
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

/// An NDR in the same Inbox, found by the same run marker and case id but about another message
/// (`earlier`), is not counted for `draft`; it is for `earlier`. In every style.
#[tokio::test]
async fn a_report_about_another_message_of_the_same_run_is_not_counted() {
    for (style, name) in STYLES {
        let target = ewsconf::target::Target::embedded(config(style))
            .await
            .expect("mock starts");
        let cases = [
            other_message_case("principal:inbox gets NDR for draft naming unknown"),
            other_message_case("principal:inbox gets NDR for earlier naming unknown"),
        ];
        let mut verdicts = Vec::new();
        for case in cases {
            let summary = common::run_on(&target, std::slice::from_ref(&case), 1).await;
            let o = &summary.outcomes[0];
            verdicts.push((
                o.verdict,
                o.findings
                    .iter()
                    .map(|f| f.actual.clone())
                    .collect::<Vec<_>>(),
            ));
        }
        target.shutdown().await;
        assert_eq!(
            verdicts,
            [
                (Verdict::Fail, vec!["0 NDRs".to_owned()]),
                (Verdict::Pass, vec![])
            ],
            "{name}"
        );
    }
}
