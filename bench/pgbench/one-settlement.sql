-- One trip settlement per transaction, the work taraz's settle does in the ledger: three balance
-- updates (the passenger pays the fare, the driver gets fare - commission, the ONE shared commission
-- row gets the commission) and three entries, committed durably. Passengers are locked before
-- drivers and drivers before the commission row, so concurrent clients cannot deadlock.
-- pgbench -D variables: passengers, drivers.
\set passenger random(1, :passengers)
\set driver :passengers + random(1, :drivers)
\set fare random(100000, 5000000)
\set commission :fare / 5
\set net :fare - :commission
\set debit -:fare
BEGIN;
UPDATE pgbench_ledger.accounts SET balance_rials = balance_rials - :fare WHERE id = :passenger;
UPDATE pgbench_ledger.accounts SET balance_rials = balance_rials + :net WHERE id = :driver;
UPDATE pgbench_ledger.accounts SET balance_rials = balance_rials + :commission WHERE id = 0;
INSERT INTO pgbench_ledger.entries (settlement_id, account_id, amount_rials) VALUES (nextval('pgbench_ledger.settlement_ids'), :passenger, :debit);
INSERT INTO pgbench_ledger.entries (settlement_id, account_id, amount_rials) VALUES (currval('pgbench_ledger.settlement_ids'), :driver, :net);
INSERT INTO pgbench_ledger.entries (settlement_id, account_id, amount_rials) VALUES (currval('pgbench_ledger.settlement_ids'), 0, :commission);
END;
