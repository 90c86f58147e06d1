//! Who the mock serves: accounts with passwords, local domains, delegate grants and
//! impersonation rights, from the documented defaults or a users file (TOML).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::accounts::{DEFAULT_ACCOUNTS, DEFAULT_DOMAIN, DEFAULT_PASSWORD};
use crate::case::Role;

use super::folder::MockFolder;

/// Why a users file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML of the users-file shape, at `file:line:column`.
    #[error(transparent)]
    Parse(#[from] crate::location::Located),
    /// The file parsed, but says something inconsistent.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong, and how to fix it.
        message: String,
    },
}

/// What a delegate may do in one of the principal's folders, as Exchange's permission levels.
/// <https://learn.microsoft.com/en-us/exchange/client-developer/exchange-web-services/delegate-access-and-ews-in-exchange>
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
pub enum FolderPermission {
    /// No access.
    None,
    /// Read items.
    Reviewer,
    /// Read and create items.
    Author,
    /// Read, create, change and delete items.
    Editor,
}

/// One account of the mock.
#[derive(Debug, Clone)]
pub struct User {
    /// Primary SMTP address, also the user principal name.
    pub address: String,
    /// HTTP Basic password.
    pub password: String,
    /// Display name.
    pub display_name: String,
    /// The account's security identifier, for `ConnectingSID/SID`.
    pub sid: String,
}

/// Rights one user holds on another's mailbox.
#[derive(Debug, Clone, Default)]
pub struct Grant {
    /// Folder permission levels by folder.
    pub folders: BTreeMap<MockFolder, FolderPermission>,
    /// May send as the principal, with the principal as sender.
    pub send_as: bool,
    /// May send on behalf of the principal, with the delegate as sender.
    pub send_on_behalf: bool,
}

/// The accounts and rights the mock serves; fixed once the server starts.
#[derive(Debug, Clone)]
pub struct Directory {
    users: Vec<User>,
    local_domains: Vec<String>,
    // (delegate, principal) → rights.
    grants: BTreeMap<(usize, usize), Grant>,
    // Accounts holding the ApplicationImpersonation role over every mailbox.
    impersonators: Vec<usize>,
}

/// Index of a user (and of the user's mailbox) in the directory.
pub type UserIndex = usize;

impl Directory {
    /// The documented default accounts of [`crate::accounts::DEFAULT_ACCOUNTS`], all with
    /// password [`DEFAULT_PASSWORD`]: `boss@example.com` (principal), `helper@example.com`
    /// (delegate: Editor on boss's Drafts and Sent Items, Reviewer on the Inbox, SendOnBehalf),
    /// `carol@example.com`
    /// (recipient), `mallory@example.com` (no rights), `svc@example.com` (may impersonate every
    /// account), `reader@example.com` (Reviewer on boss's Drafts) and `assistant@example.com`
    /// (Editor on boss's Drafts, SendAs). Unknown addresses in `example.com` bounce.
    pub fn documented_defaults() -> Self {
        let users = DEFAULT_ACCOUNTS
            .iter()
            .enumerate()
            .map(|(i, a)| user(i, a.address, DEFAULT_PASSWORD, a.display_name))
            .collect();
        // The rights go by role; a mailbox's index is its account's place in the list.
        let at = |role: Role| -> UserIndex {
            DEFAULT_ACCOUNTS
                .iter()
                .position(|a| a.role == role)
                .expect("every role with rights has a default account")
        };
        let principal = at(Role::Principal);
        // A role's rights on the principal: folder permissions, send as, send on behalf.
        let grant = |role, folders: &[_], send_as, send_on_behalf| {
            let folders = folders.iter().copied().collect();
            let rights = Grant {
                folders,
                send_as,
                send_on_behalf,
            };
            ((at(role), principal), rights)
        };
        let (drafts, sent_items) = (MockFolder::Drafts, MockFolder::SentItems);
        let (editor, reviewer) = (FolderPermission::Editor, FolderPermission::Reviewer);
        let grants = BTreeMap::from([
            // Reading the Inbox lets the delegate answer the principal's mail.
            grant(
                Role::Delegate,
                &[
                    (drafts, editor),
                    (sent_items, editor),
                    (MockFolder::Inbox, reviewer),
                ],
                false,
                true,
            ),
            grant(Role::Reviewer, &[(drafts, reviewer)], false, false),
            grant(Role::Sendas, &[(drafts, editor)], true, false),
        ]);
        Self {
            users,
            local_domains: vec![DEFAULT_DOMAIN.into()],
            grants,
            impersonators: vec![at(Role::Impersonator)],
        }
    }

    /// This directory with `delegate` given `permission` on `principal`'s `folder` as well, as
    /// a users file's `[[grant]]` gives it. `None` when either address is not an account here.
    pub fn with_folder_grant(
        mut self,
        delegate: &str,
        principal: &str,
        folder: MockFolder,
        permission: FolderPermission,
    ) -> Option<Self> {
        let key = (self.by_address(delegate)?, self.by_address(principal)?);
        let grant = self.grants.entry(key).or_insert_with(|| Grant {
            folders: BTreeMap::new(),
            send_as: false,
            send_on_behalf: false,
        });
        grant.folders.insert(folder, permission);
        Some(self)
    }

