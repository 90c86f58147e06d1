//! Servers that answer too much or with the wrong media type, scripted on loopback: an endless
//! chunked answer and a 50 MiB one end at the client's cap with the case `error` ("the answer
//! exceeds N bytes"), and a valid answer sent as `application/json` fails on its Content-Type.

mod common;

use std::convert::Infallible;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use ewsconf::Verdict;
use ewsconf::case::Case;
use ewsconf::ews::{ResponseCode, ResponseMessage};
use ewsconf::limits::DEFAULT_MAX_RESPONSE_BYTES;
use ewsconf::run::{Interrupt, Outcome, RunOptions, run};
use ewsconf::target::{Auth, Client, ClientOptions, Post, TargetError};
use futures_util::StreamExt as _;

/// Turns a hang into a failure; the runs below take well under a second when they hold.
const WATCHDOG: Duration = Duration::from_secs(20);

const FIFTY_MIB: usize = 50 * 1024 * 1024;

/// The start of a SOAP answer, so that only its length is wrong.
const ENVELOPE_START: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body>";

/// An answer of `ENVELOPE_START` followed by blank chunks of 64 KiB, without end, sent
/// chunked (no Content-Length).
fn endless() -> Response {
    let padding = Bytes::from(vec![b' '; 64 * 1024]);
    let chunks = futures_util::stream::iter([Bytes::from_static(ENVELOPE_START.as_bytes())])
        .chain(futures_util::stream::repeat(padding))
        .map(Ok::<_, Infallible>);
    (
        [(CONTENT_TYPE, "text/xml; charset=utf-8")],
        Body::from_stream(chunks),
    )
        .into_response()
}

/// `ENVELOPE_START` padded to 50 MiB; chunked when `announced` is false, else with its
/// Content-Length.
fn fifty_mib(announced: bool) -> Response {
    let mut body = ENVELOPE_START.as_bytes().to_vec();
    body.resize(FIFTY_MIB, b' ');
    let body = Bytes::from(body);
    let body = if announced {
        Body::from(body)
    } else {
        let chunks: Vec<Bytes> = (0..body.len())
            .step_by(1024 * 1024)
            .map(|at| body.slice(at..(at + 1024 * 1024).min(body.len())))
            .collect();
        Body::from_stream(futures_util::stream::iter(chunks).map(Ok::<_, Infallible>))
    };
    ([(CONTENT_TYPE, "text/xml; charset=utf-8")], body).into_response()
}

/// The answer `reference/invalid-id` expects, a valid SendItem response, with this
/// Content-Type.
fn invalid_id_answer(content_type: &'static str) -> Response {
    let mut message =
        ResponseMessage::error(ResponseCode::ErrorInvalidIdMalformed, "Id is malformed.");
    message.descriptive_link_key = Some(0);
    let envelope = common::response_envelope("SendItem", message);
    ([(CONTENT_TYPE, content_type)], envelope).into_response()
}

/// Runs `case` against `url` under the watchdog, and returns its outcome.
async fn run_one(url: &str, case: Case) -> Outcome {
    let target = common::principal_target(url, Duration::from_secs(10));
    let options = RunOptions {
        jobs: 1,
        case_timeout: Duration::from_secs(15),
        ..common::run_options(1)
    };
    let summary = tokio::time::timeout(
        WATCHDOG,
        run(&target, &[case], &options, &Interrupt::default(), |_| {}),
    )
    .await
    .expect("the run ends")
    .expect("the run completes");
    let [outcome] = <[Outcome; 1]>::try_from(summary.outcomes).expect("one outcome");
    outcome
}

