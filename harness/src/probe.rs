//! `ewsconf probe`: whether a target file's server can be used, checked step by step before a
//! run, each step a line with a verdict and, for a problem, what to change.
//!
//! The steps, in order: the host resolves and accepts connections; TLS trusts its certificate;
//! an unauthenticated POST shows the schemes the server offers (`WWW-Authenticate`); each account
//! logs in with a GetFolder of its own Inbox, which also gives the server's version
//! (`ServerVersionInfo`); and the delegate's rights on the principal's mailbox are checked as
//! `ewsconf quirk delegate-copy` checks them ([`crate::quirk::check_rights`]), the probe draft
//! that check sends being cleaned up afterwards.

use std::fmt::Write as _;
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, LOCATION, WWW_AUTHENTICATE};

use crate::case::Role;
use crate::ews::{
    BaseShape, DistinguishedFolderName, GetFolder, RequestEnvelope, RequestHeaders, ResponseBody,
    ResponseCode, ServerVersionInfo, Shape,
};
use crate::judge::delegate_copy::{PreconditionStatus, SetupFailure, permission_advice};
use crate::target::calls::folder_of;
use crate::target::{Account, Auth, ClientOptions, Post, Target, TargetError};

/// Why the probe could not run at all (as opposed to a check that failed, which is a line of
/// its report).
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The target's URL cannot be probed (it was accepted by the target file, so this is rare:
    /// a URL without a host).
    #[error("cannot probe {url}: {reason}")]
    Url {
        /// The endpoint.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The HTTP client for the unauthenticated request could not be built (an unreadable CA
    /// certificate, say).
    #[error("{0}")]
    Client(String),
}

/// A check's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The check passed.
    Ok,
    /// Worth knowing, but nothing stops a run.
    Warn,
    /// The check failed: something to fix.
    Fail,
    /// Not checked, because an earlier step failed.
    Skip,
}

impl Status {
    /// How the line starts.
    pub const fn label(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
            Status::Skip => "skip",
        }
    }
}

/// One checked step: what, its verdict, and what it found (and for a failure, the fix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// The step: `reach`, `tls`, `schemes`, `login`, `ntlm`, `server`, `rights`, `cleanup`.
    pub topic: &'static str,
    /// Its verdict.
    pub status: Status,
    /// What was found; may run over several lines.
    pub message: String,
}

/// Whether the target can be used, from the checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usability {
    /// Every check passed (warnings aside).
    Usable,
    /// The server answers and at least one account logs in, but an account or a right is
    /// missing.
    Partly,
    /// The server cannot be reached, or no account logs in.
    Unusable,
}

/// What the probe found.
#[derive(Debug, Clone)]
pub struct ProbeReport {
    /// The checks, in the order they ran.
    pub checks: Vec<Check>,
    /// The version the server reported, from the first login that got an EWS answer.
    pub server_version: Option<ServerVersionInfo>,
    unusable: bool,
}

impl ProbeReport {
    /// Whether the target can be used.
    pub fn usability(&self) -> Usability {
        if self.unusable {
            Usability::Unusable
        } else if self.checks.iter().any(|c| c.status == Status::Fail) {
            Usability::Partly
        } else {
            Usability::Usable
        }
    }

    /// The report as the terminal shows it: one line per check (continuation lines indented),
    /// then the verdict.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for check in &self.checks {
            let mut lines = check.message.lines();
            let first = lines.next().unwrap_or_default();
            let _ = writeln!(
                out,
                "{:<5} {:<8} {first}",
                check.status.label(),
                check.topic
            );
            for line in lines {
                let _ = writeln!(out, "{:15}{line}", "");
            }
        }
        let verdict = match self.usability() {
            Usability::Usable => "the target can be used",
            Usability::Partly => {
                "the server can be used, but not every account or right is in place (see FAIL above)"
            }
            Usability::Unusable => "the target cannot be used (see FAIL above)",
        };
        let _ = writeln!(out, "verdict: {verdict}");
        out
    }

    fn push(&mut self, topic: &'static str, status: Status, message: impl Into<String>) {
        self.checks.push(Check {
            topic,
            status,
            message: message.into(),
        });
    }
}

