//! Every bound of the commerce domain, in one place. A command beyond a bound is a rejection
//! naming the bound, never a panic and never a silent clamp.
//!
//! Invariants kept by the compile-time checks at the end:
//! - Landed prices (price + shipping) cannot overflow `i64`.
//! - Inventory ids (`SKU@LOCATION`) and every other id fit the engine's entity id bound.
//! - Quantities fit `u32` with room: the sum of all reservations never exceeds on hand.

/// Most units one command may name, and most units on hand (absurd quantities are rejected).
pub const QUANTITY_MAX: u32 = 1_000_000_000;

/// Longest a reservation may be held before it expires: one week.
pub const RESERVATION_TTL_MS_MAX: u64 = 7 * 24 * 60 * 60 * 1000;

/// Most reservations held at once on one inventory record.
pub const RESERVATIONS_ACTIVE_MAX: usize = 65_536;

/// How many settled (committed, released, expired) reservations one inventory record
/// remembers, newest first, to answer retries idempotently. Older ones are forgotten.
pub const RESERVATIONS_SETTLED_MAX: usize = 4_096;

/// Most times one cart line is held anew after its hold was released or expired (each time
/// under a new reservation id): far more than a shopper does, few enough to bound the ids.
pub const HOLD_GENERATIONS_MAX: u32 = 10_000;
/// Most reservations one command expires, so one event batch stays bounded.
pub const EXPIRIES_PER_COMMAND_MAX: usize = 1_024;

/// Longest seller id, SKU, in bytes.
pub const ID_BYTES_MAX: usize = 64;

/// Longest location code, in bytes.
pub const LOCATION_BYTES_MAX: usize = 16;

/// Longest reservation id, in bytes (the checkout builds it from its own key and a line).
pub const RESERVATION_ID_BYTES_MAX: usize = 128;

/// An ASIN is exactly this many characters.
pub const ASIN_BYTES: usize = 10;

/// Longest seller display name, in bytes.
pub const SELLER_NAME_BYTES_MAX: usize = 128;

/// Highest seller rating, in hundredths of a star (5.00 stars).
pub const RATING_MAX: u16 = 500;

/// Highest order defect rate, in basis points (100 %).
pub const DEFECT_BPS_MAX: u16 = 10_000;

/// Longest product title, in bytes.
pub const TITLE_BYTES_MAX: usize = 500;

/// Longest brand, in bytes.
pub const BRAND_BYTES_MAX: usize = 100;

/// Deepest category path.
pub const CATEGORY_DEPTH_MAX: usize = 8;

/// Longest category name at one level, in bytes.
pub const CATEGORY_NAME_BYTES_MAX: usize = 100;

/// Most attributes on one catalog document.
pub const ATTRIBUTES_MAX: usize = 100;

/// Longest attribute name, in bytes.
pub const ATTRIBUTE_KEY_BYTES_MAX: usize = 64;

/// Longest attribute value, in bytes.
pub const ATTRIBUTE_VALUE_BYTES_MAX: usize = 1_000;

/// Most images on one catalog document.
pub const IMAGES_MAX: usize = 20;

/// Longest image URL, in bytes.
pub const IMAGE_URL_BYTES_MAX: usize = 1_024;

/// Longest product description, in bytes.
pub const DESCRIPTION_BYTES_MAX: usize = 16_000;

/// Most seller offers on one product.
pub const OFFERS_PER_PRODUCT_MAX: usize = 1_000;

/// Highest offer price or shipping charge, in minor units (ten billion of a two-decimal
/// currency).
pub const PRICE_MINOR_MAX: i64 = 1_000_000_000_000;

/// An offer priced more than this many times above its product's going price (the median of
/// the offers in stock), or below it divided by this, is suppressed as a likely pricing
/// error.
pub const PRICE_OUTLIER_FACTOR: i64 = 3;

/// Offers in stock a product needs before its going price says anything.
pub const PRICE_RANGE_OFFERS_MIN: usize = 3;

/// Recent orders a seller needs before its cancellation rate is judged, when
/// `[sellers] cancellation_orders_min` does not say.
pub const CANCELLATION_ORDERS_MIN: u32 = 20;

/// Most handling days an offer may promise before shipping.
pub const HANDLING_DAYS_MAX: u16 = 30;

/// Most lines in one cart, and most lines priced at once.
pub const CART_LINES_MAX: usize = 100;

/// Most locations one line ships from: a line no single location can serve is split over
/// at most this many.
pub const LINE_SOURCES_MAX: usize = 4;

/// Most lines in one order: every cart line, each split over its most locations.
pub const ORDER_LINES_MAX: usize = CART_LINES_MAX * LINE_SOURCES_MAX;

/// Most business days a parcel may travel between two zones.
pub const TRANSIT_DAYS_MAX: u16 = 30;

