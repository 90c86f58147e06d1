//! SendItem: send items that already exist in the store, usually drafts.
//!
//! Reference: <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/senditem>

use super::MESSAGES_NS;
use super::types::{
    BaseItemId, TargetFolderId, bool_attr, read_saved_item_folder_id, write_saved_item_folder_id,
};
use super::xml::{Element, FromXml, ToXml, XmlError, XmlWriter};

/// `m:SendItem` (`SendItemType`).
///
/// | `save_item_to_folder` | `saved_item_folder_id` | result |
/// |---|---|---|
/// | `true` | `None` | copy in Sent Items |
/// | `true` | a folder | copy in that folder |
/// | `false` | `None` | no copy |
/// | `false` | a folder | `ErrorInvalidSendItemSaveSettings` |
///
/// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/senditem>
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SendItem {
    /// `SaveItemToFolder`: whether to keep a copy of the sent message.
    pub save_item_to_folder: bool,
    /// `m:ItemIds`: the items to send; one response message comes back for each, in order.
    pub item_ids: Vec<BaseItemId>,
    /// `m:SavedItemFolderId`: where the copy goes, instead of the sender's Sent Items.
    pub saved_item_folder_id: Option<TargetFolderId>,
}

impl SendItem {
    /// Sends these items, keeping a copy in Sent Items.
    pub fn new(item_ids: impl IntoIterator<Item = impl Into<BaseItemId>>) -> Self {
        Self {
            save_item_to_folder: true,
            item_ids: item_ids.into_iter().map(Into::into).collect(),
            saved_item_folder_id: None,
        }
    }

    /// Sets `SaveItemToFolder`.
    pub fn save_item_to_folder(mut self, save: bool) -> Self {
        self.save_item_to_folder = save;
        self
    }

    /// Sets `SavedItemFolderId`.
    pub fn saved_item_folder_id(mut self, folder: impl Into<TargetFolderId>) -> Self {
        self.saved_item_folder_id = Some(folder.into());
        self
    }
}

impl ToXml for SendItem {
    fn to_xml(&self, w: &mut XmlWriter) {
        w.start(
            "m:SendItem",
            &[("SaveItemToFolder", bool_attr(self.save_item_to_folder))],
        );
        w.list("m:ItemIds", &self.item_ids);
        write_saved_item_folder_id(w, self.saved_item_folder_id.as_ref());
        w.end("m:SendItem");
    }
}

impl FromXml for SendItem {
    fn from_xml(e: &Element) -> Result<Self, XmlError> {
        Ok(Self {
            save_item_to_folder: e
                .attr_bool("SaveItemToFolder")?
                .ok_or_else(|| e.error("attribute `SaveItemToFolder` is required"))?,
            item_ids: e.required_child(MESSAGES_NS, "ItemIds")?.read_children()?,
            saved_item_folder_id: read_saved_item_folder_id(e)?,
        })
    }
}

/// Where SendItem keeps the copy of a sent item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SavedCopy<F> {
    /// No copy is kept.
    None,
    /// A copy in the sender's Sent Items.
    SentItems,
    /// A copy in this folder.
    Folder(F),
}

/// The save rules of `SaveItemToFolder` and `SavedItemFolderId`, the table on [`SendItem`]:
/// where the copy goes, or `ErrorInvalidSendItemSaveSettings` for a folder with no copy asked
/// for. The mock follows them and generated cases expect them.
///
/// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/senditem>
pub fn saved_copy<F>(
    save_item_to_folder: bool,
    saved_item_folder_id: Option<F>,
) -> Result<SavedCopy<F>, super::ResponseCode> {
    match (save_item_to_folder, saved_item_folder_id) {
        (true, None) => Ok(SavedCopy::SentItems),
        (true, Some(folder)) => Ok(SavedCopy::Folder(folder)),
        (false, None) => Ok(SavedCopy::None),
        (false, Some(_)) => Err(super::ResponseCode::ErrorInvalidSendItemSaveSettings),
    }
}
