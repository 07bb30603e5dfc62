//! Every bound of the services, in one place: how much memory a read model or a signal keeps,
//! how hard a background loop retries.

/// Longest payment provider name (recorded on every authorization, capture and refund).
pub const PROVIDER_NAME_BYTES_MAX: usize = 64;

/// Entities sent `ExpireDue` at once, at most.
pub const EXPIRY_ASKS_MAX: usize = 64;

/// Longest sleep of the driver between looks at the schedule (a guard against a clock that
/// jumps; a new earliest entry wakes it at once).
pub const EXPIRY_SLEEP_MS_MAX: u64 = 1_000;

/// Attempts of one job before it is dropped with an error log (a later change re-queues it).
pub const FLOW_ATTEMPTS_MAX: u32 = 6;

pub const FLOW_BACKOFF_MS_MAX: u64 = 2_000;

/// Flow jobs running at once: enough that a large feed's product writes share their syncs.
pub const FLOW_IN_FLIGHT_MAX: usize = 256;

/// Bytes of product views the catalogue keeps in memory by default (`[catalog]
/// product_view_cache_bytes`, `catalog/views.rs`); the rest are read from the journal when
/// asked for.
pub const PRODUCT_VIEW_CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// The most `[catalog] product_view_cache_bytes` may be.
pub const PRODUCT_VIEW_CACHE_BYTES_MAX: u64 = 64 * 1024 * 1024 * 1024;

const _: () = assert!(PRODUCT_VIEW_CACHE_BYTES <= PRODUCT_VIEW_CACHE_BYTES_MAX);

/// A product view of an average size: how many entries that cache sizes its table for.
pub const PRODUCT_VIEW_BYTES_TYPICAL: u64 = 2_048;

/// Index rows read in one page of a prefix scan (a seller's products, the start-up's
/// reconciliation and search catch-up).
pub const INDEX_PAGE_ROWS: usize = 1_024;

/// The most `[checkout] running_max` may be, and its default: sagas running at once in one
/// process (each a runner task and its watch).
pub const SAGAS_RUNNING_MAX: usize = 262_144;

/// Saga rows read in one page of the start's scan for unfinished checkouts.
pub const SAGA_PAGE_ROWS: usize = 256;

/// Most timestamps one key remembers; its count saturates there.
pub const FRAUD_ATTEMPTS_PER_KEY_MAX: usize = 1_000;

/// Most keys tracked at once, over all tenants and signals.
pub const FRAUD_KEYS_MAX: usize = 200_000;

/// Most order summaries kept per customer, newest first.
pub const ORDERS_PER_CUSTOMER_MAX: usize = 1_000;

/// Most candidates a product keeps in each recommendation list ("bought together", "also
/// bought"); past it the least counted makes room (`orders/recommendations.rs`).
pub const RECOMMENDATION_CANDIDATES_MAX: usize = 32;

/// Most of a customer's products remembered for "also bought", the newest.
pub const CUSTOMER_PRODUCTS_MAX: usize = 32;

/// Most distinct products of one order learnt from (the first ones): bounds the work of
/// learning, which runs on the journal's callback thread.
pub const ORDER_PRODUCTS_LEARNT_MAX: usize = 16;

/// Bytes of recommendation lists and customers' products kept in memory, in all.
pub const RECOMMENDATIONS_BYTES: u64 = 96 * 1024 * 1024;

/// Fewest orders (or customers) a pair must have been seen in to be recommended: a pair
/// seen once would tell anyone what one shopper bought.
pub const RECOMMENDATION_SUPPORT_MIN: u32 = 2;

/// Most orders kept per seller, newest first.
pub const ORDERS_PER_SELLER_MAX: usize = 10_000;

/// Rounds of a background void (each a full call with its retries) before giving up with a
/// warning; rounds are a breaker-open period apart, so each gets a half-open probe.
pub const BACKGROUND_VOID_ROUNDS_MAX: u32 = 5;

/// Customers' data keys kept unwrapped in memory (about 100 bytes each); the others are read
/// from their files and unwrapped again on use.
pub const PII_KEYS_CACHED_MAX: usize = 100_000;

/// Outbox rows read per page when a start kicks the orders with undelivered notices.
pub const OUTBOX_PAGE_ROWS: usize = 1_024;

/// Most rounds the reserve step spends sourcing one line: each places a part or learns
/// what one location really has (the stock index may lag behind it).
pub const SOURCING_ROUNDS_MAX: usize = 16;

/// Most entries in `[catalog] required_attributes` (categories and attribute names).
pub const REQUIRED_ATTRIBUTE_ENTRIES_MAX: usize = 10_000;
