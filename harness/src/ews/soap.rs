//! The SOAP 1.1 envelope around every EWS request and response, its headers, and SOAP Faults.
//!
//! Reference: <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/ews-xml-elements-in-exchange>

use super::operations::Request;
use super::response::OperationResponse;
use super::response_code::ResponseCode;
use super::types::ExchangeVersion;
use super::xml::{Element, FromXml, ToXml, XmlError, XmlWriter};
use super::{ERRORS_NS, SOAP_NS, TYPES_NS};

/// The namespace of `xml:lang`.
const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// `t:ConnectingSID`: the account an `ExchangeImpersonation` header acts as, in one of four forms.
/// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/connectingsid>
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ConnectingSid {
    /// `t:PrincipalName`: the user principal name.
    PrincipalName(String),
    /// `t:SID`: the security identifier in SDDL form.
    Sid(String),
    /// `t:PrimarySmtpAddress`.
    PrimarySmtpAddress(String),
    /// `t:SmtpAddress`: any SMTP address of the account.
    SmtpAddress(String),
}

impl ConnectingSid {
    /// The child element's local name.
    pub const fn element_name(&self) -> &'static str {
        match self {
            ConnectingSid::PrincipalName(_) => "PrincipalName",
            ConnectingSid::Sid(_) => "SID",
            ConnectingSid::PrimarySmtpAddress(_) => "PrimarySmtpAddress",
            ConnectingSid::SmtpAddress(_) => "SmtpAddress",
        }
    }

    /// The value inside the element.
    pub fn value(&self) -> &str {
        match self {
            ConnectingSid::PrincipalName(v)
            | ConnectingSid::Sid(v)
            | ConnectingSid::PrimarySmtpAddress(v)
            | ConnectingSid::SmtpAddress(v) => v,
        }
    }
}

/// The SOAP headers a client may send with an EWS request.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct RequestHeaders {
    /// `t:RequestServerVersion/@Version`.
    /// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/requestserverversion>
    pub request_server_version: Option<ExchangeVersion>,
    /// `t:ExchangeImpersonation/t:ConnectingSID`.
    /// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/exchangeimpersonation>
    pub exchange_impersonation: Option<ConnectingSid>,
    /// `t:MailboxCulture`, e.g. `en-US`.
    /// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/mailboxculture>
    pub mailbox_culture: Option<String>,
}

impl RequestHeaders {
    fn is_empty(&self) -> bool {
        self.request_server_version.is_none()
            && self.exchange_impersonation.is_none()
            && self.mailbox_culture.is_none()
    }

    fn write(&self, w: &mut XmlWriter) {
        if self.is_empty() {
            return;
        }
        w.start("soap:Header", &[]);
        if let Some(v) = self.request_server_version {
            w.empty("t:RequestServerVersion", &[("Version", v.as_str())]);
        }
        if let Some(sid) = &self.exchange_impersonation {
            w.start("t:ExchangeImpersonation", &[]);
            w.start("t:ConnectingSID", &[]);
            w.text_element(&format!("t:{}", sid.element_name()), sid.value());
            w.end("t:ConnectingSID");
            w.end("t:ExchangeImpersonation");
        }
        w.opt_text_element("t:MailboxCulture", self.mailbox_culture.as_deref());
        w.end("soap:Header");
    }

    fn read(header: &Element) -> Result<Self, XmlError> {
        let mut headers = RequestHeaders::default();
        for h in header.elements() {
            if h.is(TYPES_NS, "RequestServerVersion") {
                headers.request_server_version = Some(h.parse_required_attr("Version")?);
            } else if h.is(TYPES_NS, "ExchangeImpersonation") {
                let sid = h.required_child(TYPES_NS, "ConnectingSID")?;
                let form = sid
                    .elements()
                    .next()
                    .ok_or_else(|| sid.error("ConnectingSID is empty"))?;
                let value = form.text();
                headers.exchange_impersonation = Some(match form.name.as_str() {
                    "PrincipalName" => ConnectingSid::PrincipalName(value),
                    "SID" => ConnectingSid::Sid(value),
                    "PrimarySmtpAddress" => ConnectingSid::PrimarySmtpAddress(value),
                    "SmtpAddress" => ConnectingSid::SmtpAddress(value),
                    other => {
                        return Err(form.error(format!("unknown ConnectingSID form `{other}`")));
                    }
                });
            } else if h.is(TYPES_NS, "MailboxCulture") {
                headers.mailbox_culture = Some(h.text());
            }
            // Other headers (TimeZoneContext, DateTimePrecision, …) are legal and not modelled.
        }
        Ok(headers)
    }
}

