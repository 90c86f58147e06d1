//! The process-wide external entity loader: serves the project's embedded schemas from memory,
//! refuses every network scheme, and loads nothing at all while an untrusted document is parsed
//! or validated.
//!
//! libxml2 has one loader per process, so it is installed once ([`init`]); what it allows
//! depends on what the calling thread is doing ([`Mode`], set with [`ModeGuard`]).

use std::cell::{Cell, RefCell};
use std::ffi::{CStr, c_char};
use std::path::{Path, PathBuf};
use std::ptr;
use std::sync::{Once, OnceLock};

use super::ffi;

/// The URI prefix under which the embedded schemas are served.
pub const EMBEDDED_PREFIX: &str = "ewsconf-embedded:///";

/// The project's own schemas, NUL-terminated for libxml2, by file name.
pub const EMBEDDED: [(&str, &str); 4] = [
    (
        "xml.xsd",
        concat!(include_str!("../../../schemas/xml.xsd"), "\0"),
    ),
    (
        "soap-envelope.xsd",
        concat!(include_str!("../../../schemas/soap-envelope.xsd"), "\0"),
    ),
    (
        "types.xsd",
        concat!(include_str!("../../../schemas/types.xsd"), "\0"),
    ),
    (
        "messages.xsd",
        concat!(include_str!("../../../schemas/messages.xsd"), "\0"),
    ),
];

/// What the loader allows on the current thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Outside the validator: embedded URIs, local files; no network.
    Default,
    /// Compiling a schema directory: embedded URIs and files inside that directory only (its
    /// schemas may come from an untrusted server, and an external entity in them must not read
    /// other local files).
    SchemaDir,
    /// Compiling the embedded set: embedded URIs and bare embedded names only.
    EmbeddedOnly,
    /// Parsing or validating an untrusted document: nothing is loaded.
    Nothing,
}

thread_local! {
    static MODE: Cell<Mode> = const { Cell::new(Mode::Default) };
    static REFUSED: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    static SCHEMA_DIR: RefCell<Option<PathBuf>> = const { RefCell::new(None) };
}

/// Sets the directory [`Mode::SchemaDir`] confines loads to, for the current thread.
pub fn set_schema_dir(dir: Option<PathBuf>) {
    let _ = SCHEMA_DIR.try_with(|d| *d.borrow_mut() = dir);
}

/// Whether `url` (a file URI or a path) names a file inside the current schema directory.
fn inside_schema_dir(url: &str) -> bool {
    let path = url
        .strip_prefix("file://localhost")
        .or_else(|| url.strip_prefix("file://"))
        .unwrap_or(url);
    let Some(path) = percent_decode(path) else {
        return false;
    };
    let Ok(path) = Path::new(&path).canonicalize() else {
        return false;
    };
    SCHEMA_DIR
        .try_with(|d| d.borrow().as_ref().is_some_and(|dir| path.starts_with(dir)))
        .unwrap_or(false)
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Sets the current thread's [`Mode`] and restores the previous one when dropped.
pub struct ModeGuard(Mode);

impl ModeGuard {
    /// Switches the current thread to `mode`.
    pub fn new(mode: Mode) -> Self {
        let previous = MODE.with(|m| m.replace(mode));
        Self(previous)
    }
}

impl Drop for ModeGuard {
    fn drop(&mut self) {
        let previous = self.0;
        let _ = MODE.try_with(|m| m.set(previous));
    }
}

/// Takes the loads refused on this thread since the last call, as messages.
pub fn take_refused() -> Vec<String> {
    REFUSED
        .try_with(|r| std::mem::take(&mut *r.borrow_mut()))
        .unwrap_or_default()
}

/// Initializes libxml2 once per process: parser globals, the loader, silent default handlers.
pub fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        // SAFETY: called once, before any other libxml2 call of this crate; the loader and the
        // handlers are `extern "C"` functions with the signatures libxml2 expects (see ffi.rs
        // for the generic handler's calling-convention note).
        unsafe {
            ffi::xmlInitParser();
            ffi::xmlSetExternalEntityLoader(load_entity);
            ffi::xmlThrDefSetGenericErrorFunc(ptr::null_mut(), Some(silent_generic));
            ffi::xmlThrDefSetStructuredErrorFunc(ptr::null_mut(), Some(super::diag::on_error));
        }
    });
    silence_this_thread();
}

/// libxml2 keeps error handlers per thread; a thread that touched libxml2 before [`init`] ran
/// keeps the library's printing defaults, so every thread installs the silent ones itself.
fn silence_this_thread() {
    thread_local! { static DONE: Cell<bool> = const { Cell::new(false) }; }
    if DONE.try_with(|d| d.replace(true)).unwrap_or(true) {
        return;
    }
    // SAFETY: sets this thread's handlers to functions that accept any input; a null context
    // makes `on_error` drop the error.
    unsafe {
        ffi::xmlSetGenericErrorFunc(ptr::null_mut(), Some(silent_generic));
        ffi::xmlSetStructuredErrorFunc(ptr::null_mut(), Some(super::diag::on_error));
    }
}

unsafe extern "C" fn silent_generic(_ctx: *mut std::ffi::c_void, _msg: *const c_char) {}

