//! Response messages: the `ResponseMessageType` every EWS operation answers with, one per
//! requested item, and the items or folders it carries.
//!
//! Reference: <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/responsemessages>

use super::response_code::ResponseCode;
use super::types::{Folder, Item, wire_enum};
use super::xml::{Element, FromXml, Node, ToXml, XmlError, XmlWriter, bool_str};
use super::{MESSAGES_NS, TYPES_NS};

wire_enum! {
    /// `ResponseClass`: whether one response message succeeded.
    /// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/senditemresponsemessage>
    ResponseClass {
        Success,
        Warning,
        Error,
    }
}

/// `m:RootFolder` of a FindItem response message: the page of items found.
/// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/rootfolder-finditemresponsemessage>
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootFolder {
    /// `IndexedPagingOffset`.
    pub indexed_paging_offset: Option<i32>,
    /// `TotalItemsInView`.
    pub total_items_in_view: Option<i32>,
    /// `IncludesLastItemInRange`.
    pub includes_last_item_in_range: Option<bool>,
    /// `t:Items`: what was found.
    pub items: Vec<Item>,
}

/// One response message (`SendItemResponseMessage`, `CreateItemResponseMessage`, …).
///
/// The fields after `message_xml` are present only for the operations that return them.
/// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/senditemresponsemessage>
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseMessage {
    /// `ResponseClass`.
    pub response_class: ResponseClass,
    /// `MessageText`: a human-readable explanation of an error.
    pub message_text: Option<String>,
    /// `ResponseCode`.
    pub response_code: Option<ResponseCode>,
    /// `DescriptiveLinkKey`: currently unused by Exchange; always 0 when present.
    pub descriptive_link_key: Option<i32>,
    /// `MessageXml`: extra machine-readable detail, kept as the element it came in.
    pub message_xml: Option<Element>,
    /// `m:Items` of CreateItem, GetItem and UpdateItem responses.
    pub items: Vec<Item>,
    /// `m:Folders` of GetFolder responses.
    pub folders: Vec<Folder>,
    /// `m:RootFolder` of FindItem responses.
    pub root_folder: Option<RootFolder>,
    /// `m:ConflictResults/t:Count` of UpdateItem responses.
    pub conflict_results: Option<i32>,
}

impl ResponseMessage {
    /// A `Success` / `NoError` message.
    pub fn success() -> Self {
        Self::new(ResponseClass::Success, ResponseCode::NoError)
    }

    /// An `Error` message with this code and text, and DescriptiveLinkKey 0 as Exchange sends.
    pub fn error(code: ResponseCode, text: impl Into<String>) -> Self {
        Self {
            message_text: Some(text.into()),
            descriptive_link_key: Some(0),
            ..Self::new(ResponseClass::Error, code)
        }
    }

    fn new(response_class: ResponseClass, code: ResponseCode) -> Self {
        Self {
            response_class,
            message_text: None,
            response_code: Some(code),
            descriptive_link_key: None,
            message_xml: None,
            items: Vec::new(),
            folders: Vec::new(),
            root_folder: None,
            conflict_results: None,
        }
    }

    /// The code Exchange Online wraps in `ErrorInternalServerError`: the text of
    /// `MessageXml/t:Value[@Name="InnerErrorResponseCode"]`, when it names a known code.
    /// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/messagexml>
    pub fn inner_error_response_code(&self) -> Option<ResponseCode> {
        self.message_xml
            .as_ref()?
            .elements()
            .filter(|e| e.is(TYPES_NS, "Value") && e.attr("Name") == Some("InnerErrorResponseCode"))
            .find_map(|e| e.text().trim().parse().ok())
    }

    /// `MessageXml/t:Value[@Name="BackOffMilliseconds"]`: how long ErrorServerBusy asks the
    /// client to wait before it sends the request again.
    /// <https://learn.microsoft.com/en-us/exchange/client-developer/exchange-web-services/ews-throttling-in-exchange>
    pub fn back_off(&self) -> Option<std::time::Duration> {
        self.message_xml
            .as_ref()?
            .elements()
            .filter(|e| e.is(TYPES_NS, "Value") && e.attr("Name") == Some("BackOffMilliseconds"))
            .find_map(|e| e.text().trim().parse().ok())
            .map(std::time::Duration::from_millis)
    }

    /// Writes the message as `m:{element}`.
    pub fn write_as(&self, w: &mut XmlWriter, element: &str) {
        let name = format!("m:{element}");
        w.start(&name, &[("ResponseClass", self.response_class.as_str())]);
        w.opt_text_element("m:MessageText", self.message_text.as_deref());
        w.opt_text_element(
            "m:ResponseCode",
            self.response_code.map(ResponseCode::as_str),
        );
        if let Some(key) = self.descriptive_link_key {
            w.text_element("m:DescriptiveLinkKey", &key.to_string());
        }
        if let Some(xml) = &self.message_xml {
            w.start("m:MessageXml", &[]);
            for child in &xml.children {
                if let Node::Element(e) = child {
                    e.write_to(w);
                }
            }
            w.end("m:MessageXml");
        }
        if let Some(root) = &self.root_folder {
            let offset = root.indexed_paging_offset.map(|v| v.to_string());
            let total = root.total_items_in_view.map(|v| v.to_string());
            let mut attrs = Vec::new();
            if let Some(v) = &offset {
                attrs.push(("IndexedPagingOffset", v.as_str()));
            }
            if let Some(v) = &total {
                attrs.push(("TotalItemsInView", v.as_str()));
            }
            if let Some(v) = root.includes_last_item_in_range {
                attrs.push(("IncludesLastItemInRange", bool_str(v)));
            }
            w.start("m:RootFolder", &attrs);
            write_items(w, "t:Items", &root.items);
            w.end("m:RootFolder");
        }
        if !self.folders.is_empty() {
            w.list("m:Folders", &self.folders);
        }
        if self.root_folder.is_none() && (!self.items.is_empty() || self.carries_items(element)) {
            write_items(w, "m:Items", &self.items);
        }
        if let Some(count) = self.conflict_results {
            w.start("m:ConflictResults", &[]);
            w.text_element("t:Count", &count.to_string());
            w.end("m:ConflictResults");
        }
        w.end(&name);
    }

