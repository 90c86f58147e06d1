//! Sizes shared by every layer: the mock enforces them, and cases and the fuzzer build requests
//! just past them.

/// Default cap on a request body, as Exchange's default `maxRequestLength` neighbourhood:
/// 16 MiB. The mock answers a larger body with 413.
pub const DEFAULT_MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Default cap on the body of an answer the harness reads: 16 MiB, the size the schema validator
/// accepts ([`crate::schema::Limits::max_bytes`]), so reading further could only hold memory. A
/// longer answer makes the case `error`: "the answer exceeds N bytes".
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// Largest target file read, in bytes (1 MiB); a larger one, or anything but a regular file,
/// is refused before it is read.
pub const MAX_TARGET_FILE_BYTES: u64 = 1024 * 1024;

/// Largest mock users file read, in bytes (1 MiB).
pub const MAX_USERS_FILE_BYTES: u64 = 1024 * 1024;

/// Largest case file read, in bytes (1 MiB; the suite's own are a few KiB).
pub const MAX_CASE_FILE_BYTES: u64 = 1024 * 1024;

/// Largest CA certificate file read, in bytes (1 MiB).
pub const MAX_CA_CERT_BYTES: u64 = 1024 * 1024;

/// Largest baseline file read, in bytes (64 MiB: a baseline holds a normalized response, which
/// may be large).
pub const MAX_BASELINE_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Bytes a report keeps of each exchange's request body and of its response body (256 KiB,
/// far above any EWS answer worth reading). Past it the body is cut and the report says
/// "… truncated: the answer was N bytes, the report keeps M".
pub const REPORT_MAX_EXCHANGE_BYTES: usize = 256 * 1024;

/// What starts the note that ends a text cut to [`REPORT_MAX_EXCHANGE_BYTES`].
pub const TRUNCATION_NOTE: &str = "\n… truncated: ";

/// Cuts `text` to [`REPORT_MAX_EXCHANGE_BYTES`] on a character boundary and appends the note:
/// `… truncated: {what} was {total} bytes, the report keeps M`.
pub fn cut_for_report(text: &mut String, total: usize, what: &str) {
    let mut keep = REPORT_MAX_EXCHANGE_BYTES.min(text.len());
    while !text.is_char_boundary(keep) {
        keep -= 1;
    }
    text.truncate(keep);
    text.push_str(&format!(
        "{TRUNCATION_NOTE}{what} was {total} bytes, the report keeps {keep}"
    ));
}

/// Default cap on the items (or folders) one request to the mock names: Exchange's documented
/// `EWSFindCountLimit` default. The mock answers more with `ErrorExceededFindCountLimit`; see
/// `mock::batch` for the evidence.
pub const DEFAULT_MAX_ITEMS_PER_REQUEST: usize = 1000;
