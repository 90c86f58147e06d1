//! The EWS wire model: the SOAP envelope and its headers, one file per operation, response codes.
//!
//! Requests are typed values that serialize with quick-xml; responses parse into typed values.
//! Parsing matches namespaces, never prefixes.

/// SOAP 1.1 envelope namespace.
pub const SOAP_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// EWS messages namespace (operations and response messages).
pub const MESSAGES_NS: &str = "http://schemas.microsoft.com/exchange/services/2006/messages";
/// EWS types namespace (items, folders, ids, headers).
pub const TYPES_NS: &str = "http://schemas.microsoft.com/exchange/services/2006/types";
/// EWS errors namespace, used in the detail of a SOAP Fault.
pub const ERRORS_NS: &str = "http://schemas.microsoft.com/exchange/services/2006/errors";

pub mod create_item;
pub mod delete_item;
pub mod find_item;
pub mod get_folder;
pub mod get_item;
pub mod operations;
pub mod property;
pub mod response;
pub mod response_code;
pub mod send_item;
pub mod soap;
pub mod types;
pub mod update_item;
pub mod xml;

pub use create_item::{CreateItem, MessageDisposition};
pub use delete_item::{DeleteItem, DeleteType};
pub use find_item::{ContainmentComparison, ContainmentMode, FindItem, ItemTraversal, Restriction};
pub use get_folder::GetFolder;
pub use get_item::GetItem;
pub use operations::Request;
pub use property::{PropertyPath, RawPath, RawProperty};
pub use response::{OperationResponse, ResponseClass, ResponseMessage, RootFolder};
pub use response_code::ResponseCode;
pub use send_item::SendItem;
pub use soap::{
    ConnectingSid, FaultCode, FaultDetail, RequestEnvelope, RequestHeaders, ResponseBody,
    ResponseEnvelope, ServerVersionInfo, SoapFault,
};
pub use types::{
    BaseItemId, BaseShape, Body, BodyType, DistinguishedFolderId, DistinguishedFolderName,
    ExchangeVersion, FieldUri, Folder, FolderId, Item, ItemId, ItemKind, Mailbox, MailboxType,
    OccurrenceItemId, RecurringMasterItemId, ResponseVerb, Shape, SmartResponse, TargetFolderId,
};
pub use update_item::{ConflictResolution, ItemChange, ItemUpdate, UpdateItem};
pub use xml::{Element, FromXml, ToXml, XmlError};

/// A string that is not one of an enumeration's values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a valid {kind}")]
pub struct UnknownValue {
    /// The enumeration's name.
    pub kind: &'static str,
    /// The value that was given.
    pub value: String,
}
