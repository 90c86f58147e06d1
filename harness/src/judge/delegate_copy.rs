//! The delegate Sent Items quirk as a table: each delegate case's outcome compared with what the
//! SendItem reference documents and what the request intended.
//!
//! Reference: <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/senditem>

use serde::Serialize;

use super::{StateCheck, Verdict};
use crate::case::{Expectation, ExpectedAnswer, FolderName, Role, StateKind};
use crate::ews::ResponseCode;

/// Where a draft or its copy can be, in a quirk reproduction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Place {
    /// The principal's Drafts.
    PrincipalDrafts,
    /// The delegate's Drafts.
    DelegateDrafts,
    /// The principal's Sent Items.
    PrincipalSentItems,
    /// The delegate's Sent Items.
    DelegateSentItems,
}

impl Place {
    /// How reports name the place.
    pub const fn label(self) -> &'static str {
        match self {
            Place::PrincipalDrafts => "principal's Drafts",
            Place::DelegateDrafts => "delegate's Drafts",
            Place::PrincipalSentItems => "principal's Sent Items",
            Place::DelegateSentItems => "delegate's Sent Items",
        }
    }
}

/// What one scenario did (or is documented or intended to do).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuirkObservation {
    /// `ResponseClass ResponseCode` of the SendItem response, or what came instead.
    pub response: String,
    /// Whether the recipient got the message.
    pub delivered: bool,
    /// Where the draft is afterwards; empty when it is gone.
    pub draft: Vec<Place>,
    /// Where a copy landed; empty when there is none.
    pub copy: Vec<Place>,
    /// False when no folder could be looked into (the scenario stopped before, or every look
    /// failed): then `delivered`, `draft` and `copy` say nothing.
    pub state_known: bool,
}

impl QuirkObservation {
    /// One line: response, delivery, draft and copy.
    pub fn describe(&self) -> String {
        let places = |p: &[Place], none: &str| {
            if p.is_empty() {
                none.to_owned()
            } else {
                p.iter()
                    .map(|p| p.label())
                    .collect::<Vec<_>>()
                    .join(" and ")
            }
        };
        if !self.state_known {
            return format!("{}; state not observed", self.response);
        }
        format!(
            "{}; {}; draft: {}; copy: {}",
            self.response,
            if self.delivered {
                "delivered"
            } else {
                "not delivered"
            },
            places(&self.draft, "gone"),
            places(&self.copy, "none")
        )
    }
}

/// How a scenario's observed behaviour compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum QuirkVerdict {
    /// It matches the documented quirk (and not the intent).
    Reproduced,
    /// It matches what the request intended.
    Fixed,
    /// Neither; the row spells out the difference.
    Different,
}

impl QuirkVerdict {
    /// The verdict's name in reports.
    pub const fn name(self) -> &'static str {
        match self {
            QuirkVerdict::Reproduced => "reproduced",
            QuirkVerdict::Fixed => "fixed",
            QuirkVerdict::Different => "different",
        }
    }
}

/// One scenario of a quirk reproduction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuirkRow {
    /// Short name: `A`, `A-workaround`, `B`, `control-principal`, `control-no-save`.
    pub scenario: String,
    /// What the scenario does.
    pub description: String,
    /// The exact SendItem request sent, ready to paste into a bug report.
    pub request: String,
    /// What the SendItem reference documents Exchange doing.
    pub documented: QuirkObservation,
    /// What the request asked for.
    pub intended: QuirkObservation,
    /// What this target did.
    pub observed: QuirkObservation,
    /// The comparison.
    pub verdict: QuirkVerdict,
    /// For `different`, how the observation differs from both.
    pub difference: Option<String>,
    /// For `different`, why in one line: the step that failed or could not be read, or the
    /// checks that did not hold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// For `different`, the exchange the reason rests on: the step that failed, or else the
    /// SendItem under test.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exchange: Option<QuirkExchange>,
    /// For a row that stopped at a failed step (`error` or `skip`), why that step failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<SetupFailure>,
}

/// One HTTP exchange a row points at, as sent and as answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuirkExchange {
    /// What the exchange was, e.g. `SendItem (under test)` or `setup: CreateItem`.
    pub step: String,
    /// The account that sent it.
    pub account: String,
    /// The request body as sent.
    pub request: String,
    /// HTTP status, if a response came.
    pub status: Option<u16>,
    /// The response body, if a response came.
    pub response: Option<String>,
}

