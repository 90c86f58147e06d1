//! One HTTP/1.1 connection to the endpoint, kept open for the requests that must share it.
//!
//! A connection-based login (NTLM) authenticates a TCP connection, not a request, so the requests
//! of an account have to go over the very connection that logged in: a pooling client such as
//! reqwest cannot promise that. A [`Pinned`] connection is hyper's client connection over a TCP
//! or TLS stream, and it knows the TLS server certificate's hash for a channel binding
//! (RFC 5929 `tls-server-end-point`).

use std::path::PathBuf;
use std::sync::OnceLock;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

/// The channel binding's prefix for the `tls-server-end-point` type (RFC 5929 section 4).
const TLS_SERVER_END_POINT: &[u8] = b"tls-server-end-point:";

/// Why a request did not come back with an answer.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PinnedError {
    /// The connection was gone before the request was written: the server never saw it.
    #[error("the connection closed before the request was sent: {0}")]
    NotSent(String),
    /// The connection broke after the request was handed to it: the server may have seen it.
    #[error("{0}")]
    Broken(String),
    /// The answer's body is longer than the limit.
    #[error("the answer exceeds the size limit")]
    TooLarge,
}

/// Where connections go, and how TLS is checked there.
pub(crate) struct Endpoint {
    tls: bool,
    host: String,
    port: u16,
    ca_cert: Option<PathBuf>,
    insecure: bool,
    // Built on first use, so that clients that never pin a connection pay nothing for it.
    connector: OnceLock<Result<tokio_native_tls::TlsConnector, String>>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Endpoint({}://{}:{})",
            if self.tls { "https" } else { "http" },
            self.host,
            self.port
        )
    }
}

impl Endpoint {
    /// The endpoint of `url`, trusting `ca_cert` besides the system's roots, or any
    /// certificate when `insecure`.
    pub(crate) fn new(url: &reqwest::Url, ca_cert: Option<PathBuf>, insecure: bool) -> Self {
        // An IPv6 literal comes in brackets, which a socket address does not take.
        let host = url
            .host_str()
            .unwrap_or_default()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        Self {
            tls: url.scheme() == "https",
            host,
            port: url.port_or_known_default().unwrap_or(443),
            ca_cert,
            insecure,
            connector: OnceLock::new(),
        }
    }

    /// The host name, for a service principal name (`HTTP/host`).
    pub(crate) fn host(&self) -> &str {
        &self.host
    }

    fn connector(&self) -> Result<&tokio_native_tls::TlsConnector, String> {
        self.connector
            .get_or_init(|| {
                let mut builder = native_tls::TlsConnector::builder();
                builder
                    .danger_accept_invalid_certs(self.insecure)
                    .danger_accept_invalid_hostnames(self.insecure);
                if let Some(path) = &self.ca_cert {
                    let pem = crate::input::read_bytes(
                        path,
                        crate::limits::MAX_CA_CERT_BYTES,
                        "CA certificate",
                    )
                    .map_err(|e| e.to_string())?;
                    let cert = native_tls::Certificate::from_pem(&pem)
                        .map_err(|e| format!("{}: not a PEM certificate: {e}", path.display()))?;
                    builder.add_root_certificate(cert);
                }
                builder
                    .build()
                    .map(tokio_native_tls::TlsConnector::from)
                    .map_err(|e| format!("cannot set up TLS: {e}"))
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Opens a connection: TCP, then TLS for `https`. `Err` says why none could be made (the
    /// server saw no request).
    pub(crate) async fn connect(&self) -> Result<Pinned, String> {
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| format!("cannot connect to {}:{}: {e}", self.host, self.port))?;
        let _ = tcp.set_nodelay(true);
        if !self.tls {
            return start(tcp, None).await;
        }
        let stream = self
            .connector()?
            .connect(&self.host, tcp)
            .await
            .map_err(|e| format!("TLS handshake failed: {e}"))?;
        // RFC 5929 section 4.1: the hash of the certificate the server presented.
        let binding = stream
            .get_ref()
            .tls_server_end_point()
            .ok()
            .flatten()
            .map(|hash| [TLS_SERVER_END_POINT, &hash].concat());
        start(stream, binding).await
    }
}

async fn start<S>(stream: S, binding: Option<Vec<u8>>) -> Result<Pinned, String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("cannot start HTTP/1.1: {e}"))?;
    let driver = tokio::spawn(async move {
        // Ends when the server closes the connection or the sender is dropped.
        let _ = connection.await;
    });
    Ok(Pinned {
        sender,
        driver,
        binding,
    })
}

/// An open connection and what TLS said about it.
pub(crate) struct Pinned {
    sender: SendRequest<Full<Bytes>>,
    driver: JoinHandle<()>,
    binding: Option<Vec<u8>>,
}

impl std::fmt::Debug for Pinned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pinned")
            .field("open", &!self.sender.is_closed())
            .field("tls_bound", &self.binding.is_some())
            .finish()
    }
}

impl Drop for Pinned {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

impl Pinned {
    /// The application data of a `tls-server-end-point` channel binding to this connection's
    /// server certificate; `None` over plain TCP.
    pub(crate) fn channel_binding(&self) -> Option<&[u8]> {
        self.binding.as_deref()
    }

    /// Sends `request` and waits for the answer's head. A connection found closed before the
    /// request went out is [`PinnedError::NotSent`], so the request can safely go again on a
    /// new one.
    pub(crate) async fn send(
        &mut self,
        request: Request<Full<Bytes>>,
    ) -> Result<Response<Incoming>, PinnedError> {
        self.sender
            .ready()
            .await
            .map_err(|e| PinnedError::NotSent(e.to_string()))?;
        self.sender
            .try_send_request(request)
            .await
            .map_err(|mut e| {
                let reason = e.error().to_string();
                if e.take_message().is_some() {
                    PinnedError::NotSent(reason)
                } else {
                    PinnedError::Broken(reason)
                }
            })
    }
}

/// The whole body of `response`, stopping as soon as it would exceed `limit` bytes (an announced
/// `Content-Length` over it is refused before reading).
pub(crate) async fn read_body(
    response: Response<Incoming>,
    limit: usize,
) -> Result<Vec<u8>, PinnedError> {
    let announced = response
        .headers()
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    if announced > u64::try_from(limit).unwrap_or(u64::MAX) {
        return Err(PinnedError::TooLarge);
    }
    let mut body = Vec::with_capacity(usize::try_from(announced).unwrap_or(0));
    let mut incoming = response.into_body();
    while let Some(frame) = incoming.frame().await {
        let frame = frame.map_err(|e| PinnedError::Broken(e.to_string()))?;
        if let Ok(chunk) = frame.into_data() {
            if chunk.len() > limit - body.len() {
                return Err(PinnedError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
    }
    Ok(body)
}
