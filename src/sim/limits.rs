//! Every bound of `bazaar sim`, in one place: what a scenario may ask for, and what the
//! simulator holds in memory or in flight while it runs.

/// Longest run, in seconds (a day).
pub const DURATION_S_MAX: u64 = 86_400;
/// Highest rate a scenario may ask for, requests per second, peaks included.
pub const RATE_PER_S_MAX: f64 = 100_000.0;
/// Most requests one run may plan: the plan is held in memory (about 32 bytes each).
pub const PLANNED_REQUESTS_MAX: usize = 20_000_000;
/// Most products, sellers and customers a scenario may ask for.
pub const PRODUCTS_MAX: u32 = 100_000;
pub const SELLERS_MAX: u32 = 1_000;
pub const CUSTOMERS_MAX: u32 = 100_000;
/// Most offers of one product (sellers competing for its buy box).
pub const OFFERS_PER_PRODUCT_MAX: u32 = 8;
/// Most lines of one inventory feed the simulator sends.
pub const FEED_LINES_MAX: u32 = 1_000;
/// Most search result pages a search may ask for.
pub const SEARCH_PAGES_MAX: u32 = 20;
/// Most drills in a scenario.
pub const DRILLS_MAX: usize = 64;
/// Most lines a browsing cart gets before its customer starts another.
pub const BROWSING_CART_LINES_MAX: usize = 5;

/// Most requests in flight at once (open loop). Past it, the scheduler waits, and the wait
/// shows as schedule lag in the report: the simulator never hides that it fell behind.
pub const IN_FLIGHT_MAX: usize = 20_000;
/// Most closed-loop clients.
pub const CLIENTS_MAX: u32 = 10_000;
/// How long one request may take before it counts as a `timeout` error, in ms.
pub const REQUEST_TIMEOUT_MS_MAX: u64 = 10_000;
/// Most buy-box probes running at once; a price update past it is not probed.
pub const BUY_BOX_PROBES_MAX: usize = 64;
/// How long a buy-box probe polls for the new winner before it counts as missed, in ms.
pub const BUY_BOX_WAIT_MS_MAX: u64 = 5_000;
/// Requests the setup and the audit send at once.
pub const SETUP_CONCURRENCY_MAX: usize = 16;
/// How long the audit waits for the ledger to reconcile with the providers, in ms.
pub const RECONCILE_WAIT_MS_MAX: u64 = 30_000;
/// How long setup waits for the catalogue to show in product reads and search, in ms.
pub const SETTLE_WAIT_MS_MAX: u64 = 60_000;
/// Failures an audit check lists in its detail; it counts the rest.
pub const AUDIT_FAILURES_SHOWN_MAX: usize = 5;
/// How long a child process is given to stop after SIGTERM, in ms (a node snapshots).
pub const STOP_WAIT_MS_MAX: u64 = 30_000;

const _: () = assert!(BROWSING_CART_LINES_MAX <= 100, "a cart holds at most 100 lines");
const _: () = assert!(BUY_BOX_PROBES_MAX <= IN_FLIGHT_MAX);