/// The scheme of `url` in lower case, if it has one (`c:` style drive letters are not schemes).
fn scheme(url: &str) -> Option<String> {
    let (head, _) = url.split_once(':')?;
    let valid = head.len() > 1
        && head.starts_with(|c: char| c.is_ascii_alphabetic())
        && head
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then(|| head.to_ascii_lowercase())
}

/// The embedded schemas as libxml2 is given them: long enumerations compiled into patterns
/// ([`super::enumerations`]), NUL-terminated.
pub fn embedded(name: &str) -> Option<&'static str> {
    static COMPILED: OnceLock<Vec<(&'static str, String)>> = OnceLock::new();
    COMPILED
        .get_or_init(|| {
            let mut all = Vec::new();
            let files = EMBEDDED
                .iter()
                .map(|(name, text)| {
                    let source = text.strip_suffix('\0').unwrap_or(text);
                    let (mut text, compiled) = super::enumerations::compile(source);
                    text.push('\0');
                    all.extend(compiled);
                    (*name, text)
                })
                .collect();
            super::enumerations::remember(all);
            files
        })
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| text.as_str())
}

fn refuse(url: &str, why: &str) -> *mut ffi::xmlParserInput {
    let _ = REFUSED.try_with(|r| r.borrow_mut().push(format!("refused to load {url}: {why}")));
    ptr::null_mut()
}

unsafe extern "C" fn load_entity(
    url: *const c_char,
    id: *const c_char,
    ctxt: *mut ffi::xmlParserCtxt,
) -> *mut ffi::xmlParserInput {
    if url.is_null() {
        return ptr::null_mut();
    }
    // SAFETY: libxml2 passes a NUL-terminated URL that lives for the duration of the call.
    let Ok(url_str) = unsafe { CStr::from_ptr(url) }.to_str() else {
        return refuse("(a non-UTF-8 URL)", "not a valid URL");
    };
    let mode = MODE.try_with(Cell::get).unwrap_or(Mode::Nothing);
    if mode == Mode::Nothing {
        return refuse(url_str, "documents under validation may not load anything");
    }
    let name = url_str.strip_prefix(EMBEDDED_PREFIX).or(match mode {
        Mode::EmbeddedOnly if scheme(url_str).is_none() => Some(url_str),
        _ => None,
    });
    if let Some(name) = name {
        return match embedded(name) {
            // SAFETY: the text is a NUL-terminated `'static` string, so it outlives the stream.
            Some(text) => unsafe { ffi::xmlNewStringInputStream(ctxt, text.as_ptr()) },
            None => refuse(url_str, "no such embedded schema"),
        };
    }
    match (mode, scheme(url_str).as_deref()) {
        (Mode::EmbeddedOnly, _) => refuse(url_str, "the embedded schemas load nothing else"),
        (Mode::SchemaDir, None | Some("file")) if !inside_schema_dir(url_str) => {
            refuse(url_str, "outside the schema directory")
        }
        (_, None | Some("file")) => {
            // SAFETY: arguments forwarded unchanged from libxml2.
            unsafe { ffi::xmlNoNetExternalEntityLoader(url, id, ctxt) }
        }
        (_, Some(_)) => refuse(url_str, "network access is disabled"),
    }
}

#[cfg(test)]
mod tests {
    use super::{embedded, percent_decode, scheme};

    #[test]
    fn long_enumerations_are_compiled_and_nothing_else_changes() {
        let original = |name: &str| super::EMBEDDED.iter().find(|(n, _)| *n == name).unwrap().1;
        for name in ["xml.xsd", "soap-envelope.xsd"] {
            assert_eq!(embedded(name), Some(original(name)), "{name}");
        }
        for name in ["types.xsd", "messages.xsd"] {
            let served = embedded(name).expect(name);
            assert!(served.ends_with('\0'), "{name}");
            assert_eq!(
                served.lines().count(),
                original(name).lines().count(),
                "{name}"
            );
        }
        let compiled: Vec<(&str, usize)> = super::super::enumerations::remembered()
            .iter()
            .map(|c| (c.type_name.as_str(), c.values))
            .collect();
        assert!(
            compiled.contains(&("ResponseCodeType", 529)),
            "{compiled:?}"
        );
        assert!(
            compiled
                .iter()
                .any(|(name, _)| *name == "DistinguishedFolderIdNameType"),
            "{compiled:?}"
        );
        let served = embedded("messages.xsd").unwrap();
        assert!(!served.contains("<xs:enumeration value=\"ErrorAccessDenied\"/>"));
    }

    #[test]
    fn percent_escapes_decode() {
        assert_eq!(
            percent_decode("/a%20b/c%26.xsd").as_deref(),
            Some("/a b/c&.xsd")
        );
        assert_eq!(percent_decode("/bad%2"), None);
    }

    #[test]
    fn schemes_are_recognized() {
        assert_eq!(scheme("HTTP://x/y").as_deref(), Some("http"));
        assert_eq!(scheme("file:///dir/a.xsd").as_deref(), Some("file"));
        assert_eq!(scheme("types.xsd"), None);
        assert_eq!(scheme("c:/dir/a.xsd"), None);
        assert_eq!(scheme("/a:b/c.xsd"), None);
    }
}