    /// Loads a users file.
    ///
    /// ```toml
    /// local_domains = ["example.com"]
    ///
    /// [[user]]
    /// address = "boss@example.com"
    /// password = "secret"
    ///
    /// [[grant]]
    /// delegate = "helper@example.com"
    /// principal = "boss@example.com"
    /// folders = { drafts = "Editor", sentitems = "Editor" }
    /// send_on_behalf = true
    ///
    /// [[impersonation]]
    /// account = "svc@example.com"
    /// ```
    pub fn load(path: &Path) -> Result<Self, DirectoryError> {
        let shown = path.display().to_string();
        let text = crate::input::read_text(path, crate::limits::MAX_USERS_FILE_BYTES, "users file")
            .map_err(|e| DirectoryError::Read {
                path: shown.clone(),
                source: e.into(),
            })?;
        Self::parse(&shown, &text)
    }

    /// Parses a users file's text; `path` names it in errors.
    pub fn parse(path: &str, text: &str) -> Result<Self, DirectoryError> {
        let file: UsersFile = toml::from_str(text).map_err(|e| {
            let at = e.span().map_or(0, |s| s.start);
            crate::location::Located::at(path, text, at, e.message())
        })?;
        let invalid = |message: String| DirectoryError::Invalid {
            path: path.to_owned(),
            message,
        };
        if file.user.is_empty() {
            return Err(invalid(
                "no [[user]] entries: add at least one account".into(),
            ));
        }
        let mut users: Vec<User> = Vec::new();
        for (i, u) in file.user.iter().enumerate() {
            let address = u.address.to_ascii_lowercase();
            if !address.contains('@') {
                return Err(invalid(format!(
                    "user {:?} is not an SMTP address",
                    u.address
                )));
            }
            if users.iter().any(|x| x.address == address) {
                return Err(invalid(format!("user {:?} is listed twice", u.address)));
            }
            let name = u.display_name.clone().unwrap_or_else(|| address.clone());
            users.push(user(i, &address, &u.password, &name));
        }
        let find = |address: &str, role: &str| {
            let address = address.to_ascii_lowercase();
            users
                .iter()
                .position(|u| u.address == address)
                .ok_or_else(|| invalid(format!("{role} {address:?} is not a [[user]]")))
        };
        let mut grants = BTreeMap::new();
        for g in &file.grant {
            let delegate = find(&g.delegate, "grant delegate")?;
            let principal = find(&g.principal, "grant principal")?;
            let mut folders = BTreeMap::new();
            for (name, level) in &g.folders {
                let folder = MockFolder::from_name(name).ok_or_else(|| {
                    invalid(format!(
                        "grant folder {name:?} is not one of {}",
                        MockFolder::ALL.map(|f| f.name().as_str()).join(", ")
                    ))
                })?;
                folders.insert(folder, *level);
            }
            grants.insert(
                (delegate, principal),
                Grant {
                    folders,
                    send_as: g.send_as,
                    send_on_behalf: g.send_on_behalf,
                },
            );
        }
        let impersonators = file
            .impersonation
            .iter()
            .map(|i| find(&i.account, "impersonation account"))
            .collect::<Result<_, _>>()?;
        let local_domains = if file.local_domains.is_empty() {
            let mut domains: Vec<String> = users
                .iter()
                .filter_map(|u| u.address.split_once('@').map(|(_, d)| d.to_owned()))
                .collect();
            domains.sort();
            domains.dedup();
            domains
        } else {
            file.local_domains
                .iter()
                .map(|d| d.to_ascii_lowercase())
                .collect()
        };
        Ok(Self {
            users,
            local_domains,
            grants,
            impersonators,
        })
    }

    /// Every account, in index order.
    pub fn users(&self) -> &[User] {
        &self.users
    }

    /// The account with this SMTP address (case-insensitive).
    pub fn by_address(&self, address: &str) -> Option<UserIndex> {
        self.users
            .iter()
            .position(|u| u.address.eq_ignore_ascii_case(address.trim()))
    }

    /// The account with this SID.
    pub fn by_sid(&self, sid: &str) -> Option<UserIndex> {
        self.users.iter().position(|u| u.sid == sid.trim())
    }

    /// The account these Basic credentials log in, if the password matches.
    pub fn authenticate(&self, address: &str, password: &str) -> Option<UserIndex> {
        self.by_address(address)
            .filter(|&i| constant_time_eq(self.users[i].password.as_bytes(), password.as_bytes()))
    }

    /// True when mail to this address is delivered by this server (and so bounces if unknown).
    pub fn is_local(&self, address: &str) -> bool {
        address
            .rsplit_once('@')
            .is_some_and(|(_, d)| self.local_domains.iter().any(|l| l.eq_ignore_ascii_case(d)))
    }

