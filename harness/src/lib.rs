//! `ewsconf`: a conformance harness for the Exchange Web Services SendItem operation.
//!
//! The pipeline, one way:
//!
//! ```text
//! case file ─► Case ─► Request ─► Target ─► Exchange ─► schema ─► judge ─► Verdict
//!           ─► Outcome ─► RunSummary ─► report::{terminal, junit, json, html}
//! ```
//!
//! Hand-written cases ([`case`]), generated ones ([`fuzz`]) and the quirk reproduction
//! ([`quirk`]) all take that path: the [`run`]ner sets up, sends and observes, and the [`judge`]
//! alone decides. [`ews`] is the wire model every stage speaks.
//!
//! From a server's own tests, the suite runs in a few lines:
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use ewsconf::{Account, ClientOptions, Role, Target};
//!
//! let target = Target::at("http://127.0.0.1:8080/EWS/Exchange.asmx", &ClientOptions::default())?
//!     .with_account(Role::Principal, Account::basic("boss@example.com", "secret"))
//!     .with_account(Role::Recipient, Account::basic("carol@example.com", "secret"));
//! // The suite compiled into the crate; `load_dir` reads another suite's folder.
//! let cases = ewsconf::load_embedded()?;
//! let summary = ewsconf::run_suite(&target, &cases).await?;
//! assert!(summary.conforms(), "{}", ewsconf::report::terminal::summary(&summary, false));
//! # Ok(()) }
//! ```

pub mod accounts;
pub mod baseline;
pub mod case;
pub mod clock;
pub mod compare;
pub mod ews;
pub mod fuzz;
pub mod generate;
pub mod input;
pub mod judge;
pub mod known;
pub mod limits;
pub mod location;
pub mod mock;
pub mod normalize;
pub mod probe;
pub mod quirk;
pub mod report;
pub mod requirements;
pub mod run;
pub mod schema;
pub mod secrets;
pub mod target;

pub use case::{Case, Role, Selection, load_dir, load_embedded};
pub use judge::{Finding, Verdict};
pub use mock::{MockConfig, MockServer, Profile};
pub use run::{Interrupt, Outcome, RunOptions, RunSummary};
pub use schema::SchemaSet;
pub use target::{Account, ClientOptions, Target};

/// Why [`run_suite`] could not run.
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    /// The embedded schemas did not compile.
    #[error(transparent)]
    Schema(#[from] schema::SchemaError),
    /// The target could not be reached.
    #[error(transparent)]
    Run(#[from] run::RunError),
}

/// Runs `cases` against `target` with the defaults `ewsconf run` uses ([`RunOptions::DEFAULT_JOBS`]
/// cases at once, two minutes per case, the project's schemas) and cleans up what it created.
/// The target's secrets are [installed](secrets::install) first, so that no report written from
/// the summary shows them.
pub async fn run_suite(target: &Target, cases: &[Case]) -> Result<RunSummary, SuiteError> {
    secrets::install(secrets::Secrets::of(target));
    let options = RunOptions {
        jobs: RunOptions::DEFAULT_JOBS,
        keep: false,
        case_timeout: std::time::Duration::from_secs(120),
        schemas: SchemaSet::embedded()?,
    };
    Ok(run::run(target, cases, &options, &Interrupt::default(), |_| {}).await?)
}
