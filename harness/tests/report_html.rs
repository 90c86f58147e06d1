//! `report.html` as a person sees it: written by `report::write_all`, opened in headless
//! Chromium, the rendered page must show the run's counts, keep hostile server text inert, and
//! paint a real page.
//!
//! Needs Debian's `chromium` (`/usr/bin/chromium`). Without it the test is skipped, except under
//! `CI`, where it fails.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ewsconf::case::{FolderName, Role};
use ewsconf::judge::{Finding, StateCheck, Verdict};
use ewsconf::report;
use ewsconf::run::{ExchangeRecord, Outcome, RunSummary, Stage};

const CHROMIUM: &str = "/usr/bin/chromium";
const TIMEOUT: Duration = Duration::from_secs(60);
const HOSTILE: &str = "</pre><script>alert(1)</script>]]><img src=x onerror=alert(2)>";

fn chromium_or_skip() -> Option<PathBuf> {
    let path = PathBuf::from(CHROMIUM);
    if path.exists() {
        return Some(path);
    }
    let hint = format!(
        "{CHROMIUM} not found: install Debian's chromium package \
         (apt-get install -y chromium) to run the report_html test"
    );
    assert!(std::env::var_os("CI").is_none(), "{hint}");
    eprintln!("skipping: {hint}");
    None
}

/// Runs Chromium headless with a fresh profile, stdout into `stdout`; kills its whole process
/// group and fails the test if it has not exited within [`TIMEOUT`].
fn run_chromium(chromium: &Path, work: &Path, stdout: &Path, args: &[String]) {
    use std::os::unix::process::CommandExt;

    let profile = tempfile::tempdir_in(work).unwrap();
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .stdin(Stdio::null())
        .stdout(File::create(stdout).unwrap())
        .stderr(File::create(work.join("chromium.stderr")).unwrap())
        .process_group(0)
        .spawn()
        .expect("start chromium");
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let stderr = fs::read_to_string(work.join("chromium.stderr")).unwrap_or_default();
            assert!(status.success(), "chromium exited with {status}:\n{stderr}");
            return;
        }
        if Instant::now() >= deadline {
            // The browser forks helpers; end the whole group it leads.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within {} s", TIMEOUT.as_secs());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn outcome(n: usize, verdict: Verdict, changed: bool) -> Outcome {
    let category = ["save-rules", "delegate", "errors"][n % 3];
    let response = String::from(
        "<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\">\
         <s:Body><m:SendItemResponse xmlns:m=\"http://schemas.microsoft.com/exchange/services/2006/messages\">\
         <m:ResponseMessages><m:SendItemResponseMessage ResponseClass=\"Error\">\
         <m:MessageText>Id is malformed.</m:MessageText>\
         <m:ResponseCode>ErrorInvalidIdMalformed</m:ResponseCode>\
         <m:DescriptiveLinkKey>0</m:DescriptiveLinkKey></m:SendItemResponseMessage>\
         </m:ResponseMessages></m:SendItemResponse></s:Body></s:Envelope>",
    );
    let failing = verdict == Verdict::Fail;
    Outcome {
        id: format!("{category}/case-{n:02}"),
        title: format!("SendItem case {n}"),
        category: category.to_owned(),
        tags: vec!["send".to_owned(), category.to_owned()],
        reference: "SendItem operation reference, Remarks".to_owned(),
        requirements: vec!["MS-OXWSCORE_R465".to_owned()],
        section: Some("MS-OXWSCORE 3.1.4.8.3.2".to_owned()),
        file: Some(format!("cases/{category}/case-{n:02}.toml")),
        verdict,
        reason: match verdict {
            Verdict::Quirk => Some("delegate Sent Items quirk A".to_owned()),
            Verdict::Skip => Some("no delegate access on the target".to_owned()),
            Verdict::Error => Some(format!("transport: connection reset {HOSTILE}")),
            Verdict::Pass | Verdict::Fail => None,
        },
        findings: if failing {
            vec![Finding {
                check: "message 1 code".to_owned(),
                expected: "ErrorInvalidSendItemSaveSettings".to_owned(),
                actual: format!("NoError {HOSTILE}"),
                line: Some(12),
            }]
        } else {
            Vec::new()
        },
        exchanges: vec![
            ExchangeRecord {
                stage: Stage::Setup,
                operation: "CreateItem".to_owned(),
                account: "principal@contoso.test".to_owned(),
                request: "<a><b>create</b></a>".to_owned(),
                status: Some(200),
                response: Some("<ok/>".to_owned()),
                elapsed_ms: 3.2,
                schema_errors: Vec::new(),
            },
            ExchangeRecord {
                stage: Stage::UnderTest,
                operation: "SendItem".to_owned(),
                account: "delegate@contoso.test".to_owned(),
                request: "<m:SendItem xmlns:m=\"urn:m\" SaveItemToFolder=\"true\"/>".to_owned(),
                status: Some(if failing { 500 } else { 200 }),
                response: Some(if failing {
                    format!("{response}{HOSTILE}")
                } else {
                    response
                }),
                elapsed_ms: 21.7,
                schema_errors: if failing {
                    vec![format!("1:40: Element 'Body': {HOSTILE}")]
                } else {
                    Vec::new()
                },
            },
        ],
        state: vec![StateCheck {
            expectation: "principal:sentitems contains draft".to_owned(),
            observed: if failing { "0 items" } else { "1 item" }.to_owned(),
            held: !failing,
            place: (Role::Principal, FolderName::SentItems),
            found: Some(usize::from(!failing)),
        }],
        quirk_state: Vec::new(),
        answer: None,
        elapsed_ms: 40.0 + n as f64,
        changed: changed
            .then(|| "--- baseline\n+++ run\n-NoError\n+ErrorItemNotFound\n".to_owned()),
        known: None,
    }
}

