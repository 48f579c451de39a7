-- tabshop-gateway PostgreSQL store, schema version 3: several gateway processes on one database.
-- One process leads (it holds the gateway advisory lock and serves everything); the others forward
-- their requests to it and take over when its lock is released (stop, crash, lost connection).

-- The leading process: where the others forward to, and the fencing epoch. A new leader raises the
-- epoch before loading anything; every commit round of a leader checks the epoch is still its own
-- (FOR SHARE), so a process that lost the lead can never commit after the new one loaded.
CREATE TABLE gateway_leader (
  id            boolean PRIMARY KEY DEFAULT true CHECK (id),
  epoch         bigint NOT NULL,
  url           text NOT NULL,
  holder        text NOT NULL,
  since         timestamptz NOT NULL DEFAULT now()
);
