//! App-only access, as Exchange Online grants it: the application gets a token with the OAuth
//! 2.0 client-credentials grant and reaches every mailbox by impersonation, naming in
//! `X-AnchorMailbox` the mailbox each request acts on.
//!
//! - [`App`] is the token source: it asks the token endpoint for a token (RFC 6749 section
//!   4.4), keeps it, and asks again before it expires. Concurrent requests wait for one refresh
//!   rather than each starting their own. Every token it gets is added to the process's
//!   redaction set ([`crate::secrets::install`]) before it is used.
//! - [`AppAccess`] is one account reached through the app: requests as that account carry
//!   `ExchangeImpersonation/ConnectingSID/PrimarySmtpAddress` with its address, unless the
//!   request already names whom it impersonates.
//! - [`acting_on`] reads from a request's body which mailbox it acts on, for `X-AnchorMailbox`.
//!
//! References:
//! - <https://learn.microsoft.com/en-us/exchange/client-developer/exchange-web-services/how-to-authenticate-an-ews-application-by-using-oauth>
//! - <https://learn.microsoft.com/en-us/exchange/client-developer/exchange-web-services/impersonation-and-ews-in-exchange>
//! - <https://www.rfc-editor.org/rfc/rfc6749#section-4.4>

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use quick_xml::events::Event;

use crate::ews::ConnectingSid;

use super::auth::Secret;
use super::client::{Client, Exchange, Post, TargetError};

/// What Exchange Online's EWS accepts as the scope of an app-only token.
/// <https://learn.microsoft.com/en-us/exchange/client-developer/exchange-web-services/how-to-authenticate-an-ews-application-by-using-oauth>
pub const DEFAULT_SCOPE: &str = "https://outlook.office365.com/.default";

/// The most bytes of a token endpoint's answer that are read; real answers are a few KiB.
const MAX_TOKEN_ANSWER_BYTES: usize = 64 * 1024;

/// How long before its announced expiry a token is replaced: a quarter of its lifetime, at
/// most five minutes, so that a request never leaves with a token about to lapse on the way.
fn refresh_margin(lifetime: Duration) -> Duration {
    (lifetime / 4).min(Duration::from_secs(300))
}

/// The types namespace, in which `ExchangeImpersonation` is written.
const TYPES_NS: &str = "http://schemas.microsoft.com/exchange/services/2006/types";

/// How the app logs in: the `[app]` table of a target file.
#[derive(Clone)]
pub struct AppConfig {
    /// The token endpoint, e.g. `https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token`.
    pub token_url: String,
    /// The application (client) id.
    pub client_id: String,
    /// The client secret.
    pub client_secret: Secret,
    /// The scope asked for ([`DEFAULT_SCOPE`] unless the file says otherwise).
    pub scope: String,
}

struct Token {
    value: Secret,
    /// When the token is replaced before use; `None` when the endpoint gave no lifetime, in
    /// which case only a 401 replaces it.
    fresh_until: Option<Instant>,
}

/// The application's token source, shared by every account reached through it.
pub struct App {
    config: AppConfig,
    /// Addresses by SID, for the anchor of a request that impersonates by SID.
    addresses_by_sid: BTreeMap<String, String>,
    /// Held while a token is fetched: requests that need one meanwhile wait for that one.
    current: tokio::sync::Mutex<Option<Token>>,
    /// Every token obtained, so that outputs can be checked for them.
    issued: Mutex<Vec<Secret>>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret or a token.
        f.debug_struct("App")
            .field("token_url", &self.config.token_url)
            .field("client_id", &self.config.client_id)
            .field("scope", &self.config.scope)
            .finish_non_exhaustive()
    }
}

impl App {
    /// A token source for `config`; `addresses_by_sid` maps the accounts' SIDs to their
    /// addresses.
    pub fn new(config: AppConfig, addresses_by_sid: BTreeMap<String, String>) -> Self {
        Self {
            config,
            addresses_by_sid,
            current: tokio::sync::Mutex::new(None),
            issued: Mutex::new(Vec::new()),
        }
    }

