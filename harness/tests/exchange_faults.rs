//! The mock's `documented` profile answers on the SOAP level as Exchange Server SE is observed
//! to (issue 16, points 4, 5, 6, 8, 11 and 12), and the harness reads Exchange's faults and
//! version gates cases by the server's version. Every mock test drives it over loopback HTTP.

mod common;

use common::{BOSS, CAROL, Mock};
use ewsconf::Verdict;
use ewsconf::ews::{
    DistinguishedFolderName as Folder, Element, ItemId, ResponseCode, ResponseEnvelope,
    ServerVersionInfo,
};
use ewsconf::mock::{MockConfig, Profile};
use ewsconf::schema::SchemaSet;
use ewsconf::target::Auth;

const SOAP: &str = "http://schemas.xmlsoap.org/soap/envelope/";
const TYPES: &str = "http://schemas.microsoft.com/exchange/services/2006/types";
const ERRORS: &str = "http://schemas.microsoft.com/exchange/services/2006/errors";
const XML: &str = "http://www.w3.org/XML/1998/namespace";

/// A schema fault written from the facts of issue 16 point 11: HTTP 500 with no Header,
/// `faultcode` `a:` bound to the types namespace, `faultstring` with `xml:lang`, and the detail
/// in the errors namespace with `t:MessageXml`.
const SCHEMA_FAULT: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">
  <s:Body>
    <s:Fault>
      <faultcode xmlns:a="http://schemas.microsoft.com/exchange/services/2006/types">a:ErrorSchemaValidation</faultcode>
      <faultstring xml:lang="en-US">The request failed schema validation: The element 'SendItem' has invalid child element 'Bogus'.</faultstring>
      <detail>
        <e:ResponseCode xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">ErrorSchemaValidation</e:ResponseCode>
        <e:Message xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">The request failed schema validation.</e:Message>
        <t:MessageXml xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">
          <t:LineNumber>7</t:LineNumber>
          <t:LinePosition>12</t:LinePosition>
          <t:Violation>The element 'SendItem' has invalid child element 'Bogus'.</t:Violation>
        </t:MessageXml>
      </detail>
    </s:Fault>
  </s:Body>
</s:Envelope>"#;

/// ErrorServerBusy from Exchange Online: a WCF `Action` header that must be understood, and
/// `BackOffMilliseconds` in `t:MessageXml`.
const BUSY_FAULT: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">
  <s:Header>
    <Action s:mustUnderstand="1" xmlns="http://schemas.microsoft.com/ws/2005/05/addressing/none">*</Action>
  </s:Header>
  <s:Body>
    <s:Fault>
      <faultcode xmlns:a="http://schemas.microsoft.com/exchange/services/2006/types">a:ErrorServerBusy</faultcode>
      <faultstring xml:lang="en-US">The server cannot service this request right now. Try again later.</faultstring>
      <detail>
        <e:ResponseCode xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">ErrorServerBusy</e:ResponseCode>
        <e:Message xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">The server cannot service this request right now. Try again later.</e:Message>
        <t:MessageXml xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">
          <t:Value Name="BackOffMilliseconds">29714</t:Value>
        </t:MessageXml>
      </detail>
    </s:Fault>
  </s:Body>
</s:Envelope>"#;

/// `xml`, checked schema-valid against the project's schemas, parsed.
fn valid_envelope(xml: &str) -> ResponseEnvelope {
    let schemas = SchemaSet::embedded().unwrap();
    let validation = schemas.validate(xml.as_bytes());
    assert!(validation.errors.is_empty(), "{:?}", validation.errors);
    ResponseEnvelope::parse(xml.as_bytes()).expect("parses")
}

#[test]
fn a_schema_fault_in_exchanges_shape_is_read_field_by_field() {
    let envelope = valid_envelope(SCHEMA_FAULT);
    assert_eq!(envelope.server_version_info, None);
    let fault = envelope.fault().expect("a fault");
    assert_eq!(fault.fault_code.namespace.as_deref(), Some(TYPES));
    assert_eq!(fault.fault_code.name, "ErrorSchemaValidation");
    assert!(
        fault
            .fault_string
            .starts_with("The request failed schema validation: ")
    );
    assert_eq!(fault.fault_string_lang.as_deref(), Some("en-US"));
    assert_eq!(
        fault.response_code(),
        Some(ResponseCode::ErrorSchemaValidation)
    );
    let detail = fault.detail.as_ref().expect("a detail");
    assert_eq!(
        detail.response_code,
        Some(ResponseCode::ErrorSchemaValidation)
    );
    assert_eq!(
        detail.message.as_deref(),
        Some("The request failed schema validation.")
    );
    assert_eq!(detail.line_number, Some(7));
    assert_eq!(detail.line_position, Some(12));
    assert_eq!(
        detail.violation.as_deref(),
        Some("The element 'SendItem' has invalid child element 'Bogus'.")
    );
    assert!(detail.values.is_empty());
}

