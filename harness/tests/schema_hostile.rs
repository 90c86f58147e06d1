//! Hostile documents and schemas: each is refused with the right error kind, finishes (a
//! watchdog fails the test if it hangs), reads no file and opens no connection. Elements with
//! 200,000 attributes or namespace declarations are refused before libxml2 sees them: by the
//! validator, by the mock (which goes on serving other clients) and by the harness judging such
//! an answer.

mod common;

use std::fs;
use std::io::ErrorKind;
use std::net::TcpListener;
use std::path::PathBuf;

use common::{M, SOAP, within};
use ewsconf::Verdict;
use ewsconf::ews::{Element, ResponseCode};
use ewsconf::mock::Profile;
use ewsconf::run::{Interrupt, RunOptions, run};
use ewsconf::schema::{Limits, SchemaError, SchemaSet, Validation, XmlErrorKind};
use ewsconf::target::{Client, ClientOptions, Post};

const WATCHDOG_SECS: u64 = 10;

fn validate_embedded(what: &str, doc: Vec<u8>) -> Validation {
    within(WATCHDOG_SECS, what, move || {
        SchemaSet::embedded().unwrap().validate(&doc)
    })
}

fn only_kind(validation: &Validation) -> XmlErrorKind {
    match validation.errors.as_slice() {
        [error] => error.kind,
        other => panic!("expected one error, got {other:?}"),
    }
}

/// A file holding `secret` in a temporary folder of its own, which lives as long as the
/// returned guard.
fn canary_file(name: &str, secret: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    fs::write(&path, secret).unwrap();
    (dir, path)
}

/// Compiles, under the watchdog, a schema directory of this `messages.xsd` and an empty
/// `types.xsd`.
fn compile_messages_xsd(what: &str, messages: String) -> Result<SchemaSet, SchemaError> {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("messages.xsd"), messages).unwrap();
    fs::write(
        dir.path().join("types.xsd"),
        r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"/>"#,
    )
    .unwrap();
    within(WATCHDOG_SECS, what, move || SchemaSet::from_dir(dir.path()))
}

/// A listener on a free loopback port; `connections()` counts what reached it.
struct Canary(TcpListener);

impl Canary {
    fn new() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        Self(listener)
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}/{path}", self.0.local_addr().unwrap())
    }

    fn connections(&self) -> usize {
        let mut n = 0;
        loop {
            match self.0.accept() {
                Ok(_) => n += 1,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return n,
                Err(e) => panic!("accept: {e}"),
            }
        }
    }
}

#[test]
fn external_entity_is_refused_as_doctype_and_the_file_stays_unread() {
    let secret = "CANARY-7f3a9c-do-not-leak";
    let (_dir, canary) = canary_file("canary.txt", secret);
    let doc = format!(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE m:SendItem [<!ENTITY x SYSTEM \"file://{}\">]>\n\
         <m:SendItem xmlns:m=\"{M}\" SaveItemToFolder=\"true\"><m:ItemIds>&x;</m:ItemIds></m:SendItem>",
        canary.display()
    );
    let validation = validate_embedded("XXE", doc.into_bytes());
    assert_eq!(only_kind(&validation), XmlErrorKind::Doctype);
    assert_eq!(validation.errors[0].line, 2);
    assert!(!format!("{validation:?}").contains(secret));

    // The same attack with the DOCTYPE hidden in UTF-7 (an encoding libxml2 knows) is parsed as
    // UTF-8, so it never becomes markup.
    let utf7 = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-7\"?>+ADw-+ACE-DOCTYPE m +AFs-+ADw-+ACE-ENTITY x SYSTEM +ACI-file://{}+ACI-+AD4-+AF0-+AD4-\n\
         <m:SendItem xmlns:m=\"{M}\">&x;</m:SendItem>",
        canary.display()
    );
    let validation = validate_embedded("UTF-7 XXE", utf7.into_bytes());
    assert_eq!(only_kind(&validation), XmlErrorKind::NotWellFormed);
    assert!(!format!("{validation:?}").contains(secret));
}

