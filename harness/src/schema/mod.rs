//! XSD validation of EWS documents over libxml2: one compiled schema, many threads.
//!
//! A [`SchemaSet`] is one compiled schema made of the SOAP 1.1 envelope schema, the EWS
//! messages and types schemas and the W3C `xml:` namespace schema, tied together by a small
//! wrapper schema built in memory. The SOAP Body's child is declared `processContents="strict"`,
//! so one pass validates the envelope against SOAP and the Body's child against EWS; a bare EWS
//! element (say `m:SendItemResponse`) validates against the same set.
//!
//! Each document is first streamed: pushed whole to libxml2's push parser, with the validator
//! riding on its SAX events and no libxml2 tree built. Only a document that fails is parsed
//! again into a tree and validated over it, which gives every error the line and column of its
//! element's start tag.
//!
//! Documents are untrusted: [`SchemaSet::validate`] never fails and never panics. Before parsing,
//! a byte scan enforces [`Limits`], UTF-8, and the absence of any DOCTYPE; libxml2 then parses
//! without network, entity substitution, DTD loading, recovery or XInclude, and its entity
//! loader loads nothing while a document is being handled.
//!
//! [`report_files`] and [`validate_files`] validate many files on several threads at once.

mod diag;
mod enumerations;
mod errors;
mod ffi;
mod files;
mod limits;
mod loader;
mod tree;

use std::ffi::c_int;
use std::path::Path;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

pub use errors::{CompileError, SchemaError, Validation, XmlError, XmlErrorKind};
pub use files::{FileOutcome, FilesSummary, report_files, validate_files, validate_files_in_order};
pub use limits::{LIBXML2_MAX_DEPTH, Limits};

use diag::{Phase, Sink};
use tree::SaxTree;

use crate::ews::Element;
use loader::{EMBEDDED_PREFIX, Mode, ModeGuard};

const SOAP_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
const MESSAGES_NS: &str = "http://schemas.microsoft.com/exchange/services/2006/messages";
const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// Parser options for untrusted documents: never RECOVER, NOENT, DTDLOAD, DTDATTR, DTDVALID,
/// XINCLUDE or HUGE. IGNORE_ENC keeps an `encoding="…"` declaration from switching away from
/// the UTF-8 the pre-scan checked.
const PARSE_OPTIONS: c_int = STREAM_OPTIONS | ffi::XML_PARSE_COMPACT | ffi::XML_PARSE_NOBLANKS;

/// [`PARSE_OPTIONS`] without the two that only shape a tree (and NOBLANKS would take
/// whitespace away from the streaming validator).
const STREAM_OPTIONS: c_int = ffi::XML_PARSE_NONET
    | ffi::XML_PARSE_NOERROR
    | ffi::XML_PARSE_NOWARNING
    | ffi::XML_PARSE_IGNORE_ENC;

/// A parser context keeps every name it has seen in its dictionary; past this many parsed bytes
/// the contexts are replaced, so hostile streams of fresh names cannot grow memory for ever.
const RECYCLE_AFTER_BYTES: usize = 64 * 1024 * 1024;

/// The project's own schema files as embedded in the binary: `(file name, text)` for `xml.xsd`,
/// `soap-envelope.xsd`, `types.xsd` and `messages.xsd`, which import each other by those names.
pub fn embedded_schemas() -> impl Iterator<Item = (&'static str, &'static str)> {
    loader::EMBEDDED
        .iter()
        .map(|(name, text)| (*name, text.strip_suffix('\0').unwrap_or(text)))
}

/// The same files as [`embedded_schemas`], as the validator hands them to libxml2: long
/// enumerations (`ResponseCodeType`, `DistinguishedFolderIdNameType`) are written as one
/// equivalent pattern, which libxml2 checks in one pass instead of value by value.
pub fn compiled_schemas() -> impl Iterator<Item = (&'static str, &'static str)> {
    loader::EMBEDDED.iter().filter_map(|(name, _)| {
        let text = loader::embedded(name)?;
        Some((*name, text.strip_suffix('\0').unwrap_or(text)))
    })
}

