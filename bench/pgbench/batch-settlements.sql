-- :batch settlements per transaction (run.sh passes 100), set-based: the shape of a batched ledger
-- writer. One statement locks every account the batch touches in id order (so concurrent batches
-- cannot deadlock, whatever passengers they drew), one updates each of those balances once (the
-- commission row once per batch, not once per settlement), one inserts the 3 x :batch entries.
-- The settlements come from pgbench_ledger.batch(seed), the same for all three statements.
-- pgbench -D variables: batch, passengers, drivers.
\set seed random(1, 1000000000000)
BEGIN;
SELECT id FROM pgbench_ledger.accounts
WHERE id IN (SELECT passenger FROM pgbench_ledger.batch(:seed, :batch, :passengers, :drivers)
             UNION SELECT driver FROM pgbench_ledger.batch(:seed, :batch, :passengers, :drivers)
             UNION SELECT 0)
ORDER BY id FOR UPDATE;
UPDATE pgbench_ledger.accounts a SET balance_rials = a.balance_rials + d.delta
FROM (SELECT l.account_id, sum(l.amount_rials) AS delta
      FROM pgbench_ledger.batch(:seed, :batch, :passengers, :drivers) b,
           LATERAL (VALUES (b.passenger, -b.fare_rials), (b.driver, b.fare_rials - b.commission_rials),
                           (0, b.commission_rials)) l(account_id, amount_rials)
      GROUP BY l.account_id) d
WHERE a.id = d.account_id;
INSERT INTO pgbench_ledger.entries (settlement_id, account_id, amount_rials)
SELECT s.id, l.account_id, l.amount_rials
FROM (SELECT nextval('pgbench_ledger.settlement_ids') AS id, b.*
      FROM pgbench_ledger.batch(:seed, :batch, :passengers, :drivers) b) s,
     LATERAL (VALUES (s.passenger, -s.fare_rials), (s.driver, s.fare_rials - s.commission_rials),
                     (0, s.commission_rials)) l(account_id, amount_rials);
END;
