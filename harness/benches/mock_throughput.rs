//! Throughput and memory of the reference mock.
//!
//! - SendItem of fresh drafts over loopback with keep-alive, from 32 concurrent tasks sharing one
//!   `ewsconf::target::Client`, against the stateful mock and against a `wiremock` server that
//!   answers every POST with the mock's own SendItem success bytes. The drafts are created
//!   before the timed part; each figure is the median of 5 runs, mock and wiremock runs
//!   interleaved.
//! - Peak RSS (`VmHWM`) of a fresh process of this binary before and after 100,000 drafts are
//!   created in the mock's store over HTTP. That process also runs the client, so its figure
//!   includes the client's share.
//!
//! Run with `cargo bench --bench mock_throughput`.

use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ewsconf::ews::{DistinguishedFolderName, Item, ItemId, ResponseClass, SendItem};
use ewsconf::mock::{MockConfig, MockServer, Profile};
use ewsconf::target::calls::{Account, folder_of};
use ewsconf::target::{Client, ClientOptions, Post};

const RUNS: usize = 5;
/// SendItem requests per timed run, each for its own fresh draft.
const SENDS_PER_RUN: usize = 5_000;
/// Client tasks sending at once.
const CONCURRENCY: usize = 32;
/// Drafts held by the store in the memory measurement.
const MEMORY_ITEMS: usize = 100_000;
/// The argument that makes this binary run only the memory measurement.
const MEMORY_CHILD: &str = "--memory-child";

const BOSS: &str = "boss@example.com";
const CAROL: &str = "carol@example.com";

fn boss() -> Account {
    Account::basic(BOSS, "secret")
}

fn client(url: &str) -> Client {
    Client::new(url, &ClientOptions::default()).expect("a client for a loopback URL")
}

/// Creates `n` drafts in the boss's Drafts from `CONCURRENCY` tasks; returns their ids in order
/// of creation per task.
async fn create_drafts(client: &Client, n: usize, tag: &str) -> Vec<ItemId> {
    let next = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let client = client.clone();
            let next = next.clone();
            let tag = tag.to_owned();
            tokio::spawn(async move {
                let mut ids = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        return ids;
                    }
                    let item = Item::message(format!("bench {tag} draft {i:06}"))
                        .with_body("A short body, as a harness draft carries.")
                        .to(CAROL);
                    let id = client
                        .create_in(
                            &boss(),
                            folder_of(BOSS, DistinguishedFolderName::Drafts),
                            item,
                        )
                        .await
                        .expect("CreateItem succeeds");
                    ids.push(id);
                }
            })
        })
        .collect();
    let mut ids = Vec::with_capacity(n);
    for t in tasks {
        ids.extend(t.await.expect("creator task"));
    }
    ids
}

/// Sends one SendItem per id from `CONCURRENCY` tasks sharing `client`; returns requests per
/// second and how many answers were not a single Success.
async fn send_all(client: &Client, ids: Arc<Vec<ItemId>>) -> (f64, usize) {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let client = client.clone();
            let ids = ids.clone();
            let next = next.clone();
            tokio::spawn(async move {
                let mut failures = 0;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(id) = ids.get(i) else {
                        return failures;
                    };
                    let ok = client
                        .send_item(&boss(), SendItem::new([id.clone()]))
                        .await
                        .is_ok_and(|m| {
                            m.len() == 1 && m[0].response_class == ResponseClass::Success
                        });
                    failures += usize::from(!ok);
                }
            })
        })
        .collect();
    let mut failures = 0;
    for t in tasks {
        failures += t.await.expect("sender task");
    }
    let secs = started.elapsed().as_secs_f64();
    (ids.len() as f64 / secs, failures)
}

/// The bytes the mock answers a successful one-item SendItem with.
async fn canned_success(mock_client: &Client) -> Vec<u8> {
    let id = create_drafts(mock_client, 1, "canned").await.remove(0);
    let envelope = ewsconf::ews::RequestEnvelope::new(SendItem::new([id]));
    let exchange = mock_client
        .post(&boss().auth, Post::soap(&envelope))
        .await
        .expect("the mock answers");
    assert_eq!(exchange.status, 200);
    exchange.body
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// `VmHWM` and `VmRSS` of this process, in KiB.
fn memory_kib() -> Option<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    };
    Some((field("VmHWM:")?, field("VmRSS:")?))
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// The memory measurement, in a process of its own so the throughput runs do not raise its peak.
fn memory_child() -> ExitCode {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    runtime.block_on(async {
        let mock = MockServer::start(MockConfig::with_profile(Profile::Intended))
            .await
            .expect("mock starts");
        let client = client(mock.url());
        // One request first, so the client, the pool and the schemas are all warm.
        create_drafts(&client, 1, "warm").await;
        let Some((hwm_before, _)) = memory_kib() else {
            eprintln!("/proc/self/status has no VmHWM");
            return ExitCode::FAILURE;
        };
        let started = Instant::now();
        create_drafts(&client, MEMORY_ITEMS, "mem").await;
        let filled_in = started.elapsed();
        let held = mock.store().lock().len();
        let Some((hwm_after, rss_after)) = memory_kib() else {
            return ExitCode::FAILURE;
        };
        println!(
            "{held} {hwm_before} {hwm_after} {rss_after} {}",
            filled_in.as_millis()
        );
        mock.shutdown().await;
        ExitCode::SUCCESS
    })
}

