//! The reference mock end to end, over real HTTP on loopback, driven by the project's own client.

mod common;

use std::time::Duration;

use common::{BOSS, CAROL, HELPER, MALLORY, Mock, OK, err};
use ewsconf::ews::{
    ConnectingSid, DistinguishedFolderId, DistinguishedFolderName as Folder, FindItem, Item,
    ItemId, RequestHeaders, ResponseClass, ResponseCode, ResponseEnvelope, SendItem,
};
use ewsconf::mock::{MockConfig, Profile};
use ewsconf::schema::SchemaSet;
use ewsconf::target::calls::CallError;
use ewsconf::target::{Auth, Post};

#[tokio::test]
async fn save_rules_matrix_puts_the_copy_where_the_request_says() {
    let mock = Mock::start(Profile::Intended).await;
    // true, no folder: copy in Sent Items.
    let id = mock.draft(BOSS, BOSS, "m1 save-default", &[CAROL]).await;
    assert_eq!(mock.send(BOSS, SendItem::new([id])).await, vec![OK]);
    assert_eq!(mock.count(BOSS, Folder::SentItems, "m1 ").await, 1);
    assert_eq!(mock.count(BOSS, Folder::Drafts, "m1 ").await, 0);
    // true, a folder: copy in that folder.
    let id = mock.draft(BOSS, BOSS, "m2 save-inbox", &[CAROL]).await;
    let send = SendItem::new([id]).saved_item_folder_id(Folder::Inbox);
    assert_eq!(mock.send(BOSS, send).await, vec![OK]);
    assert_eq!(mock.count(BOSS, Folder::Inbox, "m2 ").await, 1);
    assert_eq!(mock.count(BOSS, Folder::SentItems, "m2 ").await, 0);
    // false, no folder: no copy.
    let id = mock.draft(BOSS, BOSS, "m3 nosave", &[CAROL]).await;
    assert_eq!(
        mock.send(BOSS, SendItem::new([id]).save_item_to_folder(false))
            .await,
        vec![OK]
    );
    assert_eq!(mock.count(BOSS, Folder::SentItems, "m3 ").await, 0);
    assert_eq!(mock.count(BOSS, Folder::Drafts, "m3 ").await, 0);
    // false with a folder: refused, nothing moves.
    let id = mock.draft(BOSS, BOSS, "m4 bad-settings", &[CAROL]).await;
    let send = SendItem::new([id])
        .save_item_to_folder(false)
        .saved_item_folder_id(Folder::SentItems);
    assert_eq!(
        mock.send(BOSS, send).await,
        vec![err(ResponseCode::ErrorInvalidSendItemSaveSettings)]
    );
    assert_eq!(mock.count(BOSS, Folder::Drafts, "m4 ").await, 1);
    assert_eq!(mock.count(CAROL, Folder::Inbox, "m4 ").await, 0);
    // Every sent message reached the recipient.
    for marker in ["m1 ", "m2 ", "m3 "] {
        assert_eq!(
            mock.count(CAROL, Folder::Inbox, marker).await,
            1,
            "{marker}"
        );
    }
}

/// A mock on threads of its own (one, or two, each with a current-thread runtime) serves the
/// same answers, and stops when told to, whatever runtime the caller has.
#[tokio::test]
async fn a_mock_on_threads_of_its_own_serves_and_stops() {
    for threads in [1, 2] {
        let mock = Mock::with(MockConfig {
            server_threads: threads,
            ..MockConfig::with_profile(Profile::Intended)
        })
        .await;
        let id = mock.draft(BOSS, BOSS, "own-thread send", &[CAROL]).await;
        assert_eq!(mock.send(BOSS, SendItem::new([id])).await, vec![OK]);
        assert_eq!(mock.count(BOSS, Folder::SentItems, "own-thread ").await, 1);
        assert_eq!(mock.count(CAROL, Folder::Inbox, "own-thread ").await, 1);
        let url = mock.server.url().to_owned();
        tokio::time::timeout(Duration::from_secs(10), mock.server.shutdown())
            .await
            .expect("the mock stops");
        let post = Post {
            body: b"<x/>".to_vec().into(),
            content_type: "text/xml".into(),
            soap_action: None,
        };
        let after = mock.client.post(&Mock::account(BOSS).auth, post).await;
        assert!(
            after.is_err(),
            "{url} still answers after shutdown with {threads} threads"
        );
    }
}

