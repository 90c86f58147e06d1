//! The mock's HTTP front: `POST /EWS/Exchange.asmx` (SOAP 1.1), and its schemas and WSDL with GET.
//!
//! A request goes through the same gates as on Exchange, in order: credentials (401), media type
//! (415), body size (413; 400 for a body whose chunked framing is broken, 408 for one that does
//! not arrive in time), the number of items it names (see [`super::batch`]), well-formedness,
//! the version header, the operation's name, schema validation (which the profile may skip for
//! newer versions, as Exchange does), impersonation, and only then the operation. Every refusal
//! past the HTTP gates is the SOAP Fault Exchange gives, in Exchange's shape: HTTP 500, no
//! Header, `faultstring` with `xml:lang`.
//!
//! Connections are admitted, timed and closed by [`super::conn`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures_util::StreamExt;

use crate::ews::{
    ConnectingSid, Element, ExchangeVersion, FaultCode, FaultDetail, MESSAGES_NS,
    Request as EwsRequest, RequestEnvelope, RequestHeaders, ResponseBody, ResponseCode,
    ResponseEnvelope, SOAP_NS, ServerVersionInfo, SoapFault, TYPES_NS, XmlError,
};
use crate::limits::{DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_ITEMS_PER_REQUEST};
use crate::schema::SchemaSet;

use super::conn::{Admitted, ConnectionLimits, Registry, serve_connection, stopped};
use super::directory::{Directory, UserIndex};
use super::profile::Profile;
use super::store::Store;

/// The EWS endpoint's path.
pub const EWS_PATH: &str = "/EWS/Exchange.asmx";