/// Runs [`memory_child`] in a fresh process of this binary and reads its figures.
fn memory() -> Result<(usize, u64, u64, u64, Duration), String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this binary: {e}"))?;
    let output = Command::new(exe)
        .arg(MEMORY_CHILD)
        .output()
        .map_err(|e| format!("cannot run the memory measurement: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "the memory measurement failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let fields: Vec<u64> = text
        .split_whitespace()
        .filter_map(|f| f.parse().ok())
        .collect();
    match fields[..] {
        [held, before, after, rss, millis] => Ok((
            held as usize,
            before,
            after,
            rss,
            Duration::from_millis(millis),
        )),
        _ => Err(format!(
            "unexpected output from the memory measurement: {text}"
        )),
    }
}

fn main() -> ExitCode {
    if std::env::args().any(|a| a == MEMORY_CHILD) {
        return memory_child();
    }
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let workers = runtime.metrics().num_workers();
    let (mock_rates, wiremock_rates, failures) = runtime.block_on(async {
        let mock = MockServer::start(MockConfig::with_profile(Profile::Intended))
            .await
            .expect("mock starts");
        let mock_client = client(mock.url());
        let canned = canned_success(&mock_client).await;
        let wire = wiremock::MockServer::builder()
            .disable_request_recording()
            .start()
            .await;
        wiremock::Mock::given(wiremock::matchers::method("POST"))
            .and(wiremock::matchers::path(ewsconf::mock::EWS_PATH))
            .respond_with(
                wiremock::ResponseTemplate::new(200)
                    .set_body_raw(canned.clone(), "text/xml; charset=utf-8"),
            )
            .mount(&wire)
            .await;
        let wire_client = client(&format!("{}{}", wire.uri(), ewsconf::mock::EWS_PATH));

        // Warm both servers and both connection pools.
        let warm = Arc::new(create_drafts(&mock_client, 2 * CONCURRENCY, "warm").await);
        send_all(&mock_client, warm.clone()).await;
        send_all(&wire_client, warm).await;

        let (mut mock_rates, mut wiremock_rates, mut failures) = (Vec::new(), Vec::new(), 0);
        for run in 0..RUNS {
            let drafts =
                Arc::new(create_drafts(&mock_client, SENDS_PER_RUN, &run.to_string()).await);
            let (rate, failed) = send_all(&mock_client, drafts.clone()).await;
            mock_rates.push(rate);
            failures += failed;
            // The same request bodies; wiremock answers them all alike.
            let (rate, failed) = send_all(&wire_client, drafts).await;
            wiremock_rates.push(rate);
            failures += failed;
        }
        mock.shutdown().await;
        (mock_rates, wiremock_rates, failures)
    });
    if failures > 0 {
        eprintln!("{failures} SendItem requests did not come back as a single Success");
        return ExitCode::FAILURE;
    }
    let memory = memory();

    let mock_rate = median(mock_rates.clone());
    let wire_rate = median(wiremock_rates.clone());
    let runs = |rates: &[f64]| {
        rates
            .iter()
            .map(|r| format!("{r:.0}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    println!();
    println!("$ cargo bench --bench mock_throughput");
    println!(
        "SendItem, one fresh draft per request, {SENDS_PER_RUN} requests per run, \
         {CONCURRENCY} client tasks, one keep-alive client, tokio workers: {workers}"
    );
    println!();
    println!("| server | requests/s (median of {RUNS}) | runs |");
    println!("|---|---:|---|");
    println!(
        "| ewsconf mock (stateful) | {mock_rate:.0} | {} |",
        runs(&mock_rates)
    );
    println!(
        "| wiremock 0.6 (canned body, recording off) | {wire_rate:.0} | {} |",
        runs(&wiremock_rates)
    );
    println!("| ratio mock / wiremock | {:.2} | |", mock_rate / wire_rate);
    println!();
    match memory {
        Ok((held, before, after, rss, took)) => {
            println!(
                "Memory, fresh process (mock and client together): {held} items in the store, \
                 created over HTTP in {:.1} s",
                took.as_secs_f64()
            );
            println!();
            println!("| peak RSS (VmHWM) | MiB |");
            println!("|---|---:|");
            println!("| before (mock started, warm) | {:.1} |", mib(before));
            println!("| after {MEMORY_ITEMS} drafts | {:.1} |", mib(after));
            println!(
                "| delta | {:.1} ({:.0} bytes per item) |",
                mib(after.saturating_sub(before)),
                (after.saturating_sub(before) * 1024) as f64 / held.max(1) as f64
            );
            println!("| current RSS (VmRSS) after | {:.1} |", mib(rss));
        }
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
