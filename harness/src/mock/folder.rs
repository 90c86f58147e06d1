//! The distinguished folders every mailbox of the mock has: a leaf that the directory, the ids
//! and the store all name folders by.

use crate::ews::DistinguishedFolderName;

/// The distinguished folders every mailbox of the mock has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum MockFolder {
    /// `root`.
    Root,
    /// `msgfolderroot`: the top of the information store.
    MsgFolderRoot,
    /// `inbox`.
    Inbox,
    /// `drafts`.
    Drafts,
    /// `sentitems`.
    SentItems,
    /// `deleteditems`.
    DeletedItems,
    /// `outbox`.
    Outbox,
    /// `tasks`.
    Tasks,
}

impl MockFolder {
    /// Every folder, in id order.
    pub const ALL: [MockFolder; 8] = [
        MockFolder::Root,
        MockFolder::MsgFolderRoot,
        MockFolder::Inbox,
        MockFolder::Drafts,
        MockFolder::SentItems,
        MockFolder::DeletedItems,
        MockFolder::Outbox,
        MockFolder::Tasks,
    ];

    /// The distinguished folder name.
    pub const fn name(self) -> DistinguishedFolderName {
        match self {
            MockFolder::Root => DistinguishedFolderName::Root,
            MockFolder::MsgFolderRoot => DistinguishedFolderName::MsgFolderRoot,
            MockFolder::Inbox => DistinguishedFolderName::Inbox,
            MockFolder::Drafts => DistinguishedFolderName::Drafts,
            MockFolder::SentItems => DistinguishedFolderName::SentItems,
            MockFolder::DeletedItems => DistinguishedFolderName::DeletedItems,
            MockFolder::Outbox => DistinguishedFolderName::Outbox,
            MockFolder::Tasks => DistinguishedFolderName::Tasks,
        }
    }

    /// The folder a distinguished name denotes, if the mock has it.
    pub fn from_distinguished(name: DistinguishedFolderName) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The folder with this distinguished name spelled as on the wire (`sentitems`).
    pub fn from_name(name: &str) -> Option<Self> {
        name.parse().ok().and_then(Self::from_distinguished)
    }

    pub(super) fn display_name(self) -> &'static str {
        match self {
            MockFolder::Root => "Root",
            MockFolder::MsgFolderRoot => "Top of Information Store",
            MockFolder::Inbox => "Inbox",
            MockFolder::Drafts => "Drafts",
            MockFolder::SentItems => "Sent Items",
            MockFolder::DeletedItems => "Deleted Items",
            MockFolder::Outbox => "Outbox",
            MockFolder::Tasks => "Tasks",
        }
    }

    pub(super) fn parent(self) -> Option<MockFolder> {
        match self {
            MockFolder::Root => None,
            MockFolder::MsgFolderRoot => Some(MockFolder::Root),
            _ => Some(MockFolder::MsgFolderRoot),
        }
    }
}
