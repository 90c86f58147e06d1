//! The HTTP client that carries requests to a target: one POST, timed, with the account's
//! credentials, returning the whole exchange as data.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};

use crate::ews::{RequestEnvelope, ResponseEnvelope, XmlError};
use crate::limits::DEFAULT_MAX_RESPONSE_BYTES;

use super::auth::Auth;
use super::calls::Account;

/// Bodies up to this size are read freely; EWS answers to the harness's requests are a few
/// kilobytes.
const SMALL_BODY_BYTES: usize = 256 * 1024;

/// Permits to read a body larger than [`SMALL_BODY_BYTES`]: at most this many are read at once
/// in the process, whatever the number of cases running, which bounds what hostile answers
/// cost while they are read (4 × [`DEFAULT_MAX_RESPONSE_BYTES`] at most).
static LARGE_READS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);

/// Why a request did not produce a response.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// No connection could be made: the request certainly was not processed.
    #[error("cannot reach {url}: {reason}")]
    Unreachable {
        /// The endpoint.
        url: String,
        /// What the network said.
        reason: String,
    },
    /// No complete response within the time allowed; the request may have been processed.
    #[error("no response from {url} within {after:?}")]
    Timeout {
        /// The endpoint.
        url: String,
        /// How long the client waited.
        after: Duration,
    },
    /// The connection broke after the request was sent; it may have been processed.
    #[error("the exchange with {url} broke off: {reason}")]
    Transport {
        /// The endpoint.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The answer's body is longer than the client reads; reading stopped at the limit and
    /// the connection was dropped. The request may have been processed.
    #[error("the answer exceeds {limit} bytes; reading from {url} stopped there")]
    TooLarge {
        /// The endpoint.
        url: String,
        /// The most bytes of a body the client reads ([`Client::max_response_bytes`]).
        limit: usize,
    },
    /// The client could not be configured (URL, CA certificate).
    #[error("{0}")]
    Config(String),
    /// The server refused to log the account in (a connection-based login such as NTLM); the
    /// request was not sent.
    #[error("{scheme} login as {account} at {url} failed: {reason}")]
    Login {
        /// The endpoint.
        url: String,
        /// The authentication scheme (`NTLM`).
        scheme: &'static str,
        /// The account's user name.
        account: String,
        /// What went wrong, and what to check.
        reason: String,
    },
    /// The server kept asking the account to back off (ErrorServerBusy, or 503/429 with
    /// `Retry-After`) for longer than the client waits; the request was not executed.
    #[error(
        "throttled for longer than {limit:?}: {url} asked {account} to back off again after {waited:?} of waiting; the request was not executed"
    )]
    Throttled {
        /// The endpoint.
        url: String,
        /// Who the back-off was for.
        account: String,
        /// The longest a request waits out back-offs: the client's timeout.
        limit: Duration,
        /// How long it had waited.
        waited: Duration,
    },
}

impl TargetError {
    /// True when the request certainly never reached the server, so sending it again is safe.
    pub fn is_retryable(&self) -> bool {
        matches!(self, TargetError::Unreachable { .. })
    }

    /// True when the request went out and its answer was lost (a timeout, a broken
    /// connection): the server may have executed it, so it is never sent again.
    pub fn answer_lost(&self) -> bool {
        matches!(
            self,
            TargetError::Timeout { .. } | TargetError::Transport { .. }
        )
    }
}

/// A request as it goes on the wire.
#[derive(Debug, Clone)]
pub struct Post {
    /// The body bytes, sent as they are; cheap to clone.
    pub body: Bytes,
    /// `Content-Type`.
    pub content_type: String,
    /// `SOAPAction`, if any.
    pub soap_action: Option<String>,
}

impl Post {
    /// A SOAP 1.1 request with the usual headers.
    pub fn soap(envelope: &RequestEnvelope) -> Self {
        Self {
            body: Bytes::from(envelope.to_xml()),
            content_type: "text/xml; charset=utf-8".into(),
            soap_action: Some(format!(
                "http://schemas.microsoft.com/exchange/services/2006/messages/{}",
                envelope.body.name()
            )),
        }
    }

    /// The mailbox the request acts on as its body names it, for `X-AnchorMailbox`: the one it
    /// impersonates by address, else the first mailbox a `DistinguishedFolderId` names; `None`
    /// for the sender's own (see [`super::oauth::acting_on`]).
    /// <https://learn.microsoft.com/en-us/archive/blogs/webdav_101/best-practices-important-and-critical-headers-for-ews>
    pub fn anchor(&self) -> Option<String> {
        match super::oauth::acting_on(&self.body)? {
            super::oauth::Acting::Impersonated(crate::ews::ConnectingSid::Sid(_)) => None,
            super::oauth::Acting::Impersonated(sid) => Some(sid.value().to_owned()),
            super::oauth::Acting::Mailbox(address) => Some(address),
        }
    }

