//! Helpers shared by the integration tests: where the shared reference data lives, a watchdog
//! for inputs that must not hang, the suite with the options to run it, and a running mock with
//! the project's client for it.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{OnceLock, mpsc};
use std::time::Duration;

use ewsconf::ews::{DistinguishedFolderName, Item, ItemId, ResponseClass, ResponseCode, SendItem};
use ewsconf::generate::SchemaEra;
use ewsconf::mock::{Defects, MockConfig, MockServer, Profile};
use ewsconf::schema::SchemaSet;
use ewsconf::target::calls::{Account, folder_of};
use ewsconf::target::{Auth, Client, ClientOptions, Post};

/// The folder holding `ews-schemas/` and `ews-samples/`: `$EWSCONF_SHARED`, or `shared/` beside
/// the workspace. `None` (with a notice) when it is missing, unless `CI` is set, where a missing
/// folder fails the test.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("EWSCONF_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared")));
    if dir.join("ews-schemas").is_dir() {
        return Some(dir);
    }
    let hint = format!(
        "shared reference data not found at {} (looked for ews-schemas/ there); \
         set EWSCONF_SHARED to the folder that holds ews-schemas/ and ews-samples/",
        dir.display()
    );
    assert!(std::env::var_os("CI").is_none(), "{hint}");
    eprintln!("skipping: {hint}");
    None
}

/// Runs `f` on its own thread and fails the test if it has not finished within `secs` seconds.
pub fn within<T: Send + 'static>(
    secs: u64,
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(value) => value,
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what}: still running after {secs} s"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("{what}: panicked"),
    }
}

/// The EWS messages namespace.
pub const M: &str = "http://schemas.microsoft.com/exchange/services/2006/messages";
/// The EWS types namespace.
pub const T: &str = "http://schemas.microsoft.com/exchange/services/2006/types";
/// The SOAP 1.1 envelope namespace.
pub const SOAP: &str = "http://schemas.xmlsoap.org/soap/envelope/";

/// A valid SendItemResponse envelope with one success message.
pub fn success_envelope() -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="{SOAP}">
  <s:Header>
    <t:ServerVersionInfo xmlns:t="{T}" MajorVersion="15" MinorVersion="1"/>
  </s:Header>
  <s:Body>
    <m:SendItemResponse xmlns:m="{M}">
      <m:ResponseMessages>
        <m:SendItemResponseMessage ResponseClass="Success">
          <m:ResponseCode>NoError</m:ResponseCode>
        </m:SendItemResponseMessage>
      </m:ResponseMessages>
    </m:SendItemResponse>
  </s:Body>
</s:Envelope>
"#
    )
}

/// Runs `check` on every published sample, by file name and bytes, and fails unless it checked
/// at least `at_least` of them (`check` says whether it checked a sample or passed it over). Does
/// nothing (as [`shared_dir`] decides) when the shared data is missing.
pub fn check_samples(at_least: usize, mut check: impl FnMut(&str, &[u8]) -> bool) {
    let Some(shared) = shared_dir() else {
        return;
    };
    let mut checked = 0;
    for path in sample_files(&shared) {
        let name = path.file_name().unwrap().to_string_lossy();
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        checked += usize::from(check(&name, &bytes));
    }
    assert!(checked >= at_least, "only {checked} samples checked");
}

/// The published samples: every `.xml` file in the folders of `ews-samples/` below `shared`,
/// sorted.
pub fn sample_files(shared: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = ["msdocs", "msdocs-howto", "exchangelib-related"]
        .into_iter()
        .flat_map(|folder| xml_files(&shared.join("ews-samples").join(folder)))
        .collect();
    files.sort();
    files
}

/// Every `.xml` file directly in `dir`, sorted.
pub fn xml_files(dir: &Path) -> Vec<PathBuf> {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .collect();
    files.sort();
    files
}