/// Longest postal-code prefix a destination zone is named by, in bytes.
pub const POSTAL_PREFIX_BYTES_MAX: usize = 10;

/// Most entries in `[checkout.zones]` (locations, destinations and transit figures).
pub const ZONE_ENTRIES_MAX: usize = 100_000;

/// Most units of one cart line. Far below `QUANTITY_MAX`: a shopper's cart, not a feed.
pub const CART_LINE_QUANTITY_MAX: u32 = 999;

/// Longest customer id, in bytes.
pub const CUSTOMER_ID_BYTES_MAX: usize = 64;

/// Shortest guest token, in bytes: long enough not to be guessed.
pub const GUEST_TOKEN_BYTES_MIN: usize = 16;

/// Longest guest token, in bytes.
pub const GUEST_TOKEN_BYTES_MAX: usize = 128;

/// Longest promotion id, in bytes.
pub const PROMOTION_ID_BYTES_MAX: usize = 64;

/// Longest coupon code, in bytes.
pub const COUPON_CODE_BYTES_MAX: usize = 32;

/// Longest order id, in bytes.
pub const ORDER_ID_BYTES_MAX: usize = 128;

/// Most promotions offered to one pricing.
pub const PROMOTIONS_PER_PRICING_MAX: usize = 32;

/// Most coupon codes a customer may enter for one pricing.
pub const COUPONS_PER_PRICING_MAX: usize = 8;

/// Most ASINs in the scope of one promotion.
pub const PROMOTION_ASINS_MAX: usize = 1_000;

/// Most units a buy-X-get-Y promotion may name on either side.
pub const BUY_GET_UNITS_MAX: u32 = 100;

/// 100 %, in basis points: the highest percentage discount and the highest VAT rate.
pub const BPS_MAX: u16 = 10_000;

/// Most redemptions one promotion may allow in total (its `total` limit).
pub const PROMOTION_REDEMPTIONS_MAX: u32 = 100_000;

/// Most orders one promotion remembers (redeemed, reversed, or reversed before they were
/// redeemed), to answer retries and refuse late redeems. Beyond it, new orders are refused.
pub const PROMOTION_ORDERS_MAX: usize = 200_000;

/// Records kept in memory per principal (the journal holds every one).
pub const AUDIT_RECENT_MAX: usize = 200;

/// Longest text field of a record, in bytes.
pub const AUDIT_FIELD_BYTES_MAX: usize = 512;

/// Longest tenant name, in bytes.
pub const TENANT_BYTES_MAX: usize = 32;

/// The highest code the domain may use; the engine's test kinds live above it.
pub const DOMAIN_KIND_CODE_MAX: u16 = 0x0FFF;

/// Most captures one order records.
pub const ORDER_CAPTURES_MAX: usize = 64;

/// Most refunds one order records.
pub const ORDER_REFUNDS_MAX: usize = 64;

/// Most appeasements one order records (each is also a refund).
pub const ORDER_APPEASEMENTS_MAX: usize = 16;

/// Longest return window, in days.
pub const RETURN_WINDOW_DAYS_MAX: u16 = 365;

/// Most support cases open at once in a tenant.
pub const CASES_OPEN_MAX: usize = 1_000;

/// Closed support cases a tenant keeps (the oldest are forgotten).
pub const CASES_CLOSED_KEPT: usize = 200;

/// Longest text of a support case (subject, detail, closing note), in bytes.
pub const CASE_TEXT_BYTES_MAX: usize = 512;

/// Most returns one order records (each is also a refund, so fewer than the refunds).
pub const ORDER_RETURNS_MAX: usize = 32;

/// Longest free text on an order (checkout id, provider ids and keys, address lines,
/// carrier, tracking number, cancellation reason), in bytes.
pub const ORDER_TEXT_BYTES_MAX: usize = 256;

/// Most notes support keeps on one order.
pub const ORDER_NOTES_MAX: usize = 200;

/// Longest note on an order, in bytes.
pub const ORDER_NOTE_BYTES_MAX: usize = 2_000;

/// Longest name of a note's author (a principal's), in bytes.
pub const NOTE_AUTHOR_BYTES_MAX: usize = 64;

/// Most items in one bucket (so most per queue is 16 times this).
pub const WORKLIST_BUCKET_ITEMS_MAX: usize = 16_384;

/// Longest item, in bytes (an entity id).
pub const WORKLIST_ITEM_BYTES_MAX: usize = 256;

/// Longest a cart hold may last, in seconds.
pub const CART_HOLD_TTL_S_MAX: u64 = 3_600;

/// How long a cart hold lasts when its holder names no time, in seconds.
pub const CART_HOLD_TTL_S_DEFAULT: u64 = 900;

