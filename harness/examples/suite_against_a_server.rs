//! Runs the whole conformance suite against an EWS server from that server's own tests, and
//! fails when it does not conform. Here the server is ewsconf's mock; put yours in its place.

use ewsconf::accounts::{DEFAULT_ACCOUNTS, DEFAULT_DOMAIN, DEFAULT_PASSWORD};
use ewsconf::{Account, ClientOptions, MockConfig, MockServer, Target};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = MockServer::start(MockConfig::default()).await?;
    let mut target =
        Target::at(server.url(), &ClientOptions::default())?.with_unknown_domain(DEFAULT_DOMAIN);
    for a in DEFAULT_ACCOUNTS {
        target = target.with_account(a.role, Account::basic(a.address, DEFAULT_PASSWORD));
    }
    let cases = ewsconf::load_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../cases").as_ref())?;
    let summary = ewsconf::run_suite(&target, &cases).await?;
    print!("{}", ewsconf::report::terminal::summary(&summary, false));
    server.shutdown().await;
    if !summary.conforms() {
        return Err("the server does not conform".into());
    }
    Ok(())
}
