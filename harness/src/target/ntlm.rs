//! NTLM logins over HTTP, connection by connection, as IIS does them for Exchange's `/EWS`.
//!
//! NTLM ([MS-NLMP](https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-nlmp/b38c36ed-2804-4868-a9ff-8dd3182128e4))
//! authenticates a connection, not a request: the client sends Negotiate, the server answers 401
//! with a Challenge, the client sends Authenticate, and from then on the connection is logged in
//! and its requests carry no credentials (IIS keeps the login for the connection unless
//! `authPersistSingleRequest` is set:
//! <https://learn.microsoft.com/en-us/iis/configuration/system.webserver/security/authentication/windowsauthentication/>).
//! So each NTLM account gets a few [`Pinned`] connections of its own; each logs in with an empty
//! POST, never with a request under test, and the account's requests then take turns on them.
//! A connection that closes logs in again on the next request.
//!
//! Exchange Server 2019 CU14 and Exchange Server SE turn on Extended Protection, which refuses
//! an NTLM login without a channel binding to the server's TLS certificate
//! (<https://learn.microsoft.com/en-us/exchange/plan-and-deploy/post-installation-tasks/security-best-practices/exchange-extended-protection>).
//! Each login sends one: the MD5 of a `gss_channel_bindings_struct` whose application data is
//! `tls-server-end-point:` and the certificate's hash (RFC 5929), in the Authenticate message's
//! `MsvAvChannelBindings` ([MS-NLMP 2.2.2.1](https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-nlmp/83f5e789-660d-4781-8491-5f8c6641f75e)).
//! The NTLMv2 messages, their MIC and the binding's hash are made by the `sspi` crate.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HOST, WWW_AUTHENTICATE};
use hyper::{Request, StatusCode};
use sspi::{
    AuthIdentity, BufferType, ClientRequestFlags, CredentialUse, DataRepresentation, Ntlm,
    SecurityBuffer, SecurityStatus, Sspi, SspiImpl, Username,
};

use super::auth::Secret;
use super::client::{ClientOptions, Exchange, Post, TargetError};
use super::pinned::{Endpoint, Pinned, PinnedError, read_body};

/// Connections one NTLM account keeps logged in at most; its requests beyond that wait for a
/// free one.
pub const CONNECTIONS_PER_ACCOUNT: usize = 4;

/// The most bytes read of an answer during a login (a 401 page, the empty POST's answer).
const LOGIN_ANSWER_LIMIT: usize = 1 << 20;

/// The logged-in connections of every NTLM account of one endpoint.
pub(crate) struct NtlmConnections {
    endpoint: Endpoint,
    url: reqwest::Url,
    timeout: Duration,
    accounts: Mutex<HashMap<String, Arc<AccountConnections>>>,
}

impl std::fmt::Debug for NtlmConnections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Account names only: nothing here holds a password or an NTLM message.
        let accounts = self.accounts.lock().map(|a| a.len()).unwrap_or(0);
        write!(
            f,
            "NtlmConnections({:?}, {accounts} accounts)",
            self.endpoint
        )
    }
}

/// One account's connections, each empty until first used.
struct AccountConnections {
    slots: Vec<tokio::sync::Mutex<Option<Pinned>>>,
    next: AtomicUsize,
}

impl AccountConnections {
    /// A free slot: one with a logged-in connection if any is free, else an empty one, else
    /// the next in turn once its request is done.
    async fn free_slot(&self) -> tokio::sync::MutexGuard<'_, Option<Pinned>> {
        let mut empty = None;
        for slot in &self.slots {
            if let Ok(guard) = slot.try_lock() {
                if guard.is_some() {
                    return guard;
                }
                empty.get_or_insert(guard);
            }
        }
        if let Some(guard) = empty {
            return guard;
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len();
        self.slots[i].lock().await
    }
}

