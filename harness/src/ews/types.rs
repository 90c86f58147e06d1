//! Types from the EWS `types` namespace that several operations share: item and folder ids,
//! mailboxes, items, shapes, and the enumerations they use.
//!
//! Reference: <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/ews-xml-elements-in-exchange>

use super::property::RawProperty;
use super::xml::{Element, FromXml, ToXml, XmlError, XmlWriter, bool_str};
use super::{MESSAGES_NS, TYPES_NS};

/// Declares a closed enumeration whose variants are spelled on the wire as named, or as the
/// literal after `=` where the schema spells one otherwise.
macro_rules! wire_enum {
    (@wire $variant:ident) => { stringify!($variant) };
    (@wire $variant:ident $wire:literal) => { $wire };
    ($(#[$meta:meta])* $name:ident {
        $($(#[$vmeta:meta])* $variant:ident $(= $wire:literal)?),+ $(,)?
    }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $(
                $(#[$vmeta])*
                #[doc = concat!("`", wire_enum!(@wire $variant $($wire)?), "`")]
                $variant
            ),+
        }

        impl $name {
            /// Every value, in schema order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The value as spelled on the wire.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => wire_enum!(@wire $variant $($wire)?)),+
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = crate::ews::UnknownValue;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $(wire_enum!(@wire $variant $($wire)?) => Ok($name::$variant),)+
                    _ => Err(crate::ews::UnknownValue {
                        kind: stringify!($name),
                        value: s.to_owned(),
                    }),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use wire_enum;

wire_enum! {
    /// `ExchangeVersionType`: the schema version a client asks for in `RequestServerVersion`.
    /// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/requestserverversion>
    ExchangeVersion {
        Exchange2007,
        Exchange2007Sp1 = "Exchange2007_SP1",
        Exchange2009,
        Exchange2010,
        Exchange2010Sp1 = "Exchange2010_SP1",
        Exchange2010Sp2 = "Exchange2010_SP2",
        Exchange2012,
        Exchange2013,
        Exchange2013Sp1 = "Exchange2013_SP1",
        Exchange2015,
        Exchange2016,
        V2015_10_05,
        V2016_01_06,
        V2016_04_13,
        V2016_07_13,
        V2016_10_10,
        V2017_01_07,
        V2017_04_14,
        V2017_07_11,
        V2017_10_09,
        V2018_01_08,
    }
}

impl ExchangeVersion {
    /// The versions that the Exchange 2010 SP2 schema already knows.
    pub const EXCHANGE_2010_SP2: &'static [ExchangeVersion] = &[
        ExchangeVersion::Exchange2007,
        ExchangeVersion::Exchange2007Sp1,
        ExchangeVersion::Exchange2010,
        ExchangeVersion::Exchange2010Sp1,
        ExchangeVersion::Exchange2010Sp2,
    ];
}

wire_enum! {
    /// `DistinguishedFolderIdNameType`: the well-known folders of a mailbox.
    /// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/distinguishedfolderid>
    DistinguishedFolderName {
        Calendar = "calendar",
        Contacts = "contacts",
        DeletedItems = "deleteditems",
        Drafts = "drafts",
        Inbox = "inbox",
        Journal = "journal",
        Notes = "notes",
        Outbox = "outbox",
        SentItems = "sentitems",
        Tasks = "tasks",
        MsgFolderRoot = "msgfolderroot",
        PublicFoldersRoot = "publicfoldersroot",
        Root = "root",
        JunkEmail = "junkemail",
        SearchFolders = "searchfolders",
        VoiceMail = "voicemail",
        RecoverableItemsRoot = "recoverableitemsroot",
        RecoverableItemsDeletions = "recoverableitemsdeletions",
        RecoverableItemsVersions = "recoverableitemsversions",
        RecoverableItemsPurges = "recoverableitemspurges",
        RecoverableItemsDiscoveryHolds = "recoverableitemsdiscoveryholds",
        ArchiveRoot = "archiveroot",
        ArchiveMsgFolderRoot = "archivemsgfolderroot",
        ArchiveDeletedItems = "archivedeleteditems",
        ArchiveInbox = "archiveinbox",
        ArchiveRecoverableItemsRoot = "archiverecoverableitemsroot",
        ArchiveRecoverableItemsDeletions = "archiverecoverableitemsdeletions",
        ArchiveRecoverableItemsVersions = "archiverecoverableitemsversions",
        ArchiveRecoverableItemsPurges = "archiverecoverableitemspurges",
        ArchiveRecoverableItemsDiscoveryHolds = "archiverecoverableitemsdiscoveryholds",
        SyncIssues = "syncissues",
        Conflicts = "conflicts",
        LocalFailures = "localfailures",
        ServerFailures = "serverfailures",
        RecipientCache = "recipientcache",
        QuickContacts = "quickcontacts",
        ConversationHistory = "conversationhistory",
        AdminAuditLogs = "adminauditlogs",
        ToDoSearch = "todosearch",
        MyContacts = "mycontacts",
        Directory = "directory",
        ImContactList = "imcontactlist",
        PeopleConnect = "peopleconnect",
        Favorites = "favorites",
        MeContact = "mecontact",
        PersonMetadata = "personmetadata",
        TeamSpaceActivity = "teamspaceactivity",
        TeamSpaceMessaging = "teamspacemessaging",
        TeamSpaceWorkItems = "teamspaceworkitems",
        Scheduled = "scheduled",
        OrionNotes = "orionnotes",
        TagItems = "tagitems",
        AllTaggedItems = "alltaggeditems",
        AllCategorizedItems = "allcategorizeditems",
        ExternalContacts = "externalcontacts",
        TeamChat = "teamchat",
        TeamChatHistory = "teamchathistory",
        YammerData = "yammerdata",
        YammerRoot = "yammerroot",
        YammerInbound = "yammerinbound",
        YammerOutbound = "yammeroutbound",
        YammerFeeds = "yammerfeeds",
        KaizalaData = "kaizaladata",
        MessageIngestion = "messageingestion",
        OneDriveRoot = "onedriveroot",
        OneDriveRecycleBin = "onedriverecylebin",
        OneDriveSystem = "onedrivesystem",
        OneDriveVolume = "onedrivevolume",
        Important = "important",
        Starred = "starred",
        Archive = "archive",
    }
}

impl DistinguishedFolderName {
    /// The folder names that the Exchange 2010 SP2 schema already knows.
    pub const EXCHANGE_2010_SP2: &'static [DistinguishedFolderName] = {
        use DistinguishedFolderName::*;
        &[
            Calendar,
            Contacts,
            DeletedItems,
            Drafts,
            Inbox,
            Journal,
            Notes,
            Outbox,
            SentItems,
            Tasks,
            MsgFolderRoot,
            PublicFoldersRoot,
            Root,
            JunkEmail,
            SearchFolders,
            VoiceMail,
            RecoverableItemsRoot,
            RecoverableItemsDeletions,
            RecoverableItemsVersions,
            RecoverableItemsPurges,
            ArchiveRoot,
            ArchiveMsgFolderRoot,
            ArchiveDeletedItems,
            ArchiveRecoverableItemsRoot,
            ArchiveRecoverableItemsDeletions,
            ArchiveRecoverableItemsVersions,
            ArchiveRecoverableItemsPurges,
        ]
    };
}

wire_enum! {
    /// `MailboxTypeType`: what kind of address a `Mailbox` names.
    /// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/mailboxtype>
    MailboxType {
        Unknown,
        OneOff,
        Mailbox,
        PublicDl = "PublicDL",
        PrivateDl = "PrivateDL",
        Contact,
        PublicFolder,
        GroupMailbox,
        ImplicitContact,
        User,
    }
}

wire_enum! {
    /// `BodyTypeType`: the format of an item body.
    /// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/body>
    BodyType {
        Html = "HTML",
        Text,
    }
}

wire_enum! {
    /// `DefaultShapeNamesType`: the base set of properties a Get or Find returns.
    /// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/baseshape>
    BaseShape {
        IdOnly,
        Default,
        AllProperties,
    }
}

wire_enum! {
    /// The `UnindexedFieldURIType` values this harness asks for or restricts on.
    /// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/fielduri>
    FieldUri {
        ItemSubject = "item:Subject",
        ItemClass = "item:ItemClass",
        ItemParentFolderId = "item:ParentFolderId",
        ItemBody = "item:Body",
        ItemDateTimeSent = "item:DateTimeSent",
        ItemDateTimeCreated = "item:DateTimeCreated",
        ItemInReplyTo = "item:InReplyTo",
        MessageToRecipients = "message:ToRecipients",
        MessageCcRecipients = "message:CcRecipients",
        MessageBccRecipients = "message:BccRecipients",
        MessageFrom = "message:From",
        MessageSender = "message:Sender",
        MessageIsRead = "message:IsRead",
        MessageIsDeliveryReceiptRequested = "message:IsDeliveryReceiptRequested",
        MessageIsReadReceiptRequested = "message:IsReadReceiptRequested",
        MessageInternetMessageId = "message:InternetMessageId",
        MessageReferences = "message:References",
        ItemConversationId = "item:ConversationId",
        FolderDisplayName = "folder:DisplayName",
        FolderTotalCount = "folder:TotalCount",
    }
}

/// `t:FieldURI`, the element that names a property in shapes, restrictions and updates.
impl ToXml for FieldUri {
    fn to_xml(&self, w: &mut XmlWriter) {
        w.empty("t:FieldURI", &[("FieldURI", self.as_str())]);
    }
}

/// Writes an element whose identity is `Id` and an optional `ChangeKey` (ItemId, FolderId, …).
fn write_id(w: &mut XmlWriter, name: &str, id: &str, change_key: Option<&str>) {
    let mut attrs = vec![("Id", id)];
    if let Some(ck) = change_key {
        attrs.push(("ChangeKey", ck));
    }
    w.empty(name, &attrs);
}

/// Reads `Id` (required) and `ChangeKey` (optional).
fn read_id(e: &Element) -> Result<(String, Option<String>), XmlError> {
    Ok((
        e.required_attr("Id")?.to_owned(),
        e.attr("ChangeKey").map(str::to_owned),
    ))
}

/// `t:ItemId`: the id of an item in the store, with the change key of the version the client saw.
/// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/itemid>
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ItemId {
    /// `Id`: the opaque item id.
    pub id: String,
    /// `ChangeKey`: the version of the item the client saw.
    pub change_key: Option<String>,
}

impl ItemId {
    /// An item id without a change key.
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            change_key: None,
        }
    }

    /// The same id with this change key.
    pub fn with_change_key(mut self, change_key: impl Into<String>) -> Self {
        self.change_key = Some(change_key.into());
        self
    }

    fn write_as(&self, w: &mut XmlWriter, name: &str) {
        write_id(w, name, &self.id, self.change_key.as_deref());
    }

    fn read(e: &Element) -> Result<Self, XmlError> {
        let (id, change_key) = read_id(e)?;
        Ok(Self { id, change_key })
    }
}

impl ToXml for ItemId {
    fn to_xml(&self, w: &mut XmlWriter) {
        self.write_as(w, "t:ItemId");
    }
}

impl FromXml for ItemId {
    fn from_xml(e: &Element) -> Result<Self, XmlError> {
        Self::read(e)
    }
}

/// `t:OccurrenceItemId`: one occurrence of a recurring series, by master id and index.
/// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/occurrenceitemid>
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OccurrenceItemId {
    /// `RecurringMasterId`: the id of the series' master.
    pub recurring_master_id: String,
    /// `ChangeKey`.
    pub change_key: Option<String>,
    /// `InstanceIndex`: the 1-based index of the occurrence.
    pub instance_index: i32,
}

/// `t:RecurringMasterItemId`: the master of the series an occurrence belongs to.
/// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/recurringmasteritemid>
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecurringMasterItemId {
    /// `OccurrenceId`: the id of an occurrence of the series.
    pub occurrence_id: String,
    /// `ChangeKey`.
    pub change_key: Option<String>,
}

/// One entry of an `ItemIds` list: the choice the schema's `NonEmptyArrayOfBaseItemIdsType` allows.
/// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/itemids>
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BaseItemId {
    /// `t:ItemId`.
    ItemId(ItemId),
    /// `t:OccurrenceItemId`.
    OccurrenceItemId(OccurrenceItemId),
    /// `t:RecurringMasterItemId`.
    RecurringMasterItemId(RecurringMasterItemId),
}

impl From<ItemId> for BaseItemId {
    fn from(id: ItemId) -> Self {
        BaseItemId::ItemId(id)
    }
}

impl BaseItemId {
    /// The change key, whichever kind of id this is.
    pub fn change_key(&self) -> Option<&str> {
        match self {
            BaseItemId::ItemId(i) => i.change_key.as_deref(),
            BaseItemId::OccurrenceItemId(i) => i.change_key.as_deref(),
            BaseItemId::RecurringMasterItemId(i) => i.change_key.as_deref(),
        }
    }
}

impl ToXml for BaseItemId {
    fn to_xml(&self, w: &mut XmlWriter) {
        match self {
            BaseItemId::ItemId(id) => id.to_xml(w),
            BaseItemId::OccurrenceItemId(o) => {
                let index = o.instance_index.to_string();
                let mut attrs = vec![("RecurringMasterId", o.recurring_master_id.as_str())];
                if let Some(ck) = &o.change_key {
                    attrs.push(("ChangeKey", ck));
                }
                attrs.push(("InstanceIndex", &index));
                w.empty("t:OccurrenceItemId", &attrs);
            }
            BaseItemId::RecurringMasterItemId(r) => {
                let mut attrs = vec![("OccurrenceId", r.occurrence_id.as_str())];
                if let Some(ck) = &r.change_key {
                    attrs.push(("ChangeKey", ck));
                }
                w.empty("t:RecurringMasterItemId", &attrs);
            }
        }
    }
}

impl FromXml for BaseItemId {
    fn from_xml(e: &Element) -> Result<Self, XmlError> {
        if e.namespace.as_deref() != Some(TYPES_NS) {
            return Err(e.error("expected an item id in the types namespace"));
        }
        match e.name.as_str() {
            "ItemId" => Ok(BaseItemId::ItemId(ItemId::read(e)?)),
            "OccurrenceItemId" => Ok(BaseItemId::OccurrenceItemId(OccurrenceItemId {
                recurring_master_id: e.required_attr("RecurringMasterId")?.to_owned(),
                change_key: e.attr("ChangeKey").map(str::to_owned),
                instance_index: e.parse_required_attr("InstanceIndex")?,
            })),
            "RecurringMasterItemId" => {
                Ok(BaseItemId::RecurringMasterItemId(RecurringMasterItemId {
                    occurrence_id: e.required_attr("OccurrenceId")?.to_owned(),
                    change_key: e.attr("ChangeKey").map(str::to_owned),
                }))
            }
            other => Err(e.error(format!(
                "`{other}` is not ItemId, OccurrenceItemId or RecurringMasterItemId"
            ))),
        }
    }
}

/// `t:FolderId`: the id of a folder in the store.
/// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/folderid>
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FolderId {
    /// `Id`.
    pub id: String,
    /// `ChangeKey`.
    pub change_key: Option<String>,
}

impl FolderId {
    /// A folder id without a change key.
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            change_key: None,
        }
    }

    fn write_as(&self, w: &mut XmlWriter, name: &str) {
        write_id(w, name, &self.id, self.change_key.as_deref());
    }

    fn read(e: &Element) -> Result<Self, XmlError> {
        let (id, change_key) = read_id(e)?;
        Ok(Self { id, change_key })
    }
}

