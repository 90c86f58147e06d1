//! Targets that misbehave at the transport level, scripted with wiremock (and a socket that
//! hangs up): the affected cases end `error` or `fail` with a clear reason, the run goes on,
//! and the reports are still written.

mod common;

use std::time::Duration;

use ewsconf::Verdict;
use ewsconf::case::Case;
use ewsconf::ews::ResponseMessage;
use ewsconf::run::{Interrupt, RunOptions, RunSummary, run};
use ewsconf::target::{ClientOptions, Target, TargetFile};
use wiremock::matchers::{body_string_contains, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn cases() -> Vec<Case> {
    common::suite()
        .into_iter()
        .filter(|c| c.id.starts_with("reference/"))
        .collect()
}

/// A server that answers the set-up and observation calls sensibly and SendItem with `send`.
async fn scripted(send: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    for (operation, body) in common::empty_mailbox_answers() {
        Mock::given(method("POST"))
            .and(body_string_contains(format!("<m:{operation}")))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("content-type", "text/xml; charset=utf-8")
                    .set_body_string(body),
            )
            .mount(&server)
            .await;
    }
    Mock::given(method("POST"))
        .and(body_string_contains("SendItem"))
        .respond_with(send)
        .mount(&server)
        .await;
    server
}

fn target(url: &str, timeout: Duration) -> Target {
    let text = format!("url = \"{url}\"\n{}", common::ACCOUNTS_TOML);
    let file = TargetFile::parse("target.toml", &text, &|_| Some("pw".into())).unwrap();
    Target::remote(
        file,
        &ClientOptions {
            timeout,
            ..ClientOptions::default()
        },
    )
    .unwrap()
}

/// Runs the cases against a [`scripted`] server that answers SendItem with `send`, giving up on
/// a call after `timeout`.
async fn run_scripted(send: ResponseTemplate, timeout: Duration) -> RunSummary {
    let server = scripted(send).await;
    let url = format!("{}/EWS/Exchange.asmx", server.uri());
    run_against(&target(&url, timeout)).await
}

async fn run_against(target: &Target) -> RunSummary {
    let mut cases = cases();
    for case in &mut cases {
        case.poll_timeout = Duration::from_millis(200);
    }
    let options = RunOptions {
        case_timeout: Duration::from_secs(30),
        ..common::run_options(4)
    };
    run(target, &cases, &options, &Interrupt::default(), |_| {})
        .await
        .expect("the run completes")
}

/// Every case ran, every verdict is `error` or `fail` with a reason or finding containing
/// `needle`, and the reports were written and name every case.
fn assert_reported(summary: &RunSummary, needle: &str) {
    assert_eq!(
        summary.outcomes.len(),
        cases().len(),
        "the run went on through every case"
    );
    for o in &summary.outcomes {
        assert!(
            matches!(o.verdict, Verdict::Error | Verdict::Fail),
            "{}: {}",
            o.id,
            o.verdict
        );
        let text = format!("{:?} {:?}", o.reason, o.findings);
        assert!(text.contains(needle), "{}: no `{needle}` in {text}", o.id);
    }
    let dir = tempfile::tempdir().unwrap();
    let paths = ewsconf::report::write_all(summary, dir.path()).expect("reports are written");
    let junit = std::fs::read_to_string(paths.junit).unwrap();
    let html = std::fs::read_to_string(paths.html).unwrap();
    for o in &summary.outcomes {
        assert!(
            junit.contains(&o.id) && html.contains(&o.id),
            "{} missing from the reports",
            o.id
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_times_out_gives_error_with_the_timeout() {
    let slow = ResponseTemplate::new(200).set_delay(Duration::from_secs(5));
    let summary = run_scripted(slow, Duration::from_millis(500)).await;
    assert_reported(&summary, "no response");
    assert!(summary.outcomes.iter().all(|o| o.verdict == Verdict::Error));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_500_with_garbage_fails_with_not_an_ews_response() {
    let garbage = ResponseTemplate::new(500).set_body_string("<<< Internal Server Error %%%");
    let summary = run_scripted(garbage, Duration::from_secs(5)).await;
    assert_reported(&summary, "no SOAP Fault");
    assert!(summary.outcomes.iter().all(|o| o.verdict == Verdict::Fail));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schema_invalid_body_fails_on_the_schema() {
    let bad = common::response_envelope("SendItem", ResponseMessage::success())
        .replace("ResponseClass=\"Success\"", "ResponseClass=\"Maybe\"");
    let invalid = ResponseTemplate::new(200)
        .insert_header("content-type", "text/xml")
        .set_body_string(bad);
    let summary = run_scripted(invalid, Duration::from_secs(5)).await;
    assert_reported(&summary, "schema");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_hangs_up_gives_error_with_the_reason() {
    // Accept every connection and close it at once, without a byte.
    let (listener, url) = common::loopback_listener().await;
    let accepting = tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            drop(socket);
        }
    });
    let target = target(&url, Duration::from_secs(5));
    let summary = run_against(&target).await;
    assert_reported(&summary, "broke off");
    accepting.abort();
}