    /// The operation its `SOAPAction` names (`SendItem`), or `request` without one.
    pub fn operation(&self) -> &str {
        self.soap_action
            .as_deref()
            .and_then(|a| a.rsplit('/').next())
            .unwrap_or("request")
    }
}

/// One request and what came back.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// What was sent.
    pub request: Post,
    /// HTTP status.
    pub status: u16,
    /// The response's `Content-Type`, if any.
    pub content_type: Option<String>,
    /// The response body.
    pub body: Vec<u8>,
    /// Time from sending to the last byte of the response.
    pub elapsed: Duration,
}

impl Exchange {
    /// The response parsed as an EWS envelope.
    pub fn envelope(&self) -> Result<ResponseEnvelope, XmlError> {
        ResponseEnvelope::parse(&self.body)
    }
}

/// TLS and timing options for a client.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Extra CA certificate (PEM) to trust.
    pub ca_cert: Option<std::path::PathBuf>,
    /// Accept any certificate. Loudly discouraged.
    pub insecure: bool,
    /// Per-request timeout.
    pub timeout: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            ca_cert: None,
            insecure: false,
            timeout: Duration::from_secs(30),
        }
    }
}

/// An exchange as a log keeps it: which account sent it, and the exchange.
#[derive(Debug, Clone)]
pub struct Logged {
    /// The account's address (or user name).
    pub account: String,
    /// The exchange.
    pub exchange: Exchange,
}

/// The exchanges a client made, in order; shared by the clones that write to it.
pub type ExchangeLog = Arc<Mutex<Vec<Logged>>>;

/// A keep-alive HTTP client bound to one EWS endpoint.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    url: reqwest::Url,
    timeout: Duration,
    max_response_bytes: usize,
    log: Option<ExchangeLog>,
    gates: Arc<super::gate::AccountGates>,
    throttle: Arc<super::throttle::Throttle>,
    ntlm: Arc<super::ntlm::NtlmConnections>,
    /// Accounts' addresses by [`Auth::identity`], for the anchor of a request that names no
    /// mailbox.
    mailboxes: Arc<std::collections::BTreeMap<String, String>>,
}