/// Reads a file below the shared folder.
pub fn read_shared(dir: &std::path::Path, relative: &str) -> Vec<u8> {
    let path = dir.join(relative);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// These published samples, named below `ews-samples/`, read; `None` (as [`shared_dir`]
/// decides) when the shared data is missing.
pub fn samples<const N: usize>(names: [&str; N]) -> Option<[Vec<u8>; N]> {
    let dir = shared_dir()?.join("ews-samples");
    Some(names.map(|name| read_shared(&dir, name)))
}

/// One published sample, as [`samples`] reads it.
pub fn sample(name: &str) -> Option<Vec<u8>> {
    samples([name]).map(|[bytes]| bytes)
}

/// The official schema set of `era` from the shared data, compiled once per test binary; `None`
/// when the shared data is missing.
pub fn official(era: SchemaEra) -> Option<&'static SchemaSet> {
    static CURRENT: OnceLock<Option<SchemaSet>> = OnceLock::new();
    static OLD: OnceLock<Option<SchemaSet>> = OnceLock::new();
    let (cell, folder) = match era {
        SchemaEra::Current => (&CURRENT, "Exchange2016-O365-2023"),
        SchemaEra::Exchange2010Sp2 => (&OLD, "Exchange2010_SP2"),
    };
    cell.get_or_init(|| {
        let dir = shared_dir()?.join("ews-schemas").join(folder);
        Some(SchemaSet::from_dir(&dir).unwrap_or_else(|e| panic!("{folder} compiles: {e}")))
    })
    .as_ref()
}

