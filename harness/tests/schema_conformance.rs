//! The project's schemas and wire model held against Microsoft's official schemas: what the
//! builders produce, what the samples say, and what the probes in `schemas/probes/` expect.

mod common;

use std::path::PathBuf;

use common::official;
use ewsconf::ews::{Element, Request, RequestEnvelope, ResponseCode, ResponseEnvelope};
use ewsconf::generate::{SchemaEra, wire};
use ewsconf::schema::SchemaSet;
use proptest::prelude::*;

fn ours() -> &'static SchemaSet {
    SchemaSet::embedded().expect("the project's schemas compile")
}

fn errors(set: &SchemaSet, doc: &[u8]) -> Vec<String> {
    set.validate(doc)
        .errors
        .iter()
        .map(|e| e.to_string())
        .collect()
}

fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// Fails the property unless ours and the official set of `era`, when present, accept `xml`.
fn accepted(xml: &str, era: SchemaEra) -> Result<(), TestCaseError> {
    prop_assert_eq!(
        errors(ours(), xml.as_bytes()),
        Vec::<String>::new(),
        "{}",
        xml
    );
    if let Some(set) = official(era) {
        prop_assert_eq!(errors(set, xml.as_bytes()), Vec::<String>::new(), "{}", xml);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn every_request_the_builders_produce_validates_against_ours_and_the_newest_official(
        envelope in wire::arb_request_envelope(SchemaEra::Current)
    ) {
        accepted(&envelope.to_xml(), SchemaEra::Current)?;
    }

    #[test]
    fn every_request_the_builders_produce_for_2010_validates_against_2010_sp2(
        envelope in wire::arb_request_envelope(SchemaEra::Exchange2010Sp2)
    ) {
        accepted(&envelope.to_xml(), SchemaEra::Exchange2010Sp2)?;
    }

    #[test]
    fn every_response_the_model_writes_validates_against_ours_and_the_newest_official(
        envelope in wire::arb_response_envelope(SchemaEra::Current)
    ) {
        accepted(&envelope.to_xml(), SchemaEra::Current)?;
    }
}

#[test]
fn every_sample_body_parses_and_validates_against_ours() {
    common::check_samples(14, |name, bytes| {
        let https = String::from_utf8_lossy(bytes).contains("https://schemas.xmlsoap.org");
        let errs = errors(ours(), bytes);
        if name.ends_with(".envelope.xml") && https {
            // The published how-to envelopes use the wrong SOAP namespace; a server rejects them.
            assert!(
                !errs.is_empty(),
                "{name}: the https:// envelope must be rejected"
            );
            return false;
        }
        assert_eq!(errs, Vec::<String>::new(), "{name}");
        let root = Element::parse(bytes).unwrap();
        let is_request = Request::NAMES.iter().any(|n| root.name == *n)
            || root
                .child(ewsconf::ews::SOAP_NS, "Body")
                .and_then(|b| b.elements().next())
                .is_some_and(|c| Request::NAMES.contains(&c.name.as_str()));
        if is_request {
            if root.name == "Envelope" {
                RequestEnvelope::from_element(&root).unwrap_or_else(|e| panic!("{name}: {e}"));
            } else {
                <Request as ewsconf::ews::FromXml>::from_xml(&root)
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
            }
        } else {
            ResponseEnvelope::parse(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        true
    });
}

#[test]
fn valid_probes_are_accepted_by_ours_and_the_official_sets() {
    let dir = repo().join("schemas/probes/valid");
    let probes = common::xml_files(&dir);
    assert!(probes.len() >= 10, "{} valid probes", probes.len());
    for path in probes {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&path).unwrap();
        let first_line = String::from_utf8_lossy(&bytes)
            .lines()
            .next()
            .unwrap_or("")
            .to_owned();
        assert_eq!(
            errors(ours(), &bytes),
            Vec::<String>::new(),
            "ours rejects {name}"
        );
        if let Some(set) = official(SchemaEra::Current) {
            assert_eq!(
                errors(set, &bytes),
                Vec::<String>::new(),
                "O365 rejects {name}"
            );
        }
        if !first_line.contains("O365-only")
            && let Some(set) = official(SchemaEra::Exchange2010Sp2)
        {
            assert_eq!(
                errors(set, &bytes),
                Vec::<String>::new(),
                "2010 SP2 rejects {name}"
            );
        }
    }
}

#[test]
fn documents_the_official_schemas_reject_ours_rejects_too() {
    let dir = repo().join("schemas/probes/invalid");
    let probes = common::xml_files(&dir);
    assert!(
        probes.len() >= 15,
        "at least 15 negative probes, found {}",
        probes.len()
    );
    for path in probes {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&path).unwrap();
        assert!(!errors(ours(), &bytes).is_empty(), "ours accepts {name}");
        for era in [SchemaEra::Current, SchemaEra::Exchange2010Sp2] {
            if let Some(set) = official(era) {
                assert!(
                    !errors(set, &bytes).is_empty(),
                    "{era:?} accepts {name}: the probe proves nothing"
                );
            }
        }
    }
}

fn enumeration(xsd: &str, type_name: &str) -> Vec<String> {
    // Read the schema as XML, not with a pattern: attribute spacing varies in the official files.
    let root = Element::parse(xsd.as_bytes()).expect("schema is XML");
    let xs = "http://www.w3.org/2001/XMLSchema";
    let simple = root
        .elements()
        .find(|e| e.is(xs, "simpleType") && e.attr("name") == Some(type_name))
        .unwrap_or_else(|| panic!("{type_name} not found"));
    simple
        .required_child(xs, "restriction")
        .unwrap()
        .elements()
        .filter(|e| e.is(xs, "enumeration"))
        .map(|e| e.attr("value").unwrap().to_owned())
        .collect()
}

#[test]
fn response_codes_are_complete_in_schema_and_model() {
    let ours_xsd = std::fs::read_to_string(repo().join("schemas/messages.xsd")).unwrap();
    let ours_codes = enumeration(&ours_xsd, "ResponseCodeType");
    let model: Vec<String> = ResponseCode::ALL
        .iter()
        .map(|c| c.as_str().to_owned())
        .collect();
    assert_eq!(ours_codes.len(), 529);
    assert_eq!(
        ours_codes, model,
        "schemas/messages.xsd and ResponseCode disagree"
    );
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let official_xsd =
        std::fs::read_to_string(shared.join("ews-schemas/Exchange2016-O365-2023/messages.xsd"))
            .unwrap();
    assert_eq!(enumeration(&official_xsd, "ResponseCodeType"), ours_codes);
}

#[test]
fn the_project_schema_set_knows_only_the_seven_operations() {
    let xsd = std::fs::read_to_string(repo().join("schemas/messages.xsd")).unwrap();
    let root = Element::parse(xsd.as_bytes()).unwrap();
    let xs = "http://www.w3.org/2001/XMLSchema";
    let mut requests: Vec<&str> = root
        .elements()
        .filter(|e| e.is(xs, "element"))
        .filter_map(|e| e.attr("name"))
        .filter(|n| !n.ends_with("Response"))
        .collect();
    requests.sort();
    let mut expected = Request::NAMES.to_vec();
    expected.sort();
    assert_eq!(requests, expected);
}

/// A SendItem response whose one message carries `code`.
fn response_with_code(code: &str) -> String {
    format!(
        r#"<m:SendItemResponse xmlns:m="{M}"><m:ResponseMessages><m:SendItemResponseMessage ResponseClass="Error"><m:ResponseCode>{code}</m:ResponseCode></m:SendItemResponseMessage></m:ResponseMessages></m:SendItemResponse>"#,
        M = common::M
    )
}

/// A GetFolder request for the distinguished folder `name`.
fn get_folder(name: &str) -> String {
    format!(
        r#"<m:GetFolder xmlns:m="{M}" xmlns:t="{T}"><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="{name}"/></m:FolderIds></m:GetFolder>"#,
        M = common::M,
        T = common::T
    )
}

/// The validator checks long enumerations as one compiled pattern; it must accept exactly the
/// values the schema lists, as the official schemas (checked value by value) do.
#[test]
fn compiled_enumerations_accept_exactly_the_listed_values() {
    let messages = std::fs::read_to_string(repo().join("schemas/messages.xsd")).unwrap();
    let types = std::fs::read_to_string(repo().join("schemas/types.xsd")).unwrap();
    let codes = enumeration(&messages, "ResponseCodeType");
    let folders = enumeration(&types, "DistinguishedFolderIdNameType");
    let near_misses = |values: &[String]| -> Vec<String> {
        let mut out = vec![String::new(), " ".to_owned(), "Error".to_owned()];
        for v in values.iter().step_by(7) {
            out.push(format!("{v}x"));
            out.push(format!(" {v}"));
            out.push(format!("{v} "));
            out.push(v[..v.len() - 1].to_owned());
            out.push(v.to_uppercase());
            out.push(v.to_lowercase());
        }
        out.retain(|m| !values.contains(m));
        out
    };
    let newest = official(SchemaEra::Current);
    let cases = [
        (
            &codes,
            response_with_code as fn(&str) -> String,
            "ResponseCodeType",
        ),
        (
            &folders,
            get_folder as fn(&str) -> String,
            "DistinguishedFolderIdNameType",
        ),
    ];
    for (values, doc, type_name) in cases {
        for value in values.iter() {
            let doc = doc(value);
            assert_eq!(
                errors(ours(), doc.as_bytes()),
                Vec::<String>::new(),
                "{value}"
            );
            if let Some(set) = newest {
                assert_eq!(errors(set, doc.as_bytes()), Vec::<String>::new(), "{value}");
            }
        }
        for miss in near_misses(values) {
            let doc = doc(&miss);
            let ours = errors(ours(), doc.as_bytes());
            assert!(
                ours.iter().any(|e| e.contains(&format!(
                    "[facet 'enumeration'] The value '{miss}' is not one of the {} values of {type_name}.",
                    values.len()
                ))),
                "{miss:?}: {ours:?}"
            );
            assert!(
                ours.iter().all(|e| e.len() < 400),
                "short messages: {ours:?}"
            );
            if let Some(set) = newest {
                assert!(
                    !errors(set, doc.as_bytes()).is_empty(),
                    "official accepts {miss:?}"
                );
            }
        }
    }
}
