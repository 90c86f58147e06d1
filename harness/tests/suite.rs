//! The whole conformance suite in `cases/` against the embedded mock, over loopback HTTP, under
//! both profiles.

mod common;

use ewsconf::case::Case;
use ewsconf::mock::{MockConfig, Profile};
use ewsconf::{RunSummary, Verdict};

fn explain(summary: &RunSummary, wanted: impl Fn(&str, Verdict) -> bool) -> Vec<String> {
    summary
        .outcomes
        .iter()
        .filter(|o| !wanted(&o.id, o.verdict))
        .map(|o| {
            let findings: Vec<String> = o
                .findings
                .iter()
                .map(|f| format!("{}: expected {}, actual {}", f.check, f.expected, f.actual))
                .collect();
            format!("{} is {} ({:?}) {findings:?}", o.id, o.verdict, o.reason)
        })
        .collect()
}

fn is_quirk_case(summary_case: &Case) -> bool {
    summary_case.quirk.is_some()
}

/// The cases whose `server_versions` leave out the version the mock reports under `profile`:
/// they are `skip`.
fn gated_away(profile: Profile) -> Vec<String> {
    let info = profile.server_version_info();
    common::suite()
        .into_iter()
        .filter(|c| c.version_skip(Some(&info)).is_some())
        .map(|c| c.id)
        .collect()
}

/// Snapshots every case's normalized request, response and state under `snapshots/<profile>/`:
/// a change in the mock's behaviour shows as a reviewable diff (`cargo insta review`), and with
/// `CI` set a mismatch or a missing snapshot fails.
fn snapshot(summary: &RunSummary, profile: Profile) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(format!("../../snapshots/{profile}"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| {
        for outcome in &summary.outcomes {
            insta::assert_snapshot!(
                outcome.id.replace('/', "__"),
                ewsconf::baseline::render(outcome, &[])
            );
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_intended_every_case_passes() {
    let summary = common::run_suite(MockConfig::with_profile(Profile::Intended)).await;
    assert_eq!(summary.outcomes.len(), common::suite().len());
    let gated = gated_away(Profile::Intended);
    let wrong = explain(&summary, |id, v| {
        if gated.iter().any(|g| g == id) {
            v == Verdict::Skip
        } else {
            v == Verdict::Pass
        }
    });
    assert!(wrong.is_empty(), "{wrong:#?}");
    snapshot(&summary, Profile::Intended);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_documented_the_quirk_cases_are_quirk_and_the_rest_pass() {
    let cases = common::suite();
    let summary = common::run_suite(MockConfig::with_profile(Profile::Documented)).await;
    let quirky: Vec<&str> = cases
        .iter()
        .filter(|c| is_quirk_case(c))
        .map(|c| c.id.as_str())
        .collect();
    assert!(quirky.contains(&"delegate/scenario-a"), "{quirky:?}");
    let gated = gated_away(Profile::Documented);
    let wrong = explain(&summary, |id, v| {
        if gated.iter().any(|g| g == id) {
            v == Verdict::Skip
        } else if quirky.contains(&id) {
            v == Verdict::Quirk
        } else {
            v == Verdict::Pass
        }
    });
    assert!(wrong.is_empty(), "{wrong:#?}");
    snapshot(&summary, Profile::Documented);
}
