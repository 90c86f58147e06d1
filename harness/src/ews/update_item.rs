//! UpdateItem: change an item's properties; with `MessageDisposition="SendAndSaveCopy"` on a draft
//! it also sends it, which is how many clients send drafts instead of SendItem.
//!
//! Reference: <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/updateitem>

use super::create_item::MessageDisposition;
use super::property::PropertyPath;
use super::types::{
    BaseItemId, FieldUri, Item, TargetFolderId, read_saved_item_folder_id, wire_enum,
    write_saved_item_folder_id,
};
use super::xml::{Element, FromXml, ToXml, XmlError, XmlWriter};
use super::{MESSAGES_NS, TYPES_NS};

wire_enum! {
    /// `ConflictResolutionType`.
    /// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/updateitem>
    ConflictResolution {
        NeverOverwrite,
        AutoResolve,
        AlwaysOverwrite,
    }
}

/// One entry of `t:Updates`.
/// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/updates-item>
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ItemUpdate {
    /// `t:SetItemField`: replace the property with the value `item` carries.
    SetItemField {
        /// The property.
        path: PropertyPath,
        /// An item holding the new value.
        item: Item,
    },
    /// `t:AppendToItemField`: append `item`'s value to the property.
    AppendToItemField {
        /// The property.
        path: PropertyPath,
        /// An item holding the value to append.
        item: Item,
    },
    /// `t:DeleteItemField`: remove the property.
    DeleteItemField {
        /// The property.
        path: PropertyPath,
    },
}

impl ItemUpdate {
    fn write(&self, w: &mut XmlWriter) {
        let (name, path, item) = match self {
            ItemUpdate::SetItemField { path, item } => ("t:SetItemField", path, Some(item)),
            ItemUpdate::AppendToItemField { path, item } => {
                ("t:AppendToItemField", path, Some(item))
            }
            ItemUpdate::DeleteItemField { path } => ("t:DeleteItemField", path, None),
        };
        w.start(name, &[]);
        path.write(w);
        if let Some(item) = item {
            item.to_xml(w);
        }
        w.end(name);
    }

    fn read(e: &Element) -> Result<Self, XmlError> {
        let path = PropertyPath::read_child(e)?;
        let item = || -> Result<Item, XmlError> {
            let value = e
                .elements()
                .find(|c| {
                    !(c.is(TYPES_NS, "FieldURI")
                        || c.is(TYPES_NS, "IndexedFieldURI")
                        || c.is(TYPES_NS, "ExtendedFieldURI"))
                })
                .ok_or_else(|| e.error("an item holding the value is required"))?;
            Item::from_xml(value)
        };
        match e.name.as_str() {
            "SetItemField" => Ok(ItemUpdate::SetItemField {
                path,
                item: item()?,
            }),
            "AppendToItemField" => Ok(ItemUpdate::AppendToItemField {
                path,
                item: item()?,
            }),
            "DeleteItemField" => Ok(ItemUpdate::DeleteItemField { path }),
            other => Err(e.error(format!("`{other}` is not an item change description"))),
        }
    }
}

/// `t:ItemChange`: the updates for one item.
/// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/itemchange>
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ItemChange {
    /// The item to change.
    pub item_id: BaseItemId,
    /// `t:Updates`: at least one.
    pub updates: Vec<ItemUpdate>,
}

/// `m:UpdateItem` (`UpdateItemType`).
/// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/updateitem>
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UpdateItem {
    /// `ConflictResolution`.
    pub conflict_resolution: ConflictResolution,
    /// `MessageDisposition`: `SendAndSaveCopy` sends the draft after updating it.
    pub message_disposition: Option<MessageDisposition>,
    /// `m:SavedItemFolderId`: where the sent copy goes.
    pub saved_item_folder_id: Option<TargetFolderId>,
    /// `m:ItemChanges`.
    pub item_changes: Vec<ItemChange>,
}

impl UpdateItem {
    /// Sets the subject of a draft and sends it, keeping a copy.
    pub fn send_and_save_copy(item_id: impl Into<BaseItemId>, subject: impl Into<String>) -> Self {
        Self {
            conflict_resolution: ConflictResolution::AutoResolve,
            message_disposition: Some(MessageDisposition::SendAndSaveCopy),
            saved_item_folder_id: None,
            item_changes: vec![ItemChange {
                item_id: item_id.into(),
                updates: vec![ItemUpdate::SetItemField {
                    path: FieldUri::ItemSubject.into(),
                    item: Item::message(subject),
                }],
            }],
        }
    }
}

impl ToXml for UpdateItem {
    fn to_xml(&self, w: &mut XmlWriter) {
        let mut attrs = vec![("ConflictResolution", self.conflict_resolution.as_str())];
        if let Some(d) = self.message_disposition {
            attrs.push(("MessageDisposition", d.as_str()));
        }
        w.start("m:UpdateItem", &attrs);
        write_saved_item_folder_id(w, self.saved_item_folder_id.as_ref());
        w.start("m:ItemChanges", &[]);
        for change in &self.item_changes {
            w.start("t:ItemChange", &[]);
            change.item_id.to_xml(w);
            w.start("t:Updates", &[]);
            for u in &change.updates {
                u.write(w);
            }
            w.end("t:Updates");
            w.end("t:ItemChange");
        }
        w.end("m:ItemChanges");
        w.end("m:UpdateItem");
    }
}

impl FromXml for UpdateItem {
    fn from_xml(e: &Element) -> Result<Self, XmlError> {
        let changes = e.required_child(MESSAGES_NS, "ItemChanges")?;
        let mut item_changes = Vec::new();
        for c in changes.elements() {
            let id = c
                .elements()
                .next()
                .ok_or_else(|| c.error("`ItemChange` needs an item id"))?;
            let updates = c.required_child(TYPES_NS, "Updates")?;
            item_changes.push(ItemChange {
                item_id: BaseItemId::from_xml(id)?,
                updates: updates
                    .elements()
                    .map(ItemUpdate::read)
                    .collect::<Result<_, _>>()?,
            });
        }
        Ok(Self {
            conflict_resolution: e.parse_required_attr("ConflictResolution")?,
            message_disposition: e.parse_attr("MessageDisposition")?,
            saved_item_folder_id: read_saved_item_folder_id(e)?,
            item_changes,
        })
    }
}