/// A whole request: headers and one operation in a SOAP 1.1 envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestEnvelope {
    /// The SOAP headers.
    pub headers: RequestHeaders,
    /// The operation in the Body.
    pub body: Request,
}

impl RequestEnvelope {
    /// An envelope with no headers.
    pub fn new(body: impl Into<Request>) -> Self {
        Self {
            headers: RequestHeaders::default(),
            body: body.into(),
        }
    }

    /// The same envelope with these headers.
    pub fn with_headers(mut self, headers: RequestHeaders) -> Self {
        self.headers = headers;
        self
    }

    /// The serialized envelope, ready to POST.
    pub fn to_xml(&self) -> String {
        let mut w = XmlWriter::new();
        w.envelope_start();
        self.headers.write(&mut w);
        w.start("soap:Body", &[]);
        self.body.to_xml(&mut w);
        w.end("soap:Body");
        w.end("soap:Envelope");
        w.into_string()
    }

    /// Parses a request envelope, as the mock receives it.
    pub fn parse(doc: &[u8]) -> Result<Self, XmlError> {
        Self::from_element(&Element::parse(doc)?)
    }

    /// Reads a request envelope from its already parsed root element.
    pub fn from_element(root: &Element) -> Result<Self, XmlError> {
        Self::read(root).map_err(|e| e.located_in(root))
    }

    fn read(root: &Element) -> Result<Self, XmlError> {
        let (header, body) = envelope_parts(root)?;
        Ok(Self {
            headers: header
                .map(RequestHeaders::read)
                .transpose()?
                .unwrap_or_default(),
            body: Request::from_xml(body)?,
        })
    }
}

/// `t:ServerVersionInfo`: the server's build, sent in every response header.
/// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/serverversioninfo>
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ServerVersionInfo {
    /// `MajorVersion`.
    pub major_version: Option<i32>,
    /// `MinorVersion`.
    pub minor_version: Option<i32>,
    /// `MajorBuildNumber`.
    pub major_build_number: Option<i32>,
    /// `MinorBuildNumber`.
    pub minor_build_number: Option<i32>,
    /// `Version`, e.g. `V2018_01_08`.
    pub version: Option<String>,
}

/// `15.2.2562.17 (V2017_07_11)`, with `?` for a number the server left out.
impl std::fmt::Display for ServerVersionInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let numbers = [
            self.major_version,
            self.minor_version,
            self.major_build_number,
            self.minor_build_number,
        ];
        for (i, n) in numbers.into_iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            match n {
                Some(n) => write!(f, "{n}")?,
                None => f.write_str("?")?,
            }
        }
        match &self.version {
            Some(v) => write!(f, " ({v})"),
            None => Ok(()),
        }
    }
}

impl ToXml for ServerVersionInfo {
    fn to_xml(&self, w: &mut XmlWriter) {
        let numbers = [
            ("MajorVersion", self.major_version),
            ("MinorVersion", self.minor_version),
            ("MajorBuildNumber", self.major_build_number),
            ("MinorBuildNumber", self.minor_build_number),
        ];
        let mut digits = [itoa::Buffer::new(); 4];
        let mut attrs = [("", ""); 5];
        let mut n = 0;
        for ((name, value), digits) in numbers.into_iter().zip(&mut digits) {
            if let Some(value) = value {
                attrs[n] = (name, digits.format(value));
                n += 1;
            }
        }
        if let Some(version) = &self.version {
            attrs[n] = ("Version", version);
            n += 1;
        }
        w.empty("t:ServerVersionInfo", &attrs[..n]);
    }
}

