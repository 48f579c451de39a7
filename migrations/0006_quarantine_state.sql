-- tabshop-gateway PostgreSQL store, schema version 6: the quarantine is a to-do list.

-- Every item is open until an admin releases it (a sale was stored) or dismisses it (with a
-- reason); the item (json) keeps the details (resolvedAt, resolvedBy, resolution). Identical
-- items (same register, code and payload) are stored once and counted. Items stored before
-- this version are open and were seen once.
ALTER TABLE quarantine ADD COLUMN state text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'released', 'dismissed'));
ALTER TABLE quarantine ADD COLUMN count integer NOT NULL DEFAULT 1;
UPDATE quarantine SET state = item->>'state' WHERE item->>'state' IN ('released', 'dismissed');
CREATE INDEX quarantine_open ON quarantine (at) WHERE state = 'open';