/// A compiled schema set: the SOAP 1.1 envelope schema, EWS messages and types, and the `xml:`
/// namespace.
///
/// It is `Send + Sync`: the compiled schema is shared read-only by every thread, and each
/// validation borrows its own parser and validation contexts from a small pool.
pub struct SchemaSet {
    schema: NonNull<ffi::xmlSchema>,
    pool: Mutex<Vec<Contexts>>,
    limits: Limits,
    origin: String,
}

// SAFETY: the compiled `xmlSchema` is never modified after `xmlSchemaParse` returns (libxml2's
// validator only reads it), and the per-validation contexts in `pool` are each used by one
// thread at a time, handed out under the mutex.
unsafe impl Send for SchemaSet {}
// SAFETY: as above; `&SchemaSet` only reads the schema and takes contexts out of the mutex.
unsafe impl Sync for SchemaSet {}

impl std::fmt::Debug for SchemaSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchemaSet")
            .field("origin", &self.origin)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl SchemaSet {
    /// The project's own schemas (`schemas/` at the repository root, embedded in the binary),
    /// compiled once per process with default [`Limits`].
    pub fn embedded() -> Result<&'static SchemaSet, SchemaError> {
        static EMBEDDED: OnceLock<Result<SchemaSet, SchemaError>> = OnceLock::new();
        EMBEDDED
            .get_or_init(Self::compile_embedded)
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Compiles the embedded schemas afresh (for a set with its own [`Limits`]); prefer
    /// [`SchemaSet::embedded`].
    pub fn compile_embedded() -> Result<SchemaSet, SchemaError> {
        let wrapper = wrapper(&format!("{EMBEDDED_PREFIX}messages.xsd"));
        compile(&wrapper, Mode::EmbeddedOnly, "embedded schemas".to_owned())
    }

    /// A server's own schemas: `dir/messages.xsd`, which imports `types.xsd` beside it, read as
    /// served (the location-less `xml:` namespace import of the official `types.xsd` is satisfied
    /// by the embedded `xml.xsd`). The SOAP envelope schema is the embedded one.
    pub fn from_dir(dir: &Path) -> Result<SchemaSet, SchemaError> {
        for name in ["messages.xsd", "types.xsd"] {
            let path = dir.join(name);
            if !path.is_file() {
                return Err(SchemaError::MissingFile { path });
            }
        }
        let messages =
            std::path::absolute(dir.join("messages.xsd")).map_err(|_| SchemaError::BadPath {
                path: dir.to_owned(),
                reason: "cannot be made absolute",
            })?;
        let uri = file_uri(&messages).ok_or_else(|| SchemaError::BadPath {
            path: dir.to_owned(),
            reason: "is not valid UTF-8",
        })?;
        let root = messages.parent().and_then(|d| d.canonicalize().ok());
        loader::set_schema_dir(root);
        let result = compile(&wrapper(&uri), Mode::SchemaDir, dir.display().to_string());
        loader::set_schema_dir(None);
        result
    }

    /// The same set with other limits.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The limits applied to every document.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Validates one document, either a whole SOAP envelope or a bare EWS element.
    ///
    /// Never fails and never panics, whatever the input: every problem is an [`XmlError`] in the
    /// returned [`Validation`].
    pub fn validate(&self, doc: &[u8]) -> Validation {
        match self.check(doc, false) {
            Ok(_) => Validation::default(),
            Err(errors) => Validation { errors },
        }
    }

    /// Validates one document and, when it is valid, returns it as the [`Element`] tree that
    /// [`Element::parse`] would build, made in the same pass over the bytes. An invalid
    /// document gives the same [`Validation`] as [`SchemaSet::validate`].
    pub fn parse_valid(&self, doc: &[u8]) -> Result<Element, Validation> {
        match self.check(doc, true) {
            Ok(Some(root)) => Ok(root),
            // Valid, but the events did not make a tree (never seen): read it the usual way.
            Ok(None) => Element::parse(doc).map_err(|e| {
                Validation::single(XmlError::new(
                    XmlErrorKind::Internal,
                    0,
                    0,
                    format!("valid, but the wire model cannot read it: {e}"),
                ))
            }),
            Err(errors) => Err(Validation { errors }),
        }
    }

    /// Validates `doc`, building its tree when `build` asks for it; the errors if invalid.
    fn check(&self, doc: &[u8], build: bool) -> Result<Option<Element>, Vec<XmlError>> {
        limits::prescan(doc, &self.limits).map_err(|error| vec![error])?;
        let Ok(size) = c_int::try_from(doc.len()) else {
            return Err(vec![XmlError::new(
                XmlErrorKind::TooLarge,
                0,
                0,
                "document is larger than libxml2 can take (2 GiB)",
            )]);
        };
        loader::init();
        let Some(mut contexts) = self.take_contexts() else {
            return Err(vec![XmlError::new(
                XmlErrorKind::Internal,
                0,
                0,
                "libxml2 could not allocate a validation context",
            )]);
        };
        let result = contexts.run(doc, size, build);
        contexts.used_bytes = contexts.used_bytes.saturating_add(doc.len());
        if contexts.used_bytes <= RECYCLE_AFTER_BYTES {
            self.pool
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .push(contexts);
        }
        result
    }

    /// A context set for the calling thread: preferably the one it used last, since moving
    /// contexts between threads costs cache misses and cross-thread frees in the allocator.
    fn take_contexts(&self) -> Option<Contexts> {
        let me = thread_tag();
        let pooled = {
            let mut pool = self
                .pool
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            match pool.iter().rposition(|c| c.owner == me) {
                Some(mine) => Some(pool.swap_remove(mine)),
                None => pool.pop(),
            }
        };
        let mut contexts = pooled.or_else(|| Contexts::new(self.schema))?;
        contexts.owner = me;
        Some(contexts)
    }
}

