//! `bazaar serve` for the black-box tests: the test kit's processes (`bazaar::testkit`, which
//! the benches start too) with the repository's `cluster.toml`, and `bazaar token add` run
//! beside them.

use std::path::{Path, PathBuf};
use std::process::Command;

use bazaar::testkit::Bazaar;
pub use bazaar::testkit::{Server, ServerLog, initial_tokens, wait_exit};

/// The repository root (where `cluster.toml` lives).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `bazaar` executable cargo built for these tests.
pub fn bazaar() -> Bazaar {
    Bazaar::at(env!("CARGO_BIN_EXE_bazaar"))
}

/// `bazaar serve` on `data_dir`, port 0, the repository's cluster.toml, `RUST_LOG=warn`: start
/// it with [`Server::start`] or [`Server::start_logging`].
pub fn serve_command(data_dir: &Path) -> Command {
    serve_command_with(data_dir, &[])
}

/// [`serve_command`] with more arguments after the usual ones (for instance `--psp NAME=URL`).
pub fn serve_command_with(data_dir: &Path, args: &[String]) -> Command {
    bazaar().serve(&shipped_config(), data_dir, args)
}

/// The repository's `cluster.toml`, which every test's node runs with unless it says.
pub fn shipped_config() -> PathBuf {
    root().join("cluster.toml")
}

/// The shipped configuration with each `(knob, value)` set in place (each knob must be a line
/// of it), written as `dir/cluster.toml`.
pub fn config_with(dir: &Path, knobs: &[(&str, String)]) -> PathBuf {
    let mut config = std::fs::read_to_string(shipped_config()).unwrap();
    for (knob, value) in knobs {
        let prefix = format!("{knob} = ");
        let line = config.lines().find(|line| line.starts_with(&prefix)).expect("a shipped knob");
        config = config.replace(line, &format!("{prefix}{value}"));
    }
    let path = dir.join("cluster.toml");
    std::fs::write(&path, config).unwrap();
    path
}

/// `bazaar token add`: mints a token of the default tenant for `principal` and returns it.
/// A running `serve` reads credentials only at start, so mint before starting it; and a
/// first start generates the initial tokens only when no credential exists yet.
pub fn mint_token(data_dir: &Path, role: &str, principal: &str) -> String {
    bazaar().mint_token(data_dir, role, principal)
}
