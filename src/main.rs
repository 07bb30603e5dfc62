//! The `bazaar` binary: wiring only. `serve` runs a node; the domain, engine and storage live
//! in the workspace's crates.

mod config;
mod serve;

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

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
}

fn main() -> std::process::ExitCode {
    init_tracing();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve::run(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Logs to stderr, filtered by `RUST_LOG` (default `info`).
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}
