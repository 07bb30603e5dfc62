-- One checkout, as a pgbench script: reserve one unit of a SKU with a conditional update, insert
-- the order and its line, insert the ledger's balancing rows, commit (durable: run.sh keeps
-- fsync and synchronous_commit on). Each statement is one round trip, as in a service that
-- runs the transaction from its own process.
--
-- `:skus` (pgbench -D skus=N) picks the shape: 1 is the flash sale (every client wants SKU 1),
-- 100000 the spread (SKUs chosen uniformly).
\set sku random(1, :skus)
\set customer random(1, 1000000)
\set key random(1, 9000000000000000000)
BEGIN;
-- The reservation: one row when a unit was free, none when the SKU is sold out.
WITH held AS (
    UPDATE stock SET reserved = reserved + 1
    WHERE sku = :sku AND on_hand - reserved >= 1
    RETURNING seller, price_minor
)
SELECT count(*) AS held, coalesce(max(seller), 0) AS seller,
       coalesce(max(price_minor), 0) AS price
FROM held \gset
\if :held
INSERT INTO orders (idempotency_key, customer, total_minor, currency)
VALUES (:key::text, :customer, :price, 'EUR')
RETURNING id AS order_id \gset
INSERT INTO order_lines (order_id, line_no, sku, quantity, price_minor)
VALUES (:order_id, 1, :sku, 1, :price);
-- The customer owes the price; the seller is owed it less a 10 % commission, which is the
-- marketplace's revenue. The three rows sum to zero.
INSERT INTO ledger (order_id, account, amount_minor, currency) VALUES
    (:order_id::bigint, 'receivable.customer.' || :customer::text, :price::bigint, 'EUR'),
    (:order_id::bigint, 'payable.seller.' || :seller::text, :price::bigint / 10 - :price::bigint, 'EUR'),
    (:order_id::bigint, 'revenue.commission', -(:price::bigint / 10), 'EUR');
\endif
COMMIT;