/// `t:Mailbox` (`EmailAddressType`): a mailbox named by SMTP address.
/// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/mailbox>
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Mailbox {
    /// `Name`: the display name.
    pub name: Option<String>,
    /// `EmailAddress`: the SMTP address.
    pub email_address: Option<String>,
    /// `RoutingType`, usually `SMTP`.
    pub routing_type: Option<String>,
    /// `MailboxType`.
    pub mailbox_type: Option<MailboxType>,
}

impl Mailbox {
    /// A mailbox named by its SMTP address alone.
    pub fn smtp(address: impl Into<String>) -> Self {
        Self {
            email_address: Some(address.into()),
            ..Self::default()
        }
    }

    /// Writes the mailbox as an element named `name`.
    pub(crate) fn write_as(&self, w: &mut XmlWriter, name: &str) {
        w.start(name, &[]);
        w.opt_text_element("t:Name", self.name.as_deref());
        w.opt_text_element("t:EmailAddress", self.email_address.as_deref());
        w.opt_text_element("t:RoutingType", self.routing_type.as_deref());
        w.opt_text_element("t:MailboxType", self.mailbox_type.map(MailboxType::as_str));
        w.end(name);
    }
}

impl FromXml for Mailbox {
    fn from_xml(e: &Element) -> Result<Self, XmlError> {
        Ok(Self {
            name: e.child_text(TYPES_NS, "Name"),
            email_address: e.child_text(TYPES_NS, "EmailAddress"),
            routing_type: e.child_text(TYPES_NS, "RoutingType"),
            mailbox_type: e.parse_child(TYPES_NS, "MailboxType")?,
        })
    }
}