/// The fix for a certificate the client does not trust.
const TLS_FIX: &str = "give the CA that signed the server's certificate with --ca-cert FILE (PEM); \
     --insecure skips the check (test servers only: anyone on the path can then read the credentials)";

/// Runs every check against `target`. `options` are the TLS and timeout options the target's
/// client was built with, for the probe's own unauthenticated request.
pub async fn probe(target: &Target, options: &ClientOptions) -> Result<ProbeReport, ProbeError> {
    let mut report = ProbeReport {
        checks: Vec::new(),
        server_version: None,
        unusable: false,
    };
    let url = reqwest::Url::parse(target.client.url()).map_err(|e| ProbeError::Url {
        url: target.client.url().to_owned(),
        reason: e.to_string(),
    })?;
    let Some(host) = url
        .host_str()
        .map(|h| h.trim_matches(['[', ']']).to_owned())
    else {
        return Err(ProbeError::Url {
            url: url.to_string(),
            reason: "it names no host".into(),
        });
    };
    let port = url.port_or_known_default().unwrap_or(443);

    // The server cannot be used: no account is tried.
    let unusable = |mut report: ProbeReport, why: &str| {
        report.unusable = true;
        report.push("login", Status::Skip, format!("no account tried: {why}"));
        Ok(report)
    };
    if !reach(&mut report, &host, port, options.timeout).await {
        return unusable(report, "the server cannot be reached");
    }
    let Some(offered) = schemes(&mut report, target, &url, options).await? else {
        return unusable(report, "the server gave no HTTP answer");
    };
    let logged_in = logins(&mut report, target, &url, &offered).await;
    if logged_in.is_empty() {
        report.unusable = true;
    }
    rights(&mut report, target, &logged_in, options.timeout).await;
    Ok(report)
}

/// The host resolves and accepts a TCP connection. False (with the line saying why) when not.
async fn reach(report: &mut ProbeReport, host: &str, port: u16, timeout: Duration) -> bool {
    let resolved = tokio::time::timeout(timeout, tokio::net::lookup_host((host, port))).await;
    let addrs: Vec<std::net::SocketAddr> = match resolved {
        Ok(Ok(addrs)) => addrs.collect(),
        Ok(Err(e)) => {
            report.push(
                "reach",
                Status::Fail,
                format!("cannot resolve {host}: {e}; check the host in the target file's url"),
            );
            return false;
        }
        Err(_) => {
            report.push(
                "reach",
                Status::Fail,
                format!(
                    "resolving {host} took more than {} s; check DNS",
                    timeout.as_secs()
                ),
            );
            return false;
        }
    };
    let mut last = None;
    for addr in &addrs {
        match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await {
            Ok(Ok(_)) => {
                let resolved = if addr.ip().to_string() == host {
                    String::new()
                } else {
                    format!(" ({addr})")
                };
                report.push(
                    "reach",
                    Status::Ok,
                    format!("{host}:{port} accepts connections{resolved}"),
                );
                return true;
            }
            Ok(Err(e)) => last = Some((addr, Some(e))),
            Err(_) => last = Some((addr, None)),
        }
    }
    let message = match last {
        Some((addr, Some(e))) if e.kind() == std::io::ErrorKind::ConnectionRefused => format!(
            "connection refused at {host}:{port} ({addr}): nothing listens there; check that the \
             server is up and the url's port"
        ),
        Some((addr, Some(e))) => format!(
            "cannot connect to {host}:{port} ({addr}): {e}; check the url and the network path \
             (firewall, proxy)"
        ),
        Some((addr, None)) => format!(
            "no answer from {host}:{port} ({addr}) within {} s: a firewall may be dropping the \
             connection; check the url and the network path",
            timeout.as_secs()
        ),
        None => format!("{host} resolves to no address"),
    };
    report.push("reach", Status::Fail, message);
    false
}

