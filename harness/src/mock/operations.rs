//! The mock's operations: each takes the acting user and a typed request and answers with the
//! response messages Exchange would send, one per requested item, in order (or, under the
//! `documented` profile, one for a request-level SendItem error), plus the deliveries the
//! transport then runs.
//!
//! Reference: <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/senditem>

use crate::clock::{format_time, now};
use crate::ews::send_item::{SavedCopy, saved_copy};
use crate::ews::{
    BaseItemId, Body, BodyType, CreateItem, DeleteItem, DeleteType, DistinguishedFolderName,
    FieldUri, FindItem, GetFolder, GetItem, Item, ItemKind, ItemTraversal, ItemUpdate,
    MessageDisposition, OperationResponse, PropertyPath, RawPath, Request, ResponseCode,
    ResponseMessage, ResponseVerb, RootFolder, SendItem, Shape, SmartResponse, TargetFolderId,
    UpdateItem, update_item::ConflictResolution,
};

use super::directory::{Directory, FolderPermission, UserIndex};
use super::folder::MockFolder;
use super::ids::{FolderKey, ItemKey, change_key};
use super::profile::{Quirk, SendItemObservation};
use super::store::{State, Store, StoredItem};
use super::transport::Delivery;

/// What an operation answered, and the mail it sent.
#[derive(Debug)]
pub struct Executed {
    /// The response messages.
    pub response: OperationResponse,
    /// Messages to hand to the transport.
    pub deliveries: Vec<Delivery>,
}

/// Exchange's message text for the codes the mock answers with.
pub fn message_text(code: ResponseCode) -> &'static str {
    use ResponseCode::*;
    match code {
        ErrorInvalidIdMalformed => "Id is malformed.",
        ErrorItemNotFound => "The specified object was not found in the store.",
        ErrorStaleObject => {
            "The change key passed in the request does not match the current change key for the item."
        }
        ErrorIrresolvableConflict => {
            "The send or update operation could not be performed because the change key passed in the request does not match the current change key for the item."
        }
        ErrorInvalidItemForOperationSendItem => {
            "The item is not valid for this operation; only messages can be sent."
        }
        ErrorMissingRecipients => "The message must have at least one recipient.",
        ErrorAccessDenied => "Access is denied. Check credentials and try again.",
        ErrorSendAsDenied => {
            "The user account which was used to submit this request does not have the right to send mail on behalf of the specified sending account."
        }
        ErrorInvalidSendItemSaveSettings => {
            "SavedItemFolderId can't be specified when SaveItemToFolder is false."
        }
        ErrorSavedItemFolderNotFound => "The folder to save the item to can't be found.",
        ErrorFolderNotFound => "The specified folder could not be found in the store.",
        ErrorNonExistentMailbox => "The SMTP address has no mailbox associated with it.",
        ErrorMessageDispositionRequired => "MessageDisposition attribute is required.",
        ErrorInvalidPropertySet => "The property can't be set on this item.",
        ErrorChangeKeyRequiredForWriteOperations => {
            "A ChangeKey is required for this write operation."
        }
        ErrorCannotCreateTaskInNonTaskFolder => "A task can only be created in a task folder.",
        ErrorInternalServerError => "An internal server error occurred. The operation failed.",
        _ => "The request failed.",
    }
}

/// True for the request-level SendItem errors Exchange answers with one response message for the
/// whole request: the save settings, the save folder, and the mailbox it names.
fn answers_once(code: ResponseCode) -> bool {
    crate::judge::REQUEST_LEVEL_CODES.contains(&code)
}

/// The error response message Exchange sends for `code`.
fn error(code: ResponseCode) -> ResponseMessage {
    ResponseMessage::error(code, message_text(code))
}

/// One response message per entry of a request, in order: what `answer` makes of the entry, or
/// the error message of the code it gives instead.
fn per_entry<T>(
    entries: &[T],
    answer: impl FnMut(&T) -> Result<ResponseMessage, ResponseCode>,
) -> Vec<ResponseMessage> {
    entries
        .iter()
        .map(answer)
        .map(|r| r.unwrap_or_else(error))
        .collect()
}

/// A `Success` message carrying these items.
fn with_items(items: Vec<Item>) -> ResponseMessage {
    ResponseMessage {
        items,
        ..ResponseMessage::success()
    }
}

struct Session<'a> {
    store: &'a Store,
    state: &'a mut State,
    actor: UserIndex,
    deliveries: Vec<Delivery>,
}