impl FromXml for ServerVersionInfo {
    fn from_xml(e: &Element) -> Result<Self, XmlError> {
        Ok(Self {
            major_version: e.parse_attr("MajorVersion")?,
            minor_version: e.parse_attr("MinorVersion")?,
            major_build_number: e.parse_attr("MajorBuildNumber")?,
            minor_build_number: e.parse_attr("MinorBuildNumber")?,
            version: e.attr("Version").map(str::to_owned),
        })
    }
}

/// A qualified name as a fault code carries it, with the prefix resolved.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FaultCode {
    /// The namespace the prefix was bound to, if any.
    pub namespace: Option<String>,
    /// The local part, e.g. `Client` or `ErrorSchemaValidation`.
    pub name: String,
}

/// The `detail` of an EWS SOAP Fault.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct FaultDetail {
    /// `e:ResponseCode`.
    pub response_code: Option<ResponseCode>,
    /// `e:Message`.
    pub message: Option<String>,
    /// `t:MessageXml/t:LineNumber`: where a schema violation was found.
    pub line_number: Option<u32>,
    /// `t:MessageXml/t:LinePosition`.
    pub line_position: Option<u32>,
    /// `t:MessageXml/t:Violation`: what the violation was.
    pub violation: Option<String>,
    /// `t:MessageXml/t:Value`, as `(Name, value)`, e.g. `("BackOffMilliseconds", "30000")` on
    /// ErrorServerBusy.
    /// <https://learn.microsoft.com/en-us/exchange/client-developer/exchange-web-services/ews-throttling-in-exchange>
    pub values: Vec<(String, String)>,
}

impl FaultDetail {
    /// The `t:MessageXml/t:Value` named `name`.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// How long ErrorServerBusy asks the client to wait before it tries again.
    pub fn back_off(&self) -> Option<std::time::Duration> {
        self.value("BackOffMilliseconds")
            .and_then(|v| v.trim().parse().ok())
            .map(std::time::Duration::from_millis)
    }

    fn has_message_xml(&self) -> bool {
        self.line_number.is_some()
            || self.line_position.is_some()
            || self.violation.is_some()
            || !self.values.is_empty()
    }
}

/// `soap:Fault`: how Exchange answers a request it cannot even read as an operation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SoapFault {
    /// `faultcode`.
    pub fault_code: FaultCode,
    /// `faultstring`.
    pub fault_string: String,
    /// `faultstring/@xml:lang`, e.g. `en-US`.
    pub fault_string_lang: Option<String>,
    /// `faultactor`.
    pub fault_actor: Option<String>,
    /// `detail`, when it carries EWS error information.
    pub detail: Option<FaultDetail>,
}

impl SoapFault {
    /// The EWS response code of the fault: the detail's, else the fault code's local name.
    pub fn response_code(&self) -> Option<ResponseCode> {
        self.detail
            .as_ref()
            .and_then(|d| d.response_code)
            .or_else(|| self.fault_code.name.parse().ok())
    }
}

