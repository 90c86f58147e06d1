//! The mock's connections: admitting them, serving HTTP/1.1 on each, and ending each in time.
//!
//! Every connection is bounded. A request's headers must arrive within the header-read timeout
//! of their first byte; a connection that neither sends nor takes a byte for the idle timeout is
//! closed; the body of a request is bounded by the handler (see `server.rs`). At most
//! [`ConnectionLimits::max_connections`] are open: a newcomer past the cap closes the connection
//! that has waited longest without a request in progress, and is refused with 503 only when
//! every connection is in the middle of a request, so idle sockets can never lock clients out
//! and a request in progress is never cut short for a newcomer.
//!
//! Stopping closes every connection without a request in progress at once, lets requests in
//! progress finish for up to [`ConnectionLimits::shutdown_grace`], then closes the rest.
//!
//! hyper's own `header_read_timeout` is not used: it also runs while a keep-alive connection
//! waits for its next request, so it cannot tell an idle client from a slow one, and hyper
//! neither closes a connection that never sent a byte on graceful shutdown nor bounds it.

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

/// Default time a request's headers may take from their first byte.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time a connection may stay without a byte either way before it is closed.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Default time requests in progress get to finish when the mock stops.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Descriptors kept free of connections: the listener, the runtimes' and the process's own.
const DESCRIPTOR_HEADROOM: libc::rlim_t = 64;
/// The connection cap when the descriptor limit allows more (or cannot be read).
const CONNECTION_CAP_CEILING: usize = 1024;
/// The text a newcomer gets, with 503, when every connection is in the middle of a request.
const BUSY_TEXT: &str = "503 Service Unavailable: every connection is busy.\n";

/// How long connections may take, and how many may be open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Time from the first byte of a request to the end of its headers.
    pub header_read_timeout: Duration,
    /// Time a connection may go without a byte either way (and without a request in progress).
    pub idle_timeout: Duration,
    /// Connections open at once.
    pub max_connections: usize,
    /// Time requests in progress get to finish when the mock stops.
    pub shutdown_grace: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_connections: default_max_connections(),
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
        }
    }
}

/// The default connection cap: the process's descriptor limit less some headroom, at most 1024.
pub fn default_max_connections() -> usize {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `getrlimit` only writes the struct it is given, which lives for the call.
    let read = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0;
    if !read || limit.rlim_cur == libc::RLIM_INFINITY {
        return CONNECTION_CAP_CEILING;
    }
    let free = limit.rlim_cur.saturating_sub(DESCRIPTOR_HEADROOM);
    usize::try_from(free)
        .unwrap_or(usize::MAX)
        .clamp(1, CONNECTION_CAP_CEILING)
}

/// What a connection is doing, for its timeouts and for choosing whom a newcomer displaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for a request, or writing out the last answer.
    Idle,
    /// Some of a request's headers have come.
    Head,
    /// A request is being handled (its body read, the operation run).
    Busy,
}

#[derive(Debug)]
struct WatchState {
    phase: Phase,
    /// When the phase began, or (idle) when a byte last moved.
    since: Instant,
    /// Requests being handled.
    in_flight: usize,
    /// Told to close to make room for a newcomer.
    evicted: bool,
}

/// One connection's state, shared by its I/O, its service and the [`Registry`].
#[derive(Debug)]
struct Watch {
    state: Mutex<WatchState>,
    evict: Notify,
}

impl Watch {
    fn new() -> Self {
        Self {
            state: Mutex::new(WatchState {
                phase: Phase::Idle,
                since: Instant::now(),
                in_flight: 0,
                evicted: false,
            }),
            evict: Notify::new(),
        }
    }

    fn state(&self) -> MutexGuard<'_, WatchState> {
        // The state stays consistent whatever a panicking holder did: every write is one field.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn read_some(&self) {
        let mut s = self.state();
        if s.phase == Phase::Idle {
            s.phase = Phase::Head;
            s.since = Instant::now();
        }
    }

    fn wrote_some(&self) {
        let mut s = self.state();
        if s.phase == Phase::Idle {
            s.since = Instant::now();
        }
    }

    fn begin_request(self: &Arc<Self>) -> InFlight {
        let mut s = self.state();
        s.in_flight += 1;
        s.phase = Phase::Busy;
        InFlight(self.clone())
    }

    /// When the connection is to be closed, if nothing more happens on it.
    fn deadline(&self, limits: &ConnectionLimits) -> Option<Instant> {
        let s = self.state();
        match s.phase {
            Phase::Idle => Some(s.since + limits.idle_timeout),
            Phase::Head => Some(s.since + limits.header_read_timeout),
            Phase::Busy => None,
        }
    }

    fn busy(&self) -> bool {
        self.state().phase == Phase::Busy
    }
}

/// A request being handled; dropping it ends the request.
struct InFlight(Arc<Watch>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut s = self.0.state();
        s.in_flight = s.in_flight.saturating_sub(1);
        if s.in_flight == 0 {
            s.phase = Phase::Idle;
            s.since = Instant::now();
        }
    }
}

