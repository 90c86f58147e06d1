//! Credentials never reach an output. [`Secrets`] is built from the target's credentials and
//! replaces, in any text, every form a server under test could reflect them in:
//!
//! - the raw value, and the value with any of its characters written as a percent-encoded
//!   UTF-8 byte (`%2B` or `%2b`, `+` for a space), an XML or HTML character reference
//!   (`&amp;`, `&#38;`, `&#x26;`) or a JSON escape (`\u0026`, `\"`), in any mix;
//! - base64 of the value and of `user:password`, padded or not, in the standard and URL-safe
//!   alphabets;
//! - the base64 characters that depend on the value alone when it sits inside a longer base64
//!   run, at each of the three byte alignments;
//! - the exact `Authorization` header value the client sends.
//!
//! Each becomes [`REDACTED`]. The process keeps one set, [`install`]ed when a target is built;
//! [`redact`] applies it, and every writer goes through it: the reports and baselines redact the
//! run summary before rendering (see [`crate::report::prepare`]), and the command line passes its
//! terminal output, error messages and panic messages through [`redact`]
//! ([`install_panic_hook`]). The set only grows, so a secret once known stays redacted for the
//! life of the process, whichever target or test thread made it known.

use std::borrow::Cow;
use std::sync::{Arc, RwLock};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use regex::{NoExpand, Regex};

use crate::target::{Auth, Target};

/// What every secret becomes: the placeholder baselines already use.
pub const REDACTED: &str = "SECRET";

/// Shortest base64 fragment redacted on its own: shorter runs carry less than three bytes of a
/// secret and would match ordinary text.
const MIN_FRAGMENT: usize = 4;

/// Why a set of secrets could not be compiled.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// The combined pattern is larger than the regex engine accepts (thousands of secrets).
    #[error("the secrets do not fit one pattern: {0}")]
    Pattern(#[from] regex::Error),
}

/// The credentials of a run and the one pattern that finds every form of them.
#[derive(Clone, Default)]
pub struct Secrets {
    // Values matched in any character encoding (passwords, tokens).
    values: Vec<String>,
    // Exact strings (header values, base64 forms).
    literals: Vec<String>,
    pattern: Option<Arc<Regex>>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the values themselves.
        write!(
            f,
            "Secrets({} values, {} literal forms)",
            self.values.len(),
            self.literals.len()
        )
    }
}

impl Secrets {
    /// Every credential of `target`'s accounts: each password and token, each Basic
    /// `user:password` pair and each `Authorization` header value
    /// ([`Auth::header_value`]), an app's client secret and the tokens it obtained so far.
    pub fn of(target: &Target) -> Self {
        let mut secrets = Self::default();
        for account in target.accounts.values() {
            secrets.add_auth(&account.auth);
        }
        secrets.compile_or_literal()
    }

    /// Secret values (passwords, tokens, client secrets) with no user name; empty ones are
    /// ignored.
    pub fn from_values<S: AsRef<str>>(values: impl IntoIterator<Item = S>) -> Self {
        let mut secrets = Self::default();
        for v in values {
            secrets.add_value(v.as_ref());
        }
        secrets.compile_or_literal()
    }

