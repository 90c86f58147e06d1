//! Sizes shared by every layer: the mock enforces them, and cases and the fuzzer build requests
//! just past them.

/// Default cap on a request body, as Exchange's default `maxRequestLength` neighbourhood:
/// 16 MiB. The mock answers a larger body with 413.
pub const DEFAULT_MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