/// `t:DistinguishedFolderId`: a well-known folder, in the caller's mailbox or the one named.
/// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/distinguishedfolderid>
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DistinguishedFolderId {
    /// `Id`: which well-known folder.
    pub id: DistinguishedFolderName,
    /// `ChangeKey`.
    pub change_key: Option<String>,
    /// `Mailbox`: whose folder; absent means the caller's own (or the impersonated user's).
    pub mailbox: Option<Mailbox>,
}

impl DistinguishedFolderId {
    /// The caller's own well-known folder.
    pub fn new(id: DistinguishedFolderName) -> Self {
        Self {
            id,
            change_key: None,
            mailbox: None,
        }
    }

    /// The well-known folder of the mailbox with this SMTP address.
    pub fn in_mailbox(id: DistinguishedFolderName, address: impl Into<String>) -> Self {
        Self {
            id,
            change_key: None,
            mailbox: Some(Mailbox::smtp(address)),
        }
    }
}

/// A folder named either by id or by well-known name (`TargetFolderIdType` and
/// `NonEmptyArrayOfBaseFolderIdsType` entries).
/// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/saveditemfolderid>
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TargetFolderId {
    /// `t:FolderId`.
    FolderId(FolderId),
    /// `t:DistinguishedFolderId`.
    DistinguishedFolderId(DistinguishedFolderId),
}

