//! Item properties the typed model does not hold. A server built on this model keeps each as the
//! client wrote it and writes it back in the place the schema gives it, so that every
//! schema-valid property is stored without the model having to understand it; a path that names
//! one (`t:FieldURI` with another value, `t:ExtendedFieldURI`) is kept as written too.
//! <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/path>

use std::collections::HashMap;
use std::sync::OnceLock;

use super::TYPES_NS;
use super::types::{FieldUri, ItemKind};
use super::xml::{Element, Node, XmlError, XmlWriter};

/// One property element of an item that no typed field holds, e.g. `t:Sensitivity` or a
/// `t:ExtendedProperty`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RawProperty {
    /// The element's local name.
    pub name: String,
    /// Which one, for the element that may repeat: an `ExtendedProperty`'s
    /// [`extended_key`]; empty for every other element.
    pub key: String,
    /// The element as written back: serialized, `t:` prefixed.
    pub xml: String,
}

impl RawProperty {
    /// The property `e` (a child of an item element) holds.
    pub fn of(e: &Element) -> Self {
        let key = if e.name == "ExtendedProperty" {
            e.child(TYPES_NS, "ExtendedFieldURI")
                .map(|uri| extended_key(uri.attributes.iter().map(|a| (&*a.name, &*a.value))))
                .unwrap_or_default()
        } else {
            String::new()
        };
        let mut w = XmlWriter::new();
        e.write_to(&mut w);
        Self {
            name: e.name.to_string(),
            key,
            xml: w.into_string(),
        }
    }

    /// A `t:ExtendedProperty` holding `value` at the `ExtendedFieldURI` `path`.
    pub fn extended(path: &RawPath, value: &str) -> Self {
        let mut w = XmlWriter::new();
        w.start("t:ExtendedProperty", &[]);
        path.write(&mut w);
        w.text_element("t:Value", value);
        w.end("t:ExtendedProperty");
        Self {
            name: "ExtendedProperty".into(),
            key: path.target().map(|(_, key)| key).unwrap_or_default(),
            xml: w.into_string(),
        }
    }

    /// The text of the element, or of an extended property's `Value`; `None` when it holds
    /// elements.
    pub fn value(&self) -> Option<String> {
        // The element was written with the `t:` prefix of the document it came from.
        let wrapped = format!("<v xmlns:t=\"{TYPES_NS}\">{}</v>", self.xml);
        let root = Element::parse(wrapped.as_bytes()).ok()?;
        let e = root.elements().next()?;
        let e = if self.name == "ExtendedProperty" {
            e.child(TYPES_NS, "Value")?
        } else {
            e
        };
        e.elements().next().is_none().then(|| e.text())
    }

    /// Whether this is the property `path` names.
    pub fn is(&self, path: &RawPath) -> bool {
        path.target()
            .is_some_and(|(name, key)| name == self.name && key == self.key)
    }
}

/// An `ExtendedFieldURI`'s identity: its attributes, sorted, as `name=value` joined by `;`. Two
/// spellings of the same property share it: attribute order, and a `PropertyTag` in decimal or
/// in hexadecimal (`4225`, `0x1081`).
pub fn extended_key<'a>(attributes: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let mut pairs: Vec<String> = attributes
        .map(|(n, v)| match (n, property_tag(v)) {
            ("PropertyTag", Some(tag)) => format!("{n}=0x{tag:04x}"),
            _ => format!("{n}={v}"),
        })
        .collect();
    pairs.sort();
    pairs.join(";")
}

/// A `PropertyTag` value: hexadecimal with `0x`, or decimal.
fn property_tag(value: &str) -> Option<u32> {
    let v = value.trim();
    match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => v.parse().ok(),
    }
}

/// A property path (`t:Path`) the typed [`FieldUri`] does not name, kept as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RawPath {
    /// `FieldURI`, `IndexedFieldURI` or `ExtendedFieldURI`.
    pub element: String,
    /// Its attributes, in document order.
    pub attributes: Vec<(String, String)>,
}

impl RawPath {
    /// The `ExtendedFieldURI` of MAPI property `tag` (`0x1081`) of `property_type`.
    pub fn extended_tag(tag: &str, property_type: &str) -> Self {
        Self {
            element: "ExtendedFieldURI".into(),
            attributes: vec![
                ("PropertyTag".into(), tag.into()),
                ("PropertyType".into(), property_type.into()),
            ],
        }
    }