fn assert_too_large(outcome: &Outcome) {
    assert_eq!(outcome.verdict, Verdict::Error, "{outcome:?}");
    let reason = outcome.reason.as_deref().unwrap_or_default();
    let limit = format!("the answer exceeds {DEFAULT_MAX_RESPONSE_BYTES} bytes");
    assert!(reason.contains(&limit), "reason: {reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_chunked_answer_ends_at_the_cap_as_error() {
    let url = common::scripted_endpoint(endless).await;
    let outcome = run_one(&url, common::invalid_id_case()).await;
    assert_too_large(&outcome);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_50_mib_answer_is_error_whether_announced_or_streamed() {
    for announced in [true, false] {
        let url = common::scripted_endpoint(move || fifty_mib(announced)).await;
        let outcome = run_one(&url, common::invalid_id_case()).await;
        assert_too_large(&outcome);
    }
}

/// The client reads exactly up to its cap: an answer of `cap` bytes is read whole, one byte more
/// is refused, however it is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cap_is_exact_and_can_be_set() {
    const CAP: usize = 1000;
    for (length, announced) in [(CAP, true), (CAP, false), (CAP + 1, true), (CAP + 1, false)] {
        let url = common::scripted_endpoint(move || {
            let body = Bytes::from(vec![b'x'; length]);
            let body = if announced {
                Body::from(body)
            } else {
                let halves = [body.slice(..length / 2), body.slice(length / 2..)];
                Body::from_stream(futures_util::stream::iter(halves).map(Ok::<_, Infallible>))
            };
            ([(CONTENT_TYPE, "text/xml")], body).into_response()
        })
        .await;
        let client = Client::new(&url, &ClientOptions::default())
            .unwrap()
            .with_max_response_bytes(CAP);
        assert_eq!(client.max_response_bytes(), CAP);
        let post = Post {
            body: Bytes::from_static(b"<m:SendItem/>"),
            content_type: "text/xml; charset=utf-8".into(),
            soap_action: None,
        };
        let result = tokio::time::timeout(WATCHDOG, client.post(&Auth::basic("u", "p"), post))
            .await
            .expect("the answer ends");
        match (length, result) {
            (CAP, Ok(exchange)) => assert_eq!(exchange.body.len(), CAP),
            (_, Err(e @ TargetError::TooLarge { limit: CAP, .. })) if length > CAP => {
                assert!(
                    e.to_string().contains("the answer exceeds 1000 bytes"),
                    "{e}"
                );
                assert!(!e.is_retryable());
            }
            (_, other) => panic!("{length} bytes, announced {announced}: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valid_answer_sent_as_json_fails_on_its_content_type() {
    // The control: the same answer as text/xml passes, so the Content-Type alone decides.
    let url = common::scripted_endpoint(|| invalid_id_answer("text/xml; charset=utf-8")).await;
    let outcome = run_one(&url, common::invalid_id_case()).await;
    assert_eq!(outcome.verdict, Verdict::Pass, "{outcome:?}");

    let url = common::scripted_endpoint(|| invalid_id_answer("application/json")).await;
    let outcome = run_one(&url, common::invalid_id_case()).await;
    assert_eq!(outcome.verdict, Verdict::Fail, "{outcome:?}");
    match outcome.findings.as_slice() {
        [finding] => {
            assert_eq!(finding.check, "content type");
            assert!(finding.expected.contains("text/xml"), "{finding:?}");
            assert_eq!(finding.actual, "Content-Type: application/json");
        }
        other => panic!("expected the Content-Type finding alone, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_without_content_type_fails_and_parameters_do_not_matter() {
    let url = common::scripted_endpoint(|| {
        let mut answer = invalid_id_answer("text/xml");
        answer.headers_mut().remove(CONTENT_TYPE);
        answer
    })
    .await;
    let outcome = run_one(&url, common::invalid_id_case()).await;
    assert_eq!(outcome.verdict, Verdict::Fail, "{outcome:?}");
    assert!(
        outcome
            .findings
            .iter()
            .any(|f| f.check == "content type" && f.actual == "no Content-Type"),
        "{:?}",
        outcome.findings
    );

    let url = common::scripted_endpoint(|| invalid_id_answer("Text/XML;charset=\"UTF-8\"")).await;
    let outcome = run_one(&url, common::invalid_id_case()).await;
    assert_eq!(outcome.verdict, Verdict::Pass, "{outcome:?}");
}
