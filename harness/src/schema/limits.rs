//! Bounds on untrusted documents, and the byte scan that enforces them before libxml2 sees a
//! document: size, UTF-8 only, no NUL, no DOCTYPE or other markup declaration, bounded depth,
//! and a bounded number of attributes and namespace declarations on each element.
//!
//! The per-element bounds exist because libxml2 before 2.12 checks a start tag's attributes and
//! namespace declarations for duplicates pairwise, and building a tree appends each attribute by
//! walking its element's list (`xmlNewNsPropEatName`): time quadratic in their number. One start
//! tag with 200,000 of either holds a thread for minutes; refused here it costs one linear scan.

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
    /// Most attributes accepted on one element, namespace declarations not counted (default
    /// [`Limits::DEFAULT_MAX_ATTRIBUTES`]).
    pub max_attributes: usize,
    /// Most namespace declarations (`xmlns`, `xmlns:p`) accepted on one element (default
    /// [`Limits::DEFAULT_MAX_NAMESPACE_DECLARATIONS`]).
    pub max_namespace_declarations: usize,
}

impl Limits {
    /// Default bound on the attributes of one element: 256. No complex type of the EWS types
    /// schema declares more than 13 attributes (`ClientExtensionType`, Exchange 2016 schema),
    /// and the published SendItem samples carry at most 9 on one element, namespace
    /// declarations included; a schema-valid EWS element stays far below this bound.
    pub const DEFAULT_MAX_ATTRIBUTES: usize = 256;

    /// Default bound on the namespace declarations of one element: 64. The published SendItem
    /// samples declare at most 6 on one element, even with every namespace in scope copied onto
    /// the SOAP Body's child.
    pub const DEFAULT_MAX_NAMESPACE_DECLARATIONS: usize = 64;
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes: 16 * 1024 * 1024,
            max_depth: 128,
            max_attributes: Self::DEFAULT_MAX_ATTRIBUTES,
            max_namespace_declarations: Self::DEFAULT_MAX_NAMESPACE_DECLARATIONS,
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
    scan_markup(doc, limits)
}

