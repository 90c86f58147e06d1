//! Absence is settled by a positive control: a `lacks` sentence holds only after the runner's
//! marker, sent after the request under test, has arrived where the watched folder gets its
//! items. Driven over loopback HTTP against the embedded mock with a delivery delay.

mod common;

use std::time::{Duration, Instant};

use ewsconf::Verdict;
use ewsconf::case::{Case, StateKind};
use ewsconf::mock::{Defects, MockConfig, Profile};

fn suite_case(id: &str) -> Case {
    common::suite()
        .into_iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("the suite has {id}"))
}

/// A refused SendItem whose only state sentences are absences, as in the gromox report: nothing
/// but a late delivery can break them.
fn refused_with_only_absences(poll_timeout: Duration) -> Case {
    let mut case = suite_case("faults/wrong-element-order");
    case.expect
        .state
        .retain(|e| matches!(e.kind, StateKind::Lacks(_)));
    assert_eq!(case.expect.state.len(), 2, "{:?}", case.expect.state);
    case.poll_timeout = poll_timeout;
    case
}

fn delayed(delay: Duration, defects: Defects) -> MockConfig {
    MockConfig {
        delivery_delay: delay,
        defects,
        ..MockConfig::with_profile(Profile::Intended)
    }
}

/// The mock executes what it refuses, as gromox executed a SendItem with an unknown element.
fn executes_refused() -> Defects {
    Defects {
        execute_refused: true,
        ..Defects::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_request_that_is_sent_a_second_later_fails_its_lacks_checks() {
    // Arrange: the mock answers the fault but sends the draft all the same, delivering (and
    // filing the copy) 1 s later; one early look would see nothing yet.
    let config = delayed(Duration::from_secs(1), executes_refused());
    let mut whole = suite_case("faults/wrong-element-order");
    whole.poll_timeout = Duration::from_secs(5);
    let mut only_absences = refused_with_only_absences(Duration::from_secs(5));
    only_absences.id = "faults/wrong-element-order-absences".into();

    // Act
    let summary = common::run_embedded(config, &[only_absences, whole], 2).await;

    // Assert: both are `fail`, on the absences, with the answer itself as expected.
    for outcome in &summary.outcomes {
        assert_eq!(
            outcome.verdict,
            Verdict::Fail,
            "{}: {outcome:#?}",
            outcome.id
        );
        assert!(
            outcome
                .answer
                .as_deref()
                .is_some_and(|a| a.contains("ErrorSchemaValidation")),
            "{}: {:?}",
            outcome.id,
            outcome.answer
        );
        for sentence in [
            "recipient:inbox lacks draft",
            "principal:sentitems lacks draft",
        ] {
            let check = outcome
                .state
                .iter()
                .find(|s| s.expectation == sentence)
                .unwrap_or_else(|| panic!("{}: no check {sentence}", outcome.id));
            assert!(!check.held, "{}: {check:?}", outcome.id);
            assert_eq!(check.observed, "1 item", "{}: {check:?}", outcome.id);
            assert!(
                outcome
                    .findings
                    .iter()
                    .any(|f| f.check == format!("state {sentence}")),
                "{}: {:?}",
                outcome.id,
                outcome.findings
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_same_delay_and_no_defect_the_cases_watching_absence_still_pass() {
    // Arrange: every suite case with a `lacks` sentence, against a mock whose mail takes 1 s.
    let cases: Vec<Case> = common::suite()
        .into_iter()
        .filter(|c| {
            c.expect
                .state
                .iter()
                .any(|e| matches!(e.kind, StateKind::Lacks(_)))
        })
        .collect();
    assert!(
        cases.len() >= 40,
        "only {} cases watch absence",
        cases.len()
    );
    let info = Profile::Intended.server_version_info();
    let config = delayed(Duration::from_secs(1), Defects::default());

    // Act
    let started = Instant::now();
    let summary = common::run_embedded(config, &cases, 16).await;
    let elapsed = started.elapsed();

    // Assert: each passes (or is gated away by version), every absence confirmed and held.
    for (case, outcome) in cases.iter().zip(&summary.outcomes) {
        let wanted = if case.version_skip(Some(&info)).is_some() {
            Verdict::Skip
        } else {
            Verdict::Pass
        };
        assert_eq!(outcome.verdict, wanted, "{}: {outcome:#?}", outcome.id);
        assert!(
            outcome.state.iter().all(|s| s.held),
            "{}: {:?}",
            outcome.id,
            outcome.state
        );
    }
    // About one delivery time per case, overlapped with the state polling: 16 at once, so the
    // run is a few delivery times, not one per sentence (which would be well over 60 s).
    eprintln!(
        "{} cases watching absence, 1 s delivery delay, 16 at once: {elapsed:?}",
        cases.len()
    );
    assert!(elapsed < Duration::from_secs(30), "{elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_marker_that_does_not_arrive_in_time_makes_the_case_error_not_pass() {
    // Arrange: mail takes 3 s and the case looks for 1 s, so its marker never arrives in time;
    // nothing at all is sent by the request under test (no defect), yet absence is not proven.
    let config = delayed(Duration::from_secs(3), Defects::default());
    let case = refused_with_only_absences(Duration::from_secs(1));

    // Act
    let summary = common::run_embedded(config, &[case], 1).await;

    // Assert
    let outcome = &summary.outcomes[0];
    assert_eq!(outcome.verdict, Verdict::Error, "{outcome:#?}");
    let reason = outcome.reason.as_deref().unwrap_or("");
    assert!(
        reason.starts_with("cannot confirm absence: the marker")
            && reason.contains("did not arrive"),
        "{reason}"
    );
    assert!(outcome.state.iter().all(|s| !s.held), "{:?}", outcome.state);
    assert!(
        outcome
            .state
            .iter()
            .all(|s| s.observed.contains("cannot confirm absence")),
        "{:?}",
        outcome.state
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_delay_the_executed_refusal_fails_as_well() {
    // The defect proves itself on a fast server too: the message is delivered before the answer.
    let summary = common::run_embedded(
        delayed(Duration::ZERO, executes_refused()),
        &[refused_with_only_absences(Duration::from_secs(2))],
        1,
    )
    .await;
    let outcome = &summary.outcomes[0];
    assert_eq!(outcome.verdict, Verdict::Fail, "{outcome:#?}");
}
