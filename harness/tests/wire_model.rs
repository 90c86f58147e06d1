//! The wire model against the published samples, and its own round trips.

mod common;

use ewsconf::ews::{
    BaseItemId, DistinguishedFolderName, Element, ExchangeVersion, FromXml, ItemId, Request,
    RequestEnvelope, ResponseClass, ResponseCode, ResponseEnvelope, SendItem, ServerVersionInfo,
    TargetFolderId, XmlError,
};
use ewsconf::generate::{SchemaEra, wire};
use proptest::prelude::*;

fn parse_request_body(bytes: &[u8]) -> Request {
    let root = Element::parse(bytes).expect("well-formed");
    Request::from_xml(&root).expect("a request")
}

/// A published how-to envelope with its `https://` SOAP namespace put right.
fn http_soap(published: Vec<u8>) -> String {
    String::from_utf8(published)
        .unwrap()
        .replace("https://schemas", "http://schemas")
}

/// The four numbers of a server's build.
fn build(info: &ServerVersionInfo) -> [Option<i32>; 4] {
    [
        info.major_version,
        info.minor_version,
        info.major_build_number,
        info.minor_build_number,
    ]
}

#[test]
fn reference_page_success_response_parses_to_its_values() {
    // Arrange
    let Some(doc) = common::sample("msdocs/senditem-response-success.envelope.xml") else {
        return;
    };
    // Act
    let envelope = ResponseEnvelope::parse(&doc).expect("parses");
    // Assert
    let info = envelope
        .server_version_info
        .as_ref()
        .expect("ServerVersionInfo");
    assert_eq!(build(info), [Some(8), Some(0), Some(602), Some(0)]);
    let response = envelope.response().expect("not a fault");
    assert_eq!(response.operation, "SendItem");
    assert_eq!(response.response_messages.len(), 1);
    let m = &response.response_messages[0];
    assert_eq!(m.response_class, ResponseClass::Success);
    assert_eq!(m.response_code, Some(ResponseCode::NoError));
    assert_eq!(m.message_text, None);
}

#[test]
fn reference_page_malformed_id_response_parses_to_its_values() {
    let files = [
        "msdocs/senditem-response-error-idmalformed.envelope.xml",
        "msdocs/senditem-response-error-idmalformed.body.xml",
    ];
    let Some(docs) = common::samples(files) else {
        return;
    };
    for (file, doc) in files.into_iter().zip(docs) {
        let envelope = ResponseEnvelope::parse(&doc).expect(file);
        let m = &envelope.response().expect("not a fault").response_messages[0];
        assert_eq!(m.response_class, ResponseClass::Error, "{file}");
        assert_eq!(
            m.response_code,
            Some(ResponseCode::ErrorInvalidIdMalformed),
            "{file}"
        );
        assert_eq!(
            m.message_text.as_deref(),
            Some("Id is malformed."),
            "{file}"
        );
        assert_eq!(m.descriptive_link_key, Some(0), "{file}");
    }
}

#[test]
fn delegate_response_from_exchange_2013_parses_its_version_header() {
    // The envelope uses the https:// SOAP namespace of the published sample, so only the body
    // parses as EWS; the header is read from the body sample's sibling envelope by hand.
    let Some([body, published]) = common::samples([
        "msdocs-howto/delegate-senditem-response.body.xml",
        "msdocs-howto/delegate-senditem-response.envelope.xml",
    ]) else {
        return;
    };
    let envelope = ResponseEnvelope::parse(&body).expect("parses");
    let m = &envelope.response().expect("response").response_messages[0];
    assert_eq!(
        (m.response_class, m.response_code),
        (ResponseClass::Success, Some(ResponseCode::NoError))
    );

    let err = ResponseEnvelope::parse(&published).expect_err("https:// is not the SOAP namespace");
    assert!(
        err.to_string()
            .contains("https://schemas.xmlsoap.org/soap/envelope/"),
        "{err}"
    );
    let info = ResponseEnvelope::parse(http_soap(published).as_bytes())
        .unwrap()
        .server_version_info
        .unwrap();
    assert_eq!(build(&info), [Some(15), Some(0), Some(893), Some(17)]);
    assert_eq!(info.version.as_deref(), Some("V2_10"));
}