/// Default time a request's body may take to arrive, once its headers have.
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Why the mock could not start.
#[derive(Debug, thiserror::Error)]
pub enum MockError {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The project's schemas did not compile.
    #[error("the embedded schemas do not compile: {0}")]
    Schema(#[from] crate::schema::SchemaError),
}

/// How to run a mock.
#[derive(Debug, Clone)]
pub struct MockConfig {
    /// Which behaviour to follow.
    pub profile: Profile,
    /// The accounts and rights.
    pub directory: Directory,
    /// How long the transport waits before delivering; zero delivers before the response.
    pub delivery_delay: Duration,
    /// Requests with a larger body get 413.
    pub max_body_bytes: usize,
    /// Deliberate defects (all off unless a test turns them on).
    pub defects: super::profile::Defects,
    /// Threads of its own serving requests; 0 (the default) serves on the caller's runtime.
    /// Otherwise each thread runs a current-thread runtime (as wiremock serves); the first
    /// also accepts, and deals the connections to the threads in turn. A connection stays on
    /// the thread it was dealt to.
    ///
    /// On the caller's runtime the mock's work spreads over all its workers, which suits the
    /// runner and the fuzz loop. Threads of its own cost less CPU per request beside a client
    /// that keeps many requests in flight (`cargo bench --bench mock_throughput`).
    pub server_threads: usize,
    /// The shape of the delivery and non-delivery reports the transport writes.
    pub report_style: super::transport::ReportStyle,
    /// Header-read and idle timeouts, the connection cap, and the grace given at shutdown.
    pub connections: ConnectionLimits,
    /// Time a request's body may take to arrive once its headers have; a later one gets 408.
    pub body_read_timeout: Duration,
    /// Items (or folders) one request may name; more get the fault [`super::batch`] describes.
    pub max_items_per_request: usize,
}

impl Default for MockConfig {
    fn default() -> Self {
        Self {
            profile: Profile::Documented,
            directory: Directory::documented_defaults(),
            delivery_delay: Duration::ZERO,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            defects: super::profile::Defects::default(),
            server_threads: 0,
            report_style: super::transport::ReportStyle::Exchange,
            connections: ConnectionLimits::default(),
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
            max_items_per_request: DEFAULT_MAX_ITEMS_PER_REQUEST,
        }
    }
}

impl MockConfig {
    /// The default accounts under `profile`.
    pub fn with_profile(profile: Profile) -> Self {
        Self {
            profile,
            ..Self::default()
        }
    }
}

struct App {
    store: Arc<Store>,
    schemas: &'static SchemaSet,
    delivery_delay: Duration,
    max_body_bytes: usize,
    body_read_timeout: Duration,
    max_items_per_request: usize,
}

/// A running mock. Dropping it without [`MockServer::shutdown`] also stops it.
pub struct MockServer {
    url: String,
    addr: SocketAddr,
    store: Arc<Store>,
    registry: Arc<Registry>,
    /// Dropping it tells every accept loop to stop.
    shutdown: Option<tokio::sync::watch::Sender<()>>,
    /// Each accept loop's end.
    done: Vec<tokio::sync::oneshot::Receiver<()>>,
}

impl MockServer {
    /// Starts a mock on `127.0.0.1`, on a free port.
    pub async fn start(config: MockConfig) -> Result<Self, MockError> {
        Self::bind(config, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Starts a mock on `addr`.
    ///
    /// The server runs on the caller's runtime, or on threads of its own when
    /// `config.server_threads` asks for them.
    pub async fn bind(config: MockConfig, addr: SocketAddr) -> Result<Self, MockError> {
        let schemas = SchemaSet::embedded()?;
        let listener =
            std::net::TcpListener::bind(addr).map_err(|source| MockError::Bind { addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| MockError::Bind { addr, source })?;
        listener
            .set_nonblocking(true)
            .map_err(|source| MockError::Bind { addr, source })?;
        let mut store = Store::with_defects(config.directory, config.profile, config.defects);
        store.report_style = config.report_style;
        let store = Arc::new(store);
        let app = Arc::new(App {
            store: store.clone(),
            schemas,
            delivery_delay: config.delivery_delay,
            max_body_bytes: config.max_body_bytes,
            body_read_timeout: config.body_read_timeout,
            max_items_per_request: config.max_items_per_request,
        });
        let registry = Registry::new(config.connections);
        let router = Router::new()
            .route(EWS_PATH, get(endpoint_get).post(endpoint_post))
            .route("/EWS/{file}", get(schema_file))
            .with_state(app);
        let (shutdown, stop) = tokio::sync::watch::channel(());
        let bind_error = |source| MockError::Bind { addr, source };
        let done = if config.server_threads == 0 {
            let listener = tokio::net::TcpListener::from_std(listener).map_err(bind_error)?;
            let (finished, end) = tokio::sync::oneshot::channel();
            tokio::spawn(serve(listener, registry.clone(), router, stop, finished));
            vec![end]
        } else {
            spawn_server_threads(
                config.server_threads,
                listener,
                registry.clone(),
                router,
                stop,
            )
            .map_err(bind_error)?
        };
        Ok(Self {
            url: format!("http://{addr}{EWS_PATH}"),
            addr,
            store,
            registry,
            shutdown: Some(shutdown),
            done,
        })
    }

    /// The EWS endpoint URL, e.g. `http://127.0.0.1:41234/EWS/Exchange.asmx`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The address the mock listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The store behind the mock, for tests that look at it directly.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Connections open now, for tests of the connection cap.
    pub fn open_connections(&self) -> usize {
        self.registry.open_count()
    }

    /// Stops accepting connections, closes those without a request in progress, lets requests
    /// in progress finish for up to the configured grace, closes the rest, and returns when
    /// every connection is closed.
    pub async fn shutdown(mut self) {
        self.shutdown.take();
        for end in std::mem::take(&mut self.done) {
            let _ = end.await;
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.shutdown.take();
    }
}

/// Serves `router` on `listener`, on the caller's runtime, until the sender of `stop` is
/// dropped; reports on `finished` once every connection is closed.
async fn serve(
    listener: tokio::net::TcpListener,
    registry: Arc<Registry>,
    router: Router,
    stop: tokio::sync::watch::Receiver<()>,
    finished: tokio::sync::oneshot::Sender<()>,
) {
    // Each connection's task holds a receiver; `closed` returns when all are gone.
    let (all_closed, open) = tokio::sync::watch::channel(());
    accept(&listener, &registry, stop.clone(), |stream, admitted| {
        let open = open.clone();
        let connection = serve_connection(stream, admitted, router.clone(), stop.clone());
        tokio::spawn(async move {
            connection.await;
            drop(open);
        });
    })
    .await;
    drop(listener);
    drop(open);
    all_closed.closed().await;
    let _ = finished.send(());
}

/// Accepts connections until the sender of `stop` is dropped, placing each one the registry
/// admits and refusing the others.
async fn accept(
    listener: &tokio::net::TcpListener,
    registry: &Arc<Registry>,
    mut stop: tokio::sync::watch::Receiver<()>,
    mut place: impl FnMut(tokio::net::TcpStream, Admitted),
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = stopped(&mut stop) => return,
        };
        match accepted {
            Ok((stream, _)) => match registry.admit() {
                Some(admitted) => place(stream, admitted),
                None => super::conn::refuse(&stream),
            },
            // The peer gave up before the accept: nothing to do.
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionAborted | std::io::ErrorKind::ConnectionReset
                ) => {}
            // Out of descriptors or the like: wait for some to be freed.
            Err(e) => {
                tracing::error!("mock cannot accept connections: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Starts `count` threads, each serving on a current-thread runtime of its own; the first also
/// runs [`deal`]. Returns each thread's end.
///
/// The threads do not accept from the listener themselves: whichever thread woke first would
/// take the connection, and one thread often ended up with nearly all of a client's
/// connections while the others idled.
fn spawn_server_threads(
    count: usize,
    listener: std::net::TcpListener,
    registry: Arc<Registry>,
    router: Router,
    stop: tokio::sync::watch::Receiver<()>,
) -> std::io::Result<Vec<tokio::sync::oneshot::Receiver<()>>> {
    let mut threads = Vec::with_capacity(count);
    let mut hands = Vec::with_capacity(count);
    for _ in 0..count {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (hand, connections) = tokio::sync::mpsc::unbounded_channel();
        hands.push(hand);
        threads.push((runtime, connections));
    }
    let Some((first, _)) = threads.first() else {
        return Ok(Vec::new());
    };
    let listener = {
        let _on_first = first.enter();
        tokio::net::TcpListener::from_std(listener)?
    };
    let mut dealer = Some(deal(listener, registry, hands, stop.clone()));
    let mut done = Vec::with_capacity(count);
    for (runtime, connections) in threads {
        let (finished, end) = tokio::sync::oneshot::channel();
        let serve = serve_dealt(connections, router.clone(), stop.clone(), finished);
        let dealer = dealer.take();
        std::thread::Builder::new()
            .name("ewsconf-mock".into())
            // Delayed deliveries still pending are dropped with the runtime.
            .spawn(move || {
                runtime.block_on(async move {
                    if let Some(dealer) = dealer {
                        tokio::spawn(dealer);
                    }
                    serve.await;
                });
            })?;
        done.push(end);
    }
    Ok(done)
}

/// A connection admitted for a serving thread.
type Connection = (std::net::TcpStream, Admitted);

/// Accepts connections until the sender of `stop` is dropped, handing those the registry
/// admits to the serving threads in turn.
async fn deal(
    listener: tokio::net::TcpListener,
    registry: Arc<Registry>,
    hands: Vec<tokio::sync::mpsc::UnboundedSender<Connection>>,
    stop: tokio::sync::watch::Receiver<()>,
) {
    let mut next = 0;
    accept(&listener, &registry, stop, |stream, admitted| {
        // A stream that cannot move, or a thread that has stopped, closes it.
        if let Ok(stream) = stream.into_std() {
            let _ = hands[next].send((stream, admitted));
            next = (next + 1) % hands.len();
        }
    })
    .await;
}

/// Serves the connections [`deal`] hands to this thread until the sender of `stop` is dropped;
/// reports on `finished` once every one of them is closed.
async fn serve_dealt(
    mut connections: tokio::sync::mpsc::UnboundedReceiver<Connection>,
    router: Router,
    stop: tokio::sync::watch::Receiver<()>,
    finished: tokio::sync::oneshot::Sender<()>,
) {
    let (all_closed, open) = tokio::sync::watch::channel(());
    let mut stopping = stop.clone();
    loop {
        let dealt = tokio::select! {
            dealt = connections.recv() => dealt,
            () = stopped(&mut stopping) => None,
        };
        let Some((stream, admitted)) = dealt else {
            break;
        };
        // On this thread's runtime, so the stream is driven by this thread.
        match tokio::net::TcpStream::from_std(stream) {
            Ok(stream) => {
                let open = open.clone();
                let connection = serve_connection(stream, admitted, router.clone(), stop.clone());
                tokio::spawn(async move {
                    connection.await;
                    drop(open);
                });
            }
            Err(e) => tracing::error!("mock cannot serve a connection: {e}"),
        }
    }
    // Connections dealt but not yet taken are closed with the channel.
    drop(connections);
    drop(open);
    all_closed.closed().await;
    let _ = finished.send(());
}

/// The version the mock reports under the `documented` profile (Exchange Server SE).
pub fn server_version_info() -> ServerVersionInfo {
    Profile::Documented.server_version_info()
}

fn xml_response(status: StatusCode, envelope: &ResponseEnvelope) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/xml; charset=utf-8"),
        )],
        envelope.to_xml(),
    )
        .into_response()
}

/// A fault as Exchange sends it: HTTP 500 and an envelope with no Header.
fn fault_response(fault: SoapFault) -> Response {
    xml_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        &ResponseEnvelope {
            server_version_info: None,
            body: ResponseBody::Fault(fault),
        },
    )
}

/// The language Exchange names on `faultstring`.
const FAULT_LANG: &str = "en-US";

/// The SOAP Fault Exchange answers with for `code`.
pub fn ews_fault(code: ResponseCode, message: impl Into<String>) -> Box<SoapFault> {
    let message = xml_chars(&message.into());
    Box::new(SoapFault {
        fault_code: FaultCode {
            namespace: Some(TYPES_NS.into()),
            name: code.as_str().into(),
        },
        fault_string: message.clone(),
        fault_string_lang: Some(FAULT_LANG.into()),
        fault_actor: None,
        detail: Some(FaultDetail {
            response_code: Some(code),
            message: Some(message),
            ..FaultDetail::default()
        }),
    })
}

fn schema_fault(line: u32, column: u32, violation: &str) -> Box<SoapFault> {
    let mut fault = ews_fault(
        ResponseCode::ErrorSchemaValidation,
        format!("The request failed schema validation: {violation}"),
    );
    if let Some(d) = fault.detail.as_mut() {
        d.message = Some("The request failed schema validation.".into());
        d.line_number = Some(line);
        d.line_position = Some(column);
        d.violation = Some(xml_chars(violation));
    }
    fault
}

/// `text` with every character XML 1.0 cannot carry replaced by U+FFFD. Parser messages quote
/// the request's bytes, and a NUL quoted back would make the fault itself not well-formed.
fn xml_chars(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' => c,
            c if c >= '\u{10000}' => c,
            _ => '\u{fffd}',
        })
        .collect()
}

