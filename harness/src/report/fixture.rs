//! A hand-built [`RunSummary`] for the reporters' unit tests: every verdict, a changed case,
//! schema errors, and hostile server text.

use std::time::Duration;

use crate::case::{FolderName, Role};
use crate::judge::{Finding, StateCheck, Verdict};
use crate::run::{ExchangeRecord, Outcome, RunSummary, Stage};

/// Server-controlled text that tries to break out of a `<pre>`, a CDATA section and an attribute,
/// and carries terminal escapes and characters XML 1.0 forbids.
pub(crate) const HOSTILE: &str =
    "</pre><script>alert(1)</script>]]><x a=\"'\">&amp;\u{1b}[2J\u{7}\u{ffff}";

/// Appears once in the summary, in the SendItem response of the failing case.
pub(crate) const CANARY: &str = "CANARY-7f3a9c";

const SEND_OK: &str = r#"<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><h:ServerVersionInfo xmlns:h="http://schemas.microsoft.com/exchange/services/2006/types" MajorVersion="15" MinorVersion="1"/></s:Header><s:Body><m:SendItemResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"><m:ResponseMessages><m:SendItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode></m:SendItemResponseMessage></m:ResponseMessages></m:SendItemResponse></s:Body></s:Envelope>"#;

const SEND_REQ: &str = r#"<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"><soap:Header><t:RequestServerVersion Version="Exchange2013"/></soap:Header><soap:Body><m:SendItem SaveItemToFolder="true"><m:ItemIds><t:ItemId Id="AAMkAD&amp;1" ChangeKey="CQAAAB"/></m:ItemIds></m:SendItem></soap:Body></soap:Envelope>"#;

fn exchange(
    stage: Stage,
    operation: &str,
    status: Option<u16>,
    response: Option<String>,
) -> ExchangeRecord {
    ExchangeRecord {
        stage,
        operation: operation.to_owned(),
        account: "delegate@contoso.test".to_owned(),
        request: SEND_REQ.to_owned(),
        status,
        response,
        elapsed_ms: 12.5,
        schema_errors: Vec::new(),
    }
}

fn outcome(id: &str, category: &str, verdict: Verdict) -> Outcome {
    Outcome {
        id: id.to_owned(),
        title: format!("title of {id}"),
        category: category.to_owned(),
        tags: vec!["send".to_owned()],
        reference: "SendItem reference page, Remarks".to_owned(),
        requirements: vec!["MS-OXWSCORE_R465".to_owned()],
        section: Some("MS-OXWSCORE 3.1.4.8.3.2".to_owned()),
        file: Some(format!("cases/{id}.toml")),
        verdict,
        reason: None,
        findings: Vec::new(),
        exchanges: vec![exchange(
            Stage::UnderTest,
            "SendItem",
            Some(200),
            Some(SEND_OK.to_owned()),
        )],
        state: vec![StateCheck {
            expectation: "principal:sentitems contains draft".to_owned(),
            observed: "1 item".to_owned(),
            held: true,
            place: (Role::Principal, FolderName::SentItems),
            found: Some(1),
        }],
        quirk_state: Vec::new(),
        answer: Some("Success NoError".to_owned()),
        elapsed_ms: 40.0,
        changed: None,
        known: None,
    }
}

/// 3 pass, 1 quirk, 1 fail, 1 skip, 1 error over three categories; one pass and the fail are
/// changed from the baseline.
pub(crate) fn summary() -> RunSummary {
    let pass1 = outcome("save-rules/true-no-folder", "save-rules", Verdict::Pass);
    let pass2 = outcome("save-rules/false-no-folder", "save-rules", Verdict::Pass);
    let mut pass3 = outcome("errors/malformed-id", "errors", Verdict::Pass);
    pass3.changed = Some(
        "--- baseline\n+++ this run\n@@ -1,2 +1,2 @@\n <m:ResponseCode>\n-ErrorInvalidIdMalformed\n+ErrorItemNotFound\n"
            .to_owned(),
    );

    let mut quirk = outcome("delegate/quirk-a", "delegate", Verdict::Quirk);
    quirk.reason = Some("delegate Sent Items quirk A: the copy stays in Drafts".to_owned());
    quirk.findings = vec![Finding {
        check: "state principal:sentitems".to_owned(),
        expected: "contains draft".to_owned(),
        actual: "0 items".to_owned(),
        line: Some(19),
    }];

    let mut fail = outcome("save-rules/false-with-folder", "save-rules", Verdict::Fail);
    fail.tags = vec!["save".to_owned(), "error-code".to_owned()];
    fail.findings = vec![
        Finding {
            check: "message 1 code".to_owned(),
            expected: "ErrorInvalidSendItemSaveSettings".to_owned(),
            actual: format!("NoError {HOSTILE}"),
            line: Some(12),
        },
        Finding {
            check: "schema".to_owned(),
            expected: "a valid response".to_owned(),
            actual: "1 schema error".to_owned(),
            line: Some(10),
        },
    ];
    let mut bad = exchange(
        Stage::UnderTest,
        "SendItem",
        Some(500),
        Some(format!(
            "<?xml version=\"1.0\"?><Body>{CANARY}</Body> {HOSTILE}"
        )),
    );
    bad.schema_errors = vec![format!("1:22: Element 'Body': {HOSTILE}")];
    fail.exchanges = vec![
        exchange(
            Stage::Setup,
            "CreateItem",
            Some(200),
            Some(SEND_OK.to_owned()),
        ),
        bad,
    ];
    fail.state = vec![StateCheck {
        expectation: "delegate:drafts contains draft".to_owned(),
        observed: HOSTILE.to_owned(),
        held: false,
        place: (Role::Delegate, FolderName::Drafts),
        found: Some(0),
    }];
    fail.changed = Some(format!("-NoError\n+{HOSTILE}\n"));

    let mut skip = outcome("delegate/quirk-b", "delegate", Verdict::Skip);
    skip.reason = Some("no delegate access on the target".to_owned());
    skip.exchanges.clear();
    skip.state.clear();

    let mut error = outcome("errors/timeout", "errors", Verdict::Error);
    error.reason = Some(format!("transport: connection reset {HOSTILE}"));
    error.exchanges = vec![exchange(Stage::UnderTest, "SendItem", None, None)];
    error.state.clear();

    RunSummary {
        run_id: "20250101T000000Z-abc".to_owned(),
        target: "https://mail.contoso.test/EWS/Exchange.asmx".to_owned(),
        server_version: Some(format!("15.1 {HOSTILE}")),
        started: "2025-01-01T00:00:00Z".to_owned(),
        elapsed: Duration::from_millis(1234),
        outcomes: vec![pass1, pass2, quirk, fail, skip, error, pass3],
        fuzz: None,
        quirk: None,
        throttling: Default::default(),
        strict: false,
    }
}