impl From<DistinguishedFolderName> for TargetFolderId {
    fn from(name: DistinguishedFolderName) -> Self {
        TargetFolderId::DistinguishedFolderId(DistinguishedFolderId::new(name))
    }
}

impl From<DistinguishedFolderId> for TargetFolderId {
    fn from(id: DistinguishedFolderId) -> Self {
        TargetFolderId::DistinguishedFolderId(id)
    }
}

impl From<FolderId> for TargetFolderId {
    fn from(id: FolderId) -> Self {
        TargetFolderId::FolderId(id)
    }
}

impl ToXml for TargetFolderId {
    fn to_xml(&self, w: &mut XmlWriter) {
        match self {
            TargetFolderId::FolderId(f) => f.write_as(w, "t:FolderId"),
            TargetFolderId::DistinguishedFolderId(d) => {
                let mut attrs = vec![("Id", d.id.as_str())];
                if let Some(ck) = &d.change_key {
                    attrs.push(("ChangeKey", ck));
                }
                match &d.mailbox {
                    None => w.empty("t:DistinguishedFolderId", &attrs),
                    Some(mailbox) => {
                        w.start("t:DistinguishedFolderId", &attrs);
                        mailbox.write_as(w, "t:Mailbox");
                        w.end("t:DistinguishedFolderId");
                    }
                }
            }
        }
    }
}

impl FromXml for TargetFolderId {
    fn from_xml(e: &Element) -> Result<Self, XmlError> {
        if e.is(TYPES_NS, "FolderId") {
            Ok(TargetFolderId::FolderId(FolderId::read(e)?))
        } else if e.is(TYPES_NS, "DistinguishedFolderId") {
            let id = e.parse_required_attr("Id")?;
            Ok(TargetFolderId::DistinguishedFolderId(
                DistinguishedFolderId {
                    id,
                    change_key: e.attr("ChangeKey").map(str::to_owned),
                    mailbox: e
                        .child(TYPES_NS, "Mailbox")
                        .map(Mailbox::from_xml)
                        .transpose()?,
                },
            ))
        } else {
            Err(e.error("expected t:FolderId or t:DistinguishedFolderId"))
        }
    }
}

/// Writes a request's `m:SavedItemFolderId` (CreateItem, UpdateItem, SendItem), if it has one.
pub(crate) fn write_saved_item_folder_id(w: &mut XmlWriter, folder: Option<&TargetFolderId>) {
    if let Some(folder) = folder {
        w.list("m:SavedItemFolderId", std::slice::from_ref(folder));
    }
}

/// Reads a request's optional `m:SavedItemFolderId`, which holds exactly one folder id.
pub(crate) fn read_saved_item_folder_id(
    request: &Element,
) -> Result<Option<TargetFolderId>, XmlError> {
    let Some(container) = request.child(MESSAGES_NS, "SavedItemFolderId") else {
        return Ok(None);
    };
    let mut folders: Vec<TargetFolderId> = container.read_children()?;
    match folders.len() {
        1 => Ok(folders.pop()),
        n => Err(container.error(format!("expected exactly one folder id, found {n}"))),
    }
}

/// `t:Body`: an item body and its format.
/// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/body>
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Body {
    /// `BodyType`.
    pub body_type: BodyType,
    /// The body text.
    pub content: String,
}

impl Body {
    /// A plain-text body.
    pub fn text(content: impl Into<String>) -> Self {
        Self {
            body_type: BodyType::Text,
            content: content.into(),
        }
    }

    fn write_as(&self, w: &mut XmlWriter, name: &str) {
        w.start(name, &[("BodyType", self.body_type.as_str())]);
        w.text(&self.content);
        w.end(name);
    }

