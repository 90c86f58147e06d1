//! XML plumbing for the wire model: a namespace-resolved element tree for reading, a writer for
//! building, and the `FromXml` / `ToXml` pair that every wire type implements.
//!
//! Reading resolves every element and attribute to `(namespace, local name)` at parse time, so no
//! code above this module ever looks at a prefix. The tree keeps each element's line and column so
//! that a typed-parse error can point into the document.

use std::borrow::Cow;
use std::fmt;

use compact_str::CompactString;

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{Namespace, ResolveResult};
use quick_xml::reader::NsReader;

use super::{MESSAGES_NS, SOAP_NS, TYPES_NS};

/// The deepest element nesting the reader accepts; EWS documents stay far below it.
pub const MAX_DEPTH: usize = 256;

/// The most attributes, and separately the most namespace declarations, the reader accepts on
/// one element: the schema pre-scan's default bounds ([`Limits`](crate::schema::Limits)), far
/// above any EWS element's.
pub const MAX_ATTRIBUTES: usize = crate::schema::Limits::DEFAULT_MAX_ATTRIBUTES;
/// See [`MAX_ATTRIBUTES`].
pub const MAX_NAMESPACE_DECLARATIONS: usize =
    crate::schema::Limits::DEFAULT_MAX_NAMESPACE_DECLARATIONS;

/// Why a document could not become typed values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    /// The bytes are not a well-formed, namespace-correct XML document.
    #[error("{line}:{column}: not well-formed XML: {message}")]
    Syntax {
        /// 1-based line.
        line: u32,
        /// 1-based column (bytes).
        column: u32,
        /// What the reader said.
        message: String,
    },
    /// A DOCTYPE appeared; SOAP forbids document type declarations.
    #[error("{line}:{column}: a DOCTYPE is not allowed in a SOAP message")]
    Doctype {
        /// 1-based line.
        line: u32,
        /// 1-based column.
        column: u32,
    },
    /// Elements nest deeper than [`MAX_DEPTH`].
    #[error("{line}:{column}: elements nest deeper than {MAX_DEPTH}")]
    TooDeep {
        /// 1-based line.
        line: u32,
        /// 1-based column.
        column: u32,
    },
    /// The document is well-formed but does not have the shape the wire model expects.
    #[error("{line}:{column}: {path}: {message}")]
    Shape {
        /// 1-based line of the element where the problem is.
        line: u32,
        /// 1-based column of that element.
        column: u32,
        /// Local names from the root down to that element, `/`-separated; only the element's
        /// own name until [`XmlError::located_in`] traces it.
        path: String,
        /// What is wrong, and what was expected.
        message: String,
    },
}

impl XmlError {
    /// A shape error with its path traced from `root`, the document's root element, down to
    /// the element it is about. Paths are only worked out here, for an error, so that reading a
    /// document does not build one per element. Other errors, and errors about elements that
    /// are not in `root`'s document, come back as they are.
    pub fn located_in(self, root: &Element) -> Self {
        match self {
            XmlError::Shape {
                line,
                column,
                path,
                message,
            } if line > 0 => XmlError::Shape {
                line,
                column,
                path: root.path_to(line, column).unwrap_or(path),
                message,
            },
            other => other,
        }
    }
}

/// An attribute, resolved to its namespace (`None` for unprefixed attributes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// The attribute's namespace URI, if it had a prefix.
    pub namespace: Option<String>,
    /// The local name.
    pub name: CompactString,
    /// The unescaped value.
    pub value: CompactString,
}

/// A child of an element: another element, or character data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// A child element.
    Element(Element),
    /// Unescaped character data (text and CDATA).
    Text(CompactString),
}