#[tokio::test]
async fn per_item_errors_come_back_in_order_with_successes() {
    let mock = Mock::start(Profile::Intended).await;
    let good = mock.draft(BOSS, BOSS, "mix good", &[CAROL]).await;
    let stale = mock.draft(BOSS, BOSS, "mix stale", &[CAROL]).await;
    let no_rcpt = mock.draft(BOSS, BOSS, "mix norcpt", &[]).await;
    // Exchange creates a task only in a tasks folder (ErrorCannotCreateTaskInNonTaskFolder).
    let task = mock
        .client
        .create_in(
            &Mock::account(BOSS),
            ewsconf::target::calls::folder_of(BOSS, Folder::Tasks),
            Item::task("mix task"),
        )
        .await
        .expect("task created");
    let stale = ItemId::new(stale.id).with_change_key("CQAAAAEAAAB/AAAAAAAAAA==");
    let malformed = ItemId::new("%BadItemId%");
    // Well-formed, of nothing: the good draft's id once it has been sent.
    let send = SendItem::new([good.clone(), stale, no_rcpt, task, malformed, good]);
    assert_eq!(
        mock.send(BOSS, send).await,
        vec![
            OK,
            err(ResponseCode::ErrorStaleObject),
            err(ResponseCode::ErrorMissingRecipients),
            err(ResponseCode::ErrorInvalidItemForOperationSendItem),
            err(ResponseCode::ErrorInvalidIdMalformed),
            err(ResponseCode::ErrorItemNotFound),
        ]
    );
    // The failures changed nothing.
    assert_eq!(mock.count(BOSS, Folder::Drafts, "mix ").await, 2);
    assert_eq!(mock.count(BOSS, Folder::Tasks, "mix ").await, 1);
}

#[tokio::test]
async fn transport_delivers_and_reports() {
    let mock = Mock::start(Profile::Intended).await;
    let id = mock
        .draft(
            BOSS,
            BOSS,
            "tr1 bounce",
            &[
                CAROL,
                "ghost1@example.com",
                "ghost2@example.com",
                "ext@elsewhere.org",
            ],
        )
        .await;
    assert_eq!(mock.send(BOSS, SendItem::new([id])).await, vec![OK]);
    assert_eq!(mock.count(CAROL, Folder::Inbox, "tr1 ").await, 1);
    let reports = mock.find(BOSS, Folder::Inbox, "tr1 ").await;
    assert_eq!(reports.len(), 1, "one NDR for both bad recipients");
    assert_eq!(
        reports[0].item_class.as_deref(),
        Some("REPORT.IPM.Note.NDR")
    );
    let ndr = mock.get(BOSS, reports[0].item_id.clone().unwrap()).await;
    let body = ndr.body.unwrap().content;
    assert!(
        body.contains("ghost1@example.com") && body.contains("ghost2@example.com"),
        "{body}"
    );
    assert!(
        !body.contains(CAROL) && !body.contains("elsewhere.org"),
        "{body}"
    );

    // A delivery receipt when asked.
    let mut item = Item::message("tr2 receipt").to(CAROL);
    item.is_delivery_receipt_requested = Some(true);
    let id = mock.create(BOSS, BOSS, item).await;
    assert_eq!(mock.send(BOSS, SendItem::new([id])).await, vec![OK]);
    let reports = mock.find(BOSS, Folder::Inbox, "tr2 ").await;
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].item_class.as_deref(), Some("REPORT.IPM.Note.DR"));
}

