//! The mock's WSDL: `schemas/services.wsdl`, compiled in, served at `/EWS/Services.wsdl` with its
//! `soap:address` naming the host the client reached.
//!
//! The schemas it imports (`messages.xsd`, then `types.xsd` and `xml.xsd`) are served beside it,
//! so a client resolving each `schemaLocation` relative to the WSDL's URL finds them.

use std::borrow::Cow;

/// The WSDL as written, with the placeholder address.
pub const WSDL: &str = include_str!("../../../schemas/services.wsdl");

/// The endpoint the written WSDL names, served when the request names no plausible host.
pub const PLACEHOLDER_ADDRESS: &str = "https://localhost/EWS/Exchange.asmx";

/// The `location` attribute that holds the placeholder, as written in the WSDL.
const PLACEHOLDER_ATTRIBUTE: &str = "location=\"https://localhost/EWS/Exchange.asmx\"";

/// The longest `Host` taken: a 253-byte name, or a bracketed IPv6 address, and a port.
const MAX_HOST_LEN: usize = 270;

/// True for the file names under `/EWS/` that answer with the WSDL: `Services.wsdl`, as Exchange
/// spells it, in any letter case (IIS matches paths case-insensitively).
pub fn is_wsdl_name(file: &str) -> bool {
    file.eq_ignore_ascii_case("services.wsdl")
}

/// The WSDL whose `soap:address` is `http://HOST/EWS/Exchange.asmx` for this `Host` header, or
/// the placeholder address when the header is missing or not a plausible `host[:port]`.
pub fn document(host: Option<&str>) -> Cow<'static, str> {
    match host.filter(|h| plausible_host(h)) {
        Some(host) => Cow::Owned(WSDL.replacen(
            PLACEHOLDER_ATTRIBUTE,
            &format!("location=\"http://{host}{}\"", super::EWS_PATH),
            1,
        )),
        None => Cow::Borrowed(WSDL),
    }
}

/// True when `host` is a DNS name or IPv4 address (letters, digits, `.` and `-`) or a bracketed
/// IPv6 address, optionally followed by `:PORT` (1 to 65535). Nothing else reaches the XML.
pub fn plausible_host(host: &str) -> bool {
    if host.is_empty() || host.len() > MAX_HOST_LEN {
        return false;
    }
    let (name_ok, port) = match host.strip_prefix('[') {
        Some(rest) => {
            let Some((inside, after)) = rest.split_once(']') else {
                return false;
            };
            let inside_ok = inside.contains(':')
                && inside
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
            match after {
                "" => (inside_ok, None),
                _ => match after.strip_prefix(':') {
                    Some(port) => (inside_ok, Some(port)),
                    None => return false,
                },
            }
        }
        None => {
            let (name, port) = match host.split_once(':') {
                Some((name, port)) => (name, Some(port)),
                None => (host, None),
            };
            let name_ok = !name.is_empty()
                && !name.starts_with(['.', '-'])
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
            (name_ok, port)
        }
    };
    name_ok
        && port.is_none_or(|p| {
            !p.is_empty()
                && p.len() <= 5
                && p.bytes().all(|b| b.is_ascii_digit())
                && p.parse::<u16>().is_ok_and(|n| n > 0)
        })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use quick_xml::events::Event;

    use super::*;
    use crate::mock::{MockConfig, MockServer};

    #[test]
    fn the_written_wsdl_holds_the_placeholder_once() {
        assert_eq!(WSDL.matches(PLACEHOLDER_ATTRIBUTE).count(), 1);
        assert_eq!(
            PLACEHOLDER_ATTRIBUTE,
            format!("location=\"{PLACEHOLDER_ADDRESS}\"")
        );
    }

    #[test]
    fn the_address_names_a_plausible_host_and_nothing_else() {
        for host in [
            "127.0.0.1:8080",
            "mail.example.com",
            "exchange-01.corp.example:443",
            "[::1]:41234",
            "[fe80::1]",
        ] {
            let doc = document(Some(host));
            assert!(
                doc.contains(&format!(
                    "<soap:address location=\"http://{host}/EWS/Exchange.asmx\"/>"
                )),
                "{host}"
            );
            assert!(!doc.contains(PLACEHOLDER_ADDRESS), "{host}");
        }
        for host in [
            "",
            "a\"><x y=\"",
            "host:",
            "host:0",
            "host:65536",
            "host:80:80",
            ":80",
            "[::1",
            "[::1]x",
            "[zz]",
            "-x",
            "user@host",
            "host/path",
            "h ost",
            "hést",
            &"a".repeat(MAX_HOST_LEN + 1),
        ] {
            assert!(!plausible_host(host), "{host:?}");
            assert_eq!(document(Some(host)), WSDL, "{host:?}");
        }
        assert_eq!(document(None), WSDL);
    }

    #[test]
    fn both_spellings_name_the_wsdl() {
        assert!(is_wsdl_name("Services.wsdl"));
        assert!(is_wsdl_name("services.wsdl"));
        assert!(!is_wsdl_name("services.xsd"));
        assert!(!is_wsdl_name("Exchange.wsdl"));
    }

    /// Every `schemaLocation` (and `wsdl:import` `location`) in `text`.
    fn imports(text: &str) -> Vec<String> {
        let mut reader = quick_xml::Reader::from_str(text);
        let mut found = Vec::new();
        loop {
            match reader.read_event().expect("well-formed") {
                Event::Start(e) | Event::Empty(e) => {
                    let local = e.local_name();
                    if !matches!(local.into_inner(), "import" | "include" | "redefine") {
                        continue;
                    }
                    for attr in e.attributes() {
                        let attr = attr.expect("attribute");
                        if matches!(attr.key.into_inner(), "schemaLocation" | "location") {
                            found.push(attr.value.into_owned());
                        }
                    }
                }
                Event::Eof => break,
                _ => {}
            }
        }
        found
    }

    /// A client that loads the WSDL from the mock and resolves every import relative to the
    /// document naming it finds each one served, as XML, down to the last.
    #[tokio::test]
    async fn every_schema_the_wsdl_imports_is_served_where_it_says() {
        let server = MockServer::start(MockConfig::default())
            .await
            .expect("mock starts");
        let http = reqwest::Client::new();
        let root = format!("http://{}/EWS/Services.wsdl", server.addr());
        let mut pending = vec![reqwest::Url::parse(&root).unwrap()];
        let mut seen = BTreeSet::new();
        while let Some(url) = pending.pop() {
            if !seen.insert(url.to_string()) {
                continue;
            }
            let answer = http.get(url.clone()).send().await.expect("GET answers");
            assert_eq!(answer.status(), 200, "{url}");
            assert_eq!(
                answer.headers()["content-type"],
                "text/xml; charset=utf-8",
                "{url}"
            );
            let text = answer.text().await.unwrap();
            for location in imports(&text) {
                pending.push(
                    url.join(&location)
                        .unwrap_or_else(|e| panic!("{location}: {e}")),
                );
            }
        }
        let served: BTreeSet<_> = seen
            .iter()
            .map(|u| u.rsplit('/').next().unwrap().to_owned())
            .collect();
        for file in ["Services.wsdl", "messages.xsd", "types.xsd", "xml.xsd"] {
            assert!(served.contains(file), "{file} not reached: {served:?}");
        }
        server.shutdown().await;
    }
}
