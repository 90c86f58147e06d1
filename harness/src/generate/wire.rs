//! `arb_*` strategies over the wire model's inputs: every shape the schema allows for the
//! operations the harness speaks, with values a schema of the chosen era accepts.

use proptest::prelude::*;
use proptest::sample::select;

use crate::ews::PropertyPath;

use crate::ews::{
    BaseItemId, BaseShape, Body, BodyType, ConnectingSid, ContainmentComparison, ContainmentMode,
    CreateItem, DeleteItem, DeleteType, DistinguishedFolderId, DistinguishedFolderName,
    ExchangeVersion, FieldUri, FindItem, Folder, FolderId, GetFolder, GetItem, Item, ItemChange,
    ItemId, ItemKind, ItemTraversal, ItemUpdate, Mailbox, MailboxType, MessageDisposition,
    OccurrenceItemId, OperationResponse, RecurringMasterItemId, Request, RequestEnvelope,
    RequestHeaders, ResponseBody, ResponseCode, ResponseEnvelope, ResponseMessage, Restriction,
    RootFolder, SendItem, ServerVersionInfo, Shape, TargetFolderId, UpdateItem,
    find_item::IndexedPageItemView, update_item::ConflictResolution,
};

/// Which published schema the generated values must satisfy; older schemas know fewer
/// enumeration values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaEra {
    /// Exchange 2010 SP2's schema.
    Exchange2010Sp2,
    /// The newest schema (Exchange 2016 / Exchange Online).
    Current,
}

impl SchemaEra {
    fn versions(self) -> &'static [ExchangeVersion] {
        match self {
            // A server's published schema fixes RequestServerVersion/@Version to its own version.
            SchemaEra::Exchange2010Sp2 => &[ExchangeVersion::Exchange2010Sp2],
            SchemaEra::Current => ExchangeVersion::ALL,
        }
    }

    fn folder_names(self) -> &'static [DistinguishedFolderName] {
        match self {
            SchemaEra::Exchange2010Sp2 => DistinguishedFolderName::EXCHANGE_2010_SP2,
            SchemaEra::Current => DistinguishedFolderName::ALL,
        }
    }

    fn mailbox_types(self) -> &'static [MailboxType] {
        match self {
            // GroupMailbox, ImplicitContact and User came after 2010 SP2.
            SchemaEra::Exchange2010Sp2 => &MailboxType::ALL[..7],
            SchemaEra::Current => MailboxType::ALL,
        }
    }
}

/// Printable text with some XML specials and non-ASCII, never a character XML 1.0 forbids.
/// Carriage returns are left out: XML parsers normalize them to line feeds, so they would not
/// survive a round trip.
pub fn arb_text(max_len: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!(
        "[a-zA-Z0-9 <>&\"'.,;:!?@#=+/_\\-\u{e9}\u{4e2d}\u{1f600}\n\t]{{0,{max_len}}}"
    ))
    .unwrap_or_else(|e| unreachable!("the pattern is fixed and valid: {e}"))
}

/// Opaque store ids as Exchange shapes them: base64 text, 1 to 64 characters (real ids run from
/// about 40 to 200; the length does not change the shape of the request).
pub fn arb_opaque_id() -> impl Strategy<Value = String> {
    "[A-Za-z0-9+/]{1,62}={0,2}"
}

/// SMTP addresses in a handful of domains, local parts of 1 to 20 characters.
pub fn arb_address() -> impl Strategy<Value = String> {
    (
        "[a-z][a-z0-9.]{0,19}",
        select(&["example.com", "contoso.com", "example.org"][..]),
    )
        .prop_map(|(local, domain)| format!("{local}@{domain}"))
}

/// `t:ItemId` with or without a change key.
pub fn arb_item_id() -> impl Strategy<Value = ItemId> {
    (arb_opaque_id(), proptest::option::of(arb_opaque_id()))
        .prop_map(|(id, change_key)| ItemId { id, change_key })
}

/// Any of the three item id kinds. Instance indexes stay 1..=1000: occurrences are 1-based and
/// a series rarely has more.
pub fn arb_base_item_id() -> impl Strategy<Value = BaseItemId> {
    prop_oneof![
        4 => arb_item_id().prop_map(BaseItemId::ItemId),
        1 => (arb_opaque_id(), proptest::option::of(arb_opaque_id()), 1..=1000i32).prop_map(
            |(recurring_master_id, change_key, instance_index)| {
                BaseItemId::OccurrenceItemId(OccurrenceItemId {
                    recurring_master_id,
                    change_key,
                    instance_index,
                })
            }
        ),
        1 => (arb_opaque_id(), proptest::option::of(arb_opaque_id())).prop_map(
            |(occurrence_id, change_key)| {
                BaseItemId::RecurringMasterItemId(RecurringMasterItemId {
                    occurrence_id,
                    change_key,
                })
            }
        ),
    ]
}