#[test]
fn a_busy_fault_from_exchange_online_is_read_with_its_back_off_and_action_header() {
    let envelope = valid_envelope(BUSY_FAULT);
    assert_eq!(
        envelope.server_version_info, None,
        "Action is not a version"
    );
    let fault = envelope.fault().expect("a fault");
    assert_eq!(fault.response_code(), Some(ResponseCode::ErrorServerBusy));
    assert_eq!(fault.fault_string_lang.as_deref(), Some("en-US"));
    let detail = fault.detail.as_ref().expect("a detail");
    assert_eq!(detail.value("BackOffMilliseconds"), Some("29714"));
    assert_eq!(
        detail.back_off(),
        Some(std::time::Duration::from_millis(29714))
    );
    assert_eq!(detail.line_number, None);

    // Written back out, it reads the same.
    let again = ResponseEnvelope::parse(envelope.to_xml().as_bytes()).expect("reparses");
    assert_eq!(again, envelope);
}

/// Exchange's fault shapes break none of the judge's global rules: the missing Header, the
/// `a:` fault code, `xml:lang`, `t:MessageXml` and Exchange Online's `Action` header are all
/// schema-valid and count as the SOAP Fault a 500 must carry, whatever the ItemIds.
#[test]
fn exchanges_fault_shapes_are_no_protocol_failure() {
    let schemas = SchemaSet::embedded().unwrap();
    for (name, body) in [("schema", SCHEMA_FAULT), ("busy", BUSY_FAULT)] {
        let observed = ewsconf::judge::Observed::answer(500, body.as_bytes(), schemas, Some(2));
        assert!(observed.envelope.is_ok(), "{name}: {:?}", observed.envelope);
        let findings = ewsconf::judge::protocol_findings(&observed);
        assert!(findings.is_empty(), "{name}: {findings:?}");
    }
    // The same body with its Fault taken out is one.
    let no_fault = BUSY_FAULT.replace("s:Fault", "s:NotAFault");
    let observed = ewsconf::judge::Observed::answer(500, no_fault.as_bytes(), schemas, Some(2));
    assert!(!ewsconf::judge::protocol_findings(&observed).is_empty());
}

const ENVELOPE: &str = r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">HEADER<soap:Body>BODY</soap:Body></soap:Envelope>"#;

fn version_header(version: &str) -> String {
    format!(r#"<soap:Header><t:RequestServerVersion Version="{version}"/></soap:Header>"#)
}

fn send_item(id: &ItemId, extra: &str) -> String {
    format!(
        r#"<m:SendItem SaveItemToFolder="true"><m:ItemIds><t:ItemId Id="{}" ChangeKey="{}"/></m:ItemIds>{extra}</m:SendItem>"#,
        id.id,
        id.change_key.as_deref().unwrap_or_default()
    )
}

fn envelope(header: &str, body: &str) -> String {
    ENVELOPE.replace("HEADER", header).replace("BODY", body)
}

/// POSTs `body` as BOSS and returns the status and the parsed answer.
async fn post(mock: &Mock, body: &str) -> (u16, Vec<u8>, ResponseEnvelope) {
    let (status, answer) = mock
        .post(
            &Auth::basic(BOSS, common::PASSWORD),
            body.as_bytes().to_vec(),
            "text/xml; charset=utf-8",
            None,
        )
        .await;
    let envelope = ResponseEnvelope::parse(&answer)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&answer)));
    (status, answer, envelope)
}

fn code(envelope: &ResponseEnvelope) -> Option<ResponseCode> {
    envelope.fault().and_then(|f| f.response_code())
}

