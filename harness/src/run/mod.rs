//! The runner: probes what the target offers, runs the cases concurrently (each with a
//! timeout), cleans up everything it created, and gathers one [`Outcome`] per case in a
//! [`RunSummary`].

mod absence;
mod case_run;
pub mod outcome;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::sync::{Notify, Semaphore};

use crate::case::{Case, FolderName, Requirement, Role};
use crate::ews::{DistinguishedFolderName, FindItem, Item, RequestHeaders};
use crate::schema::SchemaSet;
use crate::target::calls::folder_of;
use crate::target::{CallError, Target, TargetError};

pub use outcome::{
    Counts, ExchangeRecord, FuzzTally, NameStats, Outcome, Replay, RunSummary, Stage,
};

use crate::judge::Verdict;
pub(crate) use case_run::raw_post;

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

/// Stops a run early (Ctrl-C): cases not yet started end as `error`, and cleanup still runs.
#[derive(Debug, Clone, Default)]
pub struct Interrupt {
    flag: Arc<AtomicBool>,
    notify: Arc<Notify>,
}

impl Interrupt {
    /// Asks the run to stop.
    pub fn trigger(&self) {
        self.flag.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    fn triggered(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }
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
    let marker = new_marker();
    let (unmet, server_version_info) = probe(target, &marker).await?;
    let server_version = server_version_info.as_ref().map(ToString::to_string);
    let context = case_run::RunContext {
        target,
        marker: &marker,
        schemas: options.schemas,
        unmet: &unmet,
        server_version: server_version_info.as_ref(),
    };
    let semaphore = Semaphore::new(options.jobs.max(1));
    let mut outcomes: Vec<Option<Outcome>> = vec![None; cases.len()];
    {
        let context = &context;
        let semaphore = &semaphore;
        let mut running: FuturesUnordered<_> = cases
            .iter().enumerate().map(|(i, case)| async move {
            let _permit = semaphore.acquire().await;
            if interrupt.triggered() {
                return (i, interrupted(case, "the run was interrupted before this case started"));
            }
            let outcome = tokio::select! {
                o = tokio::time::timeout(options.case_timeout, case_run::run_case(context, case)) => match o {
                    Ok(o) => o,
                    Err(_) => interrupted(case, &format!("the case did not finish within {:?}", options.case_timeout)),
                },
                _ = interrupt.notify.notified() => interrupted(case, "the run was interrupted"),
            };
            (i, outcome)
        })
        .collect();
        while let Some((i, outcome)) = running.next().await {
            on_outcome(&outcome);
            outcomes[i] = Some(outcome);
        }
    }
    if !options.keep {
        clean_up(target, &marker).await;
    }
    Ok(RunSummary {
        run_id: run_id(&started_at, marker_tail(&marker)),
        target: target.description.clone(),
        server_version,
        started: started_at,
        elapsed: started.elapsed(),
        outcomes: outcomes.into_iter().flatten().collect(),
        fuzz: None,
        quirk: None,
    })
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
        }
        _ => {
            unmet.insert(
                Requirement::DelegateAccess,
                "no principal or delegate account".into(),
            );
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
        .map_err(|e| format!("the delegate cannot open the principal's Drafts ({e}); grant Editor on Drafts and Sent Items"))?;
    let probe = Item::message(format!("{marker} access probe"));
    let id = target
        .client
        .create_in(delegate, drafts, probe)
        .await
        .map_err(|e: CallError| {
            format!(
                "the delegate cannot create in the principal's Drafts ({e}); grant Editor on Drafts"
            )
        })?;
    let _ = target.client.delete(delegate, vec![id]).await;
    Ok(())
}

/// Deletes every item carrying the run's marker, in every folder of every account.
pub(crate) async fn clean_up(target: &Target, marker: &str) {
    for account in target.accounts.values() {
        for folder in FolderName::ALL {
            let Ok(found) = target
                .client
                .find(
                    account,
                    folder_of(&account.address, folder.distinguished()),
                    marker,
                )
                .await
            else {
                continue;
            };
            let ids: Vec<_> = found.into_iter().filter_map(|i| i.item_id).collect();
            if !ids.is_empty() {
                let _ = target.client.delete(account, ids).await;
            }
        }
    }
}