    fn read(e: &Element) -> Result<Self, XmlError> {
        Ok(Self {
            body_type: e.parse_required_attr("BodyType")?,
            content: e.text(),
        })
    }
}

/// The kind of item an `Items` entry is, by its element name.
/// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/items>
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ItemKind {
    /// `t:Item`: a generic item.
    Item,
    /// `t:Message`: an e-mail message, including delivery and non-delivery reports.
    Message,
    /// `t:Task`: a task; not a message, so SendItem refuses it.
    Task,
}

impl ItemKind {
    /// The element name.
    pub const fn element_name(self) -> &'static str {
        match self {
            ItemKind::Item => "Item",
            ItemKind::Message => "Message",
            ItemKind::Task => "Task",
        }
    }

    fn from_element_name(name: &str) -> Option<Self> {
        match name {
            "Item" => Some(ItemKind::Item),
            "Message" => Some(ItemKind::Message),
            "Task" => Some(ItemKind::Task),
            _ => None,
        }
    }
}

/// An item as created, returned or found: the subset of `ItemType` and `MessageType` properties
/// the harness reads and writes, in schema order.
///
/// Message properties (`Sender` onwards) are written only for [`ItemKind::Message`].
/// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/message-ex15websvcsotherref>
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Item {
    /// Which element this is.
    pub kind: ItemKind,
    /// `ItemId`.
    pub item_id: Option<ItemId>,
    /// `ParentFolderId`.
    pub parent_folder_id: Option<FolderId>,
    /// `ItemClass`, e.g. `IPM.Note` or `REPORT.IPM.Note.NDR`.
    pub item_class: Option<String>,
    /// `Subject`.
    pub subject: Option<String>,
    /// `Body`.
    pub body: Option<Body>,
    /// `DateTimeReceived` (`xs:dateTime`, kept as written).
    pub date_time_received: Option<String>,
    /// `InReplyTo`: the Message-ID of the message this one answers (a reply, or a report
    /// about the original).
    /// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/inreplyto>
    pub in_reply_to: Option<String>,
    /// `IsDraft`.
    pub is_draft: Option<bool>,
    /// `DateTimeSent`.
    pub date_time_sent: Option<String>,
    /// `DateTimeCreated`.
    pub date_time_created: Option<String>,
    /// `Sender`: who sent it, when that differs from `From` (sending on behalf).
    pub sender: Option<Mailbox>,
    /// `ToRecipients`.
    pub to_recipients: Vec<Mailbox>,
    /// `CcRecipients`.
    pub cc_recipients: Vec<Mailbox>,
    /// `BccRecipients`.
    pub bcc_recipients: Vec<Mailbox>,
    /// `IsReadReceiptRequested`.
    pub is_read_receipt_requested: Option<bool>,
    /// `IsDeliveryReceiptRequested`.
    pub is_delivery_receipt_requested: Option<bool>,
    /// `From`: whose message this is.
    pub from: Option<Mailbox>,
    /// `InternetMessageId`: the message's `Message-ID` header.
    /// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/internetmessageid>
    pub internet_message_id: Option<String>,
    /// `IsRead`.
    pub is_read: Option<bool>,
    /// `References`: the `References` header, the Message-IDs of the messages it follows.
    /// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/references>
    pub references: Option<String>,
    /// Every other property element, kept as written and written back where the schema puts
    /// it: `Sensitivity`, `Importance`, `ExtendedProperty`, ….
    pub raw_properties: Vec<RawProperty>,
    /// `ConversationId`: the conversation the message belongs to; a reply keeps its original's.
    /// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/conversationid>
    pub conversation_id: Option<ItemId>,
    /// When this is a response object (`t:ReplyToItem`, `t:ReplyAllToItem`, `t:ForwardItem`)
    /// rather than an item: which, and about what. Only the response object's own properties
    /// (subject, body, recipients, receipt flags, From) are then written.
    pub response: Option<SmartResponse>,
}

wire_enum! {
    /// What a response object does with the item it names; the element's name.
    /// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/replytoitem>
    ResponseVerb {
        ReplyToItem,
        ReplyAllToItem,
        ForwardItem,
    }
}

impl ResponseVerb {
    /// The `PidTagLastVerbExecuted` value sending such a response records on the original:
    /// 102 replied to the sender, 103 replied to all, 104 forwarded (MS-OXOMSG).
    pub const fn last_verb_executed(self) -> u32 {
        match self {
            ResponseVerb::ReplyToItem => 102,
            ResponseVerb::ReplyAllToItem => 103,
            ResponseVerb::ForwardItem => 104,
        }
    }
}

/// The part of a response object (`t:SmartResponseType`) that an item does not have.
/// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/forwarditem>
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SmartResponse {
    /// Reply, reply to all, or forward.
    pub verb: ResponseVerb,
    /// `ReferenceItemId`: the item replied to or forwarded.
    pub reference_item_id: Option<ItemId>,
    /// `NewBodyContent`: the text put above the quoted original.
    pub new_body_content: Option<Body>,
    /// `IsSpecificMessageReply` (`ReplyAllToItem` only).
    pub is_specific_message_reply: Option<bool>,
}

impl SmartResponse {
    /// A response of this kind to `reference`.
    pub fn new(verb: ResponseVerb, reference: ItemId) -> Self {
        Self {
            verb,
            reference_item_id: Some(reference),
            new_body_content: None,
            is_specific_message_reply: None,
        }
    }
}

