//! Builds the wire model's [`Element`] tree from the SAX events libxml2 streams to the validator,
//! so a valid document is parsed once, not once by libxml2 and again by quick-xml.
//!
//! The tree is the one [`Element::parse`] builds from the same bytes: same names, namespaces,
//! attributes, text, namespace declarations, lines and columns (a test holds the two
//! against each other). It is only handed out for a document that is well-formed and valid;
//! anything odd while building ([`SaxTree::broken`]) sends the caller back to `Element::parse`.

use std::borrow::Cow;
use std::ffi::{CStr, c_char, c_int, c_void};
use std::ptr;

use compact_str::CompactString;

use crate::ews::xml::{Attribute, Element, LineCounter, MAX_DEPTH, Node, element_namespace};

use super::ffi;

/// The tree under construction, handed to the SAX callbacks as their user data.
pub struct SaxTree<'a> {
    doc: &'a [u8],
    parser: *mut ffi::xmlParserCtxt,
    stack: Vec<Element>,
    root: Option<Element>,
    /// Set when an event could not be turned into the tree `Element::parse` would build.
    pub broken: bool,
    lines: LineCounter<'a>,
}

impl<'a> SaxTree<'a> {
    /// An empty tree for `doc`, read by the parser context `parser`.
    pub fn new(doc: &'a [u8], parser: *mut ffi::xmlParserCtxt) -> Self {
        Self {
            doc,
            parser,
            stack: Vec::new(),
            root: None,
            broken: false,
            lines: LineCounter::new(doc),
        }
    }

    /// The finished tree, if every event made sense.
    pub fn finish(self) -> Option<Element> {
        match (self.broken, self.stack.is_empty()) {
            (false, true) => self.root,
            _ => None,
        }
    }

    /// A SAX2 handler whose only callbacks feed a [`SaxTree`] given as user data.
    pub fn handler() -> ffi::xmlSAXHandler {
        ffi::xmlSAXHandler {
            sax1_head: [None; 16],
            reference: None,
            characters: Some(on_characters),
            ignorable_whitespace: Some(on_characters),
            sax1_middle: [None; 6],
            cdata_block: Some(on_characters),
            external_subset: None,
            initialized: ffi::XML_SAX2_MAGIC,
            private: ptr::null_mut(),
            start_element_ns: Some(on_start),
            end_element_ns: Some(on_end),
            serror: None,
        }
    }

    /// Byte offset of the `<` that opens the start tag the parser has just read.
    fn start_tag_offset(&self) -> Option<usize> {
        // SAFETY: the parser context is live for the whole parse that calls back here.
        let consumed = usize::try_from(unsafe { ffi::xmlByteConsumed(self.parser) }).ok()?;
        let before = self.doc.get(..consumed.min(self.doc.len()))?;
        // `<` cannot occur inside a start tag (attribute values must escape it).
        memchr::memrchr(b'<', before)
    }

    fn start(&mut self, element: StartTag<'_>) -> Option<()> {
        if self.stack.len() >= MAX_DEPTH {
            return None;
        }
        let offset = self.start_tag_offset()?;
        let (line, column) = self.lines.position(offset);
        let name = CompactString::new(element.name);
        self.stack.push(Element {
            namespace: element.namespace.map(element_namespace),
            name,
            attributes: element.attributes,
            namespace_declarations: element.namespace_declarations,
            children: Vec::new(),
            line,
            column,
        });
        Some(())
    }

    fn end(&mut self) -> Option<()> {
        let element = self.stack.pop()?;
        match self.stack.last_mut() {
            Some(parent) => parent.children.push(Node::Element(element)),
            None if self.root.is_none() => self.root = Some(element),
            None => return None,
        }
        Some(())
    }

    fn text(&mut self, text: &str) -> Option<()> {
        self.stack.last_mut()?.append_text(text.into());
        Some(())
    }
}

/// What a start tag carries, read out of libxml2's callback arguments.
struct StartTag<'s> {
    name: &'s str,
    namespace: Option<&'s str>,
    attributes: Vec<Attribute>,
    namespace_declarations: Vec<(CompactString, Cow<'static, str>)>,
}

/// # Safety
/// `p` is null or a NUL-terminated string that outlives `'s`.
unsafe fn c_str<'s>(p: *const ffi::xmlChar) -> Option<&'s str> {
    if p.is_null() {
        return None;
    }
    // SAFETY: per this function's contract.
    unsafe { CStr::from_ptr(p.cast::<c_char>()) }.to_str().ok()
}

