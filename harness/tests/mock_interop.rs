//! Interop with Thunderbird's `ews` crate (ews-rs): its response types read the mock's raw
//! answers to the same values our parser reads, the official Exchange schemas accept what the
//! mock sends (SendItem, which ews-rs does not model, included), and requests ews-rs builds are
//! accepted and acted on by the mock.

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use common::{BOSS, CAROL, MALLORY, Mock};
use ews::soap::{Envelope, Header};
use ewsconf::ews::{
    BaseItemId, BaseShape, CreateItem, DeleteItem, DistinguishedFolderId,
    DistinguishedFolderName as Folder, FieldUri, FindItem, GetFolder, GetItem, Item, ItemId,
    Mailbox, MessageDisposition, Request, RequestEnvelope, ResponseClass, ResponseCode,
    ResponseEnvelope, ResponseMessage, Restriction, SendItem, Shape,
    find_item::IndexedPageItemView,
};
use ewsconf::generate::SchemaEra;
use ewsconf::mock::Profile;
use ewsconf::schema::SchemaSet;
use ewsconf::target::calls::folder_of;

/// Sends `body` as `user` with the SOAPAction of `action`, and returns the status and the raw
/// response bytes.
async fn post_raw(mock: &Mock, user: &str, body: Vec<u8>, action: &str) -> (u16, Vec<u8>) {
    let action = format!("http://schemas.microsoft.com/exchange/services/2006/messages/{action}");
    let auth = Mock::account(user).auth;
    mock.post(&auth, body, "text/xml; charset=utf-8", Some(action))
        .await
}

/// Sends a typed request as `user`, expects HTTP 200, and returns the raw body.
async fn raw(mock: &Mock, user: &str, request: impl Into<Request>) -> Vec<u8> {
    let envelope = RequestEnvelope::new(request);
    let action = envelope.body.name();
    let (status, body) = post_raw(mock, user, envelope.to_xml().into_bytes(), action).await;
    assert_eq!(status, 200, "{action}: {}", String::from_utf8_lossy(&body));
    official_accepts(&body);
    body
}

/// Fails unless the project's and the official 2016 schemas accept `body`.
fn official_accepts(body: &[u8]) {
    let ours = SchemaSet::embedded().unwrap().validate(body);
    assert!(
        ours.errors.is_empty(),
        "embedded schemas: {:?}",
        ours.errors
    );
    if let Some(set) = common::official(SchemaEra::Current) {
        let v = set.validate(body);
        assert!(
            v.errors.is_empty(),
            "official 2016 schemas reject the mock's answer: {:?}\n{}",
            v.errors,
            String::from_utf8_lossy(body)
        );
    }
}

/// Our parser's response messages, failing on a fault.
fn ours(body: &[u8]) -> Vec<ResponseMessage> {
    let envelope = ResponseEnvelope::parse(body).expect("our parser reads the mock");
    assert!(
        envelope.server_version_info.is_some(),
        "a ServerVersionInfo header"
    );
    envelope
        .response()
        .expect("not a fault")
        .response_messages
        .clone()
}

/// ews-rs's reading of `body` as response type `T`.
fn theirs<T: ews::OperationResponse>(body: &[u8]) -> Envelope<T> {
    Envelope::<T>::from_xml_document(body).unwrap_or_else(|e| {
        panic!(
            "ews-rs cannot read the mock's answer: {e:?}\n{}",
            String::from_utf8_lossy(body)
        )
    })
}