/// An element with its namespace resolved, its attributes, and its children in document order.
#[derive(Debug, Clone)]
pub struct Element {
    /// Namespace URI, `None` when the element is in no namespace. The SOAP and EWS namespaces
    /// are borrowed from this crate's constants rather than copied into every element.
    pub namespace: Option<Cow<'static, str>>,
    /// Local name.
    pub name: CompactString,
    /// Attributes, namespace declarations excluded.
    pub attributes: Vec<Attribute>,
    /// Namespace declarations made on this element, as `(prefix, uri)`; `""` is the default.
    /// The URIs of the SOAP and EWS namespaces are borrowed, as in `namespace`.
    pub namespace_declarations: Vec<(CompactString, Cow<'static, str>)>,
    /// Children in document order.
    pub children: Vec<Node>,
    /// 1-based line of the start tag (0 for elements built in code).
    pub line: u32,
    /// 1-based column of the start tag (0 for elements built in code).
    pub column: u32,
}

// The position is where an element was found, not what it is.
impl PartialEq for Element {
    fn eq(&self, other: &Self) -> bool {
        self.namespace == other.namespace
            && self.name == other.name
            && self.attributes == other.attributes
            && self.children == other.children
    }
}
impl Eq for Element {}

impl Element {
    /// True when the element has this namespace and local name.
    pub fn is(&self, namespace: &str, name: &str) -> bool {
        self.namespace.as_deref() == Some(namespace) && self.name == name
    }

    /// The unprefixed attribute `name`, if present.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|a| a.namespace.is_none() && a.name == name)
            .map(|a| a.value.as_str())
    }

    /// The unprefixed attribute `name`, or a shape error naming it.
    pub fn required_attr(&self, name: &str) -> Result<&str, XmlError> {
        self.attr(name)
            .ok_or_else(|| self.error(format!("attribute `{name}` is required")))
    }

    /// An optional unprefixed attribute parsed with `FromStr`, with a shape error on a bad value.
    pub fn parse_attr<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, XmlError> {
        self.attr(name)
            .map(|v| {
                v.parse()
                    .map_err(|_| self.error(format!("attribute `{name}` has invalid value {v:?}")))
            })
            .transpose()
    }

    /// A required unprefixed attribute parsed with `FromStr`: a shape error when it is missing or
    /// its value is bad.
    pub fn parse_required_attr<T: std::str::FromStr>(&self, name: &str) -> Result<T, XmlError> {
        self.parse_attr(name)?
            .ok_or_else(|| self.error(format!("attribute `{name}` is required")))
    }

    /// Child elements in document order.
    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    /// The first child element with this namespace and local name.
    pub fn child(&self, namespace: &str, name: &str) -> Option<&Element> {
        self.elements().find(|e| e.is(namespace, name))
    }

    /// The first child element with this namespace and local name, or a shape error.
    pub fn required_child(&self, namespace: &str, name: &str) -> Result<&Element, XmlError> {
        self.child(namespace, name)
            .ok_or_else(|| self.error(format!("element `{name}` is required")))
    }

    /// Every child element read as a `T`, in document order: the entries of a list element such
    /// as `m:ItemIds`.
    pub fn read_children<T: FromXml>(&self) -> Result<Vec<T>, XmlError> {
        self.elements().map(T::from_xml).collect()
    }

    /// The text of the first child `namespace:name`, if that child exists.
    pub fn child_text(&self, namespace: &str, name: &str) -> Option<String> {
        self.child(namespace, name).map(Element::text)
    }

