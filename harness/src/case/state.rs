//! State expectations: where items must (or must not) be after the request, written as short
//! sentences such as `principal:sentitems contains draft` or
//! `principal:inbox gets NDR for draft naming unknown, unknown2`.

use crate::ews::{DistinguishedFolderName, ResponseVerb};

use super::Role;

/// The folders a state expectation can look into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FolderName {
    /// `drafts`.
    Drafts,
    /// `sentitems`.
    SentItems,
    /// `inbox`.
    Inbox,
    /// `deleteditems`.
    DeletedItems,
    /// `outbox`.
    Outbox,
    /// `tasks`.
    Tasks,
}

impl FolderName {
    /// Every folder.
    pub const ALL: [FolderName; 6] = [
        FolderName::Drafts,
        FolderName::SentItems,
        FolderName::Inbox,
        FolderName::DeletedItems,
        FolderName::Outbox,
        FolderName::Tasks,
    ];

    /// The distinguished folder name on the wire.
    pub const fn distinguished(self) -> DistinguishedFolderName {
        match self {
            FolderName::Drafts => DistinguishedFolderName::Drafts,
            FolderName::SentItems => DistinguishedFolderName::SentItems,
            FolderName::Inbox => DistinguishedFolderName::Inbox,
            FolderName::DeletedItems => DistinguishedFolderName::DeletedItems,
            FolderName::Outbox => DistinguishedFolderName::Outbox,
            FolderName::Tasks => DistinguishedFolderName::Tasks,
        }
    }

    /// The folder named `name` (`sentitems`).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|f| f.distinguished().as_str() == name)
    }
}

impl std::fmt::Display for FolderName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.distinguished().as_str())
    }
}

/// What must be true of a folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateKind {
    /// Exactly one item with the setup item's subject.
    Contains(String),
    /// No item with the setup item's subject.
    Lacks(String),
    /// Exactly one item with the setup item's subject, whose `InReplyTo` or `References` name
    /// the Message-ID of a copy of `original`: a reply or a forward threaded to it.
    ContainsThreaded {
        /// The setup item looked for.
        item: String,
        /// The setup item it must follow.
        original: String,
    },
    /// Exactly one item with the setup item's subject, on which sending a `verb` response was
    /// the last thing done (`PidTagLastVerbExecuted`).
    ContainsMarked {
        /// The setup item looked for.
        item: String,
        /// The response that must have been sent about it.
        verb: ResponseVerb,
    },
    /// Exactly one report of this class about the setup item, naming these addresses.
    Gets {
        /// `NDR` or `DR`.
        report: ReportKind,
        /// The setup item the report is about.
        about: String,
        /// Roles whose addresses the report must name.
        naming: Vec<Role>,
    },
}

/// The words `contains NAME marked VERB` takes, and the response whose sending records each
/// (`PidTagLastVerbExecuted`, see [`ResponseVerb::last_verb_executed`]).
pub const MARKED: [(ResponseVerb, &str); 3] = [
    (ResponseVerb::ReplyToItem, "replied"),
    (ResponseVerb::ReplyAllToItem, "replied-to-all"),
    (ResponseVerb::ForwardItem, "forwarded"),
];

/// A delivery report's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    /// Non-delivery report, `REPORT.IPM.Note.NDR`.
    Ndr,
    /// Delivery report, `REPORT.IPM.Note.DR`.
    Dr,
}

impl ReportKind {
    /// The report's item class.
    pub const fn item_class(self) -> &'static str {
        match self {
            ReportKind::Ndr => "REPORT.IPM.Note.NDR",
            ReportKind::Dr => "REPORT.IPM.Note.DR",
        }
    }
}

/// One state expectation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateExpectation {
    /// The sentence as written.
    pub text: String,
    /// Whose folder.
    pub owner: Role,
    /// Which folder.
    pub folder: FolderName,
    /// What must hold.
    pub kind: StateKind,
}

impl StateExpectation {
    /// The setup item the expectation is about.
    pub fn item(&self) -> &str {
        match &self.kind {
            StateKind::Contains(n) | StateKind::Lacks(n) => n,
            StateKind::ContainsThreaded { item, .. } | StateKind::ContainsMarked { item, .. } => {
                item
            }
            StateKind::Gets { about, .. } => about,
        }
    }
}

const GRAMMAR: &str = "write `ROLE:FOLDER contains NAME`, `ROLE:FOLDER contains NAME threaded \
to NAME`, `ROLE:FOLDER contains NAME marked replied|replied-to-all|forwarded`, `ROLE:FOLDER lacks \
NAME`, or `ROLE:FOLDER gets NDR|DR for NAME [naming ROLE, ROLE…]`";