    /// The client secret.
    pub fn client_secret(&self) -> &Secret {
        &self.config.client_secret
    }

    /// Every token obtained so far.
    pub fn issued_tokens(&self) -> Vec<Secret> {
        self.issued
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// A token that is still fresh, fetched if the one held is not.
    pub async fn token(&self, http: &reqwest::Client) -> Result<Secret, TargetError> {
        let mut current = self.current.lock().await;
        if let Some(t) = current.as_ref()
            && t.fresh_until.is_none_or(|until| Instant::now() < until)
        {
            return Ok(t.value.clone());
        }
        let token = self.fetch(http).await?;
        let value = token.value.clone();
        *current = Some(token);
        Ok(value)
    }

    /// A token to replace `rejected`, which the server refused: a new one, unless another
    /// request already replaced it.
    pub async fn renew(
        &self,
        http: &reqwest::Client,
        rejected: &Secret,
    ) -> Result<Secret, TargetError> {
        let mut current = self.current.lock().await;
        if let Some(t) = current.as_ref()
            && t.value != *rejected
        {
            return Ok(t.value.clone());
        }
        let token = self.fetch(http).await?;
        let value = token.value.clone();
        *current = Some(token);
        Ok(value)
    }

    /// One client-credentials grant (RFC 6749 section 4.4.2, the client authenticated with
    /// `client_id` and `client_secret` in the body, section 2.3.1).
    async fn fetch(&self, http: &reqwest::Client) -> Result<Token, TargetError> {
        let url = &self.config.token_url;
        let refused = |reason: String| TargetError::Login {
            url: url.clone(),
            scheme: "OAuth",
            account: format!("application {}", self.config.client_id),
            reason,
        };
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.config.client_id.as_str()),
            ("client_secret", self.config.client_secret.expose()),
            ("scope", self.config.scope.as_str()),
        ];
        let asked = Instant::now();
        let mut response = http.post(url).form(&form).send().await.map_err(|e| {
            let reason = error_chain(&e);
            if e.is_connect() {
                TargetError::Unreachable {
                    url: url.clone(),
                    reason,
                }
            } else if e.is_timeout() {
                refused(format!(
                    "the token endpoint did not answer in time: {reason}"
                ))
            } else {
                refused(format!(
                    "the exchange with the token endpoint broke off: {reason}"
                ))
            }
        })?;
        let status = response.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| {
            refused(format!(
                "reading the token endpoint's answer: {}",
                error_chain(&e)
            ))
        })? {
            if body.len() + chunk.len() > MAX_TOKEN_ANSWER_BYTES {
                return Err(refused(format!(
                    "the token endpoint's answer exceeds {MAX_TOKEN_ANSWER_BYTES} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        let answer: serde_json::Value = serde_json::from_slice(&body).map_err(|_| {
            refused(format!(
                "the token endpoint answered HTTP {status} with a body that is not JSON"
            ))
        })?;
        if status != 200 {
            // RFC 6749 section 5.2: `error` and, optionally, `error_description`.
            let text = |key: &str| answer.get(key).and_then(|v| v.as_str()).unwrap_or_default();
            return Err(refused(format!(
                "the token endpoint answered HTTP {status} {}{}{} (check client_id, the secret in \
                 client_secret_env and scope)",
                text("error"),
                if text("error_description").is_empty() {
                    ""
                } else {
                    ": "
                },
                text("error_description"),
            )));
        }
        let value = answer
            .get("access_token")
            .and_then(|v| v.as_str())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| refused("the token endpoint's answer has no access_token".into()))?;
        // Register the token for redaction before anything can print it.
        crate::secrets::install(crate::secrets::Secrets::from_values([value]));
        let value = Secret::new(value);
        self.issued
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(value.clone());
        // RFC 6749 section 5.1: token_type is case-insensitive and must be one the client
        // understands; only Bearer (RFC 6750) is.
        let token_type = answer.get("token_type").and_then(|v| v.as_str());
        if !token_type.is_some_and(|t| t.eq_ignore_ascii_case("bearer")) {
            return Err(refused(format!(
                "the token endpoint issued a token of type {:?}; only Bearer is supported",
                token_type.unwrap_or_default()
            )));
        }
        // `expires_in` is a number of seconds; Azure AD's v1 endpoint writes it as a string.
        let lifetime = match answer.get("expires_in") {
            Some(serde_json::Value::Number(n)) => n.as_u64(),
            Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        }
        .map(Duration::from_secs);
        Ok(Token {
            value,
            fresh_until: lifetime.map(|l| asked + l - refresh_margin(l)),
        })
    }
}