fn scan_markup(doc: &[u8], limits: &Limits) -> Result<(), XmlError> {
    let max_depth = limits.max_depth;
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
            match start_tag(doc, at + 1) {
                Some(StartTag {
                    end: e,
                    attributes,
                    namespaces,
                }) => {
                    if attributes > limits.max_attributes {
                        return Err(too_many(
                            doc,
                            at,
                            XmlErrorKind::TooManyAttributes,
                            attributes,
                            "attributes",
                            limits.max_attributes,
                        ));
                    }
                    if namespaces > limits.max_namespace_declarations {
                        return Err(too_many(
                            doc,
                            at,
                            XmlErrorKind::TooManyNamespaces,
                            namespaces,
                            "namespace declarations",
                            limits.max_namespace_declarations,
                        ));
                    }
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

/// A start tag as the limits see it.
struct StartTag {
    /// The index just past its closing `>`.
    end: usize,
    /// Its attributes, namespace declarations not counted.
    attributes: usize,
    /// Its namespace declarations.
    namespaces: usize,
}

/// The start tag whose name starts at `from`, read by its quoted values: each is one
/// attribute's, and the name before its `=` says whether that attribute declares a namespace.
fn start_tag(doc: &[u8], from: usize) -> Option<StartTag> {
    let (mut at, mut attributes, mut namespaces) = (from, 0, 0);
    loop {
        let hit = at + memchr::memchr3(b'>', b'"', b'\'', doc.get(at..)?)?;
        let quote = doc[hit];
        if quote == b'>' {
            return Some(StartTag {
                end: hit + 1,
                attributes,
                namespaces,
            });
        }
        if declares_namespace(&doc[at..hit]) {
            namespaces += 1;
        } else {
            attributes += 1;
        }
        at = find_byte(doc, hit + 1, quote)? + 1;
    }
}

/// Whether `before`, the text from the end of the previous value (or the tag's name) to an
/// opening quote, ends with `xmlns =` or `xmlns:p =`.
fn declares_namespace(before: &[u8]) -> bool {
    let name = before.trim_ascii_end();
    let name = name.strip_suffix(b"=").unwrap_or(name).trim_ascii_end();
    let name = name
        .iter()
        .rposition(u8::is_ascii_whitespace)
        .map_or(name, |space| &name[space + 1..]);
    name == b"xmlns" || name.starts_with(b"xmlns:")
}

/// The error for an element (its start tag at `at`) carrying `count` of `what`, over `limit`.
fn too_many(
    doc: &[u8],
    at: usize,
    kind: XmlErrorKind,
    count: usize,
    what: &str,
    limit: usize,
) -> XmlError {
    let (line, column) = position(doc, at);
    let name = element_name(doc, at + 1);
    XmlError::new(
        kind,
        line,
        column,
        format!("element `{name}` has {count} {what}, more than the limit of {limit}; not parsed"),
    )
}

/// The qualified name of the start tag whose name starts at `from`, cut to 64 bytes.
fn element_name(doc: &[u8], from: usize) -> String {
    const SHOWN: usize = 64;
    let rest = doc.get(from..).unwrap_or_default();
    let len = rest
        .iter()
        .position(|&b| b.is_ascii_whitespace() || matches!(b, b'/' | b'>'))
        .unwrap_or(rest.len());
    let name = String::from_utf8_lossy(&rest[..len]);
    match name.char_indices().nth(SHOWN) {
        Some((cut, _)) => format!("{}…", &name[..cut]),
        None => name.into_owned(),
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

    #[test]
    fn attributes_and_namespace_declarations_are_counted_per_element() {
        let limits = Limits {
            max_attributes: 2,
            max_namespace_declarations: 2,
            ..Limits::default()
        };
        // Two of each per element, spread over elements, with values that look like markup.
        let fine = "<a xmlns='u' xmlns:p = \"v\" p:x='>' y=\"xmlns='w'\"><b c='1' d='2'/></a>";
        assert_eq!(kind(fine, &limits), None);

        let err = prescan(b"<a>\n  <p:b c='1' d='2' p:e='3'/></a>", &limits).unwrap_err();
        assert_eq!(
            (err.kind, err.line, err.column),
            (XmlErrorKind::TooManyAttributes, 2, 3)
        );
        assert!(
            err.message.contains("`p:b` has 3 attributes") && err.message.contains("limit of 2"),
            "{}",
            err.message
        );

        let err = prescan(b"<a xmlns='u'\txmlns:p='v'\nxmlns:q='w'/>", &limits).unwrap_err();
        assert_eq!(
            (err.kind, err.line, err.column),
            (XmlErrorKind::TooManyNamespaces, 1, 1)
        );
        assert!(
            err.message.contains("`a` has 3 namespace declarations"),
            "{}",
            err.message
        );
        // An attribute merely named like a declaration is an attribute.
        assert_eq!(
            kind(
                "<a xmlnsx='1' x:xmlns='2' xmlns-p='3' xmlns:p='4'/>",
                &limits
            ),
            Some(XmlErrorKind::TooManyAttributes)
        );
    }

    #[test]
    fn default_limits_admit_published_ews_shapes() {
        let limits = Limits::default();
        let attributes: String = (0..Limits::DEFAULT_MAX_ATTRIBUTES)
            .map(|i| format!(" a{i}='{i}'"))
            .collect();
        let namespaces: String = (0..Limits::DEFAULT_MAX_NAMESPACE_DECLARATIONS)
            .map(|i| format!(" xmlns:p{i}='urn:{i}'"))
            .collect();
        assert_eq!(
            kind(&format!("<e{attributes}{namespaces}/>"), &limits),
            None
        );
        assert_eq!(
            kind(&format!("<e{attributes} one='more'/>"), &limits),
            Some(XmlErrorKind::TooManyAttributes)
        );
        assert_eq!(
            kind(&format!("<e{namespaces} xmlns='one-more'/>"), &limits),
            Some(XmlErrorKind::TooManyNamespaces)
        );
    }
}
