-- tabshop-gateway PostgreSQL store: the back office's runtime settings (devices created at run
-- time, low-stock thresholds), shared by every gateway process on this database.

-- One row: the settings' version. Every write raises it first (taking the row's lock until it
-- commits), so versions commit in order and "anything newer than what I hold?" is one read of
-- one row; the rows a write touches carry its version.
CREATE TABLE runtime_settings_state (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  version bigint NOT NULL DEFAULT 0
);
INSERT INTO runtime_settings_state (id, version) VALUES (true, 0);

-- Devices created in the back office. A deleted device stays as a row with deleted = true (so
-- other processes learn of the deletion from its version); creating the name again reuses it.
-- The primary key decides between two processes creating the same name at once.
CREATE TABLE runtime_devices (
  username text PRIMARY KEY,
  password_hash text NOT NULL,
  cash_register text NOT NULL,
  created_at timestamptz NOT NULL,
  password_changed_at timestamptz NOT NULL,
  deleted boolean NOT NULL DEFAULT false,
  version bigint NOT NULL
);
CREATE INDEX runtime_devices_version ON runtime_devices (version);

-- Per product: at or below this quantity its stock is shown as low. threshold null: removed
-- (kept as a row so other processes learn of it from its version).
CREATE TABLE low_stock_thresholds (
  product text PRIMARY KEY,
  threshold numeric,
  version bigint NOT NULL
);
CREATE INDEX low_stock_thresholds_version ON low_stock_thresholds (version);