/// An unauthenticated POST: TLS, then the schemes the server's 401 offers. `None` when no HTTP
/// answer came (the line says why); otherwise the schemes offered, empty when the server named
/// none.
async fn schemes(
    report: &mut ProbeReport,
    target: &Target,
    url: &reqwest::Url,
    options: &ClientOptions,
) -> Result<Option<Vec<String>>, ProbeError> {
    let mut builder = reqwest::Client::builder()
        .timeout(options.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .danger_accept_invalid_certs(options.insecure);
    if let Some(path) = &options.ca_cert {
        let pem =
            crate::input::read_bytes(path, crate::limits::MAX_CA_CERT_BYTES, "CA certificate")
                .map_err(|e| ProbeError::Client(e.to_string()))?;
        let cert = reqwest::Certificate::from_pem(&pem).map_err(|e| {
            ProbeError::Client(format!("{}: not a PEM certificate: {e}", path.display()))
        })?;
        builder = builder.add_root_certificate(cert);
    }
    let http = builder
        .build()
        .map_err(|e| ProbeError::Client(format!("cannot build the HTTP client: {e}")))?;
    // The request a login would make, without credentials.
    let owner = target
        .account(Role::Principal)
        .map_or("nobody@example.com", |a| a.address.as_str());
    let post = Post::soap(&inbox_request(target, owner));
    let sent = http
        .post(url.clone())
        .header(CONTENT_TYPE, &post.content_type)
        .body(post.body.clone())
        .send()
        .await;
    let tls = url.scheme() == "https";
    let response = match sent {
        Ok(response) => response,
        Err(e) => {
            let reason = causes(&e);
            let (topic, message) = if e.is_timeout() {
                (
                    "reach",
                    format!(
                        "the server accepted the connection but sent no HTTP answer within {} s",
                        options.timeout.as_secs()
                    ),
                )
            } else if tls && e.is_connect() && reason.to_ascii_lowercase().contains("certificate") {
                (
                    "tls",
                    format!("the server's certificate is not trusted ({reason}): {TLS_FIX}"),
                )
            } else if tls && e.is_connect() {
                (
                    "tls",
                    format!(
                        "the TLS handshake failed ({reason}); if the certificate is the problem, {TLS_FIX}"
                    ),
                )
            } else {
                ("reach", format!("the HTTP exchange broke off: {reason}"))
            };
            report.push(topic, Status::Fail, message);
            return Ok(None);
        }
    };
    if tls {
        report.push(
            "tls",
            Status::Ok,
            if options.insecure {
                "TLS up, certificate NOT checked (--insecure)"
            } else {
                "TLS up, certificate trusted"
            },
        );
    } else {
        report.push(
            "tls",
            Status::Warn,
            "plain http://: no TLS, so credentials cross the network readable and NTLM has no \
             channel binding to give",
        );
    }
    let status = response.status().as_u16();
    let offered = offered_schemes(
        response
            .headers()
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok()),
    );
    let location = response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let listed = if offered.is_empty() {
        "none".to_owned()
    } else {
        offered.join(", ")
    };
    match status {
        401 if offered.is_empty() => report.push(
            "schemes",
            Status::Warn,
            "HTTP 401 without WWW-Authenticate: the server names no scheme",
        ),
        401 => {
            let unoffered: Vec<&str> = target
                .accounts
                .values()
                .map(|a| scheme_of(&a.auth))
                .filter(|s| !offers(&offered, s))
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            if unoffered.is_empty() {
                report.push("schemes", Status::Ok, format!("the server offers {listed}"));
            } else {
                report.push(
                    "schemes",
                    Status::Warn,
                    format!(
                        "the server offers {listed}, not {} which accounts use (see their logins)",
                        unoffered.join(" or ")
                    ),
                );
            }
        }
        300..=399 => report.push(
            "schemes",
            Status::Warn,
            format!(
                "HTTP {status} without credentials, redirecting to {}: ewsconf does not follow \
                 redirects; set url to the EWS endpoint",
                location.as_deref().unwrap_or("nowhere")
            ),
        ),
        404 => report.push(
            "schemes",
            Status::Warn,
            format!(
                "HTTP 404 at {}: nothing there; the EWS endpoint is usually /EWS/Exchange.asmx",
                url.path()
            ),
        ),
        200..=299 => report.push(
            "schemes",
            Status::Warn,
            format!("HTTP {status} without credentials: the server asks for no login"),
        ),
        _ => report.push(
            "schemes",
            Status::Warn,
            format!("HTTP {status} without credentials (a 401 naming its schemes was expected); offered: {listed}"),
        ),
    }
    Ok(Some(offered))
}

