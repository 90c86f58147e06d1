//! The mock's mailbox store: folders and items per mailbox, in memory, behind one lock.
//!
//! Every operation takes the lock once and does all its work under it, so concurrent requests
//! see each other's effects whole: a draft raced by 32 senders is sent exactly once.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};

use crate::clock::{format_time, now};
use crate::ews::{
    BaseShape, Body, BodyType, FieldUri, Folder, FolderId, Item, ItemId, ItemKind, Mailbox,
    MailboxType, PropertyPath, RawProperty, ResponseVerb, Shape,
};

use super::directory::{Directory, UserIndex};
use super::folder::MockFolder;
use super::ids::{FolderKey, ItemKey, change_key};
use super::profile::{Defects, Profile};

/// An item as the store keeps it: compact, addresses as plain strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredItem {
    /// Message, task or generic item.
    pub kind: ItemKind,
    /// Where it is.
    pub folder: FolderKey,
    /// Bumped on every change; the change key derives from it.
    pub version: u32,
    /// `ItemClass`.
    pub item_class: Box<str>,
    /// `Subject`.
    pub subject: Box<str>,
    /// `Body`.
    pub body: Option<(BodyType, Box<str>)>,
    /// `ToRecipients` addresses.
    pub to: Vec<Box<str>>,
    /// `CcRecipients` addresses.
    pub cc: Vec<Box<str>>,
    /// `BccRecipients` addresses.
    pub bcc: Vec<Box<str>>,
    /// `From` address.
    pub from: Option<Box<str>>,
    /// `Sender` address, when someone sent on behalf of `from`.
    pub sender: Option<Box<str>>,
    /// `IsDraft`.
    pub is_draft: bool,
    /// `IsRead`.
    pub is_read: bool,
    /// `IsDeliveryReceiptRequested`.
    pub delivery_receipt: bool,
    /// `IsReadReceiptRequested`.
    pub read_receipt: bool,
    /// `DateTimeCreated`, seconds since the epoch.
    pub created: u64,
    /// `DateTimeSent`, seconds since the epoch.
    pub sent: Option<u64>,
    /// `InternetMessageId`: given when the message is sent.
    pub internet_message_id: Option<Box<str>>,
    /// `InReplyTo` and `References`: the Message-ID of the message this one is about, for a
    /// report that names its original so.
    pub in_reply_to: Option<Box<str>>,
    /// `References`: the Message-IDs of the messages this one follows, oldest first.
    pub references: Option<Box<str>>,
    /// The conversation: the number of the item that began it; `None` for an item that begins
    /// its own (its number is then its conversation's).
    pub conversation: Option<u64>,
    /// For a reply or forward not sent yet: the item it answers and how, so that sending it
    /// records the verb on the original.
    pub responds_to: Option<(u64, ResponseVerb)>,
    /// Every other property the client set, kept as written: the mock stores what the schema
    /// allows without acting on it.
    pub raw: Vec<RawProperty>,
}

impl StoredItem {
    /// A new item from what a client sent, to be stored in `folder`.
    pub fn from_wire(item: &Item, folder: FolderKey, is_draft: bool) -> Self {
        let addresses = |list: &[Mailbox]| {
            list.iter()
                .filter_map(|m| m.email_address.as_deref().map(Box::from))
                .collect()
        };
        let default_class = match item.kind {
            ItemKind::Message => "IPM.Note",
            ItemKind::Task => "IPM.Task",
            ItemKind::Item => "IPM",
        };
        Self {
            kind: item.kind,
            folder,
            version: 1,
            item_class: item.item_class.as_deref().unwrap_or(default_class).into(),
            subject: item.subject.as_deref().unwrap_or_default().into(),
            body: item
                .body
                .as_ref()
                .map(|b| (b.body_type, b.content.as_str().into())),
            to: addresses(&item.to_recipients),
            cc: addresses(&item.cc_recipients),
            bcc: addresses(&item.bcc_recipients),
            from: item
                .from
                .as_ref()
                .and_then(|m| m.email_address.as_deref())
                .map(Box::from),
            sender: None,
            is_draft: is_draft && item.kind == ItemKind::Message,
            is_read: true,
            delivery_receipt: item.is_delivery_receipt_requested.unwrap_or(false),
            read_receipt: item.is_read_receipt_requested.unwrap_or(false),
            created: now(),
            sent: None,
            internet_message_id: None,
            in_reply_to: None,
            references: None,
            conversation: None,
            responds_to: None,
            raw: item.raw_properties.clone(),
        }
    }

