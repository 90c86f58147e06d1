//! NTLM end to end: ewsconf logs in with NTLMv2 and a channel binding through an HTTPS front
//! whose NTLM acceptor is Python's pyspnego (the library exchangelib's NTLM client is built on),
//! which requires the binding to its certificate as Exchange's Extended Protection does, and
//! forwards logged-in requests to the mock (`tests/interop/ntlm_front.py`).
//!
//! pyspnego goes into a venv cached under the cargo target dir. Where the registry cannot be
//! reached or `python3` cannot make a venv, a test prints a notice and passes; with `CI` set it
//! fails instead.

mod common;

use std::time::Duration;

use common::front::{self, Front};
use common::ntlm_front::{self, DOMAIN, FrontOptions, ntlm_password, user_of};
use ewsconf::accounts::DEFAULT_ACCOUNTS;
use ewsconf::ews::{BaseShape, DistinguishedFolderName, GetFolder, RequestEnvelope, Shape};
use ewsconf::mock::{MockConfig, MockServer, Profile};
use ewsconf::target::calls::folder_of;
use ewsconf::target::{Auth, Client, ClientOptions, Post, Secret, TargetError};
use serde_json::Value;

const RUN_TIMEOUT: u64 = 600;

async fn intended_mock() -> MockServer {
    MockServer::start(MockConfig::with_profile(Profile::Intended))
        .await
        .expect("mock starts")
}

/// Runs `test` with a front set up as `options` in front of the intended mock, then stops both;
/// does nothing (as [`ntlm_front::pyspnego_python`] decides) when pyspnego cannot be installed.
async fn with_front(options: FrontOptions, test: impl AsyncFnOnce(&Front, &MockServer)) {
    let Some(python) = ntlm_front::pyspnego_python("NTLM interop test") else {
        return;
    };
    let mock = intended_mock().await;
    let front = ntlm_front::start(&python, mock.url(), &options);
    test(&front, &mock).await;
    drop(front);
    mock.shutdown().await;
}

/// An NTLM account of the front's credential file.
fn ntlm(user: &str, password: &str) -> Auth {
    Auth::Ntlm {
        username: format!("{DOMAIN}\\{user}"),
        password: Secret::new(password),
    }
}

/// A GetFolder of `address`'s Inbox: a request that answers the same every time.
fn get_inbox(address: &str) -> Post {
    Post::soap(&RequestEnvelope::new(GetFolder {
        folder_shape: Shape::new(BaseShape::IdOnly),
        folder_ids: vec![folder_of(address, DistinguishedFolderName::Inbox)],
    }))
}

/// A target file naming every default account as an NTLM account of the front.
fn target_file(url: &str, mock: &MockServer) -> String {
    let accounts = front::account_tables(mock, |account| {
        let user = user_of(account.address);
        format!(
            "username = \"{DOMAIN}\\\\{user}\"\npassword_env = \"NTLM_PW_{}\"\nauth = \"ntlm\"\n",
            user.to_uppercase()
        )
    });
    format!("url = \"{url}\"\nunknown_domain = \"example.com\"\n{accounts}")
}