    /// A child's text parsed with `FromStr`, with a shape error on a bad value.
    pub fn parse_child<T: std::str::FromStr>(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<T>, XmlError> {
        self.child(namespace, name)
            .map(|c| {
                let text = c.text();
                text.trim()
                    .parse()
                    .map_err(|_| c.error(format!("invalid value {text:?}")))
            })
            .transpose()
    }

    /// A child's text as an `xs:boolean`.
    pub fn child_bool(&self, namespace: &str, name: &str) -> Result<Option<bool>, XmlError> {
        self.child(namespace, name)
            .map(|c| parse_bool(&c.text()).ok_or_else(|| c.error("expected an xs:boolean")))
            .transpose()
    }

    /// An unprefixed attribute as an `xs:boolean`.
    pub fn attr_bool(&self, name: &str) -> Result<Option<bool>, XmlError> {
        self.attr(name)
            .map(|v| {
                parse_bool(v).ok_or_else(|| {
                    self.error(format!("attribute `{name}` is {v:?}, not an xs:boolean"))
                })
            })
            .transpose()
    }

    /// All character data directly inside this element, concatenated.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for n in &self.children {
            if let Node::Text(t) = n {
                out.push_str(t);
            }
        }
        out
    }

    /// Appends character data, joined to the text node that ends the children if there is one
    /// (a parser may report one run of text in pieces).
    pub(crate) fn append_text(&mut self, text: Cow<'_, str>) {
        match self.children.last_mut() {
            Some(Node::Text(previous)) => previous.push_str(&text),
            _ => self.children.push(Node::Text(CompactString::from(text))),
        }
    }

    /// A shape error located at this element. Its path is the element's name until
    /// [`XmlError::located_in`] traces it from the document's root.
    pub fn error(&self, message: impl Into<String>) -> XmlError {
        XmlError::Shape {
            line: self.line,
            column: self.column,
            path: self.name.to_string(),
            message: message.into(),
        }
    }

    /// Local names from this element down to the one whose start tag is at `line`:`column`,
    /// `/`-separated.
    fn path_to(&self, line: u32, column: u32) -> Option<String> {
        if (self.line, self.column) == (line, column) {
            return Some(self.name.to_string());
        }
        let below = self.elements().find_map(|e| e.path_to(line, column))?;
        Some(format!("{}/{below}", self.name))
    }

    /// Parses a whole document into its root element.
    ///
    /// The reader refuses DOCTYPEs (and so any entity declaration), resolves namespaces, stops at
    /// [`MAX_DEPTH`], refuses an element with more than [`MAX_ATTRIBUTES`] attributes or
    /// [`MAX_NAMESPACE_DECLARATIONS`] namespace declarations, and never recovers from an error.
    pub fn parse(doc: &[u8]) -> Result<Element, XmlError> {
        TreeBuilder::new(doc).build()
    }

    /// Writes this element, with its descendants, through `w`.
    ///
    /// Elements in the SOAP, messages and types namespaces get their usual prefixes; others are
    /// written with a default namespace declaration of their own.
    pub fn write_to(&self, w: &mut XmlWriter) {
        let prefixed = match self.namespace.as_deref() {
            Some(SOAP_NS) => format!("soap:{}", self.name),
            Some(MESSAGES_NS) => format!("m:{}", self.name),
            Some(TYPES_NS) => format!("t:{}", self.name),
            _ => self.name.to_string(),
        };
        let default_namespace = match self.namespace.as_deref() {
            Some(SOAP_NS | MESSAGES_NS | TYPES_NS) | None => None,
            Some(other) => Some(("xmlns", other)),
        };
        // Foreign-namespace attributes are not part of the EWS subset this model writes.
        let attributes = self
            .attributes
            .iter()
            .filter(|a| a.namespace.is_none())
            .map(|a| (a.name.as_str(), a.value.as_str()));
        w.tag(
            &prefixed,
            default_namespace.into_iter().chain(attributes),
            b">",
        );
        for child in &self.children {
            match child {
                Node::Element(e) => e.write_to(w),
                Node::Text(t) => w.text(t),
            }
        }
        w.end(&prefixed);
    }
}

