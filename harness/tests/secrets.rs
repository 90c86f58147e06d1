//! Secrets never reach a report or a baseline: a run against a mock whose accounts use canary
//! passwords (and one canary bearer token), through a target file that names environment
//! variables, leaves no trace of them in any file written or in the terminal summary.
//!
//! A hostile server reflects them: a proxy in front of the mock echoes the `Authorization`
//! header, the password raw, XML-escaped, percent- and form-encoded, and base64 of the password
//! and of `user:password` at every alignment inside longer base64 runs, into every answer body
//! and into a header. Nothing of it may reach a report, a baseline, the quirk table, stdout or
//! stderr, through the library or the `ewsconf` binary. The same proxy can pad every answer
//! by several MiB: the reports keep a bounded part and say it was truncated.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};

use ewsconf::case::Case;
use ewsconf::limits::REPORT_MAX_EXCHANGE_BYTES;
use ewsconf::mock::{Directory, MockConfig, MockServer, Profile};
use ewsconf::report;
use ewsconf::run::{Interrupt, RunSummary, run};
use ewsconf::secrets::{self, Secrets};
use ewsconf::target::{ClientOptions, Target, TargetFile};

const PASSWORD: &str = "canary-pw-7f3a9c";
const TOKEN: &str = "canary-token-51be0d";

/// The users of the canary directory, each `USER@example.com`.
const USERS: [&str; 7] = [
    "boss",
    "helper",
    "carol",
    "mallory",
    "svc",
    "reader",
    "assistant",
];