/// Checks that `body` is a fault exactly in Exchange's shape, read as a tree, not through the
/// harness's own model.
fn assert_exchange_shape(body: &[u8], code: ResponseCode) {
    let text = String::from_utf8_lossy(body);
    let root = Element::parse(body).expect("well-formed");
    assert!(root.is(SOAP, "Envelope"), "{text}");
    assert!(
        root.child(SOAP, "Header").is_none(),
        "a Header on a fault: {text}"
    );
    let fault = root
        .child(SOAP, "Body")
        .and_then(|b| b.child(SOAP, "Fault"))
        .expect("a soap:Fault");
    let plain = |name: &str| {
        fault
            .elements()
            .find(|e| e.namespace.is_none() && e.name == name)
            .unwrap_or_else(|| panic!("no {name}: {text}"))
    };
    let faultcode = plain("faultcode");
    assert_eq!(faultcode.text(), format!("a:{}", code.as_str()), "{text}");
    assert!(
        faultcode
            .namespace_declarations
            .iter()
            .any(|(p, uri)| p == "a" && uri == TYPES),
        "xmlns:a is not the types namespace: {text}"
    );
    let faultstring = plain("faultstring");
    assert!(
        faultstring
            .attributes
            .iter()
            .any(|a| a.namespace.as_deref() == Some(XML) && a.name == "lang" && a.value == "en-US"),
        "faultstring without xml:lang: {text}"
    );
    let detail = plain("detail");
    assert_eq!(
        detail.child_text(ERRORS, "ResponseCode").as_deref(),
        Some(code.as_str()),
        "{text}"
    );
    assert!(detail.child_text(ERRORS, "Message").is_some(), "{text}");
}

#[tokio::test]
async fn the_documented_mock_writes_faults_as_exchange_does() {
    let mock = Mock::start(Profile::Documented).await;
    let id = mock.draft(BOSS, BOSS, "shape1 draft", &[CAROL]).await;
    // A schema fault carries where and what in t:MessageXml.
    let bad = envelope("", &send_item(&id, "<m:Bogus/>"));
    let (status, body, parsed) = post(&mock, &bad).await;
    assert_eq!(status, 500);
    assert_exchange_shape(&body, ResponseCode::ErrorSchemaValidation);
    let detail = parsed.fault().and_then(|f| f.detail.clone()).unwrap();
    assert_eq!(detail.line_number, Some(1));
    assert!(detail.line_position.is_some_and(|p| p > 0));
    assert!(detail.violation.is_some_and(|v| v.contains("Bogus")));
    // Other faults have the same frame.
    let unknown = envelope("", "<m:LaunchRocket/>");
    let (status, body, _) = post(&mock, &unknown).await;
    assert_eq!(status, 500);
    assert_exchange_shape(&body, ResponseCode::ErrorInvalidRequest);
    // Nothing was sent.
    assert_eq!(mock.count(BOSS, Folder::Drafts, "shape1").await, 1);
    assert_eq!(mock.count(CAROL, Folder::Inbox, "shape1").await, 0);
}

fn build(info: &ServerVersionInfo) -> [Option<i32>; 4] {
    [
        info.major_version,
        info.minor_version,
        info.major_build_number,
        info.minor_build_number,
    ]
}

#[tokio::test]
async fn the_documented_mock_reports_itself_as_exchange_server_se() {
    for (profile, minor) in [(Profile::Documented, 2), (Profile::Intended, 1)] {
        let mock = Mock::start(profile).await;
        let id = mock.draft(BOSS, BOSS, "se1 draft", &[CAROL]).await;
        let (status, _, parsed) = post(&mock, &envelope("", &send_item(&id, ""))).await;
        assert_eq!(status, 200, "{profile}");
        let info = parsed.server_version_info.expect("ServerVersionInfo");
        assert_eq!(info.major_version, Some(15), "{profile}");
        assert_eq!(info.minor_version, Some(minor), "{profile}");
        assert!(
            build(&info).iter().all(Option::is_some),
            "{profile}: {info}"
        );
        assert_eq!(info.version.as_deref(), Some("V2017_07_11"), "{profile}");
    }
}