/// Every file below `dir`, at any depth, as its path relative to `dir` and its bytes, sorted.
pub fn files_below(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                out.push((path.strip_prefix(root).unwrap().to_owned(), bytes));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// The conformance suite in `cases/`.
pub fn suite() -> Vec<ewsconf::case::Case> {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../cases"));
    ewsconf::case::load_dir(&dir).unwrap_or_else(|e| panic!("the suite loads: {e}"))
}

/// Run options for tests: `jobs` cases at once, the embedded schemas, nothing kept.
pub fn run_options(jobs: usize) -> ewsconf::run::RunOptions {
    ewsconf::run::RunOptions {
        jobs,
        keep: false,
        case_timeout: Duration::from_secs(60),
        schemas: ewsconf::schema::SchemaSet::embedded().expect("the project's schemas compile"),
    }
}

/// Runs `cases`, `jobs` at once, against `target`, uninterrupted and with no progress reported.
pub async fn run_on(
    target: &ewsconf::target::Target,
    cases: &[ewsconf::case::Case],
    jobs: usize,
) -> ewsconf::run::RunSummary {
    ewsconf::run::run(
        target,
        cases,
        &run_options(jobs),
        &ewsconf::run::Interrupt::default(),
        |_| {},
    )
    .await
    .expect("runs")
}

/// Runs `cases`, `jobs` at once, against an embedded mock started with `config`.
pub async fn run_embedded(
    config: MockConfig,
    cases: &[ewsconf::case::Case],
    jobs: usize,
) -> ewsconf::run::RunSummary {
    let target = ewsconf::target::Target::embedded(config)
        .await
        .expect("mock starts");
    let summary = run_on(&target, cases, jobs).await;
    target.shutdown().await;
    summary
}

/// The whole suite, 4 cases at once, against an embedded mock started with `config`.
pub async fn run_suite(config: MockConfig) -> ewsconf::run::RunSummary {
    run_embedded(config, &suite(), 4).await
}

/// The `Content-Type` an HTTP answer names, when it names one that reads as text.
pub fn content_type(response: &reqwest::Response) -> Option<&str> {
    response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
}

/// A mock with the intended profile and these deliberate defects.
pub fn broken(defects: Defects) -> MockConfig {
    MockConfig {
        defects,
        ..MockConfig::with_profile(Profile::Intended)
    }
}

/// The password of every account in the mock's default directory.
pub const PASSWORD: &str = "secret";
/// The principal in the mock's default directory.
pub const BOSS: &str = "boss@example.com";
/// The principal's delegate, who may send on the boss's behalf.
pub const HELPER: &str = "helper@example.com";
/// A recipient.
pub const CAROL: &str = "carol@example.com";
/// An account with no rights on anyone else's mailbox.
pub const MALLORY: &str = "mallory@example.com";

/// One response message's class and code.
pub type Outcome = (ResponseClass, Option<ResponseCode>);

/// `Success` with `NoError`.
pub const OK: Outcome = (ResponseClass::Success, Some(ResponseCode::NoError));

/// `Error` with `code`.
pub fn err(code: ResponseCode) -> Outcome {
    (ResponseClass::Error, Some(code))
}

/// A running mock and the project's client for it.
pub struct Mock {
    /// The mock.
    pub server: MockServer,
    /// A client for the mock's URL.
    pub client: Client,
}

impl Mock {
    /// A mock with `profile` and its default directory.
    pub async fn start(profile: Profile) -> Self {
        Self::with(MockConfig::with_profile(profile)).await
    }

    /// A mock started with `config`.
    pub async fn with(config: MockConfig) -> Self {
        let server = MockServer::start(config).await.expect("mock starts");
        let client = Client::new(server.url(), &ClientOptions::default()).expect("client");
        Self { server, client }
    }

    /// The account of `address` in the mock's default directory.
    pub fn account(address: &str) -> Account {
        Account::basic(address, PASSWORD)
    }

    /// A draft with a body and these recipients, saved by `as_user` in `owner`'s Drafts.
    pub async fn draft(&self, owner: &str, as_user: &str, subject: &str, to: &[&str]) -> ItemId {
        let item = to
            .iter()
            .fold(Item::message(subject).with_body("body"), |item, r| {
                item.to(*r)
            });
        self.create(owner, as_user, item).await
    }

    /// Saves `item` in `owner`'s Drafts as `as_user`.
    pub async fn create(&self, owner: &str, as_user: &str, item: Item) -> ItemId {
        self.client
            .create_in(
                &Self::account(as_user),
                folder_of(owner, DistinguishedFolderName::Drafts),
                item,
            )
            .await
            .expect("draft created")
    }

    /// The items in `owner`'s `folder` whose subject contains `marker`, read as `owner`.
    pub async fn find(
        &self,
        owner: &str,
        folder: DistinguishedFolderName,
        marker: &str,
    ) -> Vec<Item> {
        self.client
            .find(&Self::account(owner), folder_of(owner, folder), marker)
            .await
            .unwrap_or_else(|e| panic!("FindItem in {owner}'s {folder}: {e}"))
    }

    /// How many items [`Mock::find`] finds.
    pub async fn count(&self, owner: &str, folder: DistinguishedFolderName, marker: &str) -> usize {
        self.find(owner, folder, marker).await.len()
    }

    /// [`Mock::count`] polled every 100 ms until it is `want`, for 5 s at the most: the last
    /// count.
    pub async fn count_within(
        &self,
        owner: &str,
        folder: DistinguishedFolderName,
        marker: &str,
        want: usize,
    ) -> usize {
        let mut seen = 0;
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            seen = self.count(owner, folder, marker).await;
            if seen == want {
                break;
            }
        }
        seen
    }

    /// POSTs `request` (a whole envelope) as `user`, holding it and the answer against the
    /// project's schemas: the status, the parsed answer and its text.
    pub async fn post_valid(
        &self,
        user: &str,
        request: &str,
    ) -> (u16, ewsconf::ews::ResponseEnvelope, String) {
        let schemas = SchemaSet::embedded().expect("the project's schemas compile");
        let valid = schemas.validate(request.as_bytes());
        assert!(valid.errors.is_empty(), "{:?}\n{request}", valid.errors);
        let auth = Auth::basic(user, PASSWORD);
        let content_type = "text/xml; charset=utf-8";
        let (status, answer) = self
            .post(&auth, request.as_bytes().to_vec(), content_type, None)
            .await;
        let text = String::from_utf8_lossy(&answer).into_owned();
        let valid = schemas.validate(&answer);
        assert!(valid.errors.is_empty(), "{:?}\n{text}", valid.errors);
        let parsed = ewsconf::ews::ResponseEnvelope::parse(&answer)
            .unwrap_or_else(|e| panic!("{e}: {text}"));
        (status, parsed, text)
    }

    /// `from` sends a message with `subject` to `to`, its copy kept.
    pub async fn deliver(&self, from: &str, to: &str, subject: &str) {
        let draft = self.draft(from, from, subject, &[to]).await;
        let outcome = self
            .send(from, SendItem::new([draft]).save_item_to_folder(true))
            .await;
        assert_eq!(outcome, vec![OK], "{from} sending {subject:?}");
    }

    /// The one item in `owner`'s `folder` whose subject contains `marker`, waited for as
    /// [`Mock::count_within`] waits, with its properties.
    pub async fn arrived(
        &self,
        owner: &str,
        folder: DistinguishedFolderName,
        marker: &str,
    ) -> Item {
        let n = self.count_within(owner, folder, marker, 1).await;
        assert_eq!(n, 1, "{marker:?} in {owner}'s {folder}");
        let found = self.find(owner, folder, marker).await.remove(0);
        self.get(owner, found.item_id.expect("an ItemId")).await
    }

    /// The item with this id, with its properties, read as `owner`.
    pub async fn get(&self, owner: &str, id: ItemId) -> Item {
        self.client
            .get(&Self::account(owner), id)
            .await
            .expect("GetItem")
    }

    /// Sends `send` as `as_user` and returns each response message's outcome.
    pub async fn send(&self, as_user: &str, send: SendItem) -> Vec<Outcome> {
        self.client
            .send_item(&Self::account(as_user), send)
            .await
            .expect("SendItem answers")
            .into_iter()
            .map(|m| (m.response_class, m.response_code))
            .collect()
    }

    /// POSTs `body` with this content type and SOAPAction, and returns the status and the raw
    /// response body.
    pub async fn post(
        &self,
        auth: &Auth,
        body: Vec<u8>,
        content_type: &str,
        soap_action: Option<String>,
    ) -> (u16, Vec<u8>) {
        let post = Post {
            body: body.into(),
            content_type: content_type.into(),
            soap_action,
        };
        let exchange = self.client.post(auth, post).await.expect("an HTTP answer");
        (exchange.status, exchange.body)
    }
}