fn plain(status: StatusCode, text: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text.to_owned(),
    )
        .into_response()
}

async fn endpoint_get() -> Response {
    let mut response = plain(
        StatusCode::METHOD_NOT_ALLOWED,
        "This is the ewsconf reference mock of an Exchange Web Services endpoint.\n\
         POST SOAP 1.1 requests here (Content-Type: text/xml) with HTTP Basic credentials.\n\
         Its schemas are at /EWS/messages.xsd and /EWS/types.xsd, its WSDL at /EWS/Services.wsdl.\n",
    );
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("POST"));
    response
}

/// `GET /EWS/FILE`: the WSDL (its address naming the request's `Host`), or a project schema.
async fn schema_file(
    axum::extract::Path(file): axum::extract::Path<String>,
    headers: HeaderMap,
) -> Response {
    const XML: &str = "text/xml; charset=utf-8";
    if super::wsdl::is_wsdl_name(&file) {
        let host = headers
            .get(header::HOST)
            .and_then(|value| value.to_str().ok());
        return ([(header::CONTENT_TYPE, XML)], super::wsdl::document(host)).into_response();
    }
    if !file.ends_with(".xsd") {
        return plain(StatusCode::NOT_FOUND, "not found\n");
    }
    match crate::schema::embedded_schemas().find(|(name, _)| *name == file) {
        Some((_, text)) => ([(header::CONTENT_TYPE, XML)], text).into_response(),
        None => plain(StatusCode::NOT_FOUND, "not found\n"),
    }
}