impl Store {
    /// Runs one request as `actor`. With `deliver_now`, sent mail is delivered under the same
    /// lock before it returns; otherwise the deliveries come back for the caller to run later.
    pub fn execute(&self, actor: UserIndex, request: &Request, deliver_now: bool) -> Executed {
        let mut state = self.lock();
        let mut session = Session {
            store: self,
            state: &mut state,
            actor,
            deliveries: Vec::new(),
        };
        let messages = match request {
            Request::SendItem(r) => session.send_item(r),
            Request::CreateItem(r) => session.create_item(r),
            Request::GetItem(r) => session.get_item(r),
            Request::FindItem(r) => session.find_item(r),
            Request::DeleteItem(r) => session.delete_item(r),
            Request::GetFolder(r) => session.get_folder(r),
            Request::UpdateItem(r) => session.update_item(r),
        };
        // A request that lists nothing only gets here unvalidated (`Profile::validates`: the
        // schema demands at least one entry), and a response must carry at least one message.
        // An unvalidated request that Exchange cannot act on fails later, as an internal error
        // (exchangelib #1310 shows newer requests going unvalidated; the exact code for an empty
        // list is not public, and ErrorInternalServerError is Exchange's generic failure).
        let messages = if messages.is_empty() {
            vec![error(ResponseCode::ErrorInternalServerError)]
        } else {
            messages
        };
        let mut deliveries = session.deliveries;
        if deliver_now {
            for d in deliveries.drain(..) {
                d.apply(&mut state, &self.directory);
            }
        }
        Executed {
            response: OperationResponse::new(request.name(), messages),
            deliveries,
        }
    }
}