impl Item {
    /// An empty item of this kind.
    pub fn new(kind: ItemKind) -> Self {
        Self {
            kind,
            item_id: None,
            parent_folder_id: None,
            item_class: None,
            subject: None,
            body: None,
            date_time_received: None,
            in_reply_to: None,
            is_draft: None,
            date_time_sent: None,
            date_time_created: None,
            sender: None,
            to_recipients: Vec::new(),
            cc_recipients: Vec::new(),
            bcc_recipients: Vec::new(),
            is_read_receipt_requested: None,
            is_delivery_receipt_requested: None,
            from: None,
            internet_message_id: None,
            is_read: None,
            references: None,
            raw_properties: Vec::new(),
            conversation_id: None,
            response: None,
        }
    }

    /// A message with a subject and nothing else.
    pub fn message(subject: impl Into<String>) -> Self {
        Self {
            subject: Some(subject.into()),
            ..Self::new(ItemKind::Message)
        }
    }

    /// A task with a subject.
    pub fn task(subject: impl Into<String>) -> Self {
        Self {
            subject: Some(subject.into()),
            ..Self::new(ItemKind::Task)
        }
    }

    /// Adds a `To` recipient by SMTP address.
    pub fn to(mut self, address: impl Into<String>) -> Self {
        self.to_recipients.push(Mailbox::smtp(address));
        self
    }

    /// Sets a plain-text body.
    pub fn with_body(mut self, text: impl Into<String>) -> Self {
        self.body = Some(Body::text(text));
        self
    }
}

fn write_recipients(w: &mut XmlWriter, name: &str, list: &[Mailbox]) {
    if list.is_empty() {
        return;
    }
    w.start(name, &[]);
    for m in list {
        m.write_as(w, "t:Mailbox");
    }
    w.end(name);
}

fn write_single_recipient(w: &mut XmlWriter, name: &str, mailbox: Option<&Mailbox>) {
    if let Some(m) = mailbox {
        w.start(name, &[]);
        m.write_as(w, "t:Mailbox");
        w.end(name);
    }
}

fn read_recipients(e: &Element, name: &str) -> Result<Vec<Mailbox>, XmlError> {
    match e.child(TYPES_NS, name) {
        None => Ok(Vec::new()),
        Some(list) => list
            .elements()
            .filter(|m| m.is(TYPES_NS, "Mailbox"))
            .map(Mailbox::from_xml)
            .collect(),
    }
}

fn read_single_recipient(e: &Element, name: &str) -> Result<Option<Mailbox>, XmlError> {
    e.child(TYPES_NS, name)
        .and_then(|r| r.child(TYPES_NS, "Mailbox"))
        .map(Mailbox::from_xml)
        .transpose()
}

impl ToXml for Item {
    fn to_xml(&self, w: &mut XmlWriter) {
        if let Some(response) = &self.response {
            return self.write_response(w, response);
        }
        let name = format!("t:{}", self.kind.element_name());
        w.start(&name, &[]);
        // The raw properties go between the typed ones, each where the schema puts it.
        let mut raw = RawInterleave::new(self.kind, &self.raw_properties);
        if let Some(id) = &self.item_id {
            raw.before(w, "t:ItemId");
            id.to_xml(w);
        }
        if let Some(f) = &self.parent_folder_id {
            raw.before(w, "t:ParentFolderId");
            f.write_as(w, "t:ParentFolderId");
        }
        raw.text(w, "t:ItemClass", self.item_class.as_deref());
        raw.text(w, "t:Subject", self.subject.as_deref());
        if let Some(body) = &self.body {
            raw.before(w, "t:Body");
            body.write_as(w, "t:Body");
        }
        raw.text(w, "t:DateTimeReceived", self.date_time_received.as_deref());
        raw.text(w, "t:InReplyTo", self.in_reply_to.as_deref());
        raw.flag(w, "t:IsDraft", self.is_draft);
        raw.text(w, "t:DateTimeSent", self.date_time_sent.as_deref());
        raw.text(w, "t:DateTimeCreated", self.date_time_created.as_deref());
        if let Some(c) = &self.conversation_id {
            raw.before(w, "t:ConversationId");
            c.write_as(w, "t:ConversationId");
        }
        if self.kind == ItemKind::Message {
            raw.before(w, "t:Sender");
            write_single_recipient(w, "t:Sender", self.sender.as_ref());
            raw.before(w, "t:ToRecipients");
            write_recipients(w, "t:ToRecipients", &self.to_recipients);
            raw.before(w, "t:CcRecipients");
            write_recipients(w, "t:CcRecipients", &self.cc_recipients);
            raw.before(w, "t:BccRecipients");
            write_recipients(w, "t:BccRecipients", &self.bcc_recipients);
            raw.flag(
                w,
                "t:IsReadReceiptRequested",
                self.is_read_receipt_requested,
            );
            raw.flag(
                w,
                "t:IsDeliveryReceiptRequested",
                self.is_delivery_receipt_requested,
            );
            raw.before(w, "t:From");
            write_single_recipient(w, "t:From", self.from.as_ref());
            raw.text(
                w,
                "t:InternetMessageId",
                self.internet_message_id.as_deref(),
            );
            raw.flag(w, "t:IsRead", self.is_read);
            raw.text(w, "t:References", self.references.as_deref());
        }
        raw.rest(w);
        w.end(&name);
    }
}

impl Item {
    /// `PidTagLastVerbExecuted` (0x1081): 102 replied, 103 replied to all, 104 forwarded, when
    /// the item carries it (a shape asked for it, as the harness's GetItem does).
    pub fn last_verb_executed(&self) -> Option<u32> {
        let path = super::property::RawPath::last_verb_executed();
        self.raw_properties
            .iter()
            .find(|p| p.is(&path))?
            .value()?
            .trim()
            .parse()
            .ok()
    }

