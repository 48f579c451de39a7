-- tabshop-gateway PostgreSQL store, schema version 15: the kitchen display shared by every process.

-- Order ids and change seqs come from sequences, so they are unique whichever process writes.
-- Every change that takes a seq does so under one transaction-scoped advisory lock, so seqs
-- become visible in their order and a screen catching up by seq misses none.
CREATE SEQUENCE kitchen_order_ids;
CREATE SEQUENCE kitchen_seqs;
SELECT setval('kitchen_order_ids', coalesce((SELECT max(id) FROM kitchen_orders), 0) + 1, false);
SELECT setval('kitchen_seqs', coalesce((SELECT max(seq) FROM kitchen_orders), 0) + 1, false);

-- The screens' catch-up (changes after a seq), the open orders, the recall list (newest done
-- first) and the orders still owed to a webhook are queries: nothing of the history in memory.
CREATE UNIQUE INDEX kitchen_orders_seq ON kitchen_orders (seq);
CREATE INDEX kitchen_orders_open ON kitchen_orders (id) WHERE state = 'open';
CREATE INDEX kitchen_orders_done_seq ON kitchen_orders (seq) WHERE state = 'done';
CREATE INDEX kitchen_orders_hooks_pending ON kitchen_orders (id)
  WHERE json_array_length(coalesce(order_doc->'pendingHooks', '[]'::json)) > 0;
