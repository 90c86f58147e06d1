//! `ewsconf quirk delegate-copy` on servers that are not Exchange: a proxy on loopback in front
//! of the embedded mock passes every request through, and replaces chosen answers with its own
//! (a body that is not EWS, a 401, a redirect, an EWS permission error). The command still
//! prints its five-row table, each spoiled scenario `different` with its reason and the
//! exchange, names the rights it could not check as unknown and why each check failed, and
//! exits 1. Only a permission error brings the Exchange commands that grant rights.

mod common;

use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ewsconf::ews::{ResponseCode, ResponseMessage};
use ewsconf::mock::MockServer;

/// Decides from a request body whether to spoil its answer: `Some((status, body))` is sent
/// back as `text/html` instead of the mock's answer (the mock still gets the request).
type Spoil = Arc<dyn Fn(&str) -> Option<(u16, String)> + Send + Sync>;

#[derive(Clone)]
struct Proxy {
    upstream: String,
    http: reqwest::Client,
    spoil: Spoil,
}

/// Passes the request to the mock, then sends back the mock's answer or, if `spoil` says so,
/// its own: the mock has executed the request either way, as a server would.
async fn forward(State(p): State<Proxy>, headers: HeaderMap, body: Bytes) -> Response {
    let spoiled = (p.spoil)(&String::from_utf8_lossy(&body));
    let answer = common::pass_on(&p.http, &p.upstream, &headers, body).await;
    let Some((status, reply)) = spoiled else {
        return common::relay(answer).await;
    };
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let content_type = if reply.contains("<s:Envelope") {
        "text/xml; charset=utf-8"
    } else {
        "text/html"
    };
    let mut response = (status, [(header::CONTENT_TYPE, content_type)], reply).into_response();
    if status.is_redirection() {
        response.headers_mut().insert(
            header::LOCATION,
            header::HeaderValue::from_static("https://login.example.com/adfs/ls/"),
        );
    }
    response
}

/// The embedded mock (`documented` profile) behind a spoiling proxy; returns the proxy's EWS URL
/// and the mock, which must live as long as the test.
async fn spoiled(spoil: Spoil) -> (String, MockServer) {
    let mock = common::documented_mock().await;
    let proxy = Proxy {
        upstream: mock.url().to_owned(),
        http: reqwest::Client::new(),
        spoil,
    };
    let app = axum::Router::new().fallback(forward).with_state(proxy);
    (common::serve_on_loopback(app).await, mock)
}

/// A target file for the mock's default accounts at `url`; the password comes from `PW`.
fn target_text(url: &str) -> String {
    format!(
        "url = \"{url}\"\nunknown_domain = \"example.com\"\n{}",
        common::ACCOUNTS_TOML
    )
}

/// Whether a request is the SendItem operation (the request under test, or the rights probe).
fn is_send_item(body: &str) -> bool {
    body.contains("SendItem ") || body.contains("SendItem>")
}

const GARBAGE: &str = "<html><body><h1>502 Bad Gateway</h1></body></html>";

/// What `ewsconf quirk delegate-copy --target` did against `url`, and the folder it wrote its
/// reports in (below `reports/`).
async fn run_quirk(url: &str) -> (Output, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("target.toml");
    std::fs::write(&target, target_text(url)).unwrap();
    let reports = dir.path().join("reports");
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_ewsconf"))
            .args(["quirk", "delegate-copy", "--target"])
            .arg(&target)
            .arg("--report-dir")
            .arg(&reports)
            .env("PW", common::PASSWORD)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    (out, dir)
}

/// What `ewsconf quirk delegate-copy --target` printed against `url`: exit code, stdout,
/// stderr and the JSON table.
async fn quirk(url: &str) -> (Option<i32>, String, String, serde_json::Value) {
    let (out, dir) = run_quirk(url).await;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = std::fs::read_dir(dir.path().join("reports"))
        .ok()
        .and_then(|mut d| d.next())
        .and_then(|run| std::fs::read(run.ok()?.path().join("quirk-delegate-copy.json")).ok())
        .map(|bytes| serde_json::from_slice(&bytes).unwrap())
        .unwrap_or_else(|| panic!("no quirk table written: {stdout}{stderr}"));
    (out.status.code(), stdout, stderr, json)
}