/// Parses an `xs:boolean`: `true`, `false`, `1` or `0`, surrounding white space allowed.
pub fn parse_bool(value: &str) -> Option<bool> {
    match value.trim() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

/// A value that can be read from an element of the wire model.
pub trait FromXml: Sized {
    /// Builds the value from `element`, or says what is wrong and where.
    fn from_xml(element: &Element) -> Result<Self, XmlError>;
}

/// A value that can be written as XML by the wire model.
pub trait ToXml {
    /// Writes the value's element (or elements) through `w`.
    fn to_xml(&self, w: &mut XmlWriter);
}

/// Builds an XML document in memory with the prefixes `soap:`, `m:` and `t:`.
///
/// Markup goes straight into one buffer; character data is escaped with quick-xml's `escape`
/// (`<`, `>`, `&`, `'`, `"`), attribute values also have tab, line feed and carriage return
/// written as character references so that they survive attribute-value normalization.
/// Writing to memory cannot fail, so the methods return nothing.
pub struct XmlWriter {
    buf: Vec<u8>,
}

impl Default for XmlWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl XmlWriter {
    /// An empty document.
    pub fn new() -> Self {
        Self {
            buf: Vec::with_capacity(1024),
        }
    }

    /// Writes the XML declaration and opens `soap:Envelope`, declaring the `soap:`, `m:` and
    /// `t:` prefixes.
    pub fn envelope_start(&mut self) {
        self.buf.extend_from_slice(ENVELOPE_START.as_bytes());
    }

    /// Writes `<name attrs…` closed by `close` (`>` or `/>`).
    fn tag<'a>(
        &mut self,
        name: &str,
        attrs: impl IntoIterator<Item = (&'a str, &'a str)>,
        close: &[u8],
    ) {
        self.buf.push(b'<');
        self.buf.extend_from_slice(name.as_bytes());
        for (key, value) in attrs {
            self.buf.push(b' ');
            self.buf.extend_from_slice(key.as_bytes());
            self.buf.extend_from_slice(b"=\"");
            escape_attribute_into(&mut self.buf, value);
            self.buf.push(b'"');
        }
        self.buf.extend_from_slice(close);
    }

    /// Opens `<name attrs…>`.
    pub fn start(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.tag(name, attrs.iter().copied(), b">");
    }

    /// Writes `<name attrs…/>`.
    pub fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.tag(name, attrs.iter().copied(), b"/>");
    }

    /// Closes `</name>`.
    pub fn end(&mut self, name: &str) {
        self.buf.extend_from_slice(b"</");
        self.buf.extend_from_slice(name.as_bytes());
        self.buf.push(b'>');
    }

    /// Appends `xml`, already serialized (a kept property element), as it is.
    pub fn raw(&mut self, xml: &str) {
        self.buf.extend_from_slice(xml.as_bytes());
    }

    /// Writes escaped character data.
    pub fn text(&mut self, text: &str) {
        self.buf
            .extend_from_slice(quick_xml::escape::escape(text).as_bytes());
    }

    /// Writes `<name>text</name>`.
    pub fn text_element(&mut self, name: &str, text: &str) {
        self.start(name, &[]);
        self.text(text);
        self.end(name);
    }

    /// Writes `<name>` around each of `values`: a list element such as `m:ItemIds`.
    pub fn list<T: ToXml>(&mut self, name: &str, values: &[T]) {
        self.start(name, &[]);
        for value in values {
            value.to_xml(self);
        }
        self.end(name);
    }

    /// Writes `<name>text</name>` when `text` is present.
    pub fn opt_text_element(&mut self, name: &str, text: Option<&str>) {
        if let Some(text) = text {
            self.text_element(name, text);
        }
    }

    /// Writes `<name>true|false</name>` when `value` is present.
    pub fn opt_bool_element(&mut self, name: &str, value: Option<bool>) {
        if let Some(v) = value {
            self.text_element(name, if v { "true" } else { "false" });
        }
    }

    /// The document so far.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// The document so far, as a string.
    pub fn into_string(self) -> String {
        // Everything written went in as &str, so the buffer is UTF-8.
        String::from_utf8(self.into_bytes())
            .unwrap_or_else(|e| unreachable!("writer produced invalid UTF-8: {e}"))
    }
}

/// What [`XmlWriter::envelope_start`] writes, spelled out once rather than escaped anew for every
/// document.
const ENVELOPE_START: &str = concat!(
    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n",
    "<soap:Envelope",
    " xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"",
    " xmlns:m=\"http://schemas.microsoft.com/exchange/services/2006/messages\"",
    " xmlns:t=\"http://schemas.microsoft.com/exchange/services/2006/types\">",
);

