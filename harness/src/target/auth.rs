//! Credentials: HTTP Basic, Bearer tokens, NTLM and app-only OAuth, with secrets that never
//! print.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// A password or token. Its `Debug` and `Display` never show the value, so it cannot reach a
/// log line, a report or a panic message by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// How an account authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// HTTP Basic (on-premises Exchange, the mock).
    Basic {
        /// The user name, often the SMTP address or `DOMAIN\user`.
        username: String,
        /// The password.
        password: Secret,
    },
    /// An OAuth bearer token (Exchange Online).
    Bearer {
        /// The access token.
        token: Secret,
    },
    /// NTLMv2 with a channel binding (Exchange Server's Windows authentication): the client
    /// logs connections in (see [`super::ntlm`]), so no request carries a fixed header.
    Ntlm {
        /// `DOMAIN\user` or `user@domain`.
        username: String,
        /// The password.
        password: Secret,
    },
    /// App-only OAuth: the application's client-credentials token, impersonating the account
    /// (see [`super::oauth`]). Tokens are fetched and renewed per request.
    App(super::oauth::AppAccess),
}

impl Auth {
    /// HTTP Basic with these credentials.
    pub fn basic(username: impl Into<String>, password: impl Into<String>) -> Self {
        Auth::Basic {
            username: username.into(),
            password: Secret::new(password),
        }
    }

    /// The `Authorization` header's value; empty for NTLM, whose messages belong to a
    /// connection.
    pub fn header_value(&self) -> String {
        match self {
            Auth::Basic { username, password } => {
                format!(
                    "Basic {}",
                    STANDARD.encode(format!("{username}:{}", password.expose()))
                )
            }
            Auth::Bearer { token } => format!("Bearer {}", token.expose()),
            // NTLM messages are made per connection, never from the credentials alone; an
            // app's token changes over a run.
            Auth::Ntlm { .. } | Auth::App(_) => String::new(),
        }
    }

    /// Who the server counts a request against, for per-account limits: the user name, or for a
    /// token a digest of it (never the token itself).
    pub fn identity(&self) -> String {
        match self {
            Auth::Basic { username, .. } | Auth::Ntlm { username, .. } => username.clone(),
            Auth::Bearer { token } => {
                use std::hash::{Hash, Hasher};
                let mut hasher = std::collections::hash_map::DefaultHasher::new();
                token.expose().hash(&mut hasher);
                format!("bearer:{:016x}", hasher.finish())
            }
            Auth::App(access) => format!("app:{}", access.mailbox.to_ascii_lowercase()),
        }
    }

    /// The mailbox the credentials stand for, when they say: an app account's address, or a
    /// Basic or NTLM user name written as an address.
    pub fn mailbox(&self) -> Option<&str> {
        match self {
            Auth::App(access) => Some(&access.mailbox),
            Auth::Basic { username, .. } | Auth::Ntlm { username, .. } => {
                Some(username.as_str()).filter(|u| u.contains('@') && !u.contains('\\'))
            }
            Auth::Bearer { .. } => None,
        }
    }

    /// The secret values, so reports can be checked for them.
    pub fn secrets(&self) -> Vec<&str> {
        match self {
            Auth::Basic { password, .. } => vec![password.expose()],
            Auth::Bearer { token } => vec![token.expose()],
            Auth::Ntlm { password, .. } => vec![password.expose()],
            // The tokens it obtains are added as they come (see `super::oauth::App`).
            Auth::App(access) => vec![access.app.client_secret().expose()],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let auth = Auth::basic("boss@example.com", "canary-password-42");
        assert!(!format!("{auth:?}").contains("canary"));
        let token = Auth::Bearer {
            token: Secret::new("canary-token-42"),
        };
        assert!(!format!("{token:?}").contains("canary"));
        let ntlm = Auth::Ntlm {
            username: "CONTOSO\\boss".into(),
            password: Secret::new("canary-password-43"),
        };
        assert!(!format!("{ntlm:?}").contains("canary"));
        assert_eq!(ntlm.identity(), "CONTOSO\\boss");
        assert_eq!(ntlm.secrets(), ["canary-password-43"]);
        assert_eq!(token.header_value(), "Bearer canary-token-42");
        assert_eq!(
            Auth::basic("a", "b").header_value(),
            format!("Basic {}", STANDARD.encode("a:b"))
        );
    }
}