// ---------------------------------------------------------------------------------------------
// Tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_passes_through_a_front_requiring_ntlm_channel_binding_and_no_output_holds_a_password()
 {
    with_front(FrontOptions::default(), async |front, mock| {
        // Arrange: a target file of NTLM accounts for the front, their passwords in the
        // environment.
        let passwords: Vec<(String, String)> = DEFAULT_ACCOUNTS
            .iter()
            .map(|account| {
                let user = user_of(account.address);
                (
                    format!("NTLM_PW_{}", user.to_uppercase()),
                    ntlm_password(user),
                )
            })
            .collect();

        // Act
        let run = front
            .run_suite(
                &target_file(&front.url, mock),
                &passwords,
                "the suite through the NTLM front",
                RUN_TIMEOUT,
            )
            .await;

        // Assert: each case ends as it does against the same mock reached directly, and none
        // fails or errs.
        let through_front = run.verdicts();
        run.assert_none_failed_or_erred();
        let direct = front::direct_verdicts().await;
        assert_eq!(through_front, direct);
        run.assert_exit_code(0);

        // The logins: connection by connection, each on an empty POST, none refused, and the
        // requests of the run went over logged-in connections without credentials of their own.
        let events = front.events();
        let logins: Vec<&Value> = events
            .iter()
            .filter(|e| e["auth"] == "authenticate")
            .collect();
        assert!(!logins.is_empty(), "no NTLM login reached the front");
        for login in &logins {
            assert_eq!(login["body_bytes"], 0, "a login carried a request: {login}");
            assert!(
                login.get("refused").is_none(),
                "a login was refused: {login}"
            );
        }
        let requests: Vec<&Value> = events
            .iter()
            .filter(|e| e["auth"] == "none" && e["body_bytes"] != 0)
            .collect();
        assert!(
            requests.iter().all(|e| e["status"] != 401),
            "a request was refused on a logged-in connection"
        );
        let send_items = requests
            .iter()
            .filter(|e| e["action"] == "SendItem")
            .count();
        assert!(send_items > 0, "no SendItem went through the front");
        let most_logins = DEFAULT_ACCOUNTS.len() * ewsconf::target::ntlm::CONNECTIONS_PER_ACCOUNT;
        assert!(
            logins.len() <= most_logins && logins.len() < requests.len(),
            "{} logins for {} requests: NTLM logged in per request, not per connection",
            logins.len(),
            requests.len()
        );

        // No NTLM password in the reports, stdout or stderr.
        for (what, text) in run.texts() {
            for account in &DEFAULT_ACCOUNTS {
                let password = ntlm_password(user_of(account.address));
                assert!(!text.contains(&password), "{what} holds {password}");
            }
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_an_ntlm_login_error_naming_the_account() {
    with_front(FrontOptions::default(), async |front, _| {
        let client = front.client();

        let result = client
            .post(
                &ntlm("boss", "not-the-password-31"),
                get_inbox("boss@example.com"),
            )
            .await;

        let err = result.expect_err("a wrong password logs in");
        assert!(matches!(err, TargetError::Login { .. }), "{err:?}");
        let message = err.to_string();
        assert!(
            message.contains("NTLM")
                && message.contains("EXAMPLE\\boss")
                && message.contains("password"),
            "{message}"
        );
        assert!(!message.contains("not-the-password-31"), "{message}");
        let events = front.events();
        assert!(
            events.iter().all(|e| e["body_bytes"] == 0),
            "the request went out before a login: {events:?}"
        );
        assert!(
            events.iter().any(|e| e.get("refused").is_some()),
            "{events:?}"
        );

        // The right password on the same client logs in and gets the answer.
        let answer = client
            .post(
                &ntlm("boss", &ntlm_password("boss")),
                get_inbox("boss@example.com"),
            )
            .await
            .expect("the right password logs in");
        assert_eq!(answer.status, 200);
        assert!(answer.envelope().is_ok(), "{:?}", answer.body);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_bound_to_another_certificate_is_refused() {
    // The front expects the binding of a certificate other than the one it serves, as a server
    // behind a TLS-terminating middlebox would: the binding ewsconf sends cannot match.
    with_front(
        FrontOptions {
            bind_to_other_cert: true,
            ..FrontOptions::default()
        },
        async |front, _| {
            let result = front
                .client()
                .post(
                    &ntlm("helper", &ntlm_password("helper")),
                    get_inbox("helper@example.com"),
                )
                .await;

            let err = result.expect_err("a login with a binding to another certificate succeeded");
            let message = err.to_string();
            assert!(
                matches!(err, TargetError::Login { .. })
                    && message.contains("NTLM")
                    && message.contains("EXAMPLE\\helper")
                    && message.contains("channel binding"),
                "{message}"
            );
            let events = front.events();
            let refused: Vec<&str> = events
                .iter()
                .filter_map(|e| e["refused"].as_str())
                .collect();
            assert_eq!(
                refused,
                ["a channel binding to another certificate"],
                "{events:?}"
            );
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_connection_logs_in_again_and_no_request_goes_twice() {
    // The front closes each connection after 3 requests, as a keep-alive limit does.
    with_front(
        FrontOptions {
            requests_per_connection: 3,
            ..FrontOptions::default()
        },
        async |front, _| {
            let client = front.client();
            let auth = ntlm("carol", &ntlm_password("carol"));

            for n in 0..7 {
                let answer = client
                    .post(&auth, get_inbox("carol@example.com"))
                    .await
                    .unwrap_or_else(|e| panic!("request {n}: {e}"));
                assert_eq!(answer.status, 200, "request {n}");
            }

            let events = front.events();
            let logins = events
                .iter()
                .filter(|e| e["auth"] == "authenticate")
                .count();
            let requests = events
                .iter()
                .filter(|e| e["auth"] == "none" && e["action"] == "GetFolder")
                .count();
            // The login's empty POST counts towards the 3, so each connection carries two of
            // the 7 requests: four connections, each logged in once.
            assert_eq!((logins, requests), (4, 7), "{events:?}");
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_answer_size_cap_holds_on_an_ntlm_connection() {
    with_front(FrontOptions::default(), async |front, _| {
        let client = front.client().with_max_response_bytes(64);

        let result = client
            .post(
                &ntlm("boss", &ntlm_password("boss")),
                get_inbox("boss@example.com"),
            )
            .await;

        assert!(
            matches!(result, Err(TargetError::TooLarge { limit: 64, .. })),
            "{result:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_server_without_ntlm_is_named_with_the_schemes_it_offers() {
    // The mock offers Basic only.
    let mock = intended_mock().await;
    let client = Client::new(mock.url(), &ClientOptions::default()).unwrap();

    let result = client
        .post(&ntlm("boss", "any-password"), get_inbox("boss@example.com"))
        .await;

    let message = result.expect_err("logged in without NTLM").to_string();
    assert!(
        message.contains("NTLM")
            && message.contains("EXAMPLE\\boss")
            && message.contains("offers: Basic"),
        "{message}"
    );
    mock.shutdown().await;
}

#[tokio::test]
async fn a_server_that_never_answers_the_login_times_out() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/EWS/Exchange.asmx",
        listener.local_addr().unwrap()
    );
    // Accepts connections and reads nothing.
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    let options = ClientOptions {
        timeout: Duration::from_secs(1),
        ..ClientOptions::default()
    };
    let client = Client::new(&url, &options).unwrap();

    let result = tokio::time::timeout(
        Duration::from_secs(30),
        client.post(&ntlm("boss", "any-password"), get_inbox("boss@example.com")),
    )
    .await
    .expect("the client gave up by itself");

    assert!(
        matches!(result, Err(TargetError::Timeout { .. })),
        "{result:?}"
    );
    held.abort();
}
