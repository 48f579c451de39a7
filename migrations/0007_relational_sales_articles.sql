-- tabshop-gateway PostgreSQL store, schema version 7: payments and articles as relational rows.

-- Helpers for this migration only (pg_temp: gone with the session). PostgreSQL cannot navigate a
-- json value holding an escaped NUL or lone surrogate (JSON.stringify writes both, `json` stores
-- them); the SQL copies get U+FFFD there instead, as the gateway writes them (sql-values.ts).
CREATE FUNCTION pg_temp.navigable(j json) RETURNS json LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN j::text ~* '\\u(0000|d[89a-f])' THEN regexp_replace(j::text, '\\u(0000|d[89a-f][0-9a-f]{2})', '\\ufffd', 'gi')::json ELSE j END
$$;
-- A scalar as text (null for objects, arrays, null).
CREATE FUNCTION pg_temp.scalar_text(j json) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN json_typeof(j) IN ('string', 'number', 'boolean') THEN j #>> '{}' END
$$;
-- A number, or a string spelling one (as numericValue); anything else is null.
CREATE FUNCTION pg_temp.scalar_numeric(j json) RETURNS numeric LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE
    WHEN json_typeof(j) = 'number' THEN (j #>> '{}')::numeric
    WHEN json_typeof(j) = 'string' AND btrim(j #>> '{}') ~ '^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$' THEN btrim(j #>> '{}')::numeric
  END
$$;

-- Payments: one row per payment of a sale, replaced with the sale in the same statement round
-- (like sale_lines). Reports and stats sum them by method over the sales of a day or a period.
CREATE TABLE sale_payments (
  sale_identifier text NOT NULL REFERENCES sales (identifier) ON DELETE CASCADE,
  -- the payment's place in the sale (1, 2, …)
  position      integer NOT NULL,
  -- cash, card, … and the raw TabShop checkoutType
  method        text,
  code          text,
  amount        numeric,
  given         numeric,
  returned      numeric,
  PRIMARY KEY (sale_identifier, position)
);
CREATE INDEX sale_payments_method ON sale_payments (method);

INSERT INTO sale_payments (sale_identifier, position, method, code, amount, given, returned)
SELECT s.identifier, p.position, pg_temp.scalar_text(p.value -> 'method'), pg_temp.scalar_text(p.value -> 'code'),
       pg_temp.scalar_numeric(p.value -> 'amount'), pg_temp.scalar_numeric(p.value -> 'given'), pg_temp.scalar_numeric(p.value -> 'returned')
  FROM sales s,
       LATERAL (SELECT pg_temp.navigable(s.record) -> 'sale' -> 'payments' AS list) l,
       json_array_elements(CASE WHEN json_typeof(l.list) = 'array' THEN l.list ELSE '[]'::json END) WITH ORDINALITY AS p(value, position);

-- What reports and stats filter by, besides the indexes of version 1 (register and time, time, seq, day).
CREATE INDEX sales_status_created_at ON sales (status, created_at);
CREATE INDEX sales_day_status ON sales (day_id, status);

-- Articles: one row per tax, discount, category, product, commodity and stock level (was one
-- document rewritten on every change). `data` is the article exactly as the gateway answers it
-- (json keeps key order and text); the typed columns beside it are copies for SQL. `version` is
-- the articles version of the row's last change (0: unknown, stored before this version). A
-- document holding an escaped NUL or lone surrogate is split with U+FFFD in their place.
DROP VIEW products;
ALTER TABLE articles RENAME TO articles_document;
ALTER INDEX articles_pkey RENAME TO articles_document_pkey;

CREATE TABLE articles (
  entity        text NOT NULL CHECK (entity IN ('tax', 'discount', 'category', 'product', 'commodity', 'stock')),
  identifier    text NOT NULL,
  version       integer NOT NULL,
  changed_at    timestamptz NOT NULL DEFAULT now(),
  name          text,
  -- a product's price and cost price; a tax's vat or a discount's percentage
  price         numeric,
  cost_price    numeric,
  rate          numeric,
  -- references: a product's tax and discount, a category's parent, a commodity's (or stock level's) product and category
  tax           text,
  discount      text,
  parent        text,
  product       text,
  category      text,
  data          json NOT NULL,
  PRIMARY KEY (entity, identifier)
);
CREATE INDEX articles_version ON articles (version);

-- The articles version (the change feed's last version) and, in bridge mode, the upstream sync state.
CREATE TABLE articles_state (
  id            boolean PRIMARY KEY DEFAULT true CHECK (id),
  version       integer NOT NULL,
  upstream      json,
  saved_at      timestamptz NOT NULL DEFAULT now()
);

-- Kept in step with articles_state.version by every round that advances it, so that versions can
-- be taken from it (nextval) once several processes write articles.
CREATE SEQUENCE article_versions AS integer MINVALUE 0 START 0;

INSERT INTO articles_state (id, version, upstream, saved_at)
SELECT true, version, CASE WHEN json_typeof(pg_temp.navigable(doc) -> 'upstream') = 'object' THEN doc -> 'upstream' END, saved_at
  FROM articles_document;

INSERT INTO articles (entity, identifier, version, changed_at, name, price, cost_price, rate, tax, discount, parent, product, category, data)
SELECT c.entity, e.key,
       coalesce((SELECT max(m.version) FROM modifications m WHERE m.entity = c.entity AND m.identifier = e.key), 0),
       d.saved_at,
       pg_temp.scalar_text(e.value -> 'name'),
       CASE WHEN c.entity = 'product' THEN pg_temp.scalar_numeric(e.value -> 'price') END,
       CASE WHEN c.entity = 'product' THEN pg_temp.scalar_numeric(e.value -> 'costPrice') END,
       CASE c.entity WHEN 'tax' THEN pg_temp.scalar_numeric(e.value -> 'vat') WHEN 'discount' THEN pg_temp.scalar_numeric(e.value -> 'percentage') END,
       pg_temp.scalar_text(e.value -> 'tax'),
       pg_temp.scalar_text(e.value -> 'discount'),
       pg_temp.scalar_text(e.value -> 'parent'),
       CASE WHEN c.entity = 'stock' THEN e.key ELSE pg_temp.scalar_text(e.value -> 'product') END,
       pg_temp.scalar_text(e.value -> 'category'),
       e.value
  FROM (SELECT pg_temp.navigable(doc) AS doc, saved_at FROM articles_document) d,
       (VALUES ('tax', 'taxes'), ('discount', 'discounts'), ('category', 'categories'), ('product', 'products'),
               ('commodity', 'commodities'), ('stock', 'stock')) AS c(entity, collection),
       json_each(CASE WHEN json_typeof(d.doc -> c.collection) = 'object' THEN d.doc -> c.collection ELSE '{}'::json END) AS e;

SELECT setval('article_versions', version) FROM articles_state;

DROP TABLE articles_document;

-- Products as rows, for SQL (as before, now over the article rows).
CREATE VIEW products AS
  SELECT identifier, name, price, cost_price, tax, discount FROM articles WHERE entity = 'product';
