//! Generated SendItem requests over a pool of real drafts: the `arb_*` strategies, and how a
//! generated case becomes bytes on the wire once the pool's ids are known.
//!
//! Ids come from the pool (fresh drafts on the target), so "valid" means valid to the server
//! too; a malformation then breaks one thing on purpose.

use std::collections::BTreeSet;

use proptest::prelude::*;
use proptest::sample::select;

use super::malformation::{Acceptable, Level, Malformation};
use super::wire::SchemaEra;
use crate::ews::{
    BaseItemId, DistinguishedFolderId, DistinguishedFolderName, ExchangeVersion, FolderId, ItemId,
    Mailbox, OccurrenceItemId, RecurringMasterItemId, RequestEnvelope, RequestHeaders,
    ResponseCode, SendItem, TargetFolderId,
};

/// How many drafts one generated request may name: SendItem answers per item, and five is
/// enough to exercise ordering and mixed outcomes without slowing the loop.
pub const POOL_SIZE: usize = 5;

/// Which kind of id names a pool draft.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdKind {
    /// `t:ItemId`.
    ItemId,
    /// `t:OccurrenceItemId` with the draft's id as `RecurringMasterId` (not a series: an error).
    Occurrence,
    /// `t:RecurringMasterItemId` with the draft's id as `OccurrenceId` (not a series: an error).
    RecurringMaster,
}

/// One entry of the generated `ItemIds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PoolRef {
    /// Which pool draft (0..[`POOL_SIZE`]).
    pub draft: usize,
    /// How it is named.
    pub kind: IdKind,
    /// Whether the change key is sent.
    pub change_key: bool,
}

/// Where the copy goes: always a folder of the sender's own mailbox, so the send is legal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FolderChoice {
    /// `DistinguishedFolderId` naming no mailbox.
    Distinguished(DistinguishedFolderName),
    /// `DistinguishedFolderId` naming the sender's own mailbox.
    Named(DistinguishedFolderName),
    /// The `FolderId` of the sender's Inbox.
    InboxFolderId,
}

impl FolderChoice {
    /// The folder the copy lands in.
    pub fn folder(self) -> DistinguishedFolderName {
        match self {
            FolderChoice::Distinguished(f) | FolderChoice::Named(f) => f,
            FolderChoice::InboxFolderId => DistinguishedFolderName::Inbox,
        }
    }
}

/// A generated SendItem, before malformation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SendShape {
    /// `SaveItemToFolder`.
    pub save: bool,
    /// `ItemIds`.
    pub items: Vec<PoolRef>,
    /// `SavedItemFolderId` (only with `save`).
    pub folder: Option<FolderChoice>,
    /// `RequestServerVersion`.
    pub version: Option<ExchangeVersion>,
    /// `MailboxCulture`.
    pub culture: Option<&'static str>,
    /// Sent by the impersonator acting as the pool's owner, when the target has one.
    pub impersonate: bool,
}

/// A generated case: a valid request, perhaps broken on purpose.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FuzzCase {
    /// The valid request.
    pub shape: SendShape,
    /// What breaks it, if anything.
    pub malformation: Option<Malformation>,
}

/// What the runner knows about the pool when it renders a case.
#[derive(Debug, Clone)]
pub struct PoolIds {
    /// The drafts' ids with their current change keys.
    pub drafts: Vec<ItemId>,
    /// Change keys the drafts had before the runner changed them (for stale change keys).
    pub stale: Vec<Option<String>>,
    /// A task in the principal's Tasks (Exchange creates tasks only in a tasks folder).
    pub task: ItemId,
    /// A well-formed id of a deleted item.
    pub ghost: ItemId,
    /// The sender's own address.
    pub sender: String,
    /// An address whose mailbox the sender has no rights on.
    pub outsider: String,
    /// The `FolderId` of the sender's Inbox.
    pub inbox: FolderId,
}

/// A request ready for the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The body bytes.
    pub body: Vec<u8>,
    /// `Content-Type`.
    pub content_type: String,
    /// `SOAPAction`.
    pub soap_action: Option<String>,
    /// How many ItemIds the body carries.
    pub item_count: usize,
}

/// Folders a valid copy may go to: the ones every mailbox has and a client would pick.
const COPY_FOLDERS: [DistinguishedFolderName; 4] = [
    DistinguishedFolderName::SentItems,
    DistinguishedFolderName::Inbox,
    DistinguishedFolderName::Drafts,
    DistinguishedFolderName::DeletedItems,
];

