//! The SOAP 1.1 Fault in `schemas/soap-envelope.xsd`, probed where it departs from a plain
//! string: `xsi:type` on `faultstring` and `faultcode`, and Exchange's `xml:lang`.
//!
//! The SOAP 1.1 rule these probes hold the project's schema to (SOAP 1.1, W3C Note of 8 May
//! 2000, section 4.4, and its envelope schema at <http://schemas.xmlsoap.org/soap/envelope/>):
//! `faultcode` is declared `xs:QName` and `faultstring` `xs:string`. An `xsi:type` must name the
//! declared type or one derived from it (XML Schema Part 1, cvc-elt.4.3), so
//! `xsi:type="xsd:string"` is valid on `faultstring` and invalid on `faultcode`, since
//! `xs:string` is not derived from `xs:QName`. The shared data holds no SOAP 1.1 schema to
//! compare with, so the rule is written out here; the official EWS sets load the project's own
//! envelope schema and are checked only to agree with it.

mod common;

use std::process::Command;

use common::{SOAP, official};
use ewsconf::generate::SchemaEra;
use ewsconf::schema::{SchemaSet, XmlErrorKind};

const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
const XSD: &str = "http://www.w3.org/2001/XMLSchema";

/// A Fault whose `faultcode` and `faultstring` carry `code_attrs` and `string_attrs`, in an
/// envelope as a server answers it, or as the bare Body child when `bare`.
fn fault(code_attrs: &str, string_attrs: &str, string: &str, bare: bool) -> String {
    let fault = format!(
        r#"<s:Fault xmlns:s="{SOAP}" xmlns:xsi="{XSI}" xmlns:xsd="{XSD}"><faultcode{code_attrs}>s:Server</faultcode><faultstring{string_attrs}>{string}</faultstring></s:Fault>"#
    );
    if bare {
        fault
    } else {
        format!(
            r#"<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="{SOAP}"><s:Body>{fault}</s:Body></s:Envelope>"#
        )
    }
}

fn ours() -> &'static SchemaSet {
    SchemaSet::embedded().expect("the project's schemas compile")
}

/// The schema errors of `doc` under ours, as `line:column: message`.
fn errors(doc: &str) -> Vec<String> {
    ours()
        .validate(doc.as_bytes())
        .errors
        .iter()
        .map(|e| {
            assert_eq!(e.kind, XmlErrorKind::Schema, "{e}");
            e.to_string()
        })
        .collect()
}

/// Every official set present agrees with ours on `doc`.
fn officials_agree(doc: &str, valid: bool) {
    for era in [SchemaEra::Current, SchemaEra::Exchange2010Sp2] {
        if let Some(set) = official(era) {
            assert_eq!(set.validate(doc.as_bytes()).is_valid(), valid, "{era:?}");
        }
    }
}

