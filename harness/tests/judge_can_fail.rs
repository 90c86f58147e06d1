//! The judge can fail: the whole suite against a mock with one deliberate defect turns exactly
//! the cases that defect concerns to `fail`, and leaves every other verdict as it was.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use ewsconf::Verdict;
use ewsconf::case::{
    Case, CaseRequest, ExpectedAnswer, FolderName, ItemRef, RawRequest, StateKind,
};
use ewsconf::ews::{ResponseClass, ResponseCode};
use ewsconf::mock::Defects;

async fn verdicts(defects: Defects) -> BTreeMap<String, Verdict> {
    let mut cases = common::suite();
    // A broken server never settles the state: do not wait long for it.
    for case in &mut cases {
        case.poll_timeout = Duration::from_millis(500);
    }
    let summary = common::run_embedded(common::broken(defects), &cases, 8).await;
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
                | CaseRequest::Raw(RawRequest {
                    item_count: Some(_),
                    ..
                })
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

/// Runs the suite on a mock with the one defect `set` switches on, and fails unless exactly the
/// `concerned` cases fail (and at least one is concerned).
async fn check(set: impl FnOnce(&mut Defects), concerned: impl Fn(&Case) -> bool) {
    let mut defects = Defects::default();
    set(&mut defects);
    let cases = common::suite();
    let verdicts = verdicts(defects).await;
    let mut wrong = Vec::new();
    for case in &cases {
        // A case gated to other server versions skips on the mock's (see `server_versions`).
        let mock_version = ewsconf::mock::Profile::Intended.server_version_info();
        let want = if case.version_skip(Some(&mock_version)).is_some() {
            Verdict::Skip
        } else if concerned(case) {
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
    check(
        |d| d.accept_bad_save_settings = true,
        |c| expects_code(c, ResponseCode::ErrorInvalidSendItemSaveSettings),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answering_stale_keys_with_not_found_fails_the_change_key_cases() {
    // A message that accepts ErrorItemNotFound as well (the same id twice: Exchange may answer
    // either) is not concerned.
    check(
        |d| d.stale_as_not_found = true,
        |c| {
            matches!(&c.expect.answer, ExpectedAnswer::Messages(list) if list.iter().any(|m| {
                m.codes.contains(&ResponseCode::ErrorStaleObject)
                    && !m.codes.contains(&ResponseCode::ErrorItemNotFound)
            }))
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unthreaded_replies_and_forwards_fail_the_reply_cases() {
    use ewsconf::case::StateKind;
    check(
        |d| d.unthreaded_responses = true,
        |c| {
            c.expect.state.iter().any(|e| {
                matches!(
                    e.kind,
                    StateKind::ContainsThreaded { .. } | StateKind::ContainsMarked { .. }
                )
            })
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_messages_per_item_id_fail_every_send_item_case() {
    check(|d| d.duplicate_messages = true, sends_item_ids).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_the_draft_on_error_fails_the_cases_that_keep_it() {
    check(|d| d.lose_draft_on_error = true, errs_on_a_real_item).await;
}

/// The other answers Exchange is observed to give (issue 16, point 7) are accepted by the cases
/// they concern, each of which names its source.
#[test]
fn the_cases_accept_the_other_answers_exchange_gives() {
    use ResponseCode as C;
    let cases = common::suite();
    let accepted = [
        (
            "changekey/stale",
            0,
            C::ErrorIrresolvableConflict,
            "php-ews #88",
        ),
        (
            "changekey/current-after-change",
            0,
            C::ErrorIrresolvableConflict,
            "ews-managed-api #249",
        ),
        (
            "multiple/same-id-twice",
            1,
            C::ErrorStaleObject,
            "ErrorStaleObject",
        ),
        (
            "multiple/same-id-twice",
            1,
            C::ErrorItemNotFound,
            "ErrorItemNotFound",
        ),
        (
            "rights/outsider",
            0,
            C::ErrorItemNotFound,
            "office-js #2419",
        ),
        (
            "rights/outsider",
            0,
            C::ErrorConnectionFailed,
            "office-js #2419",
        ),
        (
            "rights/outsider-copy-to-principal",
            0,
            C::ErrorSavedItemFolderNotFound,
            "office-js #2419",
        ),
        (
            "changekey/missing",
            0,
            C::ErrorChangeKeyRequiredForWriteOperations,
            "ResponseCode",
        ),
    ];
    for (id, index, code, source) in accepted {
        let case = cases
            .iter()
            .find(|c| c.id == id)
            .unwrap_or_else(|| panic!("{id}"));
        let answers = [Some(&case.expect), case.quirk.as_ref().map(|q| &q.expect)];
        let accepts = answers.into_iter().flatten().any(|e| {
            matches!(&e.answer, ExpectedAnswer::Messages(list)
                if list.get(index).is_some_and(|m| m.codes.contains(&code)))
        });
        assert!(
            accepts,
            "{id}: message {} does not accept {code}",
            index + 1
        );
        let cited = [case.reference.as_str()]
            .into_iter()
            .chain(case.quirk.as_ref().map(|q| q.reference.as_str()));
        assert!(
            cited.into_iter().any(|r| r.contains(source)),
            "{id}: the reference does not cite {source}"
        );
    }
}
