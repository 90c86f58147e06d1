//! `ewsconf compare` on the binary: two runs of the embedded mock's profiles side by side, a run
//! compared with itself, and the inputs it refuses.

mod common;

use common::ewsconf_in;

use common::run_dir;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A folder holding `documented/<run>` and `intended/<run>`: the delegate cases run once against
/// each mock profile. Made once for the whole file; the tests only read it.
fn two_runs() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        for profile in ["documented", "intended"] {
            let out = ewsconf_in(
                dir.path(),
                &[
                    "run",
                    "--profile",
                    profile,
                    "--only",
                    "delegate/*",
                    "--report-dir",
                    profile,
                    "--no-progress",
                ],
            );
            assert!(matches!(out.status.code(), Some(0 | 1)), "{out:?}");
        }
        dir
    })
    .path()
}

/// The one run folder made against `profile`.
fn run_of(profile: &str) -> PathBuf {
    run_dir(&two_runs().join(profile))
}

/// The `href` values in `page`.
fn hrefs(page: &str) -> Vec<&str> {
    page.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect()
}

#[test]
fn the_two_profiles_differ_on_the_delegate_cases() {
    let documented = run_of("documented");
    let intended = run_of("intended");
    let work = tempfile::tempdir().unwrap();
    let out_dir = work.path().join("out");
    let out = ewsconf_in(
        work.path(),
        &[
            "compare",
            documented.to_str().unwrap(),
            intended.to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
        ],
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(stdout.contains("compare.html"), "{stdout}");
    assert!(stdout.contains("embedded mock (documented)"), "{stdout}");

    let page = std::fs::read_to_string(out_dir.join("compare.html")).expect("compare.html");
    // Nothing is fetched: no script, stylesheet, image or frame from anywhere.
    for fetch in [
        "<script", "<link", "<img", "<iframe", "src=", "url(", "@import",
    ] {
        assert!(!page.contains(fetch), "{fetch} in the page");
    }
    for link in hrefs(&page) {
        assert!(
            !link.starts_with("http://") && !link.starts_with("https://"),
            "{link}"
        );
    }

    // The differing cases, from the reports themselves: the verdicts per id must not agree.
    let verdicts = |run: &Path| -> Vec<(String, String)> {
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(run.join("report.json")).unwrap())
                .unwrap();
        report["outcomes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| {
                let field = |k: &str| o[k].as_str().unwrap().to_owned();
                (field("id"), field("verdict"))
            })
            .collect()
    };
    let (a, b) = (verdicts(&documented), verdicts(&intended));
    let differing: Vec<&str> = a
        .iter()
        .filter(|case| !b.contains(case))
        .map(|(id, _)| id.as_str())
        .collect();
    assert!(
        !differing.is_empty(),
        "the profiles agree on every delegate case"
    );
    let cases = a.len().max(b.len());
    assert!(
        stdout.contains(&format!("{cases} cases, {} differ", differing.len())),
        "{stdout}"
    );
    for id in &differing {
        assert!(page.contains(id), "{id} not in the page");
        let listed = stdout
            .lines()
            .any(|line| line.split_whitespace().next() == Some(id));
        assert!(listed, "{id} not listed in stdout:\n{stdout}");
        // A link into each run's own report, at the case, that resolves from the page's folder.
        for run in [&documented, &intended] {
            let link = hrefs(&page)
                .into_iter()
                .find(|h| {
                    h.ends_with(&format!("report.html#{id}"))
                        && h.contains(run.file_name().unwrap().to_str().unwrap())
                })
                .unwrap_or_else(|| panic!("no link to {id} in {}", run.display()));
            let (file, _) = link.split_once('#').unwrap();
            assert!(!file.starts_with('/'), "{link} is not relative");
            assert!(out_dir.join(file).is_file(), "{link} does not resolve");
            let target = std::fs::read_to_string(out_dir.join(file)).unwrap();
            assert!(target.contains(&format!("id=\"{id}\"")), "{link}");
        }
    }
    // And the exchanges themselves, for a page moved on its own.
    assert!(page.contains("<details"), "no details in the page");
    assert!(
        page.contains("SendItem (under test)"),
        "no exchange in the page"
    );
}

#[test]
fn a_run_compared_with_itself_agrees() {
    let documented = run_of("documented");
    let work = tempfile::tempdir().unwrap();
    let copies: Vec<PathBuf> = ["one", "two"]
        .iter()
        .map(|name| {
            let copy = work.path().join(name);
            std::fs::create_dir(&copy).unwrap();
            for file in ["report.json", "report.html"] {
                std::fs::copy(documented.join(file), copy.join(file)).unwrap();
            }
            copy
        })
        .collect();
    let out = ewsconf_in(
        work.path(),
        &[
            "compare",
            "one",
            // A run's report.json names the run as well as its folder.
            "two/report.json",
            "--out",
            "cmp",
        ],
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(stdout.contains(" 0 differ"), "{stdout}");
    // The same target twice: the labels are made unique with the folders' names.
    assert!(
        stdout.contains("(one)") && stdout.contains("(two)"),
        "{stdout}"
    );
    assert!(work.path().join("cmp/compare.html").is_file());
    assert!(copies.iter().all(|c| c.is_dir()));

    let labelled = ewsconf_in(
        work.path(),
        &[
            "compare", "one", "two", "--out", "cmp", "--label", "before", "--label", "after",
        ],
    );
    assert_eq!(labelled.status.code(), Some(0), "{labelled:?}");
    let header = text(&labelled.stdout);
    assert!(header.starts_with("category"), "{header}");
    let columns: Vec<&str> = header.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(columns, ["category", "before", "after"], "{header}");
}

#[test]
fn bad_inputs_exit_2_naming_the_path() {
    let documented = run_of("documented");
    let work = tempfile::tempdir().unwrap();
    let garbage = work.path().join("garbage");
    std::fs::create_dir(&garbage).unwrap();
    std::fs::write(garbage.join("report.json"), "{\"outcomes\": [oops").unwrap();
    let good = documented.to_str().unwrap();

    let out = ewsconf_in(work.path(), &["compare", good, "garbage", "--out", "cmp"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(stderr.contains("garbage/report.json"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    let out = ewsconf_in(work.path(), &["compare", good, "missing", "--out", "cmp"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(stderr.contains("missing"), "{stderr}");

    let out = ewsconf_in(work.path(), &["compare", good, "--out", "cmp"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");

    let out = ewsconf_in(
        work.path(),
        &["compare", good, good, "--out", "cmp", "--label", "only-one"],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(stderr.contains("label"), "{stderr}");
    assert!(!work.path().join("cmp").exists());
}