impl Session<'_> {
    fn permission(&self, folder: FolderKey) -> FolderPermission {
        self.store.directory.folder_permission(
            self.actor,
            usize::from(folder.mailbox),
            folder.folder,
        )
    }

    /// The folder a reference leads to, or the code Exchange answers instead: `not_found` (which
    /// depends on the operation) for a folder that does not exist.
    fn resolve_folder(
        &self,
        folder: &TargetFolderId,
        not_found: ResponseCode,
    ) -> Result<FolderKey, ResponseCode> {
        let key = match folder {
            TargetFolderId::FolderId(f) => {
                FolderKey::decode(&f.id).map_err(|_| ResponseCode::ErrorInvalidIdMalformed)?
            }
            TargetFolderId::DistinguishedFolderId(d) => {
                let mailbox = match &d.mailbox {
                    None => self.actor,
                    Some(m) => m
                        .email_address
                        .as_deref()
                        .and_then(|a| self.store.directory.by_address(a))
                        .ok_or(ResponseCode::ErrorNonExistentMailbox)?,
                };
                FolderKey {
                    mailbox: mailbox as u16,
                    folder: MockFolder::from_distinguished(d.id).ok_or(not_found)?,
                }
            }
        };
        if usize::from(key.mailbox) >= self.store.directory.users().len() {
            return Err(not_found);
        }
        Ok(key)
    }

    /// Where a CreateItem or UpdateItem `SavedItemFolderId` points, if the request has one, as
    /// [`Session::resolve_folder`] finds it.
    fn saved_item_folder(
        &self,
        folder: Option<&TargetFolderId>,
        not_found: ResponseCode,
    ) -> Result<Option<FolderKey>, ResponseCode> {
        folder
            .map(|f| self.resolve_folder(f, not_found))
            .transpose()
    }

    /// A folder the actor may read, or the code Exchange answers instead.
    fn readable_folder(&self, folder: &TargetFolderId) -> Result<FolderKey, ResponseCode> {
        let key = self.resolve_folder(folder, ResponseCode::ErrorFolderNotFound)?;
        if self.permission(key) < FolderPermission::Reviewer {
            return Err(ResponseCode::ErrorAccessDenied);
        }
        Ok(key)
    }

    fn locate(&self, id: &BaseItemId) -> Result<(u64, &StoredItem), ResponseCode> {
        let BaseItemId::ItemId(item_id) = id else {
            // Occurrence and master ids name calendar items, which this store does not hold.
            let raw = match id {
                BaseItemId::OccurrenceItemId(o) => &o.recurring_master_id,
                BaseItemId::RecurringMasterItemId(r) => &r.occurrence_id,
                BaseItemId::ItemId(_) => unreachable!("handled above"),
            };
            return Err(match ItemKey::decode(raw) {
                Err(_) => ResponseCode::ErrorInvalidIdMalformed,
                Ok(_) => ResponseCode::ErrorItemNotFound,
            });
        };
        let key =
            ItemKey::decode(&item_id.id).map_err(|_| ResponseCode::ErrorInvalidIdMalformed)?;
        let item = self.state.get(key).ok_or(ResponseCode::ErrorItemNotFound)?;
        Ok((key.number, item))
    }

    /// Like [`Session::locate`], for an item in a folder where the actor holds at least
    /// `needed`.
    fn locate_with(
        &self,
        id: &BaseItemId,
        needed: FolderPermission,
    ) -> Result<(u64, &StoredItem), ResponseCode> {
        let (number, item) = self.locate(id)?;
        if self.permission(item.folder) < needed {
            return Err(ResponseCode::ErrorAccessDenied);
        }
        Ok((number, item))
    }

    /// Stored item `number` as an id-only wire item, as CreateItem and UpdateItem answer it.
    fn id_only(&self, number: u64) -> Result<Item, ResponseCode> {
        let stored = self
            .state
            .get_number(number)
            .ok_or(ResponseCode::ErrorItemNotFound)?;
        Ok(stored.to_wire(number, &Shape::id_and(&[]), &self.store.directory))
    }

    fn is_stale(id: &BaseItemId, number: u64, item: &StoredItem) -> bool {
        id.change_key()
            .is_some_and(|ck| ck != change_key(number, item.version))
    }

    fn send_item(&mut self, request: &SendItem) -> Vec<ResponseMessage> {
        let defects = self.store.defects;
        let profile = self.store.profile;
        let rule = saved_copy(
            request.save_item_to_folder,
            request.saved_item_folder_id.as_ref(),
        );
        let once = profile.follows(SendItemObservation::RequestErrorsOnce);
        let target = match rule {
            Err(_) if defects.accept_bad_save_settings => Ok(None),
            Err(code) => Err(code),
            Ok(SavedCopy::Folder(folder)) => self
                .resolve_folder(folder, ResponseCode::ErrorSavedItemFolderNotFound)
                .and_then(|key| {
                    // Exchange opens the save folder before any item, so a folder the caller
                    // may not write to refuses the whole request (see `RequestErrorsOnce`).
                    if once && self.permission(key) < FolderPermission::Author {
                        Err(ResponseCode::ErrorAccessDenied)
                    } else {
                        Ok(Some(key))
                    }
                }),
            Ok(SavedCopy::SentItems | SavedCopy::None) => Ok(None),
        };
        // Request-level errors answer once for the whole request (see `RequestErrorsOnce`).
        if let Err(code) = target
            && once
            && answers_once(code)
            && !request.item_ids.is_empty()
        {
            return vec![error(code)];
        }
        let change_key_required = profile.follows(SendItemObservation::ChangeKeyRequired);
        let mut messages = Vec::new();
        for id in &request.item_ids {
            let result = target.and_then(|target| {
                let (number, item) = self.locate(id)?;
                // See `ChangeKeyRequired`: nothing is sent without a change key.
                if change_key_required && id.change_key().is_none() {
                    return Err(ResponseCode::ErrorChangeKeyRequiredForWriteOperations);
                }
                if Self::is_stale(id, number, item) {
                    return Err(if defects.stale_as_not_found {
                        ResponseCode::ErrorItemNotFound
                    } else {
                        ResponseCode::ErrorStaleObject
                    });
                }
                let copy = CopyTo {
                    save: request.save_item_to_folder,
                    target,
                    spec: request.saved_item_folder_id.as_ref(),
                };
                self.send(number, copy, true)
            });
            if result.is_err()
                && defects.lose_draft_on_error
                && let BaseItemId::ItemId(item_id) = id
                && let Ok(key) = ItemKey::decode(&item_id.id)
            {
                self.state.remove(key.number);
            }
            let message = result.unwrap_or_else(error);
            if defects.duplicate_messages {
                messages.push(message.clone());
            }
            messages.push(message);
        }
        messages
    }

    /// Records on `original` that it was replied to or forwarded, as Exchange does:
    /// `PidTagLastVerbExecuted` (0x1081) 102, 103 or 104 and `PidTagLastVerbExecutionTime`
    /// (0x1082), extended properties a client reads with `ExtendedFieldURI`.
    /// <https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxomsg/>
    fn record_verb(&mut self, original: u64, verb: ResponseVerb) {
        let code = verb.last_verb_executed();
        let Some(item) = self.state.change(original) else {
            // Deleted since: nothing to mark.
            return;
        };
        for (path, value) in [
            (RawPath::last_verb_executed(), code.to_string()),
            (RawPath::last_verb_execution_time(), format_time(now())),
        ] {
            item.set_raw(crate::ews::RawProperty::extended(&path, &value));
        }
    }

    /// Sends stored item `number`: checks, copy placement (with the profile's quirks when
    /// `quirks`), removal of the draft, and the delivery.
    fn send(
        &mut self,
        number: u64,
        copy: CopyTo<'_>,
        quirks: bool,
    ) -> Result<ResponseMessage, ResponseCode> {
        let directory = &self.store.directory;
        let item = self
            .state
            .get_number(number)
            .ok_or(ResponseCode::ErrorItemNotFound)?;
        if item.kind != ItemKind::Message {
            return Err(ResponseCode::ErrorInvalidItemForOperationSendItem);
        }
        if self.permission(item.folder) < FolderPermission::Editor {
            return Err(ResponseCode::ErrorAccessDenied);
        }
        if item.recipients().next().is_none() {
            return Err(ResponseCode::ErrorMissingRecipients);
        }
        let owner = usize::from(item.folder.mailbox);
        let from_address = item
            .from
            .as_deref()
            .unwrap_or(&directory.users()[owner].address);
        let from = directory
            .by_address(from_address)
            .ok_or(ResponseCode::ErrorSendAsDenied)?;
        let sender = if from == self.actor {
            None
        } else {
            match directory.grant(self.actor, from) {
                Some(g) if g.send_as => None,
                Some(g) if g.send_on_behalf => Some(directory.users()[self.actor].address.clone()),
                _ => return Err(ResponseCode::ErrorSendAsDenied),
            }
        };
        let destination = match (copy.save, copy.target) {
            (false, _) => None,
            (true, None) => Some(FolderKey {
                mailbox: owner as u16,
                folder: MockFolder::SentItems,
            }),
            (true, Some(target)) => Some(target),
        };
        // Only a folder the request names needs the caller's rights; the default copy stays in
        // the item's own mailbox as part of the send (SaveItemToFolder=true, no folder).
        if let (Some(d), Some(_)) = (destination, copy.target)
            && self.permission(d) < FolderPermission::Author
        {
            return Err(ResponseCode::ErrorAccessDenied);
        }
        let profile = self.store.profile;
        let quirk_a = self.actor != owner
            && matches!(copy.spec, Some(TargetFolderId::DistinguishedFolderId(d))
                if d.id == DistinguishedFolderName::SentItems && d.mailbox.is_none());
        let quirk_b = self.actor == owner
            && destination.is_some_and(|d| {
                usize::from(d.mailbox) != owner && d.folder == MockFolder::SentItems
            });
        let silent = quirks
            && ((quirk_a && profile.reproduces(Quirk::DelegateCopyA))
                || (quirk_b && profile.reproduces(Quirk::DelegateCopyB)));

        // A silent send leaves the draft where it is; otherwise the draft itself becomes the
        // message, and the saved copy is the only clone.
        let mut message = if silent {
            item.clone()
        } else {
            self.state
                .remove(number)
                .ok_or(ResponseCode::ErrorItemNotFound)?
        };
        message.is_draft = false;
        message.sent = Some(now());
        // The sent message and every copy of it stay in one conversation.
        message.conversation = Some(message.conversation.unwrap_or(number));
        if let Some((original, verb)) = message.responds_to.take()
            && !self.store.defects.unthreaded_responses
        {
            self.record_verb(original, verb);
        }
        message.internet_message_id = Some(format!("<{number}.ewsconf-mock@mock.invalid>").into());
        message.from = Some(directory.users()[from].address.as_str().into());
        message.sender = sender.map(Into::into);
        // The copy is filed with the delivery: on Exchange 2013 and later it appears in Sent
        // Items seconds after SendItem answers (exchangelib's live tests wait 5 s for it).
        let saved_copy = match (silent, destination) {
            (false, Some(d)) => {
                let mut saved = message.clone();
                saved.folder = d;
                saved.version = 1;
                saved.is_read = true;
                Some(saved)
            }
            _ => None,
        };
        self.deliveries.push(Delivery {
            sender_mailbox: from,
            message,
            saved_copy,
            report_style: self.store.report_style,
        });
        Ok(ResponseMessage::success())
    }

    fn create_item(&mut self, request: &CreateItem) -> Vec<ResponseMessage> {
        let target = self.saved_item_folder(
            request.saved_item_folder_id.as_ref(),
            ResponseCode::ErrorFolderNotFound,
        );
        per_entry(&request.items, |item| {
            self.create_one(item, request.message_disposition, target?)
        })
    }

    fn create_one(
        &mut self,
        item: &Item,
        disposition: Option<MessageDisposition>,
        target: Option<FolderKey>,
    ) -> Result<ResponseMessage, ResponseCode> {
        let own = |folder| FolderKey {
            mailbox: self.actor as u16,
            folder,
        };
        let disposition = match (item.kind, disposition) {
            (ItemKind::Message, None) => return Err(ResponseCode::ErrorMessageDispositionRequired),
            (ItemKind::Message, Some(d)) => d,
            // Other kinds are only ever saved.
            (_, _) => MessageDisposition::SaveOnly,
        };
        let default_folder = match (item.kind, disposition) {
            (ItemKind::Task, _) => MockFolder::Tasks,
            (_, MessageDisposition::SaveOnly) => MockFolder::Drafts,
            _ => MockFolder::SentItems,
        };
        let folder = target.unwrap_or_else(|| own(default_folder));
        if self.permission(folder) < FolderPermission::Author {
            return Err(ResponseCode::ErrorAccessDenied);
        }
        // Exchange refuses a task outside a tasks folder, whatever the profile.
        if item.kind == ItemKind::Task && folder.folder != MockFolder::Tasks {
            return Err(ResponseCode::ErrorCannotCreateTaskInNonTaskFolder);
        }
        let mut stored =
            StoredItem::from_wire(item, folder, disposition == MessageDisposition::SaveOnly);
        if let Some(response) = &item.response {
            self.respond(&mut stored, item, response)?;
        }
        let number = self.state.insert(stored);
        if disposition == MessageDisposition::SaveOnly {
            return Ok(with_items(vec![self.id_only(number)?]));
        }
        let copy = CopyTo {
            save: disposition == MessageDisposition::SendAndSaveCopy,
            target: Some(folder),
            spec: None,
        };
        match self.send(number, copy, false) {
            Ok(_) => Ok(ResponseMessage::success()),
            Err(e) => {
                // Nothing was sent, so nothing is kept.
                self.state.remove(number);
                Err(e)
            }
        }
    }

    /// Makes `draft` the message the response object `item` asks for: the original's subject
    /// with the verb's prefix (unless the object gives one), its recipients (for a reply-all,
    /// everyone but the replying mailbox), the new text above the quoted original, and the
    /// thread: In-Reply-To (replies), References and the conversation. The verb is recorded on
    /// the original when the message is sent.
    fn respond(
        &self,
        draft: &mut StoredItem,
        item: &Item,
        response: &SmartResponse,
    ) -> Result<(), ResponseCode> {
        let reference = response
            .reference_item_id
            .clone()
            .ok_or(ResponseCode::ErrorMissingInformationReferenceItemId)?;
        let (number, original) =
            self.locate_with(&BaseItemId::from(reference), FolderPermission::Reviewer)?;
        if original.kind != ItemKind::Message {
            return Err(ResponseCode::ErrorInvalidReferenceItem);
        }
        let users = self.store.directory.users();
        let replying = [
            users[self.actor].address.as_str(),
            users[usize::from(draft.folder.mailbox)].address.as_str(),
        ];
        let others = |list: &[Box<str>]| -> Vec<Box<str>> {
            list.iter()
                .filter(|a| !replying.iter().any(|r| r.eq_ignore_ascii_case(a)))
                .cloned()
                .collect()
        };
        let author: Vec<Box<str>> = original.from.iter().cloned().collect();
        let (to, cc) = match response.verb {
            ResponseVerb::ReplyToItem => (author, Vec::new()),
            ResponseVerb::ReplyAllToItem => {
                let mut to = author;
                to.extend(others(&original.to));
                (to, others(&original.cc))
            }
            ResponseVerb::ForwardItem => (Vec::new(), Vec::new()),
        };
        // What the object names itself comes after what the original gives.
        draft.to = unique([to, std::mem::take(&mut draft.to)].concat());
        draft.cc = unique([cc, std::mem::take(&mut draft.cc)].concat());
        if item.subject.is_none() {
            let prefix = match response.verb {
                ResponseVerb::ForwardItem => "FW: ",
                _ => "RE: ",
            };
            draft.subject = format!("{prefix}{}", original.subject).into();
        }
        let new = response.new_body_content.as_ref().or(item.body.as_ref());
        draft.body = Some(quote(new, original, &self.store.directory));
        if response.verb != ResponseVerb::ForwardItem {
            draft.in_reply_to = original.internet_message_id.clone();
        }
        let chain: Vec<&str> = original
            .references
            .as_deref()
            .into_iter()
            .chain(original.internet_message_id.as_deref())
            .collect();
        draft.references = (!chain.is_empty()).then(|| chain.join(" ").into());
        draft.conversation = Some(original.conversation.unwrap_or(number));
        draft.responds_to = Some((number, response.verb));
        if self.store.defects.unthreaded_responses {
            draft.in_reply_to = None;
            draft.references = None;
        }
        Ok(())
    }

    fn get_item(&mut self, request: &GetItem) -> Vec<ResponseMessage> {
        per_entry(&request.item_ids, |id| {
            let (number, item) = self.locate_with(id, FolderPermission::Reviewer)?;
            let directory = &self.store.directory;
            Ok(with_items(vec![item.to_wire(
                number,
                &request.item_shape,
                directory,
            )]))
        })
    }

    fn find_item(&mut self, request: &FindItem) -> Vec<ResponseMessage> {
        per_entry(&request.parent_folder_ids, |folder| {
            let key = self.readable_folder(folder)?;
            let matching: Vec<(u64, &StoredItem)> = if request.traversal == ItemTraversal::Shallow {
                self.state
                    .in_folder(key)
                    .filter(|(_, item)| {
                        request
                            .restriction
                            .as_ref()
                            .is_none_or(|r| r.matches(&|p: &PropertyPath| item.property(p)))
                    })
                    .collect()
            } else {
                Vec::new()
            };
            let total = matching.len();
            let offset = request
                .indexed_page_item_view
                .map_or(0, |v| v.offset as usize)
                .min(total);
            let max = request
                .indexed_page_item_view
                .and_then(|v| v.max_entries_returned)
                .map_or(usize::MAX, |m| m as usize);
            let items: Vec<Item> = matching[offset..]
                .iter()
                .take(max)
                .map(|(n, i)| i.to_wire(*n, &request.item_shape, &self.store.directory))
                .collect();
            let end = offset + items.len();
            let mut m = ResponseMessage::success();
            m.root_folder = Some(RootFolder {
                indexed_paging_offset: request.indexed_page_item_view.map(|_| end as i32),
                total_items_in_view: Some(total as i32),
                includes_last_item_in_range: Some(end >= total),
                items,
            });
            Ok(m)
        })
    }

    fn delete_item(&mut self, request: &DeleteItem) -> Vec<ResponseMessage> {
        per_entry(&request.item_ids, |id| {
            let (number, item) = self.locate_with(id, FolderPermission::Editor)?;
            let folder = item.folder;
            match request.delete_type {
                DeleteType::MoveToDeletedItems if folder.folder != MockFolder::DeletedItems => {
                    let deleted = FolderKey {
                        mailbox: folder.mailbox,
                        folder: MockFolder::DeletedItems,
                    };
                    self.state.move_to(number, deleted);
                }
                _ => {
                    self.state.remove(number);
                }
            }
            Ok(ResponseMessage::success())
        })
    }

    fn get_folder(&mut self, request: &GetFolder) -> Vec<ResponseMessage> {
        per_entry(&request.folder_ids, |folder| {
            let key = self.readable_folder(folder)?;
            let mut m = ResponseMessage::success();
            m.folders = vec![self.state.folder(key)];
            Ok(m)
        })
    }

    fn update_item(&mut self, request: &UpdateItem) -> Vec<ResponseMessage> {
        let target = self.saved_item_folder(
            request.saved_item_folder_id.as_ref(),
            ResponseCode::ErrorSavedItemFolderNotFound,
        );
        per_entry(&request.item_changes, |change| {
            let target = target?;
            let (number, item) = self.locate(&change.item_id)?;
            if Self::is_stale(&change.item_id, number, item)
                && request.conflict_resolution != ConflictResolution::AlwaysOverwrite
            {
                return Err(ResponseCode::ErrorIrresolvableConflict);
            }
            if self.permission(item.folder) < FolderPermission::Editor {
                return Err(ResponseCode::ErrorAccessDenied);
            }
            let mut updated = item.clone();
            for update in &change.updates {
                apply_update(&mut updated, update)?;
            }
            let Some(slot) = self.state.change(number) else {
                return Err(ResponseCode::ErrorItemNotFound);
            };
            let version = slot.version;
            *slot = StoredItem { version, ..updated };
            let sends = matches!(
                request.message_disposition,
                Some(MessageDisposition::SendOnly | MessageDisposition::SendAndSaveCopy)
            );
            let mut m = if sends {
                let copy = CopyTo {
                    save: request.message_disposition == Some(MessageDisposition::SendAndSaveCopy),
                    target,
                    spec: request.saved_item_folder_id.as_ref(),
                };
                self.send(number, copy, false)?
            } else {
                with_items(vec![self.id_only(number)?])
            };
            m.conflict_results = Some(0);
            Ok(m)
        })
    }
}

