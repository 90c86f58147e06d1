//! Properties of the normalizer: normalizing twice equals normalizing once, and the prefixes a
//! document happens to use never change its normal form.

use ewsconf::ews::xml::{Element, Node};
use ewsconf::generate::{SchemaEra, wire};
use ewsconf::normalize::Normalizer;
use proptest::prelude::*;

/// Writes `e` again with other prefixes: `env:` for SOAP, the messages namespace as the default,
/// and `q:` for types, every declaration on the root.
fn reprefix(e: &Element, root: bool, out: &mut String) {
    let prefix = match e.namespace.as_deref() {
        Some(ewsconf::ews::SOAP_NS) => "env:",
        Some(ewsconf::ews::MESSAGES_NS) => "",
        Some(ewsconf::ews::TYPES_NS) => "q:",
        _ => "other:",
    };
    out.push_str(&format!("<{prefix}{}", e.name));
    if root {
        out.push_str(&format!(
            " xmlns:env=\"{}\" xmlns=\"{}\" xmlns:q=\"{}\" xmlns:other=\"urn:other\"",
            ewsconf::ews::SOAP_NS,
            ewsconf::ews::MESSAGES_NS,
            ewsconf::ews::TYPES_NS
        ));
    }
    // Reverse the attribute order too: canonical form sorts them.
    for a in e.attributes.iter().rev() {
        let value = a
            .value
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('"', "&quot;")
            .replace('\n', "&#10;")
            .replace('\t', "&#9;");
        out.push_str(&format!(" {}=\"{value}\"", a.name));
    }
    out.push('>');
    for child in &e.children {
        match child {
            Node::Element(c) => reprefix(c, false, out),
            Node::Text(t) => out.push_str(&t.replace('&', "&amp;").replace('<', "&lt;")),
        }
    }
    out.push_str(&format!("</{prefix}{}>", e.name));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn normalizing_twice_equals_normalizing_once(envelope in wire::arb_response_envelope(SchemaEra::Current)) {
        let once = Normalizer::default().document(&envelope.to_xml());
        let twice = Normalizer::default().document(&once);
        prop_assert_eq!(once, twice);
    }

    #[test]
    fn prefixes_and_attribute_order_do_not_change_the_normal_form(envelope in wire::arb_request_envelope(SchemaEra::Current)) {
        let xml = envelope.to_xml();
        let root = Element::parse(xml.as_bytes()).unwrap();
        let mut renamed = String::new();
        reprefix(&root, true, &mut renamed);
        prop_assert_ne!(&renamed, &xml);
        prop_assert_eq!(Normalizer::default().document(&xml), Normalizer::default().document(&renamed));
    }
}
