//! `ewsconf probe` on the binary: against the mock on loopback, a scripted server that offers
//! only Windows authentication, a port nothing listens on, a broken target file, and the
//! pyspnego NTLM front of `tests/ntlm.rs` (`tests/interop/ntlm_front.py`), which requires a
//! channel binding as Exchange's Extended Protection does.

mod common;

use std::process::{Command, Output};

use common::ntlm_front::{self, DOMAIN, FrontOptions, ntlm_password, user_of};
use ewsconf::accounts::DEFAULT_PASSWORD;
use ewsconf::ews::DistinguishedFolderName;
use ewsconf::mock::{MockConfig, MockServer, Profile};
use ewsconf::target::calls::{Account, folder_of};
use ewsconf::target::{Client, ClientOptions};

/// How long one `ewsconf probe` may take before the test fails.
const PROBE_LIMIT: u64 = 120;

/// The accounts every target file here names: role, address, environment variable.
const ACCOUNTS: [(&str, &str, &str); 3] = [
    ("principal", common::BOSS, "PROBE_PW_BOSS"),
    ("delegate", common::HELPER, "PROBE_PW_HELPER"),
    ("recipient", common::CAROL, "PROBE_PW_CAROL"),
];

/// A target file at `url` naming the three required accounts as Basic accounts.
fn basic_target(url: &str) -> String {
    let mut text = format!("url = \"{url}\"\n");
    for (role, address, var) in ACCOUNTS {
        text.push_str(&format!(
            "\n[accounts.{role}]\naddress = \"{address}\"\npassword_env = \"{var}\"\n"
        ));
    }
    text
}

/// Runs `ewsconf probe --target target.toml` in a fresh folder holding `file`, with `env` set
/// and `extra` arguments, and waits for it (at most [`PROBE_LIMIT`] seconds).
async fn probe(file: &str, env: &[(&str, String)], extra: &[&str]) -> (Output, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("target.toml"), file).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_ewsconf"));
    command
        .args(["probe", "--target", "target.toml", "--timeout", "10"])
        .args(extra)
        .current_dir(dir.path());
    for (name, value) in env {
        command.env(name, value);
    }
    let out = tokio::task::spawn_blocking(move || {
        common::within(PROBE_LIMIT, "ewsconf probe", move || {
            command.output().expect("ewsconf runs")
        })
    })
    .await
    .unwrap();
    let shown = format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out, shown)
}

/// The right password for each of [`ACCOUNTS`].
fn passwords() -> Vec<(&'static str, String)> {
    ACCOUNTS
        .iter()
        .map(|(_, _, var)| (*var, DEFAULT_PASSWORD.to_owned()))
        .collect()
}

/// The stdout line of `topic` whose text contains `needle`.
fn line<'a>(stdout: &'a str, topic: &str, needle: &str) -> Option<&'a str> {
    stdout
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some(topic) && l.contains(needle))
}