    /// True when there is nothing to redact.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty() && self.literals.is_empty()
    }

    /// This set and `other`'s together.
    pub fn union(&self, other: &Secrets) -> Secrets {
        if other.is_empty() {
            return self.clone();
        }
        if self.is_empty() {
            return other.clone();
        }
        let mut out = self.clone();
        for v in &other.values {
            out.add_value(v);
        }
        for l in &other.literals {
            out.add_literal(l.clone());
        }
        out.compile_or_literal()
    }

    /// `text` with every form of every secret replaced by [`REDACTED`]; borrowed when nothing
    /// was found.
    pub fn redact<'t>(&self, text: &'t str) -> Cow<'t, str> {
        match &self.pattern {
            Some(p) => p.replace_all(text, NoExpand(REDACTED)),
            None => Cow::Borrowed(text),
        }
    }

    /// Redacts `text` in place; true when anything was replaced.
    pub fn redact_in_place(&self, text: &mut String) -> bool {
        match self.redact(text) {
            Cow::Borrowed(_) => false,
            Cow::Owned(clean) => {
                *text = clean;
                true
            }
        }
    }

    /// True when `text` holds a form of a secret.
    pub fn found_in(&self, text: &str) -> bool {
        self.pattern.as_ref().is_some_and(|p| p.is_match(text))
    }

    fn add_auth(&mut self, auth: &Auth) {
        for secret in auth.secrets() {
            self.add_value(secret);
        }
        // An app's tokens so far; each later one is installed as it is obtained.
        if let Auth::App(access) = auth {
            for token in access.app.issued_tokens() {
                self.add_value(token.expose());
            }
        }
        // Basic sends base64 of `user:password` whole; Bearer its token as is; NTLM only
        // hashes of the password, made per connection, which no fixed form can match.
        if let Auth::Basic { username, password } = auth
            && !password.expose().is_empty()
        {
            let pair = format!("{username}:{}", password.expose());
            for engine in [&STANDARD, &URL_SAFE, &STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
                self.add_literal(engine.encode(&pair));
            }
        }
        let header = auth.header_value();
        if auth.secrets().iter().any(|s| !s.is_empty()) && !header.is_empty() {
            self.add_literal(header);
        }
    }

    fn add_value(&mut self, value: &str) {
        if value.is_empty() || self.values.iter().any(|v| v == value) {
            return;
        }
        self.values.push(value.to_owned());
        for engine in [&STANDARD, &URL_SAFE] {
            self.add_literal(engine.encode(value));
        }
        for fragment in aligned_fragments(value.as_bytes()) {
            self.add_literal(fragment);
        }
    }

    fn add_literal(&mut self, literal: String) {
        if literal.len() >= MIN_FRAGMENT && !self.literals.contains(&literal) {
            self.literals.push(literal);
        }
    }

    /// Compiles the pattern. If the regex engine refuses it (far more secrets than any target
    /// holds), falls back to the exact forms alone rather than to nothing.
    fn compile_or_literal(mut self) -> Self {
        match self.compile() {
            Ok(p) => self.pattern = p.map(Arc::new),
            Err(_) => {
                let mut exact: Vec<String> = self.values.iter().map(|v| regex::escape(v)).collect();
                exact.extend(self.literals.iter().map(|l| regex::escape(l)));
                self.pattern = Regex::new(&exact.join("|")).ok().map(Arc::new);
            }
        }
        self
    }

    fn compile(&self) -> Result<Option<Regex>, SecretsError> {
        if self.is_empty() {
            return Ok(None);
        }
        // Longest first: at one position the first alternative that matches wins, and a header
        // value or a whole base64 form must win over a fragment of it.
        let mut alternatives: Vec<(usize, String)> = self
            .literals
            .iter()
            .map(|l| (l.len(), regex::escape(l)))
            .chain(self.values.iter().map(|v| (v.len(), any_encoding(v))))
            .collect();
        alternatives.sort_by_key(|a| std::cmp::Reverse(a.0));
        let pattern: Vec<String> = alternatives.into_iter().map(|(_, p)| p).collect();
        Ok(Some(
            regex::RegexBuilder::new(&pattern.join("|"))
                .size_limit(64 * 1024 * 1024)
                .build()?,
        ))
    }
}

/// A pattern that matches `value` with each character written as itself or in any of the
/// encodings a server could apply to it.
fn any_encoding(value: &str) -> String {
    let mut out = String::new();
    for c in value.chars() {
        let forms = char_forms(c);
        if forms.len() == 1 {
            out.push_str(&forms[0]);
        } else {
            out.push_str("(?:");
            out.push_str(&forms.join("|"));
            out.push(')');
        }
    }
    out
}

