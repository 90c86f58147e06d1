//! Profiles: which of Exchange's documented deviations the mock reproduces.
//!
//! The profile is a value the operations consult at the few points where Exchange is documented
//! to deviate from what a request asks; everything else is shared.

/// A deviation from the request's intent that the SendItem reference documents for Exchange.
/// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/senditem>
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quirk {
    /// A delegate sends a draft from the principal's Drafts with `SaveItemToFolder="true"` and
    /// `DistinguishedFolderId Id="sentitems"` naming no mailbox: the message goes out, the
    /// response is Success, no copy is saved and the draft stays in the principal's Drafts.
    DelegateCopyA,
    /// A delegate sends a draft from the delegate's own Drafts with the copy going to the
    /// principal's Sent Items: the message goes out, the response is Success, the draft stays in
    /// the delegate's Drafts and no Sent Items gets a copy.
    DelegateCopyB,
}

/// Which behaviour the mock follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Profile {
    /// What the SendItem reference says Exchange does, both delegate quirks included.
    #[default]
    Documented,
    /// What the request asks for.
    Intended,
}

impl Profile {
    /// Every profile, in the order reports list them.
    pub const ALL: [Profile; 2] = [Profile::Documented, Profile::Intended];

    /// True when this profile reproduces `quirk`.
    pub fn reproduces(self, _quirk: Quirk) -> bool {
        self == Profile::Documented
    }

    /// The profile's name on the command line and in reports.
    pub const fn name(self) -> &'static str {
        match self {
            Profile::Documented => "documented",
            Profile::Intended => "intended",
        }
    }
}

impl std::str::FromStr for Profile {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Profile::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| format!("unknown profile {s:?}: use documented or intended"))
    }
}

impl std::fmt::Display for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Deliberate defects no real server should have. They exist to prove that the harness notices
/// a broken server: every one of them must turn some case to `fail`. All off by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Defects {
    /// SendItem answers two response messages for each ItemId.
    pub duplicate_messages: bool,
    /// A SendItem that answers Error for an item deletes that item all the same.
    pub lose_draft_on_error: bool,
    /// `SaveItemToFolder="false"` with a folder is accepted and sends without a copy.
    pub accept_bad_save_settings: bool,
    /// A stale change key gets `ErrorItemNotFound` instead of `ErrorStaleObject`.
    pub stale_as_not_found: bool,
}
