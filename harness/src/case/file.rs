//! Reading case files: strict TOML into [`Case`], every problem reported as `file:line:col` with
//! what to write instead.

use std::collections::BTreeSet;
use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::ews::{ExchangeVersion, ResponseClass, ResponseCode};

use super::{
    Case, CaseRequest, ExpectLines, Expectation, ExpectedAnswer, ExpectedMessage, FolderName,
    FolderRef, Impersonate, ItemRef, QuirkExpectation, Requirement, Role, ServerVersion, SetupItem,
    SetupKind, StateExpectation, VersionHeader,
};

/// Why a case file (or the suite) could not be read, at `file:line:column`.
pub type CaseError = crate::location::Located;

/// The `SOAPAction` a raw request carries unless it says otherwise.
pub const SEND_ITEM_ACTION: &str =
    "http://schemas.microsoft.com/exchange/services/2006/messages/SendItem";

/// How long a case waits for asynchronous effects (deliveries, reports) unless it says otherwise.
pub(super) const DEFAULT_POLL_TIMEOUT: Duration = Duration::from_secs(30);

/// The longest `poll_timeout_secs` a case may ask for, in seconds: an hour. A case is also cut
/// off by the run's `--case-timeout`.
pub const MAX_POLL_TIMEOUT_SECS: i64 = 3600;

/// The most ItemIds a raw request's `item_count` may claim: more than a request under the body
/// cap can carry.
pub const MAX_ITEM_COUNT: i64 = 1_000_000;