/// Runs the `ewsconf` binary with `args` in `dir`.
pub fn ewsconf_in(dir: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_ewsconf"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("ewsconf runs")
}

/// A SOAP envelope asking for Exchange2016 around `body` (written with the `m:` and `t:`
/// prefixes), as a client built by hand writes one.
pub fn ews_envelope(body: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\
         <soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\" \
         xmlns:m=\"http://schemas.microsoft.com/exchange/services/2006/messages\" \
         xmlns:t=\"http://schemas.microsoft.com/exchange/services/2006/types\">\
         <soap:Header><t:RequestServerVersion Version=\"Exchange2016\"/></soap:Header>\
         <soap:Body>{body}</soap:Body></soap:Envelope>"
    )
}

/// The request and answer of a case that sends its `draft` as the principal with a copy and
/// expects Success, as TOML to follow a case's `[[setup]]` tables; an `[expect]` line or two may
/// follow it.
pub const SEND_DRAFT: &str = r#"[request]
as = "principal"
save_item_to_folder = true
item_ids = ["draft"]
[expect]
messages = [{ class = "Success", code = "NoError" }]
"#;

/// A response envelope for `operation` carrying `message`, as a scripted server answers it.
pub fn response_envelope(operation: &str, message: ewsconf::ews::ResponseMessage) -> String {
    use ewsconf::ews::{OperationResponse, ResponseBody, ResponseEnvelope};
    ResponseEnvelope {
        server_version_info: None,
        body: ResponseBody::Response(OperationResponse::new(operation, vec![message])),
    }
    .to_xml()
}

