-- tabshop-gateway PostgreSQL store, schema version 11: the back office's figures as rows.
--
-- Register state, the figures of every day and the stats were rebuilt in memory from every stored
-- sale at each start. They are now rows written in the transaction of the sale change that moves
-- them, so a start reads the open days only. Sums are exact: json [units, scale] pairs (units ×
-- 10^-scale), as the gateway adds them; they are never rounded.
--
-- An existing database's rows are computed by the gateway (the figures follow its rules, written
-- in TypeScript once): its first start on this schema visits every stored sale once, writes the
-- rows and sets back_office_state.backfilled in the same transaction; later starts skip it.

-- Per register: the sale changes stored (its version counts them, plus closed days and cash
-- movements) and the devices that stored a sale (json: {cashRegisterName, saleChanges, devices}).
CREATE TABLE back_office_registers (
  cash_register text PRIMARY KEY,
  sale_changes  bigint NOT NULL,
  register      json NOT NULL
);

-- Per register day: its running figures while open, as they were when it closed afterwards (json:
-- {dayId, cashRegisterName, dayNo, openedAt, closed, figures}). The Z report of a closed day is in closed_days.
CREATE TABLE day_figures (
  day_id        text PRIMARY KEY,
  cash_register text NOT NULL,
  day_no        integer NOT NULL,
  opened_at     timestamptz,
  closed        boolean NOT NULL,
  day           json NOT NULL
);
-- What a start reads: the days not closed (one a register, unless a close was lost).
CREATE INDEX day_figures_open ON day_figures (cash_register, day_no) WHERE NOT closed;

-- Stats per (UTC date of receipt, register): its figures (json), and per product and per category
-- (stats_items, kind 'product' or 'category') the sums, which a round adds to in place.
CREATE TABLE stats_buckets (
  received_on   date NOT NULL,
  cash_register text NOT NULL,
  figures       json NOT NULL,
  PRIMARY KEY (received_on, cash_register)
);
CREATE TABLE stats_items (
  received_on    date NOT NULL,
  cash_register  text NOT NULL,
  kind           text NOT NULL CHECK (kind IN ('product', 'category')),
  -- the product identifier or the category path
  item           text NOT NULL,
  -- the line name last received ('' before any)
  name           text NOT NULL,
  sale_count     bigint NOT NULL,
  reversal_count bigint NOT NULL,
  quantity       numeric NOT NULL,
  gross          numeric NOT NULL,
  vat            numeric NOT NULL,
  cost           numeric NOT NULL,
  PRIMARY KEY (received_on, cash_register, kind, item)
);

CREATE TABLE back_office_state (
  id            boolean PRIMARY KEY DEFAULT true CHECK (id),
  -- false until a gateway wrote the rows of every sale stored (then it keeps them)
  backfilled    boolean NOT NULL
);
INSERT INTO back_office_state (id, backfilled) VALUES (true, false);

-- The sales first received in a period (GET /api/sales/stats), of one register or all.
CREATE INDEX sales_received_at ON sales (received_at);
CREATE INDEX sales_register_received_at ON sales (cash_register, received_at);
