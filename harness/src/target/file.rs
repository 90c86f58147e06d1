//! Target files: how to reach a real EWS server and which accounts play which role. Secrets
//! are never in the file: it names the environment variables that hold them.
//!
//! ```toml
//! url = "https://mail.contoso.com/EWS/Exchange.asmx"
//! request_server_version = "Exchange2016"
//! unknown_domain = "contoso.com"     # mail to nobody-…@contoso.com bounces
//!
//! [accounts.principal]
//! address = "boss@contoso.com"
//! password_env = "EWSCONF_PRINCIPAL_PASSWORD"
//!
//! [accounts.delegate]
//! address = "helper@contoso.com"
//! username = "CONTOSO\\helper"       # Basic user name, when it is not the address
//! password_env = "EWSCONF_DELEGATE_PASSWORD"
//!
//! [accounts.outsider]
//! address = "mallory@contoso.com"
//! username = "CONTOSO\\mallory"      # or mallory@contoso.com
//! password_env = "EWSCONF_OUTSIDER_PASSWORD"
//! auth = "ntlm"                        # NTLMv2 with channel binding; "basic" is the default
//!
//! [accounts.recipient]
//! address = "carol@contoso.com"
//! token_env = "EWSCONF_RECIPIENT_TOKEN"   # OAuth bearer token (Exchange Online)
//! ```
//!
//! For Exchange Online, an `[app]` table makes every account one the application reaches by
//! impersonation (see [`super::oauth`]); the accounts then give only their `address` (and
//! `sid`, for the cases that impersonate by SID):
//!
//! ```toml
//! [app]
//! token_url = "https://login.microsoftonline.com/<tenant id>/oauth2/v2.0/token"
//! client_id = "<application (client) id>"
//! client_secret_env = "EWSCONF_CLIENT_SECRET"
//! scope = "https://outlook.office365.com/.default"   # the default
//!
//! [accounts.principal]
//! address = "boss@contoso.com"
//! ```

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use toml::Spanned;

use crate::case::Role;
use crate::ews::ExchangeVersion;

use super::auth::{Auth, Secret};
use super::calls::Account;
use super::oauth::{App, AppAccess, AppConfig, DEFAULT_SCOPE};