impl NtlmConnections {
    /// Connections to the endpoint at `url`, with `options`' TLS trust and timeout.
    pub(crate) fn new(url: &reqwest::Url, options: &ClientOptions) -> Self {
        Self {
            endpoint: Endpoint::new(url, options.ca_cert.clone(), options.insecure),
            url: url.clone(),
            timeout: options.timeout,
            accounts: Mutex::default(),
        }
    }

    fn account(&self, username: &str) -> Arc<AccountConnections> {
        let mut accounts = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        accounts
            .entry(username.to_owned())
            .or_insert_with(|| {
                Arc::new(AccountConnections {
                    slots: (0..CONNECTIONS_PER_ACCOUNT)
                        .map(|_| tokio::sync::Mutex::new(None))
                        .collect(),
                    next: AtomicUsize::new(0),
                })
            })
            .clone()
    }

    /// Sends `post` as `username` over one of the account's logged-in connections, logging one
    /// in first when none is open, with `X-AnchorMailbox: anchor`, and reads the answer's body up
    /// to `limit` bytes; returns it with its `Retry-After`, if any.
    ///
    /// A 401 on a logged-in connection means the server dropped the login and ran nothing, so
    /// the request goes again once on a fresh login; a connection found closed before the request
    /// went out is replaced the same way. An answer lost after the request went out is never
    /// sent again.
    pub(crate) async fn post(
        &self,
        username: &str,
        password: &Secret,
        post: Post,
        anchor: Option<&str>,
        limit: usize,
    ) -> Result<(Exchange, Option<std::time::Duration>), TargetError> {
        let account = self.account(username);
        let mut slot = account.free_slot().await;
        let mut resent = false;
        loop {
            let connection = match slot.as_mut() {
                Some(open) => open,
                None => {
                    let logged_in =
                        tokio::time::timeout(self.timeout, self.log_in(username, password))
                            .await
                            .map_err(|_| self.timed_out())??;
                    slot.insert(logged_in)
                }
            };
            let started = Instant::now();
            let mut request = self.request(&post.content_type, post.soap_action.as_deref(), None);
            if let Some(value) = anchor.and_then(|a| hyper::header::HeaderValue::from_str(a).ok()) {
                request = request.header("X-AnchorMailbox", value);
            }
            let request = request.body(Full::new(post.body.clone()));
            let request = request.map_err(|e| TargetError::Config(e.to_string()))?;
            let answer = tokio::time::timeout(self.timeout, async {
                let response = connection.send(request).await?;
                let status = response.status();
                let (content_type, retry_after) = super::client::answer_headers(response.headers());
                let body = read_body(response, limit).await?;
                Ok::<_, PinnedError>((status, content_type, body, retry_after))
            })
            .await;
            match answer {
                Err(_) => {
                    *slot = None;
                    return Err(self.timed_out());
                }
                Ok(Err(PinnedError::NotSent(_))) | Ok(Ok((StatusCode::UNAUTHORIZED, ..)))
                    if !resent =>
                {
                    resent = true;
                    *slot = None;
                }
                Ok(Err(e)) => {
                    *slot = None;
                    return Err(self.pinned_error(e, limit));
                }
                Ok(Ok((status, content_type, body, retry_after))) => {
                    let exchange = Exchange {
                        request: post,
                        status: status.as_u16(),
                        content_type,
                        body,
                        elapsed: started.elapsed(),
                    };
                    return Ok((exchange, retry_after));
                }
            }
        }
    }

    /// A POST to the endpoint with these headers; the body is added by the caller.
    fn request(
        &self,
        content_type: &str,
        soap_action: Option<&str>,
        authorization: Option<String>,
    ) -> hyper::http::request::Builder {
        let mut path = self.url.path().to_owned();
        if let Some(query) = self.url.query() {
            path.push('?');
            path.push_str(query);
        }
        let mut builder = Request::post(path)
            .header(HOST, host_header(&self.url))
            .header(CONTENT_TYPE, content_type);
        if let Some(action) = soap_action {
            builder = builder.header("SOAPAction", action);
        }
        if let Some(value) = authorization {
            let mut value = hyper::header::HeaderValue::from_str(&value)
                .unwrap_or_else(|_| hyper::header::HeaderValue::from_static("NTLM"));
            value.set_sensitive(true);
            builder = builder.header(AUTHORIZATION, value);
        }
        builder
    }

