-- tabshop-gateway PostgreSQL store, schema version 7: payments and articles as relational rows.
--
-- During an upgrade, a gateway process of the previous version may still lead the database (a
-- process refuses to START on a newer schema, but one already running keeps writing). Its writes
-- keep working and land in the new shape: its articles document is split into rows by a trigger,
-- and a sale it writes gets its payment rows from a trigger. Gateways of this version announce
-- themselves (`tabshop.writer_schema` in their session options) and write those rows themselves.

-- PostgreSQL cannot navigate a json value holding an escaped NUL or lone surrogate (JSON.stringify
-- writes both, `json` stores them); the SQL copies get U+FFFD there instead, as the gateway writes them (sql-values.ts).
CREATE FUNCTION tabshop_navigable(j json) RETURNS json LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN j::text ~* '\\u(0000|d[89a-f])' THEN regexp_replace(j::text, '\\u(0000|d[89a-f][0-9a-f]{2})', '\\ufffd', 'gi')::json ELSE j END
$$;
-- A scalar as text (null for objects, arrays, null).
CREATE FUNCTION tabshop_text(j json) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN json_typeof(j) IN ('string', 'number', 'boolean') THEN j #>> '{}' END
$$;
-- A number, or a string spelling one (as numericValue); anything else is null.
CREATE FUNCTION tabshop_numeric(j json) RETURNS numeric LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE
    WHEN json_typeof(j) = 'number' THEN (j #>> '{}')::numeric
    WHEN json_typeof(j) = 'string' AND btrim(j #>> '{}') ~ '^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$' THEN btrim(j #>> '{}')::numeric
  END
$$;

-- Payments: one row per payment of a sale, replaced with the sale in the same transaction (like
-- sale_lines). Reports and stats sum them by method over the sales of a day or a period.
CREATE TABLE sale_payments (
  sale_identifier text NOT NULL REFERENCES sales (identifier) ON DELETE CASCADE,
  -- the payment's place in the sale (1, 2, …)
  position      integer NOT NULL,
  -- cash, credit_card, … and the raw TabShop checkoutType
  method        text,
  code          text,
  amount        numeric,
  given         numeric,
  returned      numeric,
  PRIMARY KEY (sale_identifier, position)
);
CREATE INDEX sale_payments_method ON sale_payments (method);

-- The payment rows of a stored sale record (migration, and sales written by a previous version).
CREATE FUNCTION tabshop_payment_rows(p_identifier text, p_record json)
RETURNS TABLE (sale_identifier text, "position" integer, method text, code text, amount numeric, given numeric, returned numeric)
LANGUAGE sql STABLE AS $$
  SELECT p_identifier, p.position::integer, tabshop_text(p.value -> 'method'), tabshop_text(p.value -> 'code'),
         tabshop_numeric(p.value -> 'amount'), tabshop_numeric(p.value -> 'given'), tabshop_numeric(p.value -> 'returned')
    FROM (SELECT tabshop_navigable(p_record) -> 'sale' -> 'payments' AS list) l,
         json_array_elements(CASE WHEN json_typeof(l.list) = 'array' THEN l.list ELSE '[]'::json END) WITH ORDINALITY AS p(value, position)
$$;

INSERT INTO sale_payments SELECT p.* FROM sales s, tabshop_payment_rows(s.identifier, s.record) p;

CREATE FUNCTION tabshop_sale_payments_from_record() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM sale_payments WHERE sale_identifier = NEW.identifier;
  INSERT INTO sale_payments SELECT * FROM tabshop_payment_rows(NEW.identifier, NEW.record);
  RETURN NULL;
END
$$;
-- Only for writers that do not write payments themselves (a previous version, hand-written SQL).
CREATE TRIGGER sales_payments_from_record AFTER INSERT OR UPDATE OF record ON sales FOR EACH ROW
  WHEN (coalesce(current_setting('tabshop.writer_schema', true), '') = '')
  EXECUTE FUNCTION tabshop_sale_payments_from_record();

-- What reports and stats filter by, besides the indexes of version 1 (register and time, time, seq, day).
CREATE INDEX sales_status_created_at ON sales (status, created_at);
CREATE INDEX sales_day_status ON sales (day_id, status);

-- Articles: one row per tax, discount, category, product, commodity and stock level (was one
-- document rewritten on every change). `data` is the article exactly as the gateway answers it
-- (json keeps key order and text; jsonb would not); the typed columns beside it are copies for
-- SQL. `version` is the articles version of the row's last change (0: unknown).
CREATE TABLE article_rows (
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
CREATE INDEX article_rows_version ON article_rows (version);

-- The articles version (the change feed's last version) and, in bridge mode, the upstream sync state.
CREATE TABLE articles_state (
  id            boolean PRIMARY KEY DEFAULT true CHECK (id),
  version       integer NOT NULL,
  upstream      json,
  saved_at      timestamptz NOT NULL DEFAULT now()
);

-- Kept in step with articles_state.version by every write that advances it, so that versions can
-- be taken from it (nextval) once several processes write articles.
CREATE SEQUENCE article_versions AS integer MINVALUE 0 START 0;

-- The article rows of an articles document.
CREATE FUNCTION tabshop_document_items(doc json) RETURNS TABLE (entity text, identifier text, data json) LANGUAGE sql IMMUTABLE AS $$
  SELECT c.entity, e.key, e.value
    FROM (VALUES ('tax', 'taxes'), ('discount', 'discounts'), ('category', 'categories'), ('product', 'products'),
                 ('commodity', 'commodities'), ('stock', 'stock')) AS c(entity, collection),
         json_each(CASE WHEN json_typeof(doc -> c.collection) = 'object' THEN doc -> c.collection ELSE '{}'::json END) AS e
$$;

-- Makes the rows and the state those of an articles document: rows it no longer has are deleted,
-- rows whose data differs are written with p_version (null: the version of the row's last entry
-- in the change feed). A document holding an escaped NUL or lone surrogate is split with U+FFFD in their place.
CREATE FUNCTION tabshop_articles_from_document(p_doc json, p_doc_version integer, p_at timestamptz, p_version integer) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  doc json := tabshop_navigable(p_doc);
BEGIN
  DELETE FROM article_rows r
   WHERE NOT EXISTS (SELECT 1 FROM tabshop_document_items(doc) i WHERE i.entity = r.entity AND i.identifier = r.identifier);
  INSERT INTO article_rows AS r (entity, identifier, version, changed_at, name, price, cost_price, rate, tax, discount, parent, product, category, data)
  SELECT i.entity, i.identifier,
         coalesce(p_version, (SELECT max(m.version) FROM modifications m WHERE m.entity = i.entity AND m.identifier = i.identifier), 0),
         p_at,
         tabshop_text(i.data -> 'name'),
         CASE WHEN i.entity = 'product' THEN tabshop_numeric(i.data -> 'price') END,
         CASE WHEN i.entity = 'product' THEN tabshop_numeric(i.data -> 'costPrice') END,
         CASE i.entity WHEN 'tax' THEN tabshop_numeric(i.data -> 'vat') WHEN 'discount' THEN tabshop_numeric(i.data -> 'percentage') END,
         tabshop_text(i.data -> 'tax'),
         tabshop_text(i.data -> 'discount'),
         tabshop_text(i.data -> 'parent'),
         CASE WHEN i.entity = 'stock' THEN i.identifier ELSE tabshop_text(i.data -> 'product') END,
         tabshop_text(i.data -> 'category'),
         i.data
    FROM tabshop_document_items(doc) i
  ON CONFLICT (entity, identifier) DO UPDATE SET
    version = EXCLUDED.version, changed_at = EXCLUDED.changed_at, name = EXCLUDED.name, price = EXCLUDED.price,
    cost_price = EXCLUDED.cost_price, rate = EXCLUDED.rate, tax = EXCLUDED.tax, discount = EXCLUDED.discount,
    parent = EXCLUDED.parent, product = EXCLUDED.product, category = EXCLUDED.category, data = EXCLUDED.data
    WHERE r.data::text IS DISTINCT FROM EXCLUDED.data::text;
  INSERT INTO articles_state (id, version, upstream, saved_at)
  VALUES (true, p_doc_version, CASE WHEN json_typeof(doc -> 'upstream') = 'object' THEN doc -> 'upstream' END, p_at)
  ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, upstream = EXCLUDED.upstream, saved_at = EXCLUDED.saved_at;
  PERFORM setval('article_versions', p_doc_version) FROM article_versions WHERE p_doc_version > CASE WHEN is_called THEN last_value ELSE -1 END;
END
$$;

-- The existing document becomes rows; the `articles` table stays (empty) for a previous version's
-- writes during an upgrade: each is turned into rows, and the document itself is not kept.
SELECT tabshop_articles_from_document(doc, version, saved_at, NULL) FROM articles;
DELETE FROM articles;

CREATE FUNCTION tabshop_articles_document_written() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM tabshop_articles_from_document(NEW.doc, NEW.version, NEW.saved_at, NEW.version);
  RETURN NULL;
END
$$;
CREATE TRIGGER articles_document_to_rows BEFORE INSERT OR UPDATE ON articles FOR EACH ROW
  EXECUTE FUNCTION tabshop_articles_document_written();

-- Products as rows, for SQL (as before, now over the article rows).
DROP VIEW products;
CREATE VIEW products AS
  SELECT identifier, name, price, cost_price, tax, discount FROM article_rows WHERE entity = 'product';
