//! Hand-written declarations for the few libxml2 (2.9+) functions the validator calls.
//!
//! The reference is the installed headers (`libxml/parser.h`, `parserInternals.h`, `tree.h`,
//! `xmlerror.h`, `xmlIO.h`, `xmlschemas.h`). Every libxml2 type the validator never looks inside
//! is an opaque `#[repr(C)]` struct used only behind a pointer. Two structs are read directly:
//! [`XmlErrorRaw`] (all of `xmlError`, a public struct whose layout is part of the ABI) and
//! [`XmlNodePrefix`] (the leading fields shared by `xmlNode` and `xmlAttr`).

#![allow(non_camel_case_types, non_snake_case)]

use std::ffi::{c_char, c_int, c_long, c_uchar, c_uint, c_void};
use std::marker::{PhantomData, PhantomPinned};

macro_rules! opaque {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[repr(C)]
        pub struct $name {
            _data: [u8; 0],
            _marker: PhantomData<(*mut u8, PhantomPinned)>,
        }
    )*};
}

opaque! {
    /// `xmlParserCtxt`: a parser context, reusable for many documents.
    xmlParserCtxt;
    /// `xmlParserInput`: one input stream, as an entity loader returns it.
    xmlParserInput;
    /// `xmlDoc`: a parsed document tree.
    xmlDoc;
    /// `xmlDtd`: a document type declaration node.
    xmlDtd;
    /// `xmlSchema`: a compiled schema, read-only once built.
    xmlSchema;
    /// `xmlSchemaParserCtxt`: the context that compiles a schema.
    xmlSchemaParserCtxt;
    /// `xmlSchemaValidCtxt`: the context that validates documents against one compiled schema.
    xmlSchemaValidCtxt;
    /// `xmlSchemaSAXPlug`: a validation layer spliced into a parser's SAX callbacks.
    xmlSchemaSAXPlugStruct;
}

/// `xmlChar`: libxml2's UTF-8 code unit.
pub type xmlChar = c_uchar;

/// `xmlErrorLevel::XML_ERR_WARNING`.
pub const XML_ERR_WARNING: c_int = 1;
/// `xmlElementType::XML_ELEMENT_NODE`.
pub const XML_ELEMENT_NODE: c_int = 1;
/// `xmlElementType::XML_ATTRIBUTE_NODE`.
pub const XML_ATTRIBUTE_NODE: c_int = 2;
/// `xmlParserErrors::XML_ERR_INTERNAL_ERROR`, the code of the "Excessive depth" error.
pub const XML_ERR_INTERNAL_ERROR: c_int = 1;

/// `XML_PARSE_NOERROR`: no error reports through the SAX error callbacks.
pub const XML_PARSE_NOERROR: c_int = 1 << 5;
/// `XML_PARSE_NOWARNING`: no warning reports.
pub const XML_PARSE_NOWARNING: c_int = 1 << 6;
/// `XML_PARSE_NOBLANKS`: drop whitespace-only text between elements (libxml2 keeps it when
/// it is an element's only content), which schema validation ignores anyway.
pub const XML_PARSE_NOBLANKS: c_int = 1 << 8;
/// `XML_PARSE_NONET`: forbid network access.
pub const XML_PARSE_NONET: c_int = 1 << 11;
/// `XML_PARSE_COMPACT`: store small text nodes inline (faster, read-only tree).
pub const XML_PARSE_COMPACT: c_int = 1 << 16;
/// `XML_PARSE_IGNORE_ENC`: ignore the encoding named in the XML declaration.
pub const XML_PARSE_IGNORE_ENC: c_int = 1 << 21;

