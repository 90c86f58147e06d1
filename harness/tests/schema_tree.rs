//! `SchemaSet::parse_valid` builds, from libxml2's SAX events, exactly the tree `Element::parse`
//! builds with quick-xml: the mock and the fuzz loop rely on the two being interchangeable.

mod common;

use ewsconf::ews::Element;
use ewsconf::ews::xml::Node;
use ewsconf::generate::{SchemaEra, wire};
use ewsconf::schema::SchemaSet;
use proptest::prelude::*;

fn ours() -> &'static SchemaSet {
    SchemaSet::embedded().expect("the project's schemas compile")
}

/// Every difference between two trees, positions included, as readable lines.
fn differences(a: &Element, b: &Element, out: &mut Vec<String>) {
    let at = format!("{}:{} {}", a.line, a.column, a.name);
    let mut differ = |what: &str, x: String, y: String| {
        if x != y {
            out.push(format!("{at}: {what}: {x} != {y}"));
        }
    };
    differ(
        "namespace",
        format!("{:?}", a.namespace),
        format!("{:?}", b.namespace),
    );
    differ("name", a.name.to_string(), b.name.to_string());
    differ(
        "position",
        format!("{}:{}", a.line, a.column),
        format!("{}:{}", b.line, b.column),
    );
    differ(
        "attributes",
        format!("{:?}", a.attributes),
        format!("{:?}", b.attributes),
    );
    differ(
        "namespace declarations",
        format!("{:?}", a.namespace_declarations),
        format!("{:?}", b.namespace_declarations),
    );
    differ(
        "children",
        a.children.len().to_string(),
        b.children.len().to_string(),
    );
    for (x, y) in a.children.iter().zip(&b.children) {
        match (x, y) {
            (Node::Element(x), Node::Element(y)) => differences(x, y, out),
            (Node::Text(x), Node::Text(y)) if x == y => {}
            _ => out.push(format!("{at}: child {x:?} != {y:?}")),
        }
    }
}

fn same_tree(doc: &[u8]) -> Result<(), String> {
    let quick = Element::parse(doc).map_err(|e| format!("Element::parse: {e}"))?;
    let sax = ours()
        .parse_valid(doc)
        .map_err(|v| format!("parse_valid: {:?}", v.errors))?;
    let mut out = Vec::new();
    differences(&quick, &sax, &mut out);
    if out.is_empty() {
        Ok(())
    } else {
        Err(out.join("\n"))
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn requests_build_the_same_tree(envelope in wire::arb_request_envelope(SchemaEra::Current)) {
        let xml = envelope.to_xml();
        prop_assert_eq!(same_tree(xml.as_bytes()), Ok(()), "{}", xml);
    }

    #[test]
    fn responses_build_the_same_tree(envelope in wire::arb_response_envelope(SchemaEra::Current)) {
        let xml = envelope.to_xml();
        prop_assert_eq!(same_tree(xml.as_bytes()), Ok(()), "{}", xml);
    }
}

#[test]
fn escapes_cdata_comments_crlf_and_layout_build_the_same_tree() {
    let doc = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n\
         <!-- before -->\r\n\
         <s:Envelope xmlns:s=\"{soap}\"\r\n    xmlns:t=\"{t}\">\r\n\
         <s:Header><t:ServerVersionInfo MajorVersion=\"15\"\r\n   Version=\"a &amp; b &lt; &quot;c&quot; &#233;\tx\"/></s:Header>\r\n\
         <s:Body>\r\n  <SendItemResponse xmlns=\"{m}\"><ResponseMessages>\r\n\
         <SendItemResponseMessage ResponseClass=\"Error\">\
         <MessageText>one &amp; two &lt;three&gt; &#x263A; <![CDATA[<raw> & ]]><?pi x?><!-- c -->\r\nend</MessageText>\
         <ResponseCode>ErrorItemNotFound</ResponseCode><DescriptiveLinkKey>0</DescriptiveLinkKey>\
         </SendItemResponseMessage>\r\n</ResponseMessages></SendItemResponse>\r\n</s:Body></s:Envelope>\r\n",
        soap = common::SOAP,
        t = common::T,
        m = common::M,
    );
    assert_eq!(same_tree(doc.as_bytes()), Ok(()));
}

#[test]
fn every_valid_sample_builds_the_same_tree() {
    common::check_samples(14, |name, bytes| {
        let valid = ours().validate(bytes).is_valid();
        if valid {
            assert_eq!(same_tree(bytes), Ok(()), "{name}");
        }
        valid
    });
}

#[test]
fn an_invalid_document_gives_the_errors_validate_gives() {
    let bad = format!(
        r#"<m:SendItem xmlns:m="{m}" SaveItemToFolder="maybe"><m:ItemIds/></m:SendItem>"#,
        m = common::M
    );
    let broken = b"<m:SendItem xmlns:m=\"urn:x\"><unclosed></m:SendItem>".to_vec();
    for doc in [bad.into_bytes(), broken, b"\xff\xfe".to_vec(), Vec::new()] {
        let validation = ours().validate(&doc);
        assert!(!validation.is_valid());
        assert_eq!(ours().parse_valid(&doc).unwrap_err(), validation);
    }
}
