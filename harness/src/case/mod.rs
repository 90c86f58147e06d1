//! Case files: one TOML file per conformance case, read strictly, with errors that name the file,
//! the line and the fix.
//!
//! ```toml
//! id = "save-rules/true-no-folder"
//! title = "SaveItemToFolder=true with no folder keeps the copy in Sent Items"
//! tags = ["save-rules"]
//! reference = "SendItem reference: SaveItemToFolder"
//! requirements = ["MS-OXWSCORE_R465", "MS-OXWSCORE_R1648"]   # Interop test suite numbers
//! section = "MS-OXWSCORE 3.1.4.8.3.2 m:SendItemType"
//!
//! [[setup]]
//! name = "draft"
//! owner = "principal"          # whose mailbox; `created_by` defaults to the owner
//! folder = "drafts"
//! to = ["recipient"]
//!
//! [request]
//! as = "principal"
//! save_item_to_folder = true
//! item_ids = ["draft"]
//!
//! [expect]
//! messages = [{ class = "Success", code = "NoError" }]
//! state = ["principal:sentitems contains draft", "principal:drafts lacks draft"]
//! ```

mod embedded;
mod file;
mod partition;
mod rerun;
mod state;
mod template;
mod walk;
mod write;

use std::collections::BTreeSet;

use serde::Deserialize;

use crate::ews::{ExchangeVersion, ResponseClass, ResponseCode};

pub use embedded::{embedded_files, load_embedded};
pub use file::{CaseError, load_case, load_dir, parse_case};
pub use partition::{Partition, PartitionError};
pub use rerun::{MAX_REPORT_BYTES, RerunError, failed_in, read_run_report};
pub use state::{FolderName, ReportKind, StateExpectation, StateKind};
pub use template::{Placeholder, Template, TemplateError};

/// The accounts a case can act as or address, mapped to real accounts by the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The mailbox owner whose drafts are sent on their behalf.
    Principal,
    /// The delegate: rights on the principal's Drafts and Sent Items, SendOnBehalf.
    Delegate,
    /// A recipient in the organization.
    Recipient,
    /// A user with no rights on the principal's mailbox.
    Outsider,
    /// A user with read-only (Reviewer) rights on the principal's Drafts.
    Reviewer,
    /// A user with SendAs rights on the principal and Editor on the principal's Drafts.
    Sendas,
    /// A service account holding the ApplicationImpersonation role.
    Impersonator,
    /// An address in the organization's domain with no mailbox; mail to it bounces.
    Unknown,
    /// A second such address.
    Unknown2,
}

impl Role {
    /// Every role, in report order.
    pub const ALL: [Role; 9] = [
        Role::Principal,
        Role::Delegate,
        Role::Recipient,
        Role::Outsider,
        Role::Reviewer,
        Role::Sendas,
        Role::Impersonator,
        Role::Unknown,
        Role::Unknown2,
    ];

    /// The role's name in case files.
    pub const fn name(self) -> &'static str {
        match self {
            Role::Principal => "principal",
            Role::Delegate => "delegate",
            Role::Recipient => "recipient",
            Role::Outsider => "outsider",
            Role::Reviewer => "reviewer",
            Role::Sendas => "sendas",
            Role::Impersonator => "impersonator",
            Role::Unknown => "unknown",
            Role::Unknown2 => "unknown2",
        }
    }

    /// True for the roles that are mailbox accounts (and so can log in and own folders).
    pub const fn is_account(self) -> bool {
        !matches!(self, Role::Unknown | Role::Unknown2)
    }

    /// The role named `name`.
    pub fn from_name(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.name() == name)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What the target must offer for a case to run; an unmet one makes the case `skip`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Requirement {
    /// The delegate can read and create in the principal's Drafts.
    DelegateAccess,
    /// The impersonator can impersonate the principal.
    Impersonation,
    /// A reviewer account is configured.
    ReviewerAccount,
    /// A SendAs account is configured.
    SendasAccount,
    /// An outsider account is configured.
    OutsiderAccount,
    /// Unknown addresses bounce with an NDR (a domain for them is configured).
    Bounces,
    /// The delegate can read the principal's Inbox, as a delegate who answers mail for the
    /// principal must.
    DelegateInbox,
}