/// Where a send puts its copy.
#[derive(Clone, Copy)]
struct CopyTo<'a> {
    save: bool,
    target: Option<FolderKey>,
    // The folder as the request named it: the delegate quirks depend on its spelling.
    spec: Option<&'a TargetFolderId>,
}

fn apply_update(item: &mut StoredItem, update: &ItemUpdate) -> Result<(), ResponseCode> {
    let (path, value, append) = match update {
        ItemUpdate::SetItemField { path, item } => (path, Some(item), false),
        ItemUpdate::AppendToItemField { path, item } => (path, Some(item), true),
        ItemUpdate::DeleteItemField { path } => (path, None, false),
    };
    match path {
        PropertyPath::Field(field_uri) => match value {
            Some(value) => set_field(item, *field_uri, value, append),
            None => delete_field(item, *field_uri),
        },
        PropertyPath::Raw(raw) => apply_raw(item, raw, value, append),
    }
}

/// A property the mock keeps without acting on it: set, delete, or (refused, as Exchange refuses
/// appending to anything but a body or a recipient list) append.
fn apply_raw(
    item: &mut StoredItem,
    path: &RawPath,
    value: Option<&Item>,
    append: bool,
) -> Result<(), ResponseCode> {
    // An IndexedFieldURI names a contact's entry; an element outside the item's schema type
    // belongs to another kind of item.
    let (name, key) = path
        .target()
        .filter(|(name, _)| crate::ews::property::position(item.kind, name) != usize::MAX)
        .ok_or(ResponseCode::ErrorInvalidPropertyRequest)?;
    if append {
        return Err(ResponseCode::ErrorInvalidPropertyAppend);
    }
    let new = match value {
        None => None,
        Some(value) => Some(
            value
                .raw_properties
                .iter()
                .find(|p| p.name == name && p.key == key)
                .ok_or(ResponseCode::ErrorInvalidPropertySet)?,
        ),
    };
    match new {
        Some(new) => item.set_raw(new.clone()),
        None => item.raw.retain(|p| !(p.name == name && p.key == key)),
    }
    Ok(())
}