/// Class and error code as both sides see them: `("Success", None)`, `("Error", Some(code))`.
type Outcome = (&'static str, Option<String>);

/// Each of our response messages' outcome.
fn our_outcomes(messages: &[ResponseMessage]) -> Vec<Outcome> {
    let outcome = |m: &ResponseMessage| match m.response_class {
        ResponseClass::Success => ("Success", None),
        ResponseClass::Warning => ("Warning", None),
        ResponseClass::Error => ("Error", m.response_code.map(|c| c.as_str().to_owned())),
    };
    messages.iter().map(outcome).collect()
}

/// Each of ews-rs's response messages' outcome.
fn their_outcomes<T>(messages: &[ews::ResponseClass<T>]) -> Vec<Outcome> {
    let outcome = |m: &ews::ResponseClass<T>| match m {
        ews::ResponseClass::Success(_) => ("Success", None),
        ews::ResponseClass::Warning(_) => ("Warning", None),
        ews::ResponseClass::Error(e) => ("Error", Some(format!("{:?}", e.response_code))),
    };
    messages.iter().map(outcome).collect()
}

/// The payload of a Success message, or a panic naming the error.
fn success<T>(m: &ews::ResponseClass<T>) -> &T {
    match m {
        ews::ResponseClass::Success(t) | ews::ResponseClass::Warning(t) => t,
        ews::ResponseClass::Error(e) => panic!("expected Success, got {e}"),
    }
}

/// What both sides should agree on about an item.
#[derive(Debug, PartialEq, Eq)]
struct ItemView {
    kind: &'static str,
    id: Option<(String, Option<String>)>,
    subject: Option<String>,
    item_class: Option<String>,
    body: Option<String>,
    to: Vec<String>,
    from: Option<String>,
    is_draft: Option<bool>,
    is_read: Option<bool>,
}

/// An [`ItemView`] of `$m`, an item of either model: both spell the id, subject, class and flags
/// alike; the other fields are given.
macro_rules! item_view {
    ($m:expr, $($other:tt)*) => {
        ItemView {
            id: $m.item_id.as_ref().map(|x| (x.id.clone(), x.change_key.clone())),
            subject: $m.subject.clone(),
            item_class: $m.item_class.clone(),
            is_draft: $m.is_draft,
            is_read: $m.is_read,
            $($other)*
        }
    };
}

fn our_item(i: &Item) -> ItemView {
    let address = |m: &Mailbox| m.email_address.clone();
    item_view!(i,
        kind: i.kind.element_name(),
        body: i.body.as_ref().map(|b| b.content.clone()),
        to: i.to_recipients.iter().filter_map(address).collect(),
        from: i.from.as_ref().and_then(address),
    )
}

fn their_item(item: &ews::RealItem) -> ItemView {
    let address = |r: &ews::Recipient| r.mailbox.email_address.clone();
    let m = item.inner_message();
    item_view!(m,
        kind: match item {
            ews::RealItem::Message(_) => "Message",
            ews::RealItem::Task(_) => "Task",
            ews::RealItem::Item(_) => "Item",
            _ => "other",
        },
        body: m.body.as_ref().and_then(|b| b.content.clone()),
        to: m.to_recipients.iter().flat_map(|r| r.iter()).filter_map(address).collect(),
        from: m.from.as_ref().and_then(address),
    )
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[tokio::test]
async fn create_item_answers_read_the_same_in_ews_rs() {
    // Arrange
    let mock = Mock::start(Profile::Intended).await;
    let create = CreateItem::new(
        Some(MessageDisposition::SaveOnly),
        vec![
            Item::message("ix-create message").to(CAROL),
            Item::task("ix-create task"),
        ],
    );
    let denied = CreateItem::new(
        Some(MessageDisposition::SaveOnly),
        vec![Item::message("ix-create denied")],
    )
    .saved_item_folder_id(folder_of(BOSS, Folder::Drafts));

    // Act
    let body = raw(&mock, BOSS, create).await;
    let denied_body = raw(&mock, MALLORY, denied).await;

    // Assert
    let ours_ok = ours(&body);
    let theirs_ok = theirs::<ews::create_item::CreateItemResponse>(&body);
    assert_eq!(theirs_ok.body.response_messages.response_messages.len(), 2);
    let our_items: Vec<ItemView> = ours_ok
        .iter()
        .flat_map(|m| m.items.iter().map(our_item))
        .collect();
    let their_items: Vec<ItemView> = theirs_ok
        .body
        .response_messages
        .response_messages
        .iter()
        .flat_map(|m| success(m).items.inner.iter().map(their_item))
        .collect();
    assert_eq!(their_items, our_items);
    assert_eq!(our_items.len(), 2);
    assert!(our_items.iter().all(|i| i.id.is_some()), "{our_items:?}");
    assert_eq!((our_items[0].kind, our_items[1].kind), ("Message", "Task"));
    assert!(
        theirs_ok
            .headers
            .iter()
            .any(|h| matches!(h, Header::ServerVersionInfo(_))),
        "ews-rs sees the ServerVersionInfo header"
    );

    let our_denied = ours(&denied_body);
    let their_denied = theirs::<ews::create_item::CreateItemResponse>(&denied_body);
    let their_messages = &their_denied.body.response_messages.response_messages;
    assert_eq!(their_outcomes(their_messages), our_outcomes(&our_denied));
    assert_eq!(
        our_outcomes(&our_denied)[0],
        ("Error", Some("ErrorAccessDenied".into()))
    );
    let ews::ResponseClass::Error(e) = &their_messages[0] else {
        unreachable!("checked above")
    };
    assert_eq!(Some(&e.message_text), our_denied[0].message_text.as_ref());
}

#[tokio::test]
async fn get_item_answers_read_the_same_in_ews_rs() {
    // Arrange
    let mock = Mock::start(Profile::Intended).await;
    let id = mock
        .draft(BOSS, BOSS, "ix-get draft <&> \u{e9}", &[CAROL, MALLORY])
        .await;
    let get = GetItem {
        item_shape: Shape::new(BaseShape::AllProperties),
        item_ids: vec![
            BaseItemId::ItemId(id.clone()),
            BaseItemId::ItemId(ItemId::new("%not an id%")),
        ],
    };
    let started = now_secs();

    // Act
    let body = raw(&mock, BOSS, get).await;

    // Assert
    let our_messages = ours(&body);
    let their = theirs::<ews::get_item::GetItemResponse>(&body);
    let their_messages = &their.body.response_messages.response_messages;
    assert_eq!(
        their_outcomes(their_messages),
        vec![
            ("Success", None),
            ("Error", Some("ErrorInvalidIdMalformed".into()))
        ]
    );
    assert_eq!(our_outcomes(&our_messages), their_outcomes(their_messages));
    let ours_item = our_item(&our_messages[0].items[0]);
    let their_items = &success(&their_messages[0]).items.inner;
    assert_eq!(their_items.len(), 1);
    assert_eq!(their_item(&their_items[0]), ours_item);
    assert_eq!(
        ours_item.subject.as_deref(),
        Some("ix-get draft <&> \u{e9}")
    );
    assert_eq!(ours_item.to, vec![CAROL.to_owned(), MALLORY.to_owned()]);
    assert_eq!(ours_item.is_draft, Some(true));
    assert_eq!(
        ours_item.id.as_ref().map(|(i, _)| i.as_str()),
        Some(id.id.as_str())
    );
    // ews-rs reads the creation time as a date; it is the time the draft was made.
    let created = their_items[0]
        .inner_message()
        .date_time_created
        .as_ref()
        .expect("DateTimeCreated")
        .0
        .unix_timestamp();
    assert!(
        (started - 5..=now_secs() + 5).contains(&created),
        "created {created}, test started {started}"
    );
}

#[tokio::test]
async fn find_item_pages_read_the_same_in_ews_rs() {
    // Arrange
    let mock = Mock::start(Profile::Intended).await;
    for n in 0..5 {
        mock.draft(BOSS, BOSS, &format!("ix-find {n}"), &[CAROL])
            .await;
    }
    mock.draft(BOSS, BOSS, "unrelated", &[CAROL]).await;
    let mut find =
        FindItem::shallow(Folder::Drafts).restriction(Restriction::subject_contains("ix-find"));
    find.item_shape = Shape::id_and(&[FieldUri::ItemSubject, FieldUri::ItemClass]);
    find.indexed_page_item_view = Some(IndexedPageItemView {
        max_entries_returned: Some(2),
        offset: 1,
    });
    let denied = FindItem::shallow(folder_of(BOSS, Folder::Drafts));

    // Act
    let body = raw(&mock, BOSS, find).await;
    let denied_body = raw(&mock, MALLORY, denied).await;

    // Assert
    let our_messages = ours(&body);
    let their = theirs::<ews::find_item::FindItemResponse>(&body);
    let their_messages = &their.body.response_messages.response_messages;
    assert_eq!(their_messages.len(), 1);
    let our_root = our_messages[0].root_folder.as_ref().expect("RootFolder");
    let their_root = &success(&their_messages[0]).root_folder;
    assert_eq!(
        their_root
            .items
            .inner
            .iter()
            .map(their_item)
            .collect::<Vec<_>>(),
        our_root.items.iter().map(our_item).collect::<Vec<_>>()
    );
    let subjects: Vec<_> = our_root
        .items
        .iter()
        .filter_map(|i| i.subject.clone())
        .collect();
    assert_eq!(subjects, vec!["ix-find 1", "ix-find 2"]);
    assert_eq!(our_root.total_items_in_view, Some(5));
    assert_eq!(their_root.total_items_in_view, Some(5));
    assert_eq!(our_root.indexed_paging_offset, Some(3));
    assert_eq!(their_root.indexed_paging_offset, Some(3));
    assert_eq!(our_root.includes_last_item_in_range, Some(false));
    assert_eq!(their_root.includes_last_item_in_range, Some(false));

    let their_denied = theirs::<ews::find_item::FindItemResponse>(&denied_body);
    assert_eq!(
        their_outcomes(&their_denied.body.response_messages.response_messages),
        vec![("Error", Some("ErrorAccessDenied".into()))]
    );
    assert_eq!(
        our_outcomes(&ours(&denied_body)),
        vec![("Error", Some("ErrorAccessDenied".into()))]
    );
}

#[tokio::test]
async fn get_folder_answers_read_the_same_in_ews_rs() {
    // Arrange
    let mock = Mock::start(Profile::Intended).await;
    mock.draft(BOSS, BOSS, "ix-folder 1", &[CAROL]).await;
    mock.draft(BOSS, BOSS, "ix-folder 2", &[CAROL]).await;
    let get = GetFolder {
        folder_shape: Shape::new(BaseShape::AllProperties),
        folder_ids: vec![
            Folder::Drafts.into(),
            folder_of(BOSS, Folder::SentItems),
            Folder::Tasks.into(),
            DistinguishedFolderId::in_mailbox(Folder::Inbox, "ghost@example.com").into(),
        ],
    };

    // Act
    let body = raw(&mock, BOSS, get).await;

    // Assert
    let our_messages = ours(&body);
    let their = theirs::<ews::get_folder::GetFolderResponse>(&body);
    let their_messages = &their.body.response_messages.response_messages;
    let outcomes = their_outcomes(their_messages);
    assert_eq!(
        outcomes,
        vec![
            ("Success", None),
            ("Success", None),
            ("Success", None),
            ("Error", Some("ErrorNonExistentMailbox".into()))
        ]
    );
    assert_eq!(our_outcomes(&our_messages), outcomes);
    for (ours_m, theirs_m) in our_messages.iter().zip(their_messages).take(3) {
        let o = &ours_m.folders[0];
        let folders = &success(theirs_m).folders.inner;
        assert_eq!(folders.len(), 1);
        let ews::Folder::Folder {
            folder_id,
            parent_folder_id,
            folder_class,
            display_name,
            total_count,
            child_folder_count,
            unread_count,
            ..
        } = &folders[0]
        else {
            panic!("the mock sends t:Folder, ews-rs read {:?}", folders[0]);
        };
        assert_eq!(
            folder_id.as_ref().map(|f| &f.id),
            o.folder_id.as_ref().map(|f| &f.id)
        );
        assert_eq!(
            parent_folder_id.as_ref().map(|f| &f.id),
            o.parent_folder_id.as_ref().map(|f| &f.id)
        );
        assert_eq!(folder_class, &o.folder_class);
        assert_eq!(display_name, &o.display_name);
        assert_eq!(total_count.map(i64::from), o.total_count.map(i64::from));
        assert_eq!(
            child_folder_count.map(i64::from),
            o.child_folder_count.map(i64::from)
        );
        assert_eq!(unread_count.map(i64::from), o.unread_count.map(i64::from));
    }
    assert_eq!(our_messages[0].folders[0].total_count, Some(2));
    assert_eq!(
        our_messages[0].folders[0].display_name.as_deref(),
        Some("Drafts")
    );
}

#[tokio::test]
async fn delete_item_answers_read_the_same_in_ews_rs() {
    // Arrange
    let mock = Mock::start(Profile::Intended).await;
    let id = mock.draft(BOSS, BOSS, "ix-delete", &[CAROL]).await;
    let delete = DeleteItem::hard([id.clone(), id, ItemId::new("%bad%")]);

    // Act
    let body = raw(&mock, BOSS, delete).await;

    // Assert
    let their = theirs::<ews::delete_item::DeleteItemResponse>(&body);
    let outcomes = their_outcomes(&their.body.response_messages.response_messages);
    assert_eq!(
        outcomes,
        vec![
            ("Success", None),
            ("Error", Some("ErrorItemNotFound".into())),
            ("Error", Some("ErrorInvalidIdMalformed".into()))
        ]
    );
    assert_eq!(our_outcomes(&ours(&body)), outcomes);
}

#[tokio::test]
async fn send_item_answers_pass_our_parser_and_the_official_schemas() {
    // Arrange
    let mock = Mock::start(Profile::Intended).await;
    let good = mock.draft(BOSS, BOSS, "ix-send good", &[CAROL]).await;
    let stale = mock.draft(BOSS, BOSS, "ix-send stale", &[CAROL]).await;
    let stale = ItemId::new(stale.id).with_change_key("CQAAAAEAAAB/AAAAAAAAAA==");
    let no_rcpt = mock.draft(BOSS, BOSS, "ix-send norcpt", &[]).await;
    let send = SendItem::new([good.clone(), stale, no_rcpt, ItemId::new("%bad%"), good]);
    let schema_invalid = RequestEnvelope::new(SendItem::new([ItemId::new("AAAA")]))
        .to_xml()
        .replace("<t:ItemId Id=\"AAAA\"/>", "");

    // Act
    let body = raw(&mock, BOSS, send).await;
    let (fault_status, fault_body) =
        post_raw(&mock, BOSS, schema_invalid.into_bytes(), "SendItem").await;

    // Assert
    let messages = ours(&body);
    let codes: Vec<_> = messages.iter().map(|m| m.response_code).collect();
    assert_eq!(
        codes,
        vec![
            Some(ResponseCode::NoError),
            Some(ResponseCode::ErrorStaleObject),
            Some(ResponseCode::ErrorMissingRecipients),
            Some(ResponseCode::ErrorInvalidIdMalformed),
            Some(ResponseCode::ErrorItemNotFound),
        ]
    );
    assert_eq!(fault_status, 500);
    official_accepts(&fault_body);
    for b in [&body, &fault_body] {
        if let Some(set) = common::official(SchemaEra::Exchange2010Sp2) {
            let v = set.validate(b);
            assert!(v.errors.is_empty(), "2010 SP2 schemas: {:?}", v.errors);
        }
    }
    let fault = ResponseEnvelope::parse(&fault_body).expect("our parser reads the fault");
    let our_code = fault.fault().and_then(|f| f.response_code());
    assert_eq!(our_code, Some(ResponseCode::ErrorSchemaValidation));
    // ews-rs reads a fault the same way for any operation.
    match Envelope::<ews::get_item::GetItemResponse>::from_xml_document(&fault_body) {
        Err(ews::Error::RequestFault(f)) => {
            assert_eq!(
                f.detail.as_ref().and_then(|d| d.response_code),
                Some(ews::response::ResponseCode::ErrorSchemaValidation)
            );
            assert!(
                f.faultcode.ends_with(":ErrorSchemaValidation"),
                "{}",
                f.faultcode
            );
        }
        other => panic!("ews-rs should see a RequestFault, got {other:?}"),
    }
}

/// An ews-rs request envelope as a complete document.
fn ews_document<B: ews::Operation>(body: B) -> Vec<u8> {
    Envelope {
        headers: vec![Header::RequestServerVersion {
            version: ews::server_version::ExchangeServerVersion::Exchange2013_SP1,
        }],
        body,
    }
    .as_xml_document()
    .expect("ews-rs serializes its request")
}

#[tokio::test]
async fn requests_built_by_ews_rs_are_accepted_and_acted_on() {
    // Arrange
    let mock = Mock::start(Profile::Intended).await;
    let message = ews::Message {
        subject: Some("ix-built by ews-rs".into()),
        body: Some(ews::Body {
            body_type: ews::BodyType::Text,
            is_truncated: None,
            content: Some("from Thunderbird's types".into()),
        }),
        to_recipients: Some(ews::ArrayOfRecipients(vec![ews::Recipient {
            mailbox: ews::Mailbox {
                email_address: Some(CAROL.into()),
                ..Default::default()
            },
        }])),
        ..Default::default()
    };
    let create = ews::create_item::CreateItem {
        message_disposition: Some(ews::MessageDisposition::SaveOnly),
        saved_item_folder_id: Some(ews::BaseFolderId::new_distinguished("drafts")),
        items: vec![ews::RealItem::Message(message)],
    };

    // Act: CreateItem built by ews-rs.
    let (status, body) = post_raw(&mock, BOSS, ews_document(create), "CreateItem").await;

    // Assert
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    official_accepts(&body);
    let created = theirs::<ews::create_item::CreateItemResponse>(&body);
    let item = &success(&created.body.response_messages.response_messages[0])
        .items
        .inner[0];
    let id = item.inner_message().item_id.clone().expect("an item id");
    let found = mock.find(BOSS, Folder::Drafts, "ix-built").await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].item_id.as_ref().map(|i| &i.id), Some(&id.id));
    let stored = mock.get(BOSS, found[0].item_id.clone().unwrap()).await;
    assert_eq!(
        stored.body.map(|b| b.content).as_deref(),
        Some("from Thunderbird's types")
    );
    assert_eq!(
        stored
            .to_recipients
            .iter()
            .filter_map(|m| m.email_address.as_deref())
            .collect::<Vec<_>>(),
        vec![CAROL]
    );

    // Act: GetItem, FindItem and GetFolder built by ews-rs.
    let get = ews::get_item::GetItem {
        item_shape: ews::ItemShape {
            base_shape: ews::BaseShape::AllProperties,
            ..Default::default()
        },
        item_ids: vec![ews::BaseItemId::ItemId {
            id: id.id.clone(),
            change_key: id.change_key.clone(),
        }],
    };
    let (status, body) = post_raw(&mock, BOSS, ews_document(get), "GetItem").await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let got = theirs::<ews::get_item::GetItemResponse>(&body);
    let got = &success(&got.body.response_messages.response_messages[0])
        .items
        .inner[0];
    assert_eq!(
        got.inner_message().subject.as_deref(),
        Some("ix-built by ews-rs")
    );

    let find = ews::find_item::FindItem {
        traversal: ews::find_item::Traversal::Shallow,
        item_shape: ews::ItemShape {
            base_shape: ews::BaseShape::IdOnly,
            ..Default::default()
        },
        view: Some(ews::View::IndexedPageItemView {
            max_entries_returned: Some(10),
            base_point: ews::BasePoint::Beginning,
            offset: 0,
        }),
        parent_folder_ids: vec![ews::BaseFolderId::new_distinguished("drafts")],
    };
    let (status, body) = post_raw(&mock, BOSS, ews_document(find), "FindItem").await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let found = theirs::<ews::find_item::FindItemResponse>(&body);
    let root = &success(&found.body.response_messages.response_messages[0]).root_folder;
    assert_eq!(root.total_items_in_view, Some(1));
    assert_eq!(
        root.items.inner[0].inner_message().item_id.as_ref(),
        Some(&id)
    );

    let folder = ews::get_folder::GetFolder {
        folder_shape: ews::FolderShape {
            base_shape: ews::BaseShape::Default,
        },
        folder_ids: vec![ews::BaseFolderId::new_distinguished_in_mailbox(
            "drafts",
            ews::Mailbox {
                email_address: Some(BOSS.into()),
                ..Default::default()
            },
        )],
    };
    let (status, body) = post_raw(&mock, BOSS, ews_document(folder), "GetFolder").await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let folders = theirs::<ews::get_folder::GetFolderResponse>(&body);
    let folders = &success(&folders.body.response_messages.response_messages[0])
        .folders
        .inner;
    assert!(
        matches!(
            &folders[0],
            ews::Folder::Folder {
                total_count: Some(1),
                ..
            }
        ),
        "{folders:?}"
    );

    // Act: our client sends the draft ews-rs made; then ews-rs deletes Carol's copy.
    let sent = mock
        .send(BOSS, SendItem::new([ItemId::new(id.id.clone())]))
        .await;
    assert_eq!(sent[0].0, ResponseClass::Success);
    let inbox = mock.find(CAROL, Folder::Inbox, "ix-built").await;
    assert_eq!(inbox.len(), 1, "Carol received the message ews-rs drafted");
    let received = inbox[0].item_id.clone().unwrap();
    let delete = ews::delete_item::DeleteItem {
        delete_type: ews::DeleteType::HardDelete,
        send_meeting_cancellations: None,
        affected_task_occurrences: None,
        suppress_read_receipts: None,
        item_ids: vec![ews::BaseItemId::ItemId {
            id: received.id,
            change_key: None,
        }],
    };
    let (status, body) = post_raw(&mock, CAROL, ews_document(delete), "DeleteItem").await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let deleted = theirs::<ews::delete_item::DeleteItemResponse>(&body);
    assert_eq!(
        their_outcomes(&deleted.body.response_messages.response_messages),
        vec![("Success", None)]
    );
    assert!(mock.find(CAROL, Folder::Inbox, "ix-built").await.is_empty());
}