/// Source carts a cart remembers having merged (with their revision), so a repeated merge
/// adds nothing; the oldest is forgotten first.
pub const CART_MERGES_REMEMBERED_MAX: usize = 16;
/// Most holds one cart records (`RecordHolds`): one per line it holds, and as many again for
/// records a crash left behind (the next reservation releases and forgets those first).
pub const CART_HOLDS_MAX: usize = 2 * CART_LINES_MAX;

/// Longest cart id, in bytes (`c-` and at most 62 lowercase letters or digits).
pub const CART_ID_BYTES_MAX: usize = 64;

/// Longest payment card token a checkout may carry, in bytes (a provider's token, never a
/// card number).
pub const CARD_TOKEN_BYTES_MAX: usize = 64;

/// Longest checkout idempotency key, in bytes.
pub const CHECKOUT_KEY_BYTES_MAX: usize = 64;

/// Longest challenge id and issuer URL a payment provider may name, in bytes.
pub const CHALLENGE_ID_BYTES_MAX: usize = 256;
pub const CHALLENGE_URL_BYTES_MAX: usize = 2048;

/// Longest address field, in bytes.
pub const ADDRESS_FIELD_BYTES_MAX: usize = 128;

/// Longest field of a customer's profile (name, e-mail, phone) before sealing, in bytes.
pub const CUSTOMER_FIELD_BYTES_MAX: usize = 128;

/// Most tracking events one shipment keeps (a carrier's full journey is about ten).
pub const TRACKING_EVENTS_MAX: usize = 32;

/// Most webhook subscriptions one tenant has.
pub const WEBHOOKS_PER_TENANT_MAX: usize = 16;

/// Longest webhook URL, in bytes.
pub const WEBHOOK_URL_BYTES_MAX: usize = 512;

/// Longest webhook signing secret, in bytes.
pub const WEBHOOK_SECRET_BYTES_MAX: usize = 128;

/// What sealing adds to a piece of personal data, in bytes: the tag, the format's version,
/// a 24-byte nonce and a 16-byte authentication tag (`bazaar_services::pii`).
pub const PII_SEAL_OVERHEAD_BYTES: usize = 42;

/// Longest carrier name, tracking number or cancellation reason, in bytes.
pub const DISPATCH_TEXT_BYTES_MAX: usize = 128;

const _: () = assert!(PRICE_MINOR_MAX.checked_mul(2).is_some());
const _: () = assert!(QUANTITY_MAX < u32::MAX / 2);
const _: () =
    assert!(ID_BYTES_MAX + 1 + LOCATION_BYTES_MAX <= bazaar_entity::limits::ENTITY_ID_BYTES_MAX);
const _: () = assert!(RESERVATION_ID_BYTES_MAX <= bazaar_entity::limits::ENTITY_ID_BYTES_MAX);
const _: () = assert!(EXPIRIES_PER_COMMAND_MAX <= RESERVATIONS_ACTIVE_MAX);
const _: () = assert!(CART_LINE_QUANTITY_MAX <= QUANTITY_MAX);
const _: () = assert!(CART_HOLD_TTL_S_DEFAULT <= CART_HOLD_TTL_S_MAX);
const _: () = assert!(CART_HOLD_TTL_S_MAX * 1_000 <= RESERVATION_TTL_MS_MAX);
// What a client writes on an order fits what the order keeps.
const _: () = assert!(ORDER_RETURNS_MAX + ORDER_APPEASEMENTS_MAX < ORDER_REFUNDS_MAX);
const _: () = assert!(ADDRESS_FIELD_BYTES_MAX + PII_SEAL_OVERHEAD_BYTES <= ORDER_TEXT_BYTES_MAX);
const _: () = assert!(DISPATCH_TEXT_BYTES_MAX <= ORDER_TEXT_BYTES_MAX);
const _: () = assert!(CARD_TOKEN_BYTES_MAX <= ORDER_TEXT_BYTES_MAX);
// A priced cart cannot overflow: (price + shipping) x quantity x lines, plus VAT of at most
// 100 %, stays inside `i64` (an overflowing constant does not compile).
const _: () = assert!(
    PRICE_MINOR_MAX * 2 * (CART_LINE_QUANTITY_MAX as i64) * (CART_LINES_MAX as i64) * 2
        < i64::MAX / 4
);
const _: () = assert!(PROMOTION_REDEMPTIONS_MAX as usize <= PROMOTION_ORDERS_MAX);
// A seller's promotion id is `{seller}:{name}`, inside a `{tenant}/{id}` entity id.
const _: () = assert!(
    crate::limits::TENANT_BYTES_MAX + 1 + ID_BYTES_MAX + 1 + PROMOTION_ID_BYTES_MAX
        <= bazaar_entity::limits::ENTITY_ID_BYTES_MAX
);