/// Fails the test (showing `shown`) unless the `login` line of `address` says `FAIL` and holds
/// each of `says`.
fn assert_login_fails(stdout: &str, address: &str, says: &[&str], shown: &str) {
    let failed = line(stdout, "login", address).expect(shown);
    assert!(
        failed.starts_with("FAIL") && says.iter().all(|s| failed.contains(s)),
        "{failed}\n{shown}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_usable_mock_exits_0_and_names_each_account_and_the_server_version() {
    let mock = common::documented_mock().await;

    let (out, shown) = probe(&basic_target(mock.url()), &passwords(), &[]).await;

    assert_eq!(out.status.code(), Some(0), "{shown}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let version = Profile::Documented.server_version_info().to_string();
    for (role, address, _) in ACCOUNTS {
        let login = line(&stdout, "login", address)
            .unwrap_or_else(|| panic!("no login line for {address}\n{shown}"));
        assert!(
            login.starts_with("ok") && login.contains(role) && login.contains(&version),
            "{login}\n{shown}"
        );
    }
    assert!(
        line(&stdout, "schemes", "offers Basic").is_some(),
        "{shown}"
    );
    assert!(line(&stdout, "server", &version).is_some(), "{shown}");
    let rights: Vec<&str> = stdout
        .lines()
        .filter(|l| l.split_whitespace().nth(1) == Some("rights"))
        .collect();
    assert_eq!(rights.len(), 4, "{shown}");
    assert!(rights.iter().all(|l| l.starts_with("ok")), "{shown}");
    assert!(!stdout.contains("FAIL"), "{shown}");
    assert!(!stdout.contains(DEFAULT_PASSWORD), "{shown}");

    // The rights check's probe message is gone from every folder it touched.
    let client = Client::new(mock.url(), &ClientOptions::default()).unwrap();
    for (owner, folder) in [
        (common::BOSS, DistinguishedFolderName::Drafts),
        (common::BOSS, DistinguishedFolderName::Inbox),
        (common::BOSS, DistinguishedFolderName::SentItems),
        (common::HELPER, DistinguishedFolderName::SentItems),
    ] {
        let found = client
            .find(
                &Account::basic(owner, DEFAULT_PASSWORD),
                folder_of(owner, folder),
                "rights probe",
            )
            .await
            .expect("FindItem");
        assert!(found.is_empty(), "{owner}'s {folder} keeps {found:?}");
    }
    mock.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_basic_password_names_the_account_and_exits_1() {
    let mock = common::documented_mock().await;
    let mut env = passwords();
    env[1].1 = "not-helpers-password-77".into();

    let (out, shown) = probe(&basic_target(mock.url()), &env, &[]).await;

    assert_eq!(out.status.code(), Some(1), "{shown}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_login_fails(
        &stdout,
        common::HELPER,
        &["delegate", "user name or password"],
        &shown,
    );
    for address in [common::BOSS, common::CAROL] {
        assert!(
            line(&stdout, "login", address).is_some_and(|l| l.starts_with("ok")),
            "{shown}"
        );
    }
    assert!(
        line(&stdout, "rights", "delegate cannot log in").is_some_and(|l| l.starts_with("skip")),
        "{shown}"
    );
    assert!(!shown.contains("not-helpers-password-77"), "{shown}");
    mock.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_port_nothing_listens_on_exits_3() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);

    let (out, shown) = probe(
        &basic_target(&format!("http://{addr}/EWS/Exchange.asmx")),
        &passwords(),
        &[],
    )
    .await;

    assert_eq!(out.status.code(), Some(3), "{shown}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        line(&stdout, "reach", "connection refused").is_some_and(|l| l.starts_with("FAIL")),
        "{shown}"
    );
    assert!(stdout.contains("the target cannot be used"), "{shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_target_file_exits_2_naming_where() {
    // The delegate's password variable is not set.
    let mut env = passwords();
    env.remove(1);

    let (out, shown) = probe(
        &basic_target("http://127.0.0.1:9/EWS/Exchange.asmx"),
        &env,
        &[],
    )
    .await;

    assert_eq!(out.status.code(), Some(2), "{shown}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("target.toml:") && stderr.contains("PROBE_PW_HELPER is not set"),
        "{shown}"
    );
    assert!(out.stdout.is_empty(), "{shown}");
}

/// A server that answers every POST with 401 and `WWW-Authenticate: NTLM` and `Negotiate`, as
/// Exchange Server SE's /EWS does with Basic off. Returns its EWS URL.
async fn windows_auth_only() -> String {
    use axum::http::HeaderValue;
    use axum::http::StatusCode;
    use axum::http::header::WWW_AUTHENTICATE;
    use axum::response::IntoResponse;
    let handler = || async {
        let mut response = (
            StatusCode::UNAUTHORIZED,
            "401 - Unauthorized: Access is denied due to invalid credentials.",
        )
            .into_response();
        // Two headers, as IIS sends them.
        for scheme in ["NTLM", "Negotiate"] {
            response
                .headers_mut()
                .append(WWW_AUTHENTICATE, HeaderValue::from_static(scheme));
        }
        response
    };
    common::serve_on_loopback(
        axum::Router::new().route("/EWS/Exchange.asmx", axum::routing::post(handler)),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_accounts_on_a_server_without_basic_are_told_to_use_ntlm() {
    let url = windows_auth_only().await;

    let (out, shown) = probe(&basic_target(&url), &passwords(), &[]).await;

    // No account logs in: the server cannot be used as the file describes it.
    assert_eq!(out.status.code(), Some(3), "{shown}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        line(&stdout, "schemes", "offers NTLM, Negotiate").is_some(),
        "{shown}"
    );
    for (_, address, _) in ACCOUNTS {
        assert_login_fails(
            &stdout,
            address,
            &["does not offer Basic", "auth = \"ntlm\""],
            &shown,
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The NTLM front of tests/ntlm.rs, sharing its cached venv

/// A target file at `url` naming the three required accounts as NTLM accounts of the front.
fn ntlm_target(url: &str) -> String {
    let mut text = format!("url = \"{url}\"\n");
    for (role, address, var) in ACCOUNTS {
        text.push_str(&format!(
            "\n[accounts.{role}]\naddress = \"{address}\"\nusername = \"{DOMAIN}\\\\{}\"\n\
             password_env = \"{var}\"\nauth = \"ntlm\"\n",
            user_of(address)
        ));
    }
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_the_ntlm_front_a_wrong_password_names_ntlm_and_the_account() {
    let Some(python) = ntlm_front::pyspnego_python("the NTLM probe test") else {
        return;
    };
    let mock = MockServer::start(MockConfig::with_profile(Profile::Intended))
        .await
        .expect("mock starts");
    let front = ntlm_front::start(&python, mock.url(), &FrontOptions::default());
    let file = ntlm_target(&front.url);
    let mut env: Vec<(&str, String)> = ACCOUNTS
        .iter()
        .map(|(_, address, var)| (*var, ntlm_password(user_of(address))))
        .collect();
    let ca = front.ca.to_string_lossy().into_owned();

    // Without the front's CA, TLS stops the probe before any login.
    let (out, shown) = probe(&file, &env, &[]).await;
    assert_eq!(out.status.code(), Some(3), "{shown}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        line(&stdout, "tls", "--ca-cert").is_some_and(|l| l.starts_with("FAIL")),
        "{shown}"
    );

    // With it, and the right passwords, every account logs in and the rights hold.
    let (out, shown) = probe(&file, &env, &["--ca-cert", &ca]).await;
    assert_eq!(out.status.code(), Some(0), "{shown}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        line(&stdout, "tls", "certificate trusted").is_some(),
        "{shown}"
    );
    assert!(line(&stdout, "schemes", "NTLM").is_some(), "{shown}");

    // A wrong password for the principal: its line names NTLM and the account.
    env[0].1 = "not-the-boss-password-31".into();
    let (out, shown) = probe(&file, &env, &["--ca-cert", &ca]).await;
    assert_eq!(out.status.code(), Some(1), "{shown}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_login_fails(
        &stdout,
        common::BOSS,
        &["NTLM", "EXAMPLE\\boss", "password"],
        &shown,
    );
    assert!(!shown.contains("not-the-boss-password-31"), "{shown}");
    // One refused login out of three is a password, not the channel binding.
    assert!(
        line(&stdout, "ntlm", "channel binding").is_none(),
        "{shown}"
    );
    drop(front);
    mock.shutdown().await;
}