    /// Keeps `property`, in place of the one with its name and key, if any.
    pub fn set_raw(&mut self, property: RawProperty) {
        self.raw
            .retain(|p| !(p.name == property.name && p.key == property.key));
        self.raw.push(property);
    }

    /// Every recipient: To, then Cc, then Bcc.
    pub fn recipients(&self) -> impl Iterator<Item = &str> {
        self.to
            .iter()
            .chain(&self.cc)
            .chain(&self.bcc)
            .map(|a| &**a)
    }

    /// The value of a property, for restrictions: a typed one, or the text of a kept one.
    pub fn property(&self, path: &PropertyPath) -> Option<Cow<'_, str>> {
        let field = match path {
            PropertyPath::Field(f) => *f,
            PropertyPath::Raw(raw) => {
                return self
                    .raw
                    .iter()
                    .find(|p| p.is(raw))
                    .and_then(RawProperty::value)
                    .map(Cow::Owned);
            }
        };
        match field {
            FieldUri::ItemSubject => Some(Cow::Borrowed(&self.subject)),
            FieldUri::ItemClass => Some(Cow::Borrowed(&self.item_class)),
            FieldUri::ItemBody => self.body.as_ref().map(|(_, b)| Cow::Borrowed(&**b)),
            FieldUri::MessageFrom => self.from.as_deref().map(Cow::Borrowed),
            FieldUri::MessageSender => self.sender.as_deref().map(Cow::Borrowed),
            FieldUri::MessageToRecipients => Some(Cow::Owned(self.to.join(";"))),
            FieldUri::MessageCcRecipients => Some(Cow::Owned(self.cc.join(";"))),
            FieldUri::MessageBccRecipients => Some(Cow::Owned(self.bcc.join(";"))),
            FieldUri::MessageIsRead => Some(Cow::Owned(self.is_read.to_string())),
            FieldUri::MessageInternetMessageId => {
                self.internet_message_id.as_deref().map(Cow::Borrowed)
            }
            FieldUri::ItemInReplyTo => self.in_reply_to.as_deref().map(Cow::Borrowed),
            FieldUri::MessageReferences => self
                .references
                .as_deref()
                .or(self.in_reply_to.as_deref())
                .map(Cow::Borrowed),
            _ => None,
        }
    }

    /// The item as a response carries it, with the properties `shape` asks for.
    pub fn to_wire(&self, number: u64, shape: &Shape, directory: &Directory) -> Item {
        let key = ItemKey {
            mailbox: self.folder.mailbox,
            number,
        };
        let all = shape.base_shape != BaseShape::IdOnly;
        let wants = |f: FieldUri| all || shape.additional_properties.contains(&f);
        let is_message = self.kind == ItemKind::Message;
        let mailbox = |address: &str| Mailbox {
            name: directory
                .by_address(address)
                .map(|i| directory.users()[i].display_name.clone()),
            email_address: Some(address.to_owned()),
            routing_type: Some("SMTP".into()),
            mailbox_type: Some(if directory.by_address(address).is_some() {
                MailboxType::Mailbox
            } else {
                MailboxType::OneOff
            }),
        };
        let list = |f: FieldUri, v: &[Box<str>]| {
            if wants(f) && is_message {
                v.iter().map(|a| mailbox(a)).collect()
            } else {
                Vec::new()
            }
        };
        let message_flag = |f: FieldUri, v: bool| (wants(f) && is_message).then_some(v);
        Item {
            kind: self.kind,
            item_id: Some(
                ItemId::new(key.encode()).with_change_key(change_key(number, self.version)),
            ),
            parent_folder_id: wants(FieldUri::ItemParentFolderId)
                .then(|| FolderId::new(self.folder.encode())),
            item_class: wants(FieldUri::ItemClass).then(|| self.item_class.to_string()),
            subject: wants(FieldUri::ItemSubject).then(|| self.subject.to_string()),
            body: if wants(FieldUri::ItemBody) {
                self.body.as_ref().map(|(t, c)| Body {
                    body_type: *t,
                    content: c.to_string(),
                })
            } else {
                None
            },
            date_time_received: None,
            in_reply_to: if wants(FieldUri::ItemInReplyTo) && is_message {
                self.in_reply_to.as_deref().map(str::to_owned)
            } else {
                None
            },
            is_draft: all.then_some(self.is_draft),
            date_time_sent: if wants(FieldUri::ItemDateTimeSent) {
                self.sent.map(format_time)
            } else {
                None
            },
            date_time_created: wants(FieldUri::ItemDateTimeCreated)
                .then(|| format_time(self.created)),
            sender: if wants(FieldUri::MessageSender) && is_message {
                self.sender.as_deref().map(mailbox)
            } else {
                None
            },
            to_recipients: list(FieldUri::MessageToRecipients, &self.to),
            cc_recipients: list(FieldUri::MessageCcRecipients, &self.cc),
            bcc_recipients: list(FieldUri::MessageBccRecipients, &self.bcc),
            is_read_receipt_requested: message_flag(
                FieldUri::MessageIsReadReceiptRequested,
                self.read_receipt,
            ),
            is_delivery_receipt_requested: message_flag(
                FieldUri::MessageIsDeliveryReceiptRequested,
                self.delivery_receipt,
            ),
            from: if wants(FieldUri::MessageFrom) && is_message {
                self.from.as_deref().map(mailbox)
            } else {
                None
            },
            internet_message_id: if wants(FieldUri::MessageInternetMessageId) && is_message {
                self.internet_message_id.as_deref().map(str::to_owned)
            } else {
                None
            },
            is_read: message_flag(FieldUri::MessageIsRead, self.is_read),
            references: if wants(FieldUri::MessageReferences) && is_message {
                self.references
                    .as_deref()
                    .or(self.in_reply_to.as_deref())
                    .map(str::to_owned)
            } else {
                None
            },
            conversation_id: wants(FieldUri::ItemConversationId).then(|| {
                ItemId::new(super::ids::conversation_id(
                    self.conversation.unwrap_or(number),
                ))
            }),
            response: None,
            // A full shape returns every kept property but extended ones, which Exchange
            // returns only when a shape names them.
            raw_properties: self
                .raw
                .iter()
                .filter(|p| {
                    (all && p.name != "ExtendedProperty")
                        || shape.raw_properties.iter().any(|path| p.is(path))
                })
                .cloned()
                .collect(),
        }
    }
}

