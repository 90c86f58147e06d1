//! GetItem: read items by id.
//!
//! Reference: <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/getitem>

use super::MESSAGES_NS;
use super::types::{BaseItemId, Shape, read_item_ids};
use super::xml::{Element, FromXml, ToXml, XmlError, XmlWriter};

/// `m:GetItem` (`GetItemType`).
/// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/getitem>
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GetItem {
    /// `m:ItemShape`.
    pub item_shape: Shape,
    /// `m:ItemIds`.
    pub item_ids: Vec<BaseItemId>,
}

impl ToXml for GetItem {
    fn to_xml(&self, w: &mut XmlWriter) {
        w.start("m:GetItem", &[]);
        self.item_shape.write_as(w, "m:ItemShape");
        w.start("m:ItemIds", &[]);
        for id in &self.item_ids {
            id.to_xml(w);
        }
        w.end("m:ItemIds");
        w.end("m:GetItem");
    }
}

impl FromXml for GetItem {
    fn from_xml(e: &Element) -> Result<Self, XmlError> {
        Ok(Self {
            item_shape: Shape::read(e.required_child(MESSAGES_NS, "ItemShape")?)?,
            item_ids: read_item_ids(e.required_child(MESSAGES_NS, "ItemIds")?)?,
        })
    }
}
