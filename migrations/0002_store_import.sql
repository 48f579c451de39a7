-- tabshop-gateway PostgreSQL store, schema version 2: copies of lowdb data dirs (migrate-store).

-- A journal line copied from a lowdb data dir names its origin (<file>:<line>), so a copy that is
-- run again (resumed) adds each line once. Lines the gateway journals itself have none.
ALTER TABLE journal ADD COLUMN source text;
CREATE UNIQUE INDEX journal_source ON journal (source);

-- One row per lowdb data dir copied in (or being copied): its report once verified.
CREATE TABLE store_imports (
  source        text PRIMARY KEY,
  started_at    timestamptz NOT NULL DEFAULT now(),
  finished_at   timestamptz,
  report        json
);