/// The forms of one character: raw; percent-encoded UTF-8 (RFC 3986 section 2.1, hex in
/// either case; `+` for a space in form encoding); XML character references, decimal or hex,
/// and the predefined entities (XML 1.0 sections 4.1 and 4.6); JSON escapes (RFC 8259
/// section 7).
fn char_forms(c: char) -> Vec<String> {
    let mut buf = [0u8; 4];
    let raw = c.encode_utf8(&mut buf);
    let mut forms = vec![regex::escape(raw)];
    let percent: String = raw
        .bytes()
        .map(|b| format!("%(?i:{b:02X})"))
        .collect::<Vec<_>>()
        .concat();
    forms.push(percent);
    if c == ' ' {
        forms.push(r"\+".to_owned());
    }
    let code = u32::from(c);
    forms.push(format!("&#0*{code};"));
    forms.push(format!("&#[xX]0*(?i:{code:X});"));
    if let Some(entity) = match c {
        '&' => Some("&amp;"),
        '<' => Some("&lt;"),
        '>' => Some("&gt;"),
        '"' => Some("&quot;"),
        '\'' => Some("&apos;"),
        _ => None,
    } {
        forms.push(regex::escape(entity));
    }
    let mut units = [0u16; 2];
    let json: String = c
        .encode_utf16(&mut units)
        .iter()
        .map(|u| format!(r"\\u(?i:{u:04X})"))
        .collect();
    forms.push(json);
    if let Some(short) = match c {
        '"' => Some(r#"\\""#),
        '\\' => Some(r"\\\\"),
        '/' => Some(r"\\/"),
        '\n' => Some(r"\\n"),
        '\r' => Some(r"\\r"),
        '\t' => Some(r"\\t"),
        _ => None,
    } {
        forms.push(short.to_owned());
    }
    forms
}

/// The base64 characters that depend on `secret` alone when it is encoded after 0, 1 or 2 other
/// bytes and followed by more, in both alphabets: what stays the same wherever in a longer
/// base64 run the secret sits. Character `i` of an encoding covers bits `6i..6i+6`; it is kept
/// when those bits lie inside the secret's.
pub fn aligned_fragments(secret: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    if secret.is_empty() {
        return out;
    }
    for prefix in 0..3usize {
        let mut bytes = vec![0u8; prefix];
        bytes.extend_from_slice(secret);
        let first = (8 * prefix).div_ceil(6);
        let last = 8 * (prefix + secret.len()) / 6;
        if last <= first {
            continue;
        }
        for engine in [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
            let encoded = engine.encode(&bytes);
            if let Some(fragment) = encoded.get(first..last)
                && fragment.len() >= MIN_FRAGMENT
                && !out.iter().any(|f: &String| f == fragment)
            {
                out.push(fragment.to_owned());
            }
        }
    }
    out
}

static INSTALLED: RwLock<Option<Secrets>> = RwLock::new(None);

/// Adds `secrets` to the process's set, which [`redact`], the reports and the baselines apply.
pub fn install(secrets: Secrets) {
    if secrets.is_empty() {
        return;
    }
    let mut slot = INSTALLED.write().unwrap_or_else(|e| e.into_inner());
    *slot = Some(match slot.take() {
        Some(old) => old.union(&secrets),
        None => secrets,
    });
}

/// The process's set: every secret [`install`]ed so far.
pub fn installed() -> Secrets {
    INSTALLED
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .unwrap_or_default()
}

/// `text` with every installed secret redacted.
pub fn redact(text: &str) -> Cow<'_, str> {
    let guard = INSTALLED.read().unwrap_or_else(|e| e.into_inner());
    match guard.as_ref() {
        Some(s) if s.found_in(text) => Cow::Owned(s.redact(text).into_owned()),
        _ => Cow::Borrowed(text),
    }
}

/// Replaces the panic hook with one that prints the panic's message and location with every
/// installed secret redacted (and the backtrace, when `RUST_BACKTRACE` asks for one).
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| eprintln!("{}", panic_report(info))));
}