#[tokio::test]
async fn the_mock_accepts_an_ews_rs_request_exactly_when_the_official_schemas_do() {
    // Arrange: ews-rs 0.1.2 writes a Mailbox's RoutingType and MailboxType without the `t:`
    // prefix, so they land in the messages namespace; the official types.xsd puts them in the
    // types namespace. A request that sets them is schema-invalid, and Exchange refuses it.
    let Some(official) = common::official(SchemaEra::Current) else {
        return;
    };
    let mock = Mock::start(Profile::Intended).await;
    let mailbox = |routing: Option<&str>| ews::Mailbox {
        email_address: Some(CAROL.into()),
        routing_type: routing.map(Into::into),
        ..Default::default()
    };
    let create = |subject: &str, routing: Option<&str>| ews::create_item::CreateItem {
        message_disposition: Some(ews::MessageDisposition::SaveOnly),
        saved_item_folder_id: None,
        items: vec![ews::RealItem::Message(ews::Message {
            subject: Some(subject.into()),
            to_recipients: Some(ews::ArrayOfRecipients(vec![ews::Recipient {
                mailbox: mailbox(routing),
            }])),
            ..Default::default()
        })],
    };
    let documents = [
        (
            "address only",
            ews_document(create("ix-verdict plain", None)),
        ),
        (
            "with RoutingType",
            ews_document(create("ix-verdict routed", Some("SMTP"))),
        ),
    ];

    for (name, document) in documents {
        // Act
        let official_errors = official.validate(&document).errors;
        let (status, body) = post_raw(&mock, BOSS, document, "CreateItem").await;

        // Assert
        official_accepts(&body);
        if official_errors.is_empty() {
            assert_eq!(status, 200, "{name}: {}", String::from_utf8_lossy(&body));
            assert!(
                matches!(
                    theirs::<ews::create_item::CreateItemResponse>(&body)
                        .body
                        .response_messages
                        .response_messages[0],
                    ews::ResponseClass::Success(_)
                ),
                "{name}"
            );
        } else {
            eprintln!("{name}: the official schemas refuse ews-rs's request: {official_errors:?}");
            assert_eq!(status, 500, "{name}: {}", String::from_utf8_lossy(&body));
            let fault = ResponseEnvelope::parse(&body).expect("a fault envelope");
            assert_eq!(
                fault.fault().and_then(|f| f.response_code()),
                Some(ResponseCode::ErrorSchemaValidation),
                "{name}"
            );
        }
    }
}
