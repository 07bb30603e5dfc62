//! `bazaar serve`: lock the data directory, recover, serve, and on SIGTERM or Ctrl-C stop
//! taking requests, finish those in flight, snapshot every active entity, sync, exit 0.
//!
//! The node itself is [`bazaar::node`]'s, the one assembly the benches and tests start too;
//! this file keeps what belongs to the process: the configuration file and the command line,
//! the data directory's lock, the process-global metrics recorder, the signals, and the
//! lines printed on stdout (the listening address, the first start's tokens note, "ready"),
//! which scripts and the tests read.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};
use bazaar::node::{Node, NodeConfig, NodeJournal};
use bazaar_engine::{EngineConfig, NodeId};

use crate::ServeArgs;
use crate::config::ClusterFile;

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let file = ClusterFile::read(&args.config)?;
    let node = file.node(args.node)?.clone();
    // Taken before anything in the directory is touched, so a second `serve` changes nothing.
    let _lock = lock_data_dir(&args.data_dir)?;
    let metrics = bazaar::node::install_metrics()?;
    let mut payments = file.payments.clone();
    if !args.psp.is_empty() {
        payments.providers = args.psp.clone();
    }
    let master_key = file.pii.master_key()?;
    let generated_key = master_key.is_none().then(|| args.data_dir.join("pii").join("master.key"));
    let config = NodeConfig {
        listen: args.listen.unwrap_or(node.http),
        data_dir: args.data_dir.clone(),
        journal: NodeJournal::Sled(file.journal_config(args.data_dir.join("journal"))),
        engine: EngineConfig { node: NodeId(node.id), ..file.engine.clone() },
        table: file.shard_table(),
        gateway: file.gateway.clone(),
        pricing: file.pricing.clone(),
        payments,
        checkout: file.checkout.clone(),
        catalog: file.catalog.clone(),
        sellers: file.sellers,
        returns: file.returns.clone(),
        notifications: file.notifications.clone(),
        shipping: file.shipping.clone(),
        master_key,
        metrics,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        // Installed first, so that a signal during recovery still ends in a clean stop.
        let stop_requested = crate::shutdown_signal()?;
        // Health answers while recovery runs; the API and readiness only after.
        let starting = Node::listen(config).await?;
        println!("bazaar node {} listening on http://{}", node.id, starting.address());
        let running = starting
            .recover_with(|tokens| {
                let tokens = tokens.display();
                println!("first start: one bearer token per role written to {tokens} (mode 0600)");
                if let Some(key) = generated_key.as_ref().filter(|key| key.exists()) {
                    let key = key.display();
                    println!(
                        "first start: the master key of customers' personal data is {key} \
                         (mode 0600): keep a copy apart from the data directory"
                    );
                }
            })
            .await?;
        println!("bazaar node {} ready", node.id);
        stop_requested.await;
        running.stop().await
    })
}

/// Holds `DIR/LOCK` for as long as the returned file lives.
fn lock_data_dir(dir: &Path) -> anyhow::Result<File> {
    bazaar_persistence::fsync::create_dir_all(dir)
        .with_context(|| format!("cannot create data directory {}", dir.display()))?;
    let path = dir.join("LOCK");
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let holder = std::fs::read_to_string(&path).unwrap_or_default();
            bail!(
                "data directory {} is in use by another bazaar process ({}); stop it or choose another --data-dir",
                dir.display(),
                holder.trim()
            );
        }
        Err(TryLockError::Error(error)) => {
            return Err(error).context("cannot lock the data directory");
        }
    }
    file.set_len(0)?;
    write!(file, "pid {}", std::process::id())?;
    file.sync_data()?;
    Ok(file)
}
