//! The mock keeps every schema-valid property a client sets, over loopback HTTP: CreateItem and
//! UpdateItem with properties the typed model does not hold (Sensitivity, Categories, ReplyTo,
//! extended properties, …) never get ErrorSchemaValidation, and GetItem returns each as it was
//! set, in a response valid against the schema. Every request is also held against Microsoft's
//! own schemas, so that "schema-valid" means valid for Exchange too.

mod common;

use common::{BOSS, Mock};
use ewsconf::ews::{
    Element, Item, Request, RequestEnvelope, ResponseClass, ResponseCode, ResponseEnvelope,
};
use ewsconf::generate::SchemaEra;
use ewsconf::mock::Profile;
use ewsconf::schema::SchemaSet;
use proptest::prelude::*;

/// Message properties the typed model does not hold, in schema order, each with values valid
/// for its schema type: `(element, path, values)`. The path is written inside
/// `AdditionalProperties` and `SetItemField` as it is.
const PROPERTIES: &[(&str, &str, &[&str])] = &[
    (
        "Sensitivity",
        r#"<t:FieldURI FieldURI="item:Sensitivity"/>"#,
        &["Normal", "Personal", "Private", "Confidential"],
    ),
    (
        "Categories",
        r#"<t:FieldURI FieldURI="item:Categories"/>"#,
        &[
            "<t:String>red</t:String>",
            "<t:String>a</t:String><t:String>b &amp; c</t:String>",
        ],
    ),
    (
        "Importance",
        r#"<t:FieldURI FieldURI="item:Importance"/>"#,
        &["Low", "Normal", "High"],
    ),
    (
        "ReminderDueBy",
        r#"<t:FieldURI FieldURI="item:ReminderDueBy"/>"#,
        &["2026-12-24T09:00:00Z", "2027-01-02T17:30:00Z"],
    ),
    (
        "ReminderIsSet",
        r#"<t:FieldURI FieldURI="item:ReminderIsSet"/>"#,
        &["true", "false"],
    ),
    (
        "ReminderMinutesBeforeStart",
        r#"<t:FieldURI FieldURI="item:ReminderMinutesBeforeStart"/>"#,
        &["0", "15", "1440"],
    ),
    (
        "ExtendedProperty",
        r#"<t:ExtendedFieldURI DistinguishedPropertySetId="PublicStrings" PropertyName="ewsconf-tag" PropertyType="String"/>"#,
        &["one", "two &lt;three&gt;"],
    ),
    (
        "Culture",
        r#"<t:FieldURI FieldURI="item:Culture"/>"#,
        &["en-US", "de-DE"],
    ),
    (
        "IsResponseRequested",
        r#"<t:FieldURI FieldURI="message:IsResponseRequested"/>"#,
        &["true", "false"],
    ),
    (
        "ReplyTo",
        r#"<t:FieldURI FieldURI="message:ReplyTo"/>"#,
        &[
            "<t:Mailbox><t:EmailAddress>reply@example.com</t:EmailAddress></t:Mailbox>",
            "<t:Mailbox><t:Name>Two</t:Name><t:EmailAddress>two@example.com</t:EmailAddress></t:Mailbox>",
        ],
    ),
];

/// The property element `PROPERTIES[i]` with its `v`-th value.
fn property(i: usize, v: usize) -> String {
    let (name, path, values) = PROPERTIES[i];
    let value = values[v % values.len()];
    if name == "ExtendedProperty" {
        format!("<t:ExtendedProperty>{path}<t:Value>{value}</t:Value></t:ExtendedProperty>")
    } else {
        format!("<t:{name}>{value}</t:{name}>")
    }
}

/// A message with a subject and the chosen properties, in schema order (Subject first).
fn message(chosen: &[(usize, usize)]) -> String {
    let mut xml = String::from("<t:Message><t:Subject>properties</t:Subject>");
    for (i, v) in chosen {
        // ReplyTo and IsResponseRequested come after the body-less ItemType part; the table is
        // in schema order, so the choice is too.
        xml.push_str(&property(*i, *v));
    }
    xml.push_str("</t:Message>");
    xml
}

fn create(chosen: &[(usize, usize)]) -> String {
    common::ews_envelope(&format!(
        "<m:CreateItem MessageDisposition=\"SaveOnly\"><m:SavedItemFolderId>\
         <t:DistinguishedFolderId Id=\"drafts\"/></m:SavedItemFolderId><m:Items>{}</m:Items>\
         </m:CreateItem>",
        message(chosen)
    ))
}

