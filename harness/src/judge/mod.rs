//! The oracle: from what a case expects and what the target did, a graded verdict with the
//! reasons. Pure functions: the runner observes, the judge decides.
//!
//! Some checks hold for every case whatever it expects, because the protocol demands them: the
//! response is schema-valid, a SOAP answer comes as `text/xml`, a 5xx carries a SOAP Fault, there is one response message per
//! ItemId (or one for the whole request, carrying a request-level error), and each message's
//! ResponseClass agrees with its ResponseCode. A documented quirk never excuses those.
//!
//! Exchange Online often wraps the real code in `ErrorInternalServerError`, naming it in
//! `MessageXml`; an answer that holds once unwrapped is a `quirk`, not a `fail`.

pub mod delegate_copy;
pub mod report;
mod verdict;

use std::collections::{BTreeMap, BTreeSet};

use crate::case::{
    Case, ExpectLines, Expectation, ExpectedAnswer, FolderName, Role, StateExpectation, StateKind,
};
use crate::ews::{ResponseBody, ResponseClass, ResponseCode, ResponseEnvelope};
use crate::schema::SchemaSet;
use crate::target::Exchange;

pub use report::Report;
pub use verdict::{Finding, StateCheck, Verdict};

/// An item found in a folder while observing state.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FoundItem {
    /// Its subject.
    pub subject: String,
    /// Its item class.
    pub item_class: String,
    /// Its body, when it was read: candidate reports where a `gets` sentence looks
    /// ([`report::Report`]).
    pub body: Option<String>,
    /// Its `Message-ID` (`InternetMessageId`), when the server gave one.
    pub internet_message_id: Option<String>,
    /// The Message-IDs it refers to (`InReplyTo` and `References`), when it was read: a
    /// report may name its original only so, and a reply or forward follows its original so.
    pub references: Option<String>,
    /// `PidTagLastVerbExecuted`, when it was read and the server recorded one.
    pub last_verb: Option<u32>,
}

impl FoundItem {
    /// Whether this is a copy of the case's item whose subject carries `token`, not a report
    /// about it.
    fn is_copy_of(&self, token: &str) -> bool {
        !self.item_class.starts_with("REPORT.") && self.subject.contains(token)
    }
}

/// Everything the runner saw of the request under test and the state after it.
#[derive(Debug, Clone)]
pub struct Observed {
    /// HTTP status.
    pub status: u16,
    /// The answer's `Content-Type`.
    pub content_type: ContentType,
    /// Whether the body looked like XML at all.
    pub is_xml: bool,
    /// Schema errors in the response body.
    pub schema_errors: Vec<String>,
    /// The body parsed as an EWS envelope, or why it could not be.
    pub envelope: Result<ResponseEnvelope, String>,
    /// How many ItemIds the request carried, when known.
    pub item_count: Option<usize>,
    /// Items carrying the case's marker, per folder looked into.
    pub folders: BTreeMap<(Role, FolderName), Result<Vec<FoundItem>, String>>,
    /// Copies of the case's own messages seen before the request under test (a message its
    /// setup sent first), for the Message-IDs a report may name them by.
    pub sent_in_setup: Vec<FoundItem>,
}

/// The `Content-Type` of an answer, as far as it was observed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ContentType {
    /// Only the body was observed ([`Observed::answer`]), so the header is not checked.
    #[default]
    Unknown,
    /// The answer had no `Content-Type` header, or one that is not visible ASCII text.
    Missing,
    /// The header's value, as received.
    Header(String),
}

impl ContentType {
    /// Whether this names the media type `text/xml` (any parameters, any case).
    pub fn is_text_xml(&self) -> bool {
        match self {
            Self::Header(value) => value
                .split(';')
                .next()
                .is_some_and(|media| media.trim().eq_ignore_ascii_case("text/xml")),
            Self::Unknown | Self::Missing => false,
        }
    }
}

impl Observed {
    /// What came back in `exchange`, the request under test: its status, `Content-Type` and
    /// body, the body validated against `schemas` and read, once. `item_count` is how many
    /// ItemIds the request carried, when known.
    pub fn received(exchange: &Exchange, schemas: &SchemaSet, item_count: Option<usize>) -> Self {
        Self {
            content_type: exchange
                .content_type
                .clone()
                .map_or(ContentType::Missing, ContentType::Header),
            ..Self::answer(exchange.status, &exchange.body, schemas, item_count)
        }
    }

