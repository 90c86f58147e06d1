//! App-only OAuth end to end: ewsconf reaches every role through an HTTPS front that plays
//! Exchange Online (`tests/interop/oauth_front.py`). Its token endpoint and token check are
//! Python's oauthlib (the client-credentials grant and Bearer validation); it issues tokens that
//! live 3 s, far shorter than a run, requires `X-AnchorMailbox` naming the impersonated mailbox
//! on every request, and forwards what it accepts to the mock as `svc@example.com`, who may
//! impersonate everyone.
//!
//! oauthlib goes into a venv cached under the cargo target dir. Where the registry cannot be
//! reached or `python3` cannot make a venv, a test prints a notice and passes; with `CI` set it
//! fails instead.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::front::{self, Front};
use common::installs;
use ewsconf::accounts::{DEFAULT_ACCOUNTS, DEFAULT_PASSWORD};
use ewsconf::case::Role;
use ewsconf::ews::{BaseItemId, DistinguishedFolderName, Item, ResponseCode, SendItem};
use ewsconf::mock::{MockConfig, MockServer, Profile};
use ewsconf::target::calls::folder_of;
use ewsconf::target::{Target, TargetError, TargetFile};
use serde_json::Value;

const TEST: &str = "app-only OAuth interop test";

// Pinned, so that what the front relies on (the grant, the validator's hooks) stays; the
// `signedtoken` extra brings the `cryptography` the front makes its certificate with.
const OAUTHLIB: &str = "oauthlib[signedtoken]==3.2.2";

const RUN_TIMEOUT: u64 = 600;

const CLIENT_ID: &str = "ewsconf-test-app";
/// The client secret: a canary that must never reach an output.
const CLIENT_SECRET: &str = "app-canary-secret-9d2f~Q";
const SCOPE: &str = "https://outlook.office365.com/.default";

/// The venv's python, installed once per target dir and once per test binary (the tests run
/// at once and would otherwise install into the same venv together).
fn oauthlib_python() -> Option<PathBuf> {
    static PYTHON: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    PYTHON
        .get_or_init(|| {
            installs::venv_python(TEST, "oauthlib-venv", OAUTHLIB, installs::PYTHON_HINT)
        })
        .clone()
}

/// Starts `oauth_front.py` forwarding to `mock`: tokens announce `expires_in` seconds and are
/// accepted for `valid_for`. Its token endpoint is [`token_url`]; the tokens it issued,
/// [`issued`].
fn start_front(python: &Path, mock: &MockServer, expires_in: u64, valid_for: f64) -> Front {
    let (dir, mut command) = front::command(python, "oauth_front.py");
    command
        .args([
            "--upstream",
            mock.url(),
            "--upstream-user",
            "svc@example.com",
        ])
        .args(["--upstream-password-env", "UPSTREAM_PASSWORD"])
        .args([
            "--client-id",
            CLIENT_ID,
            "--client-secret-env",
            "CLIENT_SECRET",
        ])
        .args(["--scope", SCOPE, "--expires-in", &expires_in.to_string()])
        .args(["--valid-for", &valid_for.to_string()])
        .arg("--issued")
        .arg(dir.path().join("issued"))
        .env("UPSTREAM_PASSWORD", DEFAULT_PASSWORD)
        .env("CLIENT_SECRET", CLIENT_SECRET);
    for (sid, address) in sids(mock) {
        command.args(["--sid", &format!("{sid}={address}")]);
    }
    Front::start(dir, command)
}

/// The front's token endpoint.
fn token_url(front: &Front) -> String {
    format!("https://127.0.0.1:{}/token", front.port)
}