/// Whether a right the scenarios need could be confirmed before they ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PreconditionStatus {
    /// The target showed that the delegate holds it.
    Held,
    /// The target refused it with a permission error.
    Missing,
    /// The target's answer did not tell (transport, authentication, an unreadable answer).
    Unknown,
}

/// Why a step made before the request under test failed: a rights check, or a step a scenario
/// needs (creating its draft, looking into a folder). Only [`SetupFailure::Permission`] says
/// that the delegate lacks a right; the others say nothing about rights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SetupFailure {
    /// No answer: the server could not be reached, did not answer in time, or the connection
    /// broke.
    Transport,
    /// HTTP 401 or 403 without an EWS permission error: the server did not accept the
    /// credentials.
    Authentication,
    /// An HTTP redirect (3xx), which the harness does not follow.
    Redirect,
    /// An answer that is not an EWS response.
    Malformed,
    /// An EWS response code that refuses a right ([`PERMISSION_CODES`]).
    Permission,
    /// Another EWS error or SOAP Fault.
    EwsError,
}

/// The response codes that mean the calling account lacks a right, as opposed to any other
/// failure. The ResponseCode reference has `ErrorAccessDenied` for a calling account without
/// the rights to the action, `ErrorSendAsDenied` for a sender without the right to send as (or
/// on behalf of) the mailbox, and `ErrorCreateItemAccessDenied` for a caller without permission
/// to create the item; "Handling delegation-related errors in EWS" has `ErrorNotDelegate` for a
/// user with no delegate rights on the mailbox. The other `ErrorDelegate…` codes
/// (`ErrorDelegateNoUser`, `ErrorDelegateValidationFailed`, `ErrorInvalidDelegatePermission`,
/// …) are about managing delegates (AddDelegate, UpdateDelegate), which the harness never does,
/// and `ErrorImpersonateUserDenied` and `ErrorImpersonationDenied` about impersonation, which
/// the quirk does not use.
///
/// References:
/// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/responsecode>,
/// <https://learn.microsoft.com/en-us/exchange/client-developer/exchange-web-services/handling-delegation-related-errors-in-ews-in-exchange>
pub const PERMISSION_CODES: [ResponseCode; 4] = [
    ResponseCode::ErrorAccessDenied,
    ResponseCode::ErrorSendAsDenied,
    ResponseCode::ErrorCreateItemAccessDenied,
    ResponseCode::ErrorNotDelegate,
];

impl SetupFailure {
    /// Why a step failed, from what came back: `status` is the HTTP status (`None`: no answer
    /// came), `ews` the answer read as EWS (`None`: it is not an EWS response; otherwise every
    /// response code it carries, a SOAP Fault's included). `None` when the answer shows no
    /// failure (a 2xx EWS answer with no error code).
    pub fn classify(status: Option<u16>, ews: Option<&[ResponseCode]>) -> Option<Self> {
        let Some(status) = status else {
            return Some(Self::Transport);
        };
        let errors: Option<Vec<ResponseCode>> = ews.map(|codes| {
            codes
                .iter()
                .copied()
                .filter(|c| *c != ResponseCode::NoError)
                .collect()
        });
        if errors
            .iter()
            .flatten()
            .any(|c| PERMISSION_CODES.contains(c))
        {
            return Some(Self::Permission);
        }
        match (status, errors) {
            (300..=399, _) => Some(Self::Redirect),
            (401 | 403, _) => Some(Self::Authentication),
            (_, None) => Some(Self::Malformed),
            // An EWS answer with no error code is a failure only when the status says so.
            (200..=299, Some(errors)) if errors.is_empty() => None,
            (_, Some(_)) => Some(Self::EwsError),
        }
    }

    /// One phrase for reports: what kind of failure, and what to check.
    pub const fn describe(self) -> &'static str {
        match self {
            Self::Transport => {
                "no answer (the server could not be reached, did not answer in time, or the connection broke)"
            }
            Self::Authentication => {
                "authentication failed (HTTP 401 or 403 without an EWS answer: check the account's credentials in the target file)"
            }
            Self::Redirect => {
                "redirected (HTTP 3xx, not followed: set url to the EWS endpoint the server redirects to)"
            }
            Self::Malformed => "malformed answer (not an EWS response)",
            Self::Permission => "permission error (the account lacks a right)",
            Self::EwsError => "EWS error (not a permission error)",
        }
    }
}