fn unauthorized() -> Response {
    let mut response = plain(
        StatusCode::UNAUTHORIZED,
        "401 Unauthorized: send HTTP Basic credentials of a mock account.\n",
    );
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"ewsconf mock\""),
    );
    response
}

/// The account the request's Basic credentials log in. `X-AnchorMailbox` plays no part.
fn login(directory: &Directory, headers: &HeaderMap) -> Option<UserIndex> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    directory.authenticate(user, password)
}

async fn endpoint_post(State(app): State<Arc<App>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Some(user) = login(&app.store.directory, &parts.headers) else {
        return unauthorized();
    };
    let media = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media = media.split(';').next().unwrap_or("").trim();
    if !media.eq_ignore_ascii_case("text/xml")
        && !media.eq_ignore_ascii_case("application/soap+xml")
    {
        return plain(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "415 Unsupported Media Type: SOAP 1.1 requests use Content-Type: text/xml.\n",
        );
    }
    // A client that waits for `100 Continue` can be told 413 before it sends the body.
    let waits_to_send = parts
        .headers
        .get(header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    let bytes = match read_body(
        body,
        app.max_body_bytes,
        app.body_read_timeout,
        waits_to_send,
    )
    .await
    {
        Ok(bytes) => bytes,
        Err(response) => return response,
    };
    match process(&app, user, &bytes) {
        Ok(envelope) => xml_response(StatusCode::OK, &envelope),
        Err(fault) => fault_response(*fault),
    }
}

/// Why a request body could not be read.
enum BodyRefusal {
    /// More than the limit.
    TooLarge,
    /// Broken framing (a bad chunk size line, say), or the peer left mid-body.
    Malformed,
}

/// The request body, at most `limit` bytes, read within `timeout`; or the answer refusing it:
/// 413 past the limit, 400 for broken framing, 408 late.
///
/// A body past the limit is still read, and dropped, up to twice the limit before the 413 goes
/// out: a client that is still writing when the answer comes and the connection closes gets a
/// broken pipe instead of the answer. A body declared larger than that, or declared too large by
/// a client that waits for `100 Continue` (`waits_to_send`), is refused at once.
async fn read_body(
    body: Body,
    limit: usize,
    timeout: Duration,
    waits_to_send: bool,
) -> Result<Bytes, Response> {
    use axum::body::HttpBody;
    let too_large = || {
        plain(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!(
                "413 Payload Too Large: this mock accepts request bodies up to {limit} bytes.\n"
            ),
        )
    };
    let drain_up_to = limit.saturating_mul(2);
    let declared = body.size_hint().lower();
    if declared > drain_up_to as u64 || (waits_to_send && declared > limit as u64) {
        return Err(too_large());
    }
    let read = async {
        let mut chunks = body.into_data_stream();
        // Most bodies come in one chunk, which is kept as it is.
        let mut first: Option<Bytes> = None;
        let mut joined: Option<bytes::BytesMut> = None;
        let mut length = 0usize;
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk.map_err(|_| BodyRefusal::Malformed)?;
            length = length.saturating_add(chunk.len());
            if length > drain_up_to {
                return Err(BodyRefusal::TooLarge);
            }
            if length > limit {
                // Dropped as it comes, only to let the client finish writing.
                first = None;
                joined = None;
                continue;
            }
            match (&mut joined, first.take()) {
                (Some(joined), _) => joined.extend_from_slice(&chunk),
                (None, None) => first = Some(chunk),
                (None, Some(earlier)) => {
                    let mut both = bytes::BytesMut::with_capacity(earlier.len() + chunk.len());
                    both.extend_from_slice(&earlier);
                    both.extend_from_slice(&chunk);
                    joined = Some(both);
                }
            }
        }
        if length > limit {
            return Err(BodyRefusal::TooLarge);
        }
        Ok(match joined {
            Some(joined) => joined.freeze(),
            None => first.unwrap_or_default(),
        })
    };
    match tokio::time::timeout(timeout, read).await {
        Err(_) => Err(plain(
            StatusCode::REQUEST_TIMEOUT,
            "408 Request Timeout: the body did not arrive in time.\n",
        )),
        Ok(Err(BodyRefusal::TooLarge)) => Err(too_large()),
        Ok(Err(BodyRefusal::Malformed)) => Err(plain(
            StatusCode::BAD_REQUEST,
            "400 Bad Request: the request body's framing is broken.\n",
        )),
        Ok(Ok(bytes)) => Ok(bytes),
    }
}