/// A scripted EWS endpoint on loopback, served until the test's runtime ends. It answers
/// CreateItem, FindItem, GetFolder and DeleteItem as an empty mailbox would (`text/xml`), and
/// SendItem with whatever `send` makes. Returns the endpoint's URL.
pub async fn scripted_endpoint<F>(send: F) -> String
where
    F: Fn() -> axum::response::Response + Clone + Send + Sync + 'static,
{
    use axum::http::header::CONTENT_TYPE;
    use axum::response::IntoResponse;

    let answers: std::sync::Arc<Vec<(String, String)>> = std::sync::Arc::new(
        empty_mailbox_answers()
            .into_iter()
            .map(|(operation, envelope)| (format!("<m:{operation}"), envelope))
            .collect(),
    );
    let handler = move |body: axum::body::Bytes| {
        let (answers, send) = (answers.clone(), send.clone());
        async move {
            let text = String::from_utf8_lossy(&body);
            if text.contains("<m:SendItem") {
                return send();
            }
            match answers.iter().find(|(tag, _)| text.contains(tag.as_str())) {
                Some((_, envelope)) => (
                    [(CONTENT_TYPE, "text/xml; charset=utf-8")],
                    envelope.clone(),
                )
                    .into_response(),
                None => axum::http::StatusCode::BAD_REQUEST.into_response(),
            }
        }
    };
    serve_on_loopback(axum::Router::new().route("/EWS/Exchange.asmx", axum::routing::post(handler)))
        .await
}

/// A target at `url` where the mock's default principal (`boss@example.com`) plays the
/// principal, giving up on a call after `timeout`.
pub fn principal_target(url: &str, timeout: Duration) -> ewsconf::target::Target {
    ewsconf::target::Target::at(
        url,
        &ClientOptions {
            timeout,
            ..ClientOptions::default()
        },
    )
    .expect("a valid URL")
    .with_account(
        ewsconf::case::Role::Principal,
        Account::basic(BOSS, PASSWORD),
    )
}

/// The suite's `reference/invalid-id` case: no setup, no state, and one expected answer
/// (ErrorInvalidIdMalformed), so that only its answer decides its verdict.
pub fn invalid_id_case() -> ewsconf::case::Case {
    suite()
        .into_iter()
        .find(|c| c.id == "reference/invalid-id")
        .expect("the suite has reference/invalid-id")
}

/// Subprocesses with a deadline, and registry installs cached under the target dir.
pub mod installs;

/// A Python front in front of an EWS endpoint, run as a child process.
pub mod front;

/// The pyspnego NTLM front, and the NTLM accounts it holds.
pub mod ntlm_front;

/// The accounts of a target file for the mock's default directory (principal, delegate and
/// recipient), each with its password in `$PW`: TOML tables to follow a target file's top-level
/// keys.
pub const ACCOUNTS_TOML: &str = "\
     [accounts.principal]\naddress = \"boss@example.com\"\npassword_env = \"PW\"\n\
     [accounts.delegate]\naddress = \"helper@example.com\"\npassword_env = \"PW\"\n\
     [accounts.recipient]\naddress = \"carol@example.com\"\npassword_env = \"PW\"\n";

/// A target file for the mock's default accounts at `url` ([`ACCOUNTS_TOML`]), written as
/// `target.toml` in `dir`; returns its path.
pub fn write_target_file(dir: &Path, url: &str) -> PathBuf {
    let path = dir.join("target.toml");
    std::fs::write(&path, format!("url = \"{url}\"\n{ACCOUNTS_TOML}")).expect("target file");
    path
}

