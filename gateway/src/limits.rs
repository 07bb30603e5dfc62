//! Every bound of the gateway, in one place.

/// Largest request body accepted (413 past it).
pub const BODY_BYTES_MAX: usize = 1024 * 1024;

/// Largest NDJSON inventory feed body.
pub const FEED_BODY_BYTES_MAX: usize = 16 * 1024 * 1024;

/// Largest NDJSON listings feed body: 100,000 lines of about 600 bytes (a document and an
/// offer each).
pub const LISTINGS_FEED_BODY_BYTES_MAX: usize = 64 * 1024 * 1024;

/// Most lines one feed (inventory or listings) may carry.
pub const FEED_LINES_MAX: usize = 100_000;

/// Longest URL (path and query) accepted (414 past it). Far below the 64 KiB past which the
/// HTTP parser itself refuses a request line.
pub const URI_BYTES_MAX: usize = 8 * 1024;

/// Most bytes of refused lines one feed's answer lists (the rest are counted): a feed's
/// answer stays storable under an `Idempotency-Key` however long the feed.
pub const FEED_REFUSALS_BYTES_MAX: usize = 192 * 1024;

/// Longest detail of a refused feed line (a parse error may quote the line).
pub const FEED_DETAIL_BYTES_MAX: usize = 200;

/// Longest an `Idempotency-Key` may be.
pub const IDEMPOTENCY_KEY_BYTES_MAX: usize = 128;

/// Largest answer stored for replay under an `Idempotency-Key`.
pub const IDEMPOTENT_BODY_BYTES_MAX: usize = 256 * 1024;

/// Longest a request may run before it is answered 503 (and how long its idempotency lease
/// lasts: a request older than this is dead).
pub const REQUEST_TIMEOUT_MS: u64 = 10_000;

/// The same for a bulk feed (inventory or listings): its lines are applied one by one, about
/// 10,000 a second on a busy two-core node, so a feed of `FEED_LINES_MAX` lines takes about
/// 10 s; this leaves room for a node several times slower.
pub const FEED_TIMEOUT_MS: u64 = 120_000;

/// How long an audit record is retried while the engine is overloaded or slow, after the
/// change it records was made; past it the record is given up, loudly.
pub const AUDIT_RETRY_MS_MAX: u64 = 30_000;

/// Longest response head hyper writes for its own error answers (a status line, `date`,
/// `content-length`, `connection`): anything longer is not one.
pub const SHORT_HEAD_BYTES_MAX: usize = 512;

/// Longest client request id echoed back.
pub const CLIENT_REQUEST_ID_BYTES_MAX: usize = 128;

/// Largest product page cache (`[gateway] product_page_cache_bytes`); 0 turns it off.
pub const PRODUCT_PAGE_CACHE_BYTES_MAX: u64 = 64 * 1024 * 1024 * 1024;

/// Lines of one feed applied at once, at most.
pub const FEED_CONCURRENCY_MAX: usize = 64;

/// Longest principal name a token stands for (a customer id, a seller id, an agent's name).
pub const PRINCIPAL_BYTES_MAX: usize = 64;

// Every principal's name fits as the author of a note on an order.
const _: () = assert!(PRINCIPAL_BYTES_MAX <= bazaar_actors::limits::NOTE_AUTHOR_BYTES_MAX);

const _: () = assert!(FEED_BODY_BYTES_MAX >= BODY_BYTES_MAX);
const _: () = assert!(FEED_TIMEOUT_MS >= REQUEST_TIMEOUT_MS);
const _: () = assert!(LISTINGS_FEED_BODY_BYTES_MAX >= FEED_BODY_BYTES_MAX);
const _: () = assert!(IDEMPOTENT_BODY_BYTES_MAX <= BODY_BYTES_MAX);
// A feed's answer: its refused lines and a few counters.
const _: () = assert!(FEED_REFUSALS_BYTES_MAX + 1024 <= IDEMPOTENT_BODY_BYTES_MAX);

/// Most products in each list of a product's recommendations (`limit`, default
/// [`RECOMMENDATIONS_DEFAULT`]).
pub const RECOMMENDATIONS_MAX: u32 = 20;

pub const RECOMMENDATIONS_DEFAULT: u32 = 5;
