//! The runner: probes what the target offers, runs the cases concurrently (each with a
//! timeout), cleans up everything it created, and gathers one [`Outcome`] per case in a
//! [`RunSummary`].

mod absence;
mod case_run;
pub mod outcome;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::sync::{Notify, Semaphore};

use crate::case::{Case, FolderName, Requirement, Role};
use crate::ews::{DistinguishedFolderName, FindItem, Item, RequestHeaders, ResponseCode};
use crate::schema::SchemaSet;
use crate::target::calls::folder_of;
use crate::target::{CallError, Target, TargetError};

pub use outcome::{
    Counts, ExchangeRecord, FuzzTally, NameStats, Outcome, Replay, RunSummary, Stage, Throttling,
};

use crate::judge::Verdict;
pub(crate) use case_run::raw_post;
use outcome::Identity;

/// How a run goes.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Cases in flight at once.
    pub jobs: usize,
    /// Keep what the run created instead of deleting it.
    pub keep: bool,
    /// Longest a single case may take.
    pub case_timeout: Duration,
    /// The schemas responses are validated against.
    pub schemas: &'static SchemaSet,
}

impl RunOptions {
    /// Cases in flight at once unless told otherwise. A case spends most of its time waiting
    /// for mail to arrive, so the number suits a server's delivery time, not the cores; the
    /// client keeps each account's requests in flight under the server's own limit
    /// ([`crate::target::gate`]).
    pub const DEFAULT_JOBS: usize = 32;
}

/// How long cleanup may take once the run was interrupted: long enough for a few FindItem and
/// DeleteItem calls, short enough that whoever stopped the run is not kept waiting.
pub const CLEANUP_AFTER_INTERRUPT: Duration = Duration::from_secs(10);

/// Stops a run early (SIGINT, SIGTERM): cases not yet started end as `error`, running ones are
/// cancelled, and cleanup still runs, within [`CLEANUP_AFTER_INTERRUPT`]. It also keeps what
/// cleanup knows to be still on the server, for whoever has to stop the process at once.
#[derive(Debug, Clone, Default)]
pub struct Interrupt {
    flag: Arc<AtomicBool>,
    notify: Arc<Notify>,
    left: Arc<Mutex<Leftovers>>,
}

impl Interrupt {
    /// Asks the run to stop.
    pub fn trigger(&self) {
        self.flag.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    /// True once [`Interrupt::trigger`] was called.
    pub fn triggered(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// Resolves once the run is asked to stop (at once if it already was).
    pub async fn wait(&self) {
        let notified = self.notify.notified();
        tokio::pin!(notified);
        // Registered before the flag is read, so a trigger in between is not missed.
        notified.as_mut().enable();
        if self.triggered() {
            return;
        }
        notified.await;
    }

    /// What is known to be still on the server: the run markers in use, and the items cleanup
    /// found and has not deleted (yet).
    pub fn left_on_server(&self) -> Leftovers {
        self.leftovers().clone()
    }

    /// The longest cleanup may take: `normal`, or at most [`CLEANUP_AFTER_INTERRUPT`] once the
    /// run was interrupted.
    pub fn cleanup_budget(&self, normal: Duration) -> Duration {
        if self.triggered() {
            normal.min(CLEANUP_AFTER_INTERRUPT)
        } else {
            normal
        }
    }

    /// Notes that items carrying `marker` may be on the server until cleanup removes them.
    pub fn in_use(&self, marker: &str) {
        let mut left = self.leftovers();
        if !left.markers.iter().any(|m| m == marker) {
            left.markers.push(marker.to_owned());
        }
    }

    fn leftovers(&self) -> std::sync::MutexGuard<'_, Leftovers> {
        self.left.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What a run may have left on the server.
#[derive(Debug, Clone, Default)]
pub struct Leftovers {
    /// The run markers: every item the runs created carries one in its subject.
    pub markers: Vec<String>,
    /// Items cleanup found and did not delete.
    pub items: Vec<LeftItem>,
    /// Folders cleanup did not search (it ran out of time, or the target stopped answering).
    pub unsearched: usize,
    /// Why cleanup stopped before it was done, if it did.
    pub stopped: Option<String>,
}

impl Leftovers {
    /// True when cleanup ran to the end and left nothing.
    pub fn is_clean(&self) -> bool {
        self.items.is_empty() && self.unsearched == 0 && self.stopped.is_none()
    }

    /// One line: how many items are left, and how to find the rest.
    pub fn summary(&self) -> String {
        let mut line = format!(
            "{} item{} left on the server",
            self.items.len(),
            if self.items.len() == 1 { "" } else { "s" }
        );
        if self.unsearched > 0 {
            line.push_str(&format!(
                ", {} folder{} not searched",
                self.unsearched,
                if self.unsearched == 1 { "" } else { "s" }
            ));
        }
        if let Some(why) = &self.stopped {
            line.push_str(&format!(" ({why})"));
        }
        if !self.markers.is_empty() {
            line.push_str(&format!(
                "; every item the run created carries {} in its subject",
                self.markers.join(" or ")
            ));
        }
        line
    }
}

impl std::fmt::Display for Leftovers {
    /// The summary line, then one line per item left.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{}", self.summary())?;
        for item in &self.items {
            writeln!(
                f,
                "  {} {}: {:?} (ItemId {})",
                item.account, item.folder, item.subject, item.id
            )?;
        }
        Ok(())
    }
}

/// An item cleanup found and has not deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftItem {
    /// The mailbox it is in.
    pub account: String,
    /// The folder it is in.
    pub folder: FolderName,
    /// Its subject.
    pub subject: String,
    /// Its `ItemId`.
    pub id: String,
}

/// Why a run could not start at all.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The target did not answer.
    #[error("the target is unreachable: {0}")]
    Unreachable(#[source] TargetError),
}

/// A run id that is unique enough to tell runs and their items apart: time and randomness.
pub fn new_marker() -> String {
    format!("ewsconf-{:08x}", random_u64() as u32)
}

/// A value that differs from run to run: the standard library's random hash keys over the time
/// and the process id. Enough for markers and seeds; not for secrets.
pub fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u32(std::process::id());
    h.finish()
}

