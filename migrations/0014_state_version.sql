-- tabshop-gateway PostgreSQL store, schema version 14: every gateway process is equal.
-- Writes are serialised by a lease (a transaction-scoped advisory lock taken by whichever process has
-- work to do); a process keeps only bounded caches in memory (catalogue, stock levels, registers…)
-- and brings them up to date when another process wrote since it last did.

-- The state version: raised by every commit round, under the lease, in the round's transaction.
-- A process compares it with the version its caches reflect (one single-row read).
CREATE TABLE gateway_state (
  id       boolean PRIMARY KEY DEFAULT true CHECK (id),
  version  bigint NOT NULL
);
INSERT INTO gateway_state (id, version) VALUES (true, 0);

-- The cached rows a refresh must read "what changed since": each carries the state version of the
-- round that last wrote it, stamped by the database (the round raised the version first).
CREATE FUNCTION tabshop_stamp_state_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.state_version := (SELECT version FROM gateway_state WHERE id);
  RETURN NEW;
END
$$;

ALTER TABLE stock_levels ADD COLUMN state_version bigint NOT NULL DEFAULT 0;
CREATE INDEX stock_levels_state_version ON stock_levels (state_version);
CREATE TRIGGER stock_levels_state_version BEFORE INSERT OR UPDATE ON stock_levels FOR EACH ROW
  EXECUTE FUNCTION tabshop_stamp_state_version();

-- gateway_leader now names the last process that took the write lease; its epoch still fences a
-- holder that lost the lease (frozen, cut off) out of every later commit round.
COMMENT ON TABLE gateway_leader IS 'the last holder of the write lease and the fencing epoch (raised at every acquisition)';

-- The back office's cached rows (schema 11): register state, day figures, closed days, cash movements.
ALTER TABLE back_office_registers ADD COLUMN state_version bigint NOT NULL DEFAULT 0;
CREATE INDEX back_office_registers_state_version ON back_office_registers (state_version);
CREATE TRIGGER back_office_registers_state_version BEFORE INSERT OR UPDATE ON back_office_registers FOR EACH ROW
  EXECUTE FUNCTION tabshop_stamp_state_version();
ALTER TABLE day_figures ADD COLUMN state_version bigint NOT NULL DEFAULT 0;
CREATE INDEX day_figures_state_version ON day_figures (state_version);
CREATE TRIGGER day_figures_state_version BEFORE INSERT OR UPDATE ON day_figures FOR EACH ROW
  EXECUTE FUNCTION tabshop_stamp_state_version();
ALTER TABLE closed_days ADD COLUMN state_version bigint NOT NULL DEFAULT 0;
CREATE INDEX closed_days_state_version ON closed_days (state_version);
CREATE TRIGGER closed_days_state_version BEFORE INSERT OR UPDATE ON closed_days FOR EACH ROW
  EXECUTE FUNCTION tabshop_stamp_state_version();
ALTER TABLE cash_movements ADD COLUMN state_version bigint NOT NULL DEFAULT 0;
CREATE INDEX cash_movements_state_version ON cash_movements (state_version);
CREATE TRIGGER cash_movements_state_version BEFORE INSERT OR UPDATE ON cash_movements FOR EACH ROW
  EXECUTE FUNCTION tabshop_stamp_state_version();
