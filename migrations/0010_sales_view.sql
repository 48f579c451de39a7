-- tabshop-gateway PostgreSQL store, schema version 10: the sales view answers with SQL.
--
-- Listings and the back office's per-sale lists run in the order the sales were first stored:
-- the sequence number of a sale's first change, a column now (it never changes). Rows written
-- before this version, or by a writer of a previous version during an upgrade, get it from the
-- record (or, when the record has none, the sale's current seq).
ALTER TABLE sales ADD COLUMN first_seq bigint;

CREATE FUNCTION tabshop_first_seq(p_record json, p_seq bigint) RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
  SELECT coalesce(trunc(tabshop_numeric(tabshop_navigable(p_record) -> 'history' -> 0 -> 'seq'))::bigint, p_seq)
$$;

UPDATE sales SET first_seq = tabshop_first_seq(record, seq);

CREATE FUNCTION tabshop_sales_first_seq() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.first_seq := tabshop_first_seq(NEW.record, NEW.seq);
  RETURN NEW;
END
$$;
CREATE TRIGGER sales_first_seq BEFORE INSERT OR UPDATE ON sales FOR EACH ROW
  WHEN (NEW.first_seq IS NULL)
  EXECUTE FUNCTION tabshop_sales_first_seq();

CREATE INDEX sales_first_seq ON sales (first_seq);
CREATE INDEX sales_register_first_seq ON sales (cash_register, first_seq);
CREATE INDEX sales_status_first_seq ON sales (status, first_seq);
-- The quarantine's lists (by state, oldest first) and counts.
CREATE INDEX quarantine_state_at ON quarantine (state, at);