impl Client {
    /// A client for the endpoint at `url`.
    pub fn new(url: &str, options: &ClientOptions) -> Result<Self, TargetError> {
        let url = reqwest::Url::parse(url)
            .map_err(|e| TargetError::Config(format!("invalid target URL {url:?}: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(TargetError::Config(format!(
                "target URL {url} must start with https:// (or http://)"
            )));
        }
        let mut builder = reqwest::Client::builder()
            .timeout(options.timeout)
            .pool_max_idle_per_host(64)
            .redirect(reqwest::redirect::Policy::none())
            .danger_accept_invalid_certs(options.insecure);
        if let Some(path) = &options.ca_cert {
            builder = builder.add_root_certificate(load_certificate(path)?);
        }
        let http = builder
            .build()
            .map_err(|e| TargetError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            http,
            timeout: options.timeout,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            log: None,
            gates: Arc::new(super::gate::AccountGates::new(
                super::gate::DEFAULT_PER_ACCOUNT,
            )),
            throttle: Arc::default(),
            mailboxes: Arc::default(),
            ntlm: Arc::new(super::ntlm::NtlmConnections::new(&url, options)),
            url,
        })
    }

    /// The same client letting each account have `limit` requests in flight at once (default
    /// [`super::gate::DEFAULT_PER_ACCOUNT`], under Exchange's `EWSMaxConcurrency`).
    pub fn with_per_account(mut self, limit: usize) -> Self {
        self.gates = Arc::new(super::gate::AccountGates::new(limit));
        self
    }

    /// The same client reading at most `limit` bytes of each answer's body; a longer answer is
    /// [`TargetError::TooLarge`].
    pub fn with_max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// The most bytes of an answer's body this client reads (default
    /// [`DEFAULT_MAX_RESPONSE_BYTES`]).
    pub fn max_response_bytes(&self) -> usize {
        self.max_response_bytes
    }

    /// The same client knowing `accounts`' addresses: a request as one of them that names no
    /// other mailbox is anchored (`X-AnchorMailbox`) on its own.
    pub fn with_accounts<'a>(mut self, accounts: impl IntoIterator<Item = &'a Account>) -> Self {
        self.mailboxes = Arc::new(
            accounts
                .into_iter()
                .map(|a| (a.auth.identity(), a.address.clone()))
                .collect(),
        );
        self
    }

    /// The address of the account `auth` logs in, if the client knows it or the credentials say.
    fn own_mailbox(&self, auth: &Auth) -> Option<String> {
        self.mailboxes
            .get(&auth.identity())
            .cloned()
            .or_else(|| auth.mailbox().map(str::to_owned))
    }

    /// The HTTP client, for requests beside the endpoint's (a token endpoint's).
    pub(super) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// A client sharing this one's connections that records every exchange in the returned log.
    pub fn with_log(&self) -> (Client, ExchangeLog) {
        let log = ExchangeLog::default();
        let client = Self {
            log: Some(log.clone()),
            ..self.clone()
        };
        (client, log)
    }

    /// Records an exchange in the log, if this client keeps one.
    pub fn record(&self, account: &str, exchange: &Exchange) {
        if let Some(log) = &self.log {
            log.lock().unwrap_or_else(|e| e.into_inner()).push(Logged {
                account: account.to_owned(),
                exchange: exchange.clone(),
            });
        }
    }

    /// The endpoint URL.
    pub fn url(&self) -> &str {
        self.url.as_str()
    }

    /// How much throttling this client (and every clone of it) met so far.
    pub fn throttling(&self) -> super::throttle::Throttling {
        self.throttle.tally()
    }

    /// Sends `post` with `auth` and reads the whole response, up to
    /// [`Client::max_response_bytes`] of body.
    ///
    /// Nothing goes out as an account the server asked to back off until the back-off has
    /// passed; an answer saying the request was not executed (see [`super::throttle`]) sends it
    /// again after its back-off, waiting at most the client's timeout in all. No other answer,
    /// and no lost one, makes it send a request again.
    pub async fn post(&self, auth: &Auth, post: Post) -> Result<Exchange, TargetError> {
        let identity = auth.identity();
        // A back-off holds the account and the mailbox the request acts on.
        let mut keys = vec![identity.clone()];
        if let Some(mailbox) = post.anchor().or_else(|| self.own_mailbox(auth)) {
            keys.push(format!("mailbox:{}", mailbox.to_ascii_lowercase()));
        }
        let started = Instant::now();
        let budget_end = started + self.timeout;
        let mut busy = 0;
        loop {
            // Held until the whole answer is read: the server counts the request until then.
            let turn = self.gates.enter(&identity).await;
            self.throttle
                .wait_out(&keys, started, budget_end)
                .await
                .map_err(|over| TargetError::Throttled {
                    url: self.url.to_string(),
                    account: identity.clone(),
                    limit: self.timeout,
                    waited: over.waited,
                })?;
            let (exchange, retry_after) = self.send_once(auth, post.clone()).await?;
            drop(turn);
            match super::throttle::back_off(exchange.status, retry_after, &exchange.body, busy) {
                Some(wait) => {
                    busy += 1;
                    self.throttle.hold(&keys, wait);
                }
                None => return Ok(exchange),
            }
        }
    }

    /// Sends `post` once and reads the answer, with its `Retry-After`, if any.
    async fn send_once(
        &self,
        auth: &Auth,
        post: Post,
    ) -> Result<(Exchange, Option<Duration>), TargetError> {
        if let Auth::Ntlm { username, password } = auth {
            // Over one of the account's logged-in connections (see `super::ntlm`).
            let anchor = post.anchor().or_else(|| self.own_mailbox(auth));
            return self
                .ntlm
                .post(
                    username,
                    password,
                    post,
                    anchor.as_deref(),
                    self.max_response_bytes,
                )
                .await;
        }
        if let Auth::App(access) = auth {
            // Impersonating the account, with the app's token (see `super::oauth`).
            return self.send_app(access, post).await;
        }
        let anchor = post.anchor().or_else(|| self.own_mailbox(auth));
        self.send_with(&auth.header_value(), anchor.as_deref(), post)
            .await
    }

    /// Sends `post` once with this `Authorization` value and `X-AnchorMailbox: anchor`, and
    /// reads the answer, with its `Retry-After`, if any.
    pub(super) async fn send_with(
        &self,
        authorization: &str,
        anchor: Option<&str>,
        post: Post,
    ) -> Result<(Exchange, Option<Duration>), TargetError> {
        let mut request = self
            .http
            .post(self.url.clone())
            .header(CONTENT_TYPE, &post.content_type)
            .body(post.body.clone());
        if let Some(action) = &post.soap_action {
            request = request.header("SOAPAction", action);
        }
        // Exchange routes a request to the mailbox this header names (Exchange Online requires
        // it with impersonation):
        // https://learn.microsoft.com/en-us/exchange/client-developer/exchange-web-services/impersonation-and-ews-in-exchange
        if let Some(value) = anchor.and_then(|a| HeaderValue::from_str(a).ok()) {
            request = request.header("X-AnchorMailbox", value);
        }
        let mut authorization = HeaderValue::from_str(authorization).map_err(|_| {
            TargetError::Config("credentials contain characters HTTP cannot carry".into())
        })?;
        authorization.set_sensitive(true);
        request = request.header(AUTHORIZATION, authorization);
        let started = Instant::now();
        let mut response = request.send().await.map_err(|e| self.classify(&e))?;
        let status = response.status().as_u16();
        let (content_type, retry_after) = answer_headers(response.headers());
        let body = self.read_body(&mut response).await?;
        let exchange = Exchange {
            request: post,
            status,
            content_type,
            body,
            elapsed: started.elapsed(),
        };
        Ok((exchange, retry_after))
    }

    /// Sends a typed request.
    pub async fn call(
        &self,
        auth: &Auth,
        envelope: &RequestEnvelope,
    ) -> Result<Exchange, TargetError> {
        self.post(auth, Post::soap(envelope)).await
    }

    /// The body of `response`, chunk by chunk, stopping as soon as it would exceed
    /// [`Client::max_response_bytes`]: an endless or huge answer costs at most that much memory
    /// (a `Content-Length` over the limit is refused before any byte is read). Past
    /// [`SMALL_BODY_BYTES`] a body is read under one of the process's [`LARGE_READS`] permits,
    /// so that many cases at once against a server sending huge answers hold at most a few
    /// full-size bodies between them.
    async fn read_body(&self, response: &mut reqwest::Response) -> Result<Vec<u8>, TargetError> {
        let limit = self.max_response_bytes;
        let too_large = || TargetError::TooLarge {
            url: self.url.to_string(),
            limit,
        };
        let announced = response.content_length().unwrap_or(0);
        if announced > u64::try_from(limit).unwrap_or(u64::MAX) {
            return Err(too_large());
        }
        // The announced length is at most `limit` here, so it fits.
        let announced = usize::try_from(announced).unwrap_or(0);
        let mut permit = None;
        if announced > SMALL_BODY_BYTES {
            permit = LARGE_READS.acquire().await.ok();
        }
        let mut body = Vec::with_capacity(announced);
        while let Some(chunk) = response.chunk().await.map_err(|e| self.classify(&e))? {
            if chunk.len() > limit - body.len() {
                return Err(too_large());
            }
            if permit.is_none() && body.len() + chunk.len() > SMALL_BODY_BYTES {
                // The semaphore is never closed, so this waits for a permit and gets one.
                permit = LARGE_READS.acquire().await.ok();
                // One buffer of the limit's size rather than doublings, each of which holds
                // the old buffer and the new one at once.
                body.reserve_exact(limit - body.len());
            }
            body.extend_from_slice(&chunk);
        }
        if body.capacity() - body.len() > SMALL_BODY_BYTES {
            body.shrink_to_fit();
        }
        Ok(body)
    }

    fn classify(&self, e: &reqwest::Error) -> TargetError {
        let url = self.url.to_string();
        // reqwest's own message repeats the URL; the cause chain in `source()` says what happened.
        let mut causes = Vec::new();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            causes.push(s.to_string());
            source = s.source();
        }
        let reason = if causes.is_empty() {
            e.to_string()
        } else {
            causes.join(": ")
        };
        if e.is_timeout() {
            TargetError::Timeout {
                url,
                after: self.timeout,
            }
        } else if e.is_connect() {
            TargetError::Unreachable { url, reason }
        } else {
            TargetError::Transport { url, reason }
        }
    }
}

/// What the client reads of an answer's headers: its `Content-Type`, and its `Retry-After` as a
/// wait (see [`super::throttle`]).
pub(crate) fn answer_headers(
    headers: &reqwest::header::HeaderMap,
) -> (Option<String>, Option<Duration>) {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    (
        text(CONTENT_TYPE).map(str::to_owned),
        text(reqwest::header::RETRY_AFTER).and_then(super::throttle::retry_after),
    )
}

fn load_certificate(path: &Path) -> Result<reqwest::Certificate, TargetError> {
    let pem = crate::input::read_bytes(path, crate::limits::MAX_CA_CERT_BYTES, "CA certificate")
        .map_err(|e| TargetError::Config(e.to_string()))?;
    reqwest::Certificate::from_pem(&pem)
        .map_err(|e| TargetError::Config(format!("{}: not a PEM certificate: {e}", path.display())))
}
