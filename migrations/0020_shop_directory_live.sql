-- tabshop-gateway PostgreSQL store, schema version 20: the shop directory followed by every process
-- at once (issue 15). Like the runtime settings (0013): a one-row version that every change of the
-- directory raises first (its row lock orders the changes of all processes), each row stamped with
-- the version that last wrote it, so a process reads only what changed since it last looked.
CREATE TABLE shop_directory_state (
  id       boolean PRIMARY KEY DEFAULT true CHECK (id),
  version  bigint NOT NULL
);
INSERT INTO shop_directory_state (id, version) VALUES (true, 0);

ALTER TABLE shop_directory ADD COLUMN version bigint NOT NULL DEFAULT 0;
CREATE INDEX shop_directory_version ON shop_directory (version);

-- The usernames of the devices and admins added through the API, one row each: a username is one
-- account of one shop across the deployment, decided under this key whichever process adds it.
CREATE TABLE shop_usernames (
  username text PRIMARY KEY,
  shop     text NOT NULL REFERENCES shop_directory (id) ON DELETE CASCADE
);
CREATE INDEX shop_usernames_shop ON shop_usernames (shop);
INSERT INTO shop_usernames (username, shop)
  SELECT a->>'username', d.id
  FROM shop_directory d,
    LATERAL jsonb_array_elements(coalesce(d.doc->'devices', '[]'::jsonb) || coalesce(d.doc->'admins', '[]'::jsonb)) AS a
  WHERE a->>'username' IS NOT NULL
  ORDER BY d.doc->>'createdAt', d.id
  ON CONFLICT (username) DO NOTHING;