fn users() -> String {
    let mut text = String::from("local_domains = [\"example.com\"]\n");
    for user in USERS {
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

/// The documented mock with the directory `users` (a users file).
async fn canary_mock(users: &str) -> MockServer {
    let directory = Directory::parse("users.toml", users).unwrap();
    MockServer::start(MockConfig {
        directory,
        ..MockConfig::with_profile(Profile::Documented)
    })
    .await
    .unwrap()
}

/// Runs `cases`, `jobs` at once, against `target`, and writes the reports into a fresh folder:
/// the run's summary, the folder, and the reports' paths.
async fn run_and_report(
    target: &Target,
    cases: &[Case],
    jobs: usize,
) -> (RunSummary, tempfile::TempDir, report::ReportPaths) {
    let summary = run(
        target,
        cases,
        &common::run_options(jobs),
        &Interrupt::default(),
        |_| {},
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let paths = report::write_all(&summary, dir.path()).unwrap();
    (summary, dir, paths)
}

/// The terminal summary of `summary`, with the installed secrets redacted as the binary shows it.
fn terminal_summary(summary: &RunSummary) -> String {
    let mut prepared = summary.clone();
    report::prepare(&mut prepared);
    report::terminal::summary(&prepared, false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_password_or_token_appears_in_any_report() {
    // Arrange
    let mock = canary_mock(&users()).await;
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

    // Act
    let (summary, dir, _) = run_and_report(&target, &cases, 4).await;
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
    // Ordinary answers are still re-indented in report.html, none shown raw for its size.
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert!(html.contains("<pre class=\"xml\">"));
    assert!(!html.contains("Too much markup"));
    mock.shutdown().await;
}

/// Passwords with characters every encoding changes: a space, `+`, `/`, `&`.
const REFLECTED: &str = "Refl canary+7f/3a&9c";

/// The password of `user` behind the reflecting server. Not the user name itself, so that
/// base64 of the user name (which is not secret) never looks like a leak.
fn reflected_password(user: &str) -> String {
    format!("{REFLECTED}-{}", user.chars().rev().collect::<String>())
}

fn reflected_users() -> String {
    let mut text = users();
    for user in USERS {
        text = text.replace(
            &format!("\"{PASSWORD}-{user}\""),
            &format!("\"{}\"", reflected_password(user)),
        );
    }
    text
}

fn reflected_env(name: &str) -> Option<String> {
    match name {
        "CANARY_TOKEN" => Some(TOKEN.to_owned()),
        other => other
            .strip_prefix("CANARY_")
            .map(|u| reflected_password(&u.to_lowercase())),
    }
}

/// RFC 3986 percent-encoding of everything but the unreserved characters.
fn percent(s: &str, lower: bool, plus_for_space: bool) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            b' ' if plus_for_space => out.push('+'),
            _ if lower => out.push_str(&format!("%{b:02x}")),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The user and secret an `Authorization` header carries.
fn credentials(auth: &str) -> Option<(String, String)> {
    if let Some(basic) = auth.strip_prefix("Basic ") {
        let pair = String::from_utf8(STANDARD.decode(basic).ok()?).ok()?;
        let (user, password) = pair.split_once(':')?;
        return Some((user.to_owned(), password.to_owned()));
    }
    auth.strip_prefix("Bearer ")
        .map(|t| (String::new(), t.to_owned()))
}

/// Every form of the credentials in `auth` the proxy reflects.
fn reflections(auth: &str) -> Vec<String> {
    let mut forms = vec![auth.to_owned()];
    let Some((user, secret)) = credentials(auth) else {
        return forms;
    };
    let pair = format!("{user}:{secret}");
    forms.extend([
        secret.clone(),
        percent(&secret, false, false),
        percent(&secret, true, false),
        percent(&secret, false, true),
        STANDARD.encode(&pair),
        STANDARD_NO_PAD.encode(&pair),
    ]);
    // Inside longer base64 runs, at each of the three alignments.
    for prefix in ["", "a", "ab"] {
        forms.push(STANDARD.encode(format!("{prefix}{secret}tail")));
        forms.push(STANDARD.encode(format!("{prefix}{pair}tail")));
    }
    forms
}

/// What a reader must never find: each reflected form whole, and every 8-character window of
/// the base64 characters that depend on a secret alone at each alignment.
fn canaries(secrets: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for secret in secrets {
        out.push(secret.clone());
        out.push(percent(secret, false, false));
        out.push(percent(secret, true, true));
        for k in 0..3usize {
            let mut bytes = vec![b'Q'; k];
            bytes.extend_from_slice(secret.as_bytes());
            let encoded = STANDARD_NO_PAD.encode(&bytes);
            let (first, last) = ((8 * k).div_ceil(6), 8 * (k + secret.len()) / 6);
            let only = &encoded[first..last];
            for w in 0..only.len().saturating_sub(7) {
                out.push(only[w..w + 8].to_owned());
            }
        }
    }
    out
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A hostile server: forwards every request to the mock and reflects the credentials it was
/// sent into the answer (a comment, an element after the Body, which SOAP 1.1 allows, and a
/// header), padding the answer with `pad` bytes of markup.
#[derive(Clone)]
struct Reflector {
    upstream: String,
    client: reqwest::Client,
    pad: usize,
}

async fn reflect(State(r): State<Reflector>, headers: HeaderMap, body: Bytes) -> Response {
    let mut request = r.client.post(&r.upstream).body(body.to_vec());
    for name in ["authorization", "content-type", "soapaction"] {
        if let Some(v) = headers.get(name) {
            request = request.header(name, v.as_bytes());
        }
    }
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let (status, text) = match request.send().await {
        Ok(answer) => (
            answer.status().as_u16(),
            answer.text().await.unwrap_or_default(),
        ),
        Err(e) => (502, e.to_string()),
    };
    let forms = reflections(&auth);
    let comment = format!("<!-- echo {} -->", forms.join(" ").replace("--", "- -"));
    let element = format!(
        "<e:Echo xmlns:e=\"urn:ewsconf-echo\" auth=\"{}\">{}<!-- {} --></e:Echo>",
        xml_escape(&auth),
        xml_escape(&forms.join(" ")),
        "<a>".repeat(r.pad / 3)
    );
    let mut answer = text;
    match answer.rfind("</") {
        Some(i) if answer[i..].contains("Envelope>") => answer.insert_str(i, &element),
        _ => answer.push_str(&element),
    }
    let at = if answer.starts_with("<?xml") {
        answer.find("?>").map_or(0, |i| i + 2)
    } else {
        0
    };
    answer.insert_str(at, &comment);
    Response::builder()
        .status(status)
        .header("content-type", "text/xml; charset=utf-8")
        .header("x-echo", auth)
        .body(Body::from(answer))
        .unwrap()
}

/// The mock with canary accounts, and a reflecting proxy in front of it; the proxy's URL.
async fn reflecting_server(pad: usize) -> (MockServer, String) {
    let mock = canary_mock(&reflected_users()).await;
    let state = Reflector {
        upstream: mock.url().to_owned(),
        client: reqwest::Client::new(),
        pad,
    };
    let app = axum::Router::new().fallback(reflect).with_state(state);
    (mock, common::serve_on_loopback(app).await)
}

/// Every secret of the accounts in the target file, the user:password pairs' too.
fn all_secrets() -> Vec<String> {
    let mut out = vec![TOKEN.to_owned()];
    for user in ["boss", "helper", "carol", "svc"] {
        out.push(reflected_password(user));
    }
    out
}

/// Panics naming `what` if any canary appears in `text`.
fn assert_clean(what: &str, text: &str, canaries: &[String]) {
    for c in canaries {
        assert!(!text.contains(c.as_str()), "{c:?} reached {what}");
    }
    for needle in ["canary+7f", "canary%2B7f", "canary%2b7f", "canary 7f"] {
        assert!(!text.contains(needle), "{needle:?} reached {what}");
    }
}

/// [`assert_clean`] on every file, by its path.
fn assert_files_clean(files: &[(PathBuf, Vec<u8>)], canaries: &[String]) {
    for (file, bytes) in files {
        assert_clean(
            &file.display().to_string(),
            &String::from_utf8_lossy(bytes),
            canaries,
        );
    }
}

fn selected_cases() -> Vec<Case> {
    common::suite()
        .into_iter()
        .filter(|c| c.id.starts_with("save-rules/") || c.id == "delegate/scenario-a")
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reflecting_server_leaks_nothing_through_the_library() {
    // Arrange
    let (mock, url) = reflecting_server(0).await;
    let file = TargetFile::parse("target.toml", &target_file(&url), &reflected_env).unwrap();
    let target = Target::remote(file, &ClientOptions::default()).unwrap();
    secrets::install(Secrets::of(&target));
    let cases = selected_cases();

    // Act
    let (summary, dir, paths) = run_and_report(&target, &cases, 4).await;
    ewsconf::baseline::update(&summary, &dir.path().join("baseline"), &[]).unwrap();
    let terminal = terminal_summary(&summary);

    // Assert: the server did reflect (the raw summary holds the password and the header),
    // the cases ran, and no file holds any form of any secret.
    let raw = serde_json::to_string(&summary).unwrap();
    let header =
        ewsconf::target::Auth::basic("boss@example.com", reflected_password("boss")).header_value();
    assert!(
        raw.contains(&reflected_password("boss")),
        "nothing was reflected"
    );
    assert!(raw.contains(&header), "the header was not reflected");
    assert!(summary.counts().pass > 0, "{terminal}");
    let canaries = canaries(&all_secrets());
    let files = common::files_below(dir.path());
    assert_eq!(files.len(), 3 + cases.len());
    assert_files_clean(&files, &canaries);
    let json = std::fs::read_to_string(&paths.json).unwrap();
    assert!(
        json.contains("SECRET"),
        "the reflection did not reach the report"
    );
    assert_clean("the terminal summary", &terminal, &canaries);
    mock.shutdown().await;
}

/// Runs the `ewsconf` binary with the canary environment; its exit code, stdout and stderr.
fn ewsconf(args: &[&str], dir: &Path) -> (Option<i32>, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ewsconf"));
    command.args(args).current_dir(dir);
    for user in ["boss", "helper", "carol", "svc"] {
        command.env(
            format!("CANARY_{}", user.to_uppercase()),
            reflected_password(user),
        );
    }
    command.env("CANARY_TOKEN", TOKEN);
    let out = command.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reflecting_server_leaks_nothing_through_the_binary() {
    // Arrange
    let (mock, url) = reflecting_server(0).await;
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("target.toml"), target_file(&url)).unwrap();
    let cases = concat!(env!("CARGO_MANIFEST_DIR"), "/../cases");
    let dir = work.path().to_owned();

    // Act: a run that writes its baseline, then the quirk reproduction.
    let (run, quirk) = tokio::task::spawn_blocking(move || {
        let run = ewsconf(
            &[
                "run",
                "--target",
                "target.toml",
                "--cases",
                cases,
                "--only",
                "save-rules/*",
                "--report-dir",
                "reports",
                "--baseline",
                "baseline",
                "--update-baseline",
                "--no-progress",
                "--timeout",
                "20",
            ],
            &dir,
        );
        let quirk = ewsconf(
            &[
                "quirk",
                "delegate-copy",
                "--target",
                "target.toml",
                "--report-dir",
                "quirk",
                "--timeout",
                "20",
            ],
            &dir,
        );
        (run, quirk)
    })
    .await
    .unwrap();

    // Assert
    let canaries = canaries(&all_secrets());
    for (name, (code, stdout, stderr)) in [("run", &run), ("quirk", &quirk)] {
        assert!(
            matches!(code, Some(0 | 1)),
            "{name} exited {code:?}:\n{stdout}\n{stderr}"
        );
        assert_clean(&format!("{name}'s stdout"), stdout, &canaries);
        assert_clean(&format!("{name}'s stderr"), stderr, &canaries);
    }
    let files = common::files_below(work.path());
    let names: Vec<String> = files.iter().map(|(p, _)| p.display().to_string()).collect();
    for wanted in [
        "junit.xml",
        "report.json",
        "report.html",
        "quirk-delegate-copy.json",
    ] {
        assert!(
            names.iter().any(|n| n.ends_with(wanted)),
            "no {wanted} in {names:?}"
        );
    }
    assert!(
        names.iter().any(|n| n.starts_with("baseline/")),
        "{names:?}"
    );
    assert_files_clean(&files, &canaries);
    let json = files
        .iter()
        .find(|(p, _)| p.starts_with("reports") && p.ends_with("report.json"))
        .map(|(_, b)| String::from_utf8_lossy(b).into_owned())
        .unwrap();
    assert!(
        json.contains("SECRET"),
        "the reflection did not reach the report"
    );
    mock.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multi_mib_answer_is_cut_in_every_report() {
    // Arrange: every answer carries 3 MiB of nested markup.
    const PAD: usize = 3 * 1024 * 1024;
    let (mock, url) = reflecting_server(PAD).await;
    let file = TargetFile::parse("target.toml", &target_file(&url), &reflected_env).unwrap();
    let target = Target::remote(file, &ClientOptions::default()).unwrap();
    let cases: Vec<_> = common::suite()
        .into_iter()
        .filter(|c| c.id == "save-rules/true-no-folder")
        .collect();

    // Act
    let (summary, _dir, paths) = run_and_report(&target, &cases, 1).await;

    // Assert: each response body is kept up to the limit, and the reports grow with the
    // number of exchanges, not with the size of the answers. The bound, per exchange: the
    // response kept (escaped at most 3 times over in HTML, where `<` is 4 bytes for 1 and `>`
    // 4 for 1 in `<a>`'s 3), plus 64 KiB for its request and headings; plus 1 MiB for the page.
    // The run keeps no more than a report shows: each padded answer was cut as it was recorded,
    // and says how large it was.
    let exchanges: usize = summary.outcomes.iter().map(|o| o.exchanges.len()).sum();
    let big = summary
        .outcomes
        .iter()
        .flat_map(|o| &o.exchanges)
        .filter(|e| {
            e.response.as_ref().is_some_and(|r| {
                r.len() < REPORT_MAX_EXCHANGE_BYTES + 1024
                    && r.contains("… truncated: the answer was")
            })
        })
        .count();
    assert!(
        big > 0,
        "the answers were not padded, or not cut when recorded"
    );
    assert!(
        summary
            .outcomes
            .iter()
            .flat_map(|o| &o.exchanges)
            .all(|e| e.response.as_ref().is_none_or(|r| r.len() < PAD)),
        "a padded answer was kept whole"
    );
    let json = std::fs::read_to_string(&paths.json).unwrap();
    let html = std::fs::read_to_string(&paths.html).unwrap();
    let junit = std::fs::read_to_string(&paths.junit).unwrap();
    let json_bound = exchanges * (REPORT_MAX_EXCHANGE_BYTES + 64 * 1024) + 1024 * 1024;
    let html_bound = exchanges * (3 * REPORT_MAX_EXCHANGE_BYTES + 64 * 1024) + 1024 * 1024;
    assert!(
        json.len() <= json_bound,
        "report.json {} > {json_bound}",
        json.len()
    );
    assert!(
        html.len() <= html_bound,
        "report.html {} > {html_bound}",
        html.len()
    );
    let note = format!("the report keeps {REPORT_MAX_EXCHANGE_BYTES}");
    assert_eq!(
        json.matches(&note).count(),
        big,
        "report.json says truncated"
    );
    assert_eq!(
        html.matches(&note).count(),
        big,
        "report.html says truncated"
    );
    assert!(json.contains("… truncated: the answer was"));
    assert!(junit.contains("… truncated: the answer was"), "{junit}");
    mock.shutdown().await;
}

/// The token endpoint of an app: issues `app-canary-token-N`, one a grant, each announced to
/// live an hour.
async fn token_endpoint() -> String {
    let issued = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let app = axum::Router::new().fallback(move || {
        let n = issued.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        async move {
            Response::builder()
                .header("content-type", "application/json")
                .body(Body::from(format!(
                    "{{\"access_token\":\"app-canary-token-{n}\",\"token_type\":\"Bearer\",\"expires_in\":3600}}"
                )))
                .unwrap()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/token", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_apps_client_secret_and_the_tokens_it_obtains_leak_nothing() {
    // Arrange: every account reached through an app whose tokens the server reflects (the mock
    // speaks Basic only, so each request is refused, and the refusal makes the client fetch
    // another token: many tokens over the run).
    let (mock, url) = reflecting_server(0).await;
    let token_url = token_endpoint().await;
    let mut text = format!(
        "url = \"{url}\"\nunknown_domain = \"example.com\"\n[app]\ntoken_url = \"{token_url}\"\n\
         client_id = \"c1\"\nclient_secret_env = \"APP_SECRET\"\n"
    );
    for (role, user) in [
        ("principal", "boss"),
        ("delegate", "helper"),
        ("recipient", "carol"),
    ] {
        text.push_str(&format!(
            "[accounts.{role}]\naddress = \"{user}@example.com\"\n"
        ));
    }
    let app_secret = "app-canary-secret+4e/7";
    let env = |name: &str| (name == "APP_SECRET").then(|| app_secret.to_owned());
    let file = TargetFile::parse("target.toml", &text, &env).unwrap();
    let target = Target::remote(file, &ClientOptions::default()).unwrap();
    secrets::install(Secrets::of(&target));
    let mut cases = selected_cases();
    for case in &mut cases {
        case.poll_timeout = Duration::from_secs(1);
    }

    // Act
    let (summary, dir, paths) = run_and_report(&target, &cases, 4).await;
    let terminal = terminal_summary(&summary);

    // Assert: the server reflected the tokens (the report shows where, redacted), every one
    // of them is known to the target's secrets, and no file or terminal line holds a token or
    // the client secret.
    let json = std::fs::read_to_string(&paths.json).unwrap();
    assert!(json.contains("SECRET"), "nothing was reflected: {terminal}");
    assert!(Secrets::of(&target).found_in("Bearer app-canary-token-1"));
    let issued: Vec<String> = (1..=50).map(|n| format!("app-canary-token-{n}")).collect();
    let mut secrets = issued.clone();
    secrets.push(app_secret.to_owned());
    let canaries = canaries(&secrets);
    for (file, bytes) in common::files_below(dir.path()) {
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains("app-canary"),
            "{} holds a secret",
            file.display()
        );
        assert_clean(&file.display().to_string(), &text, &canaries);
    }
    assert!(!terminal.contains("app-canary"));
    mock.shutdown().await;
}
