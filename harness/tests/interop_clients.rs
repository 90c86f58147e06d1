//! Interop: two EWS client libraries written elsewhere drive the mock (documented profile) as a
//! delegate, and each must see the outcome the SendItem reference documents for the request it
//! really sent. A recording proxy in front of the mock shows which SendItem that was.
//!
//! Python `exchangelib` goes into a venv and npm `ews-javascript-api` into a node_modules folder,
//! both cached under the cargo target dir. Where a registry cannot be reached or `python3`,
//! `node` or `npm` is missing, a test prints a notice and passes; with `CI` set it fails instead.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use common::{BOSS, CAROL, HELPER, Mock, OK, Outcome, PASSWORD, installs};
use ewsconf::ews::{
    DistinguishedFolderName as Folder, Item, Request, RequestEnvelope, ResponseEnvelope, SendItem,
    TargetFolderId,
};
use ewsconf::mock::Profile;

// Pinned, so that what the comments below say a client sends stays true.
const EXCHANGELIB: &str = "exchangelib==5.6.0";
const EWS_JS: &str = "ews-javascript-api@0.15.3";

const CLIENT_TIMEOUT: Duration = Duration::from_secs(120);

const INSTALL_HINT: &str = "install Python 3 with venv and pip (Debian: apt-get install python3 \
     python3-venv python3-pip) and Node.js with npm (Debian: apt-get install nodejs npm)";

// ---------------------------------------------------------------------------------------------
// Installs, cached under the target dir

/// What a test that cannot run calls itself in its notice.
const TEST: &str = "interop test";

/// The venv's python with exchangelib in it.
fn exchangelib_python() -> Option<PathBuf> {
    installs::venv_python(TEST, "exchangelib-venv", EXCHANGELIB, INSTALL_HINT)
}

/// The node_modules folder with ews-javascript-api in it.
fn ews_js_modules() -> Option<PathBuf> {
    for tool in ["node", "npm"] {
        if !installs::works(Command::new(tool).arg("--version")) {
            installs::unavailable(TEST, &format!("{tool} is missing: {INSTALL_HINT}"));
            return None;
        }
    }
    let prefix = installs::cache_dir().join("ews-javascript-api");
    installs::cached_install(TEST, &prefix, EWS_JS, |dir| {
        installs::run(
            Command::new("npm")
                .args(["install", "--no-audit", "--no-fund"])
                // Fewer and shorter retries than npm's default, so an unreachable registry
                // is reported in seconds rather than minutes.
                .args(["--fetch-retries", "2", "--fetch-retry-mintimeout", "2000"])
                .args(["--fetch-retry-maxtimeout", "10000", "--prefix"])
                .arg(dir)
                .arg(EWS_JS),
            installs::INSTALL_TIMEOUT,
        )
    })?;
    Some(prefix.join("node_modules"))
}

fn script(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop")).join(name)
}

/// Runs a client script logged in as `user` and returns the JSON object it printed last.
async fn run_client(command: Command, user: &str) -> serde_json::Value {
    installs::run_client(command, user, PASSWORD, CLIENT_TIMEOUT).await
}

// ---------------------------------------------------------------------------------------------
// A recording proxy in front of the mock

type Exchanges = Arc<Mutex<Vec<(Vec<u8>, Vec<u8>)>>>;

struct Recorder {
    url: String,
    exchanges: Exchanges,
    _task: tokio::task::JoinHandle<()>,
}

#[derive(Clone)]
struct Upstream {
    url: String,
    http: reqwest::Client,
    exchanges: Exchanges,
}

impl Recorder {
    /// Listens on loopback and forwards every POST to `upstream`, keeping each request and
    /// response body.
    async fn start(upstream: &str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let exchanges = Exchanges::default();
        let state = Upstream {
            url: upstream.to_owned(),
            http: reqwest::Client::new(),
            exchanges: exchanges.clone(),
        };
        let app = axum::Router::new()
            .fallback(axum::routing::post(forward))
            .with_state(state);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            url: format!("http://{addr}{}", ewsconf::mock::EWS_PATH),
            exchanges,
            _task: task,
        }
    }

    /// Every SendItem that passed through, with the response messages it got.
    fn send_items(&self) -> Vec<(SendItem, Vec<Outcome>)> {
        let exchanges = self.exchanges.lock().unwrap();
        exchanges
            .iter()
            .filter_map(|(request, response)| {
                let Ok(RequestEnvelope {
                    body: Request::SendItem(send),
                    ..
                }) = RequestEnvelope::parse(request)
                else {
                    return None;
                };
                let answer = ResponseEnvelope::parse(response)
                    .unwrap_or_else(|e| panic!("the mock's SendItem answer: {e}"));
                let messages = answer
                    .response()
                    .map(|r| {
                        r.response_messages
                            .iter()
                            .map(|m| (m.response_class, m.response_code))
                            .collect()
                    })
                    .unwrap_or_default();
                Some((send, messages))
            })
            .collect()
    }

    /// The operations the client called, in order, for failure messages.
    fn operations(&self) -> Vec<String> {
        let exchanges = self.exchanges.lock().unwrap();
        exchanges
            .iter()
            .map(|(request, _)| match RequestEnvelope::parse(request) {
                Ok(e) => e.body.name().to_owned(),
                Err(e) => format!("(unparsed: {e})"),
            })
            .collect()
    }
}

