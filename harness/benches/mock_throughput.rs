//! Throughput and memory of the reference mock.
//!
//! - SendItem of fresh drafts over loopback with keep-alive, from 32 concurrent tasks sharing one
//!   `ewsconf::target::Client`, against the stateful mock (on the client's runtime, its default;
//!   on one thread of its own, as wiremock runs; and on a thread per core, as `ewsconf mock`
//!   runs) and against `wiremock` servers that answer every POST with the mock's own SendItem
//!   success bytes (as `MockServer::start()` starts one, recording every request, and with
//!   recording off). The drafts are created before the timed part. Each of 11 rounds runs
//!   every server once, back to back, starting with a different one each round; each figure
//!   is the median over the rounds, and the ratio is also given round by round. Each
//!   server's own threads' CPU time is read from `/proc`.
//! - Peak RSS (`VmHWM`) of a fresh process of this binary before and after 100,000 drafts are
//!   created in the mock's store over HTTP. That process also runs the client, so its figure
//!   includes the client's share.
//!
//! - Where the mock's time goes: each stage of its work on one SendItem, timed without HTTP.
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

const RUNS: usize = 11;
/// SendItem requests per timed run, each for its own fresh draft.
const SENDS_PER_RUN: usize = 5_000;
/// Client tasks sending at once.
const CONCURRENCY: usize = 32;
/// Drafts held by the store in the memory measurement.
const MEMORY_ITEMS: usize = 100_000;
/// Calls per stage in the per-stage breakdown.
const STAGE_CALLS: usize = 20_000;
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

/// Runs `job(i)` for every `i` below `n` from `CONCURRENCY` tasks, each taking the next `i` as
/// it finishes one; returns what the jobs gave, task by task, in the order each task ran them.
async fn spread<T, Fut>(n: usize, job: impl Fn(usize) -> Fut + Send + Sync + 'static) -> Vec<T>
where
    T: Send + 'static,
    Fut: Future<Output = T> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let job = Arc::new(job);
    let tasks: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let (next, job) = (next.clone(), job.clone());
            tokio::spawn(async move {
                let mut done = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        return done;
                    }
                    done.push(job(i).await);
                }
            })
        })
        .collect();
    let mut done = Vec::with_capacity(n);
    for t in tasks {
        done.extend(t.await.expect("bench task"));
    }
    done
}

/// Creates `n` drafts in the boss's Drafts from `CONCURRENCY` tasks; returns their ids in order
/// of creation per task.
async fn create_drafts(client: &Client, n: usize, tag: &str) -> Vec<ItemId> {
    let shared = Arc::new((client.clone(), tag.to_owned()));
    spread(n, move |i| {
        let shared = shared.clone();
        async move {
            let (client, tag) = &*shared;
            let item = Item::message(format!("bench {tag} draft {i:06}"))
                .with_body("A short body, as a harness draft carries.")
                .to(CAROL);
            client
                .create_in(
                    &boss(),
                    folder_of(BOSS, DistinguishedFolderName::Drafts),
                    item,
                )
                .await
                .expect("CreateItem succeeds")
        }
    })
    .await
}

/// One timed run: requests per second, process CPU microseconds per request (client and
/// server together), the server threads' share of it in user and system time, and how many
/// answers were not a single Success.
struct Run {
    rate: f64,
    cpu_us: f64,
    server_cpu_us: Cpu,
    failures: usize,
}

/// User and system CPU time; NaN when unknown.
#[derive(Clone, Copy)]
struct Cpu {
    user: f64,
    system: f64,
}

impl Cpu {
    const UNKNOWN: Cpu = Cpu {
        user: f64::NAN,
        system: f64::NAN,
    };

    fn total(self) -> f64 {
        self.user + self.system
    }

    /// The time from `before` to `self`, per request, in microseconds.
    fn per_request_us(self, before: Cpu, requests: usize) -> Cpu {
        let us = |t: f64| t * 1e6 / requests as f64;
        Cpu {
            user: us(self.user - before.user),
            system: us(self.system - before.system),
        }
    }
}

/// Sends one SendItem per id from `CONCURRENCY` tasks sharing `client`; `server` lists the
/// threads that serve them, when they are threads of their own.
async fn send_all(client: &Client, ids: Arc<Vec<ItemId>>, server: &[String]) -> Run {
    let cpu_before = cpu_seconds();
    let server_before = threads_cpu(server);
    let started = Instant::now();
    let shared = Arc::new((client.clone(), ids.clone()));
    let answers = spread(ids.len(), move |i| {
        let shared = shared.clone();
        async move {
            let (client, ids) = &*shared;
            client
                .send_item(&boss(), SendItem::new([ids[i].clone()]))
                .await
                .is_ok_and(|m| m.len() == 1 && m[0].response_class == ResponseClass::Success)
        }
    })
    .await;
    let failures = answers.iter().filter(|ok| !**ok).count();
    let secs = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_before;
    Run {
        rate: ids.len() as f64 / secs,
        cpu_us: cpu * 1e6 / ids.len() as f64,
        server_cpu_us: threads_cpu(server).per_request_us(server_before, ids.len()),
        failures,
    }
}