/// A legal SendItem over the pool: every shape the schema allows.
pub fn arb_send_shape(era: SchemaEra) -> impl Strategy<Value = SendShape> {
    let versions: Vec<ExchangeVersion> = match era {
        SchemaEra::Exchange2010Sp2 => vec![ExchangeVersion::Exchange2010Sp2],
        SchemaEra::Current => ExchangeVersion::ALL.to_vec(),
    };
    let item = (
        // Mostly ItemId: the other two kinds name calendar items and only probe error paths.
        prop_oneof![6 => Just(IdKind::ItemId), 1 => Just(IdKind::Occurrence), 1 => Just(IdKind::RecurringMaster)],
        any::<bool>(),
    );
    let items = proptest::sample::subsequence((0..POOL_SIZE).collect::<Vec<_>>(), 1..=POOL_SIZE)
        .prop_shuffle()
        .prop_flat_map(move |drafts| {
            let n = drafts.len();
            (Just(drafts), proptest::collection::vec(item.clone(), n))
        })
        .prop_map(|(drafts, kinds)| {
            drafts
                .into_iter()
                .zip(kinds)
                .map(|(draft, (kind, change_key))| PoolRef {
                    draft,
                    kind,
                    change_key,
                })
                .collect::<Vec<_>>()
        });
    let folder = prop_oneof![
        select(&COPY_FOLDERS[..]).prop_map(FolderChoice::Distinguished),
        select(&COPY_FOLDERS[..]).prop_map(FolderChoice::Named),
        Just(FolderChoice::InboxFolderId),
    ];
    (
        any::<bool>(),
        items,
        proptest::option::of(folder),
        proptest::option::of(select(versions)),
        proptest::option::of(select(&["en-US", "de-DE", "fr-FR"][..])),
        proptest::bool::weighted(0.2),
    )
        .prop_map(
            |(save, items, folder, version, culture, impersonate)| SendShape {
                save,
                items,
                // A folder only where the save rules allow one.
                folder: if save { folder } else { None },
                version,
                culture,
                impersonate,
            },
        )
}

/// A generated case: half valid, half broken by one of the named malformations. The oversize
/// body is rare because each one is 16 MiB.
pub fn arb_fuzz_case(era: SchemaEra) -> impl Strategy<Value = FuzzCase> {
    let broken = Malformation::ALL
        .iter()
        .map(|m| {
            (
                if *m == Malformation::Oversize { 1 } else { 20 },
                Just(Some(*m)).boxed(),
            )
        })
        .collect::<Vec<_>>();
    let malformation = prop_oneof![
        1 => Just(None).boxed(),
        1 => proptest::strategy::Union::new_weighted(broken).boxed(),
    ];
    (arb_send_shape(era), malformation).prop_map(|(shape, malformation)| FuzzCase {
        shape,
        malformation,
    })
}

impl FuzzCase {
    /// The shape the request really has once the malformation's own needs are met (a
    /// malformation of the first id needs an `ItemId` there, a folder malformation needs a
    /// folder, …).
    pub fn effective_shape(&self) -> SendShape {
        let mut shape = self.shape.clone();
        let first_item_id = |shape: &mut SendShape| {
            shape.items[0].kind = IdKind::ItemId;
            shape.items[0].change_key = true;
        };
        match self.malformation {
            Some(Malformation::FalseWithFolder) => {
                // Every item must fail for the folder's sake alone, so none may fail by itself.
                for item in &mut shape.items {
                    item.kind = IdKind::ItemId;
                }
                shape.save = false;
                shape.folder = Some(FolderChoice::Distinguished(
                    DistinguishedFolderName::SentItems,
                ));
            }
            Some(Malformation::ElementOutOfOrder | Malformation::BadDistinguishedFolderName) => {
                shape.save = true;
                shape.folder = Some(FolderChoice::Distinguished(
                    DistinguishedFolderName::SentItems,
                ));
            }
            Some(Malformation::FolderWithoutRights) => {
                for item in &mut shape.items {
                    item.kind = IdKind::ItemId;
                }
                shape.save = true;
            }
            Some(Malformation::StaleChangeKey) => {
                // Stale keys are a property of ItemIds; the other kinds stay out of the way.
                for item in &mut shape.items {
                    item.kind = IdKind::ItemId;
                }
                first_item_id(&mut shape);
            }
            Some(
                Malformation::MalformedId
                | Malformation::ForeignId
                | Malformation::NonMessageItem
                | Malformation::DuplicateItemId
                | Malformation::EmptyId
                | Malformation::ItemIdWithoutId,
            ) => first_item_id(&mut shape),
            _ => {}
        }
        shape
    }