    /// `PidTagLastVerbExecuted` (0x1081, an integer): what was last done with a message.
    pub fn last_verb_executed() -> Self {
        Self::extended_tag("0x1081", "Integer")
    }

    /// `PidTagLastVerbExecutionTime` (0x1082): when it was done.
    pub fn last_verb_execution_time() -> Self {
        Self::extended_tag("0x1082", "SystemTime")
    }

    fn read(e: &Element) -> Self {
        Self {
            element: e.name.to_string(),
            attributes: e
                .attributes
                .iter()
                .filter(|a| a.namespace.is_none())
                .map(|a| (a.name.to_string(), a.value.to_string()))
                .collect(),
        }
    }

    fn attr(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The item element the path names and its [`RawProperty::key`]: `item:Sensitivity` →
    /// `Sensitivity`, an `ExtendedFieldURI` → `ExtendedProperty` with that URI's key. `None` for
    /// an `IndexedFieldURI` (contact entries), which names part of an element.
    pub fn target(&self) -> Option<(&str, String)> {
        match self.element.as_str() {
            "FieldURI" => {
                let (_, name) = self.attr("FieldURI")?.split_once(':')?;
                Some((name, String::new()))
            }
            "ExtendedFieldURI" => Some((
                "ExtendedProperty",
                extended_key(self.attributes.iter().map(|(n, v)| (&**n, &**v))),
            )),
            _ => None,
        }
    }

    fn write(&self, w: &mut XmlWriter) {
        let attrs: Vec<(&str, &str)> = self
            .attributes
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        w.empty(&format!("t:{}", self.element), &attrs);
    }
}

/// A `t:Path`: a property the typed model names, or one it keeps as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PropertyPath {
    /// A `t:FieldURI` whose value is a [`FieldUri`].
    Field(FieldUri),
    /// Any other path.
    Raw(RawPath),
}

impl From<FieldUri> for PropertyPath {
    fn from(f: FieldUri) -> Self {
        PropertyPath::Field(f)
    }
}

impl PropertyPath {
    /// The path among the children of `e` (an update, a shape's `AdditionalProperties`).
    pub(crate) fn read_child(e: &Element) -> Result<Self, XmlError> {
        let path = e
            .elements()
            .find(|c| {
                c.namespace.as_deref() == Some(TYPES_NS)
                    && matches!(
                        c.name.as_str(),
                        "FieldURI" | "IndexedFieldURI" | "ExtendedFieldURI"
                    )
            })
            .ok_or_else(|| {
                e.error(
                    "a property path (FieldURI, IndexedFieldURI or ExtendedFieldURI) is required",
                )
            })?;
        Ok(Self::read(path))
    }

    /// The path `e` is.
    pub(crate) fn read(e: &Element) -> Self {
        if e.name == "FieldURI"
            && let Some(Ok(field)) = e.attr("FieldURI").map(str::parse)
        {
            return PropertyPath::Field(field);
        }
        PropertyPath::Raw(RawPath::read(e))
    }

    pub(crate) fn write(&self, w: &mut XmlWriter) {
        match self {
            PropertyPath::Field(f) => super::ToXml::to_xml(f, w),
            PropertyPath::Raw(r) => r.write(w),
        }
    }
}

/// The children of an item element the typed fields hold; every other child is kept as a
/// [`RawProperty`].
pub(crate) const MODELLED: [&str; 24] = [
    "ItemId",
    "ParentFolderId",
    "ItemClass",
    "Subject",
    "Body",
    "DateTimeReceived",
    "InReplyTo",
    "IsDraft",
    "DateTimeSent",
    "DateTimeCreated",
    "Sender",
    "ToRecipients",
    "CcRecipients",
    "BccRecipients",
    "IsReadReceiptRequested",
    "IsDeliveryReceiptRequested",
    "From",
    "InternetMessageId",
    "IsRead",
    "References",
    "ConversationId",
    // A response object's own.
    "ReferenceItemId",
    "NewBodyContent",
    "IsSpecificMessageReply",
];

/// The raw properties among the children of the item element `e`, in document order.
pub(crate) fn raw_properties(e: &Element) -> Vec<RawProperty> {
    e.children
        .iter()
        .filter_map(|n| match n {
            Node::Element(c) if !MODELLED.contains(&c.name.as_str()) => Some(RawProperty::of(c)),
            _ => None,
        })
        .collect()
}