/// 1 to 5 item ids: one is the common case, a few exercise per-item ordering.
pub fn arb_item_ids() -> impl Strategy<Value = Vec<BaseItemId>> {
    proptest::collection::vec(arb_base_item_id(), 1..=5)
}

/// A `t:Mailbox`: address alone, or with any of the optional parts.
pub fn arb_mailbox(era: SchemaEra) -> impl Strategy<Value = Mailbox> {
    (
        proptest::option::of(arb_text(20)),
        proptest::option::of(arb_address()),
        proptest::option::of(Just("SMTP".to_owned())),
        proptest::option::of(select(era.mailbox_types())),
    )
        .prop_map(
            |(name, email_address, routing_type, mailbox_type)| Mailbox {
                name,
                email_address,
                routing_type,
                mailbox_type,
            },
        )
}

/// A folder by id, or by well-known name with or without another user's mailbox.
pub fn arb_target_folder_id(era: SchemaEra) -> impl Strategy<Value = TargetFolderId> {
    prop_oneof![
        (arb_opaque_id(), proptest::option::of(arb_opaque_id()))
            .prop_map(|(id, change_key)| TargetFolderId::FolderId(FolderId { id, change_key })),
        (
            select(era.folder_names()),
            proptest::option::of(arb_opaque_id()),
            proptest::option::of(arb_mailbox(era)),
        )
            .prop_map(|(id, change_key, mailbox)| {
                TargetFolderId::DistinguishedFolderId(DistinguishedFolderId {
                    id,
                    change_key,
                    mailbox,
                })
            }),
    ]
}

/// Each optional header present or not; every ConnectingSID form.
pub fn arb_request_headers(era: SchemaEra) -> impl Strategy<Value = RequestHeaders> {
    let sid = prop_oneof![
        "[a-z]{1,12}@example\\.com".prop_map(ConnectingSid::PrincipalName),
        "S-1-5-21-[0-9]{1,10}-[0-9]{1,10}".prop_map(ConnectingSid::Sid),
        arb_address().prop_map(ConnectingSid::PrimarySmtpAddress),
        arb_address().prop_map(ConnectingSid::SmtpAddress),
    ];
    (
        proptest::option::of(select(era.versions())),
        proptest::option::of(sid),
        proptest::option::of(select(&["en-US", "de-DE", "fr-FR", "ja-JP", "pt-BR"][..])),
    )
        .prop_map(
            |(request_server_version, exchange_impersonation, culture)| RequestHeaders {
                request_server_version,
                exchange_impersonation,
                mailbox_culture: culture.map(str::to_owned),
            },
        )
}

/// A SendItem of any shape the schema allows, including `false` with a folder (schema-valid,
/// refused by the server with `ErrorInvalidSendItemSaveSettings`).
pub fn arb_send_item(era: SchemaEra) -> impl Strategy<Value = SendItem> {
    (
        any::<bool>(),
        arb_item_ids(),
        proptest::option::of(arb_target_folder_id(era)),
    )
        .prop_map(
            |(save_item_to_folder, item_ids, saved_item_folder_id)| SendItem {
                save_item_to_folder,
                item_ids,
                saved_item_folder_id,
            },
        )
}

/// Up to 3 recipients per list: enough for several-recipient NDRs, small enough to stay fast.
fn arb_recipients(era: SchemaEra) -> impl Strategy<Value = Vec<Mailbox>> {
    proptest::collection::vec(arb_mailbox(era), 0..=3)
}