    /// Drafts whose change key the runner must make stale before sending.
    pub fn stale_drafts(&self) -> Vec<usize> {
        match self.malformation {
            Some(Malformation::StaleChangeKey) => vec![self.effective_shape().items[0].draft],
            _ => Vec::new(),
        }
    }

    /// The typed request the case stands for, before any text-level malformation.
    pub fn send_item(&self, pool: &PoolIds) -> (SendItem, RequestHeaders) {
        let shape = self.effective_shape();
        let id_of = |r: &PoolRef| {
            let id = &pool.drafts[r.draft];
            let change_key = if !r.change_key {
                None
            } else if self.stale_drafts().contains(&r.draft) {
                pool.stale[r.draft]
                    .clone()
                    .or_else(|| id.change_key.clone())
            } else {
                id.change_key.clone()
            };
            match r.kind {
                IdKind::ItemId => BaseItemId::ItemId(ItemId {
                    id: id.id.clone(),
                    change_key,
                }),
                IdKind::Occurrence => BaseItemId::OccurrenceItemId(OccurrenceItemId {
                    recurring_master_id: id.id.clone(),
                    change_key,
                    instance_index: 1,
                }),
                IdKind::RecurringMaster => {
                    BaseItemId::RecurringMasterItemId(RecurringMasterItemId {
                        occurrence_id: id.id.clone(),
                        change_key,
                    })
                }
            }
        };
        let mut ids: Vec<BaseItemId> = shape.items.iter().map(id_of).collect();
        match self.malformation {
            Some(Malformation::MalformedId) => {
                ids[0] = BaseItemId::ItemId(ItemId::new("%BadItemId%"))
            }
            Some(Malformation::ForeignId) => ids[0] = BaseItemId::ItemId(pool.ghost.clone()),
            Some(Malformation::NonMessageItem) => ids[0] = BaseItemId::ItemId(pool.task.clone()),
            Some(Malformation::EmptyId) => ids[0] = BaseItemId::ItemId(ItemId::new("")),
            Some(Malformation::DuplicateItemId) => ids.push(ids[0].clone()),
            _ => {}
        }
        let folder = match self.malformation {
            Some(Malformation::FolderWithoutRights) => Some(TargetFolderId::DistinguishedFolderId(
                DistinguishedFolderId::in_mailbox(
                    DistinguishedFolderName::SentItems,
                    pool.outsider.clone(),
                ),
            )),
            _ => shape.folder.map(|f| match f {
                FolderChoice::Distinguished(name) => {
                    TargetFolderId::DistinguishedFolderId(DistinguishedFolderId::new(name))
                }
                FolderChoice::Named(name) => {
                    TargetFolderId::DistinguishedFolderId(DistinguishedFolderId {
                        id: name,
                        change_key: None,
                        mailbox: Some(Mailbox::smtp(pool.sender.clone())),
                    })
                }
                FolderChoice::InboxFolderId => TargetFolderId::FolderId(pool.inbox.clone()),
            }),
        };
        let send = SendItem {
            save_item_to_folder: shape.save,
            item_ids: ids,
            saved_item_folder_id: folder,
        };
        let headers = RequestHeaders {
            request_server_version: shape.version,
            exchange_impersonation: None,
            mailbox_culture: shape.culture.map(str::to_owned),
        };
        (send, headers)
    }

    /// The request as it goes on the wire; `max_body` is the size an oversize body exceeds.
    pub fn render(
        &self,
        pool: &PoolIds,
        impersonation: Option<crate::ews::ConnectingSid>,
        max_body: usize,
    ) -> Rendered {
        let (send, mut headers) = self.send_item(pool);
        headers.exchange_impersonation = impersonation;
        let item_count = send.item_ids.len();
        let xml = RequestEnvelope::new(send).with_headers(headers).to_xml();
        let mut rendered = Rendered {
            body: Vec::new(),
            content_type: "text/xml; charset=utf-8".into(),
            soap_action: Some(
                "http://schemas.microsoft.com/exchange/services/2006/messages/SendItem".into(),
            ),
            item_count,
        };
        rendered.body = match self.malformation {
            Some(m) => break_text(m, xml, max_body, &mut rendered),
            None => xml.into_bytes(),
        };
        if self.malformation == Some(Malformation::EmptyItemIds) {
            rendered.item_count = 0;
        }
        rendered
    }

