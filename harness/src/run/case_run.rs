//! One case against one target: set up, send the request under test, observe the state until it
//! settles, and hand everything to the judge.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::case::{
    Case, CaseRequest, FolderName, FolderRef, Impersonate, ItemRef, RawRequest, Role, SetupItem,
    SetupKind, StateKind, VersionHeader,
};
use crate::case::{Placeholder, Template};
use crate::ews::{
    BaseItemId, ConnectingSid, DistinguishedFolderId, FolderId, Item, ItemId, ItemKind, Mailbox,
    RequestEnvelope, RequestHeaders, SendItem, TargetFolderId,
};
use crate::judge::{self, FoundItem, Observed, Verdict};
use crate::schema::SchemaSet;
use crate::target::calls::folder_of;
use crate::target::client::ExchangeLog;
use crate::target::{Account, CallError, Client, Post, Target, TargetError};

use super::absence;
use super::outcome::{ExchangeRecord, Outcome, Stage};

/// What every case of a run shares.
pub(crate) struct RunContext<'a> {
    pub target: &'a Target,
    pub marker: &'a str,
    pub schemas: &'a SchemaSet,
    /// Unmet requirements, with the reason.
    pub unmet: &'a BTreeMap<crate::case::Requirement, String>,
    /// The version the target reported when probed, if it could be read.
    pub server_version: Option<&'a crate::ews::ServerVersionInfo>,
}

impl<'a> RunContext<'a> {
    fn account(&self, role: Role) -> Result<&'a Account, Stop> {
        self.target.account(role).ok_or_else(|| {
            Stop::Skip(format!(
                "the target has no {role} account (add [accounts.{role}] to the target file)"
            ))
        })
    }

    fn address(&self, role: Role) -> Result<String, Stop> {
        self.target.address(role, self.marker).ok_or_else(|| {
            Stop::Skip(format!(
                "the target has no address for {role} (set unknown_domain in the target file)"
            ))
        })
    }
}

/// Why a case stopped before it could be judged.
enum Stop {
    Skip(String),
    Error(String),
}

/// What a case says when a request's answer was lost after it went out.
const ANSWER_LOST: &str =
    "the answer was lost; the server may have executed it, so it was not sent again";

impl From<CallError> for Stop {
    fn from(e: CallError) -> Self {
        match &e {
            CallError::Target(t) if t.answer_lost() => {
                Stop::Error(format!("setup: {ANSWER_LOST} ({e})"))
            }
            _ => Stop::Error(format!("setup: {e}")),
        }
    }
}

struct Resolved {
    current: ItemId,
    stale: Option<ItemId>,
    /// The sent copy of an item its setup sent first, as found in Sent Items.
    sent: Option<FoundItem>,
}

/// The subject a setup item is created with; its copies keep it.
pub(crate) fn subject(marker: &str, case: &Case, name: &str) -> String {
    format!("{marker} {} [{name}]", case.id)
}

pub(crate) async fn run_case(ctx: &RunContext<'_>, case: &Case) -> Outcome {
    let started = Instant::now();
    let (client, log) = ctx.target.client.with_log();
    let mut outcome = Outcome::unjudged(case, Verdict::Error, None);
    let mut under_test = None;
    match attempt(ctx, case, &client, &log, &mut under_test).await {
        Ok(judgement) => outcome.judged(judgement),
        Err(Stop::Skip(why)) => {
            outcome.verdict = Verdict::Skip;
            outcome.reason = Some(why);
        }
        Err(Stop::Error(why)) => outcome.reason = Some(why),
    }
    outcome.exchanges = records(&log, under_test);
    outcome.elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    outcome
}

/// The request under test: where it sits in the case's log, and its schema errors.
struct UnderTest {
    index: usize,
    schema_errors: Vec<String>,
}

fn records(log: &ExchangeLog, under_test: Option<UnderTest>) -> Vec<ExchangeRecord> {
    let log = log.lock().unwrap_or_else(|e| e.into_inner());
    log.iter()
        .enumerate()
        .map(|(i, l)| {
            let stage = match &under_test {
                Some(t) if i == t.index => Stage::UnderTest,
                Some(t) if i > t.index => Stage::Observe,
                _ => Stage::Setup,
            };
            let schema_errors = match &under_test {
                Some(t) if i == t.index => t.schema_errors.clone(),
                _ => Vec::new(),
            };
            ExchangeRecord::of(stage, &l.account, &l.exchange, schema_errors)
        })
        .collect()
}

