//! Secrets never reach a report or a baseline: a run against a mock whose accounts use canary
//! passwords (and one canary bearer token), through a target file that names environment
//! variables, leaves no trace of them in any file written or in the terminal summary.

mod common;

use std::time::Duration;

use ewsconf::mock::{Directory, MockConfig, MockServer, Profile};
use ewsconf::report;
use ewsconf::run::{Interrupt, run};
use ewsconf::target::{ClientOptions, Target, TargetFile};

const PASSWORD: &str = "canary-pw-7f3a9c";
const TOKEN: &str = "canary-token-51be0d";

fn users() -> String {
    let mut text = String::from("local_domains = [\"example.com\"]\n");
    for user in [
        "boss",
        "helper",
        "carol",
        "mallory",
        "svc",
        "reader",
        "assistant",
    ] {
        text.push_str(&format!(
            "[[user]]\naddress = \"{user}@example.com\"\npassword = \"{PASSWORD}-{user}\"\n"
        ));
    }
    text.push_str("[[grant]]\ndelegate = \"helper@example.com\"\nprincipal = \"boss@example.com\"\nfolders = { drafts = \"Editor\", sentitems = \"Editor\" }\nsend_on_behalf = true\n");
    text.push_str("[[impersonation]]\naccount = \"svc@example.com\"\n");
    text
}

fn target_file(url: &str) -> String {
    let mut text = format!("url = \"{url}\"\nunknown_domain = \"example.com\"\n");
    for (role, user) in [
        ("principal", "boss"),
        ("delegate", "helper"),
        ("recipient", "carol"),
        ("impersonator", "svc"),
    ] {
        text.push_str(&format!(
            "[accounts.{role}]\naddress = \"{user}@example.com\"\npassword_env = \"CANARY_{}\"\n",
            user.to_uppercase()
        ));
    }
    // The mock speaks Basic only, so this account's calls fail: the token must still not leak.
    text.push_str(
        "[accounts.outsider]\naddress = \"mallory@example.com\"\ntoken_env = \"CANARY_TOKEN\"\n",
    );
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_password_or_token_appears_in_any_report() {
    // Arrange
    let directory = Directory::parse("users.toml", &users()).unwrap();
    let mock = MockServer::start(MockConfig {
        directory,
        ..MockConfig::with_profile(Profile::Documented)
    })
    .await
    .unwrap();
    let env = |name: &str| match name {
        "CANARY_TOKEN" => Some(TOKEN.to_owned()),
        other => other
            .strip_prefix("CANARY_")
            .map(|u| format!("{PASSWORD}-{}", u.to_lowercase())),
    };
    let file = TargetFile::parse("target.toml", &target_file(mock.url()), &env).unwrap();
    let target = Target::remote(file, &ClientOptions::default()).unwrap();
    let mut cases = common::suite();
    // The bearer account cannot log in to the mock, so its cases never settle: do not wait long.
    for case in &mut cases {
        case.poll_timeout = Duration::from_secs(1);
    }
    let options = common::run_options(4);

    // Act
    let summary = run(&target, &cases, &options, &Interrupt::default(), |_| {})
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    report::write_all(&summary, dir.path()).unwrap();
    // Baselines too, written without being told the secrets: nothing in them may carry one.
    ewsconf::baseline::update(&summary, &dir.path().join("baseline"), &[]).unwrap();
    let terminal = report::terminal::summary(&summary, false);

    // Assert: the run really used the accounts (something passed), and nothing leaked.
    assert!(summary.counts().pass > 0, "{terminal}");
    // A Basic header carries the password in base64: that must not appear either.
    let basic =
        ewsconf::target::Auth::basic("boss@example.com", format!("{PASSWORD}-boss")).header_value();
    let encoded = basic.trim_start_matches("Basic ").to_owned();
    let files = common::files_below(dir.path());
    let names: Vec<_> = files.iter().map(|(path, _)| path).collect();
    assert_eq!(files.len(), 3 + cases.len(), "{names:?}");
    for (file, bytes) in files {
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains("canary-pw"),
            "a password reached {}",
            file.display()
        );
        assert!(
            !text.contains(TOKEN),
            "the token reached {}",
            file.display()
        );
        assert!(
            !text.contains(&encoded),
            "a Basic header reached {}",
            file.display()
        );
    }
    assert!(!terminal.contains("canary-pw") && !terminal.contains(TOKEN));
    mock.shutdown().await;
}