/// Distinct counts per verdict, so a count shown under the wrong id cannot pass:
/// 5 pass, 2 quirk, 3 fail, 1 skip, 4 error; 8 changed.
fn summary() -> RunSummary {
    let plan = [
        (Verdict::Pass, 5),
        (Verdict::Quirk, 2),
        (Verdict::Fail, 3),
        (Verdict::Skip, 1),
        (Verdict::Error, 4),
    ];
    let mut outcomes = Vec::new();
    for (verdict, n) in plan {
        for _ in 0..n {
            let i = outcomes.len();
            outcomes.push(outcome(i, verdict, i % 2 == 0));
        }
    }
    RunSummary {
        run_id: "20250101T120000Z-html".to_owned(),
        target: "embedded mock (documented)".to_owned(),
        server_version: Some("15.1.2507.6".to_owned()),
        started: "2025-01-01T12:00:00Z".to_owned(),
        elapsed: Duration::from_millis(4321),
        outcomes,
        fuzz: None,
        quirk: None,
        throttling: Default::default(),
        strict: false,
    }
}

/// The text content of the element with `id` in a serialized DOM.
fn text_of<'a>(dom: &'a str, id: &str) -> Option<&'a str> {
    let at = dom.find(&format!("id=\"{id}\""))?;
    let rest = &dom[at..];
    let open_end = rest.find('>')? + 1;
    let rest = &rest[open_end..];
    Some(&rest[..rest.find('<')?])
}

#[test]
fn rendered_page_shows_the_counts_and_keeps_hostile_text_inert() {
    let Some(chromium) = chromium_or_skip() else {
        return;
    };
    // Arrange
    let work = tempfile::tempdir().unwrap();
    let summary = summary();
    let counts = summary.counts();
    assert_eq!(
        (
            counts.pass,
            counts.quirk,
            counts.fail,
            counts.skip,
            counts.error,
            counts.changed
        ),
        (5, 2, 3, 1, 4, 8)
    );
    let paths = report::write_all(&summary, &work.path().join("run")).unwrap();
    let url = format!("file://{}", paths.html.display());

    // Act
    let dom_file = work.path().join("dom.html");
    run_chromium(
        &chromium,
        work.path(),
        &dom_file,
        &["--dump-dom".to_owned(), url],
    );
    let dom = fs::read_to_string(&dom_file).unwrap();

    // Assert: the counts a person reads at the top of the page.
    for (id, want) in [
        ("count-pass", "5"),
        ("count-quirk", "2"),
        ("count-fail", "3"),
        ("count-skip", "1"),
        ("count-error", "4"),
        ("count-changed", "8"),
        ("count-total", "15"),
    ] {
        assert_eq!(text_of(&dom, id), Some(want), "{id} in the rendered page");
    }
    // Hostile server text stayed text: no injected element made it into the DOM.
    assert!(!dom.contains("<script>alert"), "injected script in the DOM");
    assert!(!dom.contains("<img"), "injected image in the DOM");
    assert!(dom.contains("&lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));
    // The page's own filter script ran: it unhides the filter bar.
    let filters = &dom[dom.find("id=\"filters\"").unwrap()..];
    let filters_tag = &filters[..filters.find('>').unwrap()];
    assert!(!filters_tag.contains("hidden"), "filter script did not run");
    // Every case has its section.
    for o in &summary.outcomes {
        assert!(dom.contains(&format!("id=\"{}\"", o.id)), "{}", o.id);
    }
}

#[test]
fn screenshot_paints_a_real_page() {
    let Some(chromium) = chromium_or_skip() else {
        return;
    };
    // Arrange: the report, and an empty page with the report's background for comparison.
    let work = tempfile::tempdir().unwrap();
    let paths = report::write_all(&summary(), &work.path().join("run")).unwrap();
    let blank = work.path().join("blank.html");
    fs::write(
        &blank,
        "<!DOCTYPE html><html><body style=\"background:#f6f8fa\"></body></html>",
    )
    .unwrap();
    let shot = std::env::var_os("EWSCONF_SCREENSHOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| work.path().join("shot.png"));
    let blank_shot = work.path().join("blank.png");

    // Act
    for (page, png) in [(&paths.html, &shot), (&blank, &blank_shot)] {
        run_chromium(
            &chromium,
            work.path(),
            &work.path().join("stdout"),
            &[
                format!("--screenshot={}", png.display()),
                "--window-size=1280,2000".to_owned(),
                format!("file://{}", page.display()),
            ],
        );
    }

    // Assert: a PNG with far more in it than an empty page of the same size.
    let png = fs::read(&shot).expect("screenshot written");
    let blank_len = fs::metadata(&blank_shot).unwrap().len();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(png.len() > 10 * 1024, "screenshot is {} bytes", png.len());
    assert!(
        png.len() as u64 > 4 * blank_len,
        "screenshot is {} bytes, an empty page {blank_len}: nothing painted?",
        png.len()
    );
}