/// A run's id, also its report folder's name: the start time, compact, then `tail`.
pub fn run_id(started_at: &str, tail: &str) -> String {
    format!(
        "{}-{tail}",
        started_at.replace([':', '-'], "").trim_end_matches('Z')
    )
}

/// The part of a run marker after `ewsconf-`.
pub(crate) fn marker_tail(marker: &str) -> &str {
    marker.strip_prefix("ewsconf-").unwrap_or(marker)
}

/// Runs `cases` against `target`; `on_outcome` sees each outcome as it completes.
pub async fn run(
    target: &Target,
    cases: &[Case],
    options: &RunOptions,
    interrupt: &Interrupt,
    mut on_outcome: impl FnMut(&Outcome),
) -> Result<RunSummary, RunError> {
    let started = Instant::now();
    let started_at = crate::clock::format_time(crate::clock::now());
    let throttled_before = target.client.throttling();
    let marker = new_marker();
    interrupt.in_use(&marker);
    // The probe creates and deletes a draft; an interrupt during it leaves the cases unstarted.
    let probed = tokio::select! {
        probed = probe(target, &marker) => Some(probed?),
        () = interrupt.wait() => None,
    };
    let (unmet, server_version_info) = probed.unwrap_or_default();
    let server_version = server_version_info.as_ref().map(ToString::to_string);
    let context = case_run::RunContext {
        target,
        marker: &marker,
        schemas: options.schemas,
        unmet: &unmet,
        server_version: server_version_info.as_ref(),
    };
    let semaphore = Semaphore::new(options.jobs.clamp(1, Semaphore::MAX_PERMITS));
    let mut outcomes: Vec<Option<Outcome>> = vec![None; cases.len()];
    {
        let context = &context;
        let semaphore = &semaphore;
        let mut running: FuturesUnordered<_> = cases
            .iter()
            .enumerate()
            .map(|(i, case)| async move {
                let _permit = semaphore.acquire().await;
                if interrupt.triggered() {
                    return (
                        i,
                        interrupted(case, "the run was interrupted before this case started"),
                    );
                }
                let outcome = tokio::select! {
                    o = tokio::time::timeout(options.case_timeout, case_run::run_case(context, case)) => match o {
                        Ok(o) => o,
                        Err(_) => interrupted(case, &format!("the case did not finish within {:?}", options.case_timeout)),
                    },
                    () = interrupt.wait() => interrupted(case, "the run was interrupted"),
                };
                (i, outcome)
            })
            .collect();
        while let Some((i, outcome)) = running.next().await {
            on_outcome(&outcome);
            outcomes[i] = Some(outcome);
        }
    }
    let mut outcomes: Vec<Outcome> = outcomes.into_iter().flatten().collect();
    if !options.keep {
        let left = clean_up(
            target,
            &marker,
            interrupt.cleanup_budget(options.case_timeout),
            interrupt,
        )
        .await;
        if !left.is_clean() {
            outcomes.push(left_behind(&left));
        }
    }
    Ok(RunSummary {
        run_id: run_id(&started_at, marker_tail(&marker)),
        target: target.description.clone(),
        server_version,
        started: started_at,
        elapsed: started.elapsed(),
        outcomes,
        fuzz: None,
        quirk: None,
        throttling: target.client.throttling().since(&throttled_before),
        strict: false,
    })
}