    /// What an acceptable answer is.
    pub fn acceptable(&self) -> Acceptable {
        match self.malformation.map(Malformation::acceptable) {
            None => Acceptable::Normal,
            Some(Acceptable::Item {
                index: usize::MAX,
                codes,
            }) => Acceptable::Item {
                index: self.effective_shape().items.len(),
                codes,
            },
            Some(a) => a,
        }
    }

    /// The malformation's name, or `valid`.
    pub fn name(&self) -> &'static str {
        self.malformation.map_or("valid", Malformation::name)
    }

    /// The malformation's level, if any.
    pub fn level(&self) -> Option<Level> {
        self.malformation.map(Malformation::level)
    }

    /// What each response message must be, in ItemId order: `None` for Success, else an Error
    /// with one of the codes. `None` overall when the answer is not response messages at all.
    /// An `ItemId` without `ChangeKey` is sent, as the ItemId page makes the key optional.
    pub fn expected_messages(&self) -> Option<Vec<Option<&'static [ResponseCode]>>> {
        self.expected_messages_when(false)
    }

    /// Like [`FuzzCase::expected_messages`]; with `change_key_required`, as Exchange answers:
    /// an `ItemId` without `ChangeKey` gets ErrorChangeKeyRequiredForWriteOperations (or
    /// ErrorStaleObject, "not up-to-date or was not supplied") and is not sent.
    /// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/responsecode>
    pub fn expected_messages_when(
        &self,
        change_key_required: bool,
    ) -> Option<Vec<Option<&'static [ResponseCode]>>> {
        const REQUIRED: &[ResponseCode] = &[
            ResponseCode::ErrorChangeKeyRequiredForWriteOperations,
            ResponseCode::ErrorStaleObject,
        ];
        let shape = self.effective_shape();
        let without_key = |i: usize| {
            shape
                .items
                .get(i)
                .is_some_and(|r| r.kind == IdKind::ItemId && !r.change_key)
        };
        let count = self.effective_shape().items.len()
            + usize::from(self.malformation == Some(Malformation::DuplicateItemId));
        let (bad, all) = match self.acceptable() {
            Acceptable::Fault(_) | Acceptable::Status(_) => return None,
            Acceptable::Normal => (None, None),
            Acceptable::AllItems(codes) => (None, Some(codes)),
            Acceptable::Item { index, codes } => (Some((index, codes)), None),
        };
        Some(
            (0..count)
                .map(|i| match (all, bad) {
                    (Some(codes), _) => Some(codes),
                    (None, Some((index, codes))) if index == i => Some(codes),
                    _ if change_key_required && without_key(i) => Some(REQUIRED),
                    _ => self.normal_item_codes(i),
                })
                .collect(),
        )
    }

    /// The pool drafts the request sends, if the server answers as it should.
    pub fn drafts_sent(&self) -> BTreeSet<usize> {
        self.drafts_sent_when(false)
    }

    /// Like [`FuzzCase::drafts_sent`], with ChangeKeys required as
    /// [`FuzzCase::expected_messages_when`] says.
    pub fn drafts_sent_when(&self, change_key_required: bool) -> BTreeSet<usize> {
        let shape = self.effective_shape();
        let Some(expected) = self.expected_messages_when(change_key_required) else {
            return BTreeSet::new();
        };
        shape
            .items
            .iter()
            .enumerate()
            .filter(|(i, _)| expected.get(*i).is_some_and(Option::is_none))
            .map(|(_, r)| r.draft)
            .collect()
    }

    /// What a valid item of this case gets: Success for an `ItemId` of a draft, an error for the
    /// id kinds that name calendar items.
    pub fn normal_item_codes(&self, index: usize) -> Option<&'static [ResponseCode]> {
        let shape = self.effective_shape();
        match shape.items.get(index).map(|r| r.kind) {
            Some(IdKind::ItemId) | None => None,
            Some(_) => Some(&[
                ResponseCode::ErrorItemNotFound,
                ResponseCode::ErrorInvalidIdMalformed,
                ResponseCode::ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange,
                ResponseCode::ErrorInvalidOperation,
                ResponseCode::ErrorCalendarCannotUseIdForOccurrenceId,
                ResponseCode::ErrorCalendarCannotUseIdForRecurringMasterId,
            ]),
        }
    }
}

