//! GetFolder: read folders by id or well-known name; the harness uses it to probe access.
//!
//! Reference: <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/getfolder>

use super::MESSAGES_NS;
use super::types::{Shape, TargetFolderId, read_folder_ids};
use super::xml::{Element, FromXml, ToXml, XmlError, XmlWriter};

/// `m:GetFolder` (`GetFolderType`).
/// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/getfolder>
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GetFolder {
    /// `m:FolderShape`.
    pub folder_shape: Shape,
    /// `m:FolderIds`.
    pub folder_ids: Vec<TargetFolderId>,
}

impl ToXml for GetFolder {
    fn to_xml(&self, w: &mut XmlWriter) {
        w.start("m:GetFolder", &[]);
        self.folder_shape.write_as(w, "m:FolderShape");
        w.start("m:FolderIds", &[]);
        for f in &self.folder_ids {
            f.to_xml(w);
        }
        w.end("m:FolderIds");
        w.end("m:GetFolder");
    }
}

impl FromXml for GetFolder {
    fn from_xml(e: &Element) -> Result<Self, XmlError> {
        Ok(Self {
            folder_shape: Shape::read(e.required_child(MESSAGES_NS, "FolderShape")?)?,
            folder_ids: read_folder_ids(e.required_child(MESSAGES_NS, "FolderIds")?)?,
        })
    }
}
