//! Hostile documents and schemas: each is refused with the right error kind, finishes (a
//! watchdog fails the test if it hangs), reads no file and opens no connection.

mod common;

use std::fs;
use std::io::ErrorKind;
use std::net::TcpListener;
use std::path::PathBuf;

use common::{M, within};
use ewsconf::schema::{Limits, SchemaError, SchemaSet, Validation, XmlErrorKind};

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
