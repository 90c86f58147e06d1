//! The mock's WSDL: served at both spellings with an address naming the host the client used,
//! held against Microsoft's published schemas, and loaded by zeep, a WSDL-driven Python client
//! the project did not write, which then creates and sends a message through it.
//!
//! zeep goes into a venv cached under the cargo target dir. Where the registry cannot be reached
//! or `python3` is missing, that test prints a notice and passes; with `CI` set it fails instead.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{BOSS, CAROL, M, Mock, PASSWORD, T, installs};
use ewsconf::ews::DistinguishedFolderName as Folder;
use ewsconf::mock::Profile;
use ewsconf::mock::wsdl;
use quick_xml::events::Event;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Pinned, so that what the test says zeep does stays true.
const ZEEP: &str = "zeep==4.3.1";
/// What the zeep test calls itself in its notice.
const TEST: &str = "interop_wsdl zeep test";
const CLIENT_TIMEOUT: Duration = Duration::from_secs(120);

/// The seven operations the WSDL binds, in the order zeep's names sort.
const OPERATIONS: [&str; 7] = [
    "CreateItem",
    "DeleteItem",
    "FindItem",
    "GetFolder",
    "GetItem",
    "SendItem",
    "UpdateItem",
];

// ---------------------------------------------------------------------------------------------
// A flat view of an XML document

/// One element: its local name, its attributes, and its ancestors' local names and `name`s.
struct Tag {
    local: String,
    attrs: BTreeMap<String, String>,
    ancestors: Vec<(String, Option<String>)>,
}

impl Tag {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.get(name).map(String::as_str)
    }
}