impl Drop for SchemaSet {
    fn drop(&mut self) {
        // Validation contexts point at the schema: free them first.
        self.pool
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clear();
        // SAFETY: the schema came from `xmlSchemaParse`, no context refers to it any more, and
        // it is freed once.
        unsafe { ffi::xmlSchemaFree(self.schema.as_ptr()) };
    }
}

/// A small number that tells the calling thread apart from the other live threads.
fn thread_tag() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    thread_local! { static TAG: u64 = NEXT.fetch_add(1, Ordering::Relaxed); }
    TAG.try_with(|t| *t).unwrap_or(0)
}

/// One thread's worth of libxml2 state for validating documents.
struct Contexts {
    /// Reads a refused document into a tree, to find where it is wrong.
    parser: NonNull<ffi::xmlParserCtxt>,
    /// Streams documents through the validator, in push mode: the whole document is pushed
    /// as one final chunk, so the parser never stops to top up its input. Kept apart from
    /// `parser`, so neither mode inherits state from the other.
    push: NonNull<ffi::xmlParserCtxt>,
    /// Validates over a tree. Kept apart from `stream`: a context once plugged into SAX
    /// events keeps looking up namespaces in SAX bindings, which a tree walk does not fill.
    valid: NonNull<ffi::xmlSchemaValidCtxt>,
    /// Validates SAX events as the parser produces them.
    stream: NonNull<ffi::xmlSchemaValidCtxt>,
    used_bytes: usize,
    /// The [`thread_tag`] of the thread that used it last.
    owner: u64,
}

// SAFETY: libxml2 contexts have no thread affinity; a `Contexts` is only ever used by the one
// thread that took it out of the pool.
unsafe impl Send for Contexts {}

impl Contexts {
    fn new(schema: NonNull<ffi::xmlSchema>) -> Option<Self> {
        // SAFETY: plain allocations; `schema` is a live compiled schema.
        let (parser, push, valid, stream) = unsafe {
            (
                ffi::xmlNewParserCtxt(),
                ffi::xmlNewParserCtxt(),
                ffi::xmlSchemaNewValidCtxt(schema.as_ptr()),
                ffi::xmlSchemaNewValidCtxt(schema.as_ptr()),
            )
        };
        match (
            NonNull::new(parser),
            NonNull::new(push),
            NonNull::new(valid),
            NonNull::new(stream),
        ) {
            (Some(parser), Some(push), Some(valid), Some(stream)) => Some(Self {
                parser,
                push,
                valid,
                stream,
                used_bytes: 0,
                owner: 0,
            }),
            _ => {
                // SAFETY: each pointer is null or freshly allocated and unused; the free
                // functions accept null.
                unsafe {
                    ffi::xmlFreeParserCtxt(parser);
                    ffi::xmlFreeParserCtxt(push);
                    ffi::xmlSchemaFreeValidCtxt(valid);
                    ffi::xmlSchemaFreeValidCtxt(stream);
                }
                None
            }
        }
    }