#[test]
fn billion_laughs_is_refused_as_doctype() {
    let mut dtd = String::from("<!ENTITY l0 \"ha\">");
    for i in 1..=10 {
        let prev = format!("&l{};", i - 1);
        dtd.push_str(&format!("<!ENTITY l{i} \"{}\">", prev.repeat(10)));
    }
    let doc = format!("<?xml version=\"1.0\"?>\n<!DOCTYPE m [{dtd}]>\n<m>&l10;</m>");
    let validation = validate_embedded("billion laughs", doc.into_bytes());
    assert_eq!(only_kind(&validation), XmlErrorKind::Doctype);
}

#[test]
fn http_schema_import_is_refused_without_connecting() {
    let listener = Canary::new();
    let remote = listener.url("remote.xsd");
    let messages = format!(
        r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:r="urn:remote" targetNamespace="{M}">
  <xs:import namespace="urn:remote" schemaLocation="{remote}"/>
  <xs:element name="SendItem" type="r:Remote"/>
</xs:schema>
"#
    );
    let result = compile_messages_xsd("http import", messages);
    let Err(error @ SchemaError::Compile { .. }) = result else {
        panic!("expected a compile error, got {result:?}");
    };
    let text = error.to_string();
    assert!(
        text.contains(&remote) && text.contains("network access is disabled"),
        "{text}"
    );
    assert_eq!(listener.connections(), 0, "the schema compiler connected");
}

#[test]
fn instance_documents_cannot_make_the_validator_connect() {
    let listener = Canary::new();
    let url = listener.url("x.xsd");
    let docs = [
        format!(
            r#"<m:SendItemResponse xmlns:m="{M}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="{M} {url}"><m:ResponseMessages/></m:SendItemResponse>"#
        ),
        format!(
            r#"<x:Root xmlns:x="urn:x" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="urn:x {url}"/>"#
        ),
        format!(
            r#"<x xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="{url}"/>"#
        ),
        format!(
            r#"<m:SendItemResponse xmlns:m="{M}" xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="{url}"/></m:SendItemResponse>"#
        ),
        format!("<!DOCTYPE x SYSTEM \"{url}\"><x/>"),
    ];
    for doc in docs {
        let validation = validate_embedded("schemaLocation", doc.clone().into_bytes());
        assert!(!validation.is_valid(), "{doc}");
    }
    assert_eq!(listener.connections(), 0, "validation connected");
}

#[test]
fn deep_nesting_is_too_deep() {
    let depth = 100_000;
    let doc = format!("{}{}", "<a>".repeat(depth), "</a>".repeat(depth));
    let validation = validate_embedded("deep nesting", doc.clone().into_bytes());
    assert_eq!(only_kind(&validation), XmlErrorKind::TooDeep);

    // With the pre-scan's bound lifted, libxml2's own limit answers, with the same kind.
    let lax = Limits {
        max_depth: u32::MAX,
        ..Limits::default()
    };
    let validation = within(WATCHDOG_SECS, "deep nesting, libxml2 limit", move || {
        SchemaSet::compile_embedded()
            .unwrap()
            .with_limits(lax)
            .validate(doc.as_bytes())
    });
    let error = validation.errors.first().expect("rejected");
    assert_eq!(error.kind, XmlErrorKind::TooDeep, "{validation:?}");
    assert!(error.message.contains("256"), "{error}");
}

#[test]
fn truncated_input_is_not_well_formed_with_a_position() {
    let full = common::success_envelope();
    let doc = full.as_bytes()[..full.len() / 2].to_vec();
    let validation = validate_embedded("truncated", doc);
    let error = validation.errors.first().expect("rejected");
    assert_eq!(error.kind, XmlErrorKind::NotWellFormed);
    assert!(error.line > 1 && error.column > 0, "{error}");
}

