//! The `bazaar` library: [`node`], the one assembly of a node (journal, engine, read models,
//! order side, gateway and HTTP, the ordered stop) that `bazaar serve` (`src/main.rs`), the
//! benches and the tests all start; [`sim`], the load tester (`bazaar sim`); and, behind the `testkit` feature, [`testkit`]: the
//! `bazaar` executable's processes (`serve`, `psp`, `token add`) for tests and benches.

pub mod node;
pub mod sim;
#[cfg(feature = "testkit")]
pub mod testkit;