async fn attempt(
    ctx: &RunContext<'_>,
    case: &Case,
    client: &Client,
    log: &ExchangeLog,
    under_test: &mut Option<UnderTest>,
) -> Result<judge::Judgement, Stop> {
    if let Some(why) = case.version_skip(ctx.server_version) {
        return Err(Stop::Skip(why));
    }
    for r in &case.requires {
        if let Some(why) = ctx.unmet.get(r) {
            return Err(Stop::Skip(format!("requires {}: {why}", r.name())));
        }
    }
    for role in case.accounts() {
        ctx.account(role)?;
    }
    if let Some(why) = app_only_skip(ctx, case) {
        return Err(Stop::Skip(why));
    }

    // Setup.
    let mut items: BTreeMap<&str, Resolved> = BTreeMap::new();
    let stale_names = case.stale_items();
    for s in &case.setup {
        let resolved = set_up(ctx, case, client, s, stale_names.contains(s.name.as_str())).await?;
        items.insert(s.name.as_str(), resolved);
    }

    // The request under test.
    let sender = ctx.account(case.sender)?;
    let (post, item_count) = build_request(ctx, case, client, &items).await?;
    let exchange = send_with_retry(client, &sender.auth, post)
        .await
        .map_err(|e| {
            Stop::Error(match e {
                TargetError::TooLarge { .. } | TargetError::Throttled { .. } => {
                    format!("the request under test: {e}")
                }
                e if e.answer_lost() => format!("the request under test: {ANSWER_LOST} ({e})"),
                e => format!("the request under test got no response: {e}"),
            })
        })?;
    client.record(&sender.address, &exchange);
    let mut observed = Observed::received(&exchange, ctx.schemas, item_count);
    observed.sent_in_setup = items.values().filter_map(|r| r.sent.clone()).collect();
    *under_test = Some(UnderTest {
        index: log.lock().unwrap_or_else(|e| e.into_inner()).len() - 1,
        schema_errors: observed.schema_errors.clone(),
    });

    // Observe until the state settles.
    let tokens = |name: &str| subject(ctx.marker, case, name);
    let addresses = |role: Role| ctx.target.address(role, ctx.marker);
    let places = observed_places(case);
    let mut unconfirmed = BTreeMap::new();
    if !places.is_empty() {
        let mut polling = Polling::new(case.poll_timeout);
        // Absence is settled by a positive control (see `absence`): the markers go out now, and
        // their arrival is looked for in the same polls as the state, so that a slow server
        // costs about one delivery time per case, not one per sentence.
        let watched = absence::watched(case);
        let controls = absence::send_markers(ctx, case, client, &watched).await;
        let arrived = loop {
            // Reports that name their original by Message-ID alone are looked for by the
            // Message-IDs the case's own messages were seen with so far.
            let originals = message_ids(&observed);
            observed.folders = observe(ctx, case, client, &places, &originals).await;
            let arrived = absence::arrived(&controls, &observed.folders);
            if judge::settled(case, &observed, &tokens, &addresses, &arrived) || polling.expired() {
                break arrived;
            }
            polling.pause().await;
        };
        unconfirmed = absence::unconfirmed(&controls, &arrived, polling.waited());
    }
    let mut judgement = judge::judge(case, &observed, &tokens, &addresses);
    judge::confirm_absence(case, &mut judgement, &unconfirmed);
    Ok(judgement)
}

/// Looks repeated until a deadline: the first pause 50 ms, each next one twice as long, up to
/// half a second. What is waited for (a delivery, a filed copy) arrives some time after the request,
/// and a longer pause mostly adds to that wait.
struct Polling {
    started: Instant,
    deadline: Instant,
    pause: Duration,
}

impl Polling {
    const MAX_PAUSE: Duration = Duration::from_millis(500);

    fn new(timeout: Duration) -> Self {
        let started = Instant::now();
        Self {
            started,
            deadline: started + timeout,
            pause: Duration::from_millis(50),
        }
    }

    /// True once the deadline has passed: no more looks.
    fn expired(&self) -> bool {
        Instant::now() >= self.deadline
    }

    /// How long the polling has gone on.
    fn waited(&self) -> Duration {
        self.started.elapsed()
    }

    /// Waits before the next look, never past the deadline.
    async fn pause(&mut self) {
        let left = self.deadline.saturating_duration_since(Instant::now());
        tokio::time::sleep(self.pause.min(left)).await;
        self.pause = (self.pause * 2).min(Self::MAX_PAUSE);
    }
}