fn set_field(
    item: &mut StoredItem,
    field_uri: FieldUri,
    value: &Item,
    append: bool,
) -> Result<(), ResponseCode> {
    let invalid = || ResponseCode::ErrorInvalidPropertySet;
    let addresses = |list: &[crate::ews::Mailbox]| -> Vec<Box<str>> {
        list.iter()
            .filter_map(|m| m.email_address.as_deref().map(Box::from))
            .collect()
    };
    match field_uri {
        FieldUri::ItemSubject if !append => {
            item.subject = value.subject.as_deref().unwrap_or_default().into();
        }
        FieldUri::ItemBody => {
            let b = value.body.as_ref().ok_or_else(invalid)?;
            let content = match (&item.body, append) {
                (Some((_, old)), true) => format!("{old}{}", b.content),
                _ => b.content.clone(),
            };
            item.body = Some((b.body_type, content.into()));
        }
        FieldUri::MessageToRecipients
        | FieldUri::MessageCcRecipients
        | FieldUri::MessageBccRecipients => {
            let (list, new) = match field_uri {
                FieldUri::MessageToRecipients => (&mut item.to, addresses(&value.to_recipients)),
                FieldUri::MessageCcRecipients => (&mut item.cc, addresses(&value.cc_recipients)),
                _ => (&mut item.bcc, addresses(&value.bcc_recipients)),
            };
            if !append {
                list.clear();
            }
            list.extend(new);
        }
        FieldUri::MessageIsRead if !append => item.is_read = value.is_read.unwrap_or(item.is_read),
        FieldUri::MessageIsDeliveryReceiptRequested if !append => {
            item.delivery_receipt = value.is_delivery_receipt_requested.unwrap_or(false);
        }
        FieldUri::MessageIsReadReceiptRequested if !append => {
            item.read_receipt = value.is_read_receipt_requested.unwrap_or(false);
        }
        FieldUri::MessageFrom if !append => {
            item.from = value
                .from
                .as_ref()
                .and_then(|m| m.email_address.as_deref())
                .map(Box::from);
        }
        FieldUri::ItemInReplyTo if !append => {
            item.in_reply_to = value.in_reply_to.as_deref().map(Box::from);
        }
        FieldUri::MessageReferences if !append => {
            item.references = value.references.as_deref().map(Box::from);
        }
        _ if append => return Err(ResponseCode::ErrorInvalidPropertyAppend),
        _ => return Err(invalid()),
    }
    Ok(())
}