    /// An empty POST carrying an NTLM message: the cheap request a login runs on.
    fn login_request(&self, message: &[u8]) -> Result<Request<Full<Bytes>>, TargetError> {
        self.request(
            "text/xml; charset=utf-8",
            None,
            Some(format!("NTLM {}", STANDARD.encode(message))),
        )
        .header(CONTENT_LENGTH, "0")
        .body(Full::new(Bytes::new()))
        .map_err(|e| TargetError::Config(e.to_string()))
    }

    /// Opens a connection and logs it in as `username`: Negotiate, Challenge, Authenticate.
    async fn log_in(&self, username: &str, password: &Secret) -> Result<Pinned, TargetError> {
        let failed = |reason: String| TargetError::Login {
            url: self.url.to_string(),
            scheme: "NTLM",
            account: username.to_owned(),
            reason,
        };
        let mut connection =
            self.endpoint
                .connect()
                .await
                .map_err(|reason| TargetError::Unreachable {
                    url: self.url.to_string(),
                    reason,
                })?;
        let mut handshake = Handshake::new(
            username,
            password,
            &format!("HTTP/{}", self.endpoint.host()),
            connection.channel_binding(),
        )
        .map_err(&failed)?;

        let negotiate = handshake.negotiate().map_err(&failed)?;
        let response = connection
            .send(self.login_request(&negotiate)?)
            .await
            .map_err(|e| self.pinned_error(e, LOGIN_ANSWER_LIMIT))?;
        let status = response.status();
        let offered = offered_schemes(response.headers());
        let challenge = ntlm_token(response.headers());
        read_body(response, LOGIN_ANSWER_LIMIT)
            .await
            .map_err(|e| self.pinned_error(e, LOGIN_ANSWER_LIMIT))?;
        let challenge = match challenge {
            Some(challenge) if status == StatusCode::UNAUTHORIZED => challenge,
            _ if status == StatusCode::UNAUTHORIZED => {
                return Err(failed(format!(
                    "the server does not offer NTLM (it offers: {}); check that Windows \
                     authentication is on for the EWS virtual directory",
                    if offered.is_empty() {
                        "nothing".into()
                    } else {
                        offered.join(", ")
                    }
                )));
            }
            _ => {
                return Err(failed(format!(
                    "the server answered NTLM's Negotiate message with HTTP {} instead of a \
                     401 challenge",
                    status.as_u16()
                )));
            }
        };

        let authenticate = handshake.authenticate(challenge).map_err(&failed)?;
        let response = connection
            .send(self.login_request(&authenticate)?)
            .await
            .map_err(|e| match e {
                PinnedError::NotSent(_) => failed(
                    "the server closed the connection after its NTLM challenge; NTLM needs the \
                     connection kept alive"
                        .into(),
                ),
                e => self.pinned_error(e, LOGIN_ANSWER_LIMIT),
            })?;
        let status = response.status();
        read_body(response, LOGIN_ANSWER_LIMIT)
            .await
            .map_err(|e| self.pinned_error(e, LOGIN_ANSWER_LIMIT))?;
        if status == StatusCode::UNAUTHORIZED {
            return Err(failed(format!(
                "the server refused the login: a wrong user name or password, or{} a channel \
                 binding that Extended Protection does not accept",
                if connection.channel_binding().is_some() {
                    ""
                } else {
                    " (over plain HTTP, without TLS)"
                }
            )));
        }
        Ok(connection)
    }

    fn timed_out(&self) -> TargetError {
        TargetError::Timeout {
            url: self.url.to_string(),
            after: self.timeout,
        }
    }

