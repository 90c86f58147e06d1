//! The NTLM front (`tests/interop/ntlm_front.py`): an HTTPS front whose NTLM acceptor is Python's
//! pyspnego, holding every default account as `EXAMPLE\user` with an NTLM password of its own,
//! requiring a channel binding as Exchange's Extended Protection does, and forwarding logged-in
//! requests to an EWS endpoint with Basic.

use std::path::{Path, PathBuf};

use ewsconf::accounts::{DEFAULT_ACCOUNTS, DEFAULT_PASSWORD};

use super::front::{self, Front};
use super::installs;

/// pyspnego, pinned, so that what the front relies on (its message classes, the acceptor's
/// checks) stays.
pub const PYSPNEGO: &str = "pyspnego==0.12.4";

/// The NetBIOS domain of the NTLM accounts.
pub const DOMAIN: &str = "EXAMPLE";

/// The NTLM password of a mock account's user: a canary that must never reach an output. The
/// front logs in to the mock with the mock's own password instead.
pub fn ntlm_password(user: &str) -> String {
    format!("ntlm-canary-{user}-Pa55!")
}

/// The user part of a default account's address.
pub fn user_of(address: &str) -> &str {
    address.split('@').next().unwrap_or(address)
}

/// The venv's python with pyspnego (and the `cryptography` it depends on) in it, installed
/// once per target dir; `None` (as [`installs::venv_python`] decides, for `test`) where it
/// cannot be installed.
pub fn pyspnego_python(test: &str) -> Option<PathBuf> {
    installs::venv_python(test, "pyspnego-venv", PYSPNEGO, installs::PYTHON_HINT)
}

/// How the front is set up.
#[derive(Default)]
pub struct FrontOptions {
    /// Expect the binding of a certificate other than the one served.
    pub bind_to_other_cert: bool,
    /// Close each connection after this many logged-in requests (0: never).
    pub requests_per_connection: usize,
}

/// Starts `ntlm_front.py` with `python`, forwarding to `upstream` (the mock's default directory,
/// reached with its password), with pyspnego's credential file holding every default account
/// (as `EXAMPLE\user` with its NTLM password).
pub fn start(python: &Path, upstream: &str, options: &FrontOptions) -> Front {
    let (dir, mut command) = front::command(python, "ntlm_front.py");
    let users: String = DEFAULT_ACCOUNTS
        .iter()
        .map(|a| {
            let user = user_of(a.address);
            format!("{DOMAIN}:{user}:{}\n", ntlm_password(user))
        })
        .collect();
    let user_file = dir.path().join("ntlm-users");
    std::fs::write(&user_file, users).expect("the credential file");
    command
        .args(["--upstream", upstream, "--upstream-domain", "example.com"])
        .args(["--upstream-password-env", "UPSTREAM_PASSWORD"])
        .args([
            "--requests-per-connection",
            &options.requests_per_connection.to_string(),
        ])
        .env("NTLM_USER_FILE", &user_file)
        .env("UPSTREAM_PASSWORD", DEFAULT_PASSWORD);
    if options.bind_to_other_cert {
        command.arg("--bind-to-other-cert");
    }
    Front::start(dir, command)
}