/// A GetFolder of `owner`'s Inbox, with the target's `RequestServerVersion`: cheap, and answered
/// the same every time.
fn inbox_request(target: &Target, owner: &str) -> RequestEnvelope {
    RequestEnvelope::new(GetFolder {
        folder_shape: Shape::new(BaseShape::IdOnly),
        folder_ids: vec![folder_of(owner, DistinguishedFolderName::Inbox)],
    })
    .with_headers(RequestHeaders {
        request_server_version: target.version,
        ..RequestHeaders::default()
    })
}

/// How an account's line names it: role, address, and scheme with user name.
fn who(role: Role, account: &Account) -> String {
    match &account.auth {
        Auth::Basic { username, .. } | Auth::Ntlm { username, .. } => format!(
            "{role} {} ({} as {username})",
            account.address,
            scheme_of(&account.auth)
        ),
        Auth::Bearer { .. } => format!("{role} {} (Bearer token)", account.address),
        Auth::App(access) => format!(
            "{role} {} (app-only OAuth, impersonating {})",
            account.address, access.mailbox
        ),
    }
}

/// The scheme an account logs in with, as `WWW-Authenticate` names it.
fn scheme_of(auth: &Auth) -> &'static str {
    match auth {
        Auth::Basic { .. } => "Basic",
        Auth::Bearer { .. } | Auth::App(_) => "Bearer",
        Auth::Ntlm { .. } => "NTLM",
    }
}

/// Whether `scheme` is among `offered` (NTLM also rides on Negotiate, which IIS answers with
/// NTLM when Kerberos is not used).
fn offers(offered: &[String], scheme: &str) -> bool {
    offered.iter().any(|s| {
        s.eq_ignore_ascii_case(scheme) || (scheme == "NTLM" && s.eq_ignore_ascii_case("Negotiate"))
    })
}