/// User plus system CPU time of this process so far, in seconds.
fn cpu_seconds() -> f64 {
    stat_cpu("/proc/self/stat").total()
}

/// The ids of this process's threads.
fn thread_ids() -> std::collections::BTreeSet<String> {
    std::fs::read_dir("/proc/self/task")
        .map(|dir| {
            dir.filter_map(|e| Some(e.ok()?.file_name().to_string_lossy().into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// CPU time of the given threads of this process so far, in seconds; unknown when there are
/// none.
fn threads_cpu(threads: &[String]) -> Cpu {
    if threads.is_empty() {
        return Cpu::UNKNOWN;
    }
    threads
        .iter()
        .map(|t| stat_cpu(&format!("/proc/self/task/{t}/stat")))
        .fold(
            Cpu {
                user: 0.0,
                system: 0.0,
            },
            |sum, t| Cpu {
                user: sum.user + t.user,
                system: sum.system + t.system,
            },
        )
}

/// User and system CPU time from a `/proc/.../stat` file, in seconds (clock ticks of 1/100 s,
/// Linux's USER_HZ).
fn stat_cpu(path: &str) -> Cpu {
    let Ok(stat) = std::fs::read_to_string(path) else {
        return Cpu::UNKNOWN;
    };
    // The command name may hold spaces; the fields after it are plain.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return Cpu::UNKNOWN;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after `) state`.
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok());
    match (ticks(11), ticks(12)) {
        (Some(user), Some(system)) => Cpu {
            user: user / 100.0,
            system: system / 100.0,
        },
        _ => Cpu::UNKNOWN,
    }
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

/// Makes `server` answer every POST to the EWS path with `canned`.
async fn canned_mock(server: &wiremock::MockServer, canned: &[u8]) {
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .and(wiremock::matchers::path(ewsconf::mock::EWS_PATH))
        .respond_with(
            wiremock::ResponseTemplate::new(200)
                .set_body_raw(canned.to_vec(), "text/xml; charset=utf-8"),
        )
        .mount(server)
        .await;
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

/// Per-stage cost of the mock's work on one SendItem, on this thread, without HTTP: microseconds
/// per call over `STAGE_CALLS` calls, and the request and response sizes.
fn stages() -> (Vec<(&'static str, f64)>, usize, usize) {
    use ewsconf::ews::{Element, Request, RequestEnvelope, ResponseBody, ResponseEnvelope};
    use ewsconf::mock::ids::ItemKey;
    use ewsconf::mock::store::StoredItem;
    use ewsconf::mock::{Directory, MockFolder, Store};

    fn time<T>(calls: usize, mut f: impl FnMut(usize) -> T) -> f64 {
        let started = Instant::now();
        for i in 0..calls {
            std::hint::black_box(f(i));
        }
        started.elapsed().as_secs_f64() * 1e6 / calls as f64
    }
    let calls = STAGE_CALLS;
    let store = Store::new(Directory::documented_defaults(), Profile::Intended);
    let boss = store.directory.by_address(BOSS).expect("the boss account");
    let drafts = store.folder_key(boss, MockFolder::Drafts);
    let draft = Item::message("bench draft 000001")
        .with_body("A short body, as a harness draft carries.")
        .to(CAROL);
    let numbers: Vec<u64> = {
        let mut state = store.lock();
        (0..calls)
            .map(|_| state.insert(StoredItem::from_wire(&draft, drafts, true)))
            .collect()
    };
    let id = |n: u64| {
        ItemId::new(
            ItemKey {
                mailbox: boss as u16,
                number: n,
            }
            .encode(),
        )
    };
    let request = RequestEnvelope::new(SendItem::new([id(numbers[0])]));
    let bytes = Post::soap(&request).body;
    let root = Element::parse(&bytes).expect("the request parses");
    let schemas = ewsconf::schema::SchemaSet::embedded().expect("the schemas compile");
    let mut deliveries = Vec::with_capacity(calls);
    let mut response = None;
    let mut rows = vec![
        (
            "client: request to XML",
            time(calls, |_| Post::soap(&request)),
        ),
        (
            "mock: validate and build the tree (SchemaSet::parse_valid)",
            time(calls, |_| schemas.parse_valid(&bytes)),
        ),
        (
            "(for comparison) Element::parse alone",
            time(calls, |_| Element::parse(&bytes)),
        ),
        (
            "(for comparison) SchemaSet::validate alone",
            time(calls, |_| schemas.validate(&bytes)),
        ),
        (
            "mock: typed request (from_element)",
            time(calls, |_| RequestEnvelope::from_element(&root)),
        ),
    ];
    rows.push((
        "mock: execute SendItem and deliver (store, one lock)",
        time(calls, |i| {
            let executed = store.execute(
                boss,
                &Request::SendItem(SendItem::new([id(numbers[i])])),
                true,
            );
            response = Some(executed.response);
            deliveries.extend(executed.deliveries);
        }),
    ));
    let envelope = ResponseEnvelope {
        server_version_info: Some(ewsconf::mock::server::server_version_info()),
        body: ResponseBody::Response(response.expect("a response")),
    };
    let out = envelope.to_xml();
    rows.push(("mock: response to XML", time(calls, |_| envelope.to_xml())));
    rows.push((
        "client: parse the response",
        time(calls, |_| ResponseEnvelope::parse(out.as_bytes())),
    ));
    (rows, bytes.len(), out.len())
}

/// A server under test and the client that talks to it.
struct Subject {
    name: String,
    /// What tells it apart from the others of its kind in the ratio table.
    short: String,
    client: Client,
    /// The server's own threads, whose CPU time is read; empty when it runs on the client's
    /// runtime.
    threads: Vec<String>,
    /// A stateful mock needs fresh drafts of its own each round; wiremock answers any id.
    stateful: bool,
    runs: Vec<Run>,
}

impl Subject {
    fn new(name: String, short: String, url: &str, threads: Vec<String>, stateful: bool) -> Self {
        Self {
            name,
            short,
            client: client(url),
            threads,
            stateful,
            runs: Vec::new(),
        }
    }

    fn rate(&self) -> f64 {
        median(self.runs.iter().map(|r| r.rate).collect())
    }
}

/// Runs `start` and returns what it returned with the threads it started.
async fn with_new_threads<T>(start: impl std::future::Future<Output = T>) -> (T, Vec<String>) {
    let before = thread_ids();
    let started = start.await;
    let threads = thread_ids().difference(&before).cloned().collect();
    (started, threads)
}

async fn start_mock(server_threads: usize) -> (MockServer, Vec<String>) {
    with_new_threads(async {
        MockServer::start(MockConfig {
            server_threads,
            ..MockConfig::with_profile(Profile::Intended)
        })
        .await
        .expect("mock starts")
    })
    .await
}

fn main() -> ExitCode {
    if std::env::args().any(|a| a == MEMORY_CHILD) {
        return memory_child();
    }
    // Other work on the machine skews requests/s; CPU per request much less.
    let load_before = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let workers = runtime.metrics().num_workers();
    let subjects = runtime.block_on(async {
        let mut mocks = Vec::new();
        let mut subjects = Vec::new();
        for (threads, how) in [
            (0, "default: on the client's runtime".to_owned()),
            (1, "one thread of its own, as wiremock serves".to_owned()),
            (
                cores,
                "a thread per core, as `ewsconf mock` serves".to_owned(),
            ),
        ] {
            let (mock, own) = start_mock(threads).await;
            let name = format!("ewsconf mock, server_threads {threads} ({how})");
            subjects.push(Subject::new(
                name,
                threads.to_string(),
                mock.url(),
                own,
                true,
            ));
            mocks.push(mock);
        }
        let canned = canned_success(&subjects[0].client).await;
        // wiremock as a user starts it (`MockServer::start()`, recording every request), and
        // with recording off.
        let (wire_default, threads) = with_new_threads(wiremock::MockServer::start()).await;
        let (wire_off, off_threads) = with_new_threads(
            wiremock::MockServer::builder()
                .disable_request_recording()
                .start(),
        )
        .await;
        for (server, threads, short, name) in [
            (
                &wire_off,
                off_threads,
                "recording off",
                "wiremock 0.6, canned body, recording off",
            ),
            (
                &wire_default,
                threads,
                "defaults",
                "wiremock 0.6, canned body, defaults: records requests",
            ),
        ] {
            canned_mock(server, &canned).await;
            let url = format!("{}{}", server.uri(), ewsconf::mock::EWS_PATH);
            subjects.push(Subject::new(
                name.to_owned(),
                short.to_owned(),
                &url,
                threads,
                false,
            ));
        }

        // Warm the servers and the connection pools; then rounds that run every server once,
        // back to back. Each round first creates the mocks' drafts, then times the servers,
        // starting one further along the list each round: the server that runs first after
        // the drafts are made, or right after another, is not always the same one. wiremock
        // gets the first mock's request bodies; it answers them all alike.
        for round in 0..=RUNS {
            let tag = round.to_string();
            let (count, warm) = match round {
                0 => (2 * CONCURRENCY, true),
                _ => (SENDS_PER_RUN, false),
            };
            // The mocks come first in the list.
            let mut drafts: Vec<Arc<Vec<ItemId>>> = Vec::new();
            for subject in &subjects {
                let own = if subject.stateful {
                    Arc::new(create_drafts(&subject.client, count, &tag).await)
                } else {
                    drafts[0].clone()
                };
                drafts.push(own);
            }
            for k in 0..subjects.len() {
                let i = (round + k) % subjects.len();
                let subject = &mut subjects[i];
                let run = send_all(&subject.client, drafts[i].clone(), &subject.threads).await;
                if !warm {
                    subject.runs.push(run);
                }
            }
        }
        for mock in mocks {
            mock.shutdown().await;
        }
        subjects
    });
    let failures: usize = subjects
        .iter()
        .flat_map(|s| &s.runs)
        .map(|r| r.failures)
        .sum();
    if failures > 0 {
        eprintln!("{failures} SendItem requests did not come back as a single Success");
        return ExitCode::FAILURE;
    }
    let memory = memory();

    let cpu = |runs: &[Run]| median(runs.iter().map(|r| r.cpu_us).collect());
    let server_cpu = |runs: &[Run]| {
        let of =
            |part: fn(&Cpu) -> f64| median(runs.iter().map(|r| part(&r.server_cpu_us)).collect());
        let (user, system) = (of(|c| c.user), of(|c| c.system));
        if user.is_nan() {
            "(shares the client's threads)".to_owned()
        } else {
            format!("{:.0} ({user:.0} + {system:.0})", of(|c| c.total()))
        }
    };
    let all = |runs: &[Run]| {
        runs.iter()
            .map(|r| format!("{:.0}", r.rate))
            .collect::<Vec<_>>()
            .join(" ")
    };
    println!();
    println!("$ cargo bench --bench mock_throughput");
    println!(
        "SendItem, one fresh draft per request, {SENDS_PER_RUN} requests per run, \
         {CONCURRENCY} client tasks sharing one keep-alive Client; \
         {cores} cores, client runtime with {workers} workers"
    );
    println!(
        "load average before: {}",
        load_before
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!();
    println!(
        "| server | requests/s (median of {RUNS}) | CPU µs per request, client + server \
         (median) | of which the server's threads (user + system) | runs, requests/s |"
    );
    println!("|---|---:|---:|---:|---|");
    for subject in &subjects {
        println!(
            "| {} | {:.0} | {:.0} | {} | {} |",
            subject.name,
            subject.rate(),
            cpu(&subject.runs),
            server_cpu(&subject.runs),
            all(&subject.runs)
        );
    }
    println!();
    // Each round measures every server back to back, so the ratio within a round is spared
    // the machine's slower drifts in load.
    println!(
        "Mock / wiremock: the ratio of the medians above, and the ratio within each of the \
         {RUNS} rounds"
    );
    println!();
    println!(
        "| server_threads | against wiremock | ratio of medians | median per round | lowest \
         | highest | rounds at or above 1.0 |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|");
    let (mocks, wiremocks): (Vec<&Subject>, Vec<&Subject>) =
        subjects.iter().partition(|s| s.stateful);
    for mock in &mocks {
        for wire in &wiremocks {
            let mut ratios: Vec<f64> = mock
                .runs
                .iter()
                .zip(&wire.runs)
                .map(|(m, w)| m.rate / w.rate)
                .collect();
            ratios.sort_by(f64::total_cmp);
            println!(
                "| {} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {} of {RUNS} |",
                mock.short,
                wire.short,
                mock.rate() / wire.rate(),
                median(ratios.clone()),
                ratios[0],
                ratios[ratios.len() - 1],
                ratios.iter().filter(|&&r| r >= 1.0).count()
            );
        }
    }
    println!();
    let (rows, request_len, response_len) = stages();
    println!(
        "Where the mock's time goes: one SendItem ({request_len}-byte request, \
         {response_len}-byte answer) without HTTP, one thread, {STAGE_CALLS} calls each"
    );
    println!();
    println!("| stage | µs per call |");
    println!("|---|---:|");
    let mut mock_total = 0.0;
    for (name, us) in &rows {
        println!("| {name} | {us:.2} |");
        if name.starts_with("mock:") {
            mock_total += us;
        }
    }
    println!("| mock stages together | {mock_total:.2} |");
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
