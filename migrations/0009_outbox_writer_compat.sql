-- tabshop-gateway PostgreSQL store, schema version 9: a rolling upgrade from a version that
-- delivers its outbox from memory (schema ≤ 7) to one that claims it from the table (8).

-- While a process of the previous version still leads, it delivers every outbox item from its
-- memory; a follower of this version must not claim those items too (every event would go out
-- twice, out of order). The leader's row says which kind of writer leads: writer_schema is the
-- leading process's `tabshop.writer_schema` (0: a version that does not announce it).
ALTER TABLE gateway_leader ADD COLUMN writer_schema integer NOT NULL DEFAULT 0;
CREATE FUNCTION tabshop_gateway_leader_writer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.writer_schema := coalesce(substring(current_setting('tabshop.writer_schema', true) FROM '^[0-9]{1,9}$'), '0')::integer;
  RETURN NEW;
END
$$;
CREATE TRIGGER gateway_leader_writer BEFORE INSERT OR UPDATE ON gateway_leader FOR EACH ROW
  EXECUTE FUNCTION tabshop_gateway_leader_writer();

-- A previous version (writer_schema below 8) writes only the item: its dismissal and backoff go
-- into the columns of schema 8 here, so that the dead letters it dismissed stay dismissed once
-- this version leads.
CREATE FUNCTION tabshop_outbox_columns_from_item() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.dismissed := NEW.dead AND NEW.item->'dismissed' IS NOT NULL AND json_typeof(NEW.item->'dismissed') <> 'null';
  NEW.next_attempt_at := CASE WHEN NOT NEW.dead THEN (NEW.item->>'nextAttemptAt')::timestamptz END;
  RETURN NEW;
END
$$;
CREATE TRIGGER outbox_columns_from_item BEFORE INSERT OR UPDATE ON outbox FOR EACH ROW
  WHEN (coalesce(substring(current_setting('tabshop.writer_schema', true) FROM '^[0-9]{1,9}$'), '0')::integer < 8)
  EXECUTE FUNCTION tabshop_outbox_columns_from_item();
-- What a previous version dismissed since migration 8 (applied by a follower while it led).
UPDATE outbox SET dismissed = true WHERE dead AND NOT dismissed AND item->'dismissed' IS NOT NULL AND json_typeof(item->'dismissed') <> 'null';
