//! Hostile clients against the reference mock, scripted byte by byte over loopback: slow
//! headers, idle sockets past the connection cap, half-sent requests at shutdown, requests
//! naming too many items, broken chunked framing and oversize bodies; and `ewsconf mock`
//! stopped by SIGTERM.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine;
use common::{BOSS, M, PASSWORD, SOAP, T};
use ewsconf::mock::{ConnectionLimits, MockConfig, MockServer, Profile};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// Every wait in these tests is bounded by this, so a hang fails instead of blocking.
const BOUND: Duration = Duration::from_secs(30);

/// Connection limits: the header read timeout, the idle timeout and the shutdown grace in
/// milliseconds, and the connection cap.
fn limits(header_ms: u64, idle_ms: u64, cap: usize, grace_ms: u64) -> ConnectionLimits {
    ConnectionLimits {
        header_read_timeout: Duration::from_millis(header_ms),
        idle_timeout: Duration::from_millis(idle_ms),
        max_connections: cap,
        shutdown_grace: Duration::from_millis(grace_ms),
    }
}

async fn mock(connections: ConnectionLimits, server_threads: usize) -> MockServer {
    MockServer::start(MockConfig {
        connections,
        server_threads,
        ..MockConfig::with_profile(Profile::Documented)
    })
    .await
    .expect("the mock starts")
}

fn basic() -> String {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{BOSS}:{PASSWORD}"));
    format!("Basic {token}")
}

/// The head of an authenticated SOAP POST; `framing` is its Content-Length or
/// Transfer-Encoding line.
fn post_head(framing: &str) -> String {
    format!(
        "POST /EWS/Exchange.asmx HTTP/1.1\r\nHost: mock\r\nAuthorization: {}\r\n\
         Content-Type: text/xml; charset=utf-8\r\nConnection: close\r\n{framing}\r\n\r\n",
        basic()
    )
}

/// A SendItem naming `ids` items.
fn send_item(ids: usize) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="{SOAP}" xmlns:m="{M}" xmlns:t="{T}"><s:Header><t:RequestServerVersion Version="Exchange2016"/></s:Header><s:Body><m:SendItem SaveItemToFolder="false"><m:ItemIds>{}</m:ItemIds></m:SendItem></s:Body></s:Envelope>"#,
        r#"<t:ItemId Id="AAMkAG=="/>"#.repeat(ids)
    )
}

async fn connect(addr: SocketAddr) -> TcpStream {
    timeout(BOUND, TcpStream::connect(addr))
        .await
        .expect("connect within the bound")
        .expect("the mock accepts")
}

/// Reads an answer until the server closes: its status and its text.
async fn answer(stream: &mut TcpStream) -> (u16, String) {
    let mut bytes = Vec::new();
    let read = timeout(BOUND, stream.read_to_end(&mut bytes))
        .await
        .expect("the answer arrives within the bound");
    // A reset after a complete answer still leaves the answer.
    if let Err(e) = read {
        assert!(!bytes.is_empty(), "no answer, the connection failed: {e}");
    }
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {text:?}"));
    (status, text)
}

/// One whole request on a fresh connection.
async fn exchange(addr: SocketAddr, request: &[u8]) -> (u16, String) {
    let mut stream = connect(addr).await;
    stream
        .write_all(request)
        .await
        .expect("the request is sent");
    answer(&mut stream).await
}

async fn get(addr: SocketAddr) -> (u16, String) {
    exchange(
        addr,
        b"GET /EWS/Exchange.asmx HTTP/1.1\r\nHost: mock\r\nConnection: close\r\n\r\n",
    )
    .await
}

/// True once the server has closed `stream`: end of stream or a reset, not an answer.
async fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut byte = [0u8; 1];
    match timeout(BOUND, stream.read(&mut byte)).await {
        Ok(Ok(0)) | Ok(Err(_)) => true,
        Ok(Ok(_)) | Err(_) => false,
    }
}