/// The outcome that puts what cleanup left on the server into the reports, as an `error`.
pub fn left_behind(left: &Leftovers) -> Outcome {
    harness_error(
        "cleanup",
        "Everything the run created is deleted",
        "README: everything the run created is deleted at the end",
        left.to_string().trim_end().to_owned(),
    )
}

/// An `error` outcome about the run itself rather than a case (cleanup, a fuzz run that
/// stopped early); its category is the first part of `id`.
pub fn harness_error(id: &str, title: &str, reference: &str, reason: String) -> Outcome {
    let category = id.split('/').next().unwrap_or(id);
    Outcome::ended(
        Identity::run(id, title, category, reference),
        Verdict::Error,
        Some(reason),
    )
}

fn interrupted(case: &Case, why: &str) -> Outcome {
    Outcome::unjudged(case, Verdict::Error, Some(why.to_owned()))
}

/// Checks that the target answers, which requirements it meets, and which version it reports in
/// its first `ServerVersionInfo`.
async fn probe(
    target: &Target,
    marker: &str,
) -> Result<
    (
        BTreeMap<Requirement, String>,
        Option<crate::ews::ServerVersionInfo>,
    ),
    RunError,
> {
    let mut unmet = BTreeMap::new();
    let principal = target.account(Role::Principal);
    let server_version = match principal {
        None => None,
        Some(p) => {
            let inbox = folder_of(&p.address, DistinguishedFolderName::Inbox);
            let envelope = crate::ews::RequestEnvelope::new(crate::ews::GetFolder {
                folder_shape: crate::ews::Shape::new(crate::ews::BaseShape::IdOnly),
                folder_ids: vec![inbox],
            });
            match target.client.call(&p.auth, &envelope).await {
                Err(e @ TargetError::Unreachable { .. }) => return Err(RunError::Unreachable(e)),
                Err(_) => None,
                Ok(exchange) => exchange.envelope().ok().and_then(|e| e.server_version_info),
            }
        }
    };
    for (requirement, role) in [
        (Requirement::ReviewerAccount, Role::Reviewer),
        (Requirement::SendasAccount, Role::Sendas),
        (Requirement::OutsiderAccount, Role::Outsider),
    ] {
        if target.account(role).is_none() {
            unmet.insert(
                requirement,
                format!("no [accounts.{role}] in the target file"),
            );
        }
    }
    if target.unknown_domain.is_none() {
        unmet.insert(
            Requirement::Bounces,
            "no unknown_domain in the target file".into(),
        );
    }
    match (principal, target.account(Role::Delegate)) {
        (Some(p), Some(d)) => {
            if let Err(why) = delegate_access(target, &p.address, d, marker).await {
                unmet.insert(Requirement::DelegateAccess, why);
            }
            let inbox = folder_of(&p.address, DistinguishedFolderName::Inbox);
            if let Err(e) = target.client.find(d, inbox, marker).await {
                unmet.insert(
                    Requirement::DelegateInbox,
                    format!(
                        "the delegate cannot read the principal's Inbox ({e}){}",
                        rights_advice(&e, "grant Reviewer on the Inbox")
                    ),
                );
            }
        }
        _ => {
            for requirement in [Requirement::DelegateAccess, Requirement::DelegateInbox] {
                unmet.insert(requirement, "no principal or delegate account".into());
            }
        }
    }
    match (principal, target.account(Role::Impersonator)) {
        (Some(p), Some(i)) => {
            let headers = RequestHeaders {
                exchange_impersonation: Some(crate::ews::ConnectingSid::PrimarySmtpAddress(
                    p.address.clone(),
                )),
                ..RequestHeaders::default()
            };
            let find = FindItem::shallow(DistinguishedFolderName::Drafts);
            if let Err(e) = target.client.messages(i, &headers, find).await {
                unmet.insert(
                    Requirement::Impersonation,
                    format!("the impersonator cannot impersonate the principal: {e}"),
                );
            }
        }
        _ => {
            unmet.insert(
                Requirement::Impersonation,
                "no [accounts.impersonator] in the target file".into(),
            );
        }
    }
    Ok((unmet, server_version))
}

async fn delegate_access(
    target: &Target,
    principal: &str,
    delegate: &crate::target::Account,
    marker: &str,
) -> Result<(), String> {
    let drafts = folder_of(principal, DistinguishedFolderName::Drafts);
    target
        .client
        .can_open(delegate, drafts.clone())
        .await
        .map_err(|e| {
            format!(
                "the delegate cannot open the principal's Drafts ({e}){}",
                rights_advice(&e, "grant Editor on Drafts and Sent Items")
            )
        })?;
    let probe = Item::message(format!("{marker} access probe"));
    let id = target
        .client
        .create_in(delegate, drafts, probe)
        .await
        .map_err(|e: CallError| {
            format!(
                "the delegate cannot create in the principal's Drafts ({e}){}",
                rights_advice(&e, "grant Editor on Drafts")
            )
        })?;
    let _ = target.client.delete(delegate, vec![id]).await;
    Ok(())
}