#[test]
fn faultstring_with_xsi_type_string_is_valid_as_in_soap_1_1() {
    for bare in [true, false] {
        let doc = fault("", r#" xsi:type="xsd:string""#, "Server busy", bare);
        assert_eq!(errors(&doc), Vec::<String>::new(), "{doc}");
        officials_agree(&doc, true);
    }
}

#[test]
fn faultstring_keeps_exchanges_xml_lang() {
    let doc = fault("", r#" xml:lang="en-US""#, "Server busy", false);
    assert_eq!(errors(&doc), Vec::<String>::new());
    officials_agree(&doc, true);
    // xml:lang is still checked against its declaration.
    let doc = fault("", r#" xml:lang="not a language""#, "Server busy", false);
    let errs = errors(&doc);
    assert!(errs.first().is_some_and(|e| e.contains("lang")), "{errs:?}");
}

#[test]
fn faultcode_with_xsi_type_string_stays_invalid_because_a_qname_is_not_a_string() {
    for bare in [true, false] {
        let doc = fault(r#" xsi:type="xsd:string""#, "", "Server busy", bare);
        let errs = errors(&doc);
        let first = errs.first().unwrap_or_else(|| panic!("accepted: {doc}"));
        assert!(
            first.contains("'faultcode'") && first.contains("xsi:type"),
            "{errs:?}"
        );
        officials_agree(&doc, false);
    }
    // Its declared type is still fine spelt out.
    let doc = fault(r#" xsi:type="xsd:QName""#, "", "Server busy", false);
    assert_eq!(errors(&doc), Vec::<String>::new());
}

#[test]
fn faultstring_content_stays_text() {
    let doc = fault("", "", "Server <b>busy</b>", false);
    let errs = errors(&doc);
    assert!(
        errs.first()
            .is_some_and(|e| e.contains("faultstring-has-no-child-elements")),
        "a child element is accepted: {errs:?}"
    );
    // As in SOAP 1.1: a faultstring typed as xs:string takes no attributes, xml:lang included.
    let doc = fault(
        "",
        r#" xsi:type="xsd:string" xml:lang="en-US""#,
        "Server busy",
        false,
    );
    assert!(!errors(&doc).is_empty(), "{doc}");
}

#[test]
fn the_validate_command_agrees() {
    let dir = tempfile::tempdir().unwrap();
    let string = dir.path().join("faultstring-xsi-type.xml");
    let code = dir.path().join("faultcode-xsi-type.xml");
    std::fs::write(
        &string,
        fault("", r#" xsi:type="xsd:string""#, "Server busy", false),
    )
    .unwrap();
    std::fs::write(
        &code,
        fault(r#" xsi:type="xsd:string""#, "", "Server busy", false),
    )
    .unwrap();
    let run = |file: &std::path::Path| {
        let out = Command::new(env!("CARGO_BIN_EXE_ewsconf"))
            .arg("validate")
            .arg(file)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (status, stdout) = run(&string);
    assert_eq!(status, Some(0), "{stdout}");
    let (status, stdout) = run(&code);
    assert_eq!(status, Some(1), "{stdout}");
    assert!(stdout.contains("faultcode"), "{stdout}");
}

#[tokio::test]
async fn a_fault_with_xsi_type_on_faultstring_is_read_and_valid_over_http() {
    use ewsconf::ews::{
        BaseItemId, ItemId, RequestEnvelope, RequestHeaders, ResponseBody, ResponseEnvelope,
        SendItem,
    };
    use ewsconf::target::calls::Account;
    use ewsconf::target::{CallError, Client, ClientOptions};
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};

    for (faultcode_attrs, valid) in [("", true), (r#" xsi:type="xsd:string""#, false)] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(500)
                    .insert_header("content-type", "text/xml; charset=utf-8")
                    .set_body_string(fault(
                        faultcode_attrs,
                        r#" xsi:type="xsd:string""#,
                        "Server busy",
                        false,
                    )),
            )
            .mount(&server)
            .await;
        let client = Client::new(
            &format!("{}/EWS/Exchange.asmx", server.uri()),
            &ClientOptions::default(),
        )
        .unwrap();
        let account = Account::basic("boss@example.com", "secret");
        let send = SendItem::new([BaseItemId::ItemId(ItemId::new("AAMkAGlk"))]);
        let exchange = client
            .call(&account.auth, &RequestEnvelope::new(send.clone()))
            .await
            .expect("an answer");
        assert_eq!(exchange.status, 500);
        // What the judge holds the answer to: the envelope schema.
        assert_eq!(
            ours().validate(&exchange.body).is_valid(),
            valid,
            "{faultcode_attrs}"
        );
        // And the wire model reads it as the fault it is.
        let parsed = ResponseEnvelope::parse(&exchange.body).expect("an envelope");
        assert!(
            matches!(&parsed.body, ResponseBody::Fault(f) if f.fault_string == "Server busy"),
            "{:?}",
            parsed.body
        );
        let err = client
            .messages(&account, &RequestHeaders::default(), send)
            .await
            .unwrap_err();
        assert!(matches!(err, CallError::Fault { .. }), "{err}");
    }
}
