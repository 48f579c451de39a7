-- tabshop-gateway PostgreSQL store, schema version 18: the shop directory on PostgreSQL (issue 15).
-- What shops.json holds on lowdb: the shops created through the API (whole), and for a shop of
-- the config file what the API added to it (devices, admins, the disabled flag). One row per shop,
-- its document as the directory keeps it. Read and written in shop default's schema (public unless
-- store.postgres.schema says otherwise); the table is made in every schema a store migrates,
-- where it stays empty.
CREATE TABLE shop_directory (
  id text PRIMARY KEY,
  doc jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