#[test]
fn reference_page_requests_parse_to_their_values() {
    let send = |id: &str, change_key: &str| {
        Request::SendItem(SendItem::new([ItemId::new(id).with_change_key(change_key)]))
    };
    let Some([envelope, bad]) = common::samples([
        "msdocs/senditem-request.envelope.xml",
        "msdocs/senditem-request-invalid-id.body.xml",
    ]) else {
        return;
    };
    assert_eq!(
        RequestEnvelope::parse(&envelope).expect("parses").body,
        send("AAAtAEF=", "CQAAABY+T")
    );
    assert_eq!(parse_request_body(&bad), send("%BadItemId%", "CQAAABYAAA"));
}

#[test]
fn delegate_request_names_the_principals_sent_items() {
    let Some(doc) = common::sample("msdocs-howto/delegate-senditem-request.body.xml") else {
        return;
    };
    let request = parse_request_body(&doc);
    let Request::SendItem(send) = request else {
        panic!("not SendItem: {request:?}")
    };
    assert!(send.save_item_to_folder);
    assert_eq!(
        send.item_ids,
        vec![BaseItemId::ItemId(
            ItemId::new("iNRaAAA=").with_change_key("CQAAABYAAADOilbYa8KaT7ZgMoTz2P+hAAABiQPU")
        )]
    );
    let Some(TargetFolderId::DistinguishedFolderId(folder)) = send.saved_item_folder_id else {
        panic!("expected a DistinguishedFolderId")
    };
    assert_eq!(folder.id, DistinguishedFolderName::SentItems);
    assert_eq!(
        folder.mailbox.and_then(|m| m.email_address).as_deref(),
        Some("primary@contoso.com")
    );
}

#[test]
fn delegate_request_envelope_keeps_its_published_defects_visible() {
    let Some(published) = common::sample("msdocs-howto/delegate-senditem-request.envelope.xml")
    else {
        return;
    };
    // Defect 1: the https:// SOAP namespace.
    let err = RequestEnvelope::parse(&published).expect_err("https:// SOAP namespace");
    assert!(matches!(err, XmlError::Shape { line: 2, .. }), "{err}");
    // Defect 2: Version=" Exchange2007_SP1" with a leading space is not an ExchangeVersionType.
    let err = RequestEnvelope::parse(http_soap(published).as_bytes()).expect_err("bad Version");
    assert!(err.to_string().contains("\" Exchange2007_SP1\""), "{err}");
}