    // Exchange sends an empty `m:Items` on item-returning operations even when an error left it
    // empty; keeping that shape makes the mock's answers look like the real thing.
    fn carries_items(&self, element: &str) -> bool {
        matches!(
            element,
            "CreateItemResponseMessage" | "GetItemResponseMessage" | "UpdateItemResponseMessage"
        )
    }
}

fn write_items(w: &mut XmlWriter, name: &str, items: &[Item]) {
    if items.is_empty() {
        w.empty(name, &[]);
        return;
    }
    w.start(name, &[]);
    for item in items {
        item.to_xml(w);
    }
    w.end(name);
}

/// The entries of the optional list element `namespace:name` of `e`; none when it is absent.
fn read_list<T: FromXml>(e: &Element, namespace: &str, name: &str) -> Result<Vec<T>, XmlError> {
    e.child(namespace, name)
        .map_or(Ok(Vec::new()), Element::read_children)
}

impl FromXml for ResponseMessage {
    fn from_xml(e: &Element) -> Result<Self, XmlError> {
        let response_class = e.parse_required_attr("ResponseClass")?;
        let items = read_list(e, MESSAGES_NS, "Items")?;
        let folders = read_list(e, MESSAGES_NS, "Folders")?;
        let root_folder = match e.child(MESSAGES_NS, "RootFolder") {
            None => None,
            Some(r) => Some(RootFolder {
                indexed_paging_offset: r.parse_attr("IndexedPagingOffset")?,
                total_items_in_view: r.parse_attr("TotalItemsInView")?,
                includes_last_item_in_range: r.attr_bool("IncludesLastItemInRange")?,
                items: read_list(r, TYPES_NS, "Items")?,
            }),
        };
        let conflict_results = match e.child(MESSAGES_NS, "ConflictResults") {
            Some(c) => c.parse_child(TYPES_NS, "Count")?,
            None => None,
        };
        Ok(Self {
            response_class,
            message_text: e.child_text(MESSAGES_NS, "MessageText"),
            response_code: e.parse_child(MESSAGES_NS, "ResponseCode")?,
            descriptive_link_key: e.parse_child(MESSAGES_NS, "DescriptiveLinkKey")?,
            message_xml: e.child(MESSAGES_NS, "MessageXml").cloned(),
            items,
            folders,
            root_folder,
            conflict_results,
        })
    }
}

/// The body of a successful (non-fault) response: `m:{Operation}Response` with its messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationResponse {
    /// The operation's name, e.g. `SendItem` for `m:SendItemResponse`.
    pub operation: String,
    /// `m:ResponseMessages`, in order: one per requested item.
    pub response_messages: Vec<ResponseMessage>,
}

impl OperationResponse {
    /// A response to `operation` carrying these messages.
    pub fn new(operation: impl Into<String>, response_messages: Vec<ResponseMessage>) -> Self {
        Self {
            operation: operation.into(),
            response_messages,
        }
    }
}

impl ToXml for OperationResponse {
    fn to_xml(&self, w: &mut XmlWriter) {
        let name = format!("m:{}Response", self.operation);
        let message = format!("{}ResponseMessage", self.operation);
        w.start(&name, &[]);
        w.start("m:ResponseMessages", &[]);
        for m in &self.response_messages {
            m.write_as(w, &message);
        }
        w.end("m:ResponseMessages");
        w.end(&name);
    }
}

impl FromXml for OperationResponse {
    fn from_xml(e: &Element) -> Result<Self, XmlError> {
        let operation = match (e.namespace.as_deref(), e.name.strip_suffix("Response")) {
            (Some(MESSAGES_NS), Some(op)) if !op.is_empty() => op.to_owned(),
            _ => {
                return Err(e.error(format!(
                    "`{}` is not an operation response in the messages namespace",
                    e.name
                )));
            }
        };
        let expected = format!("{operation}ResponseMessage");
        let list = e.required_child(MESSAGES_NS, "ResponseMessages")?;
        let mut response_messages = Vec::new();
        for m in list.elements() {
            if !m.is(MESSAGES_NS, &expected) {
                return Err(m.error(format!("expected m:{expected}, found `{}`", m.name)));
            }
            response_messages.push(ResponseMessage::from_xml(m)?);
        }
        Ok(Self {
            operation,
            response_messages,
        })
    }
}
