//! Replies and forwards on the mock, over loopback HTTP: CreateItem with `ReplyToItem`,
//! `ReplyAllToItem` and `ForwardItem` under each MessageDisposition; the saved draft's subject
//! prefix, recipients and quoted body; the thread the sent copy carries (In-Reply-To,
//! References, ConversationId); the verb recorded on the original; a delegate replying for the
//! principal; and SendItem of a reply draft with a stale change key.

mod common;

use common::{BOSS, CAROL, HELPER, Mock, OK, PASSWORD};
use ewsconf::ews::{
    DistinguishedFolderName as Folder, Item, ItemId, ResponseClass, ResponseCode, ResponseEnvelope,
    SendItem, TargetFolderId,
};
use ewsconf::mock::{Directory, MockConfig, Profile};

const READER: &str = "reader@example.com";
const ASSISTANT: &str = "assistant@example.com";

fn mailboxes(addresses: &[&str]) -> String {
    addresses
        .iter()
        .map(|a| format!("<t:Mailbox><t:EmailAddress>{a}</t:EmailAddress></t:Mailbox>"))
        .collect()
}

/// The response object `verb` (`ReplyToItem`, …) answering `original`: `head` holds what comes
/// before `ReferenceItemId` in schema order (subject, recipients, From), `tail` what comes after
/// (`NewBodyContent`).
fn smart(verb: &str, head: &str, original: &Item, tail: &str) -> String {
    let id = id_attrs(original.item_id.as_ref().unwrap());
    format!("<t:{verb}>{head}<t:ReferenceItemId {id}/>{tail}</t:{verb}>")
}

fn id_attrs(id: &ItemId) -> String {
    match &id.change_key {
        Some(ck) => format!("Id=\"{}\" ChangeKey=\"{ck}\"", id.id),
        None => format!("Id=\"{}\"", id.id),
    }
}

struct World {
    mock: Mock,
    marker: String,
}

impl World {
    async fn start() -> Self {
        Self::with(MockConfig::with_profile(Profile::Documented)).await
    }

    async fn with(config: MockConfig) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        Self {
            mock: Mock::with(config).await,
            marker: format!("thread-{nanos:09}"),
        }
    }

    /// POSTs `body` as `user`; the request and the answer must be schema-valid.
    async fn post(&self, user: &str, body: &str) -> ResponseEnvelope {
        let request = common::ews_envelope(body);
        let (status, answer, text) = self.mock.post_valid(user, &request).await;
        assert!(status == 200 || status == 500, "{status}: {text}");
        answer
    }

    /// The one response message of an answer: its class and code, and its items.
    async fn call(
        &self,
        user: &str,
        body: &str,
    ) -> (ResponseClass, Option<ResponseCode>, Vec<Item>) {
        let answer = self.post(user, body).await;
        let response = answer.response().expect("no fault");
        assert_eq!(response.response_messages.len(), 1);
        let m = &response.response_messages[0];
        (m.response_class, m.response_code, m.items.clone())
    }

    /// Carol sends the original to boss, with reader on Cc: boss's Inbox copy of it.
    async fn original(&self) -> Item {
        let body = format!(
            "<m:CreateItem MessageDisposition=\"SendAndSaveCopy\"><m:Items><t:Message>\
             <t:Subject>{} plans</t:Subject><t:Body BodyType=\"Text\">the original text</t:Body>\
             <t:ToRecipients>{}</t:ToRecipients><t:CcRecipients>{}</t:CcRecipients>\
             </t:Message></m:Items></m:CreateItem>",
            self.marker,
            mailboxes(&[BOSS]),
            mailboxes(&[READER])
        );
        let (class, code, _) = self.call(CAROL, &body).await;
        assert_eq!((class, code), OK);
        assert_eq!(
            self.mock
                .count_within(BOSS, Folder::Inbox, &self.marker, 1)
                .await,
            1
        );
        let found = self.mock.find(BOSS, Folder::Inbox, &self.marker).await;
        self.get(BOSS, found[0].item_id.clone().unwrap()).await
    }

    /// The item with all its properties and the last verb executed on it, read as `user`.
    async fn get(&self, user: &str, id: ItemId) -> Item {
        let body = format!(
            "<m:GetItem><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape>\
             <t:AdditionalProperties><t:FieldURI FieldURI=\"message:InternetMessageId\"/>\
             <t:FieldURI FieldURI=\"message:References\"/>\
             <t:ExtendedFieldURI PropertyTag=\"4225\" PropertyType=\"Integer\"/>\
             </t:AdditionalProperties></m:ItemShape>\
             <m:ItemIds><t:ItemId Id=\"{}\"/></m:ItemIds></m:GetItem>",
            id.id
        );
        let (class, code, items) = self.call(user, &body).await;
        assert_eq!((class, code), OK);
        items.into_iter().next().unwrap()
    }

    /// Creates `response` (`<t:ReplyToItem>…</t:ReplyToItem>` and the like) as `user` with
    /// `disposition`, in `folder` when given.
    async fn respond(
        &self,
        user: &str,
        disposition: &str,
        folder: Option<&str>,
        response: &str,
    ) -> (ResponseClass, Option<ResponseCode>, Vec<Item>) {
        let folder = folder
            .map(|f| format!("<m:SavedItemFolderId>{f}</m:SavedItemFolderId>"))
            .unwrap_or_default();
        let body = format!(
            "<m:CreateItem MessageDisposition=\"{disposition}\">{folder}<m:Items>{response}\
             </m:Items></m:CreateItem>"
        );
        self.call(user, &body).await
    }

    /// The last verb executed on `item`, as its extended property 0x1081 says.
    fn last_verb(item: &Item) -> Option<&str> {
        let p = item
            .raw_properties
            .iter()
            .find(|p| p.name == "ExtendedProperty" && p.key.contains("0x1081"))?;
        let value = p.xml.split("<t:Value>").nth(1)?;
        value.split("</t:Value>").next()
    }
}