#[tokio::test]
async fn delayed_delivery_arrives_later() {
    let mock = Mock::with(MockConfig {
        delivery_delay: Duration::from_millis(300),
        ..MockConfig::with_profile(Profile::Intended)
    })
    .await;
    let id = mock.draft(BOSS, BOSS, "late1", &[CAROL]).await;
    assert_eq!(mock.send(BOSS, SendItem::new([id])).await, vec![OK]);
    assert_eq!(mock.count(CAROL, Folder::Inbox, "late1").await, 0);
    let seen = mock.count_within(CAROL, Folder::Inbox, "late1", 1).await;
    assert_eq!(seen, 1);
}

/// Fails unless each `(owner, folder, n)` holds `n` items whose subject contains `marker`.
async fn assert_counts(
    mock: &Mock,
    marker: &str,
    expected: &[(&str, Folder, usize)],
    context: &str,
) {
    for &(owner, folder, n) in expected {
        assert_eq!(
            mock.count(owner, folder, marker).await,
            n,
            "{context}: {marker:?} in {owner}'s {folder}"
        );
    }
}

/// The delegate sends a draft from `owner`'s Drafts asking for the copy in `copy_to`: the message
/// reaches Carol either way; where `profile` reproduces the quirk the draft stays and no copy is
/// kept, otherwise the draft leaves and the copy lands in `copy_owner`'s Sent Items. `owner`'s
/// Sent Items never gets one.
async fn delegate_sends(
    mock: &Mock,
    profile: Profile,
    marker: &str,
    owner: &str,
    copy_to: DistinguishedFolderId,
    copy_owner: &str,
) {
    let quirky = profile == Profile::Documented;
    let id = mock
        .draft(owner, HELPER, &format!("{marker}scenario"), &[CAROL])
        .await;
    let send = SendItem::new([id]).saved_item_folder_id(copy_to);
    assert_eq!(mock.send(HELPER, send).await, vec![OK], "{profile}");
    let expected = [
        (CAROL, Folder::Inbox, 1),
        (owner, Folder::Drafts, usize::from(quirky)),
        (copy_owner, Folder::SentItems, usize::from(!quirky)),
        (owner, Folder::SentItems, 0),
    ];
    assert_counts(mock, marker, &expected, &profile.to_string()).await;
}

#[tokio::test]
async fn delegate_quirks_follow_the_profile() {
    for profile in [Profile::Documented, Profile::Intended] {
        let mock = Mock::start(profile).await;
        let in_boss_sent_items = DistinguishedFolderId::in_mailbox(Folder::SentItems, BOSS);

        // A: the principal's draft, sentitems naming no mailbox.
        let no_mailbox = DistinguishedFolderId::new(Folder::SentItems);
        delegate_sends(&mock, profile, "qa ", BOSS, no_mailbox, HELPER).await;

        // A, worked around: the principal's mailbox named.
        let id = mock.draft(BOSS, HELPER, "qw workaround", &[CAROL]).await;
        let send = SendItem::new([id]).saved_item_folder_id(in_boss_sent_items.clone());
        assert_eq!(mock.send(HELPER, send).await, vec![OK], "{profile}");
        let expected = [(BOSS, Folder::SentItems, 1), (BOSS, Folder::Drafts, 0)];
        assert_counts(&mock, "qw ", &expected, &profile.to_string()).await;

        // B: the delegate's own draft, copy to the principal's Sent Items.
        delegate_sends(&mock, profile, "qb ", HELPER, in_boss_sent_items, BOSS).await;
    }
}

#[tokio::test]
async fn rights_decide_who_may_send() {
    let mock = Mock::start(Profile::Intended).await;
    let id = mock.draft(BOSS, BOSS, "r1 boss-draft", &[CAROL]).await;
    assert_eq!(
        mock.send(MALLORY, SendItem::new([id.clone()])).await,
        vec![err(ResponseCode::ErrorAccessDenied)]
    );
    assert_eq!(mock.count(BOSS, Folder::Drafts, "r1 ").await, 1);
    // The delegate sends on behalf: From is the boss, Sender the helper.
    assert_eq!(mock.send(HELPER, SendItem::new([id])).await, vec![OK]);
    let got = mock.find(CAROL, Folder::Inbox, "r1 ").await;
    let got = mock.get(CAROL, got[0].item_id.clone().unwrap()).await;
    assert_eq!(
        got.from.and_then(|m| m.email_address).as_deref(),
        Some(BOSS)
    );
    assert_eq!(
        got.sender.and_then(|m| m.email_address).as_deref(),
        Some(HELPER)
    );
    // Mallory cannot even look into the boss's Drafts.
    let err = mock
        .client
        .find(
            &Mock::account(MALLORY),
            ewsconf::target::calls::folder_of(BOSS, Folder::Drafts),
            "r1",
        )
        .await
        .unwrap_err();
    assert_eq!(err.response_code(), Some(ResponseCode::ErrorAccessDenied));
}