/// How to grant `delegate` the rights the scenarios need on `principal`'s mailbox, in the
/// Exchange Management Shell: Editor on Drafts and Sent Items, and SendOnBehalf.
///
/// References:
/// <https://learn.microsoft.com/en-us/powershell/module/exchange/add-mailboxfolderpermission>,
/// <https://learn.microsoft.com/en-us/powershell/module/exchange/set-mailbox>
pub fn permission_advice(principal: &str, delegate: &str) -> String {
    let (p, d) = (principal, delegate);
    format!(
        "  Add-MailboxFolderPermission -Identity {p}:\\Drafts -User {d} -AccessRights Editor\n  \
         Add-MailboxFolderPermission -Identity \"{p}:\\Sent Items\" -User {d} -AccessRights Editor\n  \
         Set-Mailbox -Identity {p} -GrantSendOnBehalfTo @{{Add=\"{d}\"}}"
    )
}

/// One right the delegate needs on the principal's mailbox, and what the check found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Precondition {
    /// The right, e.g. `send on behalf of the principal (SendOnBehalf)`.
    pub right: String,
    /// What the check found.
    pub status: PreconditionStatus,
    /// For `missing` and `unknown`, the answer that decided it, after what kind of failure it
    /// was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// For `missing` and `unknown`, why the check failed; `missing` exactly when this is
    /// [`SetupFailure::Permission`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<SetupFailure>,
}

/// The result of `ewsconf quirk`: one row per scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuirkReport {
    /// The quirk's name, e.g. `delegate-copy`.
    pub name: String,
    /// Where it is documented.
    pub reference: String,
    /// The scenarios.
    pub rows: Vec<QuirkRow>,
    /// The delegate's rights, as checked before the scenarios ran.
    pub preconditions: Vec<Precondition>,
    /// How to grant the delegate its rights, given only when a scenario's step was refused with
    /// a permission error ([`SetupFailure::Permission`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advice: Option<String>,
}

impl QuirkReport {
    /// The preconditions that could not be checked (`unknown`), in order.
    pub fn unknown_preconditions(&self) -> Vec<&Precondition> {
        self.preconditions
            .iter()
            .filter(|p| p.status == PreconditionStatus::Unknown)
            .collect()
    }

    /// The table as Markdown, as the terminal prints it and the README quotes it.
    pub fn markdown(&self) -> String {
        let mut out = String::from(
            "| scenario | documented (SendItem reference) | intended by the request | this target | verdict |\n|---|---|---|---|---|\n",
        );
        for r in &self.rows {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                r.scenario,
                r.documented.describe(),
                r.intended.describe(),
                r.observed.describe(),
                r.verdict.name()
            ));
        }
        let different: Vec<_> = self
            .rows
            .iter()
            .filter_map(|r| Some((r, r.reason.as_ref()?)))
            .collect();
        if !different.is_empty() {
            out.push_str("\nWhy the different rows differ:\n");
            for (r, reason) in different {
                let step = r.exchange.as_ref().map_or_else(String::new, |e| {
                    format!(
                        " [{} as {}: {}]",
                        e.step,
                        e.account,
                        e.status
                            .map_or_else(|| "no response".to_owned(), |s| format!("HTTP {s}"))
                    )
                });
                out.push_str(&format!("- {}: {reason}{step}\n", r.scenario));
            }
        }
        if let Some(advice) = &self.advice {
            out.push_str(&format!(
                "\nA step was refused with a permission error: the delegate lacks rights on the principal's mailbox. Grant them, e.g. in the Exchange Management Shell:\n{advice}\n"
            ));
        }
        let unknown = self.unknown_preconditions();
        if !unknown.is_empty() {
            out.push_str("\nPreconditions that could not be checked (unknown):\n");
            for p in unknown {
                out.push_str(&format!(
                    "- {}: {}\n",
                    p.right,
                    p.reason.as_deref().unwrap_or("no answer")
                ));
            }
        }
        out
    }
}

/// Where each place is looked into: whose folder, and whether it holds drafts or copies.
const PLACES: [(Place, Role, FolderName); 4] = [
    (Place::PrincipalDrafts, Role::Principal, FolderName::Drafts),
    (Place::DelegateDrafts, Role::Delegate, FolderName::Drafts),
    (
        Place::PrincipalSentItems,
        Role::Principal,
        FolderName::SentItems,
    ),
    (
        Place::DelegateSentItems,
        Role::Delegate,
        FolderName::SentItems,
    ),
];