    /// The rights `delegate` holds on `principal`'s mailbox.
    pub fn grant(&self, delegate: UserIndex, principal: UserIndex) -> Option<&Grant> {
        self.grants.get(&(delegate, principal))
    }

    /// The permission `actor` has on `owner`'s `folder`: `Editor` on one's own mailbox.
    pub fn folder_permission(
        &self,
        actor: UserIndex,
        owner: UserIndex,
        folder: MockFolder,
    ) -> FolderPermission {
        if actor == owner {
            return FolderPermission::Editor;
        }
        self.grant(actor, owner)
            .and_then(|g| g.folders.get(&folder).copied())
            .unwrap_or(FolderPermission::None)
    }

    /// True when `actor` holds the ApplicationImpersonation role.
    pub fn may_impersonate(&self, actor: UserIndex) -> bool {
        self.impersonators.contains(&actor)
    }

    /// Lines describing the accounts, for the standalone mock's start-up banner. Passwords are
    /// shown only when they are the documented default.
    pub fn describe(&self) -> Vec<String> {
        self.users
            .iter()
            .enumerate()
            .map(|(i, u)| {
                let mut roles = Vec::new();
                for ((d, p), g) in &self.grants {
                    if *d == i {
                        let folders: Vec<String> = g
                            .folders
                            .iter()
                            .map(|(f, l)| format!("{:?} on {}", l, f.name()))
                            .collect();
                        let mut send = Vec::new();
                        if g.send_as {
                            send.push("SendAs");
                        }
                        if g.send_on_behalf {
                            send.push("SendOnBehalf");
                        }
                        roles.push(format!(
                            "delegate of {}: {}{}",
                            self.users[*p].address,
                            folders.join(", "),
                            if send.is_empty() {
                                String::new()
                            } else {
                                format!("; {}", send.join(", "))
                            }
                        ));
                    }
                }
                if self.may_impersonate(i) {
                    roles.push("may impersonate every account".into());
                }
                let password = if u.password == DEFAULT_PASSWORD {
                    format!("password {DEFAULT_PASSWORD:?}")
                } else {
                    "password from the users file".into()
                };
                let roles = if roles.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", roles.join("; "))
                };
                format!("{} ({password}){roles}", u.address)
            })
            .collect()
    }
}

fn user(index: usize, address: &str, password: &str, name: &str) -> User {
    User {
        address: address.to_ascii_lowercase(),
        password: password.to_owned(),
        display_name: name.to_owned(),
        sid: format!("S-1-5-21-2026-1123-{}", 1000 + index),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UsersFile {
    #[serde(default)]
    local_domains: Vec<String>,
    #[serde(default)]
    user: Vec<UserEntry>,
    #[serde(default)]
    grant: Vec<GrantEntry>,
    #[serde(default)]
    impersonation: Vec<ImpersonationEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserEntry {
    address: String,
    password: String,
    display_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantEntry {
    delegate: String,
    principal: String,
    #[serde(default)]
    folders: BTreeMap<String, FolderPermission>,
    #[serde(default)]
    send_as: bool,
    #[serde(default)]
    send_on_behalf: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ImpersonationEntry {
    account: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_give_the_delegate_drafts_sent_items_the_inbox_to_read_and_send_on_behalf() {
        let d = Directory::documented_defaults();
        let (boss, helper, mallory) = (0, 1, 3);
        assert_eq!(
            d.folder_permission(helper, boss, MockFolder::Drafts),
            FolderPermission::Editor
        );
        assert_eq!(
            d.folder_permission(helper, boss, MockFolder::Inbox),
            FolderPermission::Reviewer
        );
        assert_eq!(
            d.folder_permission(helper, boss, MockFolder::Tasks),
            FolderPermission::None
        );
        assert_eq!(
            d.folder_permission(mallory, boss, MockFolder::Drafts),
            FolderPermission::None
        );
        assert!(
            d.grant(helper, boss)
                .is_some_and(|g| g.send_on_behalf && !g.send_as)
        );
        assert_eq!(d.authenticate("BOSS@example.com", "secret"), Some(boss));
        assert_eq!(d.authenticate("boss@example.com", "wrong"), None);
        assert!(d.is_local("nobody@example.com") && !d.is_local("x@elsewhere.org"));
    }

    #[test]
    fn users_file_errors_name_file_line_and_key() {
        let text = "[[user]]\naddress = \"a@x.org\"\npassword = \"p\"\ncolour = \"red\"\n";
        let err = Directory::parse("users.toml", text)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("users.toml:4:1:"), "{err}");
        assert!(err.contains("colour"), "{err}");

        let text = "[[user]]\naddress = \"a@x.org\"\npassword = \"p\"\n[[grant]]\ndelegate = \"a@x.org\"\nprincipal = \"b@x.org\"\n";
        let err = Directory::parse("users.toml", text)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("grant principal \"b@x.org\" is not a [[user]]"),
            "{err}"
        );
    }
}