fn error_chain(e: &reqwest::Error) -> String {
    let mut causes = vec![e.to_string()];
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        causes.push(s.to_string());
        source = s.source();
    }
    causes.join(": ")
}

/// One account reached through the app: every request as it impersonates `mailbox`.
#[derive(Clone, Debug)]
pub struct AppAccess {
    /// The account's primary SMTP address.
    pub mailbox: String,
    /// The app's token source.
    pub app: Arc<App>,
}

impl AppAccess {
    /// The account at `mailbox`, reached through `app`.
    pub fn new(mailbox: impl Into<String>, app: Arc<App>) -> Self {
        Self {
            mailbox: mailbox.into(),
            app,
        }
    }

    /// `post` impersonating this account: an `ExchangeImpersonation` header naming the
    /// account's address is added to the SOAP Header, unless the request names whom it
    /// impersonates itself (a case about impersonation keeps its own header) or has no SOAP
    /// envelope to add it to (it goes as it is, and the server refuses it as it would anyway).
    pub fn impersonating(&self, post: Post) -> Post {
        match with_impersonation(&post.body, &self.mailbox) {
            Some(body) => Post { body, ..post },
            None => post,
        }
    }

    /// The mailbox `post` acts on, for `X-AnchorMailbox`: the one it impersonates (looked up
    /// by SID in the target file's accounts when it names it by SID), else this account's.
    pub fn anchor(&self, post: &Post) -> String {
        match acting_on(&post.body) {
            Some(Acting::Impersonated(ConnectingSid::Sid(sid))) => {
                self.app.addresses_by_sid.get(&sid).cloned()
            }
            Some(Acting::Impersonated(other)) => Some(other.value().to_owned()),
            Some(Acting::Mailbox(address)) => Some(address),
            None => None,
        }
        .unwrap_or_else(|| self.mailbox.clone())
    }
}

impl PartialEq for AppAccess {
    fn eq(&self, other: &Self) -> bool {
        self.mailbox == other.mailbox && Arc::ptr_eq(&self.app, &other.app)
    }
}

impl Eq for AppAccess {}

impl Client {
    /// Sends `post` once as `access`: impersonating its account, with a fresh token and the
    /// anchor mailbox. A 401 is answered before the request runs, so the request is sent once
    /// more with a new token when the server refused the one it carried (it expired by the
    /// server's clock; RFC 6750 section 3.1, `invalid_token`). A 401 to the new token is the
    /// answer.
    pub(super) async fn send_app(
        &self,
        access: &AppAccess,
        post: Post,
    ) -> Result<(Exchange, Option<Duration>), TargetError> {
        let post = access.impersonating(post);
        let anchor = access.anchor(&post);
        let bearer = |token: &Secret| format!("Bearer {}", token.expose());
        let token = access.app.token(self.http()).await?;
        let answer = self
            .send_with(&bearer(&token), Some(&anchor), post.clone())
            .await?;
        if answer.0.status != 401 {
            return Ok(answer);
        }
        let token = access.app.renew(self.http(), &token).await?;
        self.send_with(&bearer(&token), Some(&anchor), post).await
    }
}

/// The mailbox a request acts on, as its body names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acting {
    /// `soap:Header/t:ExchangeImpersonation/t:ConnectingSID`.
    Impersonated(ConnectingSid),
    /// The first `DistinguishedFolderId/Mailbox/EmailAddress`: another mailbox's folder.
    Mailbox(String),
}

