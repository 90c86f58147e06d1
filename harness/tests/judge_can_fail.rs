//! The judge can fail: the whole suite against a mock with one deliberate defect turns exactly
//! the cases that defect concerns to `fail`, and leaves every other verdict as it was.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use ewsconf::Verdict;
use ewsconf::case::{Case, CaseRequest, ExpectedAnswer, FolderName, ItemRef, StateKind};
use ewsconf::ews::{ResponseClass, ResponseCode};
use ewsconf::mock::Defects;
use ewsconf::run::{Interrupt, run};
use ewsconf::target::Target;

async fn verdicts(defects: Defects) -> BTreeMap<String, Verdict> {
    let mut cases = common::suite();
    // A broken server never settles the state: do not wait long for it.
    for case in &mut cases {
        case.poll_timeout = Duration::from_millis(500);
    }
    let target = Target::embedded(common::broken(defects)).await.unwrap();
    let options = common::run_options(8);
    let summary = run(&target, &cases, &options, &Interrupt::default(), |_| {})
        .await
        .unwrap();
    target.shutdown().await;
    summary
        .outcomes
        .into_iter()
        .map(|o| (o.id, o.verdict))
        .collect()
}

fn expects_code(case: &Case, code: ResponseCode) -> bool {
    matches!(&case.expect.answer, ExpectedAnswer::Messages(list) if list.iter().any(|m| m.codes.contains(&code)))
}

fn sends_item_ids(case: &Case) -> bool {
    matches!(&case.expect.answer, ExpectedAnswer::Messages(_))
        && matches!(
            &case.request,
            CaseRequest::Typed { .. }
                | CaseRequest::Raw {
                    item_count: Some(_),
                    ..
                }
        )
}

/// An item of the case's own setup gets an Error: the defect deletes it, which the state or
/// a later mention of the same item shows.
fn errs_on_a_real_item(case: &Case) -> bool {
    let ExpectedAnswer::Messages(list) = &case.expect.answer else {
        return false;
    };
    match &case.request {
        CaseRequest::Typed { item_ids, .. } => {
            let mut sent = Vec::new();
            item_ids.iter().zip(list).any(|(r, m)| {
                let name = match r {
                    ItemRef::Item(n) | ItemRef::Stale(n) | ItemRef::NoChangeKey(n) => Some(n),
                    _ => None,
                };
                if m.class == ResponseClass::Success {
                    sent.extend(name);
                    return false;
                }
                // An item already sent earlier in the request is gone: deleting it changes nothing.
                m.class == ResponseClass::Error && name.is_some_and(|n| !sent.contains(&n))
            })
        }
        CaseRequest::Raw { .. } => {
            list.iter().any(|m| m.class == ResponseClass::Error)
                && case.expect.state.iter().any(|s| {
                    s.folder == FolderName::Drafts && matches!(s.kind, StateKind::Contains(_))
                })
        }
    }
}

async fn check(defects: Defects, concerned: impl Fn(&Case) -> bool) {
    let cases = common::suite();
    let verdicts = verdicts(defects).await;
    let mut wrong = Vec::new();
    for case in &cases {
        let want = if concerned(case) {
            Verdict::Fail
        } else {
            Verdict::Pass
        };
        if verdicts[&case.id] != want {
            wrong.push(format!("{}: {} (want {want})", case.id, verdicts[&case.id]));
        }
    }
    assert!(cases.iter().any(&concerned), "no case concerns {defects:?}");
    assert!(wrong.is_empty(), "{defects:?}: {wrong:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepting_false_with_a_folder_fails_the_save_settings_cases() {
    let defects = Defects {
        accept_bad_save_settings: true,
        ..Defects::default()
    };
    check(defects, |c| {
        expects_code(c, ResponseCode::ErrorInvalidSendItemSaveSettings)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answering_stale_keys_with_not_found_fails_the_change_key_cases() {
    let defects = Defects {
        stale_as_not_found: true,
        ..Defects::default()
    };
    check(defects, |c| expects_code(c, ResponseCode::ErrorStaleObject)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_messages_per_item_id_fail_every_send_item_case() {
    let defects = Defects {
        duplicate_messages: true,
        ..Defects::default()
    };
    check(defects, sends_item_ids).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_the_draft_on_error_fails_the_cases_that_keep_it() {
    let defects = Defects {
        lose_draft_on_error: true,
        ..Defects::default()
    };
    check(defects, errs_on_a_real_item).await;
}