    /// Parses and validates `doc` (already pre-scanned; `size == doc.len()`), building its
    /// [`Element`] tree on the way when `build` is set.
    fn run(
        &mut self,
        doc: &[u8],
        size: c_int,
        build: bool,
    ) -> Result<Option<Element>, Vec<XmlError>> {
        let mut tree = build.then(|| SaxTree::new(doc, self.push.as_ptr()));
        if self.streams_valid(doc, size, tree.as_mut()) {
            return Ok(tree.and_then(SaxTree::finish));
        }
        let errors = self.diagnose(doc, size);
        if errors.is_empty() {
            // The tree walk found nothing the stream did (never seen): the walk decides.
            return Ok(None);
        }
        Err(errors)
    }

    /// Streams `doc` through the push parser with the validator plugged into its SAX events:
    /// true when it is well-formed and valid. Without `tree` no tree of any kind is built; with
    /// it, the events also feed `tree`. Errors are only noticed here; [`Contexts::diagnose`]
    /// reports them.
    fn streams_valid(&mut self, doc: &[u8], size: c_int, tree: Option<&mut SaxTree<'_>>) -> bool {
        let sink = Sink::doc(doc);
        let _mode = ModeGuard::new(Mode::Nothing);
        let _route = ThreadErrorRoute::to(&sink);
        let push = self.push.as_ptr();
        let parser = push.cast::<ffi::XmlParserCtxtPrefix>();
        let stream = self.stream.as_ptr();
        let mut handler = SaxTree::handler();
        // SAFETY: the push context is ours alone and live, and its first two fields are `sax`
        // and `userData`; they are restored before returning, after the plug (which points
        // into them) is removed. With a null `sax` the plug installs only the validator's
        // callbacks, so no tree is built; with `handler` (which outlives the parse) it also
        // calls the tree builder, whose user data is `tree`, borrowed for the whole call.
        // Neither handler has a `startDocument`, so no libxml2 document is ever built. `doc`
        // outlives the parse and `size` is its length. `sink` outlives the error handler,
        // which is unset before returning.
        unsafe {
            let (sax, user_data) = ((*parser).sax, (*parser).user_data);
            match tree {
                Some(tree) => {
                    (*parser).sax = &raw mut handler;
                    (*parser).user_data = ptr::from_mut(tree).cast();
                }
                None => (*parser).sax = ptr::null_mut(),
            }
            let plug =
                ffi::xmlSchemaSAXPlug(stream, &raw mut (*parser).sax, &raw mut (*parser).user_data);
            let mut valid = false;
            if !plug.is_null() {
                ffi::xmlSchemaSetValidStructuredErrors(
                    stream,
                    Some(diag::on_error),
                    sink.as_user_data(),
                );
                let buffer_size = ffi::__xmlDefaultBufferSize();
                let saved = *buffer_size;
                *buffer_size = (size / 2 + 64).min(saved);
                let reset = ffi::xmlCtxtResetPush(push, ptr::null(), 0, ptr::null(), ptr::null());
                *buffer_size = saved;
                let ready = reset == 0 && ffi::xmlCtxtUseOptions(push, STREAM_OPTIONS) == 0;
                // Any error number, even a warning's, sends the document to `diagnose`, which
                // has the last word.
                valid = ready
                    && ffi::xmlParseChunk(push, doc.as_ptr().cast(), size, 1) == 0
                    && ffi::xmlSchemaIsValid(stream) == 1;
                ffi::xmlSchemaSetValidStructuredErrors(
                    stream,
                    Some(diag::on_error),
                    ptr::null_mut(),
                );
                ffi::xmlSchemaSAXUnplug(plug);
            }
            (*parser).sax = sax;
            (*parser).user_data = user_data;
            valid && !sink.has_errors()
        }
    }

