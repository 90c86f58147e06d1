//! Collects libxml2's structured errors into the current call's list, with useful positions.
//!
//! libxml2 calls [`on_error`] synchronously on the thread that parses, validates or compiles;
//! the user-data pointer is a [`Sink`] on that thread's stack, or null outside such a call (the
//! error is then dropped, which keeps libxml2 from printing to stderr).

use std::cell::{Cell, RefCell};
use std::ffi::{CStr, c_char, c_void};

use super::errors::{CompileError, XmlError, XmlErrorKind};
use super::ffi;
use super::limits::{LIBXML2_MAX_DEPTH, saturate};

/// At most this many errors are kept per document; the rest are counted.
const MAX_ERRORS: usize = 100;

/// Which step a document is in, which decides the kind of its errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Parsing: errors are well-formedness errors.
    Parse,
    /// Validating the tree: errors are schema errors.
    Validate,
}

/// Where errors go during one call.
pub enum Sink<'a> {
    /// Errors about an untrusted document.
    Doc {
        /// The document, to place schema errors on their element's column.
        source: &'a [u8],
        /// The current step.
        phase: Cell<Phase>,
        /// Errors so far.
        errors: RefCell<Vec<XmlError>>,
        /// Errors dropped past [`MAX_ERRORS`].
        omitted: Cell<usize>,
    },
    /// Errors and warnings while compiling a schema set.
    Compile {
        /// Errors so far.
        errors: RefCell<Vec<CompileError>>,
    },
}

impl<'a> Sink<'a> {
    /// A sink for a document, starting in [`Phase::Parse`].
    pub fn doc(source: &'a [u8]) -> Self {
        Self::Doc {
            source,
            phase: Cell::new(Phase::Parse),
            errors: RefCell::new(Vec::new()),
            omitted: Cell::new(0),
        }
    }

    /// A sink for compiling a schema set.
    pub fn compile() -> Self {
        Self::Compile {
            errors: RefCell::new(Vec::new()),
        }
    }

    /// The pointer libxml2 passes back to [`on_error`].
    pub fn as_user_data(&self) -> *mut c_void {
        std::ptr::from_ref(self).cast_mut().cast()
    }

    /// Whether any error was collected.
    pub fn has_errors(&self) -> bool {
        match self {
            Self::Doc { errors, .. } => !errors.borrow().is_empty(),
            Self::Compile { errors } => !errors.borrow().is_empty(),
        }
    }

    /// Moves a document sink to the next phase.
    pub fn set_phase(&self, next: Phase) {
        if let Self::Doc { phase, .. } = self {
            phase.set(next);
        }
    }

    /// The document errors collected, with a note if some were dropped.
    pub fn into_doc_errors(self) -> Vec<XmlError> {
        match self {
            Self::Doc {
                errors, omitted, ..
            } => {
                let mut errors = errors.into_inner();
                if omitted.get() > 0 {
                    errors.push(XmlError::new(
                        XmlErrorKind::Schema,
                        0,
                        0,
                        format!("{} further errors omitted", omitted.get()),
                    ));
                }
                errors
            }
            Self::Compile { .. } => Vec::new(),
        }
    }

    /// The compile errors collected.
    pub fn into_compile_errors(self) -> Vec<CompileError> {
        match self {
            Self::Compile { errors } => errors.into_inner(),
            Self::Doc { .. } => Vec::new(),
        }
    }
}