/// Logs each account in, one line each, then the server's version. Returns the roles that
/// logged in.
async fn logins(
    report: &mut ProbeReport,
    target: &Target,
    url: &reqwest::Url,
    offered: &[String],
) -> Vec<Role> {
    let mut logged_in = Vec::new();
    let mut ntlm_refused = 0;
    let mut ntlm_accounts = 0;
    for (&role, account) in &target.accounts {
        let is_ntlm = matches!(account.auth, Auth::Ntlm { .. });
        ntlm_accounts += usize::from(is_ntlm);
        let envelope = inbox_request(target, &account.address);
        let result = target.client.call(&account.auth, &envelope).await;
        let name = who(role, account);
        let exchange = match result {
            Ok(exchange) => exchange,
            Err(e @ TargetError::Login { .. }) => {
                ntlm_refused += usize::from(is_ntlm);
                report.push(
                    "login",
                    Status::Fail,
                    format!(
                        "{name}: {e}\nfix: check the account's user name (DOMAIN\\user or \
                         user@domain) and the password in its password_env variable"
                    ),
                );
                continue;
            }
            Err(e) => {
                report.push("login", Status::Fail, format!("{name}: no answer: {e}"));
                continue;
            }
        };
        let envelope = exchange.envelope().ok();
        if report.server_version.is_none() {
            report.server_version = envelope
                .as_ref()
                .and_then(|e| e.server_version_info.clone());
        }
        let codes: Option<Vec<ResponseCode>> = envelope.as_ref().map(|e| match &e.body {
            ResponseBody::Fault(fault) => fault.response_code().into_iter().collect(),
            ResponseBody::Response(r) => r
                .response_messages
                .iter()
                .filter_map(|m| m.response_code)
                .collect(),
        });
        let version = envelope
            .as_ref()
            .and_then(|e| e.server_version_info.as_ref())
            .map_or_else(String::new, |v| format!("; server version {v}"));
        match (exchange.status, codes) {
            (200..=299, Some(codes)) if codes.iter().all(|c| *c == ResponseCode::NoError) => {
                logged_in.push(role);
                report.push(
                    "login",
                    Status::Ok,
                    format!("{name}: logged in, its Inbox opens{version}"),
                );
            }
            (401, None) => {
                report.push(
                    "login",
                    Status::Fail,
                    format!("{name}: HTTP 401: {}", unauthorized(&account.auth, offered)),
                );
            }
            (403, None) => {
                report.push(
                    "login",
                    Status::Fail,
                    format!("{name}: HTTP 403: {FORBIDDEN}"),
                );
            }
            (status, Some(codes)) if !(300..=399).contains(&status) => {
                // An EWS answer: the credentials were accepted, the mailbox was not opened.
                logged_in.push(role);
                let listed: Vec<&str> = codes
                    .iter()
                    .filter(|c| **c != ResponseCode::NoError)
                    .map(|c| c.as_str())
                    .collect();
                report.push(
                    "login",
                    Status::Fail,
                    format!(
                        "{name}: logged in, but GetFolder of its own Inbox answered {} (HTTP \
                         {status}){version}; check that the address is the account's own \
                         mailbox",
                        if listed.is_empty() {
                            "an error".to_owned()
                        } else {
                            listed.join(", ")
                        }
                    ),
                );
            }
            (status, codes) => {
                let failure = SetupFailure::classify(Some(status), codes.as_deref())
                    .unwrap_or(SetupFailure::Malformed);
                report.push(
                    "login",
                    Status::Fail,
                    format!("{name}: HTTP {status}: {}", failure.describe()),
                );
            }
        }
    }
    // One wrong password is likely; every NTLM login refused by a server that offers NTLM
    // points at the channel binding instead, which Extended Protection checks against the
    // certificate Exchange itself presents:
    // https://learn.microsoft.com/en-us/exchange/plan-and-deploy/post-installation-tasks/security-best-practices/exchange-extended-protection
    if ntlm_accounts > 0
        && ntlm_refused == ntlm_accounts
        && url.scheme() == "https"
        && offers(offered, "NTLM")
    {
        report.push(
            "ntlm",
            Status::Fail,
            "every NTLM login was refused: if the passwords are right, Extended Protection is \
             refusing the channel binding. ewsconf binds each login to the certificate it sees; \
             behind a TLS-terminating load balancer or proxy that is not Exchange's, so point \
             url at Exchange itself or keep TLS end to end (see \"Configure Windows Extended \
             Protection in Exchange Server\")",
        );
    }
    match &report.server_version {
        Some(version) => {
            let line = format!("Exchange reports version {version}");
            report.push("server", Status::Ok, line);
        }
        None if !logged_in.is_empty() => {
            report.push(
                "server",
                Status::Warn,
                "no ServerVersionInfo in the answers",
            );
        }
        None => {}
    }
    logged_in
}

/// What a 401 to an account means, given the schemes the server offers, and the fix.
fn unauthorized(auth: &Auth, offered: &[String]) -> String {
    let listed = offered.join(", ");
    match auth {
        Auth::Basic { username, .. } if !offered.is_empty() && !offers(offered, "Basic") => {
            let fix = if offers(offered, "NTLM") {
                "use auth = \"ntlm\" with username = \"DOMAIN\\\\user\" for this account"
            } else if offers(offered, "Bearer") {
                "use an OAuth token (token_env) for this account"
            } else {
                "use one of the schemes it offers"
            };
            format!(
                "the server does not offer Basic (it offers {listed}), so it refused {username}; {fix}"
            )
        }
        Auth::Basic { username, .. } => format!(
            "the server refused the user name or password of {username}; check them (the \
             password is in the account's password_env variable)"
        ),
        Auth::Bearer { .. } if !offered.is_empty() && !offers(offered, "Bearer") => format!(
            "the server does not offer Bearer (OAuth) tokens (it offers {listed}); use \
             password_env with the scheme it offers"
        ),
        Auth::Bearer { .. } => "the server refused the token: it may have expired, be for \
             another resource than https://outlook.office365.com, or lack the EWS permission \
             (EWS.AccessAsUser.All or full_access_as_app); get a new one"
            .to_owned(),
        Auth::Ntlm { username, .. } => format!(
            "the server refused {username} on a logged-in NTLM connection; check the account"
        ),
        Auth::App(_) if !offered.is_empty() && !offers(offered, "Bearer") => format!(
            "the server does not offer Bearer (OAuth) tokens (it offers {listed}); app-only \
             access is for Exchange Online"
        ),
        // https://learn.microsoft.com/en-us/exchange/client-developer/exchange-web-services/how-to-authenticate-an-ews-application-by-using-oauth
        Auth::App(_) => "the server refused the application's token: check that the app \
             registration has the full_access_as_app application permission with admin consent, \
             and that [app] names the tenant's token_url and the scope \
             https://outlook.office365.com/.default"
            .to_owned(),
    }
}