async fn forward(State(up): State<Upstream>, headers: HeaderMap, body: Bytes) -> Response {
    let mut request = up.http.post(&up.url).body(body.to_vec());
    for name in [header::AUTHORIZATION, header::CONTENT_TYPE] {
        if let Some(value) = headers.get(&name) {
            request = request.header(name, value);
        }
    }
    if let Some(action) = headers.get("soapaction") {
        request = request.header("SOAPAction", action);
    }
    let Ok(answer) = request.send().await else {
        return (StatusCode::BAD_GATEWAY, "the mock did not answer").into_response();
    };
    let status = StatusCode::from_u16(answer.status().as_u16()).unwrap();
    let mut out = HeaderMap::new();
    for name in [header::CONTENT_TYPE, header::WWW_AUTHENTICATE] {
        if let Some(value) = answer.headers().get(name.as_str()) {
            out.insert(name, value.as_bytes().try_into().unwrap());
        }
    }
    let bytes = answer.bytes().await.unwrap_or_default();
    up.exchanges
        .lock()
        .unwrap()
        .push((body.to_vec(), bytes.to_vec()));
    (status, out, bytes).into_response()
}

// ---------------------------------------------------------------------------------------------
// The mock and what it holds afterwards

struct World {
    mock: Mock,
    proxy: Recorder,
    /// The subject of the message the client sends, unique to this run.
    subject: String,
}

impl World {
    /// A mock with the documented profile behind a recording proxy, for `client` to drive.
    async fn start(client: &str) -> Self {
        let mock = Mock::start(Profile::Documented).await;
        let proxy = Recorder::start(mock.server.url()).await;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let subject = format!("interop-{client}-{nanos:09}");
        Self {
            mock,
            proxy,
            subject,
        }
    }

    /// Subjects of the items in `owner`'s `folder` whose subject contains `marker`, read as
    /// `owner`.
    async fn subjects(&self, owner: &str, folder: Folder, marker: &str) -> Vec<String> {
        let found = self.mock.find(owner, folder, marker).await;
        found
            .into_iter()
            .map(|i| i.subject.unwrap_or_default())
            .collect()
    }

    /// Fails unless the mailboxes show the outcome the SendItem reference documents for the
    /// delegate's send of the draft with the world's subject from boss's Drafts with its copy
    /// asked for as `spec`: delivered to Carol; for the workaround, the copy in boss's Sent
    /// Items and the draft gone; for quirk A, the draft still in boss's Drafts and no copy.
    /// Helper's Sent Items never gets one.
    async fn assert_documented_outcome(&self, spec: CopySpec) {
        let subject = self.subject.as_str();
        let this = [subject];
        assert_eq!(self.subjects(CAROL, Folder::Inbox, subject).await, this);
        let drafts = self.subjects(BOSS, Folder::Drafts, subject).await;
        let boss_sent = self.subjects(BOSS, Folder::SentItems, subject).await;
        let helper_sent = self.subjects(HELPER, Folder::SentItems, subject).await;
        match spec {
            CopySpec::SentItemsOf(owner) => {
                assert_eq!(owner, BOSS, "the copy was asked for in another mailbox");
                assert_eq!(boss_sent, this, "the copy is in boss's Sent Items");
                assert!(drafts.is_empty(), "the draft left boss's Drafts");
            }
            CopySpec::SentItemsNoMailbox => {
                assert_eq!(drafts, this, "quirk A: the draft stays in boss's Drafts");
                assert!(
                    boss_sent.is_empty(),
                    "quirk A: no copy in boss's Sent Items"
                );
            }
        }
        assert!(helper_sent.is_empty(), "no copy in helper's Sent Items");
    }