impl std::str::FromStr for StateExpectation {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let (place, rest) = words
            .split_first()
            .ok_or_else(|| format!("empty expectation: {GRAMMAR}"))?;
        let (role, folder) = place
            .split_once(':')
            .ok_or_else(|| format!("{place:?} is not ROLE:FOLDER: {GRAMMAR}"))?;
        let owner = Role::from_name(role).ok_or_else(|| {
            format!(
                "unknown role {role:?}: use one of {}",
                Role::ALL.map(Role::name).join(", ")
            )
        })?;
        if !owner.is_account() {
            return Err(format!("{role} has no mailbox to look into"));
        }
        let folder = FolderName::parse(folder).ok_or_else(|| {
            format!(
                "unknown folder {folder:?}: use one of {}",
                FolderName::ALL.map(|f| f.to_string()).join(", ")
            )
        })?;
        let kind = match rest {
            ["contains", name] => StateKind::Contains((*name).to_owned()),
            ["lacks", name] => StateKind::Lacks((*name).to_owned()),
            ["contains", name, "threaded", "to", original] => StateKind::ContainsThreaded {
                item: (*name).to_owned(),
                original: (*original).to_owned(),
            },
            ["contains", name, "marked", verb] => StateKind::ContainsMarked {
                item: (*name).to_owned(),
                verb: MARKED
                    .iter()
                    .find(|(_, w)| w == verb)
                    .map(|(v, _)| *v)
                    .ok_or_else(|| {
                        format!("{verb:?} is not replied, replied-to-all or forwarded")
                    })?,
            },
            ["gets", report, "for", name, naming @ ..] => {
                let report = match *report {
                    "NDR" => ReportKind::Ndr,
                    "DR" => ReportKind::Dr,
                    other => return Err(format!("{other:?} is not NDR or DR: {GRAMMAR}")),
                };
                let naming = match naming {
                    [] => Vec::new(),
                    ["naming", roles @ ..] if !roles.is_empty() => roles
                        .join(" ")
                        .split(',')
                        .map(|r| {
                            let r = r.trim();
                            Role::from_name(r)
                                .ok_or_else(|| format!("unknown role {r:?} after `naming`"))
                        })
                        .collect::<Result<_, _>>()?,
                    _ => return Err(format!("unexpected words after the item name: {GRAMMAR}")),
                };
                StateKind::Gets {
                    report,
                    about: (*name).to_owned(),
                    naming,
                }
            }
            _ => return Err(format!("cannot read {text:?}: {GRAMMAR}")),
        };
        Ok(Self {
            text: text.to_owned(),
            owner,
            folder,
            kind,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threaded_and_marked_sentences_parse() {
        let e: StateExpectation = "recipient:inbox contains reply threaded to original"
            .parse()
            .unwrap();
        assert_eq!(
            e.kind,
            StateKind::ContainsThreaded {
                item: "reply".into(),
                original: "original".into()
            }
        );
        assert_eq!(e.item(), "reply");
        let e: StateExpectation = "principal:inbox contains original marked replied-to-all"
            .parse()
            .unwrap();
        assert_eq!(
            e.kind,
            StateKind::ContainsMarked {
                item: "original".into(),
                verb: ResponseVerb::ReplyAllToItem
            }
        );
        let err = "principal:inbox contains x marked read"
            .parse::<StateExpectation>()
            .unwrap_err();
        assert!(err.contains("replied"), "{err}");
    }

    #[test]
    fn sentences_parse() {
        let e: StateExpectation = "principal:sentitems contains draft".parse().unwrap();
        assert_eq!(
            (e.owner, e.folder),
            (Role::Principal, FolderName::SentItems)
        );
        assert_eq!(e.kind, StateKind::Contains("draft".into()));
        let e: StateExpectation = "principal:inbox gets NDR for draft naming unknown, unknown2"
            .parse()
            .unwrap();
        assert_eq!(
            e.kind,
            StateKind::Gets {
                report: ReportKind::Ndr,
                about: "draft".into(),
                naming: vec![Role::Unknown, Role::Unknown2]
            }
        );
        assert!(
            "boss:drafts contains x"
                .parse::<StateExpectation>()
                .unwrap_err()
                .contains("unknown role")
        );
        assert!(
            "principal:calendar contains x"
                .parse::<StateExpectation>()
                .unwrap_err()
                .contains("unknown folder")
        );
        assert!(
            "principal:drafts holds x"
                .parse::<StateExpectation>()
                .unwrap_err()
                .contains("ROLE:FOLDER contains")
        );
    }
}
