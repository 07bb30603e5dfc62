//! The marketplace `bazaar sim` starts for itself when no `--target` is given: a fresh
//! temporary directory, tokens minted for an operator, the sellers and the customers, two
//! payment provider simulators (`bazaar psp`, `primary` and `backup`) and one node (`bazaar
//! serve`) wired to them, all child processes of this executable.
//!
//! Invariants: every process started here is stopped when the [`Embedded`] is dropped, on
//! any path out (an error, Ctrl-C): the node gets SIGTERM and [`STOP_WAIT_MS_MAX`] to
//! snapshot, then SIGKILL; the simulators are killed. The node's log goes to a file in the
//! temporary directory (its last lines are shown if it fails to start), and the directory is
//! removed last.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::Context;
use bazaar_gateway::auth::{Role, mint};

use super::limits::STOP_WAIT_MS_MAX;
use super::world::Tokens;
use crate::process::{serve_until_ready, signal, spawn_psp, wait_exit_within};

/// The node's configuration: one node owning every shard; everything else at its defaults.
const CONFIG: &str = "[cluster]\nshards = 64\n\n[[nodes]]\nid = 1\nhttp = \"127.0.0.1:0\"\n\
    cluster = \"127.0.0.1:0\"\n";

pub struct Embedded {
    node: Option<Child>,
    psps: Vec<Child>,
    /// The node's `http://127.0.0.1:PORT`.
    pub base: String,
    pub tokens: Tokens,
    pub sellers: Vec<String>,
    pub customers: Vec<String>,
    /// Removed when dropped, after the processes are gone.
    dir: tempfile::TempDir,
}

impl Embedded {
    pub fn start(sellers: u32, customers: u32) -> anyhow::Result<Embedded> {
        let exe = std::env::current_exe().context("cannot find this executable")?;
        let dir = tempfile::Builder::new().prefix("bazaar-sim-").tempdir()?;
        let data = dir.path().join("data");
        bazaar_persistence::fsync::create_dir_all(&data)?;
        let token = |role: Role, principal: &str| {
            mint(&data, bazaar_gateway::auth::DEFAULT_TENANT, role, principal)
                .map_err(anyhow::Error::msg)
        };
        let seller_ids: Vec<String> = (1..=sellers).map(|n| format!("sim-seller-{n}")).collect();
        let customer_ids: Vec<String> =
            (1..=customers).map(|n| format!("sim-customer-{n}")).collect();
        let tokens = Tokens {
            operator: token(Role::Operator, "sim-operator")?,
            sellers: seller_ids
                .iter()
                .map(|id| token(Role::Seller, id))
                .collect::<Result<_, _>>()?,
            customers: customer_ids
                .iter()
                .map(|id| token(Role::Customer, id))
                .collect::<Result<_, _>>()?,
        };
        let config = dir.path().join("cluster.toml");
        std::fs::write(&config, CONFIG)?;
        let mut embedded = Embedded {
            node: None,
            psps: Vec::new(),
            base: String::new(),
            tokens,
            sellers: seller_ids,
            customers: customer_ids,
            dir,
        };
        let mut serve = Command::new(&exe);
        serve.arg("serve").arg("--config").arg(&config).arg("--data-dir").arg(&data);
        serve.args(["--listen", "127.0.0.1:0"]);
        for name in ["primary", "backup"] {
            let (child, base) = spawn_psp(&exe, name, &[])?;
            embedded.psps.push(child);
            serve.arg("--psp").arg(format!("{name}={base}"));
        }
        let log = embedded.log_path();
        let stderr = std::fs::File::create(&log)?;
        let child = serve
            .env("RUST_LOG", "warn")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .context("cannot start bazaar serve")?;
        let node = embedded.node.insert(child);
        match serve_until_ready(node) {
            Ok(base) => embedded.base = base,
            Err(error) => {
                let log = std::fs::read_to_string(&log).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(20).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                return Err(error.context(format!("the node's log ends:\n{}", tail.join("\n"))));
            }
        }
        Ok(embedded)
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("serve.log")
    }

    /// Stops the node (SIGTERM, then SIGKILL past the wait) and the simulators.
    pub fn stop(&mut self) {
        if let Some(mut node) = self.node.take() {
            let _ = signal(&node, libc::SIGTERM);
            let limit = Duration::from_millis(STOP_WAIT_MS_MAX);
            if !matches!(wait_exit_within(&mut node, limit), Ok(Some(_))) {
                let _ = node.kill();
                let _ = node.wait();
            }
        }
        for mut psp in self.psps.drain(..) {
            let _ = psp.kill();
            let _ = psp.wait();
        }
    }
}

impl Drop for Embedded {
    fn drop(&mut self) {
        self.stop();
    }
}
