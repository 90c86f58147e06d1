//! Baselines for users: stable across runs against the same server, and a one-line change in the
//! server's behaviour shows as `changed` on exactly the cases it affects.

mod common;

use std::collections::BTreeSet;

use ewsconf::baseline;
use ewsconf::case::ExpectedAnswer;
use ewsconf::ews::ResponseCode;
use ewsconf::mock::{Defects, MockConfig, Profile};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runs_against_the_same_profile_write_identical_baselines() {
    let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    baseline::update(
        &common::run_suite(MockConfig::with_profile(Profile::Documented)).await,
        one.path(),
        &[],
    )
    .unwrap();
    baseline::update(
        &common::run_suite(MockConfig::with_profile(Profile::Documented)).await,
        two.path(),
        &[],
    )
    .unwrap();
    let (a, b) = (
        common::files_below(one.path()),
        common::files_below(two.path()),
    );
    assert_eq!(a.len(), common::suite().len());
    for ((name, x), (_, y)) in a.iter().zip(&b) {
        assert_eq!(
            String::from_utf8_lossy(x),
            String::from_utf8_lossy(y),
            "the baseline of {} differs between two runs",
            name.display()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_line_change_in_the_server_marks_exactly_the_affected_cases_changed() {
    // Arrange: a baseline of the mock as it is.
    let dir = tempfile::tempdir().unwrap();
    baseline::update(
        &common::run_suite(MockConfig::with_profile(Profile::Intended)).await,
        dir.path(),
        &[],
    )
    .unwrap();
    // The cases whose answer depends on a change key that does not match (not those that
    // accept ErrorItemNotFound in the same message, such as the same id twice).
    let stale_cases: BTreeSet<String> = common::suite()
        .into_iter()
        .filter(|c| match &c.expect.answer {
            ExpectedAnswer::Messages(list) => list.iter().any(|m| {
                m.codes.contains(&ResponseCode::ErrorStaleObject)
                    && !m.codes.contains(&ResponseCode::ErrorItemNotFound)
            }),
            _ => false,
        })
        .map(|c| c.id)
        .collect();
    assert!(
        !stale_cases.is_empty(),
        "the suite has no stale-change-key case"
    );

    // Act: the same run against a mock that answers stale change keys with another code.
    let mut summary = common::run_suite(common::broken(Defects {
        stale_as_not_found: true,
        ..Defects::default()
    }))
    .await;
    baseline::compare(&mut summary, dir.path(), &[]).unwrap();

    // Assert
    let changed: BTreeSet<String> = summary
        .outcomes
        .iter()
        .filter(|o| o.changed.is_some())
        .map(|o| o.id.clone())
        .collect();
    assert_eq!(changed, stale_cases);
    let diff = summary
        .outcomes
        .iter()
        .find_map(|o| o.changed.clone())
        .unwrap();
    assert!(
        diff.contains("-          <m:ResponseCode>ErrorStaleObject</m:ResponseCode>"),
        "{diff}"
    );
    assert!(
        diff.contains("+          <m:ResponseCode>ErrorItemNotFound</m:ResponseCode>"),
        "{diff}"
    );
    let terminal = ewsconf::report::terminal::summary(&summary, false);
    assert!(
        terminal.contains("ErrorItemNotFound"),
        "the terminal shows the diff: {terminal}"
    );
}
