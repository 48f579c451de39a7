-- tabshop-gateway PostgreSQL store, schema version 21: the number of sales as a row.
-- /metrics reads tabshop_sales_stored on every scrape; count(*) over sales grew with the history.
-- The row moves in the statement (and so the transaction) that inserts or deletes sales, whoever
-- runs it (a commit round, a copy from lowdb): one update per statement, never one per row.

CREATE TABLE sales_count (
  id  boolean PRIMARY KEY DEFAULT true CHECK (id),
  n   bigint NOT NULL
);
INSERT INTO sales_count (id, n) SELECT true, count(*) FROM sales;

-- The schema is the trigger's table's: one database holds a schema per shop, and a trigger runs
-- with the search_path of whichever connection fired it.
CREATE FUNCTION tabshop_sales_counted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  delta bigint;
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    EXECUTE format('UPDATE %I.sales_count SET n = 0', TG_TABLE_SCHEMA);
    RETURN NULL;
  END IF;
  SELECT count(*) INTO delta FROM changed;
  IF delta > 0 THEN
    EXECUTE format('UPDATE %I.sales_count SET n = n + $1', TG_TABLE_SCHEMA) USING CASE WHEN TG_OP = 'INSERT' THEN delta ELSE -delta END;
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER sales_count_inserted AFTER INSERT ON sales REFERENCING NEW TABLE AS changed
  FOR EACH STATEMENT EXECUTE FUNCTION tabshop_sales_counted();
CREATE TRIGGER sales_count_deleted AFTER DELETE ON sales REFERENCING OLD TABLE AS changed
  FOR EACH STATEMENT EXECUTE FUNCTION tabshop_sales_counted();
CREATE TRIGGER sales_count_truncated AFTER TRUNCATE ON sales
  FOR EACH STATEMENT EXECUTE FUNCTION tabshop_sales_counted();
