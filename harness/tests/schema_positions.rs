//! Schema and parser errors point at the right line and column.

mod common;

use common::{M, SOAP, T};
use ewsconf::schema::{SchemaSet, XmlErrorKind};

fn senditem_without_save_flag() -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
         <soap:Envelope xmlns:soap=\"{SOAP}\" xmlns:m=\"{M}\" xmlns:t=\"{T}\"><soap:Body>\n\
         \x20 <m:SendItem>\n\
         \x20   <m:ItemIds><t:ItemId Id=\"AAA=\"/></m:ItemIds>\n\
         \x20 </m:SendItem>\n\
         </soap:Body></soap:Envelope>\n"
    )
}

fn assert_missing_attribute_at_line_3(set: &SchemaSet) {
    let validation = set.validate(senditem_without_save_flag().as_bytes());
    let [error] = validation.errors.as_slice() else {
        panic!("expected exactly one error, got {:?}", validation.errors);
    };
    assert_eq!(error.kind, XmlErrorKind::Schema);
    assert_eq!((error.line, error.column), (3, 3), "{error}");
    assert!(error.message.contains("SaveItemToFolder"), "{error}");
}

#[test]
fn missing_required_attribute_points_at_the_start_tag_embedded() {
    assert_missing_attribute_at_line_3(SchemaSet::embedded().unwrap());
}

#[test]
fn missing_required_attribute_points_at_the_start_tag_official() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let set = SchemaSet::from_dir(&shared.join("ews-schemas/Exchange2010_SP2")).unwrap();
    assert_missing_attribute_at_line_3(&set);
}

#[test]
fn unexpected_child_points_at_its_own_start_tag() {
    let doc = format!(
        "<m:SendItemResponse xmlns:m=\"{M}\">\n\
         <m:ResponseMessages>\n\
         \x20   <m:SendItemResponseMessage ResponseClass=\"Success\"><m:Bogus/></m:SendItemResponseMessage>\n\
         </m:ResponseMessages>\n\
         </m:SendItemResponse>"
    );
    let line3 = doc.lines().nth(2).unwrap();
    let expected_column = u32::try_from(line3.find("<m:Bogus").unwrap() + 1).unwrap();
    let validation = SchemaSet::embedded().unwrap().validate(doc.as_bytes());
    let error = validation.errors.first().expect("an error");
    assert_eq!(error.kind, XmlErrorKind::Schema);
    assert_eq!((error.line, error.column), (3, expected_column), "{error}");
    assert!(error.message.contains("Bogus"), "{error}");
}

#[test]
fn parser_errors_carry_line_and_column() {
    let doc =
        format!("<m:SendItemResponse xmlns:m=\"{M}\">\n  <m:ResponseMessages>\n  </m:Oops>\n");
    let validation = SchemaSet::embedded().unwrap().validate(doc.as_bytes());
    let error = validation.errors.first().expect("an error");
    assert_eq!(error.kind, XmlErrorKind::NotWellFormed);
    assert_eq!(error.line, 3, "{error}");
    assert!(error.column > 1, "{error}");
    assert!(!error.message.ends_with('\n'));
}
