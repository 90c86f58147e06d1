//! One redactor for snapshots, baselines and reports: replaces what changes from run to run with
//! stable placeholders, and writes XML in one canonical form.
//!
//! - Item and folder ids and change keys become `ID-1`, `CK-1`, … numbered in order of first
//!   appearance, so equal values stay equal within what one [`Normalizer`] sees.
//! - `ServerVersionInfo` numbers and version become `N` and `VERSION`.
//! - `xs:dateTime` values become `DATETIME`.
//! - Run markers (`ewsconf-1a2b3c4d`) become `MARKER`.
//! - `scheme://host:port` becomes `scheme://HOST`.
//! - Secrets the caller names become `SECRET`, in every form [`Secrets`] knows (raw,
//!   percent-encoded, escaped, base64 at any alignment).
//! - XML is re-written with fixed prefixes (`soap`, `m`, `t`, `e`, then `ns1`, …), every
//!   namespace declared once on the root, attributes sorted, and two-space indentation.
//!
//! A document that is not well-formed XML keeps its text, with the value rules applied.

use std::collections::{BTreeSet, HashMap};

use crate::ews::xml::{Element, Node};
use crate::ews::{ERRORS_NS, MESSAGES_NS, SOAP_NS, TYPES_NS};
use crate::secrets::Secrets;

// Attributes whose values are store ids or change keys.
const ID_ATTRIBUTES: [&str; 3] = ["Id", "RecurringMasterId", "OccurrenceId"];
const CHANGE_KEY_ATTRIBUTES: [&str; 1] = ["ChangeKey"];
const VERSION_NUMBERS: [&str; 4] = [
    "MajorVersion",
    "MinorVersion",
    "MajorBuildNumber",
    "MinorBuildNumber",
];

/// Redacts and canonicalizes; keeps the numbering of ids across every document it is given.
#[derive(Debug, Default)]
pub struct Normalizer {
    ids: HashMap<String, String>,
    change_keys: HashMap<String, String>,
    secrets: Secrets,
}

impl Normalizer {
    /// A normalizer that also replaces these secret values.
    pub fn new<S: AsRef<str>>(secrets: impl IntoIterator<Item = S>) -> Self {
        Self::with_secrets(Secrets::from_values(secrets))
    }

    /// A normalizer that also replaces every form of these secrets.
    pub fn with_secrets(secrets: Secrets) -> Self {
        Self {
            secrets,
            ..Self::default()
        }
    }

    /// The normalized form of a document (XML, or any text).
    pub fn document(&mut self, text: &str) -> String {
        match Element::parse(text.as_bytes()) {
            Ok(root) => {
                let mut out = String::new();
                let namespaces = prefixes(&root);
                self.write(&root, &namespaces, 0, true, &mut out);
                out
            }
            Err(_) => self.text(text),
        }
    }

    /// Learns the ids and change keys a document carries, without writing it, so that the
    /// same values are replaced wherever they appear later, even in text that is not XML.
    pub fn learn(&mut self, text: &str) {
        if let Ok(root) = Element::parse(text.as_bytes()) {
            self.learn_element(&root);
        }
    }

    fn learn_element(&mut self, e: &Element) {
        for a in e.attributes.iter().filter(|a| a.namespace.is_none()) {
            self.attribute_value(e, &a.name, &a.value);
        }
        for child in e.elements() {
            self.learn_element(child);
        }
    }