    /// Writes this as the response object `response` says, in `SmartResponseType` order.
    fn write_response(&self, w: &mut XmlWriter, response: &SmartResponse) {
        let name = format!("t:{}", response.verb.as_str());
        w.start(&name, &[]);
        w.opt_text_element("t:Subject", self.subject.as_deref());
        if let Some(body) = &self.body {
            body.write_as(w, "t:Body");
        }
        write_recipients(w, "t:ToRecipients", &self.to_recipients);
        write_recipients(w, "t:CcRecipients", &self.cc_recipients);
        write_recipients(w, "t:BccRecipients", &self.bcc_recipients);
        w.opt_bool_element("t:IsReadReceiptRequested", self.is_read_receipt_requested);
        w.opt_bool_element(
            "t:IsDeliveryReceiptRequested",
            self.is_delivery_receipt_requested,
        );
        write_single_recipient(w, "t:From", self.from.as_ref());
        if let Some(id) = &response.reference_item_id {
            id.write_as(w, "t:ReferenceItemId");
        }
        if let Some(body) = &response.new_body_content {
            body.write_as(w, "t:NewBodyContent");
        }
        if response.verb == ResponseVerb::ReplyAllToItem {
            w.opt_bool_element(
                "t:IsSpecificMessageReply",
                response.is_specific_message_reply,
            );
        }
        w.end(&name);
    }
}

/// Writes an item's raw properties in schema order, each before the first typed property that
/// comes after it.
struct RawInterleave<'a> {
    kind: ItemKind,
    sorted: Vec<(usize, &'a RawProperty)>,
    next: usize,
}

impl<'a> RawInterleave<'a> {
    fn new(kind: ItemKind, raw: &'a [RawProperty]) -> Self {
        let mut sorted: Vec<(usize, &RawProperty)> = raw
            .iter()
            .map(|p| (super::property::position(kind, &p.name), p))
            .collect();
        // Stable: repeated elements (ExtendedProperty) keep their order.
        sorted.sort_by_key(|(at, _)| *at);
        Self {
            kind,
            sorted,
            next: 0,
        }
    }

    /// Writes every raw property that goes before the typed element `name` (`t:Subject`).
    fn before(&mut self, w: &mut XmlWriter, name: &str) {
        // Most items carry no raw property: nothing to place, nothing to look up.
        if self.next == self.sorted.len() {
            return;
        }
        let local = name.strip_prefix("t:").unwrap_or(name);
        let limit = super::property::position(self.kind, local);
        while let Some((at, p)) = self.sorted.get(self.next)
            && *at < limit
        {
            w.raw(&p.xml);
            self.next += 1;
        }
    }

    /// Element `name` (`t:Subject`) holding `text`, when there is one, after the raw properties
    /// before it.
    fn text(&mut self, w: &mut XmlWriter, name: &str, text: Option<&str>) {
        if let Some(text) = text {
            self.before(w, name);
            w.text_element(name, text);
        }
    }

    /// Element `name` holding `value` as `xs:boolean`, when there is one.
    fn flag(&mut self, w: &mut XmlWriter, name: &str, value: Option<bool>) {
        self.text(w, name, value.map(bool_str));
    }

    /// Writes what is left.
    fn rest(&mut self, w: &mut XmlWriter) {
        for (_, p) in &self.sorted[self.next..] {
            w.raw(&p.xml);
        }
        self.next = self.sorted.len();
    }
}

impl FromXml for Item {
    fn from_xml(e: &Element) -> Result<Self, XmlError> {
        let verb = (e.namespace.as_deref() == Some(TYPES_NS))
            .then(|| e.name.parse::<ResponseVerb>().ok())
            .flatten();
        let kind = match (e.namespace.as_deref(), ItemKind::from_element_name(&e.name)) {
            (Some(TYPES_NS), Some(kind)) => kind,
            _ if verb.is_some() => ItemKind::Message,
            _ => {
                return Err(e.error(format!(
                    "`{}` is not an item kind this harness reads",
                    e.name
                )));
            }
        };
        let body = e.child(TYPES_NS, "Body").map(Body::read).transpose()?;
        Ok(Self {
            kind,
            item_id: e.child(TYPES_NS, "ItemId").map(ItemId::read).transpose()?,
            parent_folder_id: e
                .child(TYPES_NS, "ParentFolderId")
                .map(FolderId::read)
                .transpose()?,
            item_class: e.child_text(TYPES_NS, "ItemClass"),
            subject: e.child_text(TYPES_NS, "Subject"),
            body,
            date_time_received: e.child_text(TYPES_NS, "DateTimeReceived"),
            in_reply_to: e.child_text(TYPES_NS, "InReplyTo"),
            is_draft: e.child_bool(TYPES_NS, "IsDraft")?,
            date_time_sent: e.child_text(TYPES_NS, "DateTimeSent"),
            date_time_created: e.child_text(TYPES_NS, "DateTimeCreated"),
            sender: read_single_recipient(e, "Sender")?,
            to_recipients: read_recipients(e, "ToRecipients")?,
            cc_recipients: read_recipients(e, "CcRecipients")?,
            bcc_recipients: read_recipients(e, "BccRecipients")?,
            is_read_receipt_requested: e.child_bool(TYPES_NS, "IsReadReceiptRequested")?,
            is_delivery_receipt_requested: e.child_bool(TYPES_NS, "IsDeliveryReceiptRequested")?,
            from: read_single_recipient(e, "From")?,
            internet_message_id: e.child_text(TYPES_NS, "InternetMessageId"),
            is_read: e.child_bool(TYPES_NS, "IsRead")?,
            references: e.child_text(TYPES_NS, "References"),
            raw_properties: super::property::raw_properties(e),
            conversation_id: e
                .child(TYPES_NS, "ConversationId")
                .map(ItemId::read)
                .transpose()?,
            response: match verb {
                None => None,
                Some(verb) => Some(SmartResponse {
                    verb,
                    reference_item_id: e
                        .child(TYPES_NS, "ReferenceItemId")
                        .map(ItemId::read)
                        .transpose()?,
                    new_body_content: e
                        .child(TYPES_NS, "NewBodyContent")
                        .map(Body::read)
                        .transpose()?,
                    is_specific_message_reply: e.child_bool(TYPES_NS, "IsSpecificMessageReply")?,
                }),
            },
        })
    }
}