/// Every token the front issued.
fn issued(front: &Front) -> Vec<String> {
    std::fs::read_to_string(front.dir.path().join("issued"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// A target file reaching every default account through the app, its secret in `secret_env`.
fn target_file(front: &Front, mock: &MockServer, secret_env: &str) -> String {
    format!(
        "url = \"{}\"\nunknown_domain = \"example.com\"\n\n[app]\ntoken_url = \"{}\"\n\
         client_id = \"{CLIENT_ID}\"\nclient_secret_env = \"{secret_env}\"\n{}",
        front.url,
        token_url(front),
        front::account_tables(mock, |_| String::new())
    )
}

/// The target of [`target_file`], the app's secret being `secret`.
fn app_target(front: &Front, mock: &MockServer, secret: &str) -> Target {
    let env = |name: &str| (name == "SECRET").then(|| secret.to_owned());
    let file = TargetFile::parse("target.toml", &target_file(front, mock, "SECRET"), &env)
        .expect("the target file reads");
    Target::remote(file, &front.client_options()).expect("target")
}

/// The SIDs of the mock's users, with their addresses.
fn sids(mock: &MockServer) -> Vec<(String, String)> {
    let directory = &mock.store().directory;
    DEFAULT_ACCOUNTS
        .iter()
        .filter_map(|a| {
            let i = directory.by_address(a.address)?;
            Some((directory.users()[i].sid.clone(), a.address.to_owned()))
        })
        .collect()
}

/// Runs `test` with a front (set up as [`start_front`] with `expires_in` and `valid_for`) in
/// front of the intended mock, then stops both; does nothing (as [`oauthlib_python`] decides)
/// when oauthlib cannot be installed.
async fn with_front(expires_in: u64, valid_for: f64, test: impl AsyncFnOnce(&Front, &MockServer)) {
    let Some(python) = oauthlib_python() else {
        return;
    };
    let mock = MockServer::start(MockConfig::with_profile(Profile::Intended))
        .await
        .expect("mock starts");
    let front = start_front(&python, &mock, expires_in, valid_for);
    test(&front, &mock).await;
    drop(front);
    mock.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_passes_through_an_app_only_front_with_short_lived_tokens() {
    // Arrange: tokens that live 3 s, a run that lasts far longer.
    with_front(3, 3.0, async |front, mock| {
        let env = [("EWSCONF_CLIENT_SECRET".to_owned(), CLIENT_SECRET.to_owned())];

        // Act
        let run = front
            .run_suite(
                &target_file(front, mock, "EWSCONF_CLIENT_SECRET"),
                &env,
                "the suite through the app-only front",
                RUN_TIMEOUT,
            )
            .await;

        // Assert: no case fails or errs, and each ends as against the mock reached directly,
        // but for the cases app-only access cannot play, which are skipped saying why.
        run.assert_none_failed_or_erred();
        let app_skipped: Vec<&str> = run
            .outcomes()
            .iter()
            .filter(|o| {
                o["verdict"] == "skip" && o["reason"].as_str().unwrap_or_default().contains("[app]")
            })
            .filter_map(|o| o["id"].as_str())
            .collect();
        // Only the case where an account without the right tries to impersonate.
        assert_eq!(app_skipped, ["impersonation/denied"]);
        let mut through_front = run.verdicts();
        let direct = front::direct_verdicts().await;
        for id in &app_skipped {
            through_front.insert((*id).to_owned(), direct[*id].clone());
        }
        assert_eq!(through_front, direct);
        run.assert_exit_code(0);

        // Tokens were renewed during the run, each request carried X-AnchorMailbox and the
        // front accepted it, and a token refused for its age (if one was) was followed by a new
        // one.
        let events = front.events();
        let grants = events.iter().filter(|e| e["kind"] == "token").count();
        let requests: Vec<&Value> = events.iter().filter(|e| e["kind"] == "ews").collect();
        assert!(
            grants >= 2,
            "{grants} token(s) for the whole run: none was renewed"
        );
        assert!(
            requests.len() > grants * 2,
            "{grants} tokens for {} requests: a token per request, not per lifetime",
            requests.len()
        );
        let expired = requests
            .iter()
            .filter(|e| e["refused"] == "expired")
            .count();
        let _ = writeln!(
            std::io::stderr(),
            "{} requests, {grants} tokens of 3 s, {expired} refused as expired and sent again",
            requests.len()
        );
        let unanchored = requests.iter().filter(|e| e["anchor"].is_null()).count();
        assert_eq!(
            unanchored, 0,
            "{unanchored} requests lacked X-AnchorMailbox"
        );
        let refused: Vec<&&Value> = requests
            .iter()
            .filter(|e| e["status"] == 400 || (e["status"] == 401 && e["refused"] != "expired"))
            .collect();
        assert!(
            refused.is_empty(),
            "the front refused requests: {refused:?}"
        );
        assert!(
            requests
                .iter()
                .any(|e| e["action"] == "SendItem" && e["status"] == 200),
            "no SendItem went through the front"
        );

        // No client secret and no token in the reports, stdout or stderr.
        let mut canaries = issued(front);
        assert_eq!(canaries.len(), grants);
        canaries.push(CLIENT_SECRET.to_owned());
        for (what, text) in run.texts() {
            for canary in &canaries {
                assert!(!text.contains(canary.as_str()), "{what} holds a secret");
            }
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_the_server_refuses_as_expired_is_renewed_once_and_the_senditem_sent_once_more() {
    // Arrange: tokens that announce an hour and that the server takes for 1 s (its clock runs
    // ahead of ours, or it revoked them), so the client holds one it believes fresh.
    with_front(3600, 1.0, async |front, mock| {
        let target = app_target(front, mock, CLIENT_SECRET);
        let boss = target.account(Role::Principal).unwrap().clone();
        let carol = target.account(Role::Recipient).unwrap().clone();
        let marker = "oauth-expired-7c1";
        let draft = target
            .client
            .create_in(
                &boss,
                folder_of(&boss.address, DistinguishedFolderName::Drafts),
                Item::message(marker)
                    .with_body("body")
                    .to(carol.address.clone()),
            )
            .await
            .expect("the draft is made with the first token");
        tokio::time::sleep(Duration::from_millis(1500)).await;

        // Act
        let messages = target
            .client
            .send_item(
                &boss,
                SendItem {
                    save_item_to_folder: true,
                    item_ids: vec![BaseItemId::ItemId(draft)],
                    saved_item_folder_id: None,
                },
            )
            .await
            .expect("SendItem is answered");

        // Assert: one 401 for the old token, one new token, the SendItem once more with it, and
        // one copy delivered.
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0].response_code, Some(ResponseCode::NoError));
        let events = front.events();
        let send_items: Vec<&Value> = events
            .iter()
            .filter(|e| e["action"] == "SendItem")
            .collect();
        assert_eq!(send_items.len(), 2, "{send_items:?}");
        assert_eq!(send_items[0]["status"], 401);
        assert_eq!(send_items[0]["refused"], "expired");
        assert_eq!(send_items[0]["token"], 1);
        assert_eq!(send_items[1]["status"], 200);
        assert_eq!(send_items[1]["token"], 2);
        let grants = events.iter().filter(|e| e["kind"] == "token").count();
        assert_eq!(grants, 2);
        let inbox = folder_of(&carol.address, DistinguishedFolderName::Inbox);
        let mut delivered = Vec::new();
        for _ in 0..50 {
            delivered = target
                .client
                .find(&carol, inbox.clone(), marker)
                .await
                .unwrap();
            if !delivered.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(
            delivered.len(),
            1,
            "the message arrived {} times",
            delivered.len()
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_client_secret_is_an_oauth_login_error_naming_the_app_and_nothing_is_sent() {
    with_front(3, 3.0, async |front, mock| {
        let wrong = "not-the-app-secret-41";
        let target = app_target(front, mock, wrong);
        let boss = target.account(Role::Principal).unwrap().clone();

        let result = target
            .client
            .folder_id(
                &boss,
                folder_of(&boss.address, DistinguishedFolderName::Inbox),
            )
            .await;

        let err = result.expect_err("a wrong secret gets a token");
        let message = err.to_string();
        assert!(
            matches!(
                err,
                ewsconf::target::CallError::Target(TargetError::Login { .. })
            ),
            "{message}"
        );
        assert!(
            message.contains("OAuth")
                && message.contains(CLIENT_ID)
                && message.contains("invalid_client"),
            "{message}"
        );
        assert!(!message.contains(wrong), "{message}");
        let events = front.events();
        assert!(
            events.iter().all(|e| e["kind"] == "token"),
            "a request went out without a token: {events:?}"
        );
    })
    .await;
}
