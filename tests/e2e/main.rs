//! The black-box tests: a real `bazaar serve` (and payment simulators) driven over real HTTP
//! on loopback. One test binary for all of them, so the workspace links the server's whole
//! dependency tree into one test executable instead of one per file (disk and link time on CI).

mod support;

mod audit;
mod bad_input;
mod bodies;
mod buy_box;
mod cancellation;
mod carts;
mod checkout;
mod checkout_crash;
mod checkout_payments;
mod contract;
mod input;
mod new_user;
mod power_loss;
mod psp;
mod regressions;
mod restart;
mod search_api;
mod security;
mod seller_isolation;
mod serve;
mod stock;
mod stopping;