    /// The value rules applied to free text.
    pub fn text(&self, text: &str) -> String {
        let mut out = self.secrets.redact(text).into_owned();
        // Known ids anywhere in the text, longest first so that no id is cut by a shorter one.
        let mut known: Vec<(&String, &String)> = self
            .ids
            .iter()
            .chain(self.change_keys.iter())
            .filter(|(k, _)| k.len() >= 4)
            .collect();
        if !known.is_empty() && known.iter().any(|(k, _)| out.contains(k.as_str())) {
            known.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(b.0)));
            for (raw, placeholder) in known {
                out = out.replace(raw.as_str(), placeholder);
            }
        }
        let out = replace_markers(&out);
        let out = replace_hosts(&out);
        replace_datetimes(&out)
    }

    fn id(&mut self, value: &str) -> String {
        placeholder(&mut self.ids, "ID", value)
    }

    fn change_key(&mut self, value: &str) -> String {
        placeholder(&mut self.change_keys, "CK", value)
    }

    fn attribute_value(&mut self, element: &Element, name: &str, value: &str) -> String {
        if ID_ATTRIBUTES.contains(&name)
            && element.name != "DistinguishedFolderId"
            && element.name != "Value"
        {
            self.id(value)
        } else if CHANGE_KEY_ATTRIBUTES.contains(&name) {
            self.change_key(value)
        } else if element.name == "ServerVersionInfo" && VERSION_NUMBERS.contains(&name) {
            "N".to_owned()
        } else if element.name == "ServerVersionInfo" && name == "Version" {
            "VERSION".to_owned()
        } else {
            self.text(value)
        }
    }

    fn write(
        &mut self,
        e: &Element,
        prefixes: &[(String, String)],
        depth: usize,
        root: bool,
        out: &mut String,
    ) {
        let indent = "  ".repeat(depth);
        let qname = qualified(e.namespace.as_deref(), &e.name, prefixes);
        out.push_str(&indent);
        out.push('<');
        out.push_str(&qname);
        if root {
            for (uri, prefix) in prefixes {
                out.push_str(&format!(" xmlns:{prefix}=\"{}\"", escape(uri)));
            }
        }
        let mut attributes: Vec<(String, String)> = e
            .attributes
            .iter()
            .map(|a| {
                let name = qualified(a.namespace.as_deref(), &a.name, prefixes);
                let value = if a.namespace.is_none() {
                    self.attribute_value(e, &a.name, &a.value)
                } else {
                    self.text(&a.value)
                };
                (name, value)
            })
            .collect();
        attributes.sort();
        for (name, value) in attributes {
            out.push_str(&format!(" {name}=\"{}\"", escape(&value)));
        }
        let children: Vec<&Node> = e
            .children
            .iter()
            .filter(|n| !matches!(n, Node::Text(t) if t.trim().is_empty()))
            .collect();
        match children.as_slice() {
            [] => out.push_str("/>\n"),
            [Node::Text(t)] => {
                let value = self.text(t.trim());
                out.push('>');
                out.push_str(&escape(&value));
                out.push_str(&format!("</{qname}>\n"));
            }
            _ => {
                out.push_str(">\n");
                for child in children {
                    match child {
                        Node::Element(c) => self.write(c, prefixes, depth + 1, false, out),
                        Node::Text(t) => {
                            let value = self.text(t.trim());
                            out.push_str(&format!("{indent}  {}\n", escape(&value)));
                        }
                    }
                }
                out.push_str(&format!("{indent}</{qname}>\n"));
            }
        }
    }
}

/// The placeholder of `value` in `seen`: `{prefix}-{n}`, numbered in the order values are first
/// seen.
fn placeholder(seen: &mut HashMap<String, String>, prefix: &str, value: &str) -> String {
    let next = seen.len() + 1;
    seen.entry(value.to_owned())
        .or_insert_with(|| format!("{prefix}-{next}"))
        .clone()
}

/// Fixed prefixes for the namespaces a document uses: the EWS and SOAP ones by name, any
/// others `ns1`, `ns2`, … in order of first use.
fn prefixes(root: &Element) -> Vec<(String, String)> {
    let mut used = Vec::new();
    let mut seen = BTreeSet::new();
    collect_namespaces(root, &mut used, &mut seen);
    let mut others = 0;
    used.into_iter()
        .map(|uri| {
            let prefix = match uri.as_str() {
                SOAP_NS => "soap".to_owned(),
                MESSAGES_NS => "m".to_owned(),
                TYPES_NS => "t".to_owned(),
                ERRORS_NS => "e".to_owned(),
                "http://www.w3.org/XML/1998/namespace" => "xml".to_owned(),
                _ => {
                    others += 1;
                    format!("ns{others}")
                }
            };
            (uri, prefix)
        })
        .filter(|(_, p)| p != "xml")
        .collect::<Vec<_>>()
        .into_iter()
        .enumerate()
        .map(|(i, pair)| {
            let rank = ["soap", "m", "t", "e"]
                .iter()
                .position(|p| *p == pair.1)
                .unwrap_or(4 + i);
            (rank, pair)
        })
        .collect::<std::collections::BTreeMap<_, _>>()
        .into_values()
        .collect()
}