/// The contents of the store; reached through [`Store::lock`].
#[derive(Debug, Default)]
pub struct State {
    items: HashMap<u64, StoredItem>,
    folders: BTreeMap<FolderKey, BTreeSet<u64>>,
    next: u64,
}

impl State {
    /// Puts a new item where its `folder` says and returns its number.
    pub fn insert(&mut self, item: StoredItem) -> u64 {
        self.next += 1;
        let number = self.next;
        self.folders.entry(item.folder).or_default().insert(number);
        self.items.insert(number, item);
        number
    }

    /// The item with this number, if it exists in the mailbox the id named.
    pub fn get(&self, key: ItemKey) -> Option<&StoredItem> {
        self.items
            .get(&key.number)
            .filter(|i| i.folder.mailbox == key.mailbox)
    }

    /// The item with this number, wherever it is.
    pub fn get_number(&self, number: u64) -> Option<&StoredItem> {
        self.items.get(&number)
    }

    /// Mutable access to an item, bumping its version: every change moves the change key.
    pub fn change(&mut self, number: u64) -> Option<&mut StoredItem> {
        let item = self.items.get_mut(&number)?;
        item.version += 1;
        Some(item)
    }

    /// Removes an item.
    pub fn remove(&mut self, number: u64) -> Option<StoredItem> {
        let item = self.items.remove(&number)?;
        if let Some(set) = self.folders.get_mut(&item.folder) {
            set.remove(&number);
        }
        Some(item)
    }