/// # Safety
/// `start..end` is a byte range inside one live buffer.
unsafe fn c_range<'s>(start: *const ffi::xmlChar, end: *const ffi::xmlChar) -> Option<&'s str> {
    if start.is_null() || end.is_null() {
        return None;
    }
    // SAFETY: both point into the same buffer, per this function's contract.
    let len = usize::try_from(unsafe { end.offset_from(start) }).ok()?;
    // SAFETY: `len` bytes from `start` lie in that buffer.
    std::str::from_utf8(unsafe { std::slice::from_raw_parts(start, len) }).ok()
}

/// An attribute value as libxml2 reports it without entity substitution: `&amp;` arrives as
/// `&#38;`, the only `&` that can remain.
fn attribute_value(raw: &str) -> CompactString {
    if raw.contains('&') {
        CompactString::from(raw.replace("&#38;", "&"))
    } else {
        CompactString::new(raw)
    }
}

/// # Safety
/// The arguments are those libxml2 passes to `startElementNs`.
unsafe fn read_start_tag<'s>(
    localname: *const ffi::xmlChar,
    uri: *const ffi::xmlChar,
    nb_namespaces: c_int,
    namespaces: *mut *const ffi::xmlChar,
    nb_attributes: c_int,
    attributes: *mut *const ffi::xmlChar,
) -> Option<StartTag<'s>> {
    // SAFETY: libxml2 passes NUL-terminated names, `nb_namespaces` (prefix, URI) pairs and
    // `nb_attributes` groups of five pointers, all alive for the callback.
    unsafe {
        let name = c_str(localname)?;
        let namespace = c_str(uri);
        let nb_namespaces = usize::try_from(nb_namespaces).ok()?;
        let nb_attributes = usize::try_from(nb_attributes).ok()?;
        let mut namespace_declarations = Vec::with_capacity(nb_namespaces);
        if nb_namespaces > 0 {
            let pairs = std::slice::from_raw_parts(namespaces, nb_namespaces * 2);
            for pair in pairs.chunks_exact(2) {
                let prefix = CompactString::new(c_str(pair[0]).unwrap_or_default());
                namespace_declarations.push((prefix, element_namespace(c_str(pair[1])?)));
            }
        }
        let mut list = Vec::with_capacity(nb_attributes);
        if nb_attributes > 0 {
            let groups = std::slice::from_raw_parts(attributes, nb_attributes * 5);
            for group in groups.chunks_exact(5) {
                list.push(Attribute {
                    namespace: c_str(group[2]).map(str::to_owned),
                    name: CompactString::new(c_str(group[0])?),
                    value: attribute_value(c_range(group[3], group[4])?),
                });
            }
        }
        Some(StartTag {
            name,
            namespace,
            attributes: list,
            namespace_declarations,
        })
    }
}

/// # Safety
/// `ctx` is null or a live `SaxTree` used by nothing else during the call.
unsafe fn tree<'t>(ctx: *mut c_void) -> Option<&'t mut SaxTree<'t>> {
    // SAFETY: per this function's contract.
    unsafe { ctx.cast::<SaxTree<'t>>().as_mut() }
}

#[allow(clippy::too_many_arguments)]
unsafe extern "C" fn on_start(
    ctx: *mut c_void,
    localname: *const ffi::xmlChar,
    _prefix: *const ffi::xmlChar,
    uri: *const ffi::xmlChar,
    nb_namespaces: c_int,
    namespaces: *mut *const ffi::xmlChar,
    nb_attributes: c_int,
    _nb_defaulted: c_int,
    attributes: *mut *const ffi::xmlChar,
) {
    // SAFETY: libxml2 passes back the user data it was given, a live `SaxTree`, and its own
    // callback arguments.
    unsafe {
        let Some(tree) = tree(ctx) else { return };
        if tree.broken {
            return;
        }
        let started = read_start_tag(
            localname,
            uri,
            nb_namespaces,
            namespaces,
            nb_attributes,
            attributes,
        )
        .and_then(|tag| tree.start(tag));
        tree.broken |= started.is_none();
    }
}

unsafe extern "C" fn on_end(
    ctx: *mut c_void,
    _localname: *const ffi::xmlChar,
    _prefix: *const ffi::xmlChar,
    _uri: *const ffi::xmlChar,
) {
    // SAFETY: as in `on_start`.
    let Some(tree) = (unsafe { tree(ctx) }) else {
        return;
    };
    if !tree.broken {
        tree.broken |= tree.end().is_none();
    }
}

unsafe extern "C" fn on_characters(ctx: *mut c_void, ch: *const ffi::xmlChar, len: c_int) {
    // SAFETY: as in `on_start`; `ch` holds `len` bytes.
    let (tree, text) = unsafe {
        let Some(tree) = tree(ctx) else { return };
        let text = usize::try_from(len)
            .ok()
            .and_then(|len| c_range(ch, ch.wrapping_add(len)));
        (tree, text)
    };
    if !tree.broken {
        tree.broken |= text.and_then(|t| tree.text(t)).is_none();
    }
}