impl Requirement {
    /// Its name in case files and skip reasons.
    pub fn name(self) -> &'static str {
        match self {
            Requirement::DelegateAccess => "delegate-access",
            Requirement::Impersonation => "impersonation",
            Requirement::ReviewerAccount => "reviewer-account",
            Requirement::SendasAccount => "sendas-account",
            Requirement::OutsiderAccount => "outsider-account",
            Requirement::Bounces => "bounces",
            Requirement::DelegateInbox => "delegate-inbox",
        }
    }
}

/// A server version a case applies to, as `server_versions` names it: a product such as
/// `exchange-se`, or the leading numbers of `ServerVersionInfo` such as `15.2`.
/// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/serverversioninfo>
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerVersion {
    /// As written in the case file.
    pub name: String,
    /// The numbers it stands for: major version, minor version, then build numbers.
    pub numbers: Vec<i32>,
}

impl ServerVersion {
    /// The product names a case may use, with the `MajorVersion.MinorVersion` each reports.
    // Source: Microsoft, "Exchange Server build numbers and release dates"; exchangelib's
    // version.py (EXCHANGE_2016 = 15.1, EXCHANGE_2019 = 15.2, EXCHANGE_O365 = 15.20).
    pub const PRODUCTS: [(&'static str, &'static [i32]); 6] = [
        ("exchange-2010", &[14]),
        ("exchange-2013", &[15, 0]),
        ("exchange-2016", &[15, 1]),
        ("exchange-2019", &[15, 2]),
        ("exchange-se", &[15, 2]),
        ("exchange-online", &[15, 20]),
    ];

    /// Reads a product name or dotted numbers (`15`, `15.2`, `15.2.2562`).
    pub fn parse(name: &str) -> Option<Self> {
        let numbers = match Self::PRODUCTS.iter().find(|(n, _)| *n == name) {
            Some((_, numbers)) => numbers.to_vec(),
            None => name
                .split('.')
                .map(|n| n.parse::<i32>().ok().filter(|n| *n >= 0))
                .collect::<Option<Vec<_>>>()
                .filter(|n| (1..=4).contains(&n.len()))?,
        };
        Some(Self {
            name: name.to_owned(),
            numbers,
        })
    }

    /// True when `info` is this version, or when `info` lacks a number needed to tell.
    pub fn matches(&self, info: &crate::ews::ServerVersionInfo) -> bool {
        let reported = [
            info.major_version,
            info.minor_version,
            info.major_build_number,
            info.minor_build_number,
        ];
        self.numbers
            .iter()
            .zip(reported)
            .all(|(want, got)| got.is_none_or(|got| got == *want))
    }
}

/// The kind of item a setup step creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SetupKind {
    /// A message draft.
    #[default]
    Message,
    /// A task: not a message, so SendItem refuses it.
    Task,
    /// A reply to the setup item `original`, saved as a draft: CreateItem `ReplyToItem`,
    /// SaveOnly.
    Reply,
    /// A reply to all (`ReplyAllToItem`), saved as a draft.
    #[serde(rename = "reply-all")]
    ReplyAll,
    /// A forward (`ForwardItem`), saved as a draft.
    Forward,
}

impl SetupKind {
    /// The name a case file gives it.
    pub const fn name(self) -> &'static str {
        match self {
            SetupKind::Message => "message",
            SetupKind::Task => "task",
            SetupKind::Reply => "reply",
            SetupKind::ReplyAll => "reply-all",
            SetupKind::Forward => "forward",
        }
    }

    /// The response object that makes it, for a reply or a forward.
    pub const fn verb(self) -> Option<crate::ews::ResponseVerb> {
        match self {
            SetupKind::Message | SetupKind::Task => None,
            SetupKind::Reply => Some(crate::ews::ResponseVerb::ReplyToItem),
            SetupKind::ReplyAll => Some(crate::ews::ResponseVerb::ReplyAllToItem),
            SetupKind::Forward => Some(crate::ews::ResponseVerb::ForwardItem),
        }
    }
}