/// `struct _xmlError` from `xmlerror.h`, field for field.
#[repr(C)]
pub struct XmlErrorRaw {
    /// What part of the library raised the error (`xmlErrorDomain`).
    pub domain: c_int,
    /// The error code (`xmlParserErrors`).
    pub code: c_int,
    /// Human-readable message, usually ending in a newline; may be null.
    pub message: *mut c_char,
    /// `xmlErrorLevel`: 1 warning, 2 error, 3 fatal.
    pub level: c_int,
    /// The file (URL) the error is in, if known.
    pub file: *mut c_char,
    /// The line, or 0.
    pub line: c_int,
    /// Extra string information.
    pub str1: *mut c_char,
    /// Extra string information.
    pub str2: *mut c_char,
    /// Extra string information.
    pub str3: *mut c_char,
    /// Extra number information.
    pub int1: c_int,
    /// For parser errors: the column, or 0.
    pub int2: c_int,
    /// The parser context, if any.
    pub ctxt: *mut c_void,
    /// The node the error is about (schema validation), if any.
    pub node: *mut c_void,
}

/// The leading fields that `struct _xmlNode` and `struct _xmlAttr` share (`tree.h`); only read
/// through a pointer libxml2 hands over, never constructed.
#[repr(C)]
pub struct XmlNodePrefix {
    /// Application data.
    pub _private: *mut c_void,
    /// `xmlElementType`.
    pub type_: c_int,
    /// Local name (element or attribute).
    pub name: *const xmlChar,
    /// First child.
    pub children: *mut XmlNodePrefix,
    /// Last child.
    pub last: *mut XmlNodePrefix,
    /// Parent: for an attribute, the element that carries it.
    pub parent: *mut XmlNodePrefix,
}

/// The two leading fields of `struct _xmlParserCtxt` (`parser.h`): its SAX callback table and
/// the user data those callbacks receive. Only read and written through a pointer to a live
/// parser context, never constructed.
#[repr(C)]
pub struct XmlParserCtxtPrefix {
    /// `sax`: the callbacks the parser calls.
    pub sax: *mut xmlSAXHandler,
    /// `userData`: the first argument of every callback (the context itself by default).
    pub user_data: *mut c_void,
}

/// `XML_SAX2_MAGIC`: marks an [`xmlSAXHandler`] as carrying the SAX2 (namespace) callbacks.
pub const XML_SAX2_MAGIC: c_uint = 0xDEED_BEAF;

/// Any SAX callback the validator never sets; only its size and place matter.
pub type UnusedSaxFunc = Option<unsafe extern "C" fn()>;

/// `startElementNsSAX2Func`: a start tag with its namespaces and attributes resolved.
/// `attributes` holds `nb_attributes` groups of five pointers: local name, prefix, URI, value
/// start and value end.
pub type StartElementNsFunc = unsafe extern "C" fn(
    ctx: *mut c_void,
    localname: *const xmlChar,
    prefix: *const xmlChar,
    uri: *const xmlChar,
    nb_namespaces: c_int,
    namespaces: *mut *const xmlChar,
    nb_attributes: c_int,
    nb_defaulted: c_int,
    attributes: *mut *const xmlChar,
);
/// `endElementNsSAX2Func`.
pub type EndElementNsFunc = unsafe extern "C" fn(
    ctx: *mut c_void,
    localname: *const xmlChar,
    prefix: *const xmlChar,
    uri: *const xmlChar,
);
/// `charactersSAXFunc` (and `cdataBlockSAXFunc`, `ignorableWhitespaceSAXFunc`): `len` bytes of
/// character data, not NUL-terminated.
pub type CharactersFunc = unsafe extern "C" fn(ctx: *mut c_void, ch: *const xmlChar, len: c_int);

/// `struct _xmlSAXHandler` from `parser.h`, field for field: 27 SAX1 callbacks, `initialized`,
/// then the SAX2 extensions.
#[repr(C)]
pub struct xmlSAXHandler {
    /// `internalSubset` … `endElement` (16 callbacks, in header order).
    pub sax1_head: [UnusedSaxFunc; 16],
    /// `reference`.
    pub reference: UnusedSaxFunc,
    /// `characters`.
    pub characters: Option<CharactersFunc>,
    /// `ignorableWhitespace`.
    pub ignorable_whitespace: Option<CharactersFunc>,
    /// `processingInstruction`, `comment`, `warning`, `error`, `fatalError`,
    /// `getParameterEntity`.
    pub sax1_middle: [UnusedSaxFunc; 6],
    /// `cdataBlock`.
    pub cdata_block: Option<CharactersFunc>,
    /// `externalSubset`.
    pub external_subset: UnusedSaxFunc,
    /// `initialized`: [`XML_SAX2_MAGIC`] for a SAX2 handler.
    pub initialized: c_uint,
    /// `_private`.
    pub private: *mut c_void,
    /// `startElementNs`.
    pub start_element_ns: Option<StartElementNsFunc>,
    /// `endElementNs`.
    pub end_element_ns: Option<EndElementNsFunc>,
    /// `serror`.
    pub serror: Option<xmlStructuredErrorFunc>,
}