/// What a 403 to a login can mean, and where to look. No answer tells these apart: each is an
/// HTTP 403 with no EWS body, so the probe names them as possibilities.
///
/// - A mailbox or organization with EWS turned off (`EwsEnabled`), or an application refused by
///   `EwsApplicationAccessPolicy`/`EwsAllowList`:
///   <https://learn.microsoft.com/en-us/exchange/client-developer/exchange-web-services/how-to-control-access-to-ews-in-exchange>.
///   A Microsoft engineer on a 403 from EWS in Exchange Online: "403 is policy block, likely an
///   app policy is applied preventing access"
///   (<https://github.com/David-Barrett-MS/PowerShell-EWS-Scripts/issues/62>).
/// - Exchange Online's EWS retirement: from October 2026 a tenant whose `EWSEnabled` was never set
///   is switched off, and only applications on the `EWSAllowedAppIDs` allow list keep EWS
///   (Exchange team blog "Introducing EWSAllowedAppIDs", Message Center MC1015893). Microsoft
///   documents no answer of its own for an application that is not on the list; the probe gives
///   the 403 guidance.
/// - A mailbox licensed only with Exchange Online Kiosk or Microsoft 365/Office 365 F1 or F3: "requests
///   to use EWS without a suitable license will result in a HTTP 403 response" (Message Center
///   MC1191578, "Update to EWS Access for Kiosk / Frontline Worker Licensed Users").
const FORBIDDEN: &str = "the server accepted no EWS request from this account. Possible causes: \
     EWS turned off for the mailbox or the organization (Get-CASMailbox / Get-OrganizationConfig: \
     EwsEnabled), an EWS application policy that refuses this client (EwsApplicationAccessPolicy, \
     EwsAllowList); in Exchange Online also an application that is not on the tenant's EWS allow \
     list (EWSAllowedAppIDs; EWS is off from October 2026 for tenants without one), or a Kiosk, \
     F1 or F3 licence, which carries no EWS rights (HTTP 403 since 2026)";

/// The delegate's rights, as `ewsconf quirk delegate-copy` checks them, then the cleanup of what
/// the check sent.
async fn rights(report: &mut ProbeReport, target: &Target, logged_in: &[Role], timeout: Duration) {
    let (Some(principal), Some(delegate)) = (
        target.account(Role::Principal),
        target.account(Role::Delegate),
    ) else {
        return;
    };
    let cannot = [Role::Principal, Role::Delegate, Role::Recipient]
        .into_iter()
        .filter(|r| !logged_in.contains(r))
        .map(|r| r.to_string())
        .collect::<Vec<_>>();
    if !cannot.is_empty() {
        report.push(
            "rights",
            Status::Skip,
            format!(
                "the delegate's rights not checked: {} cannot log in",
                cannot.join(", ")
            ),
        );
        return;
    }
    let marker = crate::run::new_marker();
    let checked = crate::quirk::check_rights(target, &marker).await;
    let interrupt = crate::run::Interrupt::default();
    let left = crate::run::clean_up(target, &marker, timeout * 4, &interrupt).await;
    let checked = match checked {
        Ok(checked) => checked,
        Err(e) => {
            report.push("rights", Status::Fail, e.to_string());
            return;
        }
    };
    let mut missing = false;
    for p in &checked {
        let (status, detail) = match p.status {
            PreconditionStatus::Held => (Status::Ok, String::new()),
            PreconditionStatus::Missing => {
                missing = true;
                (
                    Status::Fail,
                    format!(": missing ({})", p.reason.as_deref().unwrap_or("refused")),
                )
            }
            PreconditionStatus::Unknown => (
                Status::Fail,
                format!(": unknown ({})", p.reason.as_deref().unwrap_or("no answer")),
            ),
        };
        report.push(
            "rights",
            status,
            format!("delegate may {}{detail}", p.right),
        );
    }
    if missing {
        report.push(
            "rights",
            Status::Fail,
            format!(
                "grant the delegate its rights, e.g. in the Exchange Management Shell:\n{}",
                permission_advice(&principal.address, &delegate.address)
            ),
        );
    }
    if !left.is_clean() {
        report.push("cleanup", Status::Warn, left.summary());
    }
}

