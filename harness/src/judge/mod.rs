//! The oracle: from what a case expects and what the target did, a graded verdict with the
//! reasons. Pure functions: the runner observes, the judge decides.
//!
//! Some checks hold for every case whatever it expects, because the protocol demands them: the
//! response is schema-valid, a 5xx carries a SOAP Fault, there is one response message per
//! ItemId, and each message's ResponseClass agrees with its ResponseCode. A documented quirk
//! never excuses those.

use std::collections::BTreeMap;

use crate::case::{
    Case, Expectation, ExpectedAnswer, FolderName, Role, StateExpectation, StateKind,
};
use crate::ews::{ResponseBody, ResponseClass, ResponseCode, ResponseEnvelope};
use crate::run::{Finding, StateCheck, Verdict};

/// An item found in a folder while observing state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundItem {
    /// Its subject.
    pub subject: String,
    /// Its item class.
    pub item_class: String,
    /// Its body, when it was read (reports whose recipients are checked).
    pub body: Option<String>,
}

/// Everything the runner saw of the request under test and the state after it.
#[derive(Debug, Clone)]
pub struct Observed {
    /// HTTP status.
    pub status: u16,
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
        if let Some(n) = observed.item_count {
            if r.response_messages.len() != n {
                out.push(finding(
                    "one message per ItemId",
                    format!("{n} response message(s), one per ItemId"),
                    format!("{} response message(s)", r.response_messages.len()),
                ));
            }
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

fn answer_findings(expect: &Expectation, observed: &Observed) -> Vec<Finding> {
    let mut out = Vec::new();
    if observed.status != expect.http_status {
        out.push(finding(
            "http status",
            expect.http_status.to_string(),
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
    expected
        .iter()
        .map(|e| {
            let (held, seen) = match observed.folders.get(&(e.owner, e.folder)) {
                None => (false, "not observed".to_owned()),
                Some(Err(why)) => (false, format!("could not look: {why}")),
                Some(Ok(items)) => evaluate(e, items, tokens, addresses),
            };
            StateCheck {
                expectation: e.text.clone(),
                observed: seen,
                held,
            }
        })
        .collect()
}

fn evaluate(
    e: &StateExpectation,
    items: &[FoundItem],
    tokens: Tokens<'_>,
    addresses: Addresses<'_>,
) -> (bool, String) {
    let token = tokens(e.item());
    let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    match &e.kind {
        StateKind::Contains(_) | StateKind::Lacks(_) => {
            let n = items
                .iter()
                .filter(|i| !i.item_class.starts_with("REPORT.") && i.subject.contains(&token))
                .count();
            let held = if matches!(e.kind, StateKind::Contains(_)) {
                n == 1
            } else {
                n == 0
            };
            (held, plural(n, "item"))
        }
        StateKind::Gets { report, naming, .. } => {
            let reports: Vec<&FoundItem> = items
                .iter()
                .filter(|i| i.item_class == report.item_class() && i.subject.contains(&token))
                .collect();
            let kind = if report.item_class().ends_with("NDR") {
                "NDR"
            } else {
                "DR"
            };
            let [only] = reports.as_slice() else {
                return (false, plural(reports.len(), kind));
            };
            let body = only.body.as_deref().unwrap_or("").to_ascii_lowercase();
            let missing: Vec<String> = naming
                .iter()
                .filter_map(|r| addresses(*r))
                .filter(|a| !body.contains(&a.to_ascii_lowercase()))
                .collect();
            if missing.is_empty() {
                (true, format!("1 {kind}"))
            } else {
                (
                    false,
                    format!("1 {kind}, not naming {}", missing.join(", ")),
                )
            }
        }
    }
}

fn all_findings(expect: &Expectation, observed: &Observed, state: &[StateCheck]) -> Vec<Finding> {
    let mut out = answer_findings(expect, observed);
    out.extend(state.iter().filter(|s| !s.held).map(|s| {
        finding(
            format!("state {}", s.expectation),
            s.expectation.clone(),
            s.observed.clone(),
        )
    }));
    out
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
    if findings.is_empty() {
        return Judgement {
            verdict: Verdict::Pass,
            reason: None,
            findings,
            state,
        };
    }
    if let Some(q) = &case.quirk {
        let quirk_state = state_checks(&q.expect.state, observed, tokens, addresses);
        if protocol.is_empty() && all_findings(&q.expect, observed, &quirk_state).is_empty() {
            return Judgement {
                verdict: Verdict::Quirk,
                reason: Some(format!("{} ({})", q.name, q.reference)),
                findings,
                state,
            };
        }
    }
    Judgement {
        verdict: Verdict::Fail,
        reason: None,
        findings,
        state,
    }
}

/// True when the observation settles the case: the intended state holds, or the quirk's does.
/// The runner polls until then, or until the case's poll timeout.
pub fn settled(
    case: &Case,
    observed: &Observed,
    tokens: Tokens<'_>,
    addresses: Addresses<'_>,
) -> bool {
    let holds = |expected: &[StateExpectation]| {
        state_checks(expected, observed, tokens, addresses)
            .iter()
            .all(|s| s.held)
    };
    holds(&case.expect.state) || case.quirk.as_ref().is_some_and(|q| holds(&q.expect.state))
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