/// `xmlStructuredErrorFunc`.
pub type xmlStructuredErrorFunc =
    unsafe extern "C" fn(user_data: *mut c_void, error: *mut XmlErrorRaw);

/// A handler for the generic error channel that ignores everything.
///
/// libxml2's `xmlGenericErrorFunc` is variadic (`void (*)(void *ctx, const char *msg, ...)`) and
/// stable Rust cannot define variadic functions. The declarations below therefore take a
/// two-argument function instead. This relies on the C calling conventions of the supported
/// targets (x86-64 System V, AArch64) where a callee that reads no variadic argument is called
/// correctly through a variadic pointer; the handler never touches `msg` or what follows.
pub type SilentGenericErrorFunc = unsafe extern "C" fn(ctx: *mut c_void, msg: *const c_char);

/// `xmlExternalEntityLoader`.
pub type xmlExternalEntityLoader = unsafe extern "C" fn(
    url: *const c_char,
    id: *const c_char,
    ctxt: *mut xmlParserCtxt,
) -> *mut xmlParserInput;

unsafe extern "C" {
    /// Initializes the library; call once before using it from several threads.
    pub fn xmlInitParser();

    /// Replaces the process-wide external entity loader.
    pub fn xmlSetExternalEntityLoader(f: xmlExternalEntityLoader);
    /// The loader that refuses `http://` and `ftp://` and reads everything else from disk.
    pub fn xmlNoNetExternalEntityLoader(
        url: *const c_char,
        id: *const c_char,
        ctxt: *mut xmlParserCtxt,
    ) -> *mut xmlParserInput;
    /// An input stream over a NUL-terminated buffer; the buffer is not copied and must outlive
    /// the stream.
    pub fn xmlNewStringInputStream(
        ctxt: *mut xmlParserCtxt,
        buffer: *const xmlChar,
    ) -> *mut xmlParserInput;

    /// Sets the calling thread's structured error handler.
    pub fn xmlSetStructuredErrorFunc(ctx: *mut c_void, handler: Option<xmlStructuredErrorFunc>);
    /// Sets the structured error handler new threads start with.
    pub fn xmlThrDefSetStructuredErrorFunc(
        ctx: *mut c_void,
        handler: Option<xmlStructuredErrorFunc>,
    );
    /// Sets the calling thread's generic (printf-style) error handler. See
    /// [`SilentGenericErrorFunc`] for the signature.
    pub fn xmlSetGenericErrorFunc(ctx: *mut c_void, handler: Option<SilentGenericErrorFunc>);
    /// Sets the generic error handler new threads start with.
    pub fn xmlThrDefSetGenericErrorFunc(ctx: *mut c_void, handler: Option<SilentGenericErrorFunc>);

    /// Allocates a parser context.
    pub fn xmlNewParserCtxt() -> *mut xmlParserCtxt;
    /// Frees a parser context.
    pub fn xmlFreeParserCtxt(ctxt: *mut xmlParserCtxt);
    /// Parses a document from memory with a reused context; null on a fatal error.
    pub fn xmlCtxtReadMemory(
        ctxt: *mut xmlParserCtxt,
        buffer: *const c_char,
        size: c_int,
        url: *const c_char,
        encoding: *const c_char,
        options: c_int,
    ) -> *mut xmlDoc;
    /// The calling thread's default buffer size, which sizes a push parser's input buffer.
    pub fn __xmlDefaultBufferSize() -> *mut c_int;
    /// Makes a context ready to push-parse a new document (`chunk` may be null).
    pub fn xmlCtxtResetPush(
        ctxt: *mut xmlParserCtxt,
        chunk: *const c_char,
        size: c_int,
        filename: *const c_char,
        encoding: *const c_char,
    ) -> c_int;
    /// Sets parser options on a context; returns the options it did not know (0 when all set).
    pub fn xmlCtxtUseOptions(ctxt: *mut xmlParserCtxt, options: c_int) -> c_int;
    /// Push-parses `size` bytes; with `terminate` set they are the end of the document.
    /// Returns the last error number (0 when none).
    pub fn xmlParseChunk(
        ctxt: *mut xmlParserCtxt,
        chunk: *const c_char,
        size: c_int,
        terminate: c_int,
    ) -> c_int;
    /// How many bytes of the input the parser has consumed so far.
    pub fn xmlByteConsumed(ctxt: *mut xmlParserCtxt) -> c_long;
    /// The last error raised in a parser context, or null.
    pub fn xmlCtxtGetLastError(ctx: *mut c_void) -> *mut XmlErrorRaw;
    /// Frees a document tree.
    pub fn xmlFreeDoc(doc: *mut xmlDoc);
    /// The document's internal subset (its DOCTYPE), or null.
    pub fn xmlGetIntSubset(doc: *const xmlDoc) -> *mut xmlDtd;

    /// A schema parser context over an in-memory schema document.
    pub fn xmlSchemaNewMemParserCtxt(
        buffer: *const c_char,
        size: c_int,
    ) -> *mut xmlSchemaParserCtxt;
    /// Routes a schema parser context's errors to a structured handler.
    pub fn xmlSchemaSetParserStructuredErrors(
        ctxt: *mut xmlSchemaParserCtxt,
        serror: Option<xmlStructuredErrorFunc>,
        ctx: *mut c_void,
    );
    /// Compiles the schema; null on failure.
    pub fn xmlSchemaParse(ctxt: *mut xmlSchemaParserCtxt) -> *mut xmlSchema;
    /// Frees a schema parser context.
    pub fn xmlSchemaFreeParserCtxt(ctxt: *mut xmlSchemaParserCtxt);
    /// Frees a compiled schema.
    pub fn xmlSchemaFree(schema: *mut xmlSchema);

    /// A validation context for one compiled schema.
    pub fn xmlSchemaNewValidCtxt(schema: *mut xmlSchema) -> *mut xmlSchemaValidCtxt;
    /// Routes a validation context's errors to a structured handler.
    pub fn xmlSchemaSetValidStructuredErrors(
        ctxt: *mut xmlSchemaValidCtxt,
        serror: Option<xmlStructuredErrorFunc>,
        ctx: *mut c_void,
    );
    /// Validates a document tree: 0 valid, > 0 invalid, < 0 internal error.
    pub fn xmlSchemaValidateDoc(ctxt: *mut xmlSchemaValidCtxt, doc: *mut xmlDoc) -> c_int;
    /// Frees a validation context.
    pub fn xmlSchemaFreeValidCtxt(ctxt: *mut xmlSchemaValidCtxt);
    /// Splices streaming validation into a SAX callback table: `*sax` and `*user_data` are
    /// replaced by the validator's; null on failure.
    pub fn xmlSchemaSAXPlug(
        ctxt: *mut xmlSchemaValidCtxt,
        sax: *mut *mut xmlSAXHandler,
        user_data: *mut *mut c_void,
    ) -> *mut xmlSchemaSAXPlugStruct;
    /// Removes a plug and puts the original `*sax` back (and `*user_data`, when `*sax` was not
    /// null); 0 on success.
    pub fn xmlSchemaSAXUnplug(plug: *mut xmlSchemaSAXPlugStruct) -> c_int;
    /// 1 when the validation context has seen no error since it last started, 0 otherwise.
    pub fn xmlSchemaIsValid(ctxt: *mut xmlSchemaValidCtxt) -> c_int;
}