/// A message or task as a client would create it: only client-settable properties.
/// Subjects stay within the schema's 255 characters.
pub fn arb_new_item(era: SchemaEra) -> impl Strategy<Value = Item> {
    let body = || {
        proptest::option::of(
            (select(BodyType::ALL), arb_text(200))
                .prop_map(|(body_type, content)| Body { body_type, content }),
        )
    };
    let message = (
        proptest::option::of(arb_text(120)),
        body(),
        arb_recipients(era),
        arb_recipients(era),
        arb_recipients(era),
        proptest::option::of(arb_mailbox(era)),
        proptest::option::of(any::<bool>()),
        proptest::option::of(any::<bool>()),
    )
        .prop_map(|(subject, body, to, cc, bcc, from, dr, rr)| Item {
            subject,
            body,
            to_recipients: to,
            cc_recipients: cc,
            bcc_recipients: bcc,
            from,
            is_delivery_receipt_requested: dr,
            is_read_receipt_requested: rr,
            ..Item::new(ItemKind::Message)
        });
    let other = (
        select(&[ItemKind::Task, ItemKind::Item][..]),
        proptest::option::of(arb_text(120)),
        body(),
    )
        .prop_map(|(kind, subject, body)| Item {
            subject,
            body,
            ..Item::new(kind)
        });
    prop_oneof![3 => message, 1 => other]
}

/// CreateItem with each disposition (or none), with or without a target folder.
pub fn arb_create_item(era: SchemaEra) -> impl Strategy<Value = CreateItem> {
    (
        proptest::option::of(select(MessageDisposition::ALL)),
        proptest::option::of(arb_target_folder_id(era)),
        proptest::collection::vec(arb_new_item(era), 1..=3),
    )
        .prop_map(
            |(message_disposition, saved_item_folder_id, items)| CreateItem {
                message_disposition,
                saved_item_folder_id,
                items,
            },
        )
}

/// Item or folder shapes: each base shape, with up to 4 extra properties.
pub fn arb_shape() -> impl Strategy<Value = Shape> {
    (
        select(BaseShape::ALL),
        proptest::collection::vec(select(FieldUri::ALL), 0..=4),
    )
        .prop_map(|(base_shape, additional_properties)| Shape {
            base_shape,
            additional_properties,
            raw_properties: Vec::new(),
        })
}

/// Restrictions nest at most 3 deep: the harness itself uses one level.
pub fn arb_restriction() -> impl Strategy<Value = Restriction> {
    let leaf = prop_oneof![
        (select(FieldUri::ALL), arb_text(30)).prop_map(|(field_uri, value)| {
            Restriction::IsEqualTo {
                path: PropertyPath::Field(field_uri),
                value,
            }
        }),
        (
            select(FieldUri::ALL),
            arb_text(30),
            select(ContainmentMode::ALL),
            select(ContainmentComparison::ALL),
        )
            .prop_map(
                |(field_uri, value, mode, comparison)| Restriction::Contains {
                    path: PropertyPath::Field(field_uri),
                    value,
                    mode,
                    comparison,
                }
            ),
    ];
    leaf.prop_recursive(3, 8, 3, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 1..=3).prop_map(Restriction::And),
            proptest::collection::vec(inner.clone(), 1..=3).prop_map(Restriction::Or),
            inner.prop_map(|r| Restriction::Not(Box::new(r))),
        ]
    })
}

/// Any request of the seven operations.
pub fn arb_request(era: SchemaEra) -> impl Strategy<Value = Request> {
    let get_item = (arb_shape(), arb_item_ids()).prop_map(|(item_shape, item_ids)| {
        Request::GetItem(GetItem {
            item_shape,
            item_ids,
        })
    });
    let find_item = (
        select(ItemTraversal::ALL),
        arb_shape(),
        proptest::option::of((proptest::option::of(1..=1000u32), 0..=10_000u32).prop_map(
            |(max, offset)| IndexedPageItemView {
                max_entries_returned: max,
                offset,
            },
        )),
        proptest::option::of(arb_restriction()),
        proptest::collection::vec(arb_target_folder_id(era), 1..=2),
    )
        .prop_map(
            |(traversal, item_shape, indexed_page_item_view, restriction, parent_folder_ids)| {
                Request::FindItem(FindItem {
                    traversal,
                    item_shape,
                    indexed_page_item_view,
                    restriction,
                    parent_folder_ids,
                })
            },
        );
    let delete_item =
        (select(DeleteType::ALL), arb_item_ids()).prop_map(|(delete_type, item_ids)| {
            Request::DeleteItem(DeleteItem {
                delete_type,
                item_ids,
            })
        });
    let get_folder = (
        arb_shape(),
        proptest::collection::vec(arb_target_folder_id(era), 1..=3),
    )
        .prop_map(|(folder_shape, folder_ids)| {
            Request::GetFolder(GetFolder {
                folder_shape,
                folder_ids,
            })
        });
    let update_item = (
        select(ConflictResolution::ALL),
        proptest::option::of(select(MessageDisposition::ALL)),
        proptest::option::of(arb_target_folder_id(era)),
        arb_base_item_id(),
        arb_text(100),
    )
        .prop_map(
            |(conflict_resolution, message_disposition, folder, id, subject)| {
                Request::UpdateItem(UpdateItem {
                    conflict_resolution,
                    message_disposition,
                    saved_item_folder_id: folder,
                    item_changes: vec![ItemChange {
                        item_id: id,
                        updates: vec![
                            ItemUpdate::SetItemField {
                                path: FieldUri::ItemSubject.into(),
                                item: Item::message(subject),
                            },
                            ItemUpdate::DeleteItemField {
                                path: FieldUri::MessageIsRead.into(),
                            },
                        ],
                    }],
                })
            },
        );
    prop_oneof![
        3 => arb_send_item(era).prop_map(Request::SendItem),
        1 => arb_create_item(era).prop_map(Request::CreateItem),
        1 => get_item,
        1 => find_item,
        1 => delete_item,
        1 => get_folder,
        1 => update_item,
    ]
}

