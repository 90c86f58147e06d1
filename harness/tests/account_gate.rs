//! Running many cases at once never puts more requests in flight for one account than Exchange's
//! `EWSMaxConcurrency` allows: the whole suite, at the default number of cases at once, through a
//! loopback front that counts each account's open requests before passing them to the mock, and
//! the requests that name no `X-AnchorMailbox`.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use ewsconf::mock::{MockConfig, Profile};
use ewsconf::run::RunOptions;
use ewsconf::target::gate::DEFAULT_PER_ACCOUNT;
use ewsconf::target::{Client, ClientOptions, Target};

/// Open requests per `Authorization` value: now, and the most seen at once; under
/// [`UNANCHORED`], in the second place, the requests that came without `X-AnchorMailbox`.
type Counts = Arc<Mutex<HashMap<String, (usize, usize)>>>;

/// The key under which requests without `X-AnchorMailbox` are counted.
const UNANCHORED: &str = "unanchored";

/// A front that holds each request 20 ms (so that requests overlap), counting per account, and
/// passes it on to `upstream`.
async fn counting_front(upstream: String, counts: Counts) -> String {
    let http = reqwest::Client::new();
    let handler = move |headers: HeaderMap, body: Bytes| {
        let (http, upstream, counts) = (http.clone(), upstream.clone(), counts.clone());
        async move {
            let who = headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            {
                let mut counts = counts.lock().unwrap();
                if headers.get("x-anchormailbox").is_none() {
                    counts.entry(UNANCHORED.to_owned()).or_default().1 += 1;
                }
                let entry = counts.entry(who.clone()).or_default();
                entry.0 += 1;
                entry.1 = entry.1.max(entry.0);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            let mut request = http.post(&upstream).body(body);
            for name in ["authorization", "content-type", "soapaction"] {
                if let Some(v) = headers.get(name) {
                    request = request.header(name, v.clone());
                }
            }
            let answer = match request.send().await {
                Ok(r) => {
                    let status = StatusCode::from_u16(r.status().as_u16()).unwrap();
                    let content_type = r
                        .headers()
                        .get("content-type")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("text/xml; charset=utf-8")
                        .to_owned();
                    let body = r.bytes().await.unwrap_or_default();
                    (status, [("content-type", content_type)], body)
                }
                Err(_) => (
                    StatusCode::BAD_GATEWAY,
                    [("content-type", "text/plain".to_owned())],
                    Bytes::new(),
                ),
            };
            counts.lock().unwrap().get_mut(&who).unwrap().0 -= 1;
            answer
        }
    };
    let app = axum::Router::new().fallback(axum::routing::post(handler));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/EWS/Exchange.asmx",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_concurrency_keeps_each_account_under_the_servers_limit() {
    // Arrange: the embedded mock's accounts, reached through the counting front.
    let mut target = Target::embedded(MockConfig::with_profile(Profile::Intended))
        .await
        .expect("mock starts");
    let counts = Counts::default();
    let mock_url = target.mock().expect("embedded").url().to_owned();
    let front = counting_front(mock_url, counts.clone()).await;
    target.client = Client::new(&front, &ClientOptions::default()).expect("client");

    // Act
    let summary = tokio::time::timeout(
        Duration::from_secs(240),
        common::run_on(&target, &common::suite(), RunOptions::DEFAULT_JOBS),
    )
    .await
    .expect("the suite ends");
    target.shutdown().await;

    // Assert
    assert!(
        summary.conforms(),
        "the suite conforms through the front: {:?}",
        summary.counts()
    );
    let mut counts = counts.lock().unwrap();
    let unanchored = counts.remove(UNANCHORED).map_or(0, |(_, n)| n);
    assert_eq!(unanchored, 0, "requests without X-AnchorMailbox");
    let most = counts.values().map(|(_, most)| *most).max().unwrap_or(0);
    assert!(
        most <= DEFAULT_PER_ACCOUNT,
        "an account had {most} requests open at once, over {DEFAULT_PER_ACCOUNT}"
    );
    assert!(
        most > 1,
        "no account ever had two requests open at once: the cases did not run concurrently"
    );
    assert!(counts.values().all(|(now, _)| *now == 0));
}