/// One item the runner creates before the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupItem {
    /// The name the request and expectations use.
    pub name: String,
    /// Whose mailbox it is in.
    pub owner: Role,
    /// Which folder.
    pub folder: FolderName,
    /// Who creates it (defaults to the owner).
    pub created_by: Role,
    /// Message or task.
    pub kind: SetupKind,
    /// `To` recipients.
    pub to: Vec<Role>,
    /// `Cc` recipients.
    pub cc: Vec<Role>,
    /// `Bcc` recipients.
    pub bcc: Vec<Role>,
    /// `From`, when the draft names a sender other than the owner.
    pub from: Option<Role>,
    /// `IsDeliveryReceiptRequested`.
    pub delivery_receipt: bool,
    /// Send it once during setup, so that its copy sits in the owner's Sent Items and the name
    /// refers to that copy.
    pub pre_send: bool,
    /// For a reply or a forward: the setup item it answers, as received: its copy in this
    /// item's owner's Inbox.
    pub original: Option<String>,
}

impl SetupItem {
    /// A message draft `name` in `owner`'s Drafts, made by the owner, addressed to `to`.
    pub fn draft(name: String, owner: Role, to: Vec<Role>) -> Self {
        Self {
            name,
            owner,
            folder: FolderName::Drafts,
            created_by: owner,
            kind: SetupKind::Message,
            to,
            cc: Vec::new(),
            bcc: Vec::new(),
            from: None,
            delivery_receipt: false,
            pre_send: false,
            original: None,
        }
    }
}

/// How the request refers to one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemRef {
    /// A setup item, with its current change key.
    Item(String),
    /// A setup item with the change key it had before the runner changed it: stale.
    Stale(String),
    /// A setup item with no change key.
    NoChangeKey(String),
    /// This literal id, e.g. the reference page's `%BadItemId%`.
    Literal(String),
    /// A well-formed id of an item that no longer exists (created, then deleted, in setup).
    Deleted,
}

/// Where a request puts the copy: `SavedItemFolderId`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FolderRef {
    /// `DistinguishedFolderId`, with or without `Mailbox`.
    Distinguished {
        /// The folder name.
        id: FolderName,
        /// Whose mailbox, if named.
        mailbox: Option<Role>,
    },
    /// `FolderId` of a well-known folder of `owner`, as the server reports it.
    FolderIdOf {
        /// Whose folder.
        owner: Role,
        /// Which one.
        folder: FolderName,
    },
    /// This literal `FolderId/@Id`.
    Literal(String),
}

/// `ExchangeImpersonation`'s ConnectingSID form, naming a role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Impersonate {
    /// `PrimarySmtpAddress`.
    PrimarySmtpAddress(Role),
    /// `SmtpAddress`.
    SmtpAddress(Role),
    /// `PrincipalName` (the address as UPN).
    PrincipalName(Role),
    /// `SID` of the role's account, from the target.
    Sid(Role),
}

/// The request under test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseRequest {
    /// A SendItem built from typed fields.
    Typed {
        /// `SaveItemToFolder`.
        save_item_to_folder: bool,
        /// `ItemIds`, in order.
        item_ids: Vec<ItemRef>,
        /// `SavedItemFolderId`.
        saved_item_folder_id: Option<FolderRef>,
        /// `RequestServerVersion`: absent means the target's default.
        version: VersionHeader,
        /// `ExchangeImpersonation`.
        impersonate: Option<Impersonate>,
        /// `MailboxCulture`.
        mailbox_culture: Option<String>,
    },
    /// A raw body with placeholders: `{{id:NAME}}`, `{{changekey:NAME}}`, `{{stalekey:NAME}}`,
    /// `{{deleted}}`, `{{address:ROLE}}`, `{{folderid:ROLE:FOLDER}}`, `{{marker}}`.
    Raw(RawRequest),
}

/// A raw request under test: its body with placeholders and how it is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRequest {
    /// The body.
    pub body: String,
    /// `Content-Type`.
    pub content_type: String,
    /// `SOAPAction`; `None` sends none.
    pub soap_action: Option<String>,
    /// How many ItemIds the body carries, for the one-message-per-id check.
    pub item_count: Option<usize>,
    /// A change to the bytes that a TOML string cannot hold.
    pub mangle: Option<Mangle>,
}

impl RawRequest {
    /// The bytes to send for `filled`, the body with its placeholders filled in: with the
    /// [`Mangle`], if any, applied (`max_body` is the server's body cap).
    pub fn bytes(&self, filled: String, max_body: usize) -> Vec<u8> {
        let bytes = filled.into_bytes();
        match self.mangle {
            Some(m) => m.apply(bytes, max_body),
            None => bytes,
        }
    }
}