fn collect_namespaces(e: &Element, used: &mut Vec<String>, seen: &mut BTreeSet<String>) {
    let mut note = |ns: Option<&str>| {
        if let Some(ns) = ns.filter(|ns| !seen.contains(*ns)) {
            seen.insert(ns.to_owned());
            used.push(ns.to_owned());
        }
    };
    note(e.namespace.as_deref());
    for a in &e.attributes {
        note(a.namespace.as_deref());
    }
    for child in e.elements() {
        collect_namespaces(child, used, seen);
    }
}

fn qualified(namespace: Option<&str>, name: &str, prefixes: &[(String, String)]) -> String {
    match namespace {
        None => name.to_owned(),
        Some("http://www.w3.org/XML/1998/namespace") => format!("xml:{name}"),
        Some(ns) => match prefixes.iter().find(|(uri, _)| uri == ns) {
            Some((_, prefix)) => format!("{prefix}:{name}"),
            None => name.to_owned(),
        },
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `ewsconf-` followed by eight hex digits, as [`crate::run::new_marker`] makes them.
fn replace_markers(s: &str) -> String {
    replace_matches(
        s,
        "ewsconf-",
        |rest| {
            let hex = rest.bytes().take_while(u8::is_ascii_hexdigit).count();
            (hex == 8).then_some((8, "MARKER"))
        },
        true,
    )
}

/// `http://host[:port]` and `https://…` keep the scheme and lose the authority.
fn replace_hosts(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let scheme_ok = head.ends_with("http://") || head.ends_with("https://");
        let authority = tail
            .find(|c: char| c == '/' || c == '"' || c == '\'' || c == '<' || c.is_whitespace())
            .unwrap_or(tail.len());
        let host = &tail[..authority];
        // Only local and IP hosts vary between runs; namespace URIs keep their names.
        let varies = host.starts_with("127.")
            || host.starts_with("localhost")
            || host.starts_with('[')
            || host.contains(':');
        if scheme_ok && varies {
            out.push_str("HOST");
            rest = &tail[authority..];
        } else {
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

/// `YYYY-MM-DDTHH:MM:SS` with optional fraction and zone.
fn replace_datetimes(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let mut copied = 0;
    while i + 19 <= bytes.len() {
        if looks_like_datetime(&bytes[i..i + 19]) {
            let mut end = i + 19;
            if bytes.get(end) == Some(&b'.') {
                end += 1;
                while bytes.get(end).is_some_and(u8::is_ascii_digit) {
                    end += 1;
                }
            }
            if bytes.get(end) == Some(&b'Z') {
                end += 1;
            } else if matches!(bytes.get(end), Some(b'+' | b'-'))
                && end + 6 <= bytes.len()
                && bytes[end + 3] == b':'
            {
                end += 6;
            }
            out.push_str(&s[copied..i]);
            out.push_str("DATETIME");
            copied = end;
            i = end;
        } else {
            i += 1;
        }
    }
    out.push_str(&s[copied..]);
    out
}

fn looks_like_datetime(b: &[u8]) -> bool {
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
}

fn replace_matches(
    s: &str,
    prefix: &str,
    matcher: impl Fn(&str) -> Option<(usize, &'static str)>,
    drop_prefix: bool,
) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find(prefix) {
        let after = &rest[i + prefix.len()..];
        match matcher(after) {
            Some((len, replacement)) => {
                out.push_str(&rest[..i]);
                if !drop_prefix {
                    out.push_str(prefix);
                }
                out.push_str(replacement);
                rest = &after[len..];
            }
            None => {
                out.push_str(&rest[..i + prefix.len()]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(text: &str) -> String {
        Normalizer::default().document(text)
    }

    #[test]
    fn ids_and_change_keys_are_numbered_by_first_appearance() {
        let out = norm(
            r#"<t:X xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><t:ItemId Id="abc" ChangeKey="k1"/><t:ItemId Id="def" ChangeKey="k2"/><t:ItemId Id="abc" ChangeKey="k1"/></t:X>"#,
        );
        assert_eq!(out.matches(r#"Id="ID-1""#).count(), 2, "{out}");
        assert_eq!(out.matches(r#"Id="ID-2""#).count(), 1, "{out}");
        assert_eq!(out.matches(r#"ChangeKey="CK-1""#).count(), 2, "{out}");
        assert!(!out.contains("abc"));
    }

    #[test]
    fn distinguished_folder_names_are_kept() {
        let out = norm(
            r#"<t:DistinguishedFolderId xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types" Id="sentitems"/>"#,
        );
        assert!(out.contains(r#"Id="sentitems""#), "{out}");
    }

    #[test]
    fn server_versions_dates_markers_and_hosts_are_replaced() {
        let out = norm(
            r#"<t:ServerVersionInfo xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types" MajorVersion="15" MinorVersion="1" MajorBuildNumber="2507" MinorBuildNumber="6" Version="V2017_07_11"/>"#,
        );
        assert!(
            out.contains(r#"MajorBuildNumber="N""#) && out.contains(r#"Version="VERSION""#),
            "{out}"
        );
        let n = Normalizer::default();
        assert_eq!(
            n.text("sent 2026-11-23T09:15:00Z and 2026-11-23T09:15:00.123+01:00"),
            "sent DATETIME and DATETIME"
        );
        assert_eq!(
            n.text("subject ewsconf-1a2b3c4d delegate/scenario-a [draft]"),
            "subject MARKER delegate/scenario-a [draft]"
        );
        assert_eq!(
            n.text("nobody-ewsconf-0badcafe-1@example.com"),
            "nobody-MARKER-1@example.com"
        );
        assert_eq!(
            n.text("see http://127.0.0.1:41234/EWS/Exchange.asmx"),
            "see http://HOST/EWS/Exchange.asmx"
        );
        assert_eq!(
            n.text("http://schemas.microsoft.com/x"),
            "http://schemas.microsoft.com/x"
        );
    }

    #[test]
    fn secrets_are_replaced() {
        let mut n = Normalizer::new(["hunter2"]);
        assert_eq!(n.text("password hunter2!"), "password SECRET!");
        // Encoded forms too, and inside XML after entities are decoded.
        assert_eq!(n.text("p=hunter%32 b=aHVudGVyMg=="), "p=SECRET b=SECRET");
        let doc = n.document("<a x=\"hunter&#50;\">aHVudGVyMg</a>");
        assert!(!doc.contains("hunter") && doc.contains("SECRET"), "{doc}");
    }

    #[test]
    fn prefixes_and_attribute_order_do_not_matter() {
        let a = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><x:SendItem xmlns:x="http://schemas.microsoft.com/exchange/services/2006/messages" b="2" SaveItemToFolder="true"/></s:Body></s:Envelope>"#;
        let b = r#"<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/">
          <Body>
            <SendItem SaveItemToFolder="true" b="2" xmlns="http://schemas.microsoft.com/exchange/services/2006/messages"/>
          </Body>
        </Envelope>"#;
        assert_eq!(norm(a), norm(b));
        assert!(
            norm(a).starts_with("<soap:Envelope xmlns:soap="),
            "{}",
            norm(a)
        );
    }

    #[test]
    fn text_that_is_not_xml_keeps_its_words() {
        assert_eq!(
            norm("401 Unauthorized at 2026-11-23T09:15:00Z"),
            "401 Unauthorized at DATETIME"
        );
    }
}