/// The mock with the documented profile and its default directory, started.
pub async fn documented_mock() -> MockServer {
    MockServer::start(MockConfig::with_profile(Profile::Documented))
        .await
        .expect("the mock starts")
}

/// A listener on a loopback port, and the EWS URL on it.
pub async fn loopback_listener() -> (tokio::net::TcpListener, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds a loopback port");
    let url = format!(
        "http://{}/EWS/Exchange.asmx",
        listener.local_addr().expect("bound")
    );
    (listener, url)
}

/// Serves `app` on a loopback port until the test's runtime ends; returns its EWS URL.
pub async fn serve_on_loopback(app: axum::Router) -> String {
    let (listener, url) = loopback_listener().await;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    url
}

/// POSTs `body` with `headers` (all but `Host` and `Content-Length`) to `upstream`, as a proxy
/// passes a request on.
pub async fn pass_on(
    http: &reqwest::Client,
    upstream: &str,
    headers: &axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> reqwest::Result<reqwest::Response> {
    use axum::http::header;
    let mut request = http.post(upstream).body(body);
    for (name, value) in headers {
        if name != header::HOST && name != header::CONTENT_LENGTH {
            request = request.header(name.as_str(), value.as_bytes());
        }
    }
    request.send().await
}

/// An upstream's `answer` as a proxy sends it back: its status, `Content-Type`,
/// `WWW-Authenticate` and body; `502 Bad Gateway` when there was none.
pub async fn relay(answer: reqwest::Result<reqwest::Response>) -> axum::response::Response {
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse;
    let answer = match answer {
        Ok(answer) => answer,
        Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    };
    let status = StatusCode::from_u16(answer.status().as_u16()).unwrap_or(StatusCode::OK);
    let kept: Vec<_> = [header::CONTENT_TYPE, header::WWW_AUTHENTICATE]
        .into_iter()
        .filter_map(|name| {
            let value = answer.headers().get(name.as_str())?.as_bytes().try_into();
            Some((name, value.ok()?))
        })
        .collect();
    let bytes = answer.bytes().await.unwrap_or_default();
    let mut response = (status, bytes).into_response();
    for (name, value) in kept {
        response.headers_mut().insert(name, value);
    }
    response
}

/// What an empty mailbox answers to the calls a case makes around its SendItem, as (operation,
/// response envelope): CreateItem with the id of the draft made, FindItem with nothing found,
/// GetFolder with a folder id, and DeleteItem with success.
pub fn empty_mailbox_answers() -> Vec<(&'static str, String)> {
    use ewsconf::ews::{Folder, FolderId, ItemKind, ResponseMessage, RootFolder};

    let mut created = ResponseMessage::success();
    created.items = vec![Item {
        item_id: Some(ItemId::new("AAMkAGNyZWF0ZWQ=").with_change_key("CQAAABYA")),
        ..Item::new(ItemKind::Message)
    }];
    let mut found = ResponseMessage::success();
    found.root_folder = Some(RootFolder {
        indexed_paging_offset: None,
        total_items_in_view: Some(0),
        includes_last_item_in_range: Some(true),
        items: Vec::new(),
    });
    let mut folder = ResponseMessage::success();
    folder.folders = vec![Folder {
        folder_id: Some(FolderId::new("AQMkAGZvbGRlcg==")),
        ..Folder::default()
    }];
    [
        ("CreateItem", created),
        ("FindItem", found),
        ("GetFolder", folder),
        ("DeleteItem", ResponseMessage::success()),
    ]
    .into_iter()
    .map(|(operation, message)| (operation, response_envelope(operation, message)))
    .collect()
}

/// The one run folder `ewsconf run` made in `reports`.
pub fn run_dir(reports: &Path) -> PathBuf {
    let dirs: Vec<PathBuf> = std::fs::read_dir(reports)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs.into_iter().next().unwrap()
}