#[test]
fn every_shared_sample_parses_into_the_typed_model() {
    common::check_samples(12, |name, bytes| {
        let is_response = name.contains("response") || name.contains("error");
        let uses_https_soap =
            String::from_utf8_lossy(bytes).contains("https://schemas.xmlsoap.org");
        match (name.ends_with(".body.xml"), is_response) {
            (true, true) => {
                ResponseEnvelope::parse(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
            }
            (true, false) => {
                parse_request_body(bytes);
            }
            (false, true) if !uses_https_soap => {
                ResponseEnvelope::parse(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
            }
            (false, false) if !uses_https_soap => {
                RequestEnvelope::parse(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
            }
            _ => return false,
        }
        true
    });
}

#[test]
fn message_xml_of_a_delete_error_is_kept() {
    let Some(doc) =
        common::sample("exchangelib-related/deleteitem-error-with-messagexml.envelope.xml")
    else {
        return;
    };
    let envelope = ResponseEnvelope::parse(&doc).unwrap();
    let response = envelope.response().unwrap();
    assert_eq!(response.operation, "DeleteItem");
    let m = &response.response_messages[0];
    assert_eq!(
        m.response_code,
        Some(ResponseCode::ErrorInternalServerError)
    );
    let values: Vec<(String, String)> = m
        .message_xml
        .as_ref()
        .expect("MessageXml")
        .elements()
        .map(|v| (v.attr("Name").unwrap().to_owned(), v.text()))
        .collect();
    assert_eq!(
        values[1],
        (
            "InnerErrorResponseCode".into(),
            "ErrorQuotaExceededOnDelete".into()
        )
    );
    assert_eq!(values.len(), 3);
}

#[test]
fn parsing_goes_by_namespace_not_prefix() {
    let prefixed = br#"<x:SendItem xmlns:x="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:y="http://schemas.microsoft.com/exchange/services/2006/types" SaveItemToFolder="1"><x:ItemIds><y:ItemId Id="A"/></x:ItemIds></x:SendItem>"#;
    let defaulted = br#"<SendItem xmlns="http://schemas.microsoft.com/exchange/services/2006/messages" SaveItemToFolder="true"><ItemIds><ItemId xmlns="http://schemas.microsoft.com/exchange/services/2006/types" Id="A"/></ItemIds></SendItem>"#;
    assert_eq!(parse_request_body(prefixed), parse_request_body(defaulted));

    // The right local names in the wrong namespace are not EWS.
    let wrong =
        br#"<m:SendItem xmlns:m="urn:not-ews" SaveItemToFolder="true"><m:ItemIds/></m:SendItem>"#;
    let err = Request::from_xml(&Element::parse(wrong).unwrap()).unwrap_err();
    assert!(
        err.to_string()
            .contains("not in the EWS messages namespace"),
        "{err}"
    );
}

#[test]
fn booleans_accept_the_four_xs_boolean_spellings_only() {
    for (text, expected) in [("true", true), ("1", true), ("false", false), ("0", false)] {
        let doc = format!(
            r#"<SendItem xmlns="http://schemas.microsoft.com/exchange/services/2006/messages" SaveItemToFolder="{text}"><ItemIds/></SendItem>"#
        );
        let Request::SendItem(send) = parse_request_body(doc.as_bytes()) else {
            unreachable!()
        };
        assert_eq!(send.save_item_to_folder, expected, "{text}");
    }
    let doc = br#"<SendItem xmlns="http://schemas.microsoft.com/exchange/services/2006/messages" SaveItemToFolder="True"><ItemIds/></SendItem>"#;
    let err = Request::from_xml(&Element::parse(doc).unwrap()).unwrap_err();
    assert!(err.to_string().contains("SaveItemToFolder"), "{err}");
}

#[test]
fn unknown_elements_are_tolerated_where_the_schema_allows_them() {
    // Other SOAP headers, and properties of items the model does not read.
    let doc = br#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages">
<s:Header><t:ServerVersionInfo MajorVersion="15"/><x:Trace xmlns:x="urn:other">1</x:Trace></s:Header>
<s:Body><m:FindItemResponse><m:ResponseMessages><m:FindItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>
<m:RootFolder TotalItemsInView="1" IncludesLastItemInRange="true"><t:Items><t:Message><t:ItemId Id="A" ChangeKey="B"/><t:Subject>hello</t:Subject><t:Sensitivity>Normal</t:Sensitivity><t:Size>1024</t:Size></t:Message></t:Items></m:RootFolder>
</m:FindItemResponseMessage></m:ResponseMessages></m:FindItemResponse></s:Body></s:Envelope>"#;
    let envelope = ResponseEnvelope::parse(doc).expect("parses");
    let root = envelope.response().unwrap().response_messages[0]
        .root_folder
        .as_ref()
        .unwrap();
    assert_eq!(root.total_items_in_view, Some(1));
    assert_eq!(root.items[0].subject.as_deref(), Some("hello"));
    assert_eq!(
        root.items[0].item_id,
        Some(ItemId::new("A").with_change_key("B"))
    );
}

#[test]
fn soap_fault_code_is_resolved_through_its_prefix() {
    let doc = br#"<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>
<faultcode xmlns:a="http://schemas.microsoft.com/exchange/services/2006/types">a:ErrorSchemaValidation</faultcode>
<faultstring xml:lang="en-US">The request failed schema validation: The required attribute 'SaveItemToFolder' is missing.</faultstring>
<detail><e:ResponseCode xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">ErrorSchemaValidation</e:ResponseCode>
<e:Message xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">The request failed schema validation.</e:Message>
<t:MessageXml xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><t:LineNumber>2</t:LineNumber><t:LinePosition>630</t:LinePosition><t:Violation>The required attribute 'SaveItemToFolder' is missing.</t:Violation></t:MessageXml>
</detail></s:Fault></s:Body></s:Envelope>"#;
    let envelope = ResponseEnvelope::parse(doc).expect("parses");
    let fault = envelope.fault().expect("a fault");
    assert_eq!(
        fault.fault_code.namespace.as_deref(),
        Some(ewsconf::ews::TYPES_NS)
    );
    assert_eq!(fault.fault_code.name, "ErrorSchemaValidation");
    assert_eq!(
        fault.response_code(),
        Some(ResponseCode::ErrorSchemaValidation)
    );
    let detail = fault.detail.as_ref().unwrap();
    assert_eq!(
        (detail.line_number, detail.line_position),
        (Some(2), Some(630))
    );
    assert!(
        detail
            .violation
            .as_deref()
            .unwrap()
            .contains("SaveItemToFolder")
    );

    // The same fault survives the model's own writer.
    let again = ResponseEnvelope::parse(envelope.to_xml().as_bytes()).unwrap();
    assert_eq!(again.fault(), Some(fault));
}

#[test]
fn shape_errors_point_at_the_element() {
    let doc = b"<SendItem xmlns=\"http://schemas.microsoft.com/exchange/services/2006/messages\"\n  SaveItemToFolder=\"true\">\n  <ItemIds>\n    <ItemId xmlns=\"http://schemas.microsoft.com/exchange/services/2006/types\"/>\n  </ItemIds>\n</SendItem>";
    let root = Element::parse(doc).unwrap();
    let err = Request::from_xml(&root).unwrap_err().located_in(&root);
    let XmlError::Shape {
        line,
        column,
        path,
        message,
    } = err
    else {
        panic!("{err:?}")
    };
    assert_eq!((line, column), (4, 5));
    assert_eq!(path, "SendItem/ItemIds/ItemId");
    assert!(message.contains("`Id`"), "{message}");
}

/// Reading a whole envelope names the path from its root to the element that is wrong, in a
/// request as the mock reads it and in a response as the harness reads it.
#[test]
fn envelope_errors_name_the_path_from_the_root() {
    let request = b"<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" \
        xmlns:m=\"http://schemas.microsoft.com/exchange/services/2006/messages\"><s:Body>\
        <m:SendItem SaveItemToFolder=\"maybe\"><m:ItemIds/></m:SendItem></s:Body></s:Envelope>";
    let response = b"<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" \
        xmlns:m=\"http://schemas.microsoft.com/exchange/services/2006/messages\"><s:Body>\
        <m:SendItemResponse><m:ResponseMessages>\
        <m:SendItemResponseMessage ResponseClass=\"Sometimes\"/>\
        </m:ResponseMessages></m:SendItemResponse></s:Body></s:Envelope>";
    for (err, expected) in [
        (
            RequestEnvelope::parse(request).unwrap_err(),
            "Envelope/Body/SendItem",
        ),
        (
            ResponseEnvelope::parse(response).unwrap_err(),
            "Envelope/Body/SendItemResponse/ResponseMessages/SendItemResponseMessage",
        ),
    ] {
        let XmlError::Shape { path, message, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(path, expected, "{message}");
        assert!(err.to_string().contains(expected), "{err}");
    }
}

#[test]
fn hostile_documents_are_refused_by_the_reader() {
    let doctype = b"<?xml version=\"1.0\"?>\n<!DOCTYPE x [<!ENTITY a \"b\">]><x>&a;</x>";
    assert!(matches!(
        Element::parse(doctype),
        Err(XmlError::Doctype { line: 2, .. })
    ));
    let undeclared = b"<x>&a;</x>";
    assert!(matches!(
        Element::parse(undeclared),
        Err(XmlError::Syntax { .. })
    ));
    let deep = format!("{}{}", "<a>".repeat(100_000), "</a>".repeat(100_000));
    assert!(matches!(
        Element::parse(deep.as_bytes()),
        Err(XmlError::TooDeep { .. })
    ));
    let truncated = b"<m:SendItem xmlns:m=\"urn:x\"><m:ItemIds>";
    assert!(matches!(
        Element::parse(truncated),
        Err(XmlError::Syntax { .. })
    ));
    let bad_utf8 = b"<x>\xff\xfe</x>";
    assert!(matches!(
        Element::parse(bad_utf8),
        Err(XmlError::Syntax { .. })
    ));
    let undeclared_prefix = b"<q:x/>";
    let err = Element::parse(undeclared_prefix).unwrap_err();
    assert!(
        err.to_string().contains("undeclared namespace prefix `q`"),
        "{err}"
    );
}

#[test]
fn exchange_version_spellings_match_the_schema() {
    assert_eq!(
        ExchangeVersion::Exchange2007Sp1.as_str(),
        "Exchange2007_SP1"
    );
    assert_eq!(" Exchange2007_SP1".parse::<ExchangeVersion>().ok(), None);
    assert_eq!(ExchangeVersion::EXCHANGE_2010_SP2.len(), 5);
    assert_eq!(DistinguishedFolderName::EXCHANGE_2010_SP2.len(), 27);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn every_request_survives_write_then_parse(envelope in wire::arb_request_envelope(SchemaEra::Current)) {
        let xml = envelope.to_xml();
        let parsed = RequestEnvelope::parse(xml.as_bytes());
        prop_assert_eq!(parsed.as_ref(), Ok(&envelope), "{}", xml);
    }

    #[test]
    fn every_response_survives_write_then_parse(envelope in wire::arb_response_envelope(SchemaEra::Current)) {
        let xml = envelope.to_xml();
        let parsed = ResponseEnvelope::parse(xml.as_bytes());
        prop_assert_eq!(parsed.as_ref(), Ok(&envelope), "{}", xml);
    }
}
