//! How many requests each account has in flight at once.
//!
//! Exchange limits the EWS requests one account has open at a time (`EWSMaxConcurrency`: 10 on
//! Exchange 2010, 27 on Exchange 2013 and later and on Exchange Online) and answers one more with
//! `ErrorExceededConnectionCount`. A run keeps many cases going at once, because a case spends
//! most of its time waiting for mail, not talking; the gate keeps each account's share of those
//! cases under the server's limit, so that concurrency never turns into throttling errors.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Requests one account may have in flight by default: under Exchange 2010's
/// `EWSMaxConcurrency` of 10, the lowest any Exchange ships with, leaving room for the account's
/// own clients. See
/// <https://learn.microsoft.com/en-us/exchange/client-developer/exchange-web-services/ews-throttling-in-exchange>.
pub const DEFAULT_PER_ACCOUNT: usize = 8;

/// One semaphore per account identity, made on first use.
#[derive(Debug)]
pub(crate) struct AccountGates {
    per_account: usize,
    gates: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl AccountGates {
    /// Gates letting `per_account` requests through at once for each account (at least one).
    pub(crate) fn new(per_account: usize) -> Self {
        Self {
            per_account: per_account.clamp(1, Semaphore::MAX_PERMITS),
            gates: Mutex::default(),
        }
    }

    /// Waits for the account's turn; the turn lasts as long as the permit is held. (The gates are
    /// never closed, so there is always a permit.)
    pub(crate) async fn enter(&self, identity: &str) -> Option<OwnedSemaphorePermit> {
        let gate = {
            let mut gates = self.gates.lock().unwrap_or_else(|e| e.into_inner());
            gates
                .entry(identity.to_owned())
                .or_insert_with(|| Arc::new(Semaphore::new(self.per_account)))
                .clone()
        };
        gate.acquire_owned().await.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn an_account_waits_for_its_own_turn_and_no_other() {
        let gates = AccountGates::new(2);
        let a1 = gates.enter("a").await;
        let _a2 = gates.enter("a").await;
        // A third request as `a` waits; `b` does not.
        let third = tokio::time::timeout(Duration::from_millis(50), gates.enter("a")).await;
        assert!(
            third.is_err(),
            "a third request as the same account went through"
        );
        let _b = tokio::time::timeout(Duration::from_secs(5), gates.enter("b"))
            .await
            .expect("another account is not held up");
        drop(a1);
        tokio::time::timeout(Duration::from_secs(5), gates.enter("a"))
            .await
            .expect("a turn given back lets the next request through");
    }
}
