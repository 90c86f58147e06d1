//! GetItem: read items by id.
//!
//! Reference: <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/getitem>

use super::operations::shape_and_ids;
use super::types::{BaseItemId, Shape};

/// `m:GetItem` (`GetItemType`).
/// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/getitem>
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GetItem {
    /// `m:ItemShape`.
    pub item_shape: Shape,
    /// `m:ItemIds`.
    pub item_ids: Vec<BaseItemId>,
}

shape_and_ids!(GetItem {
    item_shape: "ItemShape",
    item_ids: "ItemIds",
});
