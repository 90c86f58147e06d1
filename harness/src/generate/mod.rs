//! Generated requests: proptest strategies over the wire model.
//!
//! [`wire`] covers every shape the schema allows for the operations the harness speaks; the same
//! strategies drive the schema-conformance properties and, later, the fuzz command.

pub mod wire;

pub use wire::SchemaEra;