/// Removes a typed property; the ones the server sets itself (ids, class, times, the
/// Message-ID) cannot be removed.
fn delete_field(item: &mut StoredItem, field_uri: FieldUri) -> Result<(), ResponseCode> {
    match field_uri {
        FieldUri::ItemSubject => item.subject = "".into(),
        FieldUri::ItemBody => item.body = None,
        FieldUri::ItemInReplyTo => item.in_reply_to = None,
        FieldUri::MessageReferences => item.references = None,
        FieldUri::MessageToRecipients => item.to.clear(),
        FieldUri::MessageCcRecipients => item.cc.clear(),
        FieldUri::MessageBccRecipients => item.bcc.clear(),
        FieldUri::MessageFrom => item.from = None,
        FieldUri::MessageSender => item.sender = None,
        FieldUri::MessageIsRead => item.is_read = false,
        FieldUri::MessageIsDeliveryReceiptRequested => item.delivery_receipt = false,
        FieldUri::MessageIsReadReceiptRequested => item.read_receipt = false,
        FieldUri::ItemClass
        | FieldUri::ItemParentFolderId
        | FieldUri::ItemDateTimeSent
        | FieldUri::ItemDateTimeCreated
        | FieldUri::MessageInternetMessageId
        | FieldUri::ItemConversationId
        | FieldUri::FolderDisplayName
        | FieldUri::FolderTotalCount => return Err(ResponseCode::ErrorInvalidPropertyDelete),
    }
    Ok(())
}