/// Breaks the serialized request as `m` says. The writer's output is predictable (prefixes
/// `soap:`, `m:`, `t:`, attributes as written), which is what these text edits rely on.
fn break_text(m: Malformation, xml: String, max_body: usize, rendered: &mut Rendered) -> Vec<u8> {
    use Malformation::*;
    let text = match m {
        MissingSaveItemToFolder => xml.replacen(" SaveItemToFolder=\"true\"", "", 1).replacen(
            " SaveItemToFolder=\"false\"",
            "",
            1,
        ),
        SaveItemToFolderCapitalized => xml
            .replacen("SaveItemToFolder=\"true\"", "SaveItemToFolder=\"True\"", 1)
            .replacen(
                "SaveItemToFolder=\"false\"",
                "SaveItemToFolder=\"False\"",
                1,
            ),
        EmptyItemIds => match (xml.find("<m:ItemIds>"), xml.find("</m:ItemIds>")) {
            (Some(a), Some(b)) => format!(
                "{}<m:ItemIds/>{}",
                &xml[..a],
                &xml[b + "</m:ItemIds>".len()..]
            ),
            _ => xml,
        },
        ElementOutOfOrder => match (
            xml.find("<m:ItemIds>"),
            xml.find("</m:ItemIds>"),
            xml.find("<m:SavedItemFolderId>"),
            xml.find("</m:SavedItemFolderId>"),
        ) {
            (Some(a), Some(b), Some(c), Some(d)) => {
                let ids = &xml[a..b + "</m:ItemIds>".len()];
                let folder = &xml[c..d + "</m:SavedItemFolderId>".len()];
                format!(
                    "{}{folder}{ids}{}",
                    &xml[..a],
                    &xml[d + "</m:SavedItemFolderId>".len()..]
                )
            }
            _ => xml,
        },
        WrongNamespace => xml.replacen(
            "xmlns:m=\"http://schemas.microsoft.com/exchange/services/2006/messages\"",
            "xmlns:m=\"urn:not-ews:messages\"",
            1,
        ),
        HttpsSoapNamespace => xml.replacen(
            "http://schemas.xmlsoap.org/soap/envelope/",
            "https://schemas.xmlsoap.org/soap/envelope/",
            1,
        ),
        UnknownElement => xml.replacen("</m:SendItem>", "<m:Unexpected/></m:SendItem>", 1),
        UnknownAttribute => xml.replacen("<m:SendItem ", "<m:SendItem Unexpected=\"1\" ", 1),
        BadDistinguishedFolderName => xml.replacen(
            "<t:DistinguishedFolderId Id=\"sentitems\"",
            "<t:DistinguishedFolderId Id=\"SentItems\"",
            1,
        ),
        ItemIdWithoutId => match xml.find("<t:ItemId Id=\"") {
            Some(a) => {
                let start = a + "<t:ItemId ".len();
                let end = xml[start + 4..]
                    .find('"')
                    .map_or(start, |e| start + 4 + e + 1);
                format!("{}{}", &xml[..start], xml[end..].trim_start())
            }
            None => xml,
        },
        Truncated => {
            let half = xml.len() / 2;
            let cut = (0..=half)
                .rev()
                .find(|i| xml.is_char_boundary(*i))
                .unwrap_or(0);
            xml[..cut].to_owned()
        }
        InvalidUtf8 => return crate::case::Mangle::InvalidUtf8.apply(xml.into_bytes(), max_body),
        Doctype => xml.replacen(
            "?>\n",
            "?>\n<!DOCTYPE soap:Envelope [<!ENTITY who \"ewsconf\">]>\n",
            1,
        ),
        EntityBomb => {
            let mut dtd = String::from("<!DOCTYPE soap:Envelope [<!ENTITY l0 \"lol\">");
            for i in 1..10 {
                dtd.push_str(&format!(
                    "<!ENTITY l{i} \"{}\">",
                    format!("&l{};", i - 1).repeat(10)
                ));
            }
            dtd.push_str("]>\n");
            xml.replacen("?>\n", &format!("?>\n{dtd}"), 1).replacen(
                "<m:ItemIds>",
                "<m:ItemIds>&l9;",
                1,
            )
        }
        Oversize => return crate::case::Mangle::Oversize.apply(xml.into_bytes(), max_body),
        WrongContentType => {
            rendered.content_type = "application/json".into();
            xml
        }
        MissingSoapAction => {
            rendered.soap_action = None;
            xml
        }
        OddSoapAction => {
            rendered.soap_action = Some(
                "http://schemas.microsoft.com/exchange/services/2006/messages/DeleteItem".into(),
            );
            xml
        }
        EmptyBody => String::new(),
        // Semantic malformations were applied to the typed request.
        FalseWithFolder | MalformedId | ForeignId | StaleChangeKey | NonMessageItem
        | DuplicateItemId | FolderWithoutRights | EmptyId => xml,
    };
    text.into_bytes()
}
