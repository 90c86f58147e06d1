//! Throttling without double sends, end to end: the whole suite through an HTTPS front written
//! in Python (`tests/interop/throttle_front.py`, standard library only) that answers
//! ErrorServerBusy with a back-off (as a SOAP fault and as a response message), answers 503 with
//! `Retry-After`, and executes some SendItems upstream and then drops their answers. The front
//! logs every request with its arrival time and account; the test reads that log.
//!
//! Where `python3` or `openssl` is missing, the end-to-end test prints a notice and passes; with
//! `CI` set it fails instead.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use common::front::{self, Front};
use ewsconf::accounts::DEFAULT_PASSWORD;
use ewsconf::judge::Verdict;
use ewsconf::mock::{MockConfig, MockServer, Profile};
use serde_json::Value;

const RUN_TIMEOUT: u64 = 600;

/// Requests already on their way when a back-off answer left the front may arrive after it (a
/// new connection's TLS handshake, the front's threads, a loaded CI machine): only an arrival
/// later than this, in seconds, after the answer is one the client sent knowing the back-off.
/// The front's back-offs are [`BUSY_MS`], so a client that waits half of one is still caught.
const IN_TRANSIT: f64 = 0.5;

/// The back-offs the front gives, in turn, in milliseconds.
const BUSY_MS: &str = "1600,2400";

/// Starts `throttle_front.py` with the system's `python3`, forwarding to `upstream`; `None`
/// (with a notice) when it cannot run here.
fn start_front(upstream: &str) -> Option<Front> {
    let (dir, mut command) = front::command(Path::new("python3"), "throttle_front.py");
    command.args(["--upstream", upstream, "--busy-ms", BUSY_MS]);
    Front::start_or_skip(dir, command, "throttling interop test")
}

/// One JSON object per request the front dealt with, in arrival order.
fn events(front: &Front) -> Vec<Value> {
    let mut events = front.events();
    events.sort_by_key(|e| e["seq"].as_u64());
    events
}

/// A target file naming every default account of the mock as a Basic account of `url`.
fn target_file(url: &str, mock: &MockServer) -> String {
    let accounts = front::account_tables(mock, |_| "password_env = \"MOCK_PASSWORD\"\n".to_owned());
    format!("url = \"{url}\"\nunknown_domain = \"example.com\"\n{accounts}")
}

fn action(e: &Value) -> &str {
    e["action"].as_str().unwrap_or_default()
}

