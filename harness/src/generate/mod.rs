//! Generated requests: proptest strategies over the wire model.
//!
//! [`wire`] covers every shape the schema allows for the operations the harness speaks; [`send`]
//! generates SendItem requests over a pool of real drafts, and [`malformation`] breaks them in
//! named ways, each with the answer it deserves. `ewsconf fuzz` drives them.

mod case;
pub mod malformation;
pub mod send;
pub mod wire;

pub use case::{WATCHED, draft_name};
pub use malformation::{Acceptable, Level, Malformation};
pub use send::{FuzzCase, PoolIds, Rendered, SendShape, arb_fuzz_case, arb_send_shape};
pub use wire::SchemaEra;