    /// What came back for the request under test, when only its status and body are known
    /// (its `Content-Type` is then [`ContentType::Unknown`] and not checked): validated against
    /// `schemas` and read, once. `item_count` is how many ItemIds the request carried, when
    /// known.
    pub fn answer(
        status: u16,
        body: &[u8],
        schemas: &SchemaSet,
        item_count: Option<usize>,
    ) -> Self {
        let is_xml = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<');
        // A valid answer is validated and read in one pass; any other is read on its own.
        let (schema_errors, envelope) = match is_xml.then(|| schemas.parse_valid(body)) {
            Some(Ok(root)) => (Vec::new(), ResponseEnvelope::from_element(&root)),
            Some(Err(validation)) => (
                validation.errors.iter().map(|e| e.to_string()).collect(),
                ResponseEnvelope::parse(body),
            ),
            None => (Vec::new(), ResponseEnvelope::parse(body)),
        };
        Self {
            status,
            content_type: ContentType::Unknown,
            is_xml,
            schema_errors,
            envelope: envelope.map_err(|e| e.to_string()),
            item_count,
            folders: BTreeMap::new(),
            sent_in_setup: Vec::new(),
        }
    }

    /// No answer at all: the request could not be sent or the answer was lost.
    pub fn no_answer(why: String) -> Self {
        Self {
            status: 0,
            content_type: ContentType::Unknown,
            is_xml: false,
            schema_errors: Vec::new(),
            envelope: Err(why),
            item_count: None,
            folders: BTreeMap::new(),
            sent_in_setup: Vec::new(),
        }
    }

