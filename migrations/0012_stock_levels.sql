-- tabshop-gateway PostgreSQL store, schema version 12: a process starts from stock_levels.
--
-- Until now every process that took the lead derived the central stock from all stored sales and
-- rewrote stock_levels; now it reads stock_levels (kept in the transaction of every sale change
-- and level change) and replays no sale. The table is trusted once a gateway has derived it
-- (stock_state has its row). Until then (a database of an earlier schema, possibly written by a
-- version before schema 4, which did not keep stock_levels; a copy of a data dir by migrate-store)
-- the next process to lead derives it from the sales once, rewrites it and records it here, in
-- one transaction.
CREATE TABLE stock_state (
  id            boolean PRIMARY KEY DEFAULT true CHECK (id),
  derived_at    timestamptz NOT NULL
);

-- A writer that does not announce itself (tabshop.writer_schema: a version before schema 7, which
-- may not keep stock_levels; hand-written SQL) writing sales or an articles document makes the
-- table untrusted again: the next process to lead derives it once more.
CREATE FUNCTION tabshop_stock_underived() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM stock_state;
  RETURN NULL;
END
$$;
CREATE TRIGGER sales_stock_underived AFTER INSERT OR UPDATE OR DELETE ON sales FOR EACH STATEMENT
  WHEN (coalesce(substring(current_setting('tabshop.writer_schema', true) FROM '^[0-9]{1,9}$'), '0')::integer < 7)
  EXECUTE FUNCTION tabshop_stock_underived();
CREATE TRIGGER articles_stock_underived AFTER INSERT OR UPDATE ON articles FOR EACH STATEMENT
  WHEN (coalesce(substring(current_setting('tabshop.writer_schema', true) FROM '^[0-9]{1,9}$'), '0')::integer < 7)
  EXECUTE FUNCTION tabshop_stock_underived();
