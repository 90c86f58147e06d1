//! Bounds on untrusted documents, and the byte scan that enforces them before libxml2 sees a
//! document: size, UTF-8 only, no NUL, no DOCTYPE or other markup declaration, bounded depth.

use super::errors::{XmlError, XmlErrorKind};

/// The deepest nesting libxml2 parses without `XML_PARSE_HUGE` (which is never used).
pub const LIBXML2_MAX_DEPTH: u32 = 256;

/// Bounds applied to every document before it is parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted document, in bytes (default 16 MiB).
    pub max_bytes: usize,
    /// Deepest accepted element nesting, the root being depth 1 (default 128; libxml2 itself
    /// stops at [`LIBXML2_MAX_DEPTH`] whatever this says).
    pub max_depth: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes: 16 * 1024 * 1024,
            max_depth: 128,
        }
    }
}

/// Checks `doc` against `limits` and the rules for untrusted XML, without parsing it.
///
/// The scan knows just enough XML to skip comments, CDATA sections, processing instructions and
/// quoted attribute values. Anything it cannot make sense of (say, a truncated tag) is left for
/// libxml2 to report.
pub(crate) fn prescan(doc: &[u8], limits: &Limits) -> Result<(), XmlError> {
    if doc.len() > limits.max_bytes {
        return Err(XmlError::new(
            XmlErrorKind::TooLarge,
            0,
            0,
            format!(
                "document is {} bytes, more than the limit of {} bytes; not parsed",
                doc.len(),
                limits.max_bytes
            ),
        ));
    }
    if let [0xFE, 0xFF, ..] | [0xFF, 0xFE, ..] = doc {
        return Err(not_well_formed(
            doc,
            0,
            "document is UTF-16 (byte order mark); only UTF-8 documents are accepted",
        ));
    }
    if let Err(e) = std::str::from_utf8(doc) {
        let at = e.valid_up_to();
        return Err(not_well_formed(
            doc,
            at,
            &format!("invalid UTF-8 at byte offset {at}; only UTF-8 documents are accepted"),
        ));
    }
    if let Some(at) = memchr::memchr(0, doc) {
        return Err(not_well_formed(
            doc,
            at,
            "NUL character (U+0000) is not allowed in XML",
        ));
    }
    scan_markup(doc, limits.max_depth)
}

fn scan_markup(doc: &[u8], max_depth: u32) -> Result<(), XmlError> {
    let mut depth: u32 = 0;
    let mut i = 0;
    while let Some(off) = find_byte(doc, i, b'<') {
        let at = off;
        let rest = &doc[at..];
        let end = if rest.starts_with(b"<!--") {
            find_seq(doc, at + 4, b"-->").map(|e| e + 3)
        } else if rest.starts_with(b"<![CDATA[") {
            find_seq(doc, at + 9, b"]]>").map(|e| e + 3)
        } else if rest.starts_with(b"<!") {
            let (line, column) = position(doc, at);
            return Err(XmlError::new(
                XmlErrorKind::Doctype,
                line,
                column,
                "DOCTYPE and other markup declarations are not allowed (SOAP forbids DTDs)",
            ));
        } else if rest.starts_with(b"<?") {
            find_seq(doc, at + 2, b"?>").map(|e| e + 2)
        } else if rest.starts_with(b"</") {
            depth = depth.saturating_sub(1);
            find_byte(doc, at + 2, b'>').map(|e| e + 1)
        } else {
            match tag_end(doc, at + 1) {
                Some(e) => {
                    // `e` is just past '>'; "/>" closes an empty element.
                    if doc.get(e.wrapping_sub(2)) != Some(&b'/') {
                        depth += 1;
                        if depth > max_depth {
                            let (line, column) = position(doc, at);
                            return Err(XmlError::new(
                                XmlErrorKind::TooDeep,
                                line,
                                column,
                                format!(
                                    "elements nested deeper than the limit of {max_depth} levels"
                                ),
                            ));
                        }
                    }
                    Some(e)
                }
                None => None,
            }
        };
        match end {
            Some(e) => i = e,
            None => return Ok(()),
        }
    }
    Ok(())
}

/// The index just past the `>` that ends a start tag whose name starts at `from`, skipping
/// quoted attribute values.
fn tag_end(doc: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    loop {
        let hit = at + memchr::memchr3(b'>', b'"', b'\'', doc.get(at..)?)?;
        let quote = doc[hit];
        if quote == b'>' {
            return Some(hit + 1);
        }
        at = find_byte(doc, hit + 1, quote)? + 1;
    }
}

fn find_byte(doc: &[u8], from: usize, byte: u8) -> Option<usize> {
    memchr::memchr(byte, doc.get(from..)?).map(|p| from + p)
}

fn find_seq(doc: &[u8], from: usize, seq: &[u8]) -> Option<usize> {
    memchr::memmem::find(doc.get(from..)?, seq).map(|p| from + p)
}

fn not_well_formed(doc: &[u8], at: usize, message: &str) -> XmlError {
    let (line, column) = position(doc, at);
    XmlError::new(XmlErrorKind::NotWellFormed, line, column, message)
}

/// 1-based line and column (in bytes) of byte offset `at`.
pub(crate) fn position(doc: &[u8], at: usize) -> (u32, u32) {
    let before = doc.get(..at).unwrap_or(doc);
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    (saturate(line), saturate(before.len() - line_start + 1))
}

pub(crate) fn saturate(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(doc: &str, limits: &Limits) -> Option<XmlErrorKind> {
        prescan(doc.as_bytes(), limits).err().map(|e| e.kind)
    }

    #[test]
    fn depth_counts_open_elements_not_empty_ones() {
        let limits = Limits {
            max_depth: 2,
            ..Limits::default()
        };
        assert_eq!(kind("<a><b/><b x='>'><c/></b></a>", &limits), None);
        assert_eq!(
            kind("<a><b><c></c></b></a>", &limits),
            Some(XmlErrorKind::TooDeep)
        );
    }

    #[test]
    fn doctype_is_found_outside_comments_and_cdata_only() {
        let limits = Limits::default();
        assert_eq!(
            kind("<!-- <!DOCTYPE x> --><a><![CDATA[<!DOCTYPE]]></a>", &limits),
            None
        );
        assert_eq!(
            kind(
                "<?xml version='1.0'?>\n<!DOCTYPE a [<!ENTITY x 'y'>]><a/>",
                &limits
            ),
            Some(XmlErrorKind::Doctype)
        );
        let err = prescan(b"<?xml version='1.0'?>\n  <!DOCTYPE a><a/>", &limits).unwrap_err();
        assert_eq!((err.line, err.column), (2, 3));
    }

    #[test]
    fn size_utf8_and_nul_are_checked_first() {
        let small = Limits {
            max_bytes: 4,
            ..Limits::default()
        };
        assert_eq!(kind("<a></a>", &small), Some(XmlErrorKind::TooLarge));
        let err = prescan(b"<a>\n\xff</a>", &Limits::default()).unwrap_err();
        assert_eq!(
            (err.kind, err.line, err.column),
            (XmlErrorKind::NotWellFormed, 2, 1)
        );
        assert!(err.message.contains("UTF-8"), "{}", err.message);
        assert_eq!(
            kind("<a>\0</a>", &Limits::default()),
            Some(XmlErrorKind::NotWellFormed)
        );
    }
}
