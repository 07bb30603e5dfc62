-- The same checkout as checkout.sql in one statement, so one round trip: the reservation, the
-- order, its line and the ledger's three rows as data-modifying CTEs, committed on its own
-- (autocommit; durable as in checkout.sql). A sold-out SKU reserves nothing and so inserts
-- nothing. What a service could do to hold the hot row's lock for less time than checkout.sql's
-- statement-per-round-trip transaction: run.sh uses it with `PG_SCRIPT=checkout_one_statement.sql`.
\set sku random(1, :skus)
\set customer random(1, 1000000)
\set key random(1, 9000000000000000000)
WITH held AS (
    UPDATE stock SET reserved = reserved + 1
    WHERE sku = :sku AND on_hand - reserved >= 1
    RETURNING sku, seller, price_minor
), placed AS (
    INSERT INTO orders (idempotency_key, customer, total_minor, currency)
    SELECT :key::text, :customer, price_minor, 'EUR' FROM held
    RETURNING id, total_minor
), line AS (
    INSERT INTO order_lines (order_id, line_no, sku, quantity, price_minor)
    SELECT placed.id, 1, held.sku, 1, held.price_minor FROM placed, held
)
INSERT INTO ledger (order_id, account, amount_minor, currency)
SELECT placed.id, entry.account, entry.amount, 'EUR'
FROM placed, held, LATERAL (VALUES
    ('receivable.customer.' || :customer::text, placed.total_minor),
    ('payable.seller.' || held.seller::text, placed.total_minor / 10 - placed.total_minor),
    ('revenue.commission', -(placed.total_minor / 10))
) AS entry (account, amount);