fn text<'a>(e: &'a Value, key: &str) -> &'a str {
    e[key].as_str().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_through_a_throttling_front_waits_out_every_back_off_and_sends_nothing_twice() {
    // Arrange: the mock behind the front, and a target file of the mock's accounts.
    let mock = MockServer::start(MockConfig::with_profile(Profile::Intended))
        .await
        .expect("mock starts");
    let Some(front) = start_front(mock.url()) else {
        return;
    };
    let env = [("MOCK_PASSWORD".to_owned(), DEFAULT_PASSWORD.to_owned())];

    // Act
    let run = front
        .run_suite(
            &target_file(&front.url, &mock),
            &env,
            "the suite through the throttling front",
            RUN_TIMEOUT,
        )
        .await;

    // Assert
    let front::SuiteRun {
        stdout,
        stderr,
        report,
        files,
        ..
    } = &run;
    let outcomes = run.outcomes();
    let events = events(&front);
    let backed_off: Vec<&Value> = events
        .iter()
        .filter(|e| !e["back_off_ms"].is_null())
        .collect();
    let dropped: Vec<&Value> = events.iter().filter(|e| action(e) == "drop").collect();
    eprintln!(
        "the front: {} requests, {} back-off answers, {} answers dropped; report: {}",
        events.len(),
        backed_off.len(),
        dropped.len(),
        report["throttling"]
    );
    for kind in ["busy-fault", "busy-message", "unavailable", "drop"] {
        assert!(
            events.iter().any(|e| action(e) == kind),
            "the front never answered {kind}: the run did not meet it"
        );
    }

    // No case fails; the only errors are the cases whose answer was dropped, one per dropped
    // answer, and each says so.
    let failed: Vec<String> = outcomes
        .iter()
        .filter(|o| o["verdict"] == "fail")
        .map(|o| format!("{}: {}", o["id"], o["reason"]))
        .collect();
    assert!(failed.is_empty(), "{}\n{stderr}", failed.join("\n"));
    let errors: Vec<&Value> = outcomes
        .iter()
        .filter(|o| o["verdict"] == "error")
        .collect();
    for e in &errors {
        assert!(
            text(e, "reason").contains("the answer was lost; the server may have executed it"),
            "an error other than a lost answer: {}: {}",
            e["id"],
            e["reason"]
        );
    }
    assert_eq!(
        errors.len(),
        dropped.len(),
        "one error per dropped answer: {:?}",
        errors.iter().map(|e| &e["id"]).collect::<Vec<_>>()
    );

    // Every other case ends as it does against the same mock reached directly.
    let direct: BTreeMap<String, Verdict> =
        common::run_suite(MockConfig::with_profile(Profile::Intended))
            .await
            .outcomes
            .into_iter()
            .map(|o| (o.id, o.verdict))
            .collect();
    for o in outcomes.iter().filter(|o| o["verdict"] != "error") {
        let id = text(o, "id");
        let verdict = serde_json::to_value(direct.get(id)).unwrap();
        assert_eq!(o["verdict"], verdict, "{id} differs from a direct run");
    }

    // No SendItem is sent twice once it went upstream: a dropped one never comes again, and no
    // body that went upstream does either. A request answered with a back-off was not executed,
    // and comes again.
    let mut upstream_bodies = HashSet::new();
    for (i, e) in events.iter().enumerate() {
        let body = text(e, "body");
        if text(e, "operation") == "SendItem" && matches!(action(e), "forward" | "drop") {
            assert!(
                upstream_bodies.insert(body),
                "a SendItem was executed twice (request {}):\n{body}",
                e["seq"]
            );
        }
        if action(e) == "drop" {
            let again = events[i + 1..].iter().find(|l| text(l, "body") == body);
            assert!(
                again.is_none(),
                "a SendItem whose answer was lost was sent again: {body}"
            );
        }
        if !e["back_off_ms"].is_null() {
            let again = events[i + 1..]
                .iter()
                .any(|l| text(l, "body") == body && l["account"] == e["account"]);
            assert!(
                again,
                "request {} answered with a back-off was never sent again",
                e["seq"]
            );
        }
    }

    // No request as an account arrives while a back-off given to that account runs.
    let mut latest_in_transit = 0.0_f64;
    for b in &backed_off {
        // From when the answer started to leave: the client cannot have read it earlier.
        let answered = b["answering"]
            .as_f64()
            .expect("a back-off answer was written");
        let until = answered + b["back_off_ms"].as_f64().unwrap() / 1000.0;
        for e in events.iter().filter(|e| e["account"] == b["account"]) {
            let arrived = e["arrived"].as_f64().unwrap();
            if arrived > answered && arrived < until {
                latest_in_transit = latest_in_transit.max(arrived - answered);
            }
            assert!(
                !(arrived > answered + IN_TRANSIT && arrived < until),
                "request {} as {} arrived {:.3} s into a back-off of {} ms given by request {}",
                e["seq"],
                e["account"],
                arrived - answered,
                b["back_off_ms"],
                b["seq"]
            );
        }
    }

    eprintln!("latest arrival into a back-off: {latest_in_transit:.3} s after its answer");

    // The report shows the waits: one per back-off answer, and the time they took.
    let first_answers = backed_off.len() as u64;
    assert_eq!(
        report["throttling"]["waits"].as_u64(),
        Some(first_answers),
        "{}",
        report["throttling"]
    );
    assert!(report["throttling"]["waited_ms"].as_u64().unwrap_or(0) > 0);
    assert!(
        stdout.contains(&format!("throttled: {first_answers} back-offs asked for")),
        "{stdout}"
    );
    let html = files
        .iter()
        .find(|(p, _)| p.ends_with("report.html"))
        .map(|(_, b)| String::from_utf8(b.clone()).unwrap())
        .expect("report.html");
    assert!(html.contains("id=\"throttling\""));
    mock.shutdown().await;
}

/// ErrorServerBusy with a back-off longer than the client waits: the request is not sent again
/// and the case ends as an error that says so.
#[tokio::test]
async fn a_back_off_longer_than_the_client_waits_ends_the_case_as_throttled() {
    // Arrange: a server whose SendItem is always busy for a minute; a client that waits 2 s.
    let url = common::scripted_endpoint(|| {
        let fault = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode xmlns:a="http://schemas.microsoft.com/exchange/services/2006/types">a:ErrorServerBusy</faultcode><faultstring>The server cannot service this request right now. Try again later.</faultstring><detail><e:ResponseCode xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">ErrorServerBusy</e:ResponseCode><t:MessageXml xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><t:Value Name="BackOffMilliseconds">60000</t:Value></t:MessageXml></detail></s:Fault></s:Body></s:Envelope>"#;
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            [("content-type", "text/xml; charset=utf-8")],
            fault,
        )
            .into_response()
    })
    .await;
    let target = common::principal_target(&url, Duration::from_secs(2));

    // Act
    let summary = tokio::time::timeout(
        Duration::from_secs(60),
        common::run_on(&target, &[common::invalid_id_case()], 1),
    )
    .await
    .expect("the run ends");

    // Assert
    let outcome = &summary.outcomes[0];
    assert_eq!(outcome.verdict, Verdict::Error, "{outcome:?}");
    let reason = outcome.reason.as_deref().unwrap_or_default();
    assert!(reason.contains("throttled for longer than 2s"), "{reason}");
    assert!(reason.contains("not executed"), "{reason}");
    assert_eq!(summary.throttling.waits, 1);
}