/// What the panic hook prints for `info`, in the standard hook's words, redacted.
fn panic_report(info: &std::panic::PanicHookInfo<'_>) -> String {
    let payload = info.payload();
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("Box<dyn Any>");
    let thread = std::thread::current();
    let name = thread.name().unwrap_or("<unnamed>");
    let location = info
        .location()
        .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
        .unwrap_or_default();
    let backtrace = std::backtrace::Backtrace::capture();
    let backtrace = match backtrace.status() {
        std::backtrace::BacktraceStatus::Captured => format!("\n{backtrace}"),
        _ => String::new(),
    };
    let text = format!("thread '{name}' panicked at {location}:\n{message}{backtrace}");
    redact(&text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWORD: &str = "pä ss+w/rd&<\"'";

    fn basic(user: &str, password: &str) -> Secrets {
        let mut s = Secrets::default();
        s.add_auth(&Auth::basic(user, password));
        s.compile_or_literal()
    }

    fn clean(s: &Secrets, text: &str) -> bool {
        let out = s.redact(text);
        out.contains(REDACTED) && !out.contains("pä") && !out.contains("cMOk")
    }

    #[test]
    fn raw_and_header_forms_are_redacted() {
        let s = basic("boss@example.com", PASSWORD);
        let header = Auth::basic("boss@example.com", PASSWORD).header_value();
        let text = format!("echo: Authorization: {header}; raw={PASSWORD}.");
        let out = s.redact(&text);
        assert_eq!(
            out,
            format!("echo: Authorization: {REDACTED}; raw={REDACTED}.")
        );
    }

    #[test]
    fn base64_of_the_pair_padded_or_not_in_both_alphabets() {
        let s = basic("boss@example.com", "hunter2-canary");
        let pair = "boss@example.com:hunter2-canary";
        for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
            let encoded = engine.encode(pair);
            assert_eq!(s.redact(&format!("[{encoded}]")), format!("[{REDACTED}]"));
        }
    }

    #[test]
    fn base64_inside_a_longer_run_at_every_alignment() {
        let s = Secrets::from_values(["canary-token-51be0d"]);
        for prefix in ["", "a", "ab", "abc", "abcd", "user:"] {
            for suffix in ["", "x", "xy", "xyz"] {
                let encoded =
                    STANDARD.encode(format!("{prefix}canary-token-51be0d{suffix}").as_bytes());
                let out = s.redact(&encoded);
                assert!(out.contains(REDACTED), "{prefix:?}/{suffix:?}: {out}");
                // What is left is the encoding of what surrounds the secret, one mixed
                // character at each edge, and padding.
                let kept: usize = out.split(REDACTED).map(str::len).sum();
                let around = (4 * prefix.len()).div_ceil(3) + (4 * suffix.len()).div_ceil(3);
                assert!(kept <= around + 4, "{prefix:?}/{suffix:?}: {out}");
            }
        }
    }

    #[test]
    fn fragments_hold_only_characters_of_the_secret() {
        // After 0 bytes: all of YWJjZGVm. After 1 byte (bits 8..56): characters 2..9 minus the
        // last, which mixes in what follows.
        let f = aligned_fragments(b"abcdef");
        assert!(f.contains(&"YWJjZGVm".to_owned()), "{f:?}");
        assert!(f.iter().all(|frag| frag.len() >= MIN_FRAGMENT), "{f:?}");
        // Whatever bytes surround the secret, one fragment appears in the encoding.
        for prefix in [&b""[..], b"\x00", b"\xff\xfe", b"QRS", b"\x01\x02\x03\x04"] {
            for suffix in [&b""[..], b"\xff", b"\x00\x01", b"~~~"] {
                let mut bytes = prefix.to_vec();
                bytes.extend_from_slice(b"abcdef");
                bytes.extend_from_slice(suffix);
                for engine in [&STANDARD, &URL_SAFE] {
                    let encoded = engine.encode(&bytes);
                    assert!(
                        f.iter().any(|frag| encoded.contains(frag.as_str())),
                        "{prefix:?}/{suffix:?}: {encoded} {f:?}"
                    );
                }
            }
        }
        // Too short to carry three bytes of the secret at every alignment: nothing kept.
        assert!(aligned_fragments(b"ab").is_empty());
    }

    #[test]
    fn url_encoded_forms_in_any_mix() {
        let s = basic("boss", PASSWORD);
        for form in [
            "p%C3%A4%20ss%2Bw%2Frd%26%3C%22%27",
            "p%c3%a4+ss%2bw/rd%26%3c%22'",
            "p%C3%A4 ss+w%2Frd&<\"%27",
        ] {
            assert!(clean(&s, &format!("q={form}&x=1")), "{form}");
        }
    }

    #[test]
    fn xml_and_json_escaped_forms() {
        let s = basic("boss", PASSWORD);
        for form in [
            "pä ss+w/rd&amp;&lt;&quot;&apos;",
            "p&#228; ss&#x2B;w/rd&#38;&#x3c;&#34;&#39;",
            r#"p\u00e4 ss+w\/rd\u0026<\"'"#,
        ] {
            assert!(clean(&s, &format!("<v a=\"{form}\"/>")), "{form}");
        }
    }

    #[test]
    fn ordinary_text_is_left_alone() {
        let s = basic("boss@example.com", "canary-pw-7f3a9c");
        let text = "<m:ResponseCode>NoError</m:ResponseCode> boss@example.com canary-pw";
        assert!(matches!(s.redact(text), Cow::Borrowed(_)));
        assert!(!Secrets::default().found_in("anything"));
        assert_eq!(Secrets::from_values([""]).redact("x"), "x");
    }

    #[test]
    fn bearer_tokens_and_their_header() {
        let mut s = Secrets::default();
        s.add_auth(&Auth::Bearer {
            token: crate::target::Secret::new("eyJ0b2tlbi1jYW5hcnk"),
        });
        let s = s.compile_or_literal();
        assert_eq!(
            s.redact("Authorization: Bearer eyJ0b2tlbi1jYW5hcnk"),
            format!("Authorization: {REDACTED}")
        );
        assert!(!format!("{s:?}").contains("eyJ0"));
    }

    #[test]
    fn ntlm_passwords_are_redacted_though_no_header_carries_them() {
        let mut s = Secrets::default();
        s.add_auth(&Auth::Ntlm {
            username: "CONTOSO\\boss".into(),
            password: crate::target::Secret::new("ntlm-canary-6e1"),
        });
        let s = s.compile_or_literal();
        let b64 = STANDARD.encode("ntlm-canary-6e1");
        assert_eq!(
            s.redact(&format!("CONTOSO\\boss ntlm-canary-6e1 {b64}")),
            format!("CONTOSO\\boss {REDACTED} {REDACTED}")
        );
    }

    #[test]
    fn panic_messages_are_redacted() {
        install(Secrets::from_values(["panic-canary-31c"]));
        let seen = Arc::new(std::sync::Mutex::new(String::new()));
        let me = std::thread::current().id();
        let previous = std::panic::take_hook();
        let record = Arc::clone(&seen);
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().id() == me {
                *record.lock().unwrap() = panic_report(info);
            }
        }));
        let caught = std::panic::catch_unwind(|| {
            panic!("the server said {}", "panic-canary-31c");
        });
        std::panic::set_hook(previous);
        assert!(caught.is_err());
        let text = seen.lock().unwrap().clone();
        assert!(
            text.contains("panicked at") && text.contains("the server said SECRET"),
            "{text}"
        );
        assert!(!text.contains("panic-canary"), "{text}");
    }

    #[test]
    fn the_installed_set_only_grows() {
        install(Secrets::from_values(["installed-canary-one"]));
        install(Secrets::from_values(["installed-canary-two"]));
        assert_eq!(
            redact("installed-canary-one installed-canary-two"),
            format!("{REDACTED} {REDACTED}")
        );
    }
}