/// `list` without repeats, compared as addresses are (ignoring case), first kept.
fn unique(list: Vec<Box<str>>) -> Vec<Box<str>> {
    let mut out: Vec<Box<str>> = Vec::with_capacity(list.len());
    for a in list {
        if !out.iter().any(|b| b.eq_ignore_ascii_case(&a)) {
            out.push(a);
        }
    }
    out
}

/// The body of a reply or forward: the new text, then the original under a header naming its
/// author, time, recipients and subject. The layout is the mock's own; what a client can rely
/// on is that the new text comes first and the original's text is quoted whole.
fn quote(new: Option<&Body>, original: &StoredItem, directory: &Directory) -> (BodyType, Box<str>) {
    let body_type = new
        .map(|b| b.body_type)
        .or(original.body.as_ref().map(|(t, _)| *t))
        .unwrap_or(BodyType::Text);
    let name = |address: &str| match directory.by_address(address) {
        Some(i) => format!("{} <{address}>", directory.users()[i].display_name),
        None => address.to_owned(),
    };
    let header = [
        (
            "From",
            original.from.as_deref().map(name).unwrap_or_default(),
        ),
        ("Sent", original.sent.map(format_time).unwrap_or_default()),
        (
            "To",
            original
                .to
                .iter()
                .map(|a| name(a))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        ("Subject", original.subject.to_string()),
    ];
    let new_text = new.map_or("", |b| b.content.as_str());
    let old_text = original.body.as_ref().map_or("", |(_, b)| &**b);
    let text = match body_type {
        BodyType::Text => {
            let mut t = format!("{new_text}\r\n\r\n________________________________\r\n");
            for (k, v) in header {
                t.push_str(&format!("{k}: {v}\r\n"));
            }
            t.push_str("\r\n");
            t.push_str(old_text);
            t
        }
        BodyType::Html => {
            let mut t = format!("<html><body>{new_text}<hr><div>");
            for (k, v) in header {
                t.push_str(&format!("<b>{k}:</b> {}<br>", html_escape(&v)));
            }
            t.push_str("</div><div>");
            t.push_str(old_text);
            t.push_str("</div></body></html>");
            t
        }
    };
    (body_type, text.into())
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