/// Cut anywhere before its root element closes, a valid document is refused, by both the
/// checking and the tree-building entry points, and the same way each time; with white space
/// after its root element it stays valid.
#[test]
fn every_cut_of_a_valid_document_is_refused() {
    let set = SchemaSet::embedded().unwrap();
    let full = common::success_envelope().into_bytes();
    let root_closed = full.iter().rposition(|&b| b == b'>').unwrap() + 1;
    within(WATCHDOG_SECS, "every cut", move || {
        for cut in 0..root_closed {
            let doc = &full[..cut];
            let validation = set.validate(doc);
            assert!(!validation.is_valid(), "valid when cut at byte {cut}");
            assert_eq!(set.parse_valid(doc).err(), Some(validation), "cut at {cut}");
        }
        for tail in ["", " ", "\n", " \r\n\t "] {
            let doc = [&full[..root_closed], tail.as_bytes()].concat();
            assert!(set.validate(&doc).is_valid(), "tail {tail:?}");
            assert!(set.parse_valid(&doc).is_ok(), "tail {tail:?}");
        }
    });
}

#[test]
fn invalid_utf8_is_not_well_formed_with_a_clear_message() {
    let mut doc = common::success_envelope().into_bytes();
    let at = doc.windows(7).position(|w| w == b"NoError").unwrap();
    doc[at] = 0xC3;
    doc[at + 1] = 0x28;
    let validation = validate_embedded("invalid UTF-8", doc);
    assert_eq!(only_kind(&validation), XmlErrorKind::NotWellFormed);
    let error = &validation.errors[0];
    assert!(error.message.contains("invalid UTF-8"), "{error}");
    let line = doc_line_of(&common::success_envelope(), "NoError");
    assert_eq!(error.line, line, "{error}");

    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain("<x/>".encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    let validation = validate_embedded("UTF-16", utf16);
    assert_eq!(only_kind(&validation), XmlErrorKind::NotWellFormed);
    assert!(validation.errors[0].message.contains("UTF-16"));
}

fn doc_line_of(text: &str, needle: &str) -> u32 {
    let at = text.find(needle).unwrap();
    u32::try_from(text[..at].matches('\n').count() + 1).unwrap()
}

#[test]
fn undeclared_prefix_is_not_well_formed() {
    let doc = b"<m:SendItemResponse><m:ResponseMessages/></m:SendItemResponse>".to_vec();
    let validation = validate_embedded("undeclared prefix", doc);
    let error = validation.errors.first().expect("rejected");
    assert_eq!(error.kind, XmlErrorKind::NotWellFormed, "{validation:?}");
}

#[test]
fn oversize_input_is_too_large_without_parsing() {
    // Not XML at all: only the size check can have produced the verdict.
    let small = Limits {
        max_bytes: 1024,
        ..Limits::default()
    };
    let doc = vec![b'<'; 1025];
    let validation = within(WATCHDOG_SECS, "oversize", move || {
        SchemaSet::compile_embedded()
            .unwrap()
            .with_limits(small)
            .validate(&doc)
    });
    assert_eq!(only_kind(&validation), XmlErrorKind::TooLarge);

    let default_max = Limits::default().max_bytes;
    let validation = validate_embedded("oversize, default limit", vec![b'<'; default_max + 1]);
    assert_eq!(only_kind(&validation), XmlErrorKind::TooLarge);
}

#[test]
fn schema_dir_entities_cannot_read_files_outside_it() {
    let secret = "CANARY-schema-9d1e-do-not-leak";
    let (_outside, canary) = canary_file("secret.txt", secret);
    let messages = format!(
        r#"<?xml version="1.0"?>
<!DOCTYPE xs:schema [<!ENTITY leak SYSTEM "file://{}">]>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="{M}">
  <xs:annotation><xs:documentation>&leak;</xs:documentation></xs:annotation>
  <xs:element name="SendItem" type="xs:string"/>
</xs:schema>
"#,
        canary.display()
    );
    let result = compile_messages_xsd("schema XXE", messages);
    let Err(error) = result else {
        panic!("a schema that reads a file outside its directory compiled");
    };
    let text = format!("{error} {error:?}");
    assert!(text.contains("outside the schema directory"), "{text}");
    assert!(!text.contains(secret), "{text}");
}

/// How many attributes, or namespace declarations, the hostile documents put on one element.
const HOSTILE_COUNT: usize = 200_000;

/// Generous bound for the loopback tests below, which take well under a second when they hold.
const LOOPBACK_WATCHDOG: std::time::Duration = std::time::Duration::from_secs(20);

/// What to pile onto one element.
#[derive(Debug, Clone, Copy)]
enum Pile {
    Attributes,
    Namespaces,
}

impl Pile {
    /// Distinct attributes or namespace declarations, each with a leading space: with the one
    /// attribute the elements below carry anyway, `HOSTILE_COUNT` of either.
    fn text(self) -> String {
        let count = match self {
            Pile::Attributes => HOSTILE_COUNT - 1,
            Pile::Namespaces => HOSTILE_COUNT,
        };
        (0..count)
            .map(|i| match self {
                Pile::Attributes => format!(" a{i}=\"x\""),
                Pile::Namespaces => format!(" xmlns:p{i}=\"urn:p{i}\""),
            })
            .collect()
    }

    fn kind(self) -> XmlErrorKind {
        match self {
            Pile::Attributes => XmlErrorKind::TooManyAttributes,
            Pile::Namespaces => XmlErrorKind::TooManyNamespaces,
        }
    }

    /// What the validator's message says, with the count and the limit.
    fn message(self) -> String {
        match self {
            Pile::Attributes => format!(
                "has {HOSTILE_COUNT} attributes, more than the limit of {}",
                Limits::DEFAULT_MAX_ATTRIBUTES
            ),
            Pile::Namespaces => format!(
                "has {HOSTILE_COUNT} namespace declarations, more than the limit of {}",
                Limits::DEFAULT_MAX_NAMESPACE_DECLARATIONS
            ),
        }
    }
}

/// A SendItem request whose `m:SendItem` (line 2, column 3) carries `pile`.
fn hostile_request(pile: Pile) -> String {
    format!(
        "<s:Envelope xmlns:s=\"{SOAP}\" xmlns:m=\"{M}\"><s:Body>\n  <m:SendItem{} SaveItemToFolder=\"true\">\
         <m:ItemIds/></m:SendItem></s:Body></s:Envelope>",
        pile.text()
    )
}

#[test]
fn an_element_with_200000_attributes_or_namespaces_is_refused_before_parsing() {
    for pile in [Pile::Attributes, Pile::Namespaces] {
        let doc = hostile_request(pile).into_bytes();
        let validation = validate_embedded("hostile pile", doc.clone());
        assert_eq!(only_kind(&validation), pile.kind(), "{pile:?}");
        let error = &validation.errors[0];
        assert_eq!((error.line, error.column), (2, 3), "{error}");
        assert!(
            error.message.contains("`m:SendItem`") && error.message.contains(&pile.message()),
            "{error}"
        );
        let parsed = within(WATCHDOG_SECS, "hostile pile, parse_valid", {
            let doc = doc.clone();
            move || SchemaSet::embedded().unwrap().parse_valid(&doc).err()
        });
        assert_eq!(parsed, Some(validation), "{pile:?}");

        // The wire model's reader is bounded the same way.
        let read = within(WATCHDOG_SECS, "hostile pile, Element::parse", move || {
            Element::parse(&doc).map(|_| ()).map_err(|e| e.to_string())
        });
        let message = read.expect_err("refused");
        assert!(
            message.starts_with("2:3:")
                && (message.contains("more than 256 attributes")
                    || message.contains("namespace declarations")),
            "{pile:?}: {message}"
        );
    }
}

/// The mock answers each hostile request with ErrorSchemaValidation, and a second client that
/// sends an ordinary request meanwhile is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mock_refuses_hostile_piles_and_serves_another_client_meanwhile() {
    let mock = common::Mock::start(Profile::Intended).await;
    let hostile = Client::new(mock.server.url(), &ClientOptions::default()).unwrap();
    let auth = common::Mock::account(common::BOSS).auth;
    let attacks = [
        Pile::Attributes,
        Pile::Namespaces,
        Pile::Attributes,
        Pile::Namespaces,
    ]
    .map(|pile| {
        let (hostile, auth) = (hostile.clone(), auth.clone());
        tokio::spawn(async move {
            let post = Post {
                body: hostile_request(pile).into(),
                content_type: "text/xml; charset=utf-8".into(),
                soap_action: None,
            };
            (pile, hostile.post(&auth, post).await)
        })
    });
    let served = tokio::time::timeout(
        LOOPBACK_WATCHDOG,
        mock.draft(
            common::BOSS,
            common::BOSS,
            "served meanwhile",
            &[common::CAROL],
        ),
    )
    .await
    .expect("the other client is served");
    assert!(!served.id.is_empty());
    for attack in attacks {
        let (pile, answer) = tokio::time::timeout(LOOPBACK_WATCHDOG, attack)
            .await
            .expect("the mock answers the hostile request")
            .unwrap();
        let exchange = answer.expect("an HTTP answer");
        assert_eq!(exchange.status, 500, "{pile:?}");
        let envelope = exchange.envelope().expect("a SOAP answer");
        let fault = envelope.fault().expect("a SOAP Fault");
        assert_eq!(
            fault.response_code(),
            Some(ResponseCode::ErrorSchemaValidation),
            "{pile:?}"
        );
        let wanted = match pile {
            Pile::Attributes => "more than 256 attributes",
            Pile::Namespaces => "namespace declarations",
        };
        assert!(
            fault.fault_string.contains(wanted),
            "{pile:?}: {}",
            fault.fault_string
        );
    }
    mock.server.shutdown().await;
}