#[tokio::test]
async fn versions_exchange_se_does_not_serve_get_error_invalid_request() {
    use ResponseCode::{ErrorInvalidRequest, ErrorInvalidServerVersion};
    for (profile, expected) in by_profile(ErrorInvalidRequest, ErrorInvalidServerVersion) {
        let mock = Mock::start(profile).await;
        for version in ["Exchange2099", " Exchange2007_SP1", "V2018_01_08"] {
            let marker = format!("ver-{profile}-{}", version.trim());
            let id = mock.draft(BOSS, BOSS, &marker, &[CAROL]).await;
            let body = envelope(&version_header(version), &send_item(&id, ""));
            let (status, raw, parsed) = post(&mock, &body).await;
            assert_eq!(status, 500, "{profile} {version:?}");
            assert_eq!(code(&parsed), Some(expected), "{profile} {version:?}");
            assert_exchange_shape(&raw, expected);
            if profile == Profile::Documented {
                let fault = parsed.fault().unwrap();
                assert_eq!(fault.fault_string, "The request is invalid.");
            }
            assert_eq!(mock.count(BOSS, Folder::Drafts, &marker).await, 1);
            assert_eq!(mock.count(CAROL, Folder::Inbox, &marker).await, 0);
        }
        // The versions it serves send.
        for version in ["Exchange2007_SP1", "Exchange2013", "V2017_07_11"] {
            let marker = format!("served-{profile}-{version}");
            let id = mock.draft(BOSS, BOSS, &marker, &[CAROL]).await;
            let body = envelope(&version_header(version), &send_item(&id, ""));
            let (status, _, parsed) = post(&mock, &body).await;
            assert_eq!(status, 200, "{profile} {version}");
            assert!(parsed.response().is_some(), "{profile} {version}");
            assert_eq!(mock.count(CAROL, Folder::Inbox, &marker).await, 1);
        }
    }
}

fn impersonating(sid: &str) -> String {
    format!(
        "<soap:Header><t:ExchangeImpersonation><t:ConnectingSID><t:SID>{sid}</t:SID></t:ConnectingSID></t:ExchangeImpersonation></soap:Header>"
    )
}

#[tokio::test]
async fn impersonation_by_a_bad_sid_gets_error_invalid_user_sid() {
    for (profile, malformed, unknown) in [
        (
            Profile::Documented,
            ResponseCode::ErrorInvalidUserSid,
            ResponseCode::ErrorInvalidUserSid,
        ),
        (
            Profile::Intended,
            ResponseCode::ErrorInvalidSid,
            ResponseCode::ErrorNonExistentMailbox,
        ),
    ] {
        let mock = Mock::start(profile).await;
        let id = mock.draft(BOSS, BOSS, "sid1 draft", &[CAROL]).await;
        for (sid, expected) in [("not-a-sid", malformed), ("S-1-5-21-1-2-3-987654", unknown)] {
            let body = envelope(&impersonating(sid), &send_item(&id, ""));
            let (status, raw) = mock
                .post(
                    &Auth::basic("svc@example.com", common::PASSWORD),
                    body.into_bytes(),
                    "text/xml",
                    None,
                )
                .await;
            let parsed = ResponseEnvelope::parse(&raw).expect("an envelope");
            assert_eq!(status, 500, "{profile} {sid}");
            assert_eq!(code(&parsed), Some(expected), "{profile} {sid}");
            assert_exchange_shape(&raw, expected);
        }
        assert_eq!(mock.count(BOSS, Folder::Drafts, "sid1").await, 1);
        assert_eq!(mock.count(CAROL, Folder::Inbox, "sid1").await, 0);
    }
}

#[tokio::test]
async fn an_operation_exchange_does_not_know_gets_error_invalid_request() {
    use ResponseCode::{ErrorInvalidRequest, ErrorSchemaValidation};
    for (profile, foreign) in by_profile(ErrorInvalidRequest, ErrorSchemaValidation) {
        let mock = Mock::start(profile).await;
        let id = mock.draft(BOSS, BOSS, "op1 draft", &[CAROL]).await;
        let outside = format!(
            r#"<SendItem xmlns="urn:not-ews" SaveItemToFolder="true"><ItemIds><t:ItemId Id="{}" ChangeKey="{}"/></ItemIds></SendItem>"#,
            id.id,
            id.change_key.as_deref().unwrap_or_default()
        );
        let (status, _, parsed) = post(&mock, &envelope("", &outside)).await;
        assert_eq!((status, code(&parsed)), (500, Some(foreign)), "{profile}");
        let unknown = send_item(&id, "").replace("SendItem", "SendItems");
        let (status, _, parsed) = post(&mock, &envelope("", &unknown)).await;
        assert_eq!(
            (status, code(&parsed)),
            (500, Some(ResponseCode::ErrorInvalidRequest)),
            "{profile}"
        );
        assert_eq!(mock.count(CAROL, Folder::Inbox, "op1").await, 0);
    }
}

