//! The `bazaar` library: [`node`], the one assembly of a node (journal, engine, read models,
//! order side, gateway and HTTP, the ordered stop) that `bazaar serve` (`src/main.rs`), the
//! benches and the tests all start; [`sim`], the load tester (`bazaar sim`); [`process`], the
//! executable's child processes started and awaited; and, behind the `testkit` feature,
//! [`testkit`]: those processes for tests and benches, every failure a panic.

pub mod node;
pub mod process;
pub mod sim;
#[cfg(feature = "testkit")]
pub mod testkit;