/// Boss's Sent Items, named with its mailbox, as a delegate must name it.
fn sent_items_of(owner: &str) -> TargetFolderId {
    TargetFolderId::DistinguishedFolderId(ewsconf::ews::DistinguishedFolderId {
        id: Folder::SentItems,
        change_key: None,
        mailbox: Some(ewsconf::ews::Mailbox::smtp(owner)),
    })
}

fn addresses(list: &[ewsconf::ews::Mailbox]) -> Vec<String> {
    list.iter()
        .filter_map(|m| m.email_address.clone())
        .map(|a| a.to_ascii_lowercase())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_reply_is_threaded_to_its_original_once_sent() {
    let w = World::start().await;
    let original = w.original().await;
    let original_id = original.item_id.clone().unwrap();
    let message_id = original.internet_message_id.clone().expect("a Message-ID");

    let (class, code, items) = w
        .respond(
            BOSS,
            "SaveOnly",
            None,
            &smart(
                "ReplyToItem",
                "",
                &original,
                "<t:NewBodyContent BodyType=\"Text\">my answer</t:NewBodyContent>",
            ),
        )
        .await;
    assert_eq!((class, code), OK);
    let draft_id = items[0].item_id.clone().expect("the draft's id");

    // The draft, in boss's Drafts: prefix, the original's author, new text above the quote.
    let draft = w.get(BOSS, draft_id.clone()).await;
    let subject = format!("RE: {} plans", w.marker);
    assert_eq!(draft.subject.as_deref(), Some(subject.as_str()));
    assert_eq!(addresses(&draft.to_recipients), [CAROL]);
    assert!(draft.cc_recipients.is_empty());
    assert_eq!(draft.is_draft, Some(true));
    let body = draft.body.as_ref().unwrap().content.clone();
    let (new, old) = (body.find("my answer"), body.find("the original text"));
    assert!(new.is_some() && old.is_some() && new < old, "{body}");
    assert_eq!(draft.in_reply_to.as_deref(), Some(message_id.as_str()));
    assert_eq!(w.mock.count(BOSS, Folder::Drafts, &w.marker).await, 1);
    assert_eq!(
        W::last_verb(&w.get(BOSS, original_id.clone()).await),
        None,
        "not sent yet"
    );

    // Sent with SendItem: Carol's copy answers the original and stays in its conversation.
    let outcome = w
        .mock
        .send(BOSS, SendItem::new([draft_id]).save_item_to_folder(true))
        .await;
    assert_eq!(outcome, vec![OK]);
    assert_eq!(
        w.mock.count_within(CAROL, Folder::Inbox, "RE: ", 1).await,
        1
    );
    let received = w.mock.find(CAROL, Folder::Inbox, &subject).await;
    let received = w.get(CAROL, received[0].item_id.clone().unwrap()).await;
    assert_eq!(received.in_reply_to.as_deref(), Some(message_id.as_str()));
    assert!(
        received
            .references
            .as_deref()
            .is_some_and(|r| r.split_whitespace().any(|id| id == message_id)),
        "{:?}",
        received.references
    );
    assert_eq!(received.conversation_id, original.conversation_id);
    assert_eq!(
        w.mock
            .count_within(BOSS, Folder::SentItems, &subject, 1)
            .await,
        1
    );
    assert_eq!(w.mock.count(BOSS, Folder::Drafts, &w.marker).await, 0);

    // The original records the reply.
    let original = w.get(BOSS, original_id).await;
    assert_eq!(W::last_verb(&original), Some("102"));
}

type W = World;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reply_all_answers_everyone_but_the_replier() {
    let w = World::start().await;
    let original = w.original().await;
    let (class, code, items) = w
        .respond(
            BOSS,
            "SaveOnly",
            None,
            &smart("ReplyAllToItem", "", &original, ""),
        )
        .await;
    assert_eq!((class, code), OK);
    let draft = w.get(BOSS, items[0].item_id.clone().unwrap()).await;
    assert_eq!(
        addresses(&draft.to_recipients),
        [CAROL],
        "the author; boss left out"
    );
    assert_eq!(addresses(&draft.cc_recipients), [READER]);
    assert!(draft.subject.unwrap().starts_with("RE: "));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forward_sent_with_a_copy_and_a_reply_sent_without_one() {
    let w = World::start().await;
    let original = w.original().await;
    let original_id = original.item_id.clone().unwrap();
    let message_id = original.internet_message_id.clone().unwrap();

    // Forward, SendAndSaveCopy: to the assistant, the copy in boss's Sent Items, no draft.
    let (class, code, items) = w
        .respond(
            BOSS,
            "SendAndSaveCopy",
            None,
            &smart(
                "ForwardItem",
                &format!(
                    "<t:ToRecipients>{}</t:ToRecipients>",
                    mailboxes(&[ASSISTANT])
                ),
                &original,
                "<t:NewBodyContent BodyType=\"Text\">FYI</t:NewBodyContent>",
            ),
        )
        .await;
    assert_eq!((class, code), OK);
    assert!(items.is_empty(), "a sent response object returns no item");
    let subject = format!("FW: {} plans", w.marker);
    assert_eq!(
        w.mock
            .count_within(ASSISTANT, Folder::Inbox, &subject, 1)
            .await,
        1
    );
    assert_eq!(
        w.mock
            .count_within(BOSS, Folder::SentItems, &subject, 1)
            .await,
        1
    );
    assert_eq!(w.mock.count(BOSS, Folder::Drafts, &w.marker).await, 0);
    let forwarded = w.mock.find(ASSISTANT, Folder::Inbox, &subject).await;
    let forwarded = w
        .get(ASSISTANT, forwarded[0].item_id.clone().unwrap())
        .await;
    assert!(
        forwarded
            .body
            .unwrap()
            .content
            .contains("the original text")
    );
    assert!(
        forwarded
            .references
            .unwrap_or_default()
            .contains(&message_id)
    );
    assert_eq!(forwarded.conversation_id, original.conversation_id);
    assert_eq!(
        W::last_verb(&w.get(BOSS, original_id.clone()).await),
        Some("104")
    );

    // Reply, SendOnly: delivered, no copy anywhere, the verb now a reply.
    let (class, code, _) = w
        .respond(
            BOSS,
            "SendOnly",
            None,
            &smart(
                "ReplyToItem",
                &format!("<t:Subject>{} answered</t:Subject>", w.marker),
                &original,
                "",
            ),
        )
        .await;
    assert_eq!((class, code), OK);
    let answered = format!("{} answered", w.marker);
    assert_eq!(
        w.mock
            .count_within(CAROL, Folder::Inbox, &answered, 1)
            .await,
        1
    );
    assert_eq!(w.mock.count(BOSS, Folder::SentItems, &answered).await, 0);
    assert_eq!(w.mock.count(BOSS, Folder::Drafts, &answered).await, 0);
    assert_eq!(W::last_verb(&w.get(BOSS, original_id).await), Some("102"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delegate_replies_for_the_principal() {
    // The delegate also reads the principal's Inbox, as a delegate who answers mail does.
    let users = format!(
        r#"
local_domains = ["example.com"]
[[user]]
address = "{BOSS}"
password = "{PASSWORD}"
[[user]]
address = "{HELPER}"
password = "{PASSWORD}"
[[user]]
address = "{CAROL}"
password = "{PASSWORD}"
[[user]]
address = "{READER}"
password = "{PASSWORD}"
[[grant]]
delegate = "{HELPER}"
principal = "{BOSS}"
folders = {{ inbox = "Reviewer", drafts = "Editor", sentitems = "Editor" }}
send_on_behalf = true
"#
    );
    let directory = match Directory::parse("users.toml", &users) {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    let w = World::with(MockConfig {
        directory,
        ..MockConfig::with_profile(Profile::Documented)
    })
    .await;
    let original = w.original().await;
    let (class, code, items) = w
        .respond(
            HELPER,
            "SaveOnly",
            Some(&format!(
                "<t:DistinguishedFolderId Id=\"drafts\"><t:Mailbox><t:EmailAddress>{BOSS}\
                 </t:EmailAddress></t:Mailbox></t:DistinguishedFolderId>"
            )),
            &smart(
                "ReplyToItem",
                &format!("<t:From>{}</t:From>", mailboxes(&[BOSS])),
                &original,
                "",
            ),
        )
        .await;
    assert_eq!((class, code), OK);
    let draft_id = items[0].item_id.clone().unwrap();
    assert_eq!(
        w.mock.count(BOSS, Folder::Drafts, &w.marker).await,
        1,
        "in boss's Drafts"
    );

    let outcome = w
        .mock
        .send(
            HELPER,
            SendItem::new([draft_id])
                .save_item_to_folder(true)
                .saved_item_folder_id(sent_items_of(BOSS)),
        )
        .await;
    assert_eq!(outcome, vec![OK]);
    let subject = format!("RE: {} plans", w.marker);
    assert_eq!(
        w.mock.count_within(CAROL, Folder::Inbox, &subject, 1).await,
        1
    );
    let received = w.mock.find(CAROL, Folder::Inbox, &subject).await;
    let received = w.get(CAROL, received[0].item_id.clone().unwrap()).await;
    assert_eq!(
        addresses(&received.from.iter().cloned().collect::<Vec<_>>()),
        [BOSS]
    );
    assert_eq!(
        addresses(&received.sender.iter().cloned().collect::<Vec<_>>()),
        [HELPER],
        "sent on behalf"
    );
    assert_eq!(received.in_reply_to, original.internet_message_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_draft_sent_with_a_stale_change_key_is_refused_and_stays() {
    let w = World::start().await;
    let original = w.original().await;
    let (_, _, items) = w
        .respond(
            BOSS,
            "SaveOnly",
            None,
            &smart("ReplyToItem", "", &original, ""),
        )
        .await;
    let stale = items[0].item_id.clone().unwrap();
    // Changing the draft moves its change key.
    let (class, code, _) = w
        .call(
            BOSS,
            &format!(
                "<m:UpdateItem ConflictResolution=\"AutoResolve\" MessageDisposition=\"SaveOnly\">\
                 <m:ItemChanges><t:ItemChange><t:ItemId {}/><t:Updates><t:SetItemField>\
                 <t:FieldURI FieldURI=\"item:Subject\"/><t:Message><t:Subject>{} edited\
                 </t:Subject></t:Message></t:SetItemField></t:Updates></t:ItemChange>\
                 </m:ItemChanges></m:UpdateItem>",
                id_attrs(&stale),
                w.marker
            ),
        )
        .await;
    assert_eq!((class, code), OK);

    let outcome = w
        .mock
        .send(BOSS, SendItem::new([stale]).save_item_to_folder(true))
        .await;
    assert_eq!(
        outcome,
        vec![(ResponseClass::Error, Some(ResponseCode::ErrorStaleObject))]
    );
    assert_eq!(
        w.mock.count(BOSS, Folder::Drafts, &w.marker).await,
        1,
        "the draft stays"
    );
    assert_eq!(
        W::last_verb(&w.get(BOSS, original.item_id.unwrap()).await),
        None
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_delegate_reply_case_runs_only_where_the_delegate_reads_the_principals_inbox() {
    use ewsconf::Verdict;
    use ewsconf::mock::{FolderPermission, MockFolder};
    let cases: Vec<_> = common::suite()
        .into_iter()
        .filter(|c| c.category == "replies")
        .collect();
    let delegate_case = "replies/delegate-reply-for-principal";
    assert!(cases.iter().any(|c| c.id == delegate_case));
    let verdicts = |summary: ewsconf::run::RunSummary| -> Vec<(String, Verdict, Option<String>)> {
        summary
            .outcomes
            .into_iter()
            .map(|o| (o.id, o.verdict, o.reason))
            .collect()
    };

    // The documented delegate reads the principal's Inbox: every reply case runs and passes.
    let defaults =
        common::run_embedded(MockConfig::with_profile(Profile::Documented), &cases, 4).await;
    for (id, verdict, reason) in verdicts(defaults) {
        assert_eq!(verdict, Verdict::Pass, "{id}: {reason:?}");
    }

    // A delegate without it: the case is skipped, saying what is missing; the others pass.
    let directory = Directory::documented_defaults()
        .with_folder_grant(HELPER, BOSS, MockFolder::Inbox, FolderPermission::None)
        .unwrap();
    let config = MockConfig {
        directory,
        ..MockConfig::with_profile(Profile::Documented)
    };
    for (id, verdict, reason) in verdicts(common::run_embedded(config, &cases, 4).await) {
        if id == delegate_case {
            assert_eq!(verdict, Verdict::Skip, "{reason:?}");
            let reason = reason.unwrap_or_default();
            assert!(reason.contains("delegate-inbox"), "{reason}");
            assert!(reason.contains("Reviewer on the Inbox"), "{reason}");
        } else {
            assert_eq!(verdict, Verdict::Pass, "{id}: {reason:?}");
        }
    }
}
