//! How a request reaches a server: the HTTP client, credentials, the accounts that play each
//! role, and the embedded mock as the default target.

pub mod auth;
pub mod calls;
pub mod client;
pub mod file;
pub mod gate;
pub mod ntlm;
pub mod oauth;
mod pinned;
pub mod throttle;

use std::collections::BTreeMap;

pub use auth::{Auth, Secret};
pub use calls::{Account, CallError};
pub use client::{Client, ClientOptions, Exchange, Post, TargetError};
pub use file::{TargetFile, TargetFileError};

use crate::accounts::{DEFAULT_ACCOUNTS, DEFAULT_DOMAIN, DEFAULT_PASSWORD};
use crate::case::Role;
use crate::ews::ExchangeVersion;
use crate::mock::{MockConfig, MockError, MockServer};

/// Why a target could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The embedded mock did not start.
    #[error("the embedded mock did not start: {0}")]
    Mock(#[from] MockError),
    /// The client could not be built.
    #[error(transparent)]
    Client(#[from] TargetError),
}

/// A server under test and the accounts that play each role on it.
pub struct Target {
    /// What is tested, for reports: `embedded mock (documented)` or the URL.
    pub description: String,
    /// The HTTP client bound to the endpoint.
    pub client: Client,
    /// Accounts by role.
    pub accounts: BTreeMap<Role, Account>,
    /// Domain in which addresses that must bounce are made up.
    pub unknown_domain: Option<String>,
    /// `RequestServerVersion` to send by default.
    pub version: Option<ExchangeVersion>,
    /// SIDs by role, for impersonation by SID.
    pub sids: BTreeMap<Role, String>,
    // Keeps the embedded mock running as long as the target lives.
    mock: Option<MockServer>,
}

impl Target {
    /// Starts an embedded mock and maps the roles to its default accounts.
    pub async fn embedded(config: MockConfig) -> Result<Self, SetupError> {
        let description = format!("embedded mock ({})", config.profile);
        let mock = MockServer::start(config).await?;
        // The mock has no `EWSMaxConcurrency`: nothing holds an account's requests back.
        let client = Client::new(mock.url(), &ClientOptions::default())?
            .with_per_account(tokio::sync::Semaphore::MAX_PERMITS);
        let directory = &mock.store().directory;
        let mut accounts = BTreeMap::new();
        let mut sids = BTreeMap::new();
        for default in &DEFAULT_ACCOUNTS {
            if let Some(user) = directory.by_address(default.address) {
                accounts.insert(
                    default.role,
                    Account::basic(default.address, DEFAULT_PASSWORD),
                );
                sids.insert(default.role, directory.users()[user].sid.clone());
            }
        }
        Ok(Self {
            description,
            client: client.with_accounts(accounts.values()),
            accounts,
            unknown_domain: Some(DEFAULT_DOMAIN.into()),
            version: None,
            sids,
            mock: Some(mock),
        })
    }

    /// A server at `url` with no accounts yet: add them with [`Target::with_account`].
    pub fn at(url: &str, options: &ClientOptions) -> Result<Self, SetupError> {
        Ok(Self {
            description: url.to_owned(),
            client: Client::new(url, options)?,
            accounts: BTreeMap::new(),
            unknown_domain: None,
            version: None,
            sids: BTreeMap::new(),
            mock: None,
        })
    }

    /// The same target with `account` playing `role`.
    pub fn with_account(mut self, role: Role, account: Account) -> Self {
        self.accounts.insert(role, account);
        self.client = self.client.with_accounts(self.accounts.values());
        self
    }

    /// The same target, making up addresses that must bounce in `domain`.
    pub fn with_unknown_domain(mut self, domain: impl Into<String>) -> Self {
        self.unknown_domain = Some(domain.into());
        self
    }

    /// A real server described by a target file.
    pub fn remote(file: TargetFile, options: &ClientOptions) -> Result<Self, SetupError> {
        let mut options = options.clone();
        if let Some(secs) = file.timeout_secs {
            options.timeout = std::time::Duration::from_secs(secs);
        }
        Ok(Self {
            description: file.url.clone(),
            client: Client::new(&file.url, &options)?.with_accounts(file.accounts.values()),
            accounts: file.accounts,
            unknown_domain: file.unknown_domain,
            version: file.request_server_version,
            sids: file.sids,
            mock: None,
        })
    }

    /// The account playing `role`, if the target has one.
    pub fn account(&self, role: Role) -> Option<&Account> {
        self.accounts.get(&role)
    }

    /// The address of `role`: an account's, or for the unknown roles one made up in the
    /// bouncing domain with `marker` in it.
    pub fn address(&self, role: Role, marker: &str) -> Option<String> {
        match role {
            Role::Unknown | Role::Unknown2 => {
                let n = if role == Role::Unknown { 1 } else { 2 };
                self.unknown_domain
                    .as_ref()
                    .map(|d| format!("nobody-{}-{n}@{d}", marker.to_ascii_lowercase()))
            }
            _ => self.account(role).map(|a| a.address.clone()),
        }
    }

    /// Every secret the target's accounts hold, so that outputs can be checked for them.
    pub fn secrets(&self) -> Vec<&str> {
        self.accounts
            .values()
            .flat_map(|a| a.auth.secrets())
            .collect()
    }

    /// The embedded mock, when that is the target.
    pub fn mock(&self) -> Option<&MockServer> {
        self.mock.as_ref()
    }

    /// Stops the embedded mock, if any.
    pub async fn shutdown(mut self) {
        if let Some(mock) = self.mock.take() {
            mock.shutdown().await;
        }
    }
}
