-- The checkout of benches/compare in PostgreSQL: what a marketplace built as a service over one
-- PostgreSQL database would store for it. Loaded by run.sh into a fresh cluster; `:skus` is set
-- with `psql -v skus=N`.
--
-- stock:       one row per SKU; a checkout reserves a unit with a conditional update, so
--              `reserved <= on_hand` holds (the CHECK is the database's own guard against
--              overselling). on_hand is large enough that no run sells out: every transaction is
--              a full checkout, as every Bazaar checkout in the sim's comparison is.
-- orders:      one row per checkout; the idempotency key is unique, as Bazaar's is.
-- order_lines: the order's line (one unit of one SKU).
-- ledger:      double entry; each order's rows sum to zero (see checkout.sql).

CREATE TABLE stock (
    sku         bigint  PRIMARY KEY,
    seller      bigint  NOT NULL,
    price_minor bigint  NOT NULL,
    on_hand     integer NOT NULL,
    reserved    integer NOT NULL DEFAULT 0,
    CHECK (0 <= reserved AND reserved <= on_hand)
);

CREATE TABLE orders (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    idempotency_key text        NOT NULL UNIQUE,
    customer        bigint      NOT NULL,
    total_minor     bigint      NOT NULL,
    currency        char(3)     NOT NULL,
    placed_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE order_lines (
    order_id    bigint  NOT NULL REFERENCES orders (id),
    line_no     integer NOT NULL,
    sku         bigint  NOT NULL REFERENCES stock (sku),
    quantity    integer NOT NULL CHECK (quantity > 0),
    price_minor bigint  NOT NULL,
    PRIMARY KEY (order_id, line_no)
);

CREATE TABLE ledger (
    id           bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id     bigint  NOT NULL REFERENCES orders (id),
    account      text    NOT NULL,
    -- Debits positive, credits negative, in minor units.
    amount_minor bigint  NOT NULL,
    currency     char(3) NOT NULL
);
CREATE INDEX ledger_order ON ledger (order_id);

-- 100,000 SKUs across 1,000 sellers at 29.99 EUR; the flash sale uses SKU 1 alone.
INSERT INTO stock (sku, seller, price_minor, on_hand)
SELECT n, 1 + n % 1000, 2999, 1000000000 FROM generate_series(1, :skus) AS n;

VACUUM ANALYZE;
