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