impl QuirkObservation {
    /// What an expectation asks for: each place it says `contains`, and delivery when the
    /// recipient's Inbox `contains` the item.
    pub fn expected(expect: &Expectation) -> Self {
        let response = match &expect.answer {
            ExpectedAnswer::Messages(m) => m
                .iter()
                .map(|m| {
                    format!(
                        "{} {}",
                        m.class,
                        m.codes
                            .iter()
                            .map(|c| c.as_str())
                            .collect::<Vec<_>>()
                            .join(" or ")
                    )
                })
                .collect::<Vec<_>>()
                .join(", "),
            ExpectedAnswer::Fault(codes) => format!(
                "SOAP Fault {}",
                codes
                    .iter()
                    .map(|c| c.as_str())
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
            ExpectedAnswer::Status => "any answer".to_owned(),
        };
        let held = |owner: Role, folder: FolderName| {
            expect.state.iter().any(|e| {
                e.owner == owner && e.folder == folder && matches!(e.kind, StateKind::Contains(_))
            })
        };
        Self::from_places(response, held, true)
    }

    /// What was seen, from every state check a case made (intended and documented).
    pub fn observed(answer: &str, checks: &[StateCheck]) -> Self {
        let seen = |owner: Role, folder: FolderName| {
            checks
                .iter()
                .any(|c| c.place == (owner, folder) && c.found.is_some_and(|n| n > 0))
        };
        let known = checks.iter().any(|c| c.found.is_some());
        Self::from_places(answer.to_owned(), seen, known)
    }

    fn from_places(
        response: String,
        present: impl Fn(Role, FolderName) -> bool,
        state_known: bool,
    ) -> Self {
        let mut draft = Vec::new();
        let mut copy = Vec::new();
        for (place, owner, folder) in PLACES {
            if present(owner, folder) {
                match folder {
                    FolderName::Drafts => draft.push(place),
                    _ => copy.push(place),
                }
            }
        }
        Self {
            response,
            delivered: present(Role::Recipient, FolderName::Inbox),
            draft,
            copy,
            state_known,
        }
    }
}

impl QuirkVerdict {
    /// The table's verdict for a case's: the intent held (`fixed`), the documented quirk held
    /// (`reproduced`), or neither.
    pub const fn of(verdict: Verdict) -> Self {
        match verdict {
            Verdict::Pass => QuirkVerdict::Fixed,
            Verdict::Quirk => QuirkVerdict::Reproduced,
            _ => QuirkVerdict::Different,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_permission_code_is_a_permission_error() {
        use ResponseCode::*;
        use SetupFailure as F;
        type Case<'a> = (Option<u16>, Option<&'a [ResponseCode]>, Option<F>);
        let cases: [Case; 12] = [
            (None, None, Some(F::Transport)),
            (Some(401), None, Some(F::Authentication)),
            (Some(403), Some(&[]), Some(F::Authentication)),
            (Some(302), None, Some(F::Redirect)),
            (Some(301), Some(&[NoError]), Some(F::Redirect)),
            (Some(200), None, Some(F::Malformed)),
            (Some(500), None, Some(F::Malformed)),
            (Some(200), Some(&[ErrorAccessDenied]), Some(F::Permission)),
            // A permission error says more than the status it came with.
            (
                Some(401),
                Some(&[NoError, ErrorSendAsDenied]),
                Some(F::Permission),
            ),
            (Some(200), Some(&[ErrorFolderNotFound]), Some(F::EwsError)),
            (Some(500), Some(&[]), Some(F::EwsError)),
            (Some(200), Some(&[NoError]), None),
        ];
        for (status, ews, expected) in cases {
            assert_eq!(
                SetupFailure::classify(status, ews),
                expected,
                "{status:?} {ews:?}"
            );
        }
        for code in PERMISSION_CODES {
            assert_eq!(
                SetupFailure::classify(Some(500), Some(&[code])),
                Some(F::Permission)
            );
        }
    }

    #[test]
    fn the_advice_names_both_accounts() {
        let advice = permission_advice("boss@contoso.com", "helper@contoso.com");
        assert!(advice.contains(
            "Add-MailboxFolderPermission -Identity boss@contoso.com:\\Drafts -User helper@contoso.com -AccessRights Editor"
        ));
        assert!(advice.contains("-GrantSendOnBehalfTo @{Add=\"helper@contoso.com\"}"));
    }
}
