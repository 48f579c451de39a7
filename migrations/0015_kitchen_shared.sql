-- tabshop-gateway PostgreSQL store, schema version 15: the kitchen display shared by every process.

-- Order ids and change seqs come from sequences, so they are unique whichever process writes.
-- Every change that takes a seq does so under one transaction-scoped advisory lock, so seqs
-- become visible in their order and a screen catching up by seq misses none.
CREATE SEQUENCE kitchen_order_ids;
CREATE SEQUENCE kitchen_seqs;
SELECT setval('kitchen_order_ids', coalesce((SELECT max(id) FROM kitchen_orders), 0) + 1, false);
SELECT setval('kitchen_seqs', coalesce((SELECT max(seq) FROM kitchen_orders), 0) + 1, false);

-- Whether webhooks still wait for the order, as a column: json functions on order_doc fail on a
-- rejected message whose reason quotes a NUL byte (\u0000), so no query or index parses it. The
-- document's text is matched instead (JSON.stringify writes the key so; a string value cannot
-- hold an unescaped quote).
ALTER TABLE kitchen_orders ADD COLUMN hooks_pending boolean NOT NULL DEFAULT false;
UPDATE kitchen_orders SET hooks_pending = true WHERE order_doc::text LIKE '%"pendingHooks":["%';

-- The screens' catch-up (changes after a seq), the open orders, the recall list (newest done
-- first) and the orders still owed to a webhook are queries: nothing of the history in memory.
CREATE UNIQUE INDEX kitchen_orders_seq ON kitchen_orders (seq);
CREATE INDEX kitchen_orders_open ON kitchen_orders (id) WHERE state = 'open';
CREATE INDEX kitchen_orders_done_seq ON kitchen_orders (seq) WHERE state = 'done';
CREATE INDEX kitchen_orders_hooks_pending ON kitchen_orders (id) WHERE hooks_pending;

-- The kitchen screen's CSRF token, one per database: a screen whose event stream came from one
-- process posts its Done to whichever process the load balancer picks.
CREATE TABLE kitchen_screen (
  id            integer PRIMARY KEY CHECK (id = 1),
  csrf_token    text NOT NULL
);