/// Which mailbox the request in `body` acts on: the impersonated account, else the first
/// mailbox a `DistinguishedFolderId` names, else `None` (the caller's own). Reading stops at
/// the first thing that is not well-formed XML, keeping what was found before it.
pub fn acting_on(body: &[u8]) -> Option<Acting> {
    let mut reader = quick_xml::Reader::from_reader(body);
    reader.config_mut().trim_text(false);
    // Local names of the open elements.
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut mailbox = None;
    loop {
        match reader.read_event() {
            Ok(Event::Start(start)) => {
                path.push(start.local_name().as_ref().to_owned());
                text.clear();
            }
            Ok(Event::Text(t)) => text.push_str(&t.xml10_content()),
            Ok(Event::CData(t)) => text.push_str(&t.xml10_content()),
            Ok(Event::GeneralRef(r)) => {
                if let Ok(Some(c)) = r.resolve_char_ref() {
                    text.push(c);
                } else if let Some(s) =
                    quick_xml::escape::resolve_predefined_entity(&r.xml10_content())
                {
                    text.push_str(s);
                }
            }
            Ok(Event::End(_)) => {
                let local = path.pop().unwrap_or_default();
                let parent = path.last().map(String::as_str);
                let value = text.trim().to_owned();
                text.clear();
                if parent == Some("ConnectingSID")
                    && path.iter().any(|p| p == "ExchangeImpersonation")
                {
                    let sid = match local.as_str() {
                        "PrincipalName" => ConnectingSid::PrincipalName(value),
                        "SID" => ConnectingSid::Sid(value),
                        "PrimarySmtpAddress" => ConnectingSid::PrimarySmtpAddress(value),
                        "SmtpAddress" => ConnectingSid::SmtpAddress(value),
                        _ => continue,
                    };
                    return Some(Acting::Impersonated(sid));
                }
                if mailbox.is_none()
                    && local == "EmailAddress"
                    && parent == Some("Mailbox")
                    && path.len() >= 2
                    && path[path.len() - 2] == "DistinguishedFolderId"
                    && !value.is_empty()
                {
                    mailbox = Some(value);
                }
            }
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => {}
        }
    }
    mailbox.map(Acting::Mailbox)
}

/// `body` with an `ExchangeImpersonation` header naming `address` by `PrimarySmtpAddress`, or
/// `None` when the body impersonates someone already or has no SOAP envelope to add it to.
/// The header declares its own namespace, so it fits whatever prefixes the body uses; the
/// rest of the bytes are kept as they are.
pub fn with_impersonation(body: &[u8], address: &str) -> Option<Bytes> {
    let address = quick_xml::escape::escape(address);
    let header_block = format!(
        "<t:ExchangeImpersonation xmlns:t=\"{TYPES_NS}\"><t:ConnectingSID>\
         <t:PrimarySmtpAddress>{address}</t:PrimarySmtpAddress></t:ConnectingSID>\
         </t:ExchangeImpersonation>"
    );
    let mut reader = quick_xml::Reader::from_reader(body);
    // The envelope's qualified-name prefix (`soap:`), once its start tag is read.
    let mut prefix: Option<String> = None;
    // Where a header block goes: right after `<soap:Header>`.
    let mut insert_at: Option<usize> = None;
    // At the body, the header is over: the block goes into it, or into a new one before the body.
    let before_body = |p: &str, insert_at: Option<usize>, body_at: usize| match insert_at {
        Some(at) => splice(body, at..at, &header_block),
        None => splice(
            body,
            body_at..body_at,
            &format!("<{p}Header>{header_block}</{p}Header>"),
        ),
    };
    loop {
        let before = usize::try_from(reader.buffer_position()).ok()?;
        let event = reader.read_event().ok()?;
        let after = usize::try_from(reader.buffer_position()).ok()?;
        match event {
            Event::Start(start) => {
                let local = start.local_name();
                let name = start.name();
                let this_prefix = name
                    .prefix()
                    .map(|p| format!("{}:", p.as_ref()))
                    .unwrap_or_default();
                match (&prefix, local.as_ref()) {
                    (None, "Envelope") => prefix = Some(this_prefix),
                    (None, _) => return None,
                    (Some(_), "Header") if insert_at.is_none() => insert_at = Some(after),
                    (Some(_), "ExchangeImpersonation") => return None,
                    (Some(p), "Body") => return Some(before_body(p, insert_at, before)),
                    _ => {}
                }
            }
            Event::Empty(start) => match (&prefix, start.local_name().as_ref()) {
                (None, _) => return None,
                (Some(p), "Header") if insert_at.is_none() => {
                    let text = format!("<{p}Header>{header_block}</{p}Header>");
                    return Some(splice(body, before..after, &text));
                }
                (Some(_), "ExchangeImpersonation") => return None,
                (Some(p), "Body") => return Some(before_body(p, insert_at, before)),
                _ => {}
            },
            Event::Eof => return None,
            _ => {}
        }
    }
}

