//! `ewsconf`: a conformance harness for the Exchange Web Services SendItem operation.
//!
//! The pipeline, one way:
//!
//! ```text
//! case file ─► Case ─► Request ─► Target::send ─► Exchange ─► schema::validate ─► judge
//!           ─► Verdict ─► Outcome ─► RunSummary ─► report::{terminal, junit, json, html}
//! ```
//!
//! [`ews`] is the wire model every stage speaks; [`schema`] holds responses and requests against
//! the EWS XML schema; [`report`] turns a [`run::RunSummary`] into the terminal summary,
//! `junit.xml`, `report.json` and `report.html`.

pub mod baseline;
pub mod case;
pub mod ews;
pub mod fuzz;
pub mod generate;
pub mod judge;
pub mod mock;
pub mod normalize;
pub mod quirk;
pub mod report;
pub mod run;
pub mod schema;
pub mod target;