async fn set_up(
    ctx: &RunContext<'_>,
    case: &Case,
    client: &Client,
    s: &SetupItem,
    make_stale: bool,
) -> Result<Resolved, Stop> {
    let account = |role| ctx.account(role);
    let address = |role| ctx.address(role);
    let subject = subject(ctx.marker, case, &s.name);
    let text = format!("ewsconf case {}", case.id);
    let mut item = match (s.kind, s.kind.verb()) {
        (SetupKind::Task, _) => Item::task(&subject),
        (_, Some(verb)) => {
            // A reply or forward answers the original as its owner received it.
            let original = s.original.as_deref().unwrap_or_default();
            let received = find_within(
                ctx,
                case,
                client,
                s.owner,
                crate::ews::DistinguishedFolderName::Inbox,
                &self::subject(ctx.marker, case, original),
            )
            .await?;
            let reference = received.item_id.ok_or_else(|| {
                Stop::Error(format!(
                    "setup: the copy of {original:?} came with no ItemId"
                ))
            })?;
            let mut response = crate::ews::SmartResponse::new(verb, reference);
            response.new_body_content = Some(crate::ews::Body::text(text));
            // Its own subject, so that its copies can be told from the original's.
            Item {
                response: Some(response),
                ..Item::message(&subject)
            }
        }
        (_, None) => Item::message(&subject).with_body(text),
    };
    if item.kind == ItemKind::Message {
        let list = |roles: &[Role]| -> Result<Vec<Mailbox>, Stop> {
            roles
                .iter()
                .map(|r| address(*r).map(Mailbox::smtp))
                .collect()
        };
        item.to_recipients = list(&s.to)?;
        item.cc_recipients = list(&s.cc)?;
        item.bcc_recipients = list(&s.bcc)?;
        item.from = s.from.map(address).transpose()?.map(Mailbox::smtp);
        item.is_delivery_receipt_requested = s.delivery_receipt.then_some(true);
    }
    let creator = account(s.created_by)?;
    let owner = address(s.owner)?;
    let folder = folder_of(&owner, s.folder.distinguished());
    let mut id = client.create_in(creator, folder, item).await?;
    let mut sent = None;
    if s.pre_send {
        let answer = client
            .send_item(account(s.owner)?, SendItem::new([id.clone()]))
            .await?;
        if answer.first().and_then(|m| m.response_code) != Some(crate::ews::ResponseCode::NoError) {
            return Err(Stop::Error(format!(
                "setup: sending {:?} first did not succeed",
                s.name
            )));
        }
        // The copy appears in Sent Items seconds after SendItem answers on Exchange 2013 and
        // later (exchangelib's live tests wait 5 s for it).
        let copy = find_within(
            ctx,
            case,
            client,
            s.owner,
            crate::ews::DistinguishedFolderName::SentItems,
            &subject,
        )
        .await?;
        sent = Some(FoundItem {
            subject: copy.subject.clone().unwrap_or_default(),
            item_class: copy.item_class.clone().unwrap_or_default(),
            internet_message_id: copy.internet_message_id.clone(),
            ..FoundItem::default()
        });
        id = copy.item_id.unwrap_or(id);
    }
    let stale = if make_stale {
        let old = id.clone();
        id = client.touch(creator, id, &subject).await?;
        Some(old)
    } else {
        None
    };
    Ok(Resolved {
        current: id,
        stale,
        sent,
    })
}

/// The first item in `owner`'s `folder` whose subject contains `subject` and that has an id,
/// looked for until the case's poll timeout, as the state checks look: mail a server sends
/// arrives seconds after it answers.
async fn find_within(
    ctx: &RunContext<'_>,
    case: &Case,
    client: &Client,
    owner: Role,
    folder: crate::ews::DistinguishedFolderName,
    subject: &str,
) -> Result<Item, Stop> {
    let account = ctx.account(owner)?;
    let address = ctx.address(owner)?;
    let mut polling = Polling::new(case.poll_timeout);
    loop {
        let found = client
            .find(account, folder_of(&address, folder), subject)
            .await?;
        if let Some(item) = found.into_iter().find(|i| i.item_id.is_some()) {
            return Ok(item);
        }
        if polling.expired() {
            return Err(Stop::Error(format!(
                "setup: {subject:?} was not found in {owner}'s {folder} within {} s",
                case.poll_timeout.as_secs_f64()
            )));
        }
        polling.pause().await;
    }
}