    /// Parses `doc` into a tree and validates it, collecting every error with its position.
    fn diagnose(&mut self, doc: &[u8], size: c_int) -> Vec<XmlError> {
        let sink = Sink::doc(doc);
        let fallback = {
            let _mode = ModeGuard::new(Mode::Nothing);
            let _route = ThreadErrorRoute::to(&sink);
            self.parse_and_validate(doc, size, &sink)
        };
        let mut errors = sink.into_doc_errors();
        if let (Err(error), true) = (fallback, errors.is_empty()) {
            errors.push(error);
        }
        errors
    }

    /// Does the work of [`Contexts::run`] with errors routed to `sink`; `Err` is the error to
    /// report if libxml2 failed without saying why.
    fn parse_and_validate(
        &mut self,
        doc: &[u8],
        size: c_int,
        sink: &Sink<'_>,
    ) -> Result<(), XmlError> {
        // SAFETY: `doc` outlives the call and `size` is its length; the parser context is ours
        // alone; no URL and no encoding are passed.
        let tree = unsafe {
            ffi::xmlCtxtReadMemory(
                self.parser.as_ptr(),
                doc.as_ptr().cast(),
                size,
                ptr::null(),
                ptr::null(),
                PARSE_OPTIONS,
            )
        };
        let Some(tree) = NonNull::new(tree).map(Tree) else {
            return Err(self.last_parser_error());
        };
        if sink.has_errors() {
            // Namespace errors leave a tree behind, but the document is still not well-formed.
            return Ok(());
        }
        // SAFETY: `tree` is a live document.
        if !unsafe { ffi::xmlGetIntSubset(tree.0.as_ptr()) }.is_null() {
            return Err(XmlError::new(
                XmlErrorKind::Doctype,
                0,
                0,
                "DOCTYPE declarations are not allowed (SOAP forbids DTDs)",
            ));
        }
        sink.set_phase(Phase::Validate);
        // SAFETY: the validation context is ours alone and `sink` outlives the call: the handler
        // is unset again before returning.
        let rc = unsafe {
            ffi::xmlSchemaSetValidStructuredErrors(
                self.valid.as_ptr(),
                Some(diag::on_error),
                sink.as_user_data(),
            );
            let rc = ffi::xmlSchemaValidateDoc(self.valid.as_ptr(), tree.0.as_ptr());
            ffi::xmlSchemaSetValidStructuredErrors(
                self.valid.as_ptr(),
                Some(diag::on_error),
                ptr::null_mut(),
            );
            rc
        };
        match rc {
            0 => Ok(()),
            rc if rc < 0 => Err(XmlError::new(
                XmlErrorKind::Internal,
                0,
                0,
                format!("libxml2 failed while validating (code {rc})"),
            )),
            rc => Err(XmlError::new(
                XmlErrorKind::Schema,
                0,
                0,
                format!("document is not valid (code {rc})"),
            )),
        }
    }

    fn last_parser_error(&self) -> XmlError {
        // SAFETY: the context is live; the returned error, if any, lives in it.
        let last = unsafe { ffi::xmlCtxtGetLastError(self.parser.as_ptr().cast()).as_ref() };
        let (line, column) = last.map_or((0, 0), |e| {
            (
                u32::try_from(e.line).unwrap_or(0),
                u32::try_from(e.int2).unwrap_or(0),
            )
        });
        XmlError::new(
            XmlErrorKind::NotWellFormed,
            line,
            column,
            "document is not well-formed",
        )
    }
}

impl Drop for Contexts {
    fn drop(&mut self) {
        // SAFETY: all four were allocated by libxml2 in `Contexts::new` and are freed once.
        unsafe {
            ffi::xmlFreeParserCtxt(self.parser.as_ptr());
            ffi::xmlFreeParserCtxt(self.push.as_ptr());
            ffi::xmlSchemaFreeValidCtxt(self.valid.as_ptr());
            ffi::xmlSchemaFreeValidCtxt(self.stream.as_ptr());
        }
    }
}

/// A parsed document, freed when dropped.
struct Tree(NonNull<ffi::xmlDoc>);

impl Drop for Tree {
    fn drop(&mut self) {
        // SAFETY: the tree came from `xmlCtxtReadMemory` and is freed once.
        unsafe { ffi::xmlFreeDoc(self.0.as_ptr()) };
    }
}

/// Routes the calling thread's libxml2 structured errors to a [`Sink`] until dropped.
struct ThreadErrorRoute;

