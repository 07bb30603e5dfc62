//! The black-box tests: a real `bazaar serve` (and payment simulators) driven over real HTTP
//! on loopback; where a test must choose what a process cannot be told (an in-memory journal
//! that never flushes, in `engine_failures.rs`), the same node in this process
//! (`bazaar::node::Node`), still over real HTTP. One test binary for all of them, so the
//! workspace links the server's whole dependency tree into one test executable instead of one
//! per file (disk and link time on CI).

mod support;

mod audit;
mod bad_input;
mod bodies;
mod buy_box;
mod cancellation;
mod carts;
mod chargebacks;
mod checkout;
mod checkout_crash;
mod checkout_payments;
mod contract;
mod customer_service;
mod engine_failures;
mod fulfilment;
mod input;
mod listings;
mod new_user;
mod notifications;
mod power_loss;
mod privacy;
mod psp;
mod recommendations;
mod regressions;
mod restart;
mod returns;
mod search_api;
mod security;
mod seller_cancellations;
mod seller_isolation;
mod serve;
mod sim;
mod small_memory;
mod stock;
mod stopping;
mod three_d_secure;
mod tracking;