impl ToXml for SoapFault {
    fn to_xml(&self, w: &mut XmlWriter) {
        w.start("soap:Fault", &[]);
        match self.fault_code.namespace.as_deref() {
            Some(SOAP_NS) => w.text_element("faultcode", &format!("soap:{}", self.fault_code.name)),
            Some(ns) => {
                w.start("faultcode", &[("xmlns:a", ns)]);
                w.text(&format!("a:{}", self.fault_code.name));
                w.end("faultcode");
            }
            None => w.text_element("faultcode", &self.fault_code.name),
        }
        match self.fault_string_lang.as_deref() {
            Some(lang) => {
                w.start("faultstring", &[("xml:lang", lang)]);
                w.text(&self.fault_string);
                w.end("faultstring");
            }
            None => w.text_element("faultstring", &self.fault_string),
        }
        w.opt_text_element("faultactor", self.fault_actor.as_deref());
        if let Some(d) = &self.detail {
            w.start("detail", &[]);
            if let Some(code) = d.response_code {
                w.start("e:ResponseCode", &[("xmlns:e", ERRORS_NS)]);
                w.text(code.as_str());
                w.end("e:ResponseCode");
            }
            if let Some(message) = &d.message {
                w.start("e:Message", &[("xmlns:e", ERRORS_NS)]);
                w.text(message);
                w.end("e:Message");
            }
            if d.has_message_xml() {
                w.start("t:MessageXml", &[("xmlns:t", TYPES_NS)]);
                w.opt_text_element(
                    "t:LineNumber",
                    d.line_number.map(|n| n.to_string()).as_deref(),
                );
                w.opt_text_element(
                    "t:LinePosition",
                    d.line_position.map(|n| n.to_string()).as_deref(),
                );
                w.opt_text_element("t:Violation", d.violation.as_deref());
                for (name, value) in &d.values {
                    w.start("t:Value", &[("Name", name)]);
                    w.text(value);
                    w.end("t:Value");
                }
                w.end("t:MessageXml");
            }
            w.end("detail");
        }
        w.end("soap:Fault");
    }
}

impl SoapFault {
    /// Reads a `soap:Fault`; `scopes` are its ancestors, outermost first, for resolving the
    /// prefix in `faultcode`.
    fn read(fault: &Element, scopes: &[&Element]) -> Result<Self, XmlError> {
        // SOAP 1.1 puts faultcode, faultstring, faultactor and detail in no namespace.
        let plain = |name: &str| {
            fault
                .elements()
                .find(|e| e.namespace.is_none() && e.name == name)
        };
        let code_el = plain("faultcode").ok_or_else(|| fault.error("`faultcode` is required"))?;
        let code_text = code_el.text();
        let code_text = code_text.trim();
        let fault_code = match code_text.split_once(':') {
            None => FaultCode {
                namespace: lookup_prefix("", code_el, fault, scopes),
                name: code_text.to_owned(),
            },
            Some((prefix, local)) => FaultCode {
                namespace: Some(lookup_prefix(prefix, code_el, fault, scopes).ok_or_else(
                    || code_el.error(format!("faultcode prefix `{prefix}` is not declared")),
                )?),
                name: local.to_owned(),
            },
        };
        let fault_string =
            plain("faultstring").ok_or_else(|| fault.error("`faultstring` is required"))?;
        let fault_string_lang = fault_string
            .attributes
            .iter()
            .find(|a| a.namespace.as_deref() == Some(XML_NS) && a.name == "lang")
            .map(|a| a.value.to_string());
        let fault_string = fault_string.text();
        let detail = match plain("detail") {
            None => None,
            Some(d) => {
                let message_xml = d.child(TYPES_NS, "MessageXml");
                let from_xml = |name: &str| message_xml.and_then(|m| m.child_text(TYPES_NS, name));
                Some(FaultDetail {
                    response_code: d.parse_child(ERRORS_NS, "ResponseCode")?,
                    message: d.child_text(ERRORS_NS, "Message"),
                    line_number: from_xml("LineNumber").and_then(|v| v.trim().parse().ok()),
                    line_position: from_xml("LinePosition").and_then(|v| v.trim().parse().ok()),
                    violation: from_xml("Violation"),
                    values: message_xml
                        .into_iter()
                        .flat_map(Element::elements)
                        .filter(|v| v.is(TYPES_NS, "Value"))
                        .map(|v| (v.attr("Name").unwrap_or_default().to_owned(), v.text()))
                        .collect(),
                })
            }
        };
        Ok(Self {
            fault_code,
            fault_string,
            fault_string_lang,
            fault_actor: plain("faultactor").map(Element::text),
            detail,
        })
    }
}

fn lookup_prefix(
    prefix: &str,
    code: &Element,
    fault: &Element,
    scopes: &[&Element],
) -> Option<String> {
    [code, fault]
        .into_iter()
        .chain(scopes.iter().rev().copied())
        .find_map(|e| {
            e.namespace_declarations
                .iter()
                .find(|(p, _)| p == prefix)
                .map(|(_, uri)| uri.to_string())
        })
}