/// A change to a raw body's bytes, applied after the placeholders are filled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mangle {
    /// Bytes that are not UTF-8 right after `<soap:Body>`.
    InvalidUtf8,
    /// Padding to one byte over the server's body cap (16 MiB unless the run says otherwise).
    Oversize,
}

impl Mangle {
    /// Its name in case files.
    pub const fn name(self) -> &'static str {
        match self {
            Mangle::InvalidUtf8 => "invalid-utf8",
            Mangle::Oversize => "oversize",
        }
    }

    /// Applies the change; `max_body` is the cap an oversize body goes one byte over.
    pub fn apply(self, mut body: Vec<u8>, max_body: usize) -> Vec<u8> {
        match self {
            Mangle::InvalidUtf8 => {
                let at = memchr::memmem::find(&body, b"<soap:Body>")
                    .map_or(body.len() / 2, |i| i + "<soap:Body>".len());
                body.splice(at..at, [0xFF, 0xFE, 0xFD]);
            }
            Mangle::Oversize => {
                let pad = (max_body + 1).saturating_sub(body.len());
                body.extend(std::iter::repeat_n(b' ', pad));
            }
        }
        body
    }
}

/// What `RequestServerVersion` to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionHeader {
    /// The target's configured version (the mock: none).
    Default,
    /// None at all.
    Omit,
    /// This version.
    Version(ExchangeVersion),
}

/// One expected response message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedMessage {
    /// `ResponseClass`.
    pub class: ResponseClass,
    /// Acceptable `ResponseCode`s (any of them).
    pub codes: Vec<ResponseCode>,
}

/// What the answer must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpectedAnswer {
    /// Response messages, one per ItemId, in order.
    Messages(Vec<ExpectedMessage>),
    /// A SOAP Fault with any of these codes.
    Fault(Vec<ResponseCode>),
    /// Only an HTTP status (for answers that are not SOAP at all).
    Status,
}

/// A complete expectation: status, answer and state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expectation {
    /// Acceptable HTTP statuses (any of them).
    pub http_status: Vec<u16>,
    /// The answer.
    pub answer: ExpectedAnswer,
    /// The state afterwards.
    pub state: Vec<StateExpectation>,
    /// Where the case file states each part, so that a finding can point at its line.
    pub lines: ExpectLines,
}

/// The 1-based lines of a case file on which an [`Expectation`]'s parts are written; `None` (or
/// an empty list) for an expectation that was not read from a file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExpectLines {
    /// The table itself: `[expect]` or `[quirk]`.
    pub table: Option<usize>,
    /// `http_status`.
    pub http_status: Option<usize>,
    /// Each entry of `messages`, in order.
    pub messages: Vec<usize>,
    /// `fault`.
    pub fault: Option<usize>,
    /// Each `state` sentence, in order.
    pub state: Vec<usize>,
}

/// The documented Exchange deviation that earns `quirk` when the intended expectation fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuirkExpectation {
    /// Its name, e.g. `delegate-copy-a`.
    pub name: String,
    /// Where it is documented.
    pub reference: String,
    /// What Exchange does instead.
    pub expect: Expectation,
}

/// One conformance case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// Unique id, e.g. `delegate/scenario-a`.
    pub id: String,
    /// One-line title.
    pub title: String,
    /// Tags for `--tag`.
    pub tags: Vec<String>,
    /// What the case rests on.
    pub reference: String,
    /// The protocol requirements it checks, as Microsoft's Interop test suites number them
    /// (`MS-OXWSCORE_R465`); each is in [`crate::requirements::catalogue`].
    pub requirements: Vec<String>,
    /// The protocol document section it rests on, e.g. `MS-OXWSCORE 3.1.4.8.3.2`.
    pub section: String,
    /// The category: the case file's folder under the suite.
    pub category: String,
    /// Where it was read from.
    pub path: std::path::PathBuf,
    /// What the target must offer.
    pub requires: Vec<Requirement>,
    /// The server versions the case applies to; empty means every version. On any other
    /// version the case is `skip`.
    pub server_versions: Vec<ServerVersion>,
    /// Items to create first.
    pub setup: Vec<SetupItem>,
    /// The request under test.
    pub request: CaseRequest,
    /// Which account sends it.
    pub sender: Role,
    /// What the protocol intends.
    pub expect: Expectation,
    /// What Exchange is documented to do instead, if anything.
    pub quirk: Option<QuirkExpectation>,
    /// How long asynchronous effects may take to show.
    pub poll_timeout: std::time::Duration,
}

