-- tabshop-gateway PostgreSQL store, schema version 19: a commit round writes the presence of the
-- registers that changed since this process last wrote it, not the whole document.
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
