-- tabshop-gateway PostgreSQL store, schema version 8: the outbox is claimed from the table.

-- Any gateway process delivers: a worker claims due items (FOR UPDATE SKIP LOCKED) by setting
-- claimed_by (its process id) and lease_until; it then deletes the item (delivered), records the
-- attempt or dead-letters it, each only while it still holds the claim. An expired lease (a
-- process killed or frozen mid-delivery) makes the item claimable again. id identifies a row in
-- those conditional statements; next_attempt_at is the backoff (null: due now); dismissed marks
-- a dead letter an admin dismissed. The item (json) keeps everything else (attempts, last error,
-- dead letter details).
ALTER TABLE outbox ADD COLUMN id bigserial;
ALTER TABLE outbox ADD CONSTRAINT outbox_id_key UNIQUE (id);
ALTER TABLE outbox ADD COLUMN next_attempt_at timestamptz;
ALTER TABLE outbox ADD COLUMN claimed_by text;
ALTER TABLE outbox ADD COLUMN lease_until timestamptz;
ALTER TABLE outbox ADD COLUMN dismissed boolean NOT NULL DEFAULT false;
UPDATE outbox SET dismissed = true WHERE dead AND item->'dismissed' IS NOT NULL;
UPDATE outbox SET next_attempt_at = (item->>'nextAttemptAt')::timestamptz WHERE NOT dead AND item->>'nextAttemptAt' IS NOT NULL;
-- The claim looks for the heads of registers among the pending items of a target.
CREATE INDEX outbox_pending ON outbox (target, cash_register, seq, id) WHERE NOT dead;