/// The `Content-Type` a raw request carries unless it says otherwise.
pub(super) const DEFAULT_CONTENT_TYPE: &str = "text/xml; charset=utf-8";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCase {
    id: Spanned<String>,
    title: String,
    #[serde(default)]
    tags: Vec<String>,
    reference: String,
    #[serde(default)]
    requirements: Vec<Spanned<String>>,
    section: String,
    #[serde(default)]
    requires: Vec<Requirement>,
    #[serde(default)]
    server_versions: Vec<Spanned<String>>,
    #[serde(default)]
    setup: Vec<RawSetup>,
    request: RawRequest,
    expect: Spanned<RawExpect>,
    quirk: Option<Spanned<RawQuirk>>,
    poll_timeout_secs: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSetup {
    name: Spanned<String>,
    owner: Role,
    #[serde(default = "drafts")]
    folder: Spanned<String>,
    created_by: Option<Role>,
    #[serde(default)]
    kind: SetupKind,
    #[serde(default)]
    to: Vec<Role>,
    #[serde(default)]
    cc: Vec<Role>,
    #[serde(default)]
    bcc: Vec<Role>,
    from: Option<Role>,
    #[serde(default)]
    delivery_receipt: bool,
    #[serde(default)]
    pre_send: bool,
    original: Option<Spanned<String>>,
}

fn drafts() -> Spanned<String> {
    Spanned::new(0..0, "drafts".to_owned())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequest {
    #[serde(rename = "as")]
    sender: Role,
    save_item_to_folder: Option<bool>,
    item_ids: Option<Vec<Spanned<String>>>,
    saved_item_folder_id: Option<Spanned<String>>,
    version: Option<Spanned<String>>,
    impersonate: Option<Spanned<String>>,
    mailbox_culture: Option<String>,
    raw: Option<Spanned<String>>,
    content_type: Option<String>,
    soap_action: Option<String>,
    item_count: Option<Spanned<i64>>,
    mangle: Option<super::Mangle>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Statuses {
    One(u16),
    Many(Vec<u16>),
}

impl Statuses {
    fn list(&self) -> Vec<u16> {
        match self {
            Statuses::One(s) => vec![*s],
            Statuses::Many(v) => v.clone(),
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Codes {
    One(String),
    Many(Vec<String>),
}

/// A response code, or a list of acceptable ones, with where it was written.
type OneOrMany = Spanned<Codes>;

fn codes(c: &OneOrMany) -> Vec<&str> {
    match c.get_ref() {
        Codes::One(s) => vec![s.as_str()],
        Codes::Many(v) => v.iter().map(String::as_str).collect(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMessage {
    class: Spanned<String>,
    code: OneOrMany,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpect {
    http_status: Option<Spanned<Statuses>>,
    messages: Option<Vec<RawMessage>>,
    fault: Option<OneOrMany>,
    #[serde(default)]
    state: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuirk {
    name: String,
    reference: String,
    http_status: Option<Spanned<Statuses>>,
    messages: Option<Vec<RawMessage>>,
    fault: Option<OneOrMany>,
    #[serde(default)]
    state: Vec<Spanned<String>>,
}

/// Reads and checks one case file; `suite` is the folder the category is taken relative to.
pub fn load_case(path: &Path, suite: &Path) -> Result<Case, CaseError> {
    let text = crate::input::read_text(path, crate::limits::MAX_CASE_FILE_BYTES, "case file")
        .map_err(|e| {
            CaseError::file(
                &path.display().to_string(),
                format!("cannot read: {}", e.problem),
            )
        })?;
    let category = category(path.strip_prefix(suite).unwrap_or(path));
    parse_case(path, &text, &category)
}

/// The category of a case file at `relative` below its suite: the folder right below the
/// suite, or `uncategorized` for a file directly in it.
pub(crate) fn category(relative: &Path) -> String {
    relative
        .parent()
        .and_then(|p| p.components().next())
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .unwrap_or_else(|| "uncategorized".to_owned())
}

/// Adds `case`, read from `file`, to `cases`, unless its id is already used.
pub(crate) fn push_unique(cases: &mut Vec<Case>, case: Case, file: &str) -> Result<(), CaseError> {
    if let Some(other) = cases.iter().find(|c| c.id == case.id) {
        return Err(CaseError::file(
            file,
            format!(
                "id {:?} is already used by {}: give each case its own id",
                case.id,
                other.path.display()
            ),
        ));
    }
    cases.push(case);
    Ok(())
}

/// Reads every `*.toml` below `suite`, in path order, and checks that ids are unique.
pub fn load_dir(suite: &Path) -> Result<Vec<Case>, CaseError> {
    let mut files = Vec::new();
    super::walk::collect(suite, &mut files).map_err(|e| {
        CaseError::file(
            &suite.display().to_string(),
            format!("cannot list the case folder: {e}"),
        )
    })?;
    files.sort();
    let mut cases: Vec<Case> = Vec::with_capacity(files.len());
    for file in files {
        let case = load_case(&file, suite)?;
        push_unique(&mut cases, case, &file.display().to_string())?;
    }
    Ok(cases)
}

/// Checks that a name is a setup item, pointing at `span` when it is not.
type KnownItem<'a> = &'a dyn Fn(Range<usize>, &str) -> Result<(), CaseError>;

struct Reader<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Reader<'_> {
    /// The 1-based line a span starts on.
    fn line(&self, span: Range<usize>) -> usize {
        crate::location::line_column(self.text, span.start).0
    }

    fn error(&self, span: Range<usize>, message: impl Into<String>) -> CaseError {
        CaseError::at(
            &self.path.display().to_string(),
            self.text,
            span.start,
            message,
        )
    }
}

/// Parses a case from its text; `path` names it in errors and `category` files it.
pub fn parse_case(path: &Path, text: &str, category: &str) -> Result<Case, CaseError> {
    let r = Reader { path, text };
    let raw: RawCase = toml::from_str(text).map_err(|e| {
        r.error(
            e.span().unwrap_or(0..0),
            format!(
                "{} (see the case format in cases/README.md)",
                e.message().trim_end()
            ),
        )
    })?;

    let server_versions = raw
        .server_versions
        .iter()
        .map(|v| {
            ServerVersion::parse(v.get_ref()).ok_or_else(|| {
                r.error(
                    v.span(),
                    format!(
                        "unknown server version {:?}: use one of {}, or the leading numbers of \
                         ServerVersionInfo such as \"15.2\"",
                        v.get_ref(),
                        ServerVersion::PRODUCTS.map(|(n, _)| n).join(", ")
                    ),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if raw.id.get_ref().trim().is_empty() {
        return Err(r.error(
            raw.id.span(),
            "the id is empty: name the case, e.g. \"save-rules/true-no-folder\"",
        ));
    }
    let mut setup = Vec::new();
    let mut names = BTreeSet::new();
    for s in raw.setup {
        let name = s.name.get_ref().clone();
        if !names.insert(name.clone()) {
            return Err(r.error(
                s.name.span(),
                format!("setup item {name:?} is defined twice"),
            ));
        }
        let folder = FolderName::parse(s.folder.get_ref()).ok_or_else(|| {
            r.error(
                s.folder.span(),
                format!(
                    "unknown folder {:?}: use one of {}",
                    s.folder.get_ref(),
                    FolderName::ALL.map(|f| f.to_string()).join(", ")
                ),
            )
        })?;
        let original = match (s.kind.verb(), &s.original) {
            (None, None) => None,
            (None, Some(o)) => {
                return Err(r.error(
                    o.span(),
                    "only a reply, reply-all or forward names an original",
                ));
            }
            (Some(_), None) => {
                return Err(r.error(
                    s.name.span(),
                    format!(
                        "a {} names the setup item it answers: add original = \"NAME\"",
                        s.kind.name()
                    ),
                ));
            }
            (Some(_), Some(o)) => {
                let name = o.get_ref();
                let Some(answered) = setup.iter().find(|i: &&SetupItem| i.name == *name) else {
                    return Err(r.error(
                        o.span(),
                        format!("{name:?} is not a [[setup]] item defined before this one"),
                    ));
                };
                let received = answered
                    .to
                    .iter()
                    .chain(&answered.cc)
                    .chain(&answered.bcc)
                    .any(|r| *r == s.owner);
                if !answered.pre_send || answered.kind != SetupKind::Message || !received {
                    return Err(r.error(
                        o.span(),
                        format!(
                            "{name:?} must be a message sent in setup (pre_send = true) to {}, \
                             so that a copy of it reaches the Inbox this {} answers from",
                            s.owner,
                            s.kind.name()
                        ),
                    ));
                }
                Some(name.clone())
            }
        };
        if s.kind.verb().is_some() && (s.pre_send || s.folder.get_ref() != "drafts") {
            return Err(r.error(
                s.name.span(),
                format!(
                    "a {} is saved as a draft in drafts and sent by the request",
                    s.kind.name()
                ),
            ));
        }
        if !s.owner.is_account() {
            return Err(r.error(
                s.name.span(),
                format!("{} has no mailbox to hold {name:?}", s.owner),
            ));
        }
        setup.push(SetupItem {
            name,
            owner: s.owner,
            folder,
            created_by: s.created_by.unwrap_or(s.owner),
            kind: s.kind,
            to: s.to,
            cc: s.cc,
            bcc: s.bcc,
            from: s.from,
            delivery_receipt: s.delivery_receipt,
            pre_send: s.pre_send,
            original,
        });
    }
    let known = |span: Range<usize>, name: &str| -> Result<(), CaseError> {
        if names.contains(name) {
            Ok(())
        } else {
            let list = if names.is_empty() {
                "there is no [[setup]] item".to_owned()
            } else {
                format!(
                    "known items: {}",
                    names.iter().cloned().collect::<Vec<_>>().join(", ")
                )
            };
            Err(r.error(span, format!("{name:?} is not a [[setup]] item: {list}")))
        }
    };

    let request = read_request(&r, &raw.request, &known)?;
    let expect_span = raw.expect.span();
    let raw_expect = raw.expect.get_ref();
    let expect = read_expectation(
        &r,
        expect_span,
        raw_expect.http_status.as_ref(),
        raw_expect.messages.as_deref(),
        raw_expect.fault.as_ref(),
        &raw_expect.state,
        &known,
    )?;
    let quirk = raw
        .quirk
        .as_ref()
        .map(|spanned| {
            let q = spanned.get_ref();
            Ok::<_, CaseError>(QuirkExpectation {
                name: q.name.clone(),
                reference: q.reference.clone(),
                expect: read_expectation(
                    &r,
                    spanned.span(),
                    q.http_status.as_ref(),
                    q.messages.as_deref(),
                    q.fault.as_ref(),
                    &q.state,
                    &known,
                )?,
            })
        })
        .transpose()?;
    let mut requirements: Vec<String> = Vec::new();
    for id in &raw.requirements {
        let text = id.get_ref();
        if crate::requirements::find(text).is_none() {
            let why = if crate::requirements::is_id(text) {
                "is not a SendItem requirement of requirements.toml"
            } else {
                "is not a requirement id: write it as Microsoft's Interop test suites do, e.g. \
                 \"MS-OXWSCORE_R465\""
            };
            return Err(r.error(id.span(), format!("{text:?} {why}")));
        }
        if requirements.contains(text) {
            return Err(r.error(id.span(), format!("{text:?} is listed twice")));
        }
        requirements.push(text.clone());
    }
    if raw.section.trim().is_empty() {
        return Err(r.error(
            raw.id.span(),
            "section is empty: name the protocol document section, e.g. \"MS-OXWSCORE 3.1.4.8\"",
        ));
    }
    if let (CaseRequest::Typed { item_ids, .. }, ExpectedAnswer::Messages(messages)) =
        (&request, &expect.answer)
        && item_ids.len() != messages.len()
    {
        return Err(r.error(
            raw.id.span(),
            format!(
                "the request has {} item ids but [expect] lists {} messages: list one message per id",
                item_ids.len(),
                messages.len()
            ),
        ));
    }
    Ok(Case {
        id: raw.id.into_inner(),
        title: raw.title,
        tags: raw.tags,
        reference: raw.reference,
        requirements,
        section: raw.section,
        category: category.to_owned(),
        path: path.to_owned(),
        requires: raw.requires,
        server_versions,
        setup,
        request,
        sender: raw.request.sender,
        expect,
        quirk,
        poll_timeout: match &raw.poll_timeout_secs {
            None => DEFAULT_POLL_TIMEOUT,
            Some(secs) => Duration::from_secs(
                in_range(&r, secs, "poll_timeout_secs", 0..=MAX_POLL_TIMEOUT_SECS)?.unsigned_abs(),
            ),
        },
    })
}

fn read_request(
    r: &Reader<'_>,
    raw: &RawRequest,
    known: KnownItem<'_>,
) -> Result<CaseRequest, CaseError> {
    if let Some(body) = &raw.raw {
        if raw.item_ids.is_some()
            || raw.save_item_to_folder.is_some()
            || raw.saved_item_folder_id.is_some()
        {
            return Err(r.error(body.span(), "a raw request takes no typed fields: remove item_ids, save_item_to_folder and saved_item_folder_id, or remove raw"));
        }
        check_placeholders(r, body, known)?;
        return Ok(CaseRequest::Raw(super::RawRequest {
            body: body.get_ref().clone(),
            content_type: raw
                .content_type
                .clone()
                .unwrap_or_else(|| DEFAULT_CONTENT_TYPE.into()),
            soap_action: match raw.soap_action.as_deref() {
                None => Some(SEND_ITEM_ACTION.to_owned()),
                Some("") => None,
                Some(action) => Some(action.to_owned()),
            },
            item_count: raw
                .item_count
                .as_ref()
                .map(|n| {
                    in_range(r, n, "item_count", 0..=MAX_ITEM_COUNT)
                        .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
                })
                .transpose()?,
            mangle: raw.mangle,
        }));
    }
    let missing = |what: &str| r.error(0..0, format!("[request] needs {what} (or a raw body)"));
    let save_item_to_folder = raw
        .save_item_to_folder
        .ok_or_else(|| missing("save_item_to_folder"))?;
    let ids = raw.item_ids.as_ref().ok_or_else(|| missing("item_ids"))?;
    let mut item_ids = Vec::new();
    for id in ids {
        let text = id.get_ref().as_str();
        let item = match text.split_once(':') {
            None if text == "deleted" => ItemRef::Deleted,
            None => {
                known(id.span(), text)?;
                ItemRef::Item(text.to_owned())
            }
            Some(("stale", name)) => {
                known(id.span(), name)?;
                ItemRef::Stale(name.to_owned())
            }
            Some(("nochangekey", name)) => {
                known(id.span(), name)?;
                ItemRef::NoChangeKey(name.to_owned())
            }
            Some(("literal", value)) => ItemRef::Literal(value.to_owned()),
            Some((other, _)) => {
                return Err(r.error(
                    id.span(),
                    format!("unknown item reference {other:?}: write NAME, stale:NAME, nochangekey:NAME, literal:ID or deleted"),
                ));
            }
        };
        item_ids.push(item);
    }
    let saved_item_folder_id = raw
        .saved_item_folder_id
        .as_ref()
        .map(|f| read_folder(r, f))
        .transpose()?;
    let version = match &raw.version {
        None => VersionHeader::Default,
        Some(v) if v.get_ref() == "none" => VersionHeader::Omit,
        Some(v) => VersionHeader::Version(v.get_ref().parse::<ExchangeVersion>().map_err(|_| {
            r.error(v.span(), format!("{:?} is not an ExchangeVersionType (e.g. Exchange2010_SP2) or \"none\"; for a malformed header use a raw request", v.get_ref()))
        })?),
    };
    let impersonate = raw
        .impersonate
        .as_ref()
        .map(|i| {
            let bad = || r.error(i.span(), "write impersonate = \"FORM:ROLE\" with FORM one of primary-smtp-address, smtp-address, principal-name, sid");
            let (form, value) = i.get_ref().split_once(':').ok_or_else(bad)?;
            let role = || Role::from_name(value).ok_or_else(bad);
            Ok::<_, CaseError>(match form {
                "primary-smtp-address" => Impersonate::PrimarySmtpAddress(role()?),
                "smtp-address" => Impersonate::SmtpAddress(role()?),
                "principal-name" => Impersonate::PrincipalName(role()?),
                "sid" => Impersonate::Sid(role()?),
                _ => return Err(bad()),
            })
        })
        .transpose()?;
    Ok(CaseRequest::Typed {
        save_item_to_folder,
        item_ids,
        saved_item_folder_id,
        version,
        impersonate,
        mailbox_culture: raw.mailbox_culture.clone(),
    })
}

fn read_folder(r: &Reader<'_>, f: &Spanned<String>) -> Result<FolderRef, CaseError> {
    let bad = |why: String| {
        r.error(
            f.span(),
            format!(
                "{why}: write FOLDER, ROLE:FOLDER, folderid:ROLE:FOLDER or folderid:literal:ID"
            ),
        )
    };
    let folder =
        |name: &str| FolderName::parse(name).ok_or_else(|| bad(format!("unknown folder {name:?}")));
    let role =
        |name: &str| Role::from_name(name).ok_or_else(|| bad(format!("unknown role {name:?}")));
    let parts: Vec<&str> = f.get_ref().split(':').collect();
    Ok(match parts.as_slice() {
        ["folderid", "literal", value] => FolderRef::Literal((*value).to_owned()),
        ["folderid", owner, name] => FolderRef::FolderIdOf {
            owner: role(owner)?,
            folder: folder(name)?,
        },
        [name] => FolderRef::Distinguished {
            id: folder(name)?,
            mailbox: None,
        },
        [owner, name] => FolderRef::Distinguished {
            id: folder(name)?,
            mailbox: Some(role(owner)?),
        },
        _ => return Err(bad(format!("cannot read {:?}", f.get_ref()))),
    })
}

fn check_placeholders(
    r: &Reader<'_>,
    body: &Spanned<String>,
    known: KnownItem<'_>,
) -> Result<(), CaseError> {
    let template =
        super::Template::parse(body.get_ref()).map_err(|e| r.error(body.span(), e.to_string()))?;
    for name in template.placeholders().filter_map(|p| p.item()) {
        known(body.span(), name)?;
    }
    Ok(())
}

/// The number `value` holds, if it lies in `range`; else an error at it naming `field` and the
/// range.
fn in_range<T: PartialOrd + Copy + std::fmt::Display>(
    r: &Reader<'_>,
    value: &Spanned<T>,
    field: &str,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, CaseError> {
    let n = *value.get_ref();
    if range.contains(&n) {
        Ok(n)
    } else {
        Err(r.error(
            value.span(),
            format!(
                "{field} = {n} is out of range: use a number from {} to {}",
                range.start(),
                range.end()
            ),
        ))
    }
}

fn read_expectation(
    r: &Reader<'_>,
    table: Range<usize>,
    http_status: Option<&Spanned<Statuses>>,
    messages: Option<&[RawMessage]>,
    fault: Option<&OneOrMany>,
    state: &[Spanned<String>],
    known: KnownItem<'_>,
) -> Result<Expectation, CaseError> {
    let parse_codes = |c: &OneOrMany| -> Result<Vec<ResponseCode>, CaseError> {
        let list = codes(c);
        if list.is_empty() {
            return Err(r.error(c.span(), "list at least one ResponseCode"));
        }
        list.into_iter()
            .map(|s| {
                s.parse().map_err(|_| {
                    r.error(
                        c.span(),
                        format!("{s:?} is not a ResponseCode of the EWS schema"),
                    )
                })
            })
            .collect()
    };
    let (answer, default_status) = match (messages, fault) {
        (Some(_), Some(f)) => {
            return Err(r.error(f.span(), "expect either messages or a fault, not both"));
        }
        (Some(list), None) => {
            let mut out = Vec::new();
            for m in list {
                let class: ResponseClass =
                    m.class.get_ref().parse().map_err(|_| {
                        r.error(m.class.span(), "class is Success, Warning or Error")
                    })?;
                out.push(ExpectedMessage {
                    class,
                    codes: parse_codes(&m.code)?,
                });
            }
            (ExpectedAnswer::Messages(out), Some(200))
        }
        (None, Some(f)) => (ExpectedAnswer::Fault(parse_codes(f)?), Some(500)),
        (None, None) => (ExpectedAnswer::Status, None),
    };
    let http_status_span = http_status.map(Spanned::span);
    if let Some(statuses) = http_status {
        for status in statuses.get_ref().list() {
            if !(100..=599).contains(&status) {
                return Err(r.error(
                    statuses.span(),
                    format!("http_status {status} is not an HTTP status: use 100 to 599"),
                ));
            }
        }
    }
    let http_status = http_status
        .map(|s| s.get_ref().list())
        .or(default_status.map(|s| vec![s]))
        .filter(|list| !list.is_empty())
        .ok_or_else(|| {
            r.error(
                0..0,
                "an expectation needs messages, a fault, or an http_status",
            )
        })?;
    let mut states = Vec::new();
    for s in state {
        let e: StateExpectation = s
            .get_ref()
            .parse()
            .map_err(|m: String| r.error(s.span(), m))?;
        known(s.span(), e.item())?;
        if let super::StateKind::ContainsThreaded { original, .. } = &e.kind {
            known(s.span(), original)?;
        }
        states.push(e);
    }
    let line = |span: Range<usize>| r.line(span);
    let lines = ExpectLines {
        table: Some(line(table)),
        http_status: http_status_span.map(line),
        messages: messages
            .into_iter()
            .flatten()
            .map(|m| line(m.class.span()))
            .collect(),
        fault: fault.map(|f| line(f.span())),
        state: state.iter().map(|s| line(s.span())).collect(),
    };
    Ok(Expectation {
        http_status,
        answer,
        state: states,
        lines,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"id = "save-rules/true-no-folder"
title = "copy in Sent Items"
reference = "SendItem reference"
section = "MS-OXWSCORE 3.1.4.8.3.2"

[[setup]]
name = "draft"
owner = "principal"
to = ["recipient"]

[request]
as = "principal"
save_item_to_folder = true
item_ids = ["draft"]

[expect]
messages = [{ class = "Success", code = "NoError" }]
state = ["principal:sentitems contains draft"]
"#;

    fn parse(text: &str) -> Result<Case, CaseError> {
        parse_case(Path::new("cases/x/y.toml"), text, "x")
    }

    /// The error of [`GOOD`] with `from` replaced by `to`.
    fn broken(from: &str, to: &str) -> CaseError {
        assert!(GOOD.contains(from), "{from:?} is not in the good case");
        parse(&GOOD.replace(from, to)).unwrap_err()
    }

    #[test]
    fn a_good_case_reads() {
        let case = parse(GOOD).unwrap();
        assert_eq!(case.id, "save-rules/true-no-folder");
        assert_eq!(case.expect.http_status, [200]);
        assert_eq!(case.accounts(), vec![Role::Principal]);
    }

    #[test]
    fn errors_name_file_line_and_fix() {
        let err = broken(
            "owner = \"principal\"",
            "owner = \"principal\"\ncolour = \"red\"",
        );
        assert_eq!(
            (err.path.as_str(), err.line),
            ("cases/x/y.toml", 9),
            "{err}"
        );
        assert!(err.message.contains("colour"), "{err}");

        let err = broken("item_ids = [\"draft\"]", "item_ids = [\"draf\"]");
        assert_eq!(err.line, 14, "{err}");
        assert!(
            err.message
                .contains("\"draf\" is not a [[setup]] item: known items: draft"),
            "{err}"
        );

        let err = broken(
            "save_item_to_folder = true",
            "save_item_to_folder = \"yes\"",
        );
        assert_eq!(err.line, 13, "{err}");

        let err = broken("code = \"NoError\"", "code = \"NoErr\"");
        assert!(
            err.message.contains("\"NoErr\" is not a ResponseCode"),
            "{err}"
        );

        let err = broken(
            "principal:sentitems contains draft",
            "principal:sentitems has draft",
        );
        assert_eq!(err.line, 18, "{err}");
        assert!(err.message.contains("ROLE:FOLDER contains NAME"), "{err}");

        let err = broken("[{ class = \"Success\", code = \"NoError\" }]", "[]");
        assert!(
            err.message
                .contains("1 item ids but [expect] lists 0 messages"),
            "{err}"
        );
    }
}