/// A server answering SendItem with a response message carrying `pile`: the case is judged, not
/// hung, and fails on the schema with the validator's message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_harness_judges_an_answer_with_hostile_piles() {
    use axum::response::IntoResponse;
    for pile in [Pile::Attributes, Pile::Namespaces] {
        let answer = common::response_envelope(
            "SendItem",
            ewsconf::ews::ResponseMessage::error(
                ResponseCode::ErrorInvalidIdMalformed,
                "Id is malformed.",
            ),
        )
        .replacen(
            "<m:SendItemResponseMessage",
            &format!("<m:SendItemResponseMessage{}", pile.text()),
            1,
        );
        let url = common::scripted_endpoint(move || {
            (
                [(axum::http::header::CONTENT_TYPE, "text/xml; charset=utf-8")],
                answer.clone(),
            )
                .into_response()
        })
        .await;
        let target = common::principal_target(&url, std::time::Duration::from_secs(10));
        let options = RunOptions {
            case_timeout: std::time::Duration::from_secs(15),
            ..common::run_options(1)
        };
        let cases = [common::invalid_id_case()];
        let summary = tokio::time::timeout(
            LOOPBACK_WATCHDOG,
            run(&target, &cases, &options, &Interrupt::default(), |_| {}),
        )
        .await
        .expect("the case ends")
        .expect("the run completes");
        let outcome = &summary.outcomes[0];
        assert_eq!(outcome.verdict, Verdict::Fail, "{pile:?}: {outcome:?}");
        let schema = outcome
            .findings
            .iter()
            .find(|f| f.check == "schema")
            .unwrap_or_else(|| panic!("{pile:?}: no schema finding in {:?}", outcome.findings));
        assert!(
            schema.actual.contains(&pile.message()),
            "{pile:?}: {}",
            schema.actual
        );
        // The reports are written too.
        let dir = tempfile::tempdir().unwrap();
        let summary = std::sync::Arc::new(summary);
        tokio::time::timeout(
            LOOPBACK_WATCHDOG,
            tokio::task::spawn_blocking(move || {
                ewsconf::report::write_all(&summary, dir.path()).map(|_| ())
            }),
        )
        .await
        .expect("the reports are written in time")
        .unwrap()
        .expect("the reports are written");
    }
}