/// Why `case` cannot run with app-only access, if it cannot. With an `[app]` table every role is
/// the application impersonating the role's account (see [`crate::target::oauth`]), and the
/// application may impersonate every mailbox (Exchange Online grants `full_access_as_app` per
/// application, not per account). A case whose sender impersonates someone itself keeps its own
/// header and is sent as the application: that is what the impersonator role means, but a case
/// sent as any other role tests that role's own lack of the right, which app-only access cannot
/// play.
fn app_only_skip(ctx: &RunContext<'_>, case: &Case) -> Option<String> {
    let app = matches!(
        ctx.target.account(case.sender).map(|a| &a.auth),
        Some(crate::target::Auth::App(_))
    );
    let impersonates = match &case.request {
        CaseRequest::Typed { impersonate, .. } => impersonate.is_some(),
        CaseRequest::Raw(raw) => raw.body.contains("ExchangeImpersonation"),
    };
    (app && impersonates && case.sender != Role::Impersonator).then(|| {
        format!(
            "with [app] every request is the application's, which may impersonate every mailbox: \
             the {} account's own lack of the impersonation right cannot be played",
            case.sender
        )
    })
}

async fn build_request(
    ctx: &RunContext<'_>,
    case: &Case,
    client: &Client,
    items: &BTreeMap<&str, Resolved>,
) -> Result<(Post, Option<usize>), Stop> {
    let account = |role| ctx.account(role);
    let address = |role| ctx.address(role);
    let item = |name: &str| {
        items
            .get(name)
            .ok_or_else(|| Stop::Error(format!("setup item {name:?} was not created")))
    };
    match &case.request {
        CaseRequest::Raw(raw) => {
            let template = Template::parse(&raw.body)
                .map_err(|e| Stop::Error(format!("the raw request cannot be filled in: {e}")))?;
            // What only the server can say is asked for once per placeholder, before filling in.
            let mut looked_up: BTreeMap<Placeholder<'_>, String> = BTreeMap::new();
            for p in template.placeholders() {
                if looked_up.contains_key(&p) {
                    continue;
                }
                let value = match p {
                    Placeholder::Deleted => deleted_id(ctx, case, client).await?.id,
                    Placeholder::FolderId(role, folder) => {
                        let owner = address(role)?;
                        client
                            .folder_id(account(role)?, folder_of(&owner, folder.distinguished()))
                            .await?
                            .id
                    }
                    Placeholder::Address(role) => address(role)?,
                    Placeholder::Marker => ctx.marker.to_owned(),
                    Placeholder::Id(name) => item(name)?.current.id.clone(),
                    Placeholder::ChangeKey(name) => {
                        item(name)?.current.change_key.clone().unwrap_or_default()
                    }
                    Placeholder::StaleKey(name) => item(name)?
                        .stale
                        .as_ref()
                        .and_then(|s| s.change_key.clone())
                        .unwrap_or_default(),
                };
                looked_up.insert(p, value);
            }
            let text =
                template.fill(|p| Ok::<_, Stop>(looked_up.get(&p).cloned().unwrap_or_default()))?;
            Ok(raw_post(raw, text, crate::limits::DEFAULT_MAX_BODY_BYTES))
        }
        CaseRequest::Typed {
            save_item_to_folder,
            item_ids,
            saved_item_folder_id,
            version,
            impersonate,
            mailbox_culture,
        } => {
            let mut ids = Vec::new();
            for r in item_ids {
                ids.push(BaseItemId::ItemId(match r {
                    ItemRef::Item(n) => item(n)?.current.clone(),
                    ItemRef::Stale(n) => item(n)?
                        .stale
                        .clone()
                        .ok_or_else(|| Stop::Error(format!("no stale change key for {n:?}")))?,
                    ItemRef::NoChangeKey(n) => ItemId::new(item(n)?.current.id.clone()),
                    ItemRef::Literal(v) => ItemId::new(v.clone()),
                    ItemRef::Deleted => deleted_id(ctx, case, client).await?,
                }));
            }
            let folder = match saved_item_folder_id {
                None => None,
                Some(FolderRef::Distinguished { id, mailbox }) => Some(
                    TargetFolderId::DistinguishedFolderId(DistinguishedFolderId {
                        id: id.distinguished(),
                        change_key: None,
                        mailbox: mailbox.map(address).transpose()?.map(Mailbox::smtp),
                    }),
                ),
                Some(FolderRef::FolderIdOf { owner, folder }) => {
                    let owner_address = address(*owner)?;
                    Some(TargetFolderId::FolderId(
                        client
                            .folder_id(
                                account(*owner)?,
                                folder_of(&owner_address, folder.distinguished()),
                            )
                            .await?,
                    ))
                }
                Some(FolderRef::Literal(v)) => {
                    Some(TargetFolderId::FolderId(FolderId::new(v.clone())))
                }
            };
            let headers = RequestHeaders {
                request_server_version: match version {
                    VersionHeader::Default => ctx.target.version,
                    VersionHeader::Omit => None,
                    VersionHeader::Version(v) => Some(*v),
                },
                exchange_impersonation: match impersonate {
                    None => None,
                    Some(Impersonate::PrimarySmtpAddress(r)) => {
                        Some(ConnectingSid::PrimarySmtpAddress(address(*r)?))
                    }
                    Some(Impersonate::SmtpAddress(r)) => {
                        Some(ConnectingSid::SmtpAddress(address(*r)?))
                    }
                    Some(Impersonate::PrincipalName(r)) => {
                        Some(ConnectingSid::PrincipalName(address(*r)?))
                    }
                    Some(Impersonate::Sid(r)) => Some(ConnectingSid::Sid(
                        ctx.target.sids.get(r).cloned().ok_or_else(|| {
                            Stop::Skip(format!(
                                "no SID for the {r} account (add sid to [accounts.{r}])"
                            ))
                        })?,
                    )),
                },
                mailbox_culture: mailbox_culture.clone(),
            };
            let send = SendItem {
                save_item_to_folder: *save_item_to_folder,
                item_ids: ids,
                saved_item_folder_id: folder,
            };
            let count = send.item_ids.len();
            Ok((
                Post::soap(&RequestEnvelope::new(send).with_headers(headers)),
                Some(count),
            ))
        }
    }
}

