-- tabshop-gateway PostgreSQL store, schema version 4: central stock for SQL.

-- The central stock quantity of every tracked product (a level was set): the level as set, plus
-- adjustments, less what sales took since (reversals put back). Written in the same transaction
-- as the sale (or the level change) that moved it, and rewritten whole when a gateway process
-- takes the lead. Products without a level are not tracked and have no row.
CREATE TABLE stock_levels (
  product       text PRIMARY KEY,
  quantity      numeric NOT NULL,
  changed_at    timestamptz NOT NULL DEFAULT now()
);
