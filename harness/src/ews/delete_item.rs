//! DeleteItem: remove items; the harness uses it to clean up what it created.
//!
//! Reference: <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/deleteitem>

use super::MESSAGES_NS;
use super::types::{BaseItemId, wire_enum};
use super::xml::{Element, FromXml, ToXml, XmlError, XmlWriter};

wire_enum! {
    /// `DisposalType`: how an item is deleted.
    /// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/deleteitem>
    DeleteType {
        HardDelete,
        SoftDelete,
        MoveToDeletedItems,
    }
}

/// `m:DeleteItem` (`DeleteItemType`).
/// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/deleteitem>
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DeleteItem {
    /// `DeleteType`.
    pub delete_type: DeleteType,
    /// `m:ItemIds`.
    pub item_ids: Vec<BaseItemId>,
}

impl DeleteItem {
    /// Hard-deletes these items.
    pub fn hard(item_ids: impl IntoIterator<Item = impl Into<BaseItemId>>) -> Self {
        Self {
            delete_type: DeleteType::HardDelete,
            item_ids: item_ids.into_iter().map(Into::into).collect(),
        }
    }
}

impl ToXml for DeleteItem {
    fn to_xml(&self, w: &mut XmlWriter) {
        w.start("m:DeleteItem", &[("DeleteType", self.delete_type.as_str())]);
        w.list("m:ItemIds", &self.item_ids);
        w.end("m:DeleteItem");
    }
}

impl FromXml for DeleteItem {
    fn from_xml(e: &Element) -> Result<Self, XmlError> {
        Ok(Self {
            delete_type: e.parse_required_attr("DeleteType")?,
            item_ids: e.required_child(MESSAGES_NS, "ItemIds")?.read_children()?,
        })
    }
}
