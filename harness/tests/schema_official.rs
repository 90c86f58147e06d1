//! The official Exchange schema sets load with `SchemaSet::from_dir`, the published samples
//! validate against them, and schema directory problems come back as clear `SchemaError`s.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{M, SOAP};
use ewsconf::schema::{SchemaError, SchemaSet, XmlErrorKind};

const OFFICIAL: [&str; 2] = ["Exchange2010_SP2", "Exchange2016-O365-2023"];

fn samples(shared: &Path) -> Vec<PathBuf> {
    let files = common::sample_files(shared);
    assert!(
        files.len() >= 10,
        "expected the published samples, found {files:?}"
    );
    files
}

/// The how-to envelopes use `https://schemas.xmlsoap.org/soap/envelope/`, which is not SOAP.
fn has_https_soap_root(path: &Path, text: &str) -> bool {
    path.to_string_lossy().ends_with(".envelope.xml")
        && text.contains("=\"https://schemas.xmlsoap.org/soap/envelope/\"")
}

#[test]
fn official_sets_validate_samples_and_reject_https_soap_envelopes() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let files = samples(&shared);
    for version in OFFICIAL {
        let set = SchemaSet::from_dir(&shared.join("ews-schemas").join(version))
            .unwrap_or_else(|e| panic!("{version}: {e}"));
        let (mut valid, mut rejected) = (0, 0);
        for file in &files {
            let text = fs::read_to_string(file).unwrap();
            let validation = set.validate(text.as_bytes());
            if has_https_soap_root(file, &text) {
                let first = validation
                    .errors
                    .first()
                    .unwrap_or_else(|| panic!("{version}: {} should be rejected", file.display()));
                assert_eq!(first.kind, XmlErrorKind::Schema, "{first}");
                assert!(
                    first.message.contains("No matching global declaration"),
                    "{first}"
                );
                assert_eq!(first.line, 2, "{first}");
                rejected += 1;
            } else {
                assert!(
                    validation.is_valid(),
                    "{version}: {}: {:?}",
                    file.display(),
                    validation.errors
                );
                valid += 1;
            }
        }
        assert_eq!(rejected, 4, "{version}: the four how-to envelopes");
        assert!(valid >= 12, "{version}: only {valid} samples validated");
    }
}

#[test]
fn embedded_set_validates_the_senditem_samples() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let set = SchemaSet::embedded().unwrap();
    for file in samples(&shared) {
        let text = fs::read_to_string(&file).unwrap();
        if text.contains("DeleteItemResponse") || has_https_soap_root(&file, &text) {
            continue;
        }
        let validation = set.validate(text.as_bytes());
        assert!(
            validation.is_valid(),
            "{}: {:?}",
            file.display(),
            validation.errors
        );
    }
}

#[test]
fn undeclared_body_child_is_a_schema_error() {
    let doc = format!(
        r#"<s:Envelope xmlns:s="{SOAP}"><s:Body><x:Unknown xmlns:x="urn:nobody"/></s:Body></s:Envelope>"#
    );
    let validation = SchemaSet::embedded().unwrap().validate(doc.as_bytes());
    let error = validation.errors.first().expect("rejected");
    assert_eq!(error.kind, XmlErrorKind::Schema);
    assert!(error.message.contains("Unknown"), "{error}");

    // The same element in the EWS namespace but undeclared is rejected as well.
    let doc = format!(
        r#"<s:Envelope xmlns:s="{SOAP}"><s:Body><m:Nope xmlns:m="{M}"/></s:Body></s:Envelope>"#
    );
    assert!(
        !SchemaSet::embedded()
            .unwrap()
            .validate(doc.as_bytes())
            .is_valid()
    );
}

#[test]
fn compile_errors_name_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("messages.xsd"),
        format!(
            r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="{M}">
  <xs:import namespace="urn:t" schemaLocation="types.xsd"/>
</xs:schema>
"#
        ),
    )
    .unwrap();
    fs::write(
        dir.path().join("types.xsd"),
        r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:t="urn:t" targetNamespace="urn:t">

  <xs:element name="Broken" type="t:NoSuchType"/>
</xs:schema>
"#,
    )
    .unwrap();
    let Err(SchemaError::Compile { errors, .. }) = SchemaSet::from_dir(dir.path()) else {
        panic!("expected a compile error");
    };
    let error = errors
        .iter()
        .find(|e| e.message.contains("NoSuchType"))
        .unwrap_or_else(|| panic!("no error names the bad type: {errors:?}"));
    assert!(error.file.ends_with("types.xsd"), "{error}");
    assert_eq!(error.line, 3, "{error}");
}

#[test]
fn missing_schema_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("messages.xsd"), "<x/>").unwrap();
    match SchemaSet::from_dir(dir.path()) {
        Err(SchemaError::MissingFile { path }) => assert!(path.ends_with("types.xsd")),
        other => panic!("expected MissingFile, got {other:?}"),
    }
}
