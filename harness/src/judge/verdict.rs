//! What the judge hands back: the graded [`Verdict`], the [`Finding`]s that did not hold, and each
//! [`StateCheck`] with what was observed.

use serde::Serialize;

use crate::case::{FolderName, Role};

/// The graded verdict of one case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Behaves as the protocol documents intend.
    Pass,
    /// Matches a deviation documented for Exchange; the outcome names which.
    Quirk,
    /// Neither.
    Fail,
    /// A precondition or feature is missing on the target; the outcome says which.
    Skip,
    /// The harness could not complete the case; the outcome says why.
    Error,
}

impl Verdict {
    /// Every verdict, in report order.
    pub const ALL: [Verdict; 5] = [
        Verdict::Pass,
        Verdict::Quirk,
        Verdict::Fail,
        Verdict::Skip,
        Verdict::Error,
    ];

    /// True for `pass` and `quirk`: what the protocol intends, or a deviation documented for
    /// Exchange.
    pub const fn conforms(self) -> bool {
        matches!(self, Verdict::Pass | Verdict::Quirk)
    }

    /// The verdict's name in reports.
    pub const fn name(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Quirk => "quirk",
            Verdict::Fail => "fail",
            Verdict::Skip => "skip",
            Verdict::Error => "error",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One check the judge made that did not hold: what was expected and what happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Which check, e.g. `http status`, `schema`, `message 2 code`, `state principal:drafts`.
    pub check: String,
    /// What the case expected.
    pub expected: String,
    /// What the target did.
    pub actual: String,
    /// The line of the case file that states what this checks, when the case came from a file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
}

/// One state expectation and what was observed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StateCheck {
    /// The expectation as the case wrote it, e.g. `principal:sentitems contains draft`.
    pub expectation: String,
    /// What was found, e.g. `1 item` or `0 items`.
    pub observed: String,
    /// Whether the expectation held.
    pub held: bool,
    /// Whose folder was looked into.
    #[serde(skip)]
    pub place: (Role, FolderName),
    /// How many matching items were found, when the folder could be looked into.
    #[serde(skip)]
    pub found: Option<usize>,
}
