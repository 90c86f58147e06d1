//! `ewsconf fuzz` against the embedded mock: clean under both profiles; against a deliberately
//! broken mock it finds the defect, shrinks it to one ItemId, and writes a case that
//! `ewsconf run` then fails on.

mod common;

use std::path::Path;
use std::time::Duration;

use ewsconf::Verdict;
use ewsconf::case::load_dir;
use ewsconf::fuzz::{FuzzOptions, FuzzReport, fuzz, sequence};
use ewsconf::mock::{Defects, MockConfig, Profile};
use ewsconf::schema::SchemaSet;
use ewsconf::target::Target;

fn options(cases: usize, seed: u64, regressions: Option<&Path>) -> FuzzOptions {
    FuzzOptions {
        cases,
        seed,
        jobs: 8,
        batch: 128,
        schemas: SchemaSet::embedded().unwrap(),
        regressions: regressions.map(Path::to_owned),
        max_body: ewsconf::limits::DEFAULT_MAX_BODY_BYTES,
        shrink_steps: 100,
        max_failures: 3,
    }
}

async fn fuzz_mock(config: MockConfig, options: &FuzzOptions) -> FuzzReport {
    let target = Target::embedded(config).await.unwrap();
    let report = fuzz(&target, options, |_| {}).await.expect("the loop runs");
    target.shutdown().await;
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mock_breaks_no_invariant_under_either_profile() {
    for profile in Profile::ALL {
        let report = fuzz_mock(MockConfig::with_profile(profile), &options(600, 11, None)).await;
        let failures: Vec<String> = report
            .failures
            .iter()
            .map(|f| format!("{}: {:?}", f.shrunk.name(), f.judgement.findings))
            .collect();
        assert!(failures.is_empty(), "{profile}: {failures:#?}");
        assert_eq!(report.tally.exchanges, 600);
        // Valid requests and at least a dozen kinds of malformation were exercised.
        assert!(
            report
                .tally
                .by_name
                .get("valid")
                .is_some_and(|s| s.exchanges > 200),
            "{:?}",
            report.tally.by_name
        );
        assert!(
            report.tally.by_name.len() > 12,
            "{:?}",
            report.tally.by_name.keys()
        );
        assert!(report.tally.invariants > 6 * 600);
    }
}

/// Fuzzes a mock with the one defect `set` switches on, from `seed`, and checks that the defect
/// is found, shrunk, written as a case and caught by that case alone.
async fn finds_shrinks_and_replays(set: impl FnOnce(&mut Defects), seed: u64) {
    // Arrange
    let mut defects = Defects::default();
    set(&mut defects);
    let dir = tempfile::tempdir().unwrap();
    let broken = common::broken(defects);

    // Act: fuzz the broken mock.
    let report = fuzz_mock(broken.clone(), &options(300, seed, Some(dir.path()))).await;

    // Assert: found, shrunk to a single ItemId, written, and failing when replayed.
    assert!(
        !report.failures.is_empty(),
        "the defect {defects:?} went unnoticed"
    );
    let smallest = report
        .failures
        .iter()
        .map(|f| f.shrunk.effective_shape().items.len())
        .min()
        .unwrap();
    assert_eq!(smallest, 1, "not shrunk to a single ItemId");
    let mut cases = load_dir(dir.path()).expect("the regression cases load");
    // On the broken mock the state never settles: do not wait the full poll timeout for it.
    for case in &mut cases {
        case.poll_timeout = Duration::from_secs(1);
    }
    assert_eq!(cases.len(), report.failures.len());
    let summary = common::run_embedded(broken, &cases, 2).await;
    let failed = summary
        .outcomes
        .iter()
        .filter(|o| o.verdict == Verdict::Fail)
        .count();
    assert!(
        failed >= 1,
        "no regression case fails on the broken mock: {:?}",
        summary
            .outcomes
            .iter()
            .map(|o| (&o.id, o.verdict))
            .collect::<Vec<_>>()
    );

    // The same cases pass on a mock without the defect.
    let summary =
        common::run_embedded(MockConfig::with_profile(Profile::Intended), &cases, 2).await;
    let wrong: Vec<_> = summary
        .outcomes
        .iter()
        .filter(|o| o.verdict != Verdict::Pass)
        .map(|o| (&o.id, o.verdict, &o.findings))
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_response_messages_for_one_item_id_are_caught() {
    finds_shrinks_and_replays(|d| d.duplicate_messages = true, 5).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draft_lost_on_error_is_caught() {
    finds_shrinks_and_replays(|d| d.lose_draft_on_error = true, 6).await;
}

#[test]
fn the_same_seed_sends_the_same_sequence() {
    assert_eq!(sequence(99, 500), sequence(99, 500));
    assert_ne!(sequence(99, 500), sequence(100, 500));
}