#[tokio::test]
async fn resending_an_item_in_sent_items_replaces_it() {
    let mock = Mock::start(Profile::Intended).await;
    let id = mock.draft(BOSS, BOSS, "rs1", &[CAROL]).await;
    assert_eq!(mock.send(BOSS, SendItem::new([id])).await, vec![OK]);
    let sent = mock.find(BOSS, Folder::SentItems, "rs1").await;
    let old = sent[0].item_id.clone().unwrap();
    assert_eq!(
        mock.send(BOSS, SendItem::new([old.clone()])).await,
        vec![OK]
    );
    let sent = mock.find(BOSS, Folder::SentItems, "rs1").await;
    assert_eq!(sent.len(), 1);
    assert_ne!(sent[0].item_id.as_ref().map(|i| &i.id), Some(&old.id));
    assert_eq!(mock.count(CAROL, Folder::Inbox, "rs1").await, 2);
}

/// On the caller's runtime and on a thread per core, which share one store between threads.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_senders_lose_and_duplicate_nothing() {
    for server_threads in [0, 2] {
        concurrent_senders_against(MockConfig {
            server_threads,
            ..MockConfig::with_profile(Profile::Intended)
        })
        .await;
    }
}

async fn concurrent_senders_against(config: MockConfig) {
    let threads = config.server_threads;
    let mock = std::sync::Arc::new(Mock::with(config).await);
    let mut tasks = Vec::new();
    for t in 0..32 {
        let mock = mock.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..200 {
                let subject = format!("cc t{t:02} i{i:03}");
                let id = mock.draft(BOSS, BOSS, &subject, &[CAROL]).await;
                assert_eq!(mock.send(BOSS, SendItem::new([id])).await, vec![OK]);
            }
        }));
    }
    for t in tasks {
        t.await.expect("sender task");
    }
    let sent = mock.find(BOSS, Folder::SentItems, "cc ").await;
    let mut subjects: Vec<String> = sent.into_iter().filter_map(|i| i.subject).collect();
    assert_eq!(
        subjects.len(),
        32 * 200,
        "copies in Sent Items ({threads} threads)"
    );
    subjects.sort();
    subjects.dedup();
    assert_eq!(
        subjects.len(),
        32 * 200,
        "every draft has exactly one copy in Sent Items ({threads} threads)"
    );
    assert_eq!(mock.count(BOSS, Folder::Drafts, "cc ").await, 0);
    assert_eq!(mock.count(CAROL, Folder::Inbox, "cc ").await, 32 * 200);

    // 32 racers, one draft: one Success, the rest ErrorItemNotFound.
    let id = mock.draft(BOSS, BOSS, "race1", &[CAROL]).await;
    let racers: Vec<_> = (0..32)
        .map(|_| {
            let mock = mock.clone();
            let id = id.clone();
            tokio::spawn(async move { mock.send(BOSS, SendItem::new([id])).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for r in racers {
        outcomes.extend(r.await.unwrap());
    }
    assert_eq!(outcomes.iter().filter(|o| **o == OK).count(), 1);
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == err(ResponseCode::ErrorItemNotFound))
            .count(),
        31
    );
    assert_eq!(mock.count(CAROL, Folder::Inbox, "race1").await, 1);
}

async fn raw(
    mock: &Mock,
    user: &str,
    password: &str,
    body: &[u8],
    content_type: &str,
) -> (u16, Vec<u8>) {
    mock.post(
        &Auth::basic(user, password),
        body.to_vec(),
        content_type,
        None,
    )
    .await
}

fn fault_code(body: &[u8]) -> ResponseCode {
    let envelope = ResponseEnvelope::parse(body).expect("an EWS envelope");
    envelope
        .fault()
        .and_then(|f| f.response_code())
        .expect("a fault with a code")
}

const SEND: &str = r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">HEADER<soap:Body>BODY</soap:Body></soap:Envelope>"#;

fn envelope(header: &str, body: &str) -> String {
    SEND.replace("HEADER", header).replace("BODY", body)
}

#[tokio::test]
async fn bad_input_gets_exchanges_faults_and_statuses() {
    let mock = Mock::start(Profile::Documented).await;
    let ok_body = r#"<m:SendItem SaveItemToFolder="true"><m:ItemIds><t:ItemId Id="AAAA"/></m:ItemIds></m:SendItem>"#;
    let cases: Vec<(&str, String, u16, Option<ResponseCode>)> = vec![
        (
            "not well-formed",
            "<soap:Envelope><m:SendItem".into(),
            500,
            Some(ResponseCode::ErrorSchemaValidation),
        ),
        (
            "schema-invalid",
            envelope("", r#"<m:SendItem><m:ItemIds/></m:SendItem>"#),
            500,
            Some(ResponseCode::ErrorSchemaValidation),
        ),
        (
            "unknown operation",
            envelope("", "<m:LaunchRocket/>"),
            500,
            Some(ResponseCode::ErrorInvalidRequest),
        ),
        (
            "bad version",
            envelope(
                r#"<soap:Header><t:RequestServerVersion Version=" Exchange2007_SP1"/></soap:Header>"#,
                ok_body,
            ),
            500,
            // Exchange 2016/2019/SE's answer (exchangelib #927), which the documented mock gives.
            Some(ResponseCode::ErrorInvalidRequest),
        ),
        (
            "doctype",
            format!("<!DOCTYPE x [<!ENTITY a \"b\">]>{}", envelope("", ok_body)),
            500,
            Some(ResponseCode::ErrorSchemaValidation),
        ),
        ("well-formed malformed id", envelope("", ok_body), 200, None),
    ];
    for (name, body, status, code) in cases {
        let (got_status, got_body) = raw(
            &mock,
            BOSS,
            "secret",
            body.as_bytes(),
            "text/xml; charset=utf-8",
        )
        .await;
        assert_eq!(got_status, status, "{name}");
        if let Some(code) = code {
            assert_eq!(fault_code(&got_body), code, "{name}");
        }
        let validation = SchemaSet::embedded().unwrap().validate(&got_body);
        assert!(
            validation.errors.is_empty(),
            "{name}: the mock's answer is schema-invalid: {:?}",
            validation.errors
        );
    }
    let ok = envelope("", ok_body);
    assert_eq!(
        raw(&mock, BOSS, "wrong", ok.as_bytes(), "text/xml").await.0,
        401
    );
    assert_eq!(
        raw(
            &mock,
            "nobody@example.com",
            "secret",
            ok.as_bytes(),
            "text/xml"
        )
        .await
        .0,
        401
    );
    assert_eq!(
        raw(&mock, BOSS, "secret", ok.as_bytes(), "application/json")
            .await
            .0,
        415
    );
    let huge = vec![b' '; 17 * 1024 * 1024];
    assert_eq!(raw(&mock, BOSS, "secret", &huge, "text/xml").await.0, 413);

    let http = reqwest::Client::new();
    let anonymous = http
        .post(mock.server.url())
        .body(ok.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    assert!(anonymous.headers().contains_key("www-authenticate"));
    let get = http.get(mock.server.url()).send().await.unwrap();
    assert_eq!(get.status().as_u16(), 405);
    assert!(
        get.text()
            .await
            .unwrap()
            .contains("POST SOAP 1.1 requests here")
    );
    let xsd = http
        .get(mock.server.url().replace("Exchange.asmx", "types.xsd"))
        .send()
        .await
        .unwrap();
    assert_eq!(xsd.status().as_u16(), 200);
    assert!(xsd.text().await.unwrap().contains("ResponseClassType"));
}

/// FindItem in Drafts as `user`, impersonating `sid`.
async fn find_as(mock: &Mock, user: &str, sid: ConnectingSid) -> Result<ResponseClass, CallError> {
    let headers = RequestHeaders {
        exchange_impersonation: Some(sid),
        ..RequestHeaders::default()
    };
    let find = FindItem::shallow(Folder::Drafts);
    let messages = mock
        .client
        .messages(&Mock::account(user), &headers, find)
        .await?;
    Ok(messages[0].response_class)
}

#[tokio::test]
async fn impersonation_acts_as_the_named_user() {
    let mock = Mock::start(Profile::Intended).await;
    let svc = "svc@example.com";
    let boss_sid = mock.server.store().directory.users()[0].sid.clone();
    for sid in [
        ConnectingSid::PrimarySmtpAddress(BOSS.into()),
        ConnectingSid::SmtpAddress(BOSS.into()),
        ConnectingSid::PrincipalName(BOSS.into()),
        ConnectingSid::Sid(boss_sid),
    ] {
        let class = find_as(&mock, svc, sid.clone())
            .await
            .unwrap_or_else(|e| panic!("impersonated FindItem as {sid:?}: {e}"));
        assert_eq!(class, ResponseClass::Success, "{sid:?}");
    }
    let boss = ConnectingSid::PrimarySmtpAddress(BOSS.into());
    let denied = find_as(&mock, MALLORY, boss).await.unwrap_err();
    assert_eq!(
        denied.response_code(),
        Some(ResponseCode::ErrorImpersonateUserDenied)
    );
    let ghost = ConnectingSid::PrimarySmtpAddress("ghost@example.com".into());
    let unknown = find_as(&mock, svc, ghost).await.unwrap_err();
    assert_eq!(
        unknown.response_code(),
        Some(ResponseCode::ErrorNonExistentMailbox)
    );
}

#[tokio::test]
async fn update_item_send_and_save_copy_sends_the_draft() {
    let mock = Mock::start(Profile::Intended).await;
    let id = mock.draft(BOSS, BOSS, "up1 draft", &[CAROL]).await;
    let update = ewsconf::ews::UpdateItem::send_and_save_copy(id, "up1 sent");
    let messages = mock
        .client
        .messages(&Mock::account(BOSS), &Default::default(), update)
        .await
        .unwrap();
    assert_eq!(messages[0].response_class, ResponseClass::Success);
    assert_eq!(mock.count(BOSS, Folder::SentItems, "up1 sent").await, 1);
    assert_eq!(mock.count(BOSS, Folder::Drafts, "up1").await, 0);
    assert_eq!(mock.count(CAROL, Folder::Inbox, "up1 sent").await, 1);
}

#[tokio::test]
async fn shapes_may_name_any_schema_field_uri_but_not_a_made_up_one() {
    let mock = Mock::start(Profile::Documented).await;
    // exchangelib's GetFolder asks for folder fields this mock does not model.
    let get_folder = |uris: &[&str]| {
        let props: String = uris
            .iter()
            .map(|u| format!(r#"<t:FieldURI FieldURI="{u}"/>"#))
            .collect();
        envelope(
            "",
            &format!(
                r#"<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>{props}</t:AdditionalProperties></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="drafts"/></m:FolderIds></m:GetFolder>"#
            ),
        )
    };
    let known = get_folder(&[
        "folder:ChildFolderCount",
        "folder:DisplayName",
        "folder:DistinguishedFolderId",
        "folder:EffectiveRights",
        "folder:FolderClass",
    ]);
    let (status, body) = raw(&mock, BOSS, "secret", known.as_bytes(), "text/xml").await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let response = ResponseEnvelope::parse(&body).expect("an EWS envelope");
    assert!(response.fault().is_none());

    let made_up = get_folder(&["folder:NoSuchField"]);
    let (status, body) = raw(&mock, BOSS, "secret", made_up.as_bytes(), "text/xml").await;
    assert_eq!(status, 500);
    assert_eq!(fault_code(&body), ResponseCode::ErrorSchemaValidation);
}
