//! The reference mock: an in-memory EWS mailbox server behind `/EWS/Exchange.asmx`.
//!
//! [`MockServer::start`] runs it in-process on `127.0.0.1:0`; `ewsconf mock` runs it on its own.
//! The [`Store`] holds mailboxes, folders, items and rights; [`operations`] answer the seven
//! operations a client needs; the [`Profile`] decides whether Exchange's documented delegate
//! quirks happen; the [`transport`] delivers sent mail and files DRs and NDRs; [`wsdl`] serves the WSDL.

pub mod batch;
pub mod conn;
pub mod directory;
pub mod folder;
pub mod ids;
pub mod operations;
pub mod profile;
pub mod server;
pub mod store;
pub mod transport;
pub mod wsdl;

pub use crate::limits::{DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_ITEMS_PER_REQUEST};
pub use conn::ConnectionLimits;
pub use directory::{Directory, DirectoryError, FolderPermission};
pub use folder::MockFolder;
pub use profile::{Defects, Profile, Quirk};
pub use server::{EWS_PATH, MockConfig, MockError, MockServer};
pub use store::Store;
pub use transport::ReportStyle;