/// A well-formed id of nothing: a draft created in the sender's Drafts and deleted again.
async fn deleted_id(ctx: &RunContext<'_>, case: &Case, client: &Client) -> Result<ItemId, Stop> {
    let sender = ctx.account(case.sender)?;
    let own = ctx.address(case.sender)?;
    let subject = subject(ctx.marker, case, "deleted");
    let id = client
        .create_in(
            sender,
            folder_of(&own, crate::ews::DistinguishedFolderName::Drafts),
            Item::message(subject),
        )
        .await?;
    client.delete(sender, vec![id.clone()]).await?;
    Ok(id)
}

/// Sends the request under test, again only when it certainly never reached the server (no
/// connection could be made). Throttling answers are waited out and sent again by
/// [`Client::post`]; a lost answer ends the case (see [`TargetError::answer_lost`]).
async fn send_with_retry(
    client: &Client,
    auth: &crate::target::Auth,
    post: Post,
) -> Result<crate::target::Exchange, TargetError> {
    let mut attempt = 0;
    loop {
        match client.post(auth, post.clone()).await {
            // Only a request that certainly never reached the server is sent again.
            Err(e) if e.is_retryable() && attempt < 2 => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
            }
            other => return other,
        }
    }
}

/// What a look into one folder needs beside the items' subjects.
#[derive(Debug, Clone, Copy, Default)]
struct Look {
    /// Reports are looked for there.
    reports: bool,
    /// The case's own messages are read with GetItem: what they follow, and the last verb.
    read: bool,
}

/// The folders the case's expectations look into, and what each look needs.
fn observed_places(case: &Case) -> BTreeMap<(Role, FolderName), Look> {
    let mut places: BTreeMap<_, Look> = BTreeMap::new();
    for e in case
        .expect
        .state
        .iter()
        .chain(case.quirk.iter().flat_map(|q| &q.expect.state))
    {
        let look = places.entry((e.owner, e.folder)).or_default();
        look.reports |= matches!(&e.kind, StateKind::Gets { .. });
        look.read |= matches!(
            &e.kind,
            StateKind::ContainsThreaded { .. } | StateKind::ContainsMarked { .. }
        );
    }
    places
}