/// Where element `name` goes among the children of an item of `kind`: its index in `ItemType`'s
/// sequence, or past those in the kind's own extension, as this project's `types.xsd` declares
/// them. `usize::MAX` for an element the schema does not declare there.
pub fn position(kind: ItemKind, name: &str) -> usize {
    static ORDER: OnceLock<HashMap<ItemKind, HashMap<String, usize>>> = OnceLock::new();
    let order = ORDER.get_or_init(|| {
        let types = crate::schema::embedded_schemas()
            .find(|(n, _)| *n == "types.xsd")
            .map(|(_, text)| text)
            .unwrap_or_default();
        schema_order(types)
    });
    order
        .get(&kind)
        .and_then(|names| names.get(name))
        .copied()
        .unwrap_or(usize::MAX)
}

/// Reads the child order of `ItemType`, `MessageType` and `TaskType` from a `types.xsd`.
fn schema_order(types: &str) -> HashMap<ItemKind, HashMap<String, usize>> {
    const XS: &str = "http://www.w3.org/2001/XMLSchema";
    let Ok(schema) = Element::parse(types.as_bytes()) else {
        return HashMap::new();
    };
    let complex = |name: &str| {
        schema
            .elements()
            .find(|e| e.is(XS, "complexType") && e.attr("name") == Some(name))
    };
    let sequence_names = |e: &Element| -> Vec<String> {
        e.elements()
            .filter(|c| c.is(XS, "element"))
            .filter_map(|c| c.attr("name").map(str::to_owned))
            .collect()
    };
    let item: Vec<String> = complex("ItemType")
        .and_then(|t| t.child(XS, "sequence"))
        .map(sequence_names)
        .unwrap_or_default();
    let extension = |name: &str| -> Vec<String> {
        complex(name)
            .and_then(|t| t.child(XS, "complexContent"))
            .and_then(|c| c.child(XS, "extension"))
            .and_then(|x| x.child(XS, "sequence"))
            .map(sequence_names)
            .unwrap_or_default()
    };
    let mut order = HashMap::new();
    for (kind, own) in [
        (ItemKind::Item, Vec::new()),
        (ItemKind::Message, extension("MessageType")),
        (ItemKind::Task, extension("TaskType")),
    ] {
        let names = order.entry(kind).or_insert_with(HashMap::new);
        for (i, name) in item.iter().chain(&own).enumerate() {
            names.insert(name.clone(), i);
        }
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_orders_item_then_message_properties() {
        let at = |name| position(ItemKind::Message, name);
        assert!(at("Subject") < at("Sensitivity"));
        assert!(at("Sensitivity") < at("Body"));
        assert!(
            at("ExtendedProperty") < at("Sender"),
            "ItemType's come first"
        );
        assert!(at("ToRecipients") < at("ConversationIndex"));
        assert!(at("ConversationIndex") < at("From"));
        assert_eq!(position(ItemKind::Item, "Sender"), usize::MAX);
        assert_eq!(at("NoSuchElement"), usize::MAX);
        assert!(position(ItemKind::Task, "Status") > position(ItemKind::Task, "Subject"));
    }

    #[test]
    fn paths_name_their_element_and_extended_properties_their_identity() {
        let doc = br#"<x xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">
            <t:FieldURI FieldURI="item:Sensitivity"/>
            <t:ExtendedFieldURI PropertyTag="0x1081" PropertyType="Integer"/>
            <t:ExtendedFieldURI PropertyType="Integer" PropertyTag="0x1081"/>
            <t:IndexedFieldURI FieldURI="contacts:EmailAddress" FieldIndex="EmailAddress1"/>
            <t:FieldURI FieldURI="item:Subject"/>
        </x>"#;
        let root = Element::parse(doc).unwrap();
        let paths: Vec<PropertyPath> = root.elements().map(PropertyPath::read).collect();
        let raw = |i: usize| match &paths[i] {
            PropertyPath::Raw(r) => r.clone(),
            PropertyPath::Field(f) => panic!("{f:?} is typed"),
        };
        assert_eq!(raw(0).target(), Some(("Sensitivity", String::new())));
        let extended = raw(1);
        let (name, key) = extended.target().unwrap();
        assert_eq!(name, "ExtendedProperty");
        assert_eq!(
            Some(key),
            raw(2).target().map(|(_, k)| k),
            "attribute order"
        );
        assert_eq!(raw(3).target(), None);
        assert_eq!(paths[4], PropertyPath::Field(FieldUri::ItemSubject));
    }
}