/// Appends `value` escaped for a double-quoted attribute.
fn escape_attribute_into(buf: &mut Vec<u8>, value: &str) {
    /// Which bytes are written as character references.
    const ESCAPED: [bool; 256] = {
        let mut escaped = [false; 256];
        let specials = *b"<>&'\"\t\n\r";
        let mut i = 0;
        while i < specials.len() {
            escaped[specials[i] as usize] = true;
            i += 1;
        }
        escaped
    };
    let bytes = value.as_bytes();
    let mut from = 0;
    while let Some(at) = bytes[from..].iter().position(|&b| ESCAPED[usize::from(b)]) {
        let i = from + at;
        buf.extend_from_slice(&bytes[from..i]);
        buf.extend_from_slice(match bytes[i] {
            b'<' => b"&lt;",
            b'>' => b"&gt;",
            b'&' => b"&amp;",
            b'\'' => b"&apos;",
            b'"' => b"&quot;",
            b'\t' => b"&#9;",
            b'\n' => b"&#10;",
            _ => b"&#13;",
        });
        from = i + 1;
    }
    buf.extend_from_slice(&bytes[from..]);
}

/// An element's namespace URI: one of this crate's constants when it is a namespace the wire
/// model knows, so the tree does not hold a copy per element.
pub(crate) fn element_namespace(uri: impl AsRef<str> + Into<String>) -> Cow<'static, str> {
    match uri.as_ref() {
        SOAP_NS => Cow::Borrowed(SOAP_NS),
        MESSAGES_NS => Cow::Borrowed(MESSAGES_NS),
        TYPES_NS => Cow::Borrowed(TYPES_NS),
        _ => Cow::Owned(uri.into()),
    }
}

/// `xs:boolean` spelling used when writing.
pub fn bool_str(value: bool) -> &'static str {
    if value { "true" } else { "false" }
}

/// Line and 1-based column of byte offsets in one document, counting newlines forward from the
/// last offset asked for, so a whole parse counts each byte once.
pub(crate) struct LineCounter<'a> {
    doc: &'a [u8],
    /// The offset up to which newlines have been counted.
    counted_to: usize,
    line: u32,
    line_start: usize,
}

impl<'a> LineCounter<'a> {
    pub(crate) fn new(doc: &'a [u8]) -> Self {
        Self {
            doc,
            counted_to: 0,
            line: 1,
            line_start: 0,
        }
    }

    /// Line and column of byte `offset` (clamped to the document).
    pub(crate) fn position(&mut self, offset: usize) -> (u32, u32) {
        let offset = offset.min(self.doc.len());
        if offset < self.counted_to {
            // A parser can report an error before text already counted: count again from the
            // start, or `offset - line_start` underflows.
            self.counted_to = 0;
            self.line = 1;
            self.line_start = 0;
        }
        let span = &self.doc[self.counted_to..offset];
        if let Some(last) = memchr::memrchr(b'\n', span) {
            let newlines = memchr::memchr_iter(b'\n', span).count();
            self.line = self
                .line
                .saturating_add(u32::try_from(newlines).unwrap_or(u32::MAX));
            self.line_start = self.counted_to + last + 1;
        }
        self.counted_to = offset;
        let column = u32::try_from(offset - self.line_start + 1).unwrap_or(u32::MAX);
        (self.line, column)
    }
}

struct TreeBuilder<'a> {
    doc: &'a [u8],
    lines: LineCounter<'a>,
}

impl<'a> TreeBuilder<'a> {
    fn new(doc: &'a [u8]) -> Self {
        Self {
            doc,
            lines: LineCounter::new(doc),
        }
    }

    fn position(&mut self, offset: usize) -> (u32, u32) {
        self.lines.position(offset)
    }

    fn syntax(&mut self, offset: usize, message: impl fmt::Display) -> XmlError {
        let (line, column) = self.position(offset);
        XmlError::Syntax {
            line,
            column,
            message: message.to_string(),
        }
    }