    /// The answer in one line: `Success NoError`, `SOAP Fault ErrorSchemaValidation`, or
    /// `HTTP 415: not an EWS response (…)`.
    pub fn summary(&self) -> String {
        match &self.envelope {
            Err(why) => format!("HTTP {}: not an EWS response ({why})", self.status),
            Ok(ResponseEnvelope {
                body: ResponseBody::Fault(f),
                ..
            }) => format!(
                "SOAP Fault {}",
                f.response_code()
                    .map_or(f.fault_code.name.as_str(), |c| c.as_str())
            ),
            Ok(ResponseEnvelope {
                body: ResponseBody::Response(r),
                ..
            }) if r.response_messages.is_empty() => "no response message".to_owned(),
            Ok(ResponseEnvelope {
                body: ResponseBody::Response(r),
                ..
            }) => r
                .response_messages
                .iter()
                .map(|m| {
                    format!(
                        "{} {}",
                        m.response_class,
                        m.response_code.map_or("(no code)", |c| c.as_str())
                    )
                })
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

/// The verdict and everything a report shows about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    /// The verdict.
    pub verdict: Verdict,
    /// For `quirk`, which deviation and where it is documented.
    pub reason: Option<String>,
    /// Checks that did not hold (for `quirk`: those of the intended outcome).
    pub findings: Vec<Finding>,
    /// The intended state expectations and what was observed.
    pub state: Vec<StateCheck>,
    /// The documented deviation's state expectations and what was observed, when the case has
    /// one and its intended outcome did not hold.
    pub quirk_state: Vec<StateCheck>,
    /// The answer in one line ([`Observed::summary`]).
    pub answer: String,
    /// How many checks were made: the protocol's, the answer's and each state expectation.
    pub checks: usize,
}

/// What identifies a setup item's copies: the text its subject carries.
pub type Tokens<'a> = &'a dyn Fn(&str) -> String;
/// The address a role stands for.
pub type Addresses<'a> = &'a dyn Fn(Role) -> Option<String>;

fn finding(
    check: impl Into<String>,
    expected: impl Into<String>,
    actual: impl Into<String>,
) -> Finding {
    Finding {
        check: check.into(),
        expected: expected.into(),
        actual: actual.into(),
        line: None,
    }
}

/// True when `class` agrees with `code`: Success carries NoError and nothing else does.
pub fn class_agrees(class: ResponseClass, code: Option<ResponseCode>) -> bool {
    match (class, code) {
        (ResponseClass::Success, Some(ResponseCode::NoError)) => true,
        (ResponseClass::Error | ResponseClass::Warning, Some(c)) => c != ResponseCode::NoError,
        _ => false,
    }
}

/// The SendItem errors Exchange checks before any item and answers with one response message for
/// the whole request, however many ItemIds it carries: SaveItemToFolder=false with a folder, a
/// save folder that does not exist or cannot be opened, and a Mailbox with no mailbox behind it.
/// Observed from Exchange 2013 and later, with no public capture cited yet, so both this shape
/// and one message per ItemId are accepted; the SendItemResponseMessage reference says one
/// message per ItemId.
/// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/senditemresponsemessage>
pub const REQUEST_LEVEL_CODES: &[ResponseCode] = &[
    ResponseCode::ErrorInvalidSendItemSaveSettings,
    ResponseCode::ErrorSavedItemFolderNotFound,
    ResponseCode::ErrorFolderNotFound,
    ResponseCode::ErrorAccessDenied,
    ResponseCode::ErrorNonExistentMailbox,
];

/// True when `messages`, answering `item_count` ItemIds, are one Error message for the whole
/// request carrying a request-level code ([`REQUEST_LEVEL_CODES`]); or, for a request with no
/// ItemIds (which only an unvalidating server reads), one Error message, since a response
/// carries at least one.
fn answered_once(messages: &[crate::ews::ResponseMessage], item_count: usize) -> bool {
    match messages {
        [only] if item_count == 0 => only.response_class == ResponseClass::Error,
        [only] if item_count > 1 => {
            only.response_class == ResponseClass::Error
                && only
                    .response_code
                    .is_some_and(|c| REQUEST_LEVEL_CODES.contains(&c))
        }
        _ => false,
    }
}

/// The checks every answer must pass, whatever the case expects.
pub fn protocol_findings(observed: &Observed) -> Vec<Finding> {
    let mut out = Vec::new();
    if observed.is_xml && !observed.schema_errors.is_empty() {
        let shown: Vec<&str> = observed
            .schema_errors
            .iter()
            .take(3)
            .map(String::as_str)
            .collect();
        out.push(finding(
            "schema",
            "a response valid against the EWS schema",
            shown.join("; "),
        ));
    }
    if let Some(wrong) = content_type_finding(observed) {
        out.push(wrong);
    }
    let fault = matches!(&observed.envelope, Ok(e) if e.fault().is_some());
    if observed.status >= 500 && !fault {
        out.push(finding(
            "http status",
            format!("HTTP {} to carry a SOAP Fault", observed.status),
            "no SOAP Fault in the body",
        ));
    }
    if let Ok(ResponseEnvelope {
        body: ResponseBody::Response(r),
        ..
    }) = &observed.envelope
    {
        if let Some(n) = observed.item_count
            && r.response_messages.len() != n
            && !answered_once(&r.response_messages, n)
        {
            out.push(finding(
                "one message per ItemId",
                format!(
                    "{n} response message(s), one per ItemId, or one carrying a request-level error"
                ),
                format!("{} response message(s)", r.response_messages.len()),
            ));
        }
        for (i, m) in r.response_messages.iter().enumerate() {
            if !class_agrees(m.response_class, m.response_code) {
                out.push(finding(
                    format!("message {} class", i + 1),
                    "ResponseClass consistent with ResponseCode (Success with NoError, Error or Warning with an error code)",
                    format!("{} with {}", m.response_class, m.response_code.map_or("no ResponseCode", |c| c.as_str())),
                ));
            }
        }
    }
    out
}

/// A SOAP answer, which is any 200 or 500 answer (SOAP 1.1, section 6.2: a successful answer is
/// 2xx, a fault is 500) and any answer that reads as a SOAP envelope, must come as `text/xml`:
/// "HTTP applications MUST use the media type "text/xml" according to RFC 2376 when including
/// SOAP entity bodies in HTTP messages" (SOAP 1.1, section 6, "Using SOAP in HTTP",
/// <https://www.w3.org/TR/2000/NOTE-SOAP-20000508/>). Exchange's EWS endpoint,
/// a SOAP 1.1 WCF service, answers `text/xml; charset=utf-8`, the type it also demands of
/// requests (its 415: "Cannot process the message because the content type
/// 'text/xml;charset=utf-8' was not the expected type 'text/xml; charset=utf-8'", as quoted in
/// <https://github.com/unwire/handsoap/pull/18>). Other answers (a 401 or a 415 page) are the
/// HTTP layer's and may be of any type.
fn content_type_finding(observed: &Observed) -> Option<Finding> {
    let soap = matches!(observed.status, 200 | 500) || observed.envelope.is_ok();
    let actual = match &observed.content_type {
        ContentType::Unknown => return None,
        _ if !soap || observed.content_type.is_text_xml() => return None,
        ContentType::Missing => "no Content-Type".to_owned(),
        ContentType::Header(value) => format!("Content-Type: {}", shown(value)),
    };
    Some(finding(
        "content type",
        "Content-Type: text/xml (SOAP 1.1, as Exchange sends it: text/xml; charset=utf-8)",
        actual,
    ))
}

/// `text` cut to 200 characters, for a report line.
fn shown(text: &str) -> String {
    const SHOWN: usize = 200;
    match text.char_indices().nth(SHOWN) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

fn answer_findings(expect: &Expectation, observed: &Observed) -> Vec<Finding> {
    let mut out = Vec::new();
    if !expect.http_status.contains(&observed.status) {
        out.push(finding(
            "http status",
            expect
                .http_status
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(" or "),
            observed.status.to_string(),
        ));
    }
    let describe = |e: &Result<ResponseEnvelope, String>| match e {
        Err(why) => format!("not an EWS response ({why})"),
        Ok(ResponseEnvelope {
            body: ResponseBody::Fault(f),
            ..
        }) => format!(
            "SOAP Fault {}",
            f.response_code()
                .map_or(f.fault_code.name.clone(), |c| c.as_str().to_owned())
        ),
        Ok(ResponseEnvelope {
            body: ResponseBody::Response(r),
            ..
        }) => {
            format!(
                "{}Response with {} message(s)",
                r.operation,
                r.response_messages.len()
            )
        }
    };
    match &expect.answer {
        ExpectedAnswer::Status => {}
        ExpectedAnswer::Fault(codes) => {
            let got = observed
                .envelope
                .as_ref()
                .ok()
                .and_then(|e| e.fault())
                .and_then(|f| f.response_code());
            if !got.is_some_and(|c| codes.contains(&c)) {
                out.push(finding(
                    "fault",
                    format!("SOAP Fault {}", join_codes(codes)),
                    describe(&observed.envelope),
                ));
            }
        }
        ExpectedAnswer::Messages(expected) => match &observed.envelope {
            Ok(ResponseEnvelope {
                body: ResponseBody::Response(r),
                ..
            }) => {
                // A request-level error every ItemId expects may come once for the whole request.
                let expected = match expected.as_slice() {
                    [first, rest @ ..]
                        if answered_once(&r.response_messages, expected.len())
                            && rest.iter().all(|w| w == first) =>
                    {
                        &expected[..1]
                    }
                    _ => expected.as_slice(),
                };
                for (i, want) in expected.iter().enumerate() {
                    let Some(got) = r.response_messages.get(i) else {
                        out.push(finding(
                            format!("message {}", i + 1),
                            describe_expected(want.class, &want.codes),
                            "missing",
                        ));
                        continue;
                    };
                    let code_ok = got.response_code.is_some_and(|c| want.codes.contains(&c));
                    if got.response_class != want.class || !code_ok {
                        out.push(finding(
                            format!("message {}", i + 1),
                            describe_expected(want.class, &want.codes),
                            format!(
                                "{} {}{}",
                                got.response_class,
                                got.response_code.map_or("(no code)", |c| c.as_str()),
                                got.message_text
                                    .as_deref()
                                    .map(|t| format!(" \"{t}\""))
                                    .unwrap_or_default()
                            ),
                        ));
                    }
                }
            }
            other => out.push(finding(
                "answer",
                format!("{} response message(s)", expected.len()),
                describe(other),
            )),
        },
    }
    out
}

fn join_codes(codes: &[ResponseCode]) -> String {
    codes
        .iter()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join(" or ")
}

fn describe_expected(class: ResponseClass, codes: &[ResponseCode]) -> String {
    format!("{class} {}", join_codes(codes))
}

/// Evaluates state expectations against what was found.
pub fn state_checks(
    expected: &[StateExpectation],
    observed: &Observed,
    tokens: Tokens<'_>,
    addresses: Addresses<'_>,
) -> Vec<StateCheck> {
    // Sentences about one item come together: its token is made once for them.
    let mut token: Option<(&str, String)> = None;
    expected
        .iter()
        .map(|e| {
            if token.as_ref().is_none_or(|(item, _)| *item != e.item()) {
                token = Some((e.item(), tokens(e.item())));
            }
            let token = token.as_ref().map_or("", |(_, t)| t.as_str());
            let (held, seen, found) = match observed.folders.get(&(e.owner, e.folder)) {
                None => (false, "not observed".to_owned(), None),
                Some(Err(why)) => (false, format!("could not look: {why}"), None),
                Some(Ok(items)) => {
                    let originals = match &e.kind {
                        StateKind::Gets { .. } => message_ids(observed, token),
                        StateKind::ContainsThreaded { original, .. } => {
                            message_ids(observed, &tokens(original))
                        }
                        _ => Vec::new(),
                    };
                    let (held, seen, n) = evaluate(e, items, token, &originals, addresses);
                    (held, seen, Some(n))
                }
            };
            StateCheck {
                expectation: e.text.clone(),
                observed: seen,
                held,
                place: (e.owner, e.folder),
                found,
            }
        })
        .collect()
}

/// The Message-IDs of the messages that carry `token`, wherever they were seen: a report may
/// name its original by its Message-ID alone.
fn message_ids<'a>(observed: &'a Observed, token: &str) -> Vec<&'a str> {
    let mut ids: Vec<&str> = observed
        .folders
        .values()
        .flat_map(|found| found.iter().flatten())
        .chain(&observed.sent_in_setup)
        .filter(|i| i.is_copy_of(token))
        .filter_map(|i| i.internet_message_id.as_deref())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Whether `e` holds over `items`, what was seen, and how many matching items there were.
/// `originals` are the Message-IDs of the messages `token` names, for reports.
fn evaluate(
    e: &StateExpectation,
    items: &[FoundItem],
    token: &str,
    originals: &[&str],
    addresses: Addresses<'_>,
) -> (bool, String, usize) {
    // Most folders hold none or one: those counts are spelled without the formatter.
    let plural = |n: usize, what: &str| match n {
        0 => ["0 ", what, "s"].concat(),
        1 => ["1 ", what].concat(),
        n => format!("{n} {what}s"),
    };
    match &e.kind {
        StateKind::Contains(_) | StateKind::Lacks(_) => {
            let n = items.iter().filter(|i| i.is_copy_of(token)).count();
            let held = if matches!(e.kind, StateKind::Contains(_)) {
                n == 1
            } else {
                n == 0
            };
            (held, plural(n, "item"), n)
        }
        StateKind::ContainsThreaded { .. } | StateKind::ContainsMarked { .. } => {
            let own: Vec<&FoundItem> = items.iter().filter(|i| i.is_copy_of(token)).collect();
            let [only] = own.as_slice() else {
                return (false, plural(own.len(), "item"), own.len());
            };
            let (held, seen) = match &e.kind {
                StateKind::ContainsMarked { verb, .. } => match only.last_verb {
                    Some(code) => (
                        code == verb.last_verb_executed(),
                        format!("1 item, last verb {code}"),
                    ),
                    None => (false, "1 item, no last verb recorded".to_owned()),
                },
                _ => {
                    let refs = only.references.as_deref().unwrap_or_default();
                    let threaded = refs.split_whitespace().any(|id| originals.contains(&id));
                    let seen = if threaded {
                        "1 item, threaded to it".to_owned()
                    } else if originals.is_empty() {
                        "1 item; no Message-ID of the original was seen".to_owned()
                    } else if refs.is_empty() {
                        "1 item, with no In-Reply-To or References".to_owned()
                    } else {
                        format!("1 item, In-Reply-To/References {refs}")
                    };
                    (threaded, seen)
                }
            };
            (held, seen, 1)
        }
        StateKind::Gets { report, naming, .. } => {
            let kind = *report;
            let reports: Vec<Report<'_>> = items
                .iter()
                .filter_map(Report::read)
                .filter(|r| r.is(kind) && r.is_about(token, originals))
                .collect();
            let kind_name = report::kind_name(kind);
            let [only] = reports.as_slice() else {
                return (false, plural(reports.len(), kind_name), reports.len());
            };
            let missing: Vec<String> = naming
                .iter()
                .filter_map(|r| addresses(*r))
                .filter(|a| !only.names(a, kind))
                .collect();
            if missing.is_empty() {
                (true, format!("1 {kind_name}"), 1)
            } else {
                (
                    false,
                    format!("1 {kind_name}, not naming {}", missing.join(", ")),
                    1,
                )
            }
        }
    }
}

fn all_findings(expect: &Expectation, observed: &Observed, state: &[StateCheck]) -> Vec<Finding> {
    let mut out = answer_findings(expect, observed);
    out.extend(state.iter().filter(|s| !s.held).map(state_finding));
    out
}

/// The finding a state sentence that did not hold makes.
fn state_finding(s: &StateCheck) -> Finding {
    finding(
        format!("state {}", s.expectation),
        s.expectation.clone(),
        s.observed.clone(),
    )
}

/// Whether the intended expectation holds, else the quirk's, else neither.
pub fn judge(
    case: &Case,
    observed: &Observed,
    tokens: Tokens<'_>,
    addresses: Addresses<'_>,
) -> Judgement {
    let protocol = protocol_findings(observed);
    let state = state_checks(&case.expect.state, observed, tokens, addresses);
    let mut findings = protocol.clone();
    findings.extend(all_findings(&case.expect, observed, &state));
    locate(&mut findings, &case.expect.lines, &state);
    // The documented deviation's sentences matter only when the intent did not hold.
    let quirk_state = match &case.quirk {
        Some(q) if !findings.is_empty() => {
            state_checks(&q.expect.state, observed, tokens, addresses)
        }
        _ => Vec::new(),
    };
    let (verdict, reason) = match &case.quirk {
        _ if findings.is_empty() => (Verdict::Pass, None),
        Some(q)
            if protocol.is_empty()
                && all_findings(&q.expect, observed, &quirk_state).is_empty() =>
        {
            (
                Verdict::Quirk,
                Some(format!("{} ({})", q.name, q.reference)),
            )
        }
        _ => match unwrapped(observed) {
            // The protocol checks hold of the unwrapped answer too (a request-level code
            // wrapped once for the whole request).
            Some(inner)
                if protocol_findings(&inner).is_empty()
                    && (holds_unwrapped(&case.expect, &inner, tokens, addresses)
                        || case.quirk.as_ref().is_some_and(|q| {
                            holds_unwrapped(&q.expect, &inner, tokens, addresses)
                        })) =>
            {
                (Verdict::Quirk, Some(WRAPPED_ERROR.to_owned()))
            }
            _ => (Verdict::Fail, None),
        },
    };
    Judgement {
        verdict,
        reason,
        findings,
        checks: PROTOCOL_CHECKS + 1 + state.len(),
        state,
        quirk_state,
        answer: observed.summary(),
    }
}

/// Points each finding at the line of the case file that states what it checks: a message at
/// its entry, a state sentence at its own line, the status and the fault at theirs, and anything
/// else (the schema, the Content-Type) at the `[expect]` table.
fn locate(findings: &mut [Finding], lines: &ExpectLines, state: &[StateCheck]) {
    for f in findings {
        let message = f
            .check
            .strip_prefix("message ")
            .and_then(|rest| rest.split(' ').next()?.parse::<usize>().ok());
        let specific = if let Some(n) = message {
            n.checked_sub(1)
                .and_then(|i| lines.messages.get(i).copied())
        } else if let Some(sentence) = f.check.strip_prefix("state ") {
            state
                .iter()
                .position(|s| s.expectation == sentence)
                .and_then(|i| lines.state.get(i).copied())
        } else {
            match f.check.as_str() {
                "http status" => lines.http_status,
                "fault" => lines.fault,
                "answer" => lines.messages.first().copied().or(lines.fault),
                _ => None,
            }
        };
        f.line = specific.or(lines.table);
    }
}

/// The reason a `quirk` gives when the expected code came wrapped in `ErrorInternalServerError`.
pub const WRAPPED_ERROR: &str = "exchange-online-wrapped-error (ErrorInternalServerError with the \
     real code in MessageXml/Value[@Name=\"InnerErrorResponseCode\"], as Exchange Online answers \
     and as exchangelib, ews-javascript-api and the EWS Managed API read it)";

/// The observation with every `ErrorInternalServerError` message that names an inner code in
/// `MessageXml` carrying that code instead; `None` when no message was wrapped.
fn unwrapped(observed: &Observed) -> Option<Observed> {
    let Ok(ResponseEnvelope {
        body: ResponseBody::Response(r),
        ..
    }) = &observed.envelope
    else {
        return None;
    };
    let mut response = r.clone();
    let mut any = false;
    for m in &mut response.response_messages {
        if m.response_code == Some(ResponseCode::ErrorInternalServerError)
            && let Some(inner) = m.inner_error_response_code()
        {
            m.response_code = Some(inner);
            any = true;
        }
    }
    any.then(|| {
        let mut inner = observed.clone();
        if let Ok(e) = &mut inner.envelope {
            e.body = ResponseBody::Response(response);
        }
        inner
    })
}

/// True when `expect` holds, answer and state, over `observed`.
fn holds_unwrapped(
    expect: &Expectation,
    observed: &Observed,
    tokens: Tokens<'_>,
    addresses: Addresses<'_>,
) -> bool {
    let state = state_checks(&expect.state, observed, tokens, addresses);
    all_findings(expect, observed, &state).is_empty()
}

/// How many checks [`protocol_findings`] makes: schema, the Content-Type, a 5xx carries a fault,
/// one message per ItemId, and ResponseClass agrees with ResponseCode.
pub const PROTOCOL_CHECKS: usize = 5;

/// True when the observation settles the case: the intended state holds, or the quirk's does,
/// and each `lacks` sentence among them watches a place in `confirmed`, where the runner's
/// marker has arrived (an absence seen before then proves nothing). The runner polls until
/// then, or until the case's poll timeout.
pub fn settled(
    case: &Case,
    observed: &Observed,
    tokens: Tokens<'_>,
    addresses: Addresses<'_>,
    confirmed: &BTreeSet<(Role, FolderName)>,
) -> bool {
    let holds = |expected: &[StateExpectation]| {
        expected.iter().all(|e| {
            !matches!(e.kind, StateKind::Lacks(_)) || confirmed.contains(&(e.owner, e.folder))
        }) && state_checks(expected, observed, tokens, addresses)
            .iter()
            .all(|s| s.held)
    };
    holds(&case.expect.state) || case.quirk.as_ref().is_some_and(|q| holds(&q.expect.state))
}

/// Takes back the absences the runner could not confirm: each `lacks` sentence that held over a
/// place in `unconfirmed` (with why) is not held, and a `pass` or `quirk` that rested on it
/// becomes `error` with the reason "cannot confirm absence: …". A `fail` stays `fail`: what did
/// not hold was seen.
pub fn confirm_absence(
    case: &Case,
    judgement: &mut Judgement,
    unconfirmed: &BTreeMap<(Role, FolderName), String>,
) {
    let mut first_reason: Option<&String> = None;
    // Each check taken back, as a finding.
    let mut take_back = |expected: &[StateExpectation], checks: &mut [StateCheck]| {
        let mut taken = Vec::new();
        for (e, check) in expected.iter().zip(checks) {
            let why = unconfirmed.get(&(e.owner, e.folder));
            if let (StateKind::Lacks(_), true, Some(why)) = (&e.kind, check.held, why) {
                check.held = false;
                check.observed = format!("{}, but {why}", check.observed);
                first_reason.get_or_insert(why);
                taken.push(state_finding(check));
            }
        }
        taken
    };
    let taken = take_back(&case.expect.state, &mut judgement.state);
    let intended = !taken.is_empty();
    judgement.findings.extend(taken);
    let quirk = case
        .quirk
        .as_ref()
        .is_some_and(|q| !take_back(&q.expect.state, &mut judgement.quirk_state).is_empty());
    // A quirk rests on the quirk's state, or (wrapped codes) on either expectation.
    let rested_on_it = match judgement.verdict {
        Verdict::Pass => intended,
        Verdict::Quirk if judgement.reason.as_deref() == Some(WRAPPED_ERROR) => intended || quirk,
        Verdict::Quirk => quirk,
        _ => false,
    };
    if let (true, Some(why)) = (rested_on_it, first_reason) {
        judgement.verdict = Verdict::Error;
        judgement.reason = Some(why.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A SendItemResponse carrying `messages` (each a `m:SendItemResponseMessage` element).
    fn send_item_response(messages: &str) -> Vec<u8> {
        format!(
            r#"<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">
  <s:Body>
    <m:SendItemResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"
        xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">
      <m:ResponseMessages>{messages}</m:ResponseMessages>
    </m:SendItemResponse>
  </s:Body>
</s:Envelope>"#
        )
        .into_bytes()
    }

    fn error_message(code: &str) -> String {
        format!(
            r#"<m:SendItemResponseMessage ResponseClass="Error"><m:MessageText>x</m:MessageText><m:ResponseCode>{code}</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey></m:SendItemResponseMessage>"#
        )
    }

    /// Exchange Online's wrapping: ErrorInternalServerError, the real code in MessageXml.
    fn wrapped_message(inner: &str) -> String {
        format!(
            r#"<m:SendItemResponseMessage ResponseClass="Error"><m:MessageText>An internal server error occurred. The operation failed.</m:MessageText><m:ResponseCode>ErrorInternalServerError</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey><m:MessageXml><t:Value Name="InnerErrorResponseCode">{inner}</t:Value><t:Value Name="InnerErrorMessageText">x</t:Value></m:MessageXml></m:SendItemResponseMessage>"#
        )
    }

    fn observe(body: &[u8], item_count: usize) -> Observed {
        let schemas = SchemaSet::embedded().expect("the project's schemas compile");
        Observed::answer(200, body, schemas, Some(item_count))
    }

    fn case(text: &str) -> Case {
        crate::case::parse_case(std::path::Path::new("t/case.toml"), text, "t")
            .unwrap_or_else(|e| panic!("{e}"))
    }

    const HEAD: &str = r#"
id = "t/case"
title = "t"
reference = "t"
section = "MS-OXWSCORE 3.1.4.8"
[[setup]]
name = "a"
owner = "principal"
to = ["recipient"]
[[setup]]
name = "b"
owner = "principal"
to = ["recipient"]
[request]
as = "principal"
save_item_to_folder = false
item_ids = ["a", "b"]
saved_item_folder_id = "sentitems"
"#;

    fn judged(case: &Case, observed: &Observed) -> Judgement {
        judge(case, observed, &|n: &str| n.to_owned(), &|_| None)
    }

    #[test]
    fn one_message_with_a_request_level_code_answers_every_item_id() {
        let once = observe(
            &send_item_response(&error_message("ErrorInvalidSendItemSaveSettings")),
            2,
        );
        assert!(once.schema_errors.is_empty(), "{:?}", once.schema_errors);
        assert_eq!(protocol_findings(&once), []);
        let c = case(&format!(
            "{HEAD}[expect]\nmessages = [{{ class = \"Error\", code = \"ErrorInvalidSendItemSaveSettings\" }}, {{ class = \"Error\", code = \"ErrorInvalidSendItemSaveSettings\" }}]\n"
        ));
        let j = judged(&c, &once);
        assert_eq!(j.verdict, Verdict::Pass, "{:?}", j.findings);
        // One per ItemId still passes.
        let each = observe(
            &send_item_response(&error_message("ErrorInvalidSendItemSaveSettings").repeat(2)),
            2,
        );
        assert_eq!(judged(&c, &each).verdict, Verdict::Pass);
    }

    #[test]
    fn one_message_with_an_item_level_code_for_two_item_ids_is_a_protocol_failure() {
        let once = observe(&send_item_response(&error_message("ErrorItemNotFound")), 2);
        let findings = protocol_findings(&once);
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings[0].check, "one message per ItemId");
        // Nor does one request-level message stand for two different expectations.
        let c = case(&format!(
            "{HEAD}[expect]\nmessages = [{{ class = \"Error\", code = \"ErrorItemNotFound\" }}, {{ class = \"Error\", code = \"ErrorItemNotFound\" }}]\n"
        ));
        assert_eq!(judged(&c, &once).verdict, Verdict::Fail);
        let mixed = case(&format!(
            "{HEAD}[expect]\nmessages = [{{ class = \"Error\", code = \"ErrorInvalidSendItemSaveSettings\" }}, {{ class = \"Success\", code = \"NoError\" }}]\n"
        ));
        let once = observe(
            &send_item_response(&error_message("ErrorInvalidSendItemSaveSettings")),
            2,
        );
        assert_eq!(judged(&mixed, &once).verdict, Verdict::Fail);
    }

    #[test]
    fn a_wrapped_expected_code_is_a_quirk_naming_the_wrapping() {
        let wrapped = observe(
            &send_item_response(&wrapped_message("ErrorInvalidSendItemSaveSettings").repeat(2)),
            2,
        );
        assert!(
            wrapped.schema_errors.is_empty(),
            "{:?}",
            wrapped.schema_errors
        );
        let m = match &wrapped.envelope {
            Ok(ResponseEnvelope {
                body: ResponseBody::Response(r),
                ..
            }) => r.response_messages[0].clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            m.inner_error_response_code(),
            Some(ResponseCode::ErrorInvalidSendItemSaveSettings)
        );
        let c = case(&format!(
            "{HEAD}[expect]\nmessages = [{{ class = \"Error\", code = \"ErrorInvalidSendItemSaveSettings\" }}, {{ class = \"Error\", code = \"ErrorInvalidSendItemSaveSettings\" }}]\n"
        ));
        let j = judged(&c, &wrapped);
        assert_eq!(j.verdict, Verdict::Quirk, "{:?}", j.findings);
        assert!(
            j.reason
                .as_deref()
                .is_some_and(|r| r.starts_with("exchange-online-wrapped-error (")),
            "{:?}",
            j.reason
        );
        // Wrapped once for the whole request, as a request-level error may come.
        let once = observe(
            &send_item_response(&wrapped_message("ErrorInvalidSendItemSaveSettings")),
            2,
        );
        assert_eq!(judged(&c, &once).verdict, Verdict::Quirk);
        // A wrapped code that is not the expected one still fails, and so does a bare
        // ErrorInternalServerError.
        let other = observe(
            &send_item_response(&wrapped_message("ErrorItemNotFound").repeat(2)),
            2,
        );
        assert_eq!(judged(&c, &other).verdict, Verdict::Fail);
        let bare = observe(
            &send_item_response(&error_message("ErrorInternalServerError").repeat(2)),
            2,
        );
        assert_eq!(judged(&c, &bare).verdict, Verdict::Fail);
    }

    #[test]
    fn class_and_code_must_agree() {
        assert!(class_agrees(
            ResponseClass::Success,
            Some(ResponseCode::NoError)
        ));
        assert!(!class_agrees(
            ResponseClass::Success,
            Some(ResponseCode::ErrorItemNotFound)
        ));
        assert!(!class_agrees(
            ResponseClass::Error,
            Some(ResponseCode::NoError)
        ));
        assert!(!class_agrees(ResponseClass::Error, None));
        assert!(class_agrees(
            ResponseClass::Warning,
            Some(ResponseCode::ErrorBatchProcessingStopped)
        ));
    }

    #[test]
    fn soap_answers_must_come_as_text_xml_and_http_pages_may_not() {
        let findings = |status: u16, content_type: ContentType| {
            let body = send_item_response(&error_message("ErrorInvalidIdMalformed"));
            let mut observed = observe(&body, 1);
            observed.status = status;
            observed.content_type = content_type;
            protocol_findings(&observed)
                .into_iter()
                .filter(|f| f.check == "content type")
                .map(|f| f.actual)
                .collect::<Vec<_>>()
        };
        let header = |value: &str| ContentType::Header(value.to_owned());
        assert!(findings(200, header("text/xml; charset=utf-8")).is_empty());
        assert!(findings(200, header(" TEXT/XML ;charset=\"utf-8\"")).is_empty());
        assert!(findings(200, ContentType::Unknown).is_empty());
        assert_eq!(
            findings(200, header("application/json")),
            ["Content-Type: application/json"]
        );
        assert_eq!(
            findings(500, header("text/xmlx")),
            ["Content-Type: text/xmlx"]
        );
        assert_eq!(findings(200, ContentType::Missing), ["no Content-Type"]);
        // A SOAP envelope is SOAP whatever the status; a page that is no envelope is not.
        assert_eq!(
            findings(400, header("text/html")),
            ["Content-Type: text/html"]
        );
        let mut page = Observed::answer(
            415,
            b"415 Unsupported Media Type",
            SchemaSet::embedded().expect("the project's schemas compile"),
            None,
        );
        page.content_type = header("text/plain");
        assert!(
            protocol_findings(&page).is_empty(),
            "{:?}",
            protocol_findings(&page)
        );
    }
}