/// `t:Folder`: a folder as GetFolder returns it.
/// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/folder>
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Folder {
    /// `FolderId`.
    pub folder_id: Option<FolderId>,
    /// `ParentFolderId`.
    pub parent_folder_id: Option<FolderId>,
    /// `FolderClass`, e.g. `IPF.Note`.
    pub folder_class: Option<String>,
    /// `DisplayName`.
    pub display_name: Option<String>,
    /// `TotalCount`.
    pub total_count: Option<i32>,
    /// `ChildFolderCount`.
    pub child_folder_count: Option<i32>,
    /// `UnreadCount`.
    pub unread_count: Option<i32>,
}

impl ToXml for Folder {
    fn to_xml(&self, w: &mut XmlWriter) {
        w.start("t:Folder", &[]);
        if let Some(f) = &self.folder_id {
            f.write_as(w, "t:FolderId");
        }
        if let Some(f) = &self.parent_folder_id {
            f.write_as(w, "t:ParentFolderId");
        }
        w.opt_text_element("t:FolderClass", self.folder_class.as_deref());
        w.opt_text_element("t:DisplayName", self.display_name.as_deref());
        for (name, value) in [
            ("t:TotalCount", self.total_count),
            ("t:ChildFolderCount", self.child_folder_count),
            ("t:UnreadCount", self.unread_count),
        ] {
            w.opt_text_element(name, value.map(|v| v.to_string()).as_deref());
        }
        w.end("t:Folder");
    }
}

impl FromXml for Folder {
    fn from_xml(e: &Element) -> Result<Self, XmlError> {
        Ok(Self {
            folder_id: e
                .child(TYPES_NS, "FolderId")
                .map(FolderId::read)
                .transpose()?,
            parent_folder_id: e
                .child(TYPES_NS, "ParentFolderId")
                .map(FolderId::read)
                .transpose()?,
            folder_class: e.child_text(TYPES_NS, "FolderClass"),
            display_name: e.child_text(TYPES_NS, "DisplayName"),
            total_count: e.parse_child(TYPES_NS, "TotalCount")?,
            child_folder_count: e.parse_child(TYPES_NS, "ChildFolderCount")?,
            unread_count: e.parse_child(TYPES_NS, "UnreadCount")?,
        })
    }
}

/// `t:ItemShape` / `t:FolderShape`: which properties to return.
/// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/itemshape>
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Shape {
    /// `BaseShape`.
    pub base_shape: BaseShape,
    /// `AdditionalProperties`: extra `FieldURI`s.
    pub additional_properties: Vec<FieldUri>,
    /// `AdditionalProperties` the typed model does not name (other `FieldURI` values,
    /// `ExtendedFieldURI`s), kept as written.
    pub raw_properties: Vec<super::property::RawPath>,
}

impl Shape {
    /// A base shape with no additional properties.
    pub fn new(base_shape: BaseShape) -> Self {
        Self {
            base_shape,
            additional_properties: Vec::new(),
            raw_properties: Vec::new(),
        }
    }

    /// This shape asking for `path` too.
    pub fn and_raw(mut self, path: super::property::RawPath) -> Self {
        self.raw_properties.push(path);
        self
    }

    /// `IdOnly` plus these properties.
    pub fn id_and(properties: &[FieldUri]) -> Self {
        Self {
            base_shape: BaseShape::IdOnly,
            additional_properties: properties.to_vec(),
            raw_properties: Vec::new(),
        }
    }

    pub(crate) fn write_as(&self, w: &mut XmlWriter, name: &str) {
        w.start(name, &[]);
        w.text_element("t:BaseShape", self.base_shape.as_str());
        if !self.additional_properties.is_empty() || !self.raw_properties.is_empty() {
            w.start("t:AdditionalProperties", &[]);
            for f in &self.additional_properties {
                f.to_xml(w);
            }
            for raw in &self.raw_properties {
                super::property::PropertyPath::Raw(raw.clone()).write(w);
            }
            w.end("t:AdditionalProperties");
        }
        w.end(name);
    }

    pub(crate) fn read(e: &Element) -> Result<Self, XmlError> {
        let base_shape = e
            .parse_child(TYPES_NS, "BaseShape")?
            .ok_or_else(|| e.error("element `BaseShape` is required"))?;
        let mut additional_properties = Vec::new();
        let mut raw_properties = Vec::new();
        if let Some(props) = e.child(TYPES_NS, "AdditionalProperties") {
            for p in props.elements() {
                match super::property::PropertyPath::read(p) {
                    super::property::PropertyPath::Field(f) => additional_properties.push(f),
                    super::property::PropertyPath::Raw(r) => raw_properties.push(r),
                }
            }
        }
        Ok(Self {
            base_shape,
            additional_properties,
            raw_properties,
        })
    }
}

/// `bool` as `xs:boolean` for attributes.
pub(crate) fn bool_attr(value: bool) -> &'static str {
    bool_str(value)
}