/// Everything after the HTTP gates: the SOAP-level checks and the operation.
fn process(app: &App, user: UserIndex, bytes: &[u8]) -> Result<ResponseEnvelope, Box<SoapFault>> {
    let profile = app.store.profile;
    if super::batch::names_more_than(bytes, app.max_items_per_request) {
        return Err(super::batch::too_many_fault(app.max_items_per_request));
    }
    // One pass validates the request and builds its tree; only a refused request is read
    // again, to answer with the fault Exchange gives for what is wrong with it, or, for a
    // version the profile does not validate, to go on without validation.
    let (root, validated) = match app.schemas.parse_valid(bytes) {
        Ok(root) => (root, true),
        Err(validation) => match refusal(profile, bytes, &validation) {
            Ok(root) => (root, false),
            Err(fault) => {
                if app.store.defects.execute_refused {
                    execute_refused(app, user, bytes);
                }
                return Err(fault);
            }
        },
    };
    check_version_and_operation(profile, &root)?;
    let envelope = RequestEnvelope::from_element(&root).map_err(|e| {
        if validated {
            // Valid under the schemas, so what the mock cannot read is its own limit, never
            // the client's schema: Exchange's answer to what it does not serve, naming it.
            not_implemented(&format!("what the request asks: {e}"))
        } else {
            // See `Profile::validates`: what Exchange cannot deserialize unvalidated fails
            // as an internal error.
            ews_fault(
                ResponseCode::ErrorInternalServerError,
                "An internal server error occurred. The operation failed.",
            )
        }
    })?;
    Ok(ResponseEnvelope {
        server_version_info: Some(profile.server_version_info()),
        body: ResponseBody::Response(execute(app, user, &envelope)?),
    })
}