/// `; advice` when the call was refused for want of a right, and nothing otherwise: a failed
/// login, a redirect or a garbled answer is not fixed by granting rights.
fn rights_advice(e: &CallError, advice: &str) -> String {
    let refused = e
        .response_code()
        .is_some_and(|c| crate::judge::delegate_copy::PERMISSION_CODES.contains(&c));
    if refused {
        format!("; {advice}")
    } else {
        String::new()
    }
}

/// Searches at once during cleanup.
const CLEANUP_SEARCHES: usize = 4;

/// Deletes every item carrying the run's marker, in every folder of every account, within
/// `budget`. It stops early when the target stops answering (a search or a delete times out):
/// every further call would wait as long. What it found and could not delete, and the folders it
/// did not search, are kept in `interrupt` as they change, and returned.
pub async fn clean_up(
    target: &Target,
    marker: &str,
    budget: Duration,
    interrupt: &Interrupt,
) -> Leftovers {
    let places: Vec<(&crate::target::Account, FolderName)> = target
        .accounts
        .values()
        .flat_map(|account| FolderName::ALL.into_iter().map(move |f| (account, f)))
        .collect();
    {
        let mut left = interrupt.leftovers();
        left.unsearched += places.len();
        left.stopped = None;
    }
    let deadline = tokio::time::Instant::now()
        .checked_add(budget)
        .unwrap_or_else(|| tokio::time::Instant::now() + CLEANUP_AFTER_INTERRUPT);
    let work = async {
        let mut searches = futures_util::stream::iter(places)
            .map(|(account, folder)| clean_folder(target, account, folder, marker, interrupt))
            .buffer_unordered(CLEANUP_SEARCHES);
        while let Some(result) = searches.next().await {
            if let Err(TargetError::Timeout { after, .. }) = result {
                return Some(format!(
                    "cleanup stopped: the target stopped answering (no answer within {after:?})"
                ));
            }
        }
        None
    };
    let stopped = match tokio::time::timeout_at(deadline, work).await {
        Ok(stopped) => stopped,
        Err(_) => Some(format!(
            "cleanup stopped: it did not finish within {budget:?}"
        )),
    };
    let mut left = interrupt.leftovers();
    left.stopped = stopped;
    Leftovers {
        markers: vec![marker.to_owned()],
        items: left
            .items
            .iter()
            .filter(|i| i.subject.contains(marker))
            .cloned()
            .collect(),
        unsearched: left.unsearched,
        stopped: left.stopped.clone(),
    }
}

/// Finds and deletes the items carrying `marker` in one folder, keeping `interrupt`'s list of
/// what is left up to date. A search or delete that fails for any other reason than a timeout
/// leaves the items listed and cleanup goes on.
async fn clean_folder(
    target: &Target,
    account: &crate::target::Account,
    folder: FolderName,
    marker: &str,
    interrupt: &Interrupt,
) -> Result<(), TargetError> {
    let found = target
        .client
        .find(
            account,
            folder_of(&account.address, folder.distinguished()),
            marker,
        )
        .await;
    let found = match found {
        Ok(found) => found,
        Err(CallError::Target(e @ TargetError::Timeout { .. })) => return Err(e),
        Err(_) => {
            interrupt.leftovers().unsearched -= 1;
            return Ok(());
        }
    };
    let mut ids = Vec::new();
    {
        let mut left = interrupt.leftovers();
        left.unsearched -= 1;
        for item in found {
            if let Some(id) = item.item_id {
                left.items.push(LeftItem {
                    account: account.address.clone(),
                    folder,
                    subject: item.subject.unwrap_or_default(),
                    id: id.id.clone(),
                });
                ids.push(id);
            }
        }
    }
    if ids.is_empty() {
        return Ok(());
    }
    let gone: Vec<String> = ids.iter().map(|i| i.id.clone()).collect();
    match target.client.delete(account, ids).await {
        Ok(messages) => {
            // Gone: deleted now, or already (a copy deleted with its original).
            let deleted: Vec<&String> = gone
                .iter()
                .zip(&messages)
                .filter(|(_, m)| {
                    matches!(
                        m.response_code,
                        Some(ResponseCode::NoError | ResponseCode::ErrorItemNotFound)
                    )
                })
                .map(|(id, _)| id)
                .collect();
            interrupt
                .leftovers()
                .items
                .retain(|i| !deleted.contains(&&i.id));
            Ok(())
        }
        Err(CallError::Target(e @ TargetError::Timeout { .. })) => Err(e),
        Err(_) => Ok(()),
    }
}
