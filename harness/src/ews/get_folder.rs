//! GetFolder: read folders by id or well-known name; the harness uses it to probe access.
//!
//! Reference: <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/getfolder>

use super::operations::shape_and_ids;
use super::types::{Shape, TargetFolderId};

/// `m:GetFolder` (`GetFolderType`).
/// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/getfolder>
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GetFolder {
    /// `m:FolderShape`.
    pub folder_shape: Shape,
    /// `m:FolderIds`.
    pub folder_ids: Vec<TargetFolderId>,
}

shape_and_ids!(GetFolder {
    folder_shape: "FolderShape",
    folder_ids: "FolderIds",
});