/// Why a target file could not be used, at `file:line:column`.
pub type TargetFileError = crate::location::Located;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    url: Spanned<String>,
    request_server_version: Option<Spanned<String>>,
    unknown_domain: Option<String>,
    timeout_secs: Option<u64>,
    app: Option<Spanned<RawApp>>,
    accounts: BTreeMap<Spanned<String>, RawAccount>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApp {
    token_url: Spanned<String>,
    client_id: String,
    client_secret_env: Option<Spanned<String>>,
    scope: Option<String>,
    // Present only to answer with a clear message, as for accounts.
    client_secret: Option<Spanned<toml::Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccount {
    address: String,
    username: Option<Spanned<String>>,
    password_env: Option<Spanned<String>>,
    token_env: Option<Spanned<String>>,
    auth: Option<Spanned<String>>,
    sid: Option<String>,
    // Present only to answer with a clear message: secrets do not belong in the file.
    password: Option<Spanned<toml::Value>>,
    token: Option<Spanned<toml::Value>>,
}

/// A target file, read and with its secrets fetched from the environment.
#[derive(Debug, Clone)]
pub struct TargetFile {
    /// The EWS endpoint.
    pub url: String,
    /// `RequestServerVersion` to send, if any.
    pub request_server_version: Option<ExchangeVersion>,
    /// Domain in which the harness makes up addresses that must bounce.
    pub unknown_domain: Option<String>,
    /// Per-request timeout, seconds.
    pub timeout_secs: Option<u64>,
    /// Accounts by role.
    pub accounts: BTreeMap<Role, Account>,
    /// SIDs by role, for impersonation by SID.
    pub sids: BTreeMap<Role, String>,
}

impl TargetFile {
    /// Reads a target file, a regular file of at most
    /// [`MAX_TARGET_FILE_BYTES`](crate::limits::MAX_TARGET_FILE_BYTES); `env` looks up
    /// environment variables (so tests need not touch the process environment).
    pub fn load(
        path: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, TargetFileError> {
        let shown = path.display().to_string();
        let text =
            crate::input::read_text(path, crate::limits::MAX_TARGET_FILE_BYTES, "target file")
                .map_err(|e| {
                    TargetFileError::file(
                        &shown,
                        format!("cannot read the target file: {}", e.problem),
                    )
                })?;
        Self::parse(&shown, &text, env)
    }

    /// Parses a target file's text.
    pub fn parse(
        path: &str,
        text: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, TargetFileError> {
        let error = |span: std::ops::Range<usize>, message: String| {
            TargetFileError::at(path, text, span.start, message)
        };
        let raw: RawTarget = toml::from_str(text)
            .map_err(|e| error(e.span().unwrap_or(0..0), e.message().trim_end().to_owned()))?;
        if !raw.url.get_ref().starts_with("https://") && !raw.url.get_ref().starts_with("http://") {
            return Err(error(
                raw.url.span(),
                "url must be the EWS endpoint, e.g. https://mail.contoso.com/EWS/Exchange.asmx"
                    .into(),
            ));
        }
        let request_server_version = raw
            .request_server_version
            .as_ref()
            .map(|v| {
                v.get_ref().parse().map_err(|_| {
                    error(v.span(), format!("{:?} is not an ExchangeVersionType, e.g. Exchange2013_SP1 or Exchange2016", v.get_ref()))
                })
            })
            .transpose()?;
        let app = match raw.app {
            None => None,
            Some(app) => {
                let table = app.span();
                let app = app.into_inner();
                if let Some(secret) = &app.client_secret {
                    return Err(error(
                        secret.span(),
                        "secrets do not belong in a target file: put the client secret in an environment variable and name it with client_secret_env".into(),
                    ));
                }
                let url = app.token_url.get_ref();
                if !url.starts_with("https://") && !url.starts_with("http://") {
                    return Err(error(
                        app.token_url.span(),
                        "token_url must be the token endpoint, e.g. https://login.microsoftonline.com/<tenant id>/oauth2/v2.0/token".into(),
                    ));
                }
                let var = app.client_secret_env.as_ref().ok_or_else(|| {
                    error(
                        table,
                        "[app] needs client_secret_env: the environment variable that holds the client secret".into(),
                    )
                })?;
                let secret = env(var.get_ref()).filter(|v| !v.is_empty()).ok_or_else(|| {
                    error(
                        var.span(),
                        format!(
                            "environment variable {} is not set (it holds the app's client secret)",
                            var.get_ref()
                        ),
                    )
                })?;
                let addresses_by_sid = raw
                    .accounts
                    .values()
                    .filter_map(|a| Some((a.sid.clone()?, a.address.clone())))
                    .collect();
                Some(Arc::new(App::new(
                    AppConfig {
                        token_url: app.token_url.into_inner(),
                        client_id: app.client_id,
                        client_secret: Secret::new(secret),
                        scope: app.scope.unwrap_or_else(|| DEFAULT_SCOPE.to_owned()),
                    },
                    addresses_by_sid,
                )))
            }
        };
        let mut accounts = BTreeMap::new();
        let mut sids = BTreeMap::new();
        // Report problems in file order, whatever the roles' names sort as.
        let mut entries: Vec<_> = raw.accounts.into_iter().collect();
        entries.sort_by_key(|(name, _)| name.span().start);
        for (name, a) in entries {
            let role = Role::from_name(name.get_ref()).filter(|r| r.is_account()).ok_or_else(|| {
                error(
                    name.span(),
                    format!(
                        "unknown account role {:?}: use principal, delegate, recipient, outsider, reviewer, sendas or impersonator",
                        name.get_ref()
                    ),
                )
            })?;
            if let Some(p) = a
                .password
                .as_ref()
                .map(|p| p.span())
                .or(a.token.as_ref().map(|t| t.span()))
            {
                return Err(error(
                    p,
                    "secrets do not belong in a target file: put the value in an environment variable and name it with password_env or token_env".into(),
                ));
            }
            let fetch = |var: &Spanned<String>| {
                env(var.get_ref()).filter(|v| !v.is_empty()).ok_or_else(|| {
                    error(
                        var.span(),
                        format!(
                            "environment variable {} is not set (it holds the {} account's secret)",
                            var.get_ref(),
                            role
                        ),
                    )
                })
            };
            let scheme = a.auth.as_ref().map(|s| (s.get_ref().as_str(), s.span()));
            let credentials = [
                a.password_env.as_ref().map(|s| s.span()),
                a.token_env.as_ref().map(|s| s.span()),
                a.auth.as_ref().map(|s| s.span()),
                a.username.as_ref().map(|s| s.span()),
            ];
            let auth = match (&app, &a.password_env, &a.token_env) {
                (Some(app), ..) => {
                    // With [app] the application logs in; credentials of the account's own would
                    // be ignored, which a file should not seem to say.
                    if let Some(span) = credentials.into_iter().flatten().next() {
                        return Err(error(
                            span,
                            format!(
                                "with [app], the {role} account is reached by impersonation and needs only its address: remove username, password_env, token_env and auth"
                            ),
                        ));
                    }
                    Auth::App(AppAccess::new(a.address.clone(), app.clone()))
                }
                (None, Some(var), None) => {
                    let username = a
                        .username
                        .clone()
                        .map(Spanned::into_inner)
                        .unwrap_or_else(|| a.address.clone());
                    let password = Secret::new(fetch(var)?);
                    match scheme {
                        None | Some(("basic", _)) => Auth::Basic { username, password },
                        Some(("ntlm", _)) => Auth::Ntlm { username, password },
                        Some((other, span)) => {
                            return Err(error(
                                span,
                                format!(
                                    "unknown auth {other:?}: use \"basic\" (the default) or \"ntlm\""
                                ),
                            ));
                        }
                    }
                }
                (None, None, Some(_)) if scheme.is_some() => {
                    let span = scheme.map(|(_, span)| span).unwrap_or_default();
                    return Err(error(
                        span,
                        "auth goes with password_env: a token_env account always sends its token as Bearer".into(),
                    ));
                }
                (None, None, Some(var)) => Auth::Bearer {
                    token: Secret::new(fetch(var)?),
                },
                _ => {
                    return Err(error(
                        name.span(),
                        format!(
                            "account {role} needs exactly one of password_env (Basic) or token_env (Bearer), or an [app] table (app-only OAuth)"
                        ),
                    ));
                }
            };
            if let Some(sid) = a.sid {
                sids.insert(role, sid);
            }
            accounts.insert(
                role,
                Account {
                    address: a.address,
                    auth,
                },
            );
        }
        for role in [Role::Principal, Role::Delegate, Role::Recipient] {
            if !accounts.contains_key(&role) {
                return Err(error(0..0, format!("[accounts.{role}] is required")));
            }
        }
        Ok(Self {
            url: raw.url.into_inner(),
            request_server_version,
            unknown_domain: raw.unknown_domain,
            timeout_secs: raw.timeout_secs,
            accounts,
            sids,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"url = "https://mail.contoso.com/EWS/Exchange.asmx"
request_server_version = "Exchange2016"

[accounts.principal]
address = "boss@contoso.com"
password_env = "P_PASS"

[accounts.delegate]
address = "helper@contoso.com"
password_env = "D_PASS"

[accounts.recipient]
address = "carol@contoso.com"
token_env = "R_TOKEN"
"#;

    fn env(name: &str) -> Option<String> {
        match name {
            "P_PASS" => Some("canary-password-1".into()),
            "D_PASS" => Some("canary-password-2".into()),
            "R_TOKEN" => Some("canary-token-3".into()),
            _ => None,
        }
    }

    #[test]
    fn secrets_come_from_the_environment_and_never_print() {
        let t = TargetFile::parse("t.toml", FILE, &env).unwrap();
        assert_eq!(
            t.accounts[&Role::Recipient].auth.header_value(),
            "Bearer canary-token-3"
        );
        assert!(!format!("{t:?}").contains("canary"));
    }

    #[test]
    fn problems_name_the_line_and_the_fix() {
        let err =
            TargetFileError::to_string(&TargetFile::parse("t.toml", FILE, &|_| None).unwrap_err());
        assert!(
            err.starts_with("t.toml:6:16:") && err.contains("P_PASS is not set"),
            "{err}"
        );
        let with_secret = FILE.replace("password_env = \"D_PASS\"", "password = \"hunter2\"");
        let err = TargetFile::parse("t.toml", &with_secret, &env).unwrap_err();
        assert_eq!(err.line, 10);
        assert!(
            err.message.contains("environment variable") && !err.message.contains("hunter2"),
            "{err}"
        );
        let err = TargetFile::parse(
            "t.toml",
            &FILE.replace("Exchange2016", "Exchange2099"),
            &env,
        )
        .unwrap_err();
        assert_eq!(err.line, 2);
    }

    #[test]
    fn auth_ntlm_makes_an_ntlm_account_and_other_schemes_are_refused_where_written() {
        let ntlm = FILE.replace(
            "password_env = \"D_PASS\"",
            "username = \"CONTOSO\\\\helper\"\npassword_env = \"D_PASS\"\nauth = \"ntlm\"",
        );
        let t = TargetFile::parse("t.toml", &ntlm, &env).unwrap();
        assert_eq!(
            t.accounts[&Role::Delegate].auth,
            Auth::Ntlm {
                username: "CONTOSO\\helper".into(),
                password: Secret::new("canary-password-2"),
            }
        );
        // Basic stays the default, and can be named.
        let principal_is_basic =
            |t: &TargetFile| matches!(t.accounts[&Role::Principal].auth, Auth::Basic { .. });
        assert!(principal_is_basic(&t));
        let basic = FILE.replace(
            "password_env = \"P_PASS\"",
            "password_env = \"P_PASS\"\nauth = \"basic\"",
        );
        assert!(principal_is_basic(
            &TargetFile::parse("t.toml", &basic, &env).unwrap()
        ));

        let kerberos = FILE.replace(
            "password_env = \"D_PASS\"",
            "password_env = \"D_PASS\"\nauth = \"kerberos\"",
        );
        let err = TargetFile::parse("t.toml", &kerberos, &env).unwrap_err();
        assert_eq!((err.line, err.column), (11, 8), "{err}");
        assert!(err.message.contains("\"ntlm\""), "{err}");
        let with_token = FILE.replace(
            "token_env = \"R_TOKEN\"",
            "token_env = \"R_TOKEN\"\nauth = \"ntlm\"",
        );
        let err = TargetFile::parse("t.toml", &with_token, &env).unwrap_err();
        assert_eq!(err.line, 15, "{err}");
        assert!(err.message.contains("Bearer"), "{err}");
    }

    const APP_FILE: &str = r#"url = "https://outlook.office365.com/EWS/Exchange.asmx"

[app]
token_url = "https://login.microsoftonline.com/contoso/oauth2/v2.0/token"
client_id = "c0ffee"
client_secret_env = "APP_SECRET"

[accounts.principal]
address = "boss@contoso.com"
sid = "S-1-5-21-1-2-3-1001"

[accounts.delegate]
address = "helper@contoso.com"

[accounts.recipient]
address = "carol@contoso.com"
"#;

    fn app_env(name: &str) -> Option<String> {
        (name == "APP_SECRET").then(|| "canary-app-secret-8".into())
    }

    #[test]
    fn with_an_app_table_accounts_need_only_their_address_and_share_one_token_source() {
        let t = TargetFile::parse("t.toml", APP_FILE, &app_env).unwrap();
        let access = |role| match &t.accounts[&role].auth {
            Auth::App(access) => access.clone(),
            other => panic!("{role} is {other:?}"),
        };
        assert_eq!(access(Role::Delegate).mailbox, "helper@contoso.com");
        assert!(Arc::ptr_eq(
            &access(Role::Principal).app,
            &access(Role::Recipient).app
        ));
        assert_eq!(
            t.accounts[&Role::Principal].auth.secrets(),
            ["canary-app-secret-8"]
        );
        assert!(!format!("{t:?}").contains("canary"));
        assert_eq!(t.sids[&Role::Principal], "S-1-5-21-1-2-3-1001");
    }

    #[test]
    fn app_problems_name_the_line_and_the_fix() {
        let err = TargetFile::parse("t.toml", APP_FILE, &|_| None).unwrap_err();
        assert_eq!((err.line, err.column), (6, 21), "{err}");
        assert!(err.message.contains("APP_SECRET is not set"), "{err}");

        let with_password = APP_FILE.replace(
            "address = \"helper@contoso.com\"",
            "address = \"helper@contoso.com\"\npassword_env = \"D_PASS\"",
        );
        let err = TargetFile::parse("t.toml", &with_password, &app_env).unwrap_err();
        assert_eq!(err.line, 14, "{err}");
        assert!(
            err.message.contains("[app]") && err.message.contains("only its address"),
            "{err}"
        );

        let with_secret = APP_FILE.replace(
            "client_secret_env = \"APP_SECRET\"",
            "client_secret = \"hunter2\"",
        );
        let err = TargetFile::parse("t.toml", &with_secret, &app_env).unwrap_err();
        assert_eq!(err.line, 6, "{err}");
        assert!(!err.message.contains("hunter2"), "{err}");

        let not_a_url = APP_FILE.replace("https://login", "login");
        let err = TargetFile::parse("t.toml", &not_a_url, &app_env).unwrap_err();
        assert_eq!(err.line, 4, "{err}");
        assert!(err.message.contains("token_url"), "{err}");
    }
}