    fn pinned_error(&self, e: PinnedError, limit: usize) -> TargetError {
        let url = self.url.to_string();
        match e {
            PinnedError::NotSent(reason) => TargetError::Unreachable { url, reason },
            PinnedError::Broken(reason) => TargetError::Transport { url, reason },
            PinnedError::TooLarge => TargetError::TooLarge { url, limit },
        }
    }
}

/// The client side of one NTLM login, on `sspi`.
struct Handshake {
    ntlm: Ntlm,
    credentials: Option<sspi::AuthIdentityBuffers>,
    target: String,
}

impl Handshake {
    fn new(
        username: &str,
        password: &Secret,
        target: &str,
        channel_binding: Option<&[u8]>,
    ) -> Result<Self, String> {
        let mut ntlm = Ntlm::new();
        if let Some(binding) = channel_binding {
            ntlm.set_channel_bindings(binding);
        }
        let identity = AuthIdentity {
            username: Username::parse(username)
                .map_err(|e| format!("the user name is not DOMAIN\\user or user@domain: {e}"))?,
            password: password.expose().to_owned().into(),
        };
        let credentials = ntlm
            .acquire_credentials_handle()
            .with_credential_use(CredentialUse::Outbound)
            .with_auth_data(&identity)
            .execute(&mut ntlm)
            .map_err(|e| format!("cannot prepare the credentials: {:?}", e.error_type))?
            .credentials_handle;
        Ok(Self {
            ntlm,
            credentials,
            target: target.to_owned(),
        })
    }

    /// The Negotiate message.
    fn negotiate(&mut self) -> Result<Vec<u8>, String> {
        self.step(None)
    }

    /// The Authenticate message answering the server's Challenge.
    fn authenticate(&mut self, challenge: Vec<u8>) -> Result<Vec<u8>, String> {
        self.step(Some(challenge))
    }

    fn step(&mut self, input: Option<Vec<u8>>) -> Result<Vec<u8>, String> {
        let mut output = vec![SecurityBuffer::new(Vec::new(), BufferType::Token)];
        let mut input = input.map(|token| vec![SecurityBuffer::new(token, BufferType::Token)]);
        let mut builder = self
            .ntlm
            .initialize_security_context()
            .with_credentials_handle(&mut self.credentials)
            .with_context_requirements(ClientRequestFlags::empty())
            .with_target_data_representation(DataRepresentation::Native)
            .with_target_name(&self.target)
            .with_output(&mut output);
        if let Some(input) = input.as_mut() {
            builder = builder.with_input(input);
        }
        let result = self
            .ntlm
            .initialize_security_context_impl(&mut builder)
            .and_then(|mut g| g.resolve_to_result())
            .map_err(|e| format!("the server's NTLM challenge cannot be answered: {e}"))?;
        if matches!(
            result.status,
            SecurityStatus::CompleteNeeded | SecurityStatus::CompleteAndContinue
        ) {
            self.ntlm
                .complete_auth_token(&mut output)
                .map_err(|e| format!("the NTLM message cannot be completed: {e}"))?;
        }
        Ok(output.swap_remove(0).buffer)
    }
}

/// `host[:port]` of `url`, as a `Host` header carries it.
fn host_header(url: &reqwest::Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

/// The schemes a 401's `WWW-Authenticate` headers offer (`Negotiate`, `NTLM`, `Basic`).
fn offered_schemes(headers: &hyper::HeaderMap) -> Vec<String> {
    headers
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split_whitespace().next())
        .map(|s| s.trim_end_matches(',').to_owned())
        .collect()
}

/// The NTLM message in a `WWW-Authenticate: NTLM <base64>` header.
fn ntlm_token(headers: &hyper::HeaderMap) -> Option<Vec<u8>> {
    headers
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split_once(' '))
        .find(|(scheme, _)| scheme.eq_ignore_ascii_case("NTLM"))
        .and_then(|(_, token)| STANDARD.decode(token.trim()).ok())
}
