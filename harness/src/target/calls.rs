//! The calls the harness makes to set up and observe a mailbox: create a draft, send it, find
//! items by subject, read and delete them. Each answers with typed values or says why not.

use crate::ews::{
    BaseItemId, ConflictResolution, CreateItem, DeleteItem, DistinguishedFolderId,
    DistinguishedFolderName, FieldUri, FindItem, FolderId, GetFolder, GetItem, Item, ItemChange,
    ItemId, ItemUpdate, MessageDisposition, Request, RequestEnvelope, RequestHeaders, ResponseCode,
    ResponseEnvelope, ResponseMessage, Restriction, SendItem, Shape, SoapFault, TargetFolderId,
    UpdateItem,
};

use super::auth::Auth;
use super::client::{Client, TargetError};

/// A mailbox account on the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Primary SMTP address.
    pub address: String,
    /// How it logs in.
    pub auth: Auth,
}

impl Account {
    /// An account that logs in with Basic credentials under its own address.
    pub fn basic(address: impl Into<String>, password: impl Into<String>) -> Self {
        let address = address.into();
        Self {
            auth: Auth::basic(address.clone(), password),
            address,
        }
    }
}

/// Why a setup or observation call did not give what it asked for.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The request did not get a response.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// The response was not an EWS envelope.
    #[error("{operation}: HTTP {status}, and the body is not an EWS response: {reason}")]
    NotEws {
        /// The operation.
        operation: &'static str,
        /// HTTP status.
        status: u16,
        /// Why it could not be read.
        reason: String,
    },
    /// The server answered with a SOAP Fault.
    #[error("{operation}: SOAP Fault {code}: {text}", code = fault.fault_code.name, text = fault.fault_string)]
    Fault {
        /// The operation.
        operation: &'static str,
        /// The fault.
        fault: SoapFault,
    },
    /// The server answered with an error response message.
    #[error("{operation}: {code}{}", text.as_deref().map(|t| format!(": {t}")).unwrap_or_default())]
    Ews {
        /// The operation.
        operation: &'static str,
        /// The response code.
        code: ResponseCode,
        /// The message text.
        text: Option<String>,
    },
}

impl CallError {
    /// The EWS response code of the failure, if the server gave one.
    pub fn response_code(&self) -> Option<ResponseCode> {
        match self {
            CallError::Ews { code, .. } => Some(*code),
            CallError::Fault { fault, .. } => fault.response_code(),
            _ => None,
        }
    }
}

/// Ids one DeleteItem names at most (see [`Client::delete`]).
/// <https://learn.microsoft.com/en-us/exchange/client-developer/exchange-web-services/ews-throttling-in-exchange>
pub const DELETE_BATCH: usize = 100;

/// The well-known folder `name` of the mailbox `owner`.
pub fn folder_of(owner: &str, name: DistinguishedFolderName) -> TargetFolderId {
    TargetFolderId::DistinguishedFolderId(DistinguishedFolderId::in_mailbox(name, owner))
}

/// The id of the item a message carries: the one it made or changed.
fn item_id_of(m: ResponseMessage) -> Option<ItemId> {
    m.items.into_iter().next().and_then(|i| i.item_id)
}

impl Client {
    /// Sends `request` as `account` and returns the response messages, failing on a fault.
    pub async fn messages(
        &self,
        account: &Account,
        headers: &RequestHeaders,
        request: impl Into<Request>,
    ) -> Result<Vec<ResponseMessage>, CallError> {
        let envelope = RequestEnvelope::new(request).with_headers(headers.clone());
        let operation = envelope.body.name();
        let exchange = self.call(&account.auth, &envelope).await?;
        self.record(&account.address, &exchange);
        let parsed = ResponseEnvelope::parse(&exchange.body).map_err(|e| CallError::NotEws {
            operation,
            status: exchange.status,
            reason: e.to_string(),
        })?;
        match parsed.body {
            crate::ews::ResponseBody::Fault(fault) => Err(CallError::Fault { operation, fault }),
            crate::ews::ResponseBody::Response(r) => Ok(r.response_messages),
        }
    }

    /// Like [`Client::messages`] for one item, turning an error message into an `Err`: what
    /// `take` finds in the message, or an error saying that it carries no `what`.
    async fn one<T>(
        &self,
        account: &Account,
        request: impl Into<Request>,
        what: &str,
        take: impl FnOnce(ResponseMessage) -> Option<T>,
    ) -> Result<T, CallError> {
        let request = request.into();
        let operation = request.name();
        let mut messages = self
            .messages(account, &RequestHeaders::default(), request)
            .await?;
        if messages.len() != 1 {
            return Err(CallError::NotEws {
                operation,
                status: 200,
                reason: format!("expected one response message, got {}", messages.len()),
            });
        }
        let m = messages.remove(0);
        match m.response_code {
            Some(ResponseCode::NoError) => take(m).ok_or_else(|| CallError::NotEws {
                operation,
                status: 200,
                reason: format!("the response carries no {what}"),
            }),
            code => Err(CallError::Ews {
                operation,
                code: code.unwrap_or(ResponseCode::ErrorInternalServerError),
                text: m.message_text,
            }),
        }
    }