fn get(id: &str, change_key: &str, chosen: &[(usize, usize)]) -> String {
    // AllProperties returns every kept property but extended ones, which must be named.
    let extended: String = chosen
        .iter()
        .filter(|(i, _)| PROPERTIES[*i].0 == "ExtendedProperty")
        .map(|(i, _)| PROPERTIES[*i].1)
        .collect();
    let additional = if extended.is_empty() {
        String::new()
    } else {
        format!("<t:AdditionalProperties>{extended}</t:AdditionalProperties>")
    };
    let change_key = if change_key.is_empty() {
        String::new()
    } else {
        format!(" ChangeKey=\"{change_key}\"")
    };
    common::ews_envelope(&format!(
        "<m:GetItem><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape>{additional}\
         </m:ItemShape><m:ItemIds><t:ItemId Id=\"{id}\"{change_key}/></m:ItemIds>\
         </m:GetItem>"
    ))
}

/// Sets each of `set` and deletes each of `delete`.
fn update(id: &str, change_key: &str, set: &[(usize, usize)], delete: &[usize]) -> String {
    let mut updates = String::new();
    for (i, v) in set {
        updates.push_str(&format!(
            "<t:SetItemField>{}<t:Message>{}</t:Message></t:SetItemField>",
            PROPERTIES[*i].1,
            property(*i, *v)
        ));
    }
    for i in delete {
        updates.push_str(&format!(
            "<t:DeleteItemField>{}</t:DeleteItemField>",
            PROPERTIES[*i].1
        ));
    }
    common::ews_envelope(&format!(
        "<m:UpdateItem ConflictResolution=\"AutoResolve\" MessageDisposition=\"SaveOnly\">\
         <m:ItemChanges><t:ItemChange><t:ItemId Id=\"{id}\" ChangeKey=\"{change_key}\"/>\
         <t:Updates>{updates}</t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>"
    ))
}

/// The properties of the message in a request built by [`message`], as the model reads them.
fn sent_properties(request: &str) -> Vec<ewsconf::ews::RawProperty> {
    let envelope = RequestEnvelope::parse(request.as_bytes()).expect("the request parses");
    match envelope.body {
        Request::CreateItem(c) => c.items[0].raw_properties.clone(),
        other => panic!("not a CreateItem: {other:?}"),
    }
}

/// The raw properties of the one item a GetItem answer carries.
fn got_properties(answer: &ResponseEnvelope) -> Item {
    let messages = &answer
        .response()
        .expect("response messages")
        .response_messages;
    assert_eq!(messages.len(), 1);
    assert_eq!(
        messages[0].response_class,
        ResponseClass::Success,
        "{messages:?}"
    );
    messages[0].items[0].clone()
}

struct Checks {
    mock: Mock,
    microsoft: Option<&'static SchemaSet>,
    runtime: tokio::runtime::Runtime,
}

impl Checks {
    /// POSTs `request` as BOSS after holding it against both schema sets; the answer must be
    /// schema-valid and no fault.
    fn post(&self, request: &str) -> ResponseEnvelope {
        if let Some(ms) = self.microsoft {
            let theirs = ms.validate(request.as_bytes());
            assert!(theirs.errors.is_empty(), "{:?}\n{request}", theirs.errors);
        }
        let (status, envelope, text) = self.runtime.block_on(self.mock.post_valid(BOSS, request));
        assert_eq!(status, 200, "{text}\nfor {request}");
        assert!(envelope.fault().is_none(), "{text}");
        envelope
    }
}

fn checks() -> Checks {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mock = runtime.block_on(Mock::start(Profile::Documented));
    Checks {
        mock,
        microsoft: common::official(SchemaEra::Current),
        runtime,
    }
}