fn splice(body: &[u8], range: std::ops::Range<usize>, text: &str) -> Bytes {
    let mut out = Vec::with_capacity(body.len() + text.len());
    out.extend_from_slice(&body[..range.start]);
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(&body[range.end..]);
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ews::{DistinguishedFolderName, GetFolder, RequestEnvelope, RequestHeaders, Shape};

    const PRINCIPAL: &str = "boss@example.com";

    fn get_folder(of: &str, headers: RequestHeaders) -> Vec<u8> {
        RequestEnvelope::new(GetFolder {
            folder_shape: Shape::new(crate::ews::BaseShape::IdOnly),
            folder_ids: vec![crate::target::calls::folder_of(
                of,
                DistinguishedFolderName::Inbox,
            )],
        })
        .with_headers(headers)
        .to_xml()
        .into_bytes()
    }

    fn parsed(body: &[u8]) -> RequestEnvelope {
        RequestEnvelope::parse(body).expect("still an EWS request")
    }

    #[test]
    fn a_request_without_a_header_gets_one_that_impersonates_the_account() {
        let body = get_folder(PRINCIPAL, RequestHeaders::default());
        let out = with_impersonation(&body, "helper@example.com").expect("added");
        assert_eq!(
            parsed(&out).headers.exchange_impersonation,
            Some(ConnectingSid::PrimarySmtpAddress(
                "helper@example.com".into()
            ))
        );
        assert_eq!(parsed(&out).body, parsed(&body).body);
        assert_eq!(
            acting_on(&out),
            Some(Acting::Impersonated(ConnectingSid::PrimarySmtpAddress(
                "helper@example.com".into()
            )))
        );
    }

    #[test]
    fn a_header_with_other_blocks_keeps_them_and_an_own_impersonation_is_kept() {
        let versioned = RequestHeaders {
            request_server_version: Some(crate::ews::ExchangeVersion::Exchange2016),
            ..RequestHeaders::default()
        };
        let body = get_folder(PRINCIPAL, versioned.clone());
        let out = parsed(&with_impersonation(&body, "carol@example.com").unwrap());
        assert_eq!(
            out.headers.request_server_version,
            versioned.request_server_version
        );
        assert!(out.headers.exchange_impersonation.is_some());

        let own = RequestHeaders {
            exchange_impersonation: Some(ConnectingSid::Sid("S-1-5-21-1".into())),
            ..RequestHeaders::default()
        };
        assert_eq!(with_impersonation(&get_folder(PRINCIPAL, own), "x@y"), None);
    }

    #[test]
    fn raw_bodies_with_any_prefix_or_an_empty_header_are_handled_and_garbage_is_left_alone() {
        let raw = br#"<?xml version="1.0"?>
<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Header/><e:Body><m:SendItem xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"/></e:Body></e:Envelope>"#;
        let out = with_impersonation(raw, "a&b@example.com").unwrap();
        let text = String::from_utf8(out.to_vec()).unwrap();
        assert!(
            text.contains("<e:Header><t:ExchangeImpersonation"),
            "{text}"
        );
        assert!(text.contains("a&amp;b@example.com"), "{text}");
        let root = crate::ews::xml::Element::parse(&out).expect("well-formed");
        assert_eq!(root.name, "Envelope");

        let no_header = br#"<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body></Body></Envelope>"#;
        let text =
            String::from_utf8(with_impersonation(no_header, "a@b").unwrap().to_vec()).unwrap();
        assert!(
            text.starts_with(
                r#"<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Header><t:Ex"#
            ),
            "{text}"
        );

        assert_eq!(with_impersonation(b"not xml at all <", "a@b"), None);
        assert_eq!(with_impersonation(b"<html><body/></html>", "a@b"), None);
        // Bytes after the header that are not UTF-8 stay as they were.
        let mut mangled = get_folder(PRINCIPAL, RequestHeaders::default());
        let at = memchr::memmem::find(&mangled, b"<soap:Body>").unwrap() + 11;
        mangled.splice(at..at, [0xFF, 0xFE]);
        let out = with_impersonation(&mangled, "a@b").unwrap();
        assert!(memchr::memmem::find(&out, &[0xFF, 0xFE]).is_some());
    }

    #[test]
    fn the_anchor_is_the_impersonated_mailbox_else_the_named_one_else_none() {
        assert_eq!(
            acting_on(&get_folder(PRINCIPAL, RequestHeaders::default())),
            Some(Acting::Mailbox(PRINCIPAL.into()))
        );
        let impersonating = RequestHeaders {
            exchange_impersonation: Some(ConnectingSid::SmtpAddress("carol@example.com".into())),
            ..RequestHeaders::default()
        };
        assert_eq!(
            acting_on(&get_folder(PRINCIPAL, impersonating)),
            Some(Acting::Impersonated(ConnectingSid::SmtpAddress(
                "carol@example.com".into()
            )))
        );
        let own = RequestEnvelope::new(GetFolder {
            folder_shape: Shape::new(crate::ews::BaseShape::IdOnly),
            folder_ids: vec![crate::ews::TargetFolderId::DistinguishedFolderId(
                crate::ews::DistinguishedFolderId {
                    id: DistinguishedFolderName::Inbox,
                    change_key: None,
                    mailbox: None,
                },
            )],
        })
        .to_xml();
        assert_eq!(acting_on(own.as_bytes()), None);
        assert_eq!(acting_on(b"\xff\xfe garbage"), None);
    }

    #[test]
    fn an_account_anchors_on_the_mailbox_a_sid_names_and_never_prints_secrets() {
        let app = Arc::new(App::new(
            AppConfig {
                token_url: "https://login.example/token".into(),
                client_id: "client-1".into(),
                client_secret: Secret::new("canary-client-secret-5"),
                scope: DEFAULT_SCOPE.into(),
            },
            BTreeMap::from([("S-1-5-21-7".to_owned(), PRINCIPAL.to_owned())]),
        ));
        let access = AppAccess::new("svc@example.com", app.clone());
        let by_sid = RequestHeaders {
            exchange_impersonation: Some(ConnectingSid::Sid("S-1-5-21-7".into())),
            ..RequestHeaders::default()
        };
        let post = |body: Vec<u8>| Post {
            body: body.into(),
            content_type: "text/xml".into(),
            soap_action: None,
        };
        assert_eq!(
            access.anchor(&post(get_folder("carol@example.com", by_sid))),
            PRINCIPAL
        );
        let unknown_sid = RequestHeaders {
            exchange_impersonation: Some(ConnectingSid::Sid("not-a-sid".into())),
            ..RequestHeaders::default()
        };
        assert_eq!(
            access.anchor(&post(get_folder(PRINCIPAL, unknown_sid))),
            "svc@example.com"
        );
        let own = access.impersonating(post(get_folder(PRINCIPAL, RequestHeaders::default())));
        assert_eq!(access.anchor(&own), "svc@example.com");
        assert!(!format!("{access:?}").contains("canary"));
        assert_eq!(access, AppAccess::new("svc@example.com", app));
    }

    #[test]
    fn tokens_are_replaced_a_quarter_of_their_life_early_and_at_most_five_minutes() {
        assert_eq!(
            refresh_margin(Duration::from_secs(4)),
            Duration::from_secs(1)
        );
        assert_eq!(
            refresh_margin(Duration::from_secs(3600)),
            Duration::from_secs(300)
        );
    }
}