#[tokio::test]
async fn exchange_validates_only_requests_for_exchange2013_or_older() {
    let mock = Mock::start(Profile::Documented).await;
    // An element SendItem does not have, which the reader passes over.
    let bogus = "<m:Bogus/>";
    for (header, validated) in [
        (String::new(), true),
        (version_header("Exchange2010_SP2"), true),
        (version_header("Exchange2013"), true),
        (version_header("Exchange2013_SP1"), false),
        (version_header("Exchange2016"), false),
        (version_header("V2017_07_11"), false),
    ] {
        let marker = format!("val-{}", header.len());
        let id = mock.draft(BOSS, BOSS, &marker, &[CAROL]).await;
        let (status, _, parsed) = post(&mock, &envelope(&header, &send_item(&id, bogus))).await;
        if validated {
            assert_eq!(status, 500, "{header}");
            assert_eq!(code(&parsed), Some(ResponseCode::ErrorSchemaValidation));
            assert_eq!(mock.count(CAROL, Folder::Inbox, &marker).await, 0);
        } else {
            // Not validated: executed as read.
            assert_eq!(status, 200, "{header}");
            assert!(parsed.response().is_some(), "{header}");
            assert_eq!(mock.count(CAROL, Folder::Inbox, &marker).await, 1);
        }
    }
    // Not validated, and not readable (SaveItemToFolder is missing): an internal error.
    let id = mock.draft(BOSS, BOSS, "val-unreadable", &[CAROL]).await;
    let unreadable = send_item(&id, "").replace(r#" SaveItemToFolder="true""#, "");
    let (status, raw, parsed) = post(
        &mock,
        &envelope(&version_header("V2017_07_11"), &unreadable),
    )
    .await;
    assert_eq!(status, 500);
    assert_eq!(code(&parsed), Some(ResponseCode::ErrorInternalServerError));
    assert_exchange_shape(&raw, ResponseCode::ErrorInternalServerError);
    assert_eq!(mock.count(CAROL, Folder::Inbox, "val-unreadable").await, 0);

    // The intended profile validates every request.
    let mock = Mock::start(Profile::Intended).await;
    let id = mock.draft(BOSS, BOSS, "val-intended", &[CAROL]).await;
    let body = envelope(&version_header("V2017_07_11"), &send_item(&id, bogus));
    let (status, _, parsed) = post(&mock, &body).await;
    assert_eq!(
        (status, code(&parsed)),
        (500, Some(ResponseCode::ErrorSchemaValidation))
    );
}

/// A case gated by `server_versions` is `skip` on another version, with the version read from
/// the server; on its own version it runs.
#[tokio::test]
async fn a_case_gated_to_other_server_versions_is_skipped_with_the_version_read() {
    let online = common::suite()
        .into_iter()
        .filter(|c| c.id.starts_with("versions/v2018-01-08"))
        .collect::<Vec<_>>();
    assert_eq!(online.len(), 2);
    let summary =
        common::run_embedded(MockConfig::with_profile(Profile::Documented), &online, 2).await;
    let by_id = |id: &str| {
        summary
            .outcomes
            .iter()
            .find(|o| o.id == id)
            .unwrap_or_else(|| panic!("{id} ran"))
    };
    let skipped = by_id("versions/v2018-01-08");
    assert_eq!(skipped.verdict, Verdict::Skip);
    let reason = skipped.reason.as_deref().unwrap_or_default();
    assert!(reason.contains("exchange-online"), "{reason}");
    assert!(reason.contains("15.2.2562.17 (V2017_07_11)"), "{reason}");
    // Exchange SE's own case runs, and earns the quirk Exchange is observed to answer with.
    assert_eq!(
        by_id("versions/v2018-01-08-on-premises").verdict,
        Verdict::Quirk
    );
}

#[test]
fn server_versions_name_products_or_version_numbers() {
    let case = |versions: &str| {
        let text = format!(
            r#"id = "x/y"
title = "t"
reference = "r"
section = "MS-OXWSCORE 3.1.4.8"
server_versions = {versions}
[[setup]]
name = "draft"
owner = "principal"
{send}"#,
            send = common::SEND_DRAFT
        );
        ewsconf::case::parse_case(std::path::Path::new("x/y.toml"), &text, "x")
    };
    let info = |major, minor| ServerVersionInfo {
        major_version: Some(major),
        minor_version: Some(minor),
        major_build_number: Some(1),
        minor_build_number: Some(2),
        version: None,
    };
    let se = case(r#"["exchange-se"]"#).unwrap();
    assert_eq!(se.version_skip(Some(&info(15, 2))), None);
    assert!(
        se.version_skip(Some(&info(15, 20))).is_some(),
        "15.20 is not 15.2"
    );
    assert_eq!(se.version_skip(None), None, "an unread version runs");
    let numbers = case(r#"["14", "15.1"]"#).unwrap();
    assert_eq!(numbers.version_skip(Some(&info(14, 3))), None);
    assert_eq!(numbers.version_skip(Some(&info(15, 1))), None);
    assert!(numbers.version_skip(Some(&info(15, 2))).is_some());
    let err = case(r#"["exchange-2099"]"#).unwrap_err().to_string();
    assert!(err.contains("exchange-se"), "{err}");
    // Written back, the gate survives.
    let written = se.to_toml();
    assert!(
        written.contains("server_versions = [\"exchange-se\"]"),
        "{written}"
    );
}

/// `documented` for the documented profile and `intended` for the intended one.
fn by_profile<T>(documented: T, intended: T) -> [(Profile, T); 2] {
    [
        (Profile::Documented, documented),
        (Profile::Intended, intended),
    ]
}

#[tokio::test]
async fn an_ews_operation_the_mock_lacks_gets_invalid_request_naming_it_not_a_schema_fault() {
    // ResolveNames is an EWS operation (valid under Microsoft's schemas) the mock does not
    // implement: the client's request is not to blame.
    let body = envelope(
        &version_header("Exchange2016"),
        "<m:ResolveNames ReturnFullContactData=\"true\">\
         <m:UnresolvedEntry>carol</m:UnresolvedEntry></m:ResolveNames>",
    );
    answers_not_implemented(&body, "ResolveNames").await;
}

/// The element names `NonEmptyArrayOfAllItemsType` offers in the `types.xsd` at `path`.
fn item_choices(path: &std::path::Path) -> Vec<String> {
    const XS: &str = "http://www.w3.org/2001/XMLSchema";
    let text = std::fs::read(path).unwrap();
    let schema = Element::parse(&text).unwrap();
    let array = schema
        .elements()
        .find(|e| e.is(XS, "complexType") && e.attr("name") == Some("NonEmptyArrayOfAllItemsType"))
        .expect("NonEmptyArrayOfAllItemsType");
    let choice = array
        .child(XS, "sequence")
        .and_then(|s| s.child(XS, "choice"))
        .expect("a choice");
    choice
        .elements()
        .filter_map(|e| e.attr("name").map(str::to_owned))
        .collect()
}

#[test]
fn every_ews_item_kind_is_implemented_or_listed_as_not() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let microsoft = item_choices(&shared.join("ews-schemas/Exchange2016-O365-2023/types.xsd"));
    let ours = item_choices(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas/types.xsd"),
    );
    let listed = ewsconf::mock::server::UNIMPLEMENTED_ITEMS;
    for name in &microsoft {
        assert!(
            ours.contains(name) ^ listed.contains(&name.as_str()),
            "{name}: either in the project's schema or listed as not implemented, not both"
        );
    }
    for name in listed {
        assert!(
            microsoft.iter().any(|m| m == name),
            "{name} is not an EWS item kind"
        );
    }
}

#[tokio::test]
async fn an_ews_item_kind_the_mock_lacks_gets_invalid_request_naming_it_not_a_schema_fault() {
    let body = envelope(
        &version_header("Exchange2013"),
        "<m:CreateItem SendMeetingInvitations=\"SendToNone\"><m:Items><t:CalendarItem>\
         <t:Subject>lunch</t:Subject></t:CalendarItem></m:Items></m:CreateItem>",
    );
    answers_not_implemented(&body, "CalendarItem").await;
}

/// Checks that `body` is valid under Microsoft's schemas, and that the mock, under either
/// profile, answers it with Exchange's ErrorInvalidRequest fault naming `what`: valid EWS the
/// mock does not implement is never blamed on the client's schema.
async fn answers_not_implemented(body: &str, what: &str) {
    if let Some(microsoft) = common::official(ewsconf::generate::SchemaEra::Current) {
        let valid = microsoft.validate(body.as_bytes());
        assert!(valid.errors.is_empty(), "{:?}", valid.errors);
    }
    for profile in [Profile::Documented, Profile::Intended] {
        let mock = Mock::start(profile).await;
        let (status, raw, parsed) = post(&mock, body).await;
        assert_eq!(status, 500, "{profile}");
        assert_eq!(
            code(&parsed),
            Some(ResponseCode::ErrorInvalidRequest),
            "{profile}"
        );
        assert_exchange_shape(&raw, ResponseCode::ErrorInvalidRequest);
        let text = &parsed.fault().unwrap().fault_string;
        assert!(text.starts_with("The request is invalid."), "{text}");
        assert!(text.contains(what), "{text}");
    }
}
