-- tabshop-gateway PostgreSQL store, schema version 19: cheaper commit rounds.
--
-- 1. A round writes the presence of the registers that changed since this process last wrote it,
-- not the whole document.
-- tabshop_presence_merge (schema 17) walks every register and device of both documents; run in
-- every commit round on the whole document (a register per tablet), it cost more than the round's
-- sales insert. This one walks only the registers and devices written, and keeps the stored ones
-- as they are; for each of them it keeps the later of the stored time and the written one, as
-- tabshop_presence_merge does. Gateways of schema 17 and 18 (a rolling upgrade) still write the
-- whole document with tabshop_presence_merge: both keep the later times, in any order.
CREATE FUNCTION tabshop_presence_merge_some(stored jsonb, written jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_build_object('registers', COALESCE(stored->'registers', '{}'::jsonb) || COALESCE(jsonb_object_agg(w.key,
           tabshop_presence_times(stored->'registers'->w.key, w.value) || jsonb_build_object('devices',
             COALESCE(stored->'registers'->w.key->'devices', '{}'::jsonb) || (
               SELECT COALESCE(jsonb_object_agg(d.key, tabshop_presence_times(stored->'registers'->w.key->'devices'->d.key, d.value)), '{}'::jsonb)
               FROM jsonb_each(COALESCE(w.value->'devices', '{}'::jsonb)) d))), '{}'::jsonb))
  FROM jsonb_each(COALESCE(written->'registers', '{}'::jsonb)) w
$$;

-- 2. A round's fencing check fails the statement when the lease is not held (or is not current),
-- so that a round sent as ONE query string (BEGIN, the check with the version raise, the writes,
-- COMMIT: no round trip in between) stops there: PostgreSQL skips the rest of a query string after
-- an error, and the transaction rolls back. The gateway tells this error by its SQLSTATE, TSL01.
CREATE FUNCTION tabshop_lease_lost(held boolean, current boolean) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  IF current IS NOT TRUE THEN
    RAISE EXCEPTION USING ERRCODE = 'TSL01', MESSAGE = 'another gateway process took the write lease since this round began; it is not done';
  END IF;
  RAISE EXCEPTION USING ERRCODE = 'TSL01', MESSAGE = 'lost the write lease (its connection was dropped); it is taken again for the next unit of work';
END
$$;