/// The mock behind a proxy that answers each `operation` whose request contains `marker` with
/// `ErrorAccessDenied`, as Exchange words it; returns the proxy's EWS URL and the mock.
async fn refusing(operation: &'static str, marker: &'static str) -> (String, MockServer) {
    let denied = common::response_envelope(
        operation,
        ResponseMessage::error(
            ResponseCode::ErrorAccessDenied,
            "Access is denied. Check credentials and try again.",
        ),
    );
    let tag = format!("<m:{operation}");
    spoiled(Arc::new(move |body: &str| {
        (body.contains(&tag) && body.contains(marker)).then(|| (200, denied.clone()))
    }))
    .await
}

/// The terminal row of `scenario`.
fn row<'a>(stdout: &'a str, scenario: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.starts_with(&format!("| {scenario} | ")))
        .unwrap_or_else(|| panic!("no row {scenario}: {stdout}"))
}

/// The rights the JSON lists as `unknown`.
fn unknown(json: &serde_json::Value) -> Vec<&str> {
    json["preconditions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["status"] == "unknown")
        .map(|p| p["right"].as_str().unwrap())
        .collect()
}

const SCENARIOS: [&str; 5] = [
    "A",
    "A-workaround",
    "B",
    "control-principal",
    "control-no-save",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_senditem_answers_still_give_the_table_and_exit_1() {
    let (url, mock) = spoiled(Arc::new(|body: &str| {
        is_send_item(body).then(|| (200, GARBAGE.to_owned()))
    }))
    .await;
    let (code, stdout, stderr, json) = quirk(&url).await;
    mock.shutdown().await;
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    for scenario in SCENARIOS {
        let row = row(&stdout, scenario);
        assert!(row.ends_with("| different |"), "{row}");
    }
    assert!(
        stdout.contains("Preconditions that could not be checked (unknown):")
            && stdout.contains(
                "send on behalf of the principal (SendOnBehalf): malformed answer (not an EWS response): SendItem"
            ),
        "{stdout}"
    );
    assert!(
        stdout.contains("- B: fail: ") && stdout.contains("not an EWS response"),
        "{stdout}"
    );
    assert!(
        !stderr.contains("Set-Mailbox"),
        "no PowerShell advice: {stderr}"
    );

    let rows = json["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 5, "{json}");
    for row in rows {
        assert_eq!(row["verdict"], "different", "{row}");
        let reason = row["reason"].as_str().unwrap_or_default();
        assert!(reason.contains("not an EWS response"), "{row}");
        let exchange = &row["exchange"];
        assert_eq!(exchange["step"], "SendItem (under test)", "{row}");
        assert_eq!(exchange["status"], 200, "{row}");
        assert_eq!(exchange["response"], GARBAGE, "{row}");
        assert!(
            exchange["request"].as_str().is_some_and(is_send_item),
            "{row}"
        );
    }
    assert_eq!(
        unknown(&json),
        ["send on behalf of the principal (SendOnBehalf)"],
        "{json}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_setup_step_that_fails_spoils_its_row_only() {
    // The drafts of control-no-save are created, but the answer cannot be read.
    let (url, mock) = spoiled(Arc::new(|body: &str| {
        (body.contains("<m:CreateItem") && body.contains("control-delegate-no-save"))
            .then(|| (500, GARBAGE.to_owned()))
    }))
    .await;
    let (code, stdout, stderr, json) = quirk(&url).await;
    mock.shutdown().await;
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    for (scenario, verdict) in [
        ("A", "reproduced"),
        ("A-workaround", "fixed"),
        ("B", "reproduced"),
        ("control-principal", "fixed"),
        ("control-no-save", "different"),
    ] {
        let row = row(&stdout, scenario);
        assert!(row.ends_with(&format!("| {verdict} |")), "{row}");
    }
    let rows = json["rows"].as_array().unwrap();
    let spoiled = &rows[4];
    assert_eq!(spoiled["scenario"], "control-no-save");
    let reason = spoiled["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("error: setup: CreateItem: HTTP 500"),
        "{reason}"
    );
    // It claims nothing about where the draft went: nothing was looked at.
    assert_eq!(spoiled["observed"]["state_known"], false, "{spoiled}");
    assert!(
        row(&stdout, "control-no-save").contains("; state not observed |"),
        "{stdout}"
    );
    assert_eq!(spoiled["exchange"]["step"], "setup: CreateItem");
    assert_eq!(spoiled["exchange"]["status"], 500);
    assert_eq!(spoiled["failure"], "malformed", "{spoiled}");
    assert!(
        rows[..4].iter().all(|r| r.get("reason").is_none()),
        "{json}"
    );
    assert!(unknown(&json).is_empty(), "{json}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_right_that_cannot_be_checked_is_unknown_not_fatal() {
    // The delegate's first look into the principal's Drafts (the rights check) gets a 401, as
    // from a login that fails for a moment: that is no permission error, so the scenarios still
    // run, and they all conform.
    let first = AtomicBool::new(true);
    let (url, mock) = spoiled(Arc::new(move |body: &str| {
        (body.contains("<m:GetFolder")
            && body.contains("Id=\"drafts\"")
            && first.swap(false, Ordering::SeqCst))
        .then(|| (401, "Unauthorized".to_owned()))
    }))
    .await;
    let (code, stdout, stderr, json) = quirk(&url).await;
    mock.shutdown().await;
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(row(&stdout, "B").ends_with("| reproduced |"), "{stdout}");
    assert_eq!(unknown(&json), ["read the principal's Drafts"], "{json}");
    let reason = json["preconditions"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("HTTP 401"), "{reason}");
    assert!(
        stdout.contains("- read the principal's Drafts: authentication failed (HTTP 401 or 403")
            && stdout.contains("): GetFolder: HTTP 401"),
        "{stdout}"
    );
    assert_eq!(json["preconditions"][0]["failure"], "authentication");
    assert!(!stderr.contains("Add-MailboxFolderPermission"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenarios_skipped_for_want_of_a_readable_answer_are_different_and_exit_1() {
    // Every look into the principal's Drafts gets a 401: the rights check leaves it unknown,
    // and the runner skips the delegate scenarios. A skipped scenario reproduces nothing.
    let (url, mock) = spoiled(Arc::new(|body: &str| {
        (body.contains("<m:GetFolder") && body.contains("Id=\"drafts\""))
            .then(|| (401, "Unauthorized".to_owned()))
    }))
    .await;
    let (code, stdout, stderr, json) = quirk(&url).await;
    mock.shutdown().await;
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(
        row(&stdout, "control-principal").ends_with("| fixed |"),
        "{stdout}"
    );
    let row = &json["rows"][2];
    assert_eq!(row["scenario"], "B");
    assert_eq!(row["verdict"], "different");
    assert!(
        row["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("skip: ") && r.contains("HTTP 401")),
        "{row}"
    );
    assert_eq!(unknown(&json), ["read the principal's Drafts"], "{json}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_right_refused_with_a_permission_error_still_stops_with_the_powershell() {
    let (url, mock) = refusing("GetFolder", "Id=\"sentitems\"").await;
    let (out, _dir) = run_quirk(&url).await;
    mock.shutdown().await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("  - read the principal's Sent Items")
            && stderr.contains("Add-MailboxFolderPermission"),
        "{stderr}"
    );
}

/// Whether a request is a setup step: a rights check or a step a scenario takes before the
/// request under test (GetFolder to look into a folder, CreateItem to make a draft).
fn is_setup(body: &str) -> bool {
    body.contains("<m:GetFolder") || body.contains("<m:CreateItem")
}

/// Text that only the advice to grant rights contains.
const ADVICE: [&str; 3] = ["Add-MailboxFolderPermission", "Set-Mailbox", "lacks rights"];

/// Runs the quirk with every setup step answered `status` with `body`, and checks that the
/// output names `failure` (as JSON names it) and `phrase` (as the terminal says it) for each
/// right and each scenario, and gives no advice on rights.
async fn setup_steps_fail(status: u16, body: &'static str, failure: &str, phrase: &str) {
    let (url, mock) = spoiled(Arc::new(move |request: &str| {
        is_setup(request).then(|| (status, body.to_owned()))
    }))
    .await;
    let (code, stdout, stderr, json) = quirk(&url).await;
    mock.shutdown().await;
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    for text in ADVICE {
        assert!(
            !stdout.contains(text) && !stderr.contains(text),
            "{stdout}{stderr}"
        );
    }
    assert!(json.get("advice").is_none(), "{json}");

    // Every right is unknown, none missing; each one checked names why its check failed.
    let preconditions = json["preconditions"].as_array().unwrap();
    assert_eq!(preconditions.len(), 4, "{json}");
    assert!(
        preconditions.iter().all(|p| p["status"] == "unknown"),
        "{json}"
    );
    let checked: Vec<_> = preconditions
        .iter()
        .filter(|p| p.get("failure").is_some())
        .collect();
    assert_eq!(checked.len(), 3, "{json}");
    for p in checked {
        assert_eq!(p["failure"], failure, "{p}");
        assert!(
            p["reason"].as_str().is_some_and(|r| r.starts_with(phrase)),
            "{p}"
        );
    }
    assert!(
        stdout.contains(&format!("- read the principal's Drafts: {phrase}")),
        "{stdout}"
    );

    // Every scenario stopped at a setup step, and its row says why.
    for row in json["rows"].as_array().unwrap() {
        assert_eq!(row["verdict"], "different", "{row}");
        assert_eq!(row["failure"], failure, "{row}");
        assert!(
            row["reason"].as_str().is_some_and(|r| r.contains(phrase)),
            "{row}"
        );
        // The step it stopped at, if it made one itself (the runner skips the delegate's
        // scenarios on its own check of the same rights, without an exchange of theirs).
        if let Some(exchange) = row.get("exchange") {
            assert!(exchange["request"].as_str().is_some_and(is_setup), "{row}");
        }
    }
    for scenario in SCENARIOS {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(&format!("- {scenario}: ")))
            .unwrap_or_else(|| panic!("no reason for {scenario}: {stdout}"));
        assert!(line.contains(phrase), "{line}");
        // Granting rights does not fix a failed login, a redirect or a garbled answer.
        assert!(!line.contains("grant "), "{line}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_steps_answered_401_name_authentication_and_give_no_advice() {
    setup_steps_fail(
        401,
        "Unauthorized",
        "authentication",
        "authentication failed",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_steps_answered_with_garbage_name_a_malformed_answer_and_give_no_advice() {
    setup_steps_fail(
        200,
        GARBAGE,
        "malformed",
        "malformed answer (not an EWS response)",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_steps_redirected_name_the_redirect_and_give_no_advice() {
    setup_steps_fail(302, "", "redirect", "redirected (HTTP 3xx, not followed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scenario_step_refused_with_access_denied_brings_the_advice() {
    // The rights checks pass; control-no-save's draft is refused.
    let (url, mock) = refusing("CreateItem", "control-delegate-no-save").await;
    let (code, stdout, stderr, json) = quirk(&url).await;
    mock.shutdown().await;
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    let row = &json["rows"][4];
    assert_eq!(row["scenario"], "control-no-save");
    assert_eq!(row["failure"], "permission", "{row}");
    assert!(
        json["rows"].as_array().unwrap()[..4]
            .iter()
            .all(|r| r.get("failure").is_none()),
        "{json}"
    );
    assert!(
        stdout.contains("A step was refused with a permission error")
            && stdout.contains(
                "Add-MailboxFolderPermission -Identity boss@example.com:\\Drafts -User helper@example.com"
            ),
        "{stdout}"
    );
    assert!(
        json["advice"]
            .as_str()
            .is_some_and(|a| a.contains("GrantSendOnBehalfTo")),
        "{json}"
    );
}
