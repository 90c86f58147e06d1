//! The runner: setup, send, observe, clean up, for each case, producing an [`Outcome`] per case
//! and a [`RunSummary`] per run.

pub mod outcome;

pub use outcome::{Counts, ExchangeRecord, Finding, Outcome, RunSummary, StateCheck, Verdict};
