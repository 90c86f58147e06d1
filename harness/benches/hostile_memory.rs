//! Peak memory of the whole suite in `cases/`, run as `ewsconf run` runs it (default jobs, the
//! reports written), against a loopback server that answers every request with 50 MiB: the
//! start of a SOAP envelope, then blanks. Once sent chunked (the client reads up to its cap and
//! stops), once with its Content-Length (the client refuses it before reading). A third row,
//! outside the goal, answers with 15 MiB, just under the cap, which is read whole, validated,
//! judged and reported.
//!
//! Run with `cargo bench --bench hostile_memory`. The server runs in this process; each figure
//! is measured in a fresh child process that only runs the suite, as its high-water mark
//! (VmHWM). The goal, for the two 50 MiB rows, is under 200 MB; the command fails if either
//! misses it.

mod common;

use std::convert::Infallible;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use ewsconf::Verdict;
use ewsconf::accounts::{DEFAULT_ACCOUNTS, DEFAULT_DOMAIN, DEFAULT_PASSWORD};
use ewsconf::case::load_dir;
use ewsconf::run::{Interrupt, RunOptions, run};
use ewsconf::schema::SchemaSet;
use ewsconf::target::{Account, ClientOptions, Target};

use common::{child_arg, child_figures, peak_rss_mib, suite_dir};

const ANSWER_BYTES: usize = 50 * 1024 * 1024;
const UNDER_CAP_BYTES: usize = 15 * 1024 * 1024;
const CHUNK_BYTES: usize = 64 * 1024;
const GOAL_MB: f64 = 200.0;
const ENVELOPE_START: &[u8] = b"<?xml version=\"1.0\" encoding=\"utf-8\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body>";

/// One run of the suite against `url` in this process; prints
/// `seconds cases errors_over_the_cap peak_mib`.
fn child(url: &str) -> ExitCode {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let cases = load_dir(&suite_dir()).expect("suite");
    let schemas = SchemaSet::embedded().expect("schemas");
    let started = Instant::now();
    let summary = runtime.block_on(async {
        let options = ClientOptions {
            timeout: Duration::from_secs(30),
            ..ClientOptions::default()
        };
        let target = DEFAULT_ACCOUNTS.iter().fold(
            Target::at(url, &options)
                .expect("target")
                .with_unknown_domain(DEFAULT_DOMAIN),
            |target, a| target.with_account(a.role, Account::basic(a.address, DEFAULT_PASSWORD)),
        );
        let options = RunOptions {
            jobs: RunOptions::DEFAULT_JOBS,
            keep: false,
            case_timeout: Duration::from_secs(120),
            schemas,
        };
        run(&target, &cases, &options, &Interrupt::default(), |_| {})
            .await
            .expect("run")
    });
    let dir = tempfile::tempdir().expect("temporary folder");
    ewsconf::report::write_all(&summary, dir.path()).expect("reports");
    let over = summary
        .outcomes
        .iter()
        .filter(|o| {
            o.verdict == Verdict::Error
                && o.reason.as_deref().is_some_and(|r| r.contains("exceeds"))
        })
        .count();
    println!(
        "{} {} {over} {}",
        started.elapsed().as_secs_f64(),
        summary.outcomes.len(),
        peak_rss_mib()
    );
    ExitCode::SUCCESS
}

/// `ENVELOPE_START` and blanks: `whole` (50 MiB) with its Content-Length when `announced`,
/// else about `size` bytes chunked (no Content-Length).
fn answer(announced: bool, size: usize, whole: Bytes, blanks: Bytes) -> Response {
    let body = if announced {
        Body::from(whole)
    } else {
        let chunks = std::iter::once(Bytes::from_static(ENVELOPE_START)).chain(
            std::iter::repeat_n(blanks, (size - ENVELOPE_START.len()) / CHUNK_BYTES),
        );
        Body::from_stream(futures_util::stream::iter(chunks.map(Ok::<_, Infallible>)))
    };
    ([(CONTENT_TYPE, "text/xml; charset=utf-8")], body).into_response()
}

/// Serves `/chunked/EWS/Exchange.asmx`, `/announced/EWS/Exchange.asmx` and
/// `/under-cap/EWS/Exchange.asmx` on loopback, on a thread of its own; returns the base URL.
fn serve() -> String {
    let mut whole = ENVELOPE_START.to_vec();
    whole.resize(ANSWER_BYTES, b' ');
    let whole = Bytes::from(whole);
    let blanks = Bytes::from(vec![b' '; CHUNK_BYTES]);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().expect("server runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("binds");
            tx.send(format!("http://{}", listener.local_addr().expect("bound")))
                .expect("main waits");
            let chunked = {
                let (whole, blanks) = (whole.clone(), blanks.clone());
                move || async move { answer(false, ANSWER_BYTES, whole, blanks) }
            };
            let under_cap = {
                let (whole, blanks) = (whole.clone(), blanks.clone());
                move || async move { answer(false, UNDER_CAP_BYTES, whole, blanks) }
            };
            let announced = move || async move { answer(true, ANSWER_BYTES, whole, blanks) };
            let app = axum::Router::new()
                .route("/chunked/EWS/Exchange.asmx", axum::routing::post(chunked))
                .route(
                    "/announced/EWS/Exchange.asmx",
                    axum::routing::post(announced),
                )
                .route(
                    "/under-cap/EWS/Exchange.asmx",
                    axum::routing::post(under_cap),
                );
            axum::serve(listener, app).await.expect("serves");
        });
    });
    rx.recv().expect("the server starts")
}

fn main() -> ExitCode {
    if let Some(url) = child_arg() {
        return child(&url);
    }
    let base = serve();
    let cases = load_dir(&suite_dir()).map_or(0, |c| c.len());
    println!(
        "cargo bench --bench hostile_memory (release; each row one fresh process; {} jobs)\n",
        RunOptions::DEFAULT_JOBS
    );
    println!(
        "| measurement | wall time | cases ended `error`: the answer exceeds the cap | peak memory (VmHWM) | goal |"
    );
    println!("|---|---:|---:|---:|---|");
    let mut within_goal = true;
    for (kind, what, goal) in [
        ("chunked", "50 MiB sent chunked", true),
        ("announced", "50 MiB with its Content-Length", true),
        ("under-cap", "15 MiB (under the cap) sent chunked", false),
    ] {
        let (v, said) = child_figures(&format!("{base}/{kind}/EWS/Exchange.asmx"));
        let [seconds, ran, over, peak] = v[..] else {
            eprintln!("child said: {said}");
            return ExitCode::FAILURE;
        };
        let peak_mb = peak * 1024.0 * 1024.0 / 1e6;
        let verdict = match (goal, peak_mb < GOAL_MB) {
            (false, _) => "(not part of the goal)",
            (true, true) => "under 200 MB",
            (true, false) => "OVER 200 MB",
        };
        within_goal &= !goal || peak_mb < GOAL_MB;
        println!(
            "| whole suite ({cases} cases, {ran} run) against a server answering every request with {what}, reports written | {seconds:.2} s | {over} | {peak:.1} MiB ({peak_mb:.0} MB) | {verdict} |"
        );
    }
    if within_goal {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