/// A whole request envelope: any operation with any headers.
pub fn arb_request_envelope(era: SchemaEra) -> impl Strategy<Value = RequestEnvelope> {
    (arb_request_headers(era), arb_request(era))
        .prop_map(|(headers, body)| RequestEnvelope { headers, body })
}

/// An item as a server returns it: ids, class and the read-only properties filled in.
pub fn arb_returned_item(era: SchemaEra) -> impl Strategy<Value = Item> {
    (
        arb_new_item(era),
        arb_item_id(),
        arb_opaque_id(),
        select(
            &[
                "IPM.Note",
                "IPM.Task",
                "REPORT.IPM.Note.NDR",
                "REPORT.IPM.Note.DR",
            ][..],
        ),
        proptest::option::of(Just("2026-11-23T10:15:00Z".to_owned())),
        proptest::option::of(any::<bool>()),
    )
        .prop_map(|(mut item, id, parent, class, sent, is_read)| {
            item.item_id = Some(id);
            item.parent_folder_id = Some(FolderId::new(parent));
            item.item_class = Some(class.to_owned());
            item.date_time_sent = sent.clone();
            item.date_time_created = sent;
            if item.kind == ItemKind::Message {
                item.is_read = is_read;
            }
            item
        })
}

/// A response message consistent in class and code, carrying what `operation` returns.
pub fn arb_response_message(
    operation: &'static str,
    era: SchemaEra,
) -> impl Strategy<Value = ResponseMessage> {
    let codes: Vec<ResponseCode> = ResponseCode::ALL[1..].to_vec();
    let error =
        (select(codes), arb_text(80)).prop_map(|(code, text)| ResponseMessage::error(code, text));
    let success = proptest::collection::vec(arb_returned_item(era), 0..=3).prop_map(move |items| {
        let mut m = ResponseMessage::success();
        match operation {
            "CreateItem" | "GetItem" | "UpdateItem" => m.items = items,
            "FindItem" => {
                m.root_folder = Some(RootFolder {
                    indexed_paging_offset: Some(items.len() as i32),
                    total_items_in_view: Some(items.len() as i32),
                    includes_last_item_in_range: Some(true),
                    items,
                })
            }
            "GetFolder" => {
                m.folders = vec![Folder {
                    folder_id: Some(FolderId::new("AQMkAGZ=")),
                    display_name: Some("Sent Items".into()),
                    total_count: Some(items.len() as i32),
                    ..Folder::default()
                }]
            }
            _ => {}
        }
        if operation == "UpdateItem" {
            m.conflict_results = Some(0);
        }
        m
    });
    prop_oneof![success, error]
}

/// A response envelope to one operation with 1 to 4 messages, or a SOAP Fault.
pub fn arb_response_envelope(era: SchemaEra) -> impl Strategy<Value = ResponseEnvelope> {
    let operation = select(Request::NAMES);
    let response = operation.prop_flat_map(move |op| {
        proptest::collection::vec(arb_response_message(op, era), 1..=4)
            .prop_map(move |messages| ResponseBody::Response(OperationResponse::new(op, messages)))
    });
    let version =
        (0..=20i32, 0..=5i32, 0..=2000i32, 0..=50i32).prop_map(|(a, b, c, d)| ServerVersionInfo {
            major_version: Some(a),
            minor_version: Some(b),
            major_build_number: Some(c),
            minor_build_number: Some(d),
            version: Some("V2018_01_08".into()),
        });
    (proptest::option::of(version), response).prop_map(|(server_version_info, body)| {
        ResponseEnvelope {
            server_version_info,
            body,
        }
    })
}