    fn build(mut self) -> Result<Element, XmlError> {
        let mut reader = NsReader::from_reader(self.doc);
        let config = reader.config_mut();
        config.check_end_names = true;
        config.expand_empty_elements = false;
        config.trim_text(false);
        let mut stack: Vec<Element> = Vec::new();
        let mut root: Option<Element> = None;
        loop {
            let before = reader.buffer_position() as usize;
            let event = match reader.read_event() {
                Ok(event) => event,
                // quick-xml bounds the namespace bindings in scope (128); its message names
                // its own API, so the bound is told here in the document's terms.
                Err(quick_xml::Error::Namespace(
                    quick_xml::name::NamespaceError::TooManyBindings(limit),
                )) => {
                    return Err(self.syntax(
                        before,
                        format!("more than {limit} namespace declarations in scope"),
                    ));
                }
                Err(e) => return Err(self.syntax(reader.error_position() as usize, e)),
            };
            match event {
                Event::Start(start) => {
                    if stack.len() >= MAX_DEPTH {
                        let (line, column) = self.position(before);
                        return Err(XmlError::TooDeep { line, column });
                    }
                    let element = self.element(&reader, &start, before)?;
                    stack.push(element);
                }
                Event::Empty(start) => {
                    let element = self.element(&reader, &start, before)?;
                    self.attach(&mut stack, &mut root, element, before)?;
                }
                Event::End(_) => {
                    let element = stack
                        .pop()
                        .ok_or_else(|| self.syntax(before, "unexpected end tag"))?;
                    self.attach(&mut stack, &mut root, element, before)?;
                }
                Event::Text(text) => {
                    self.push_text(&mut stack, &root, text.xml10_content(), before)?;
                }
                Event::GeneralRef(reference) => {
                    let text = match reference.resolve_char_ref() {
                        Ok(Some(c)) => c.to_string(),
                        Ok(None) => {
                            let name = reference.xml10_content();
                            match quick_xml::escape::resolve_predefined_entity(&name) {
                                Some(s) => s.to_string(),
                                None => {
                                    return Err(self
                                        .syntax(before, format!("undeclared entity `&{name};`")));
                                }
                            }
                        }
                        Err(e) => return Err(self.syntax(before, e)),
                    };
                    self.push_text(&mut stack, &root, Cow::Owned(text), before)?;
                }
                Event::CData(data) => {
                    self.push_text(&mut stack, &root, data.xml10_content(), before)?;
                }
                Event::DocType(_) => {
                    let (line, column) = self.position(before);
                    return Err(XmlError::Doctype { line, column });
                }
                Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
                Event::Eof => break,
            }
        }
        if let Some(open) = stack.last() {
            let at = self.doc.len();
            return Err(self.syntax(at, format!("document ends inside `{}`", open.name)));
        }
        root.ok_or_else(|| self.syntax(0, "no root element"))
    }