impl ThreadErrorRoute {
    fn to(sink: &Sink<'_>) -> Self {
        // SAFETY: `on_error` accepts the sink pointer; the route is reset on drop, before the
        // sink (declared earlier, so dropped later) goes away.
        unsafe { ffi::xmlSetStructuredErrorFunc(sink.as_user_data(), Some(diag::on_error)) };
        Self
    }
}

impl Drop for ThreadErrorRoute {
    fn drop(&mut self) {
        // SAFETY: a null context makes `on_error` drop errors.
        unsafe { ffi::xmlSetStructuredErrorFunc(ptr::null_mut(), Some(diag::on_error)) };
    }
}

/// The in-memory schema that ties the set together. The `xml:` namespace comes first so that
/// a location-less import of it (as in the official `types.xsd`) finds it already known.
fn wrapper(messages_location: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:ewsconf:schema-set">
  <xs:import namespace="{XML_NS}" schemaLocation="{EMBEDDED_PREFIX}xml.xsd"/>
  <xs:import namespace="{SOAP_NS}" schemaLocation="{EMBEDDED_PREFIX}soap-envelope.xsd"/>
  <xs:import namespace="{MESSAGES_NS}" schemaLocation="{messages_location}"/>
</xs:schema>
"#
    )
}

/// `file://` URI of an absolute path, percent-encoding everything but unreserved characters
/// and `/`, so the result is also safe inside an XML attribute.
fn file_uri(path: &Path) -> Option<String> {
    let text = path.to_str()?;
    let mut uri = String::from("file://");
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'.' | b'_' | b'~') {
            uri.push(char::from(b));
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    Some(uri)
}

fn compile(wrapper: &str, mode: Mode, origin: String) -> Result<SchemaSet, SchemaError> {
    loader::init();
    let size = c_int::try_from(wrapper.len()).map_err(|_| SchemaError::Alloc("wrapper schema"))?;
    let sink = Sink::compile();
    let schema = {
        let _mode = ModeGuard::new(mode);
        let _route = ThreadErrorRoute::to(&sink);
        drop(loader::take_refused());
        // SAFETY: the wrapper text outlives the parser context, which is freed before
        // returning; `sink` outlives every callback (the route is reset at the end of the block).
        unsafe {
            let pctxt = ffi::xmlSchemaNewMemParserCtxt(wrapper.as_ptr().cast(), size);
            if pctxt.is_null() {
                return Err(SchemaError::Alloc("schema parser context"));
            }
            ffi::xmlSchemaSetParserStructuredErrors(
                pctxt,
                Some(diag::on_error),
                sink.as_user_data(),
            );
            let schema = ffi::xmlSchemaParse(pctxt);
            ffi::xmlSchemaFreeParserCtxt(pctxt);
            schema
        }
    };
    let refused = loader::take_refused();
    let schema = NonNull::new(schema);
    if let (Some(schema), true, false) = (schema, refused.is_empty(), sink.has_errors()) {
        return Ok(SchemaSet {
            schema,
            pool: Mutex::new(Vec::new()),
            limits: Limits::default(),
            origin,
        });
    }
    if let Some(schema) = schema {
        // SAFETY: compiled just now and not shared with anything.
        unsafe { ffi::xmlSchemaFree(schema.as_ptr()) };
    }
    let mut errors: Vec<CompileError> = refused
        .into_iter()
        .map(|message| CompileError {
            file: origin.clone(),
            line: 0,
            message,
        })
        .collect();
    errors.extend(sink.into_compile_errors());
    Err(SchemaError::Compile { origin, errors })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_uris_escape_what_xml_and_uris_cannot_hold() {
        assert_eq!(
            file_uri(Path::new("/a b/x&y\"z/messages.xsd")).as_deref(),
            Some("file:///a%20b/x%26y%22z/messages.xsd")
        );
    }

    #[test]
    fn embedded_set_compiles_and_validates_a_response() {
        let set = SchemaSet::embedded().expect("embedded schemas compile");
        let doc = br#"<m:SendItemResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"><m:ResponseMessages><m:SendItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode></m:SendItemResponseMessage></m:ResponseMessages></m:SendItemResponse>"#;
        assert_eq!(set.validate(doc), Validation::default());
    }
}