    /// Saves `item` in `folder` (SaveOnly) as `account` and returns its id and change key.
    pub async fn create_in(
        &self,
        account: &Account,
        folder: TargetFolderId,
        item: Item,
    ) -> Result<ItemId, CallError> {
        let create = CreateItem::new(Some(MessageDisposition::SaveOnly), vec![item])
            .saved_item_folder_id(folder);
        self.one(account, create, "item id", item_id_of).await
    }

    /// Sends items with SendItem and returns one response message per id.
    pub async fn send_item(
        &self,
        account: &Account,
        send: SendItem,
    ) -> Result<Vec<ResponseMessage>, CallError> {
        self.messages(account, &RequestHeaders::default(), send)
            .await
    }

    /// The items in `folder` whose subject contains `marker`, with id, subject and class.
    pub async fn find(
        &self,
        account: &Account,
        folder: TargetFolderId,
        marker: &str,
    ) -> Result<Vec<Item>, CallError> {
        self.find_where(account, folder, Restriction::subject_contains(marker))
            .await
    }

    /// The items in `folder` that `restriction` picks, with id, subject and class.
    pub async fn find_where(
        &self,
        account: &Account,
        folder: TargetFolderId,
        restriction: Restriction,
    ) -> Result<Vec<Item>, CallError> {
        let find = FindItem::shallow(folder).restriction(restriction);
        let items = |m: ResponseMessage| Some(m.root_folder.map(|r| r.items).unwrap_or_default());
        self.one(account, find, "items", items).await
    }

    /// Sends a request for one item as `account` and checks that it succeeded, keeping nothing of
    /// the answer (a message sent with CreateItem, say).
    pub async fn perform(
        &self,
        account: &Account,
        request: impl Into<Request>,
    ) -> Result<(), CallError> {
        self.one(account, request, "answer", |_| Some(())).await
    }

    /// Reads one item with all its properties.
    pub async fn get(&self, account: &Account, id: ItemId) -> Result<Item, CallError> {
        // IdOnly plus named properties: a Default or AllProperties shape makes real servers add
        // properties (ResponseObjects, Attachments) outside the harness's schema subset.
        let get = GetItem {
            item_shape: Shape::id_and(&[
                FieldUri::ItemSubject,
                FieldUri::ItemClass,
                FieldUri::ItemBody,
                FieldUri::MessageFrom,
                FieldUri::MessageSender,
                FieldUri::MessageToRecipients,
                FieldUri::ItemInReplyTo,
                FieldUri::MessageReferences,
                FieldUri::MessageInternetMessageId,
            ])
            .and_raw(crate::ews::RawPath::last_verb_executed()),
            item_ids: vec![BaseItemId::ItemId(id)],
        };
        self.one(account, get, "item", |m| m.items.into_iter().next())
            .await
    }

    /// Hard-deletes items; returns one response message per id.
    ///
    /// The ids go in batches of at most [`DELETE_BATCH`]: Exchange checks a batch against the
    /// caller's budget item by item and asks clients to split large ones, and exchangelib sends
    /// 100 at a time.
    pub async fn delete(
        &self,
        account: &Account,
        ids: Vec<ItemId>,
    ) -> Result<Vec<ResponseMessage>, CallError> {
        let mut messages = Vec::with_capacity(ids.len());
        for batch in ids.chunks(DELETE_BATCH) {
            let delete = DeleteItem::hard(batch.to_vec());
            messages.extend(
                self.messages(account, &RequestHeaders::default(), delete)
                    .await?,
            );
        }
        Ok(messages)
    }

    /// Sets an item's subject again (to the same value), which moves its change key; returns
    /// the new id and change key.
    pub async fn touch(
        &self,
        account: &Account,
        id: ItemId,
        subject: &str,
    ) -> Result<ItemId, CallError> {
        let update = UpdateItem {
            conflict_resolution: ConflictResolution::AlwaysOverwrite,
            message_disposition: Some(MessageDisposition::SaveOnly),
            saved_item_folder_id: None,
            item_changes: vec![ItemChange {
                item_id: BaseItemId::ItemId(id),
                updates: vec![ItemUpdate::SetItemField {
                    path: FieldUri::ItemSubject.into(),
                    item: Item::message(subject),
                }],
            }],
        };
        self.one(account, update, "item id", item_id_of).await
    }

    /// The `FolderId` of `folder` as the server reports it.
    pub async fn folder_id(
        &self,
        account: &Account,
        folder: TargetFolderId,
    ) -> Result<FolderId, CallError> {
        let get = GetFolder {
            folder_shape: Shape::new(crate::ews::BaseShape::IdOnly),
            folder_ids: vec![folder],
        };
        let folder_id = |m: ResponseMessage| m.folders.into_iter().next()?.folder_id;
        self.one(account, get, "folder id", folder_id).await
    }

    /// Whether `account` can open `folder` (GetFolder succeeds).
    pub async fn can_open(
        &self,
        account: &Account,
        folder: TargetFolderId,
    ) -> Result<(), CallError> {
        let get = GetFolder {
            folder_shape: Shape::id_and(&[FieldUri::FolderDisplayName]),
            folder_ids: vec![folder],
        };
        self.one(account, get, "answer", |_| Some(())).await
    }
}