/// Distinct property indexes in table order, each with a value index.
fn arb_choice() -> impl Strategy<Value = Vec<(usize, usize)>> {
    proptest::collection::btree_map(0..PROPERTIES.len(), 0..4usize, 1..=PROPERTIES.len())
        .prop_map(|m| m.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn schema_valid_properties_are_kept_returned_and_updated(
        chosen in arb_choice(),
        change in arb_choice(),
        delete_first in any::<bool>(),
    ) {
        let c = CHECKS.with(|c| c.clone());
        let request = create(&chosen);
        let answer = c.post(&request);
        let created = got_properties(&answer);
        let id = created.item_id.clone().expect("an ItemId");
        let change_key = id.change_key.clone().unwrap_or_default();

        let item = got_properties(&c.post(&get(&id.id, &change_key, &chosen)));
        let mut want = sent_properties(&request);
        prop_assert_eq!(&item.raw_properties, &want, "as created");

        // Set the properties of `change` to new values; delete one that was there.
        let delete: Vec<usize> = chosen.iter().map(|(i, _)| *i)
            .filter(|i| delete_first && !change.iter().any(|(j, _)| j == i))
            .take(1)
            .collect();
        let change_key = item.item_id.clone().unwrap().change_key.unwrap_or_default();
        c.post(&update(&id.id, &change_key, &change, &delete));

        let now = got_properties(&c.post(&get(&id.id, "", &[chosen.clone(), change.clone()].concat())));
        let names = |i: usize| PROPERTIES[i].0;
        want.retain(|p| {
            !change.iter().any(|(i, _)| names(*i) == p.name)
                && !delete.iter().any(|i| names(*i) == p.name)
        });
        let mut set: Vec<_> = sent_properties(&create(&change));
        want.append(&mut set);
        let order = |p: &ewsconf::ews::RawProperty| {
            PROPERTIES.iter().position(|(n, _, _)| *n == p.name)
        };
        want.sort_by_key(order);
        prop_assert_eq!(&now.raw_properties, &want, "after the update");
    }
}

thread_local! {
    static CHECKS: std::rc::Rc<Checks> = std::rc::Rc::new(checks());
}

#[test]
fn an_update_the_mock_cannot_apply_gets_exchanges_answer_not_a_schema_fault() {
    let c = checks();
    let answer = c.post(&create(&[(0, 0)]));
    let id = got_properties(&answer).item_id.unwrap();
    let key = id.change_key.clone().unwrap_or_default();
    // Appending to a property that is not a body or a recipient list.
    let append = common::ews_envelope(&format!(
        "<m:UpdateItem ConflictResolution=\"AutoResolve\" MessageDisposition=\"SaveOnly\">\
         <m:ItemChanges><t:ItemChange><t:ItemId Id=\"{}\" ChangeKey=\"{key}\"/><t:Updates>\
         <t:AppendToItemField><t:FieldURI FieldURI=\"item:Sensitivity\"/><t:Message>\
         <t:Sensitivity>Private</t:Sensitivity></t:Message></t:AppendToItemField>\
         </t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>",
        id.id
    ));
    let answer = c.post(&append);
    let m = &answer.response().unwrap().response_messages[0];
    assert_eq!(m.response_class, ResponseClass::Error);
    assert_eq!(
        m.response_code,
        Some(ResponseCode::ErrorInvalidPropertyAppend)
    );
    // A contact's indexed property on a message.
    let indexed = append.replace(
        "<t:AppendToItemField><t:FieldURI FieldURI=\"item:Sensitivity\"/><t:Message>\
         <t:Sensitivity>Private</t:Sensitivity></t:Message></t:AppendToItemField>",
        "<t:DeleteItemField><t:IndexedFieldURI FieldURI=\"contacts:EmailAddress\" \
         FieldIndex=\"EmailAddress1\"/></t:DeleteItemField>",
    );
    assert_ne!(indexed, append);
    let answer = c.post(&indexed);
    let m = &answer.response().unwrap().response_messages[0];
    assert_eq!(
        m.response_code,
        Some(ResponseCode::ErrorInvalidPropertyRequest)
    );
    let _ = Element::parse(indexed.as_bytes()).unwrap();
}

/// A FindItem in boss's Drafts with `restriction`, as raw XML.
fn find(restriction: &str) -> String {
    common::ews_envelope(&format!(
        "<m:FindItem Traversal=\"Shallow\"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape>\
         </m:ItemShape><m:Restriction>{restriction}</m:Restriction><m:ParentFolderIds>\
         <t:DistinguishedFolderId Id=\"drafts\"/></m:ParentFolderIds></m:FindItem>"
    ))
}

#[test]
fn restrictions_read_kept_properties_and_unimplemented_expressions_are_named() {
    let c = checks();
    // Importance High (index 2, value 2) on one draft, Low on another.
    let high = got_properties(&c.post(&create(&[(2, 2)]))).item_id.unwrap();
    let _low = got_properties(&c.post(&create(&[(2, 0)]))).item_id.unwrap();
    let answer = c.post(&find(
        "<t:IsEqualTo><t:FieldURI FieldURI=\"item:Importance\"/><t:FieldURIOrConstant>\
         <t:Constant Value=\"High\"/></t:FieldURIOrConstant></t:IsEqualTo>",
    ));
    let root = &answer.response().unwrap().response_messages[0];
    let found: Vec<String> = root
        .root_folder
        .iter()
        .flat_map(|f| &f.items)
        .filter_map(|i| i.item_id.as_ref().map(|id| id.id.clone()))
        .collect();
    assert_eq!(found, [high.id], "only the draft whose Importance is High");

    // A search expression the mock does not evaluate: Exchange's answer for what a server does
    // not serve, naming it, and no schema fault.
    let request = find(
        "<t:IsGreaterThan><t:FieldURI FieldURI=\"item:Size\"/><t:FieldURIOrConstant>\
         <t:Constant Value=\"10\"/></t:FieldURIOrConstant></t:IsGreaterThan>",
    );
    let (status, answer, _) = c.runtime.block_on(c.mock.post_valid(BOSS, &request));
    let fault = answer.fault().expect("a fault");
    assert_eq!(status, 500);
    assert_eq!(
        fault.response_code(),
        Some(ResponseCode::ErrorInvalidRequest)
    );
    assert!(
        fault.fault_string.contains("IsGreaterThan"),
        "{}",
        fault.fault_string
    );
}