/// The structured error handler given to libxml2 everywhere.
///
/// # Safety
/// `user_data` is null or points to a live [`Sink`]; `error` is null or a valid `xmlError`
/// whose `node`, if set, is a live tree node. libxml2 guarantees the latter during the callback.
pub unsafe extern "C" fn on_error(user_data: *mut c_void, error: *mut ffi::XmlErrorRaw) {
    if user_data.is_null() || error.is_null() {
        return;
    }
    // SAFETY: per this function's contract, both pointers are valid for the callback.
    let (sink, error) = unsafe { (&*user_data.cast::<Sink<'_>>(), &*error) };
    if error.level == ffi::XML_ERR_WARNING {
        return;
    }
    // SAFETY: libxml2's message is null or NUL-terminated.
    let message = unsafe { text(error.message) };
    match sink {
        Sink::Doc {
            source,
            phase,
            errors,
            omitted,
        } => {
            let Ok(mut errors) = errors.try_borrow_mut() else {
                return;
            };
            if errors.len() >= MAX_ERRORS {
                omitted.set(omitted.get() + 1);
                return;
            }
            let line = u32::try_from(error.line).unwrap_or(0);
            let entry = match phase.get() {
                Phase::Parse if is_depth_error(error, &message) => XmlError::new(
                    XmlErrorKind::TooDeep,
                    line,
                    u32::try_from(error.int2).unwrap_or(0),
                    format!(
                        "elements nested deeper than libxml2's limit of {LIBXML2_MAX_DEPTH} levels"
                    ),
                ),
                Phase::Parse => XmlError::new(
                    XmlErrorKind::NotWellFormed,
                    line,
                    u32::try_from(error.int2).unwrap_or(0),
                    message,
                ),
                Phase::Validate => {
                    // SAFETY: during the callback `node` is null or a live node of the tree.
                    let (line, column) = unsafe { element_position(source, line, error.node) };
                    let message = super::enumerations::describe(&message).unwrap_or(message);
                    XmlError::new(XmlErrorKind::Schema, line, column, message)
                }
            };
            errors.push(entry);
        }
        Sink::Compile { errors } => {
            let Ok(mut errors) = errors.try_borrow_mut() else {
                return;
            };
            // SAFETY: libxml2's file is null or NUL-terminated.
            let file = unsafe { text(error.file) };
            errors.push(CompileError {
                file: if file.is_empty() || file == "in_memory_buffer" {
                    "<wrapper>".to_owned()
                } else {
                    file
                },
                line: u32::try_from(error.line).unwrap_or(0),
                message,
            });
        }
    }
}

fn is_depth_error(error: &ffi::XmlErrorRaw, message: &str) -> bool {
    error.code == ffi::XML_ERR_INTERNAL_ERROR && message.contains("Excessive depth")
}

/// # Safety
/// `p` is null or NUL-terminated.
unsafe fn text(p: *const c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: per this function's contract.
    let s = unsafe { CStr::from_ptr(p) }.to_string_lossy();
    s.trim_end().to_owned()
}

/// How many lines above the reported one a start tag may begin: libxml2 reports the line where
/// a start tag ends, which is later when its attributes span several lines.
const MAX_START_TAG_LINES: u32 = 64;

/// The line and 1-based column where the start tag of `node` (an element, or the element
/// carrying an attribute) begins, near `line` of `source`; column 1 on `line` when it cannot be
/// found, (0, 0) when the line is unknown.
///
/// # Safety
/// `node` is null or a live `xmlNode`/`xmlAttr`.
unsafe fn element_position(source: &[u8], line: u32, node: *mut c_void) -> (u32, u32) {
    if line == 0 {
        return (0, 0);
    }
    let mut node = node.cast::<ffi::XmlNodePrefix>();
    if node.is_null() {
        return (line, 1);
    }
    // SAFETY: per this function's contract; `parent` of an attribute is its element.
    let name = unsafe {
        if (*node).type_ == ffi::XML_ATTRIBUTE_NODE {
            node = (*node).parent;
        }
        if node.is_null() || (*node).type_ != ffi::XML_ELEMENT_NODE || (*node).name.is_null() {
            return (line, 1);
        }
        CStr::from_ptr((*node).name.cast::<c_char>()).to_bytes()
    };
    if let Some(column) =
        nth_line(source, line).and_then(|text| start_tag_column(text, name, false))
    {
        return (line, saturate(column));
    }
    (1..=MAX_START_TAG_LINES)
        .map_while(|back| line.checked_sub(back).filter(|&l| l > 0))
        .find_map(|earlier| {
            let text = nth_line(source, earlier)?;
            start_tag_column(text, name, true).map(|column| (earlier, saturate(column)))
        })
        .unwrap_or((line, 1))
}

fn nth_line(source: &[u8], line: u32) -> Option<&[u8]> {
    let index = usize::try_from(line).ok()?.checked_sub(1)?;
    source.split(|&b| b == b'\n').nth(index)
}

/// The 1-based column of the first (or `last`) `<name` or `<prefix:name` start tag in `line`.
fn start_tag_column(line: &[u8], local_name: &[u8], last: bool) -> Option<usize> {
    let at = |(i, &b): (usize, &u8)| {
        if b != b'<' {
            return None;
        }
        let rest = line.get(i + 1..)?;
        let qname_len = rest
            .iter()
            .position(|&c| c.is_ascii_whitespace() || c == b'/' || c == b'>')
            .unwrap_or(rest.len());
        let qname = &rest[..qname_len];
        let local = qname
            .iter()
            .position(|&c| c == b':')
            .map_or(qname, |colon| &qname[colon + 1..]);
        (local == local_name).then_some(i + 1)
    };
    if last {
        line.iter().enumerate().rev().find_map(at)
    } else {
        line.iter().enumerate().find_map(at)
    }
}

#[cfg(test)]
mod tests {
    use super::start_tag_column;

    #[test]
    fn start_tags_are_found_by_local_name() {
        let line = b"  <m:ItemIds><t:ItemId Id='x'/></m:ItemIds>";
        assert_eq!(start_tag_column(line, b"ItemId", false), Some(14));
        assert_eq!(start_tag_column(line, b"ItemIds", false), Some(3));
        assert_eq!(start_tag_column(b"<SendItem>", b"SendItem", false), Some(1));
        assert_eq!(start_tag_column(b"</SendItem>", b"SendItem", false), None);
        assert_eq!(start_tag_column(b"<a:X/><b:X/>", b"X", true), Some(7));
    }
}
