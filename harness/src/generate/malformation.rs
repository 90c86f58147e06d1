//! The named malformations: each turns a valid SendItem into a specific kind of broken one, and
//! says what an acceptable answer to it is.

use serde::Serialize;

use crate::ews::ResponseCode;

/// How deep a malformation goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// The request no longer validates against the EWS schema.
    Schema,
    /// The request is schema-valid but asks for something the protocol refuses.
    Semantic,
    /// The bytes or the HTTP framing are broken.
    Wire,
}

/// What an answer to a request must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acceptable {
    /// What the valid request would get: per item, as the save rules say.
    Normal,
    /// HTTP 500 with a SOAP Fault carrying one of these codes.
    Fault(&'static [ResponseCode]),
    /// One of these HTTP statuses, or (for servers that read further) a SOAP Fault.
    Status(&'static [u16]),
    /// Every item gets an Error with one of these codes.
    AllItems(&'static [ResponseCode]),
    /// The item at this position gets an Error with one of these codes; the others are normal.
    Item {
        /// Position in ItemIds.
        index: usize,
        /// Acceptable codes.
        codes: &'static [ResponseCode],
    },
}

const SCHEMA: &[ResponseCode] = &[ResponseCode::ErrorSchemaValidation];

/// The first item (the one a semantic malformation breaks) gets an Error with one of `codes`.
const fn first_item(codes: &'static [ResponseCode]) -> Acceptable {
    Acceptable::Item { index: 0, codes }
}

macro_rules! malformations {
    ($($(#[$doc:meta])* $name:ident = $wire:literal, $level:ident;)+) => {
        /// A named way of breaking a valid SendItem request. Reports use [`Malformation::name`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Malformation {
            $($(#[$doc])* $name,)+
        }

        impl Malformation {
            /// Every malformation.
            pub const ALL: &'static [Malformation] = &[$(Malformation::$name),+];

            /// Its name in reports and regression cases.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Malformation::$name => $wire,)+
                }
            }

            /// How deep it goes.
            pub const fn level(self) -> Level {
                match self {
                    $(Malformation::$name => Level::$level,)+
                }
            }
        }
    };
}

malformations! {
    /// `SaveItemToFolder` left out: the attribute is required.
    MissingSaveItemToFolder = "missing-save-item-to-folder", Schema;
    /// `SaveItemToFolder="True"`: not an `xs:boolean` spelling.
    SaveItemToFolderCapitalized = "save-item-to-folder-capitalized", Schema;
    /// `<m:ItemIds/>`: the list must not be empty.
    EmptyItemIds = "empty-item-ids", Schema;
    /// `SavedItemFolderId` before `ItemIds`.
    ElementOutOfOrder = "element-out-of-order", Schema;
    /// SendItem in a namespace that is not EWS's.
    WrongNamespace = "wrong-namespace", Schema;
    /// The envelope in `https://schemas.xmlsoap.org/soap/envelope/`, as the published how-to
    /// samples have it.
    HttpsSoapNamespace = "https-soap-namespace", Schema;
    /// An element SendItem does not declare.
    UnknownElement = "unknown-element", Schema;
    /// An attribute SendItem does not declare.
    UnknownAttribute = "unknown-attribute", Schema;
    /// `DistinguishedFolderId Id="SentItems"`: the names are lower case.
    BadDistinguishedFolderName = "bad-distinguished-folder-name", Schema;
    /// An `ItemId` without its required `Id`.
    ItemIdWithoutId = "item-id-without-id", Schema;
    /// `SaveItemToFolder="false"` with a `SavedItemFolderId`.
    FalseWithFolder = "false-with-folder", Semantic;
    /// An id that is not one the server could have made.
    MalformedId = "malformed-id", Semantic;
    /// A well-formed id of an item that does not exist.
    ForeignId = "foreign-id", Semantic;
    /// A change key the item had before it was changed.
    StaleChangeKey = "stale-change-key", Semantic;
    /// A task, which is not a message.
    NonMessageItem = "non-message-item", Semantic;
    /// The same ItemId twice in one request.
    DuplicateItemId = "duplicate-item-id", Semantic;
    /// The copy aimed at a folder of a mailbox the sender has no rights on.
    FolderWithoutRights = "folder-without-rights", Semantic;
    /// `Id=""`: schema-valid (`Id` is a plain string), but no id.
    EmptyId = "empty-id", Semantic;
    /// The body cut off halfway.
    Truncated = "truncated", Wire;
    /// Bytes that are not UTF-8 inside the document.
    InvalidUtf8 = "invalid-utf8", Wire;
    /// A DOCTYPE with an internal entity.
    Doctype = "doctype", Wire;
    /// The billion-laughs entity bomb.
    EntityBomb = "entity-bomb", Wire;
    /// A body one byte over the server's cap.
    Oversize = "oversize", Wire;
    /// `Content-Type: application/json`.
    WrongContentType = "wrong-content-type", Wire;
    /// No `SOAPAction` header (SOAP 1.1 servers may ignore it).
    MissingSoapAction = "missing-soap-action", Wire;
    /// A `SOAPAction` naming another operation.
    OddSoapAction = "odd-soap-action", Wire;
    /// An empty body.
    EmptyBody = "empty-body", Wire;
}

impl Malformation {
    /// What an acceptable answer is.
    pub fn acceptable(self) -> Acceptable {
        use Malformation::*;
        use ResponseCode as C;
        match self.level() {
            // A Body child outside the messages namespace is not an operation Exchange knows:
            // it answers ErrorInvalidRequest (exchangelib's live tests see this), where a
            // schema-validating server answers ErrorSchemaValidation.
            Level::Schema if self == WrongNamespace => {
                Acceptable::Fault(&[C::ErrorSchemaValidation, C::ErrorInvalidRequest])
            }
            Level::Schema => Acceptable::Fault(SCHEMA),
            Level::Semantic => match self {
                FalseWithFolder => Acceptable::AllItems(&[C::ErrorInvalidSendItemSaveSettings]),
                // Checked before any item: Exchange may answer once for the whole request,
                // which the judge accepts for these codes. A save folder in a mailbox the
                // caller has no rights on may be not found (office-js #2419).
                FolderWithoutRights => Acceptable::AllItems(&[
                    C::ErrorAccessDenied,
                    C::ErrorFolderNotFound,
                    C::ErrorSavedItemFolderNotFound,
                ]),
                MalformedId => first_item(&[C::ErrorInvalidIdMalformed]),
                ForeignId => first_item(&[C::ErrorItemNotFound]),
                StaleChangeKey => first_item(&[C::ErrorStaleObject, C::ErrorIrresolvableConflict]),
                NonMessageItem => first_item(&[C::ErrorInvalidItemForOperationSendItem]),
                EmptyId => first_item(&[C::ErrorInvalidIdEmpty, C::ErrorInvalidIdMalformed]),
                // The duplicate is the last id; the first occurrence is sent normally. Exchange
                // saves the draft as it sends it, so the duplicate's change key may be stale
                // instead of its item gone (ResponseCode reference: ErrorStaleObject).
                DuplicateItemId => Acceptable::Item {
                    index: usize::MAX,
                    codes: &[C::ErrorItemNotFound, C::ErrorStaleObject],
                },
                _ => Acceptable::Normal,
            },
            Level::Wire => match self {
                Oversize => Acceptable::Status(&[413, 400]),
                WrongContentType => Acceptable::Status(&[415, 400]),
                MissingSoapAction | OddSoapAction => Acceptable::Normal,
                _ => Acceptable::Fault(SCHEMA),
            },
        }
    }
}

impl std::fmt::Display for Malformation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