/// Runs the request as the account it acts for (the caller, or whom it impersonates) and
/// delivers what it sent.
fn execute(
    app: &App,
    user: UserIndex,
    envelope: &RequestEnvelope,
) -> Result<crate::ews::OperationResponse, Box<SoapFault>> {
    let actor = impersonate(
        app.store.profile,
        &app.store.directory,
        user,
        &envelope.headers,
    )?;
    let executed = app
        .store
        .execute(actor, &envelope.body, app.delivery_delay.is_zero());
    deliver(app, executed.deliveries);
    Ok(executed.response)
}

/// The `execute_refused` defect: runs a refused request as far as it can be read, and delivers
/// what it sent, although the answer is the refusal.
fn execute_refused(app: &App, user: UserIndex, bytes: &[u8]) {
    let Ok(root) = Element::parse(bytes) else {
        return;
    };
    if let Ok(envelope) = RequestEnvelope::from_element(&root) {
        // The answer is the refusal; what the request did is all the defect is for.
        let _ = execute(app, user, &envelope);
    }
}

/// A request the schemas refuse: the fault for it (not well-formed XML, then a bad version or an
/// unknown operation, then the first schema error), or its tree when `profile` does not
/// validate requests of its version.
fn refusal(
    profile: Profile,
    bytes: &[u8],
    validation: &crate::schema::Validation,
) -> Result<Element, Box<SoapFault>> {
    let root = match Element::parse(bytes) {
        Ok(root) => root,
        Err(XmlError::Syntax {
            line,
            column,
            message,
        }) => return Err(schema_fault(line, column, &message)),
        Err(XmlError::Doctype { line, column }) => {
            return Err(schema_fault(
                line,
                column,
                "For security reasons DTD is prohibited in this XML document.",
            ));
        }
        Err(XmlError::TooDeep { line, column }) => {
            return Err(schema_fault(line, column, "The document nests too deep."));
        }
        Err(XmlError::Shape {
            line,
            column,
            message,
            ..
        }) => return Err(schema_fault(line, column, &message)),
    };
    check_version_and_operation(profile, &root)?;
    if let Ok(version) = requested_version(&root)
        && !profile.validates(version)
    {
        return Ok(root);
    }
    if let Some(name) = validation.errors.first().and_then(unimplemented_item) {
        return Err(not_implemented(&format!("the item kind {name}.")));
    }
    Err(match validation.errors.first() {
        Some(first) => schema_fault(first.line, first.column, &first.message),
        None => schema_fault(0, 0, "The request failed schema validation."),
    })
}

