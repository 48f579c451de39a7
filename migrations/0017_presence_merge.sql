-- tabshop-gateway PostgreSQL store, schema version 17: presence written by several processes.
-- Each process knows when the devices it served were last seen and last pushed, and writes the
-- presence document with its next round. Writing it whole let the last writer win: a process
-- holding older times overwrote the newer ones another process had written. Now a write keeps,
-- for every register and device, the later of the stored time and the written one; and the row
-- carries the state version, so the other processes read it when they refresh.

-- The later of two ISO-8601 UTC times as the gateway writes them (Date.toISOString: same length,
-- so text order is time order); NULL when neither is known.
CREATE FUNCTION tabshop_later(a text, b text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN a IS NULL THEN b WHEN b IS NULL THEN a WHEN a > b THEN a ELSE b END
$$;

-- {lastSeenAt, lastPushAt}: the later of each.
CREATE FUNCTION tabshop_presence_times(a jsonb, b jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_build_object(
    'lastSeenAt', tabshop_later(a->>'lastSeenAt', b->>'lastSeenAt'),
    'lastPushAt', tabshop_later(a->>'lastPushAt', b->>'lastPushAt'))
$$;

-- Two presence documents {registers: {name: {lastSeenAt, lastPushAt, devices: {username: {…}}}}}:
-- every register and device of either, each with its later times.
CREATE FUNCTION tabshop_presence_merge(stored jsonb, written jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_build_object('registers', COALESCE(jsonb_object_agg(r.name, r.value), '{}'::jsonb))
  FROM (
    SELECT n.name,
           tabshop_presence_times(s.reg, w.reg) || jsonb_build_object('devices', (
             SELECT COALESCE(jsonb_object_agg(d.name, tabshop_presence_times(s.reg->'devices'->d.name, w.reg->'devices'->d.name)), '{}'::jsonb)
             FROM (SELECT jsonb_object_keys(COALESCE(s.reg->'devices', '{}'::jsonb)) AS name
                   UNION SELECT jsonb_object_keys(COALESCE(w.reg->'devices', '{}'::jsonb))) d)) AS value
    FROM (SELECT jsonb_object_keys(COALESCE(stored->'registers', '{}'::jsonb)) AS name
          UNION SELECT jsonb_object_keys(COALESCE(written->'registers', '{}'::jsonb))) n,
         LATERAL (SELECT stored->'registers'->n.name AS reg) s,
         LATERAL (SELECT written->'registers'->n.name AS reg) w
  ) r
$$;

ALTER TABLE presence ADD COLUMN state_version bigint NOT NULL DEFAULT 0;
CREATE TRIGGER presence_state_version BEFORE INSERT OR UPDATE ON presence FOR EACH ROW
  EXECUTE FUNCTION tabshop_stamp_state_version();