    /// The one SendItem the client sent, which must have succeeded.
    fn the_send_item(&self) -> SendItem {
        let mut sends = self.proxy.send_items();
        assert_eq!(
            sends.len(),
            1,
            "expected one SendItem; the client called {:?}",
            self.proxy.operations()
        );
        let (send, messages) = sends.remove(0);
        assert_eq!(messages, vec![OK], "SendItem's answer");
        send
    }
}

/// Where a SendItem asks for its copy.
#[derive(Debug, PartialEq, Eq)]
enum CopySpec {
    /// `DistinguishedFolderId Id="sentitems"` naming this mailbox: the documented workaround.
    SentItemsOf(String),
    /// `DistinguishedFolderId Id="sentitems"` with no `Mailbox`: quirk A for a delegate.
    SentItemsNoMailbox,
}

fn copy_spec(send: &SendItem) -> CopySpec {
    assert!(send.save_item_to_folder, "SaveItemToFolder must be true");
    match &send.saved_item_folder_id {
        Some(TargetFolderId::DistinguishedFolderId(d)) if d.id == Folder::SentItems => {
            match d.mailbox.as_ref().and_then(|m| m.email_address.clone()) {
                Some(address) => CopySpec::SentItemsOf(address.to_ascii_lowercase()),
                None => CopySpec::SentItemsNoMailbox,
            }
        }
        other => panic!("unexpected SavedItemFolderId {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// The tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exchangelib_delegate_send_sees_the_documented_outcome() {
    let Some(python) = exchangelib_python() else {
        return;
    };
    let world = World::start("exchangelib").await;

    let mut command = Command::new(python);
    command.arg(script("exchangelib_delegate_send.py")).args([
        &world.proxy.url,
        BOSS,
        CAROL,
        &world.subject,
    ]);
    let result = run_client(command, HELPER).await;
    assert_eq!(result["sent"], true, "{result}");

    // Observed with exchangelib 5.6.0: `Message.send(save_copy=True)` on a saved draft sends
    // SendItem SaveItemToFolder="true" with `DistinguishedFolderId Id="sentitems"` naming the
    // principal's Mailbox (account.sent resolves in the account's own mailbox), which is the
    // documented workaround, so quirk A does not arise. Both shapes are judged below in case a
    // later exchangelib spells it otherwise.
    let spec = copy_spec(&world.the_send_item());
    eprintln!("exchangelib's SendItem asked for the copy in: {spec:?}");

    world.assert_documented_outcome(spec).await;
    world.mock.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ews_javascript_api_send_and_save_copy_hits_quirk_a() {
    let Some(modules) = ews_js_modules() else {
        return;
    };
    let world = World::start("ews-js").await;
    let subject = &world.subject;
    let item = Item::message(subject)
        .with_body("sent by ews-javascript-api as a delegate")
        .to(CAROL);
    let draft = world.mock.create(BOSS, HELPER, item).await;

    let mut command = Command::new("node");
    command
        .arg(script("ews_js_send_and_save_copy.js"))
        .args([&world.proxy.url, &draft.id])
        .env("NODE_PATH", &modules);
    let result = run_client(command, HELPER).await;
    assert_eq!(result["sent"], true, "{result}");
    assert_eq!(result["subject"], subject.as_str(), "Bind read the draft");

    // SendAndSaveCopy() with no folder sends SavedItemFolderId = sentitems with no Mailbox.
    let spec = copy_spec(&world.the_send_item());
    assert_eq!(spec, CopySpec::SentItemsNoMailbox);

    // Quirk A, as documented: delivered, answered Success (checked above), no copy anywhere,
    // and the draft still in boss's Drafts.
    world.assert_documented_outcome(spec).await;
    world.mock.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exchangelib_outgoing_flows_land_where_they_should() {
    let Some(python) = exchangelib_python() else {
        return;
    };
    let world = World::start("exchangelib-flows").await;
    // The message replied to and forwarded: Carol's, in boss's Inbox.
    let original_subject = format!("{}-original", world.subject);
    world.mock.deliver(CAROL, BOSS, &original_subject).await;
    let original = world
        .mock
        .arrived(BOSS, Folder::Inbox, &original_subject)
        .await;

    let mut command = Command::new(python);
    command.arg(script("exchangelib_flows.py")).args([
        &world.proxy.url,
        BOSS,
        CAROL,
        HELPER,
        &world.subject,
    ]);
    let seen = run_client(command, BOSS).await;

    // Properties the mock keeps without modelling them came back as saved.
    let save = &seen["save"];
    assert_eq!(save["sensitivity"], "Private", "{seen}");
    assert_eq!(save["importance"], "High", "{seen}");
    assert_eq!(save["categories"], serde_json::json!(["ewsconf"]), "{seen}");

    // No request a real client sent was blamed on the schema.
    for (request, response) in world.proxy.exchanges.lock().unwrap().iter() {
        let response = String::from_utf8_lossy(response);
        assert!(
            !response.contains("ErrorSchemaValidation"),
            "{}\n-> {response}",
            String::from_utf8_lossy(request)
        );
    }
    let ops = world.proxy.operations();
    assert!(ops.iter().any(|o| o == "UpdateItem"), "{ops:?}");

    let subject = |flow: &str| format!("{}-{flow}", world.subject);
    let count = |owner: &'static str, folder: Folder, flow: &str, want: usize| {
        let marker = subject(flow);
        let mock = &world.mock;
        async move { mock.count_within(owner, folder, &marker, want).await }
    };
    assert_eq!(count(BOSS, Folder::Drafts, "save", 1).await, 1);
    // (flow, a copy kept in Sent Items)
    for (flow, copy) in [
        // No flow's name holds another's after the marker's dash: subjects are found by
        // substring.
        ("sendonly", false),
        ("sendsave", true),
        ("draftsendsave", true),
        ("draftsend-nocopy", false),
    ] {
        assert_eq!(
            count(CAROL, Folder::Inbox, flow, 1).await,
            1,
            "{flow}: delivered"
        );
        let sent = usize::from(copy);
        assert_eq!(
            count(BOSS, Folder::SentItems, flow, sent).await,
            sent,
            "{flow}: copy"
        );
        assert_eq!(
            count(BOSS, Folder::Drafts, flow, 0).await,
            0,
            "{flow}: no draft left"
        );
    }

    // The saved reply: addressed to the original's author, the new text above the quote.
    let reply = &seen["reply"];
    assert_eq!(reply["to"], serde_json::json!([CAROL]), "{seen}");
    let body = reply["body"].as_str().unwrap_or_default();
    let (new, quoted) = (body.find("my answer"), body.rfind("body"));
    assert!(new.is_some() && new < quoted, "{body}");

    // Sent, the reply and the forward name the original in their References.
    let message_id = original.internet_message_id.clone().expect("a Message-ID");
    for (owner, flow) in [(CAROL, "reply"), (HELPER, "forward")] {
        let marker = subject(flow);
        let copy = world.mock.arrived(owner, Folder::Inbox, &marker).await;
        assert!(
            copy.references
                .as_deref()
                .unwrap_or_default()
                .contains(&message_id),
            "{flow}: {:?}",
            copy.references
        );
        assert_eq!(
            count(BOSS, Folder::SentItems, flow, 1).await,
            1,
            "{flow}: copy"
        );
    }
    let ops = world.proxy.operations();
    assert!(
        ops.iter().filter(|o| *o == "CreateItem").count() >= 2,
        "{ops:?}"
    );
    world.mock.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ews_javascript_api_saves_a_reply_as_a_draft_and_sends_it() {
    let Some(modules) = ews_js_modules() else {
        return;
    };
    let world = World::start("ews-js-reply").await;
    let subject = world.subject.clone();
    world.mock.deliver(CAROL, BOSS, &subject).await;
    let original = world.mock.arrived(BOSS, Folder::Inbox, &subject).await;

    let mut command = Command::new("node");
    command
        .arg(script("ews_js_reply.js"))
        .args([&world.proxy.url, &original.item_id.clone().unwrap().id])
        .env("NODE_PATH", &modules);
    let result = run_client(command, BOSS).await;
    assert_eq!(result["sent"], true, "{result}");
    let ops = world.proxy.operations();
    assert!(
        ops.iter().any(|o| o == "CreateItem") && ops.iter().any(|o| o == "SendItem"),
        "{ops:?}"
    );

    // Carol gets the reply: the mock's prefix, the new text, and the original's Message-ID.
    let reply_subject = format!("RE: {subject}");
    let reply = world
        .mock
        .arrived(CAROL, Folder::Inbox, &reply_subject)
        .await;
    assert_eq!(reply.in_reply_to, original.internet_message_id);
    let body = reply.body.unwrap().content;
    assert!(body.starts_with("answer from ews-javascript-api"), "{body}");
    // Send() keeps no copy, and the draft is gone.
    assert_eq!(
        world
            .mock
            .count(BOSS, Folder::SentItems, &reply_subject)
            .await,
        0
    );
    assert_eq!(
        world.mock.count(BOSS, Folder::Drafts, &reply_subject).await,
        0
    );
    world.mock.server.shutdown().await;
}