/// The item kinds and response objects of EWS that the mock's schemas leave out: a request
/// carrying one is valid EWS the mock does not implement, not a schema error of the client's.
// Source: NonEmptyArrayOfAllItemsType in Microsoft's types.xsd (Exchange 2016 and Online).
pub const UNIMPLEMENTED_ITEMS: [&str; 20] = [
    "SharingMessage",
    "CalendarItem",
    "Contact",
    "DistributionList",
    "MeetingMessage",
    "MeetingRequest",
    "MeetingResponse",
    "MeetingCancellation",
    "PostItem",
    "AcceptItem",
    "TentativelyAcceptItem",
    "DeclineItem",
    "CancelCalendarItem",
    "RemoveItem",
    "SuppressReadReceipt",
    "PostReplyItem",
    "AcceptSharingInvitation",
    "RoleMember",
    "Network",
    "Person",
];

/// The unimplemented item kind a schema error is about, when it is one: libxml2 names the
/// element it did not expect as `Element '{NAMESPACE}NAME': This element is not expected.`
fn unimplemented_item(error: &crate::schema::XmlError) -> Option<&'static str> {
    let rest = error.message.split_once("Element '{")?.1;
    let (namespace, rest) = rest.split_once('}')?;
    let (name, rest) = rest.split_once('\'')?;
    if namespace != TYPES_NS || !rest.contains("not expected") {
        return None;
    }
    UNIMPLEMENTED_ITEMS.iter().copied().find(|n| *n == name)
}

/// The request's `RequestServerVersion/@Version`: `Ok(None)` without one (or when the request is
/// no envelope), `Err` with the value when it names no `ExchangeVersionType` value.
fn requested_version(root: &Element) -> Result<Option<ExchangeVersion>, &str> {
    let Ok((header, _)) = crate::ews::soap::envelope_parts(root) else {
        return Ok(None);
    };
    match header
        .and_then(|h| h.child(TYPES_NS, "RequestServerVersion"))
        .and_then(|v| v.attr("Version"))
    {
        None => Ok(None),
        Some(version) => version.parse().map(Some).map_err(|_| version),
    }
}

/// A `RequestServerVersion` the server does not serve and an operation it does not know get
/// their own faults, before schema validation would report them as schema errors.
fn check_version_and_operation(profile: Profile, root: &Element) -> Result<(), Box<SoapFault>> {
    let Ok((_, body)) = crate::ews::soap::envelope_parts(root) else {
        // Not an envelope: schema validation explains what is wrong.
        return Ok(());
    };
    let refused = match requested_version(root) {
        Ok(None) => None,
        Ok(Some(version)) => profile.refuses_version(Some(version)),
        Err(_) => profile.refuses_version(None),
    };
    match refused {
        Some(code @ ResponseCode::ErrorInvalidRequest) => {
            return Err(ews_fault(code, INVALID_REQUEST));
        }
        Some(code) => {
            return Err(ews_fault(code, "The specified server version is invalid."));
        }
        None => {}
    }
    let foreign = body.namespace.as_deref() != Some(MESSAGES_NS);
    if foreign && profile.invalid_request_for_foreign_operation() {
        return Err(ews_fault(
            ResponseCode::ErrorInvalidRequest,
            INVALID_REQUEST,
        ));
    }
    if !foreign && !EwsRequest::NAMES.contains(&body.name.as_str()) {
        // Exchange's answer to an operation it does not serve, naming what is not served: an
        // EWS operation the mock does not implement (ResolveNames, say) is never blamed on the
        // client's schema.
        return Err(not_implemented(&format!("the operation {}.", body.name)));
    }
    debug_assert!(root.is(SOAP_NS, "Envelope"));
    Ok(())
}

