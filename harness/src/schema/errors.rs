//! What validation reports about a document ([`Validation`], [`XmlError`]) and why a schema set
//! could not be built ([`SchemaError`]).

use std::fmt;
use std::path::PathBuf;

/// The outcome of validating one document: valid when `errors` is empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validation {
    /// Every problem found, in document order; a document that is not well-formed stops at the
    /// first fatal error.
    pub errors: Vec<XmlError>,
}

impl Validation {
    /// True when the document is well-formed and valid against the schema set.
    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }

    /// A validation that failed with one error.
    pub(crate) fn single(error: XmlError) -> Self {
        Self {
            errors: vec![error],
        }
    }
}

/// One problem in a document, with its position (1-based; 0 when unknown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlError {
    /// Line of the problem.
    pub line: u32,
    /// Column of the problem: for schema errors, the column of the offending element's start tag.
    pub column: u32,
    /// What is wrong, as one line of text.
    pub message: String,
    /// The class of problem.
    pub kind: XmlErrorKind,
}

impl XmlError {
    pub(crate) fn new(
        kind: XmlErrorKind,
        line: u32,
        column: u32,
        message: impl Into<String>,
    ) -> Self {
        Self {
            line,
            column,
            message: message.into(),
            kind,
        }
    }
}

impl fmt::Display for XmlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.line, self.column, self.kind, self.message
        )
    }
}

/// The class of an [`XmlError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum XmlErrorKind {
    /// Larger than [`Limits::max_bytes`](super::Limits::max_bytes); not parsed.
    TooLarge,
    /// Nested deeper than [`Limits::max_depth`](super::Limits::max_depth).
    TooDeep,
    /// Has a DOCTYPE (or other markup declaration); SOAP forbids DTDs.
    Doctype,
    /// An element has more attributes than
    /// [`Limits::max_attributes`](super::Limits::max_attributes); not parsed.
    TooManyAttributes,
    /// An element has more namespace declarations than
    /// [`Limits::max_namespace_declarations`](super::Limits::max_namespace_declarations); not
    /// parsed.
    TooManyNamespaces,
    /// Not well-formed XML (including invalid UTF-8 and undeclared namespace prefixes).
    NotWellFormed,
    /// Well-formed but not valid against the schema set.
    Schema,
    /// libxml2 could not do its work for a reason that is not the document's (out of memory).
    Internal,
}

impl fmt::Display for XmlErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::TooLarge => "too large",
            Self::TooDeep => "too deep",
            Self::Doctype => "doctype",
            Self::TooManyAttributes => "too many attributes",
            Self::TooManyNamespaces => "too many namespace declarations",
            Self::NotWellFormed => "not well-formed",
            Self::Schema => "schema",
            Self::Internal => "internal",
        })
    }
}

/// A diagnostic raised while compiling a schema set: the file (a path or URI) and line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError {
    /// The schema file the problem is in, as libxml2 names it (`<wrapper>` for the in-memory
    /// wrapper schema).
    pub file: String,
    /// Line in that file, or 0.
    pub line: u32,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// Why a [`SchemaSet`](super::SchemaSet) could not be built.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SchemaError {
    /// A schema directory lacks a file the set needs.
    #[error("schema file {} is missing (a schema directory holds messages.xsd and types.xsd)", path.display())]
    MissingFile {
        /// The path that was looked for.
        path: PathBuf,
    },
    /// A path cannot be turned into a file URI (not absolute, or not UTF-8).
    #[error("schema directory {}: {reason}", path.display())]
    BadPath {
        /// The offending path.
        path: PathBuf,
        /// Why.
        reason: &'static str,
    },
    /// The schemas do not compile; the first error is shown, all are kept.
    #[error("{origin}: schema does not compile: {}", first_and_count(errors))]
    Compile {
        /// Which schema set (embedded, or the directory).
        origin: String,
        /// Every error raised, in order.
        errors: Vec<CompileError>,
    },
    /// libxml2 could not allocate a context.
    #[error("libxml2 could not allocate a {0}")]
    Alloc(&'static str),
}

fn first_and_count(errors: &[CompileError]) -> String {
    match errors {
        [] => "libxml2 reported no detail".to_owned(),
        [one] => one.to_string(),
        [first, rest @ ..] => format!("{first} (and {} more)", rest.len()),
    }
}