/// Every element of `text`, in document order.
fn tags(text: &str) -> Vec<Tag> {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut stack: Vec<(String, Option<String>)> = Vec::new();
    let mut out = Vec::new();
    loop {
        let (e, empty) = match reader.read_event().expect("well-formed XML") {
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::End(_) => {
                stack.pop();
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        let local = e.local_name().into_inner().to_owned();
        let attrs: BTreeMap<_, _> = e
            .attributes()
            .map(|a| {
                let a = a.expect("attribute");
                (a.key.into_inner().to_owned(), a.value.into_owned())
            })
            .collect();
        let name = attrs.get("name").cloned();
        out.push(Tag {
            local: local.clone(),
            attrs,
            ancestors: stack.clone(),
        });
        if !empty {
            stack.push((local, name));
        }
    }
    out
}

/// The names of the top-level `xs:element`s of a schema.
fn top_level_elements(schema: &str) -> Vec<String> {
    tags(schema)
        .into_iter()
        .filter(|t| t.local == "element" && t.ancestors.len() == 1)
        .filter_map(|t| t.attrs.get("name").cloned())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The WSDL against Microsoft's schemas

/// Every `wsdl:part` names, by `element=`, a top-level element of Microsoft's `messages.xsd` or
/// `types.xsd` (by the prefix's namespace), and every `soapAction` is Exchange's for its operation.
#[test]
fn wsdl_parts_and_soap_actions_match_microsofts_schemas() {
    let wsdl_tags = tags(wsdl::WSDL);
    let root = &wsdl_tags[0];
    assert_eq!(root.local, "definitions");
    let namespace_of = |prefix: &str| root.attr(&format!("xmlns:{prefix}")).map(str::to_owned);

    // soapAction: one per bound operation, Exchange's URI for it.
    let mut bound = Vec::new();
    for tag in wsdl_tags.iter().filter(|t| t.local == "operation") {
        let Some(action) = tag.attr("soapAction") else {
            continue;
        };
        let (_, operation) = tag.ancestors.last().expect("inside wsdl:operation");
        let operation = operation.as_deref().expect("the operation has a name");
        assert_eq!(
            action,
            format!("{M}/{operation}"),
            "soapAction of {operation}"
        );
        bound.push(operation.to_owned());
    }
    bound.sort();
    assert_eq!(bound, OPERATIONS);

    let Some(shared) = common::shared_dir() else {
        return;
    };
    let official = shared.join("ews-schemas").join("Exchange2016-O365-2023");
    let read = |file: &str| {
        std::fs::read_to_string(official.join(file))
            .unwrap_or_else(|e| panic!("Microsoft's {file}: {e}"))
    };
    let messages = top_level_elements(&read("messages.xsd"));
    let types = top_level_elements(&read("types.xsd"));
    assert!(messages.len() > 100 && types.len() > 10, "parsed too few");

    let mut parts = 0;
    for tag in wsdl_tags.iter().filter(|t| t.local == "part") {
        let element = tag
            .attr("element")
            .expect("a document/literal part names an element");
        let (prefix, name) = element.split_once(':').expect("a prefixed QName");
        let namespace = namespace_of(prefix).unwrap_or_else(|| panic!("{prefix}: undeclared"));
        let declared = match namespace.as_str() {
            M => &messages,
            T => &types,
            other => panic!("{element}: namespace {other} is neither EWS messages nor types"),
        };
        assert!(
            declared.iter().any(|d| d == name),
            "{element}: no top-level element {name} in Microsoft's schema for {namespace}"
        );
        parts += 1;
    }
    // Four headers, a request and a response per operation.
    assert_eq!(parts, 4 + 2 * OPERATIONS.len());
}

// ---------------------------------------------------------------------------------------------
// Serving it

/// One raw HTTP exchange with the mock: `request` as written, the whole answer back.
async fn raw_exchange(addr: std::net::SocketAddr, request: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connects");
    stream.write_all(request.as_bytes()).await.expect("writes");
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .expect("the mock answers and closes")
        .expect("reads");
    String::from_utf8(answer).expect("UTF-8")
}

#[tokio::test]
async fn both_spellings_serve_the_wsdl_naming_the_host_used_and_never_a_hostile_one() {
    let mock = Mock::start(Profile::Documented).await;
    let addr = mock.server.addr();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let own_address = format!("<soap:address location=\"http://{addr}/EWS/Exchange.asmx\"/>");
    assert_eq!(
        format!("http://{addr}/EWS/Exchange.asmx"),
        mock.server.url()
    );
    for spelling in ["Services.wsdl", "services.wsdl"] {
        let answer = http
            .get(format!("http://{addr}/EWS/{spelling}"))
            .send()
            .await
            .expect("GET answers");
        assert_eq!(answer.status(), 200, "{spelling}");
        assert_eq!(
            common::content_type(&answer),
            Some("text/xml; charset=utf-8"),
            "{spelling}"
        );
        let text = answer.text().await.unwrap();
        assert!(text.contains("<wsdl:definitions"), "{spelling}");
        assert!(text.contains(&own_address), "{spelling}: {own_address}");
        assert!(!text.contains(wsdl::PLACEHOLDER_ADDRESS), "{spelling}");
    }

    // A hostile Host is not echoed: the placeholder stands, and the XML stays as written.
    let hostile =
        "GET /EWS/Services.wsdl HTTP/1.1\r\nHost: a\"><x y=\"\r\nConnection: close\r\n\r\n";
    let answer = raw_exchange(addr, hostile).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(!answer.contains("<x y="), "the Host was echoed:\n{answer}");
    let (_, body) = answer.split_once("\r\n\r\n").expect("a body");
    assert_eq!(body, wsdl::WSDL);

    // No Host at all (HTTP/1.0): the placeholder too.
    let answer = raw_exchange(addr, "GET /EWS/services.wsdl HTTP/1.0\r\n\r\n").await;
    assert!(answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200"));
    assert!(answer.contains(wsdl::PLACEHOLDER_ADDRESS), "{answer}");
    mock.server.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// zeep

fn script(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop")).join(name)
}

/// zeep in strict mode loads the WSDL from the mock, and the CreateItem and SendItem it builds
/// from it succeed: the recipient's Inbox holds the message and the sender's Sent Items the copy,
/// as the mock itself reports.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zeep_strict_loads_the_wsdl_and_sends_with_a_saved_copy() {
    let Some(python) = installs::venv_python(TEST, "zeep-venv", ZEEP, installs::PYTHON_HINT) else {
        return;
    };
    let mock = Mock::start(Profile::Documented).await;
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let subject = format!("interop-zeep-wsdl-{nanos}");
    let wsdl_url = format!("http://{}/EWS/Services.wsdl", mock.server.addr());

    let mut command = Command::new(python);
    command
        .arg(script("zeep_send.py"))
        .args([&wsdl_url, CAROL, &subject]);
    let report = installs::run_client(command, BOSS, PASSWORD, CLIENT_TIMEOUT).await;

    // The WSDL loaded: zeep bound all seven operations at the endpoint it was served from.
    assert_eq!(report["operations"], serde_json::json!(OPERATIONS));
    assert_eq!(report["address"], mock.server.url());
    let ok = serde_json::json!([["Success", "NoError"]]);
    assert_eq!(report["create"], ok, "CreateItem: {report}");
    assert_eq!(report["send"], ok, "SendItem: {report}");

    // Through the mock, not the script: delivered, copied, and out of Drafts.
    assert_eq!(
        mock.count_within(CAROL, Folder::Inbox, &subject, 1).await,
        1,
        "carol's Inbox"
    );
    assert_eq!(
        mock.count(BOSS, Folder::SentItems, &subject).await,
        1,
        "boss's Sent Items"
    );
    assert_eq!(
        mock.count(BOSS, Folder::Drafts, &subject).await,
        0,
        "boss's Drafts"
    );
    mock.server.shutdown().await;
}