/// What a response's Body holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseBody {
    /// An operation's response messages.
    Response(OperationResponse),
    /// A SOAP Fault.
    Fault(SoapFault),
}

/// A whole response: the `ServerVersionInfo` header and the Body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseEnvelope {
    /// `t:ServerVersionInfo` from the Header, if the server sent one.
    pub server_version_info: Option<ServerVersionInfo>,
    /// The Body's content.
    pub body: ResponseBody,
}

impl ResponseEnvelope {
    /// Parses a response envelope, or a bare `m:{Operation}Response` element.
    ///
    /// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/senditemresponse>
    pub fn parse(doc: &[u8]) -> Result<Self, XmlError> {
        Self::from_element(&Element::parse(doc)?)
    }

    /// Reads a response envelope, or a bare `m:{Operation}Response` element, from its tree.
    pub fn from_element(root: &Element) -> Result<Self, XmlError> {
        Self::read(root).map_err(|e| e.located_in(root))
    }

    fn read(root: &Element) -> Result<Self, XmlError> {
        // An `Envelope` in the wrong namespace is reported as such, not as an unknown response.
        if root.name != "Envelope" {
            return Ok(Self {
                server_version_info: None,
                body: ResponseBody::Response(OperationResponse::from_xml(root)?),
            });
        }
        let (header, body) = envelope_parts(root)?;
        let server_version_info = header
            .and_then(|h| h.child(TYPES_NS, "ServerVersionInfo"))
            .map(ServerVersionInfo::from_xml)
            .transpose()?;
        let body_el = body;
        let body = if body_el.is(SOAP_NS, "Fault") {
            let soap_body = root
                .child(SOAP_NS, "Body")
                .ok_or_else(|| root.error("element `Body` is required"))?;
            ResponseBody::Fault(SoapFault::read(body_el, &[root, soap_body])?)
        } else {
            ResponseBody::Response(OperationResponse::from_xml(body_el)?)
        };
        Ok(Self {
            server_version_info,
            body,
        })
    }

    /// The serialized envelope, as the mock sends it: a Header with `ServerVersionInfo` when
    /// there is one, and none otherwise (Exchange sends a fault without a Header).
    pub fn to_xml(&self) -> String {
        let mut w = XmlWriter::new();
        w.envelope_start();
        if let Some(info) = &self.server_version_info {
            w.start("soap:Header", &[]);
            info.to_xml(&mut w);
            w.end("soap:Header");
        }
        w.start("soap:Body", &[]);
        match &self.body {
            ResponseBody::Response(r) => r.to_xml(&mut w),
            ResponseBody::Fault(f) => f.to_xml(&mut w),
        }
        w.end("soap:Body");
        w.end("soap:Envelope");
        w.into_string()
    }

    /// The operation response, if the Body is not a fault.
    pub fn response(&self) -> Option<&OperationResponse> {
        match &self.body {
            ResponseBody::Response(r) => Some(r),
            ResponseBody::Fault(_) => None,
        }
    }

    /// The fault, if the Body is one.
    pub fn fault(&self) -> Option<&SoapFault> {
        match &self.body {
            ResponseBody::Fault(f) => Some(f),
            ResponseBody::Response(_) => None,
        }
    }
}

/// Splits a `soap:Envelope` into its optional Header and the single element inside its Body.
pub fn envelope_parts(root: &Element) -> Result<(Option<&Element>, &Element), XmlError> {
    if !root.is(SOAP_NS, "Envelope") {
        let ns = root.namespace.as_deref().unwrap_or("no namespace");
        return Err(root.error(format!(
            "expected a SOAP 1.1 Envelope ({SOAP_NS}), found `{}` in {ns}",
            root.name
        )));
    }
    let header = root.child(SOAP_NS, "Header");
    let body = root.required_child(SOAP_NS, "Body")?;
    let mut children = body.elements();
    let first = children
        .next()
        .ok_or_else(|| body.error("the Body is empty"))?;
    if let Some(extra) = children.next() {
        return Err(extra.error("the Body holds more than one element"));
    }
    Ok((header, first))
}
