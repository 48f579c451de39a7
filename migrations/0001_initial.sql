-- tabshop-gateway PostgreSQL store, schema version 1.
-- Applied by `tabshop-gateway migrate` (and at every start) inside one transaction, recorded in
-- schema_migrations. Every complete record is kept as `json` (exact text: what the gateway reads
-- back); the columns beside it are copies for SQL reporting and indexes.

-- Every raw invoice request body (and, in legacy mode, every legacy request), appended before it is processed.
CREATE TABLE journal (
  id            bigserial PRIMARY KEY,
  received_at   timestamptz NOT NULL,
  request_id    text,
  device        text,
  cash_register text,
  method        text NOT NULL,
  path          text NOT NULL,
  query         text,
  content_type  text,
  legacy        boolean NOT NULL DEFAULT false,
  headers       json,
  -- the body exactly as received (bytes); body_encoding says how the gateway got it: utf8 text or base64
  body          bytea,
  body_encoding text CHECK (body_encoding IN ('utf8', 'base64'))
);
CREATE INDEX journal_received_at ON journal (received_at);
CREATE INDEX journal_register_received_at ON journal (cash_register, received_at);

-- One row per sale: the complete record (sale, identity, change history) plus columns for SQL.
CREATE TABLE sales (
  identifier    text PRIMARY KEY,
  cash_register text NOT NULL,
  -- the TabShop invoice id (null for sales posted through the API)
  invoice_id    text,
  status        text NOT NULL,
  created_at    timestamptz,
  received_at   timestamptz,
  changed_at    timestamptz,
  -- the last change's sequence number (the sales change feed)
  seq           bigint NOT NULL,
  day_id        text,
  total         numeric,
  vat           numeric,
  discount      numeric,
  cost_price    numeric,
  -- the original TabShop invoice as pushed (jsonb, for SQL; the exact copy is inside record)
  invoice       jsonb,
  record        json NOT NULL,
  CONSTRAINT sales_register_invoice_unique UNIQUE (cash_register, invoice_id)
);
CREATE INDEX sales_register_created_at ON sales (cash_register, created_at);
CREATE INDEX sales_created_at ON sales (created_at);
CREATE INDEX sales_seq ON sales (seq);
CREATE INDEX sales_day ON sales (day_id);

-- Sale lines, replaced with their sale, for SQL reporting (the gateway itself reads sales.record).
CREATE TABLE sale_lines (
  sale_identifier text NOT NULL REFERENCES sales (identifier) ON DELETE CASCADE,
  -- the line's place in the sale (1, 2, …) and its own lineNo
  position      integer NOT NULL,
  line_no       integer,
  product       text,
  name          text,
  quantity      numeric,
  subtotal      numeric,
  discount      numeric,
  vat           numeric,
  total         numeric,
  cost_price    numeric,
  PRIMARY KEY (sale_identifier, position)
);
CREATE INDEX sale_lines_product ON sale_lines (product);

CREATE TABLE quarantine (
  id            text PRIMARY KEY,
  at            timestamptz,
  code          text NOT NULL,
  cash_register text,
  device        text,
  invoice_id    text,
  reason        text,
  item          json NOT NULL
);
CREATE INDEX quarantine_at ON quarantine (at);
CREATE INDEX quarantine_register_invoice ON quarantine (cash_register, invoice_id);

-- The articles (taxes, discounts, categories, products, commodities, stock levels, version): one document, as in lowdb.
CREATE TABLE articles (
  id            boolean PRIMARY KEY DEFAULT true CHECK (id),
  version       integer NOT NULL,
  doc           json NOT NULL,
  saved_at      timestamptz NOT NULL DEFAULT now()
);
-- Products as rows, for SQL.
CREATE VIEW products AS
  SELECT p.key AS identifier, p.value->>'name' AS name, (p.value->>'price')::numeric AS price,
         (p.value->>'costPrice')::numeric AS cost_price, p.value->>'tax' AS tax, p.value->>'discount' AS discount
  FROM articles a, json_each(a.doc->'products') p;

-- The article change feed.
CREATE TABLE modifications (
  version       integer PRIMARY KEY,
  entity        text NOT NULL,
  identifier    text NOT NULL,
  op            text NOT NULL,
  at            timestamptz,
  modification  json NOT NULL
);

-- Back office: closed days (frozen Z reports), cash movements, register presence.
CREATE TABLE closed_days (
  day_id        text PRIMARY KEY,
  cash_register text NOT NULL,
  day_no        integer NOT NULL,
  opened_at     timestamptz,
  closed_at     timestamptz,
  day           json NOT NULL
);
CREATE INDEX closed_days_register ON closed_days (cash_register, day_no);

CREATE TABLE cash_movements (
  id            text PRIMARY KEY,
  cash_register text NOT NULL,
  at            timestamptz,
  amount        numeric,
  movement      json NOT NULL
);
CREATE INDEX cash_movements_register_at ON cash_movements (cash_register, at);

CREATE TABLE presence (
  id            boolean PRIMARY KEY DEFAULT true CHECK (id),
  doc           json NOT NULL
);

-- The durable outbox: pending deliveries and dead letters per target (delivered items are deleted).
CREATE TABLE outbox (
  target        text NOT NULL,
  key           text NOT NULL,
  cash_register text NOT NULL,
  seq           bigint NOT NULL,
  dead          boolean NOT NULL,
  item          json NOT NULL,
  PRIMARY KEY (target, key)
);
CREATE INDEX outbox_target_register_seq ON outbox (target, cash_register, seq);

CREATE TABLE outbox_state (
  id            boolean PRIMARY KEY DEFAULT true CHECK (id),
  doc           json NOT NULL
);