/// The Message-IDs of the case's own messages seen so far: every item found that is not a
/// report, and the copies of what its setup sent.
fn message_ids(observed: &Observed) -> Vec<String> {
    let mut ids: Vec<String> = observed
        .folders
        .values()
        .flat_map(|f| f.iter().flatten())
        .chain(&observed.sent_in_setup)
        .filter(|i| !i.item_class.to_ascii_uppercase().starts_with("REPORT."))
        .filter_map(|i| i.internet_message_id.clone())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// What is in each place: the items whose subject carries the case's marker and, where reports
/// are looked for, those whose body carries the run marker and the case id (a report under a
/// subject of its own, such as postfix's "Undelivered Mail Returned to Sender", returns the
/// original's headers) or whose `InReplyTo` or `References` name one of `originals`, the
/// Message-IDs of the case's own messages. Candidate reports (a `REPORT.` class, or a subject
/// that is not one of the case's own) are read with GetItem for their body and references; the
/// case's own messages are not.
async fn observe(
    ctx: &RunContext<'_>,
    case: &Case,
    client: &Client,
    places: &BTreeMap<(Role, FolderName), Look>,
    originals: &[String],
) -> BTreeMap<(Role, FolderName), Result<Vec<FoundItem>, String>> {
    let mut out = BTreeMap::new();
    let marker = format!("{} {}", ctx.marker, case.id);
    let own_subjects: Vec<String> = case
        .setup
        .iter()
        .map(|s| subject(ctx.marker, case, &s.name))
        .chain([subject(ctx.marker, case, "deleted")])
        .collect();
    for (&(role, folder), &Look { reports, read }) in places {
        let result = async {
            let account = ctx
                .target
                .account(role)
                .ok_or_else(|| format!("no {role} account"))?;
            let folder_id = folder_of(&account.address, folder.distinguished());
            let found = if reports {
                find_reports(
                    client, account, folder_id, &marker, ctx.marker, &case.id, originals,
                )
                .await
            } else {
                client.find(account, folder_id, &marker).await
            }
            .map_err(|e| e.to_string())?;
            let mut items = Vec::new();
            for i in found {
                let item_class = i.item_class.clone().unwrap_or_default();
                let subject = i.subject.unwrap_or_default();
                let candidate = reports
                    && (item_class.to_ascii_uppercase().starts_with("REPORT.")
                        || !own_subjects.contains(&subject));
                let own = read && own_subjects.contains(&subject);
                let (body, references, last_verb) = match (&i.item_id, candidate || own) {
                    (Some(id), true) => {
                        let read = client
                            .get(account, id.clone())
                            .await
                            .map_err(|e| e.to_string())?;
                        let last_verb = read.last_verb_executed();
                        let references = [read.in_reply_to, read.references]
                            .into_iter()
                            .flatten()
                            .collect::<Vec<_>>();
                        (
                            read.body.map(|b| b.content),
                            (!references.is_empty()).then(|| references.join(" ")),
                            last_verb,
                        )
                    }
                    _ => (None, None, None),
                };
                items.push(FoundItem {
                    subject,
                    item_class,
                    body,
                    internet_message_id: i.internet_message_id,
                    references,
                    last_verb,
                });
            }
            Ok::<_, String>(items)
        }
        .await;
        out.insert((role, folder), result);
    }
    out
}

/// The items in `folder` whose subject contains `marker`, whose body contains both the run
/// marker and the case id (each alone, so that a folded header line cannot hide them), or whose
/// `InReplyTo` or `References` name one of `originals`.
async fn find_reports(
    client: &Client,
    account: &Account,
    folder: crate::ews::TargetFolderId,
    marker: &str,
    run_marker: &str,
    case_id: &str,
    originals: &[String],
) -> Result<Vec<Item>, CallError> {
    use crate::ews::{FieldUri, Restriction};
    let mut any = vec![
        Restriction::subject_contains(marker),
        Restriction::And(vec![
            Restriction::body_contains(run_marker),
            Restriction::body_contains(case_id),
        ]),
    ];
    for id in originals {
        for field in [FieldUri::ItemInReplyTo, FieldUri::MessageReferences] {
            any.push(Restriction::contains(field, id.as_str()));
        }
    }
    let restriction = Restriction::Or(any);
    client.find_where(account, folder, restriction).await
}

/// The POST that sends `raw` with `filled` as its body (the placeholders filled in, the mangle
/// applied under `max_body`), and the ItemIds it carries.
pub(crate) fn raw_post(raw: &RawRequest, filled: String, max_body: usize) -> (Post, Option<usize>) {
    let post = Post {
        body: raw.bytes(filled, max_body).into(),
        content_type: raw.content_type.clone(),
        soap_action: raw.soap_action.clone(),
    };
    (post, raw.item_count)
}
