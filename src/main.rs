//! The `bazaar` binary: the command line. `serve` runs a node (assembled by the library's
//! `bazaar::node`), `sim` the load tester (`bazaar::sim`); the domain, engine and storage live in the workspace's crates.

mod carrier;
mod config;
mod psp;
mod reconcile;
mod serve;
mod simulator;

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// See the dependency's comment in `Cargo.toml`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "bazaar",
    version,
    about = "An actor-based, sharded, in-memory marketplace engine"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs a node: recovers from the journal, then serves HTTP until SIGTERM or Ctrl-C.
    Serve(ServeArgs),
    /// Manages bearer tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Runs a payment provider simulator (in memory) until SIGTERM or Ctrl-C.
    ///
    /// A test tool: it moves no real money, and PUT /admin/knobs takes no token, so that a
    /// load test can change latency, declines, errors and outages from a script. Anyone who
    /// can reach it can do the same: listen on loopback or a test network only.
    Psp(psp::PspArgs),
    /// Runs a parcel carrier simulator (in memory) until SIGTERM or Ctrl-C: it sells labels
    /// and posts each parcel's tracking events, signed, to the label's callback on a schedule.
    ///
    /// A test tool that takes no token: listen on loopback or a test network only.
    Carrier(carrier::CarrierArgs),
    /// Compares the payment providers' settlement reports with a running node's ledger and
    /// lists every mismatch (exit 1 when there is any).
    Reconcile(reconcile::ReconcileArgs),
    /// Load-tests a marketplace: a scenario's load (open loop, or closed with --clients), a
    /// report per operation, SLO verdicts and an audit through the API. Without --target it
    /// starts its own node and two payment simulators. Exit 0: every SLO and check passed;
    /// 1: one failed (the reason printed); 2: a usage or scenario error.
    Sim(bazaar::sim::SimArgs),
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Mints a token, appends its SHA-256 to DATA_DIR/credentials.toml and prints the token
    /// (the only time it is shown). A running node reads credentials at start.
    Add {
        #[arg(long, default_value = "./data")]
        data_dir: PathBuf,
        #[arg(long, default_value = bazaar_gateway::auth::DEFAULT_TENANT)]
        tenant: String,
        /// customer, seller, support or operator.
        #[arg(long)]
        role: String,
        /// The customer id, seller id or agent name the token stands for.
        #[arg(long)]
        principal: String,
    },
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The cluster configuration.
    #[arg(long, default_value = "cluster.toml")]
    config: PathBuf,
    /// Where this node keeps its journal; one process per directory.
    #[arg(long, default_value = "./data")]
    data_dir: PathBuf,
    /// Where the HTTP gateway listens (port 0 picks a free one, printed at start) [default:
    /// the node's `http` address in the configuration, 127.0.0.1:8080 in cluster.toml].
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Which node of the configuration this process is (default: the first listed).
    #[arg(long)]
    node: Option<u32>,
    /// A payment provider as NAME=URL, in preference order (repeat for the backup); replaces
    /// the `[payments]` providers of the configuration.
    #[arg(long = "psp", value_parser = parse_provider)]
    psp: Vec<bazaar_services::payments::ProviderConfig>,
}

fn parse_provider(text: &str) -> Result<bazaar_services::payments::ProviderConfig, String> {
    let (name, url) =
        text.split_once('=').ok_or("expected NAME=URL, e.g. primary=http://127.0.0.1:9101")?;
    Ok(bazaar_services::payments::ProviderConfig {
        name: name.to_owned(),
        url: url.trim_end_matches('/').to_owned(),
    })
}

fn main() -> std::process::ExitCode {
    init_tracing();
    let cli = Cli::parse();
    let cli = match cli.command {
        Command::Sim(args) => return std::process::ExitCode::from(bazaar::sim::run(args)),
        command => Cli { command },
    };
    let result = match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Token(TokenCommand::Add { data_dir, tenant, role, principal }) => {
            token_add(&data_dir, &tenant, &role, &principal)
        }
        Command::Psp(args) => psp::run(args),
        Command::Carrier(args) => carrier::run(args),
        Command::Reconcile(args) => reconcile::run(args),
        Command::Sim(_) => unreachable!("bazaar sim returned above"),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn token_add(
    data_dir: &std::path::Path,
    tenant: &str,
    role: &str,
    principal: &str,
) -> anyhow::Result<()> {
    use bazaar_gateway::auth::{Role, mint};
    let role = Role::ALL.into_iter().find(|r| r.as_str() == role).ok_or_else(|| {
        anyhow::anyhow!("unknown role {role:?}: customer, seller, support or operator")
    })?;
    if !bazaar_actors::keys::is_tenant(tenant) {
        anyhow::bail!("tenant {tenant:?} must be 1 to 32 of a-z 0-9 - _");
    }
    bazaar_persistence::fsync::create_dir_all(data_dir)?;
    let token = mint(data_dir, tenant, role, principal).map_err(anyhow::Error::msg)?;
    println!("{token}");
    Ok(())
}

/// Logs to stderr, filtered by `RUST_LOG` (default `info`), in colour only on a terminal (and
/// never with `NO_COLOR` set): a file or a pipe gets plain text.
fn init_tracing() {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let colour = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .init();
}

/// A future that resolves on SIGTERM or Ctrl-C (SIGINT); the handlers are installed at once.
pub(crate) fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use anyhow::Context;
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("cannot install the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot install the SIGINT handler")?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}