/// Every open connection of one mock, across its serving threads: the connection cap.
#[derive(Debug)]
pub struct Registry {
    limits: ConnectionLimits,
    open: Mutex<HashMap<u64, Arc<Watch>>>,
    next: AtomicU64,
}

/// A connection the [`Registry`] let in; dropping it leaves the registry.
#[derive(Debug)]
pub struct Admitted {
    registry: Arc<Registry>,
    id: u64,
    watch: Arc<Watch>,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.registry.open().remove(&self.id);
    }
}

impl Registry {
    /// A registry enforcing `limits`.
    pub fn new(limits: ConnectionLimits) -> Arc<Self> {
        Arc::new(Self {
            limits,
            open: Mutex::new(HashMap::new()),
            next: AtomicU64::new(0),
        })
    }

    /// The limits it enforces.
    pub fn limits(&self) -> &ConnectionLimits {
        &self.limits
    }

    fn open(&self) -> MutexGuard<'_, HashMap<u64, Arc<Watch>>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Lets a new connection in, closing the longest-waiting connection without a request in
    /// progress when the cap is reached; `None` when every connection is busy.
    pub fn admit(self: &Arc<Self>) -> Option<Admitted> {
        let mut open = self.open();
        let staying = open.values().filter(|w| !w.state().evicted).count();
        if staying >= self.limits.max_connections.max(1) {
            let victim = open
                .values()
                .filter_map(|w| {
                    let s = w.state();
                    (!s.evicted && s.phase != Phase::Busy).then(|| (s.since, w.clone()))
                })
                .min_by_key(|(since, _)| *since)
                .map(|(_, w)| w)?;
            victim.state().evicted = true;
            victim.evict.notify_one();
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let watch = Arc::new(Watch::new());
        open.insert(id, watch.clone());
        Some(Admitted {
            registry: self.clone(),
            id,
            watch,
        })
    }

    /// Connections open now (including any told to close that have not closed yet).
    pub fn open_count(&self) -> usize {
        self.open().len()
    }
}

/// Refuses a connection past the cap: a best-effort 503 (never waiting for the peer); the
/// caller then drops the stream, which closes it.
pub fn refuse(stream: &TcpStream) {
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 1\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n\r\n{BUSY_TEXT}",
        BUSY_TEXT.len()
    );
    let _ = stream.try_write(answer.as_bytes());
}

/// The stream under a connection, telling its [`Watch`] when bytes move.
struct Tracked {
    io: TcpStream,
    watch: Arc<Watch>,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.watch.read_some();
        }
        polled
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.watch.wrote_some();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.watch.wrote_some();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// Returns when the sender of `stop` is dropped: nothing is ever sent on it.
pub async fn stopped(stop: &mut watch::Receiver<()>) {
    while stop.changed().await.is_ok() {}
}

/// Serves `router` on one admitted connection until the peer leaves, a timeout ends it, a
/// newcomer displaces it, or the mock stops.
pub async fn serve_connection(
    stream: TcpStream,
    admitted: Admitted,
    router: Router,
    mut stop: watch::Receiver<()>,
) {
    let limits = *admitted.registry.limits();
    let watch = admitted.watch.clone();
    let router = TowerToHyperService::new(router);
    let service = {
        let watch = watch.clone();
        hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let in_flight = watch.begin_request();
            let answer = hyper::service::Service::call(&router, request);
            async move {
                let answer = answer.await;
                drop(in_flight);
                answer
            }
        })
    };
    let io = TokioIo::new(Tracked {
        io: stream,
        watch: watch.clone(),
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(io, service);
    tokio::pin!(connection);
    // Even with no deadline pending, look again this often: a phase may begin whose deadline
    // is earlier than the one slept on.
    let recheck = limits
        .header_read_timeout
        .min(limits.idle_timeout)
        .max(Duration::from_millis(10));
    let mut grace_ends: Option<Instant> = None;
    let mut told_to_leave = false;
    loop {
        let now = Instant::now();
        let mut wake = watch
            .deadline(&limits)
            .unwrap_or(now + recheck)
            .min(now + recheck);
        if let Some(end) = grace_ends {
            wake = wake.min(end);
        }
        tokio::select! {
            served = connection.as_mut() => {
                if let Err(e) = served {
                    tracing::debug!("mock connection ended: {e}");
                }
                break;
            }
            () = tokio::time::sleep_until(wake) => {
                let now = Instant::now();
                if watch.deadline(&limits).is_some_and(|d| d <= now) {
                    tracing::debug!("mock connection timed out");
                    break;
                }
                if grace_ends.is_some_and(|end| end <= now) {
                    tracing::debug!("mock connection cut off at shutdown");
                    break;
                }
                // Told to leave while busy: hyper closes once the answer is written.
            }
            () = watch.evict.notified(), if !told_to_leave => {
                told_to_leave = true;
                if !watch.busy() {
                    break;
                }
                connection.as_mut().graceful_shutdown();
            }
            () = stopped(&mut stop), if grace_ends.is_none() => {
                if !watch.busy() {
                    break;
                }
                grace_ends = Some(Instant::now() + limits.shutdown_grace);
                connection.as_mut().graceful_shutdown();
            }
        }
    }
    drop(admitted);
}
