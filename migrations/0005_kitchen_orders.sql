-- tabshop-gateway PostgreSQL store, schema version 5: kitchen display orders.

-- Every message received on the kitchen port: valid orders (open, done) and rejected ones (with
-- the reason and the bytes, bounded, inside order_doc). order_doc is the record as the gateway
-- keeps it; the other columns are for SQL.
CREATE TABLE kitchen_orders (
  id            bigint PRIMARY KEY,
  seq           bigint NOT NULL,
  received_at   timestamptz NOT NULL,
  state         text NOT NULL,
  source        text NOT NULL,
  table_name    text,
  order_doc     json NOT NULL
);
CREATE INDEX kitchen_orders_state ON kitchen_orders (state, received_at);

-- The bytes of every message as received (append-only), like the invoice journal.
CREATE TABLE kitchen_journal (
  received_at   timestamptz NOT NULL,
  source        text NOT NULL,
  order_id      bigint NOT NULL,
  body          bytea NOT NULL
);
CREATE INDEX kitchen_journal_received_at ON kitchen_journal (received_at);