/// The causes of a reqwest error, joined: its own message repeats the URL.
fn causes(e: &reqwest::Error) -> String {
    let mut causes = Vec::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        causes.push(s.to_string());
        source = s.source();
    }
    if causes.is_empty() {
        e.to_string()
    } else {
        causes.join(": ")
    }
}

/// The schemes that `WWW-Authenticate` header values offer, in order and without repeats
/// (RFC 9110 section 11.6.1: a value holds one or more comma-separated challenges, each a scheme
/// followed by a token68 or by comma-separated `name=value` parameters).
pub fn offered_schemes<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut schemes: Vec<String> = Vec::new();
    for value in values {
        for element in split_unquoted_commas(value) {
            let element = element.trim();
            let first = element.split_whitespace().next().unwrap_or_default();
            let rest = element[first.len()..].trim_start();
            // `name=value` (or `name = value`) is a parameter of the challenge before it.
            if first.is_empty() || first.contains('=') || rest.starts_with('=') {
                continue;
            }
            if !schemes.iter().any(|s| s.eq_ignore_ascii_case(first)) {
                schemes.push(first.to_owned());
            }
        }
    }
    schemes
}

/// `value` split at the commas outside quoted strings.
fn split_unquoted_commas(value: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                parts.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&value[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_are_read_from_every_challenge_and_not_from_parameters() {
        assert_eq!(
            offered_schemes(["Negotiate", "NTLM"]),
            ["Negotiate", "NTLM"]
        );
        assert_eq!(offered_schemes(["NTLM, Negotiate"]), ["NTLM", "Negotiate"]);
        // Exchange Online's Bearer challenge carries parameters, commas inside quotes included.
        assert_eq!(
            offered_schemes([
                r#"Bearer client_id="00000002-0000-0ff1-ce00-000000000000", trusted_issuers="a,b", token_types="app_asserted_user_v1 service_asserted_app_v1", Basic Realm="""#
            ]),
            ["Bearer", "Basic"]
        );
        assert_eq!(
            offered_schemes([r#"Basic realm = "ewsconf mock", basic"#]),
            ["Basic"]
        );
        assert_eq!(
            offered_schemes(["NTLM TlRMTVNTUAACAAAADAAMADgAAAA="]),
            ["NTLM"]
        );
        assert!(offered_schemes(["", " , "]).is_empty());
    }

    #[test]
    fn a_basic_account_refused_by_a_server_without_basic_is_told_to_use_ntlm() {
        let offered = offered_schemes(["Negotiate", "NTLM"]);
        let message = unauthorized(&Auth::basic("CONTOSO\\boss", "pw"), &offered);
        assert!(
            message.contains("does not offer Basic") && message.contains("auth = \"ntlm\""),
            "{message}"
        );
        let message = unauthorized(&Auth::basic("boss", "pw"), &offered_schemes(["Basic"]));
        assert!(
            message.contains("user name or password of boss"),
            "{message}"
        );
    }

    #[test]
    fn the_verdict_follows_the_worst_line() {
        let mut report = ProbeReport {
            checks: Vec::new(),
            server_version: None,
            unusable: false,
        };
        report.push("reach", Status::Ok, "up");
        report.push("tls", Status::Warn, "plain");
        assert_eq!(report.usability(), Usability::Usable);
        report.push("login", Status::Fail, "one account\nfix: this");
        assert_eq!(report.usability(), Usability::Partly);
        assert!(
            report.render().contains("\n               fix: this\n"),
            "{}",
            report.render()
        );
        report.unusable = true;
        assert_eq!(report.usability(), Usability::Unusable);
    }
}