    /// Moves an item to another folder, as a change.
    pub fn move_to(&mut self, number: u64, folder: FolderKey) {
        let Some(item) = self.items.get_mut(&number) else {
            return;
        };
        if let Some(set) = self.folders.get_mut(&item.folder) {
            set.remove(&number);
        }
        item.folder = folder;
        item.version += 1;
        self.folders.entry(folder).or_default().insert(number);
    }

    /// The items of a folder, oldest first.
    pub fn in_folder(&self, folder: FolderKey) -> impl Iterator<Item = (u64, &StoredItem)> {
        self.folders
            .get(&folder)
            .into_iter()
            .flatten()
            .filter_map(|n| self.items.get(n).map(|i| (*n, i)))
    }

    /// How many items the store holds.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when the store holds no item.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// A folder as GetFolder returns it.
    pub fn folder(&self, key: FolderKey) -> Folder {
        let items: Vec<_> = self.in_folder(key).collect();
        Folder {
            folder_id: Some(FolderId::new(key.encode())),
            parent_folder_id: key.folder.parent().map(|p| {
                FolderId::new(
                    FolderKey {
                        mailbox: key.mailbox,
                        folder: p,
                    }
                    .encode(),
                )
            }),
            folder_class: Some(
                if key.folder == MockFolder::Tasks {
                    "IPF.Task"
                } else {
                    "IPF.Note"
                }
                .into(),
            ),
            display_name: Some(key.folder.display_name().into()),
            total_count: Some(items.len() as i32),
            child_folder_count: Some(match key.folder {
                MockFolder::Root => 1,
                MockFolder::MsgFolderRoot => 6,
                _ => 0,
            }),
            unread_count: Some(items.iter().filter(|(_, i)| !i.is_read).count() as i32),
        }
    }
}

/// The mock's store: the directory, the profile, and the mailboxes' contents.
#[derive(Debug)]
pub struct Store {
    /// Accounts and rights.
    pub directory: Directory,
    /// Which behaviour the operations follow.
    pub profile: Profile,
    /// Deliberate defects, for proving the harness can fail.
    pub defects: Defects,
    /// The shape of the reports the transport writes.
    pub report_style: super::transport::ReportStyle,
    state: Mutex<State>,
}

impl Store {
    /// An empty store for these accounts.
    pub fn new(directory: Directory, profile: Profile) -> Self {
        Self::with_defects(directory, profile, Defects::default())
    }

    /// An empty store that also has these deliberate defects.
    pub fn with_defects(directory: Directory, profile: Profile, defects: Defects) -> Self {
        Self {
            directory,
            profile,
            defects,
            report_style: super::transport::ReportStyle::default(),
            state: Mutex::new(State::default()),
        }
    }

    /// Locks the contents. Nothing panics while holding the lock, but a poisoned lock is still
    /// usable: the state is only ever changed whole.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The key of a user's distinguished folder.
    pub fn folder_key(&self, user: UserIndex, folder: MockFolder) -> FolderKey {
        FolderKey {
            mailbox: user as u16,
            folder,
        }
    }
}