/// Which cases a run takes: ids (or requirement ids) matching a glob, and any of some tags.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    only: Option<Only>,
    tags: Vec<String>,
}

/// What `--only` matches: a case id, or a requirement id the case names.
#[derive(Debug, Clone)]
enum Only {
    Case(globset::GlobMatcher),
    Requirement(globset::GlobMatcher),
}

impl Selection {
    /// Cases whose id matches `only` (a glob such as `delegate/*`) and that carry one of `tags`
    /// (all cases when `tags` is empty). An `only` that starts with `MS-OX` matches the
    /// requirement ids a case names instead (`MS-OXWSCORE_R465`, `MS-OXWSMSG_*`).
    pub fn new(only: Option<&str>, tags: &[String]) -> Result<Self, String> {
        let only = only
            .map(|g| {
                let matcher = globset::Glob::new(g)
                    .map(|g| g.compile_matcher())
                    .map_err(|e| format!("--only {g:?} is not a valid glob: {e}"))?;
                Ok::<_, String>(if g.starts_with("MS-OX") {
                    Only::Requirement(matcher)
                } else {
                    Only::Case(matcher)
                })
            })
            .transpose()?;
        Ok(Self {
            only,
            tags: tags.to_vec(),
        })
    }

    /// Whether `case` is selected.
    pub fn matches(&self, case: &Case) -> bool {
        let only = match &self.only {
            None => true,
            Some(Only::Case(glob)) => glob.is_match(&case.id),
            Some(Only::Requirement(glob)) => case.requirements.iter().any(|r| glob.is_match(r)),
        };
        only && (self.tags.is_empty() || case.tags.iter().any(|t| self.tags.contains(t)))
    }
}

impl Case {
    /// The case with no record of where its expectations were written: for comparing a case with
    /// one read back from another text.
    #[cfg(test)]
    pub(crate) fn without_lines(mut self) -> Self {
        self.expect.lines = ExpectLines::default();
        if let Some(q) = &mut self.quirk {
            q.expect.lines = ExpectLines::default();
        }
        self
    }

    /// Why the case does not apply to a server reporting `info`, or `None` when it does. A case
    /// runs when the server's version cannot be read.
    pub fn version_skip(&self, info: Option<&crate::ews::ServerVersionInfo>) -> Option<String> {
        let info = info?;
        if self.server_versions.is_empty() || self.server_versions.iter().any(|v| v.matches(info)) {
            return None;
        }
        let names: Vec<&str> = self
            .server_versions
            .iter()
            .map(|v| v.name.as_str())
            .collect();
        Some(format!(
            "applies to server_versions {}; the server reports {info}",
            names.join(", ")
        ))
    }

    /// The setup items the request names with a stale change key.
    pub fn stale_items(&self) -> BTreeSet<&str> {
        match &self.request {
            CaseRequest::Typed { item_ids, .. } => item_ids
                .iter()
                .filter_map(|r| match r {
                    ItemRef::Stale(n) => Some(n.as_str()),
                    _ => None,
                })
                .collect(),
            // The loader has read the placeholders already; a body that no longer reads names
            // nothing.
            CaseRequest::Raw(raw) => Template::parse(&raw.body)
                .map(|t| {
                    t.placeholders()
                        .filter_map(|p| match p {
                            Placeholder::StaleKey(n) => Some(n),
                            _ => None,
                        })
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// The roles the case uses as accounts, in order.
    pub fn accounts(&self) -> Vec<Role> {
        let mut roles = vec![self.sender];
        for s in &self.setup {
            roles.extend([s.owner, s.created_by]);
        }
        for e in self
            .expect
            .state
            .iter()
            .chain(self.quirk.iter().flat_map(|q| &q.expect.state))
        {
            roles.push(e.owner);
        }
        roles.retain(|r| r.is_account());
        roles.sort();
        roles.dedup();
        roles
    }
}
