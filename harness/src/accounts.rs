//! The documented default accounts: who plays each role on the embedded mock, under which
//! address. The mock builds its default directory from this list and the embedded target maps
//! roles to it; the rights each account holds are the mock's business.

use crate::case::Role;

/// The password of every default account.
pub const DEFAULT_PASSWORD: &str = "secret";

/// One default account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefaultAccount {
    /// The role the account plays.
    pub role: Role,
    /// Primary SMTP address.
    pub address: &'static str,
    /// Display name.
    pub display_name: &'static str,
}

/// The domain of the default accounts; unknown addresses in it bounce.
pub const DEFAULT_DOMAIN: &str = "example.com";

/// The default accounts, in the mock's directory order (a mailbox's index is its place here).
pub const DEFAULT_ACCOUNTS: [DefaultAccount; 7] = [
    account(Role::Principal, "boss@example.com", "Boss"),
    account(Role::Delegate, "helper@example.com", "Helper"),
    account(Role::Recipient, "carol@example.com", "Carol"),
    account(Role::Outsider, "mallory@example.com", "Mallory"),
    account(Role::Impersonator, "svc@example.com", "Service Account"),
    account(Role::Reviewer, "reader@example.com", "Reader"),
    account(Role::Sendas, "assistant@example.com", "Assistant"),
];

const fn account(role: Role, address: &'static str, display_name: &'static str) -> DefaultAccount {
    DefaultAccount {
        role,
        address,
        display_name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_but_the_unknown_ones_has_one_account_in_the_default_domain() {
        for role in Role::ALL {
            let count = DEFAULT_ACCOUNTS.iter().filter(|a| a.role == role).count();
            let expected = usize::from(!matches!(role, Role::Unknown | Role::Unknown2));
            assert_eq!(count, expected, "{role:?}");
        }
        assert!(
            DEFAULT_ACCOUNTS
                .iter()
                .all(|a| a.address.ends_with(&format!("@{DEFAULT_DOMAIN}")))
        );
    }
}