/// The `faultstring` and `e:Message` of Exchange's ErrorInvalidRequest fault.
// Source: exchangelib #927 (Exchange 2019 15.2, Version "Exchange2019") and ews-javascript-api
// #441 (Exchange 2019, V2018_01_08) quote the fault: a:ErrorInvalidRequest, "The request is
// invalid.", faultstring xml:lang, no Header.
const INVALID_REQUEST: &str = "The request is invalid.";

/// Exchange's fault for what a server does not serve (ErrorInvalidRequest), naming `what` the
/// mock does not implement: a valid request is never blamed on the client's schema.
fn not_implemented(what: &str) -> Box<SoapFault> {
    ews_fault(
        ResponseCode::ErrorInvalidRequest,
        format!("{INVALID_REQUEST} This server does not implement {what}"),
    )
}

/// The user a request acts as: the login, or whom `ExchangeImpersonation` names.
fn impersonate(
    profile: Profile,
    directory: &Directory,
    login: UserIndex,
    headers: &RequestHeaders,
) -> Result<UserIndex, Box<SoapFault>> {
    let Some(sid) = &headers.exchange_impersonation else {
        return Ok(login);
    };
    if !directory.may_impersonate(login) {
        return Err(ews_fault(
            ResponseCode::ErrorImpersonateUserDenied,
            "The account does not have permission to impersonate the requested user.",
        ));
    }
    let target = match sid {
        ConnectingSid::Sid(s) if !s.trim().starts_with("S-1-") => {
            return Err(ews_fault(
                profile.invalid_sid_code(false),
                "The SID is invalid.",
            ));
        }
        ConnectingSid::Sid(s) => {
            return directory.by_sid(s).ok_or_else(|| {
                let code = profile.invalid_sid_code(true);
                let message = if code == ResponseCode::ErrorInvalidUserSid {
                    "The SID is invalid.".to_owned()
                } else {
                    format!("The SID '{s}' has no mailbox associated with it.")
                };
                ews_fault(code, message)
            });
        }
        ConnectingSid::PrincipalName(a)
        | ConnectingSid::PrimarySmtpAddress(a)
        | ConnectingSid::SmtpAddress(a) => directory.by_address(a),
    };
    target.ok_or_else(|| {
        ews_fault(
            ResponseCode::ErrorNonExistentMailbox,
            format!(
                "The {} '{}' has no mailbox associated with it.",
                sid.element_name(),
                sid.value()
            ),
        )
    })
}

fn deliver(app: &App, deliveries: Vec<super::transport::Delivery>) {
    if deliveries.is_empty() {
        return;
    }
    let store = app.store.clone();
    let delay = app.delivery_delay;
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        let mut state = store.lock();
        for d in deliveries {
            d.apply(&mut state, &store.directory);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every serving thread gets its turn: six connections to three threads are two each,
    /// whichever thread would have woken first.
    #[tokio::test]
    async fn the_dealer_hands_connections_to_each_thread_in_turn() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (hands, mut threads): (Vec<_>, Vec<_>) = (0..3)
            .map(|_| tokio::sync::mpsc::unbounded_channel())
            .unzip();
        let (stop, stop_signal) = tokio::sync::watch::channel(());
        let registry = Registry::new(ConnectionLimits::default());
        let dealer = tokio::spawn(deal(listener, registry, hands, stop_signal));
        let mut clients = Vec::new();
        for _ in 0..6 {
            clients.push(tokio::net::TcpStream::connect(addr).await.unwrap());
        }
        let client_addrs: Vec<_> = clients.iter().map(|c| c.local_addr().unwrap()).collect();
        for (n, thread) in threads.iter_mut().enumerate() {
            for _ in 0..2 {
                let (stream, _) = tokio::time::timeout(Duration::from_secs(10), thread.recv())
                    .await
                    .unwrap_or_else(|_| panic!("thread {n} was dealt fewer than 2"))
                    .expect("the dealer is still running");
                assert!(client_addrs.contains(&stream.peer_addr().unwrap()));
            }
            assert!(
                thread.try_recv().is_err(),
                "thread {n} was dealt more than 2"
            );
        }
        drop(stop);
        tokio::time::timeout(Duration::from_secs(10), dealer)
            .await
            .expect("the dealer stops when told to")
            .unwrap();
    }
}