#[tokio::test]
async fn a_client_sending_headers_a_byte_at_a_time_is_cut_off_while_others_are_served() {
    let mock = mock(limits(600, 60_000, 64, 1000), 0).await;
    let addr = mock.addr();
    let slow = connect(addr).await;
    let (mut reading, mut writing) = slow.into_split();
    // A header line that never ends, one byte every 50 ms.
    let dripping = tokio::spawn(async move {
        let mut sent = 0usize;
        for byte in b"POST /EWS/Exchange.asmx HTTP/1.1\r\nX-Slow: "
            .iter()
            .chain(std::iter::repeat(&b'a'))
        {
            if writing.write_all(&[*byte]).await.is_err() {
                break;
            }
            sent += 1;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        sent
    });
    // Served while the slow client is dripping.
    let (status, _) = get(addr).await;
    assert_eq!(
        status, 405,
        "a GET on the endpoint gets 405 Method Not Allowed"
    );
    let mut byte = [0u8; 1];
    let cut = timeout(BOUND, reading.read(&mut byte))
        .await
        .expect("the slow client is cut off within the bound");
    assert!(
        matches!(cut, Ok(0) | Err(_)),
        "the slow client got bytes instead of a close: {cut:?}"
    );
    let sent = timeout(BOUND, dripping)
        .await
        .expect("the dripper stops")
        .unwrap();
    assert!(
        sent > 1,
        "the slow client was cut off before it sent anything"
    );
    // And the mock still serves.
    assert_eq!(get(addr).await.0, 405);
    timeout(BOUND, mock.shutdown())
        .await
        .expect("shutdown completes");
}

#[tokio::test]
async fn idle_sockets_past_the_cap_do_not_lock_out_a_new_client() {
    const CAP: usize = 4;
    for threads in [0, 2] {
        let mock = mock(limits(10_000, 60_000, CAP, 1000), threads).await;
        let addr = mock.addr();
        let mut idle = Vec::new();
        for _ in 0..CAP * 5 {
            idle.push(connect(addr).await);
        }
        let (status, _) = get(addr).await;
        assert_eq!(status, 405, "the new client is served ({threads} threads)");
        // The idle sockets it displaced are closed: the mock never holds more than the cap
        // (plus those on their way out).
        timeout(BOUND, async {
            while mock.open_connections() > CAP {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("displaced connections close within the bound");
        let mut closed = 0;
        for stream in &mut idle {
            let mut byte = [0u8; 1];
            if let Ok(Ok(0) | Err(_)) =
                timeout(Duration::from_millis(50), stream.read(&mut byte)).await
            {
                closed += 1;
            }
        }
        assert!(
            closed >= CAP * 4,
            "only {closed} of {} idle sockets were closed",
            idle.len()
        );
        timeout(BOUND, mock.shutdown())
            .await
            .expect("shutdown completes");
    }
}

#[tokio::test]
async fn a_request_in_progress_is_never_displaced_and_a_full_mock_answers_503() {
    let mock = mock(limits(10_000, 60_000, 1, 1000), 0).await;
    let addr = mock.addr();
    let body = send_item(1);
    let (first, rest) = body.split_at(body.len() / 2);
    let mut busy = connect(addr).await;
    busy.write_all(post_head(&format!("Content-Length: {}", body.len())).as_bytes())
        .await
        .unwrap();
    busy.write_all(first.as_bytes()).await.unwrap();
    // The head is in and the body is being read: wait until the mock is reading it, then
    // knock. Every connection is busy, so the newcomer is refused.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (status, text) = get(addr).await;
    assert_eq!(status, 503, "{text}");
    assert!(text.ends_with("every connection is busy.\n"), "{text}");
    // The request in progress was not cut short: it completes and is answered.
    busy.write_all(rest.as_bytes()).await.unwrap();
    let (status, text) = answer(&mut busy).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("SendItemResponseMessage"), "{text}");
    timeout(BOUND, mock.shutdown())
        .await
        .expect("shutdown completes");
}

#[tokio::test]
async fn shutdown_with_half_sent_requests_completes_and_closes_them() {
    for threads in [0, 2] {
        let mock = mock(limits(60_000, 600_000, 64, 500), threads).await;
        let addr = mock.addr();
        // Half a body, after a whole head.
        let mut half_body = connect(addr).await;
        half_body
            .write_all(post_head("Content-Length: 100000").as_bytes())
            .await
            .unwrap();
        half_body.write_all(b"<s:Envelope").await.unwrap();
        // Half a head.
        let mut half_head = connect(addr).await;
        half_head
            .write_all(b"POST /EWS/Exchange.asmx HTTP/1.1\r\nHost: mo")
            .await
            .unwrap();
        // Nothing at all.
        let mut silent = connect(addr).await;
        // Make sure the mock has the half body in hand before it is told to stop.
        tokio::time::sleep(Duration::from_millis(200)).await;
        timeout(BOUND, mock.shutdown())
            .await
            .unwrap_or_else(|_| panic!("shutdown hangs ({threads} threads)"));
        for (what, stream) in [
            ("half a body", &mut half_body),
            ("half a head", &mut half_head),
            ("a silent socket", &mut silent),
        ] {
            assert!(
                closed_by_server(stream).await,
                "{what} was not closed ({threads} threads)"
            );
        }
        assert!(
            TcpStream::connect(addr).await.is_err(),
            "the listener is closed after shutdown"
        );
    }
}

#[tokio::test]
async fn a_request_naming_too_many_items_gets_exchanges_error_and_a_small_answer() {
    let mock = mock(ConnectionLimits::default(), 0).await;
    let addr = mock.addr();
    let cap = ewsconf::limits::DEFAULT_MAX_ITEMS_PER_REQUEST;
    for ids in [cap + 1, 600_000] {
        let body = send_item(ids);
        let request = post_head(&format!("Content-Length: {}", body.len())) + &body;
        let (status, text) = exchange(addr, request.as_bytes()).await;
        assert_eq!(status, 500, "{ids} ids: a SOAP fault");
        assert!(
            text.contains("ErrorExceededFindCountLimit"),
            "{ids} ids: {}",
            &text[..text.len().min(2000)]
        );
        assert!(
            text.len() < 4096,
            "{ids} ids: the answer is {} bytes",
            text.len()
        );
    }
    // At the cap, each id is answered on its own.
    let body = send_item(cap);
    let request = post_head(&format!("Content-Length: {}", body.len())) + &body;
    let (status, text) = exchange(addr, request.as_bytes()).await;
    assert!(
        !text.contains("ErrorExceededFindCountLimit"),
        "status {status}"
    );
    assert_eq!(text.matches("<m:SendItemResponseMessage ").count(), cap);
    timeout(BOUND, mock.shutdown())
        .await
        .expect("shutdown completes");
}

#[tokio::test]
async fn a_malformed_chunked_body_gets_400_and_an_oversize_body_413() {
    let mock = MockServer::start(MockConfig {
        max_body_bytes: 1024,
        ..MockConfig::default()
    })
    .await
    .unwrap();
    let chunked = post_head("Transfer-Encoding: chunked");
    let chunk = format!("200\r\n{}\r\n", "x".repeat(0x200));
    let body = send_item(1);
    for (what, request, want) in [
        (
            "a chunk size that is not hexadecimal",
            chunked.clone() + "zz\r\nhello\r\n0\r\n\r\n",
            400,
        ),
        (
            "a chunk longer than its size line says",
            chunked.clone() + "2\r\nhello\r\n0\r\n\r\n",
            400,
        ),
        (
            "well-formed chunks adding up past the limit",
            chunked + &chunk.repeat(3) + "0\r\n\r\n",
            413,
        ),
        // Refused before the body is sent.
        (
            "a Content-Length past the limit, from a client waiting for 100 Continue",
            post_head("Content-Length: 2048\r\nExpect: 100-continue"),
            413,
        ),
        // The body is read before the 413, so that the client is not cut off mid-write and
        // reads the answer.
        (
            "a Content-Length past the limit, from a client that sends the body at once",
            post_head("Content-Length: 2048") + &"x".repeat(2048),
            413,
        ),
        (
            "a Content-Length past twice the limit, refused at once",
            post_head("Content-Length: 4096"),
            413,
        ),
        (
            "a well-framed body within the limit, read and answered",
            post_head(&format!("Content-Length: {}", body.len())) + &body,
            200,
        ),
    ] {
        let (status, text) = exchange(mock.addr(), request.as_bytes()).await;
        assert_eq!(status, want, "{what}: {text}");
    }
    timeout(BOUND, mock.shutdown())
        .await
        .expect("shutdown completes");
}

/// `ewsconf mock` stops on SIGTERM with exit code 0, as it does on Ctrl-C: stopping on request
/// is its normal end. A client holding a half-sent request does not keep it running.
#[tokio::test]
async fn the_mock_command_exits_0_on_sigterm_with_a_half_sent_request_open() {
    use std::io::BufRead;
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_ewsconf"))
        .args(["mock", "--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("ewsconf starts");
    let mut child = KillOnDrop(child);
    let stdout = child.0.stdout.take().expect("stdout is piped");
    // Read the first line, then keep reading so the mock never blocks on a full pipe.
    let (first_line, first) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut lines = std::io::BufReader::new(stdout).lines();
        let _ = first_line.send(lines.next());
        for _ in lines {}
    });
    let first = timeout(BOUND, first)
        .await
        .expect("the mock prints its address within the bound")
        .unwrap()
        .expect("a first line")
        .unwrap();
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {first:?}"));
    let addr: SocketAddr = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .parse()
        .expect("an address");
    let mut half = connect(addr).await;
    half.write_all(post_head("Content-Length: 100000").as_bytes())
        .await
        .unwrap();
    half.write_all(b"<s:Envelope").await.unwrap();
    assert_eq!(get(addr).await.0, 405, "the mock serves before the signal");
    let pid = libc::pid_t::try_from(child.0.id()).expect("a pid");
    // SAFETY: `kill` only sends a signal, to a process this test started and has not reaped.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let deadline = tokio::time::Instant::now() + BOUND;
    let status = loop {
        if let Some(status) = child.0.try_wait().expect("the mock's status") {
            break status;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the mock is still running {} s after SIGTERM",
            BOUND.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(status.code(), Some(0), "{status:?}");
    assert!(
        closed_by_server(&mut half).await,
        "the half-sent request was not closed"
    );
}

/// A child process killed if the test ends before it does.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}