    fn element(
        &mut self,
        reader: &NsReader<&[u8]>,
        start: &BytesStart<'_>,
        offset: usize,
    ) -> Result<Element, XmlError> {
        let (ns, local) = reader.resolver().resolve_element(start.name());
        let namespace = self.namespace(ns, offset)?.map(element_namespace);
        let name = CompactString::new(local.as_ref());
        let mut attributes = Vec::new();
        let mut namespace_declarations = Vec::new();
        for attr in start.attributes() {
            let attr = attr.map_err(|e| self.syntax(offset, e))?;
            let key = attr.key;
            let value = attr
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|e| self.syntax(offset, e))?;
            if let Some(prefix) = key.as_namespace_binding() {
                let prefix = match prefix {
                    quick_xml::name::PrefixDeclaration::Default => CompactString::default(),
                    quick_xml::name::PrefixDeclaration::Named(p) => CompactString::new(p),
                };
                if namespace_declarations.len() == MAX_NAMESPACE_DECLARATIONS {
                    return Err(self.syntax(
                        offset,
                        format!(
                            "element has more than {MAX_NAMESPACE_DECLARATIONS} namespace declarations"
                        ),
                    ));
                }
                namespace_declarations.push((prefix, element_namespace(value)));
                continue;
            }
            if attributes.len() == MAX_ATTRIBUTES {
                return Err(self.syntax(
                    offset,
                    format!("element has more than {MAX_ATTRIBUTES} attributes"),
                ));
            }
            let (ns, local) = reader.resolver().resolve_attribute(key);
            let namespace = self.namespace(ns, offset)?.map(str::to_owned);
            let name = CompactString::new(local.as_ref());
            attributes.push(Attribute {
                namespace,
                name,
                value: CompactString::from(value),
            });
        }
        let (line, column) = self.position(offset);
        Ok(Element {
            namespace,
            name,
            attributes,
            namespace_declarations,
            children: Vec::new(),
            line,
            column,
        })
    }

    fn namespace<'r>(
        &mut self,
        ns: ResolveResult<'r>,
        offset: usize,
    ) -> Result<Option<&'r str>, XmlError> {
        match ns {
            ResolveResult::Bound(Namespace(uri)) => Ok(Some(uri)),
            ResolveResult::Unbound => Ok(None),
            ResolveResult::Unknown(prefix) => {
                Err(self.syntax(offset, format!("undeclared namespace prefix `{prefix}`")))
            }
        }
    }

    fn attach(
        &mut self,
        stack: &mut [Element],
        root: &mut Option<Element>,
        element: Element,
        offset: usize,
    ) -> Result<(), XmlError> {
        match stack.last_mut() {
            Some(parent) => parent.children.push(Node::Element(element)),
            None if root.is_none() => *root = Some(element),
            None => return Err(self.syntax(offset, "more than one root element")),
        }
        Ok(())
    }

    fn push_text(
        &mut self,
        stack: &mut [Element],
        root: &Option<Element>,
        text: Cow<'_, str>,
        offset: usize,
    ) -> Result<(), XmlError> {
        match stack.last_mut() {
            Some(parent) => {
                parent.append_text(text);
                Ok(())
            }
            None if text.trim().is_empty() => Ok(()),
            None if root.is_some() => Err(self.syntax(offset, "text after the root element")),
            None => Err(self.syntax(offset, "text before the root element")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use quick_xml::events::{BytesEnd, BytesText};

    #[test]
    fn the_envelope_start_declares_the_crate_namespaces() {
        let mut w = XmlWriter::new();
        w.buf
            .extend_from_slice(b"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
        w.start(
            "soap:Envelope",
            &[
                ("xmlns:soap", SOAP_NS),
                ("xmlns:m", MESSAGES_NS),
                ("xmlns:t", TYPES_NS),
            ],
        );
        assert_eq!(w.into_string(), ENVELOPE_START);
    }

    /// What quick-xml's own event writer makes of the same calls.
    fn quick_xml_writes(name: &str, attrs: &[(&str, &str)], text: &str) -> Vec<u8> {
        let mut w = quick_xml::writer::Writer::new(Vec::new());
        let mut start = BytesStart::new(name);
        start.extend_attributes(attrs.iter().copied());
        let events = [
            Event::Start(start.clone()),
            Event::Text(BytesText::new(text)),
            Event::Empty(start),
            Event::End(BytesEnd::new(name)),
        ];
        for event in events {
            w.write_event(event).expect("writing to memory");
        }
        w.into_inner()
    }

    proptest! {
        #[test]
        fn writer_writes_what_quick_xml_writes(
            value in "[a-z<>&'\"\t\n\r ]{0,12}",
            text in "[a-z<>&'\"\t\n\r ]{0,12}",
        ) {
            let attrs = [("Id", value.as_str()), ("ChangeKey", "k")];
            let mut w = XmlWriter::new();
            w.start("t:ItemId", &attrs);
            w.text(&text);
            w.empty("t:ItemId", &attrs);
            w.end("t:ItemId");
            prop_assert_eq!(w.into_bytes(), quick_xml_writes("t:ItemId", &attrs, &text));
        }
    }

    #[test]
    fn attribute_values_keep_their_whitespace_through_a_parse() {
        let value = "a\tb\nc\r\nd <&'\"> e";
        let mut w = XmlWriter::new();
        w.empty("x", &[("v", value)]);
        let root = Element::parse(&w.into_bytes()).expect("the writer's output parses");
        assert_eq!(root.attr("v"), Some(value));
    }
}
