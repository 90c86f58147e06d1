//! CreateItem: create drafts and other items, or send new messages directly.
//!
//! Reference: <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/createitem>

use super::types::{
    Item, TargetFolderId, read_saved_item_folder_id, wire_enum, write_saved_item_folder_id,
};
use super::xml::{Element, FromXml, ToXml, XmlError, XmlWriter};
use super::{MESSAGES_NS, TYPES_NS};

wire_enum! {
    /// `MessageDispositionType`: what CreateItem and UpdateItem do with a message.
    /// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/createitem>
    MessageDisposition {
        SaveOnly,
        SendOnly,
        SendAndSaveCopy,
    }
}

/// `m:CreateItem` (`CreateItemType`).
/// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/createitem>
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CreateItem {
    /// `MessageDisposition`: required for messages, absent for other item kinds.
    pub message_disposition: Option<MessageDisposition>,
    /// `m:SavedItemFolderId`: where to save (SaveOnly) or put the sent copy (SendAndSaveCopy).
    pub saved_item_folder_id: Option<TargetFolderId>,
    /// `m:Items`.
    pub items: Vec<Item>,
}

impl CreateItem {
    /// Creates these items with this disposition.
    pub fn new(message_disposition: Option<MessageDisposition>, items: Vec<Item>) -> Self {
        Self {
            message_disposition,
            saved_item_folder_id: None,
            items,
        }
    }

    /// Sets `SavedItemFolderId`.
    pub fn saved_item_folder_id(mut self, folder: impl Into<TargetFolderId>) -> Self {
        self.saved_item_folder_id = Some(folder.into());
        self
    }
}

impl ToXml for CreateItem {
    fn to_xml(&self, w: &mut XmlWriter) {
        let attrs: Vec<_> = self
            .message_disposition
            .iter()
            .map(|d| ("MessageDisposition", d.as_str()))
            .collect();
        w.start("m:CreateItem", &attrs);
        write_saved_item_folder_id(w, self.saved_item_folder_id.as_ref());
        w.list("m:Items", &self.items);
        w.end("m:CreateItem");
    }
}

impl FromXml for CreateItem {
    fn from_xml(e: &Element) -> Result<Self, XmlError> {
        let items = e.required_child(MESSAGES_NS, "Items")?;
        Ok(Self {
            message_disposition: e.parse_attr("MessageDisposition")?,
            saved_item_folder_id: read_saved_item_folder_id(e)?,
            items: items
                .elements()
                .filter(|i| i.namespace.as_deref() == Some(TYPES_NS))
                .map(Item::from_xml)
                .collect::<Result<_, _>>()?,
        })
    }
}
