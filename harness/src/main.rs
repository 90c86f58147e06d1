//! The `ewsconf` command line: validate documents, run the reference mock, and (as the suite
//! grows) run cases against a target.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};

use ewsconf::mock::{Directory, MockConfig, MockServer, Profile};
use ewsconf::schema::{SchemaSet, XmlErrorKind};

/// Exit codes, stable across releases.
mod exit {
    /// Everything conformed (pass, quirk or skip), or every file was valid.
    pub const OK: u8 = 0;
    /// At least one conformance failure, harness error or invalid document.
    pub const FAILURES: u8 = 1;
    /// The command line, a case file, a target file or a schema directory is wrong.
    pub const USAGE: u8 = 2;
    /// The target could not be reached at all.
    pub const UNREACHABLE: u8 = 3;
}

#[derive(Parser)]
#[command(
    name = "ewsconf",
    version,
    about = "Conformance harness for the Exchange Web Services SendItem operation"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate SOAP envelopes or bare EWS bodies against the EWS schema.
    Validate {
        /// Files to validate.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Validate against a server's own messages.xsd and types.xsd in this folder instead of
        /// the project's schemas.
        #[arg(long, value_name = "DIR")]
        schema_dir: Option<PathBuf>,
    },
    /// Run the reference mock EWS server until interrupted.
    Mock {
        /// Address to listen on; loopback unless told otherwise.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Behaviour: `documented` (Exchange's documented quirks) or `intended`.
        #[arg(long, default_value = "documented")]
        profile: Profile,
        /// Accounts and rights (TOML); the documented defaults when absent.
        #[arg(long, value_name = "FILE")]
        users: Option<PathBuf>,
        /// Delay before sent mail is delivered, in milliseconds.
        #[arg(long, default_value_t = 0, value_name = "N")]
        delivery_delay_ms: u64,
        /// Largest request body accepted, in bytes; larger ones get 413.
        #[arg(long, default_value_t = ewsconf::mock::DEFAULT_MAX_BODY_BYTES, value_name = "N")]
        max_body_bytes: usize,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Validate { files, schema_dir } => validate(&files, schema_dir.as_deref()),
        Command::Mock {
            listen,
            profile,
            users,
            delivery_delay_ms,
            max_body_bytes,
        } => mock(
            listen,
            profile,
            users.as_deref(),
            delivery_delay_ms,
            max_body_bytes,
        ),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("ewsconf: {e:#}");
            ExitCode::from(exit::USAGE)
        }
    }
}

fn validate(files: &[PathBuf], schema_dir: Option<&Path>) -> anyhow::Result<u8> {
    let owned;
    let schemas: &SchemaSet = match schema_dir {
        Some(dir) => {
            owned = SchemaSet::from_dir(dir)
                .with_context(|| format!("loading schemas from {}", dir.display()))?;
            &owned
        }
        None => SchemaSet::embedded().context("compiling the embedded schemas")?,
    };
    let mut code = exit::OK;
    for file in files {
        let shown = file.display();
        let too_large = std::fs::metadata(file)
            .map(|m| m.len() > schemas.limits().max_bytes as u64)
            .unwrap_or(false);
        if too_large {
            println!(
                "{shown}:1:1: document is larger than {} bytes",
                schemas.limits().max_bytes
            );
            code = code.max(exit::FAILURES);
            continue;
        }
        let bytes = match std::fs::read(file) {
            Ok(bytes) => bytes,
            Err(e) => {
                eprintln!("{shown}: cannot read: {e}");
                code = exit::USAGE;
                continue;
            }
        };
        let validation = schemas.validate(&bytes);
        if validation.errors.is_empty() {
            println!("{shown}: OK");
            continue;
        }
        code = code.max(exit::FAILURES);
        for e in &validation.errors {
            let kind = match e.kind {
                XmlErrorKind::Schema => "schema",
                XmlErrorKind::NotWellFormed => "not well-formed",
                XmlErrorKind::Doctype => "doctype",
                XmlErrorKind::TooLarge => "too large",
                XmlErrorKind::TooDeep => "too deep",
                XmlErrorKind::Internal => "internal",
            };
            println!("{shown}:{}:{}: {kind}: {}", e.line, e.column, e.message);
        }
    }
    Ok(code)
}

fn mock(
    listen: SocketAddr,
    profile: Profile,
    users: Option<&Path>,
    delivery_delay_ms: u64,
    max_body_bytes: usize,
) -> anyhow::Result<u8> {
    let directory = match users {
        Some(path) => Directory::load(path)?,
        None => Directory::documented_defaults(),
    };
    let accounts = directory.describe();
    let config = MockConfig {
        profile,
        directory,
        delivery_delay: Duration::from_millis(delivery_delay_ms),
        max_body_bytes,
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let server = match MockServer::bind(config, listen).await {
            Ok(server) => server,
            Err(e) => {
                eprintln!("ewsconf: {e}");
                return Ok(exit::UNREACHABLE);
            }
        };
        if !server.addr().ip().is_loopback() {
            eprintln!(
                "warning: the mock listens on {}, reachable from other machines",
                server.addr()
            );
        }
        println!("ewsconf mock ({profile}) at {}", server.url());
        println!("accounts:");
        for line in accounts {
            println!("  {line}");
        }
        println!("Ctrl-C stops it.");
        tokio::signal::ctrl_c()
            .await
            .context("waiting for Ctrl-C")?;
        server.shutdown().await;
        Ok(exit::OK)
    })
}
