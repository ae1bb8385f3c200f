-- The pgbench side of bench/run.sh: a ledger of its own in a schema of its own, on the gateway's
-- embedded PostgreSQL. It never reads or writes taraz's tables; run.sh drops the schema after.
-- psql variables: passengers, drivers (the bounded sets the settlements draw from).
\set ON_ERROR_STOP on
DROP SCHEMA IF EXISTS pgbench_ledger CASCADE;
CREATE SCHEMA pgbench_ledger;
SET search_path = pgbench_ledger;

-- Account 0 is the platform's commission account (the one shared row every settlement credits),
-- 1..passengers the passengers, then the drivers. No overdraft, as in taraz's accounts.
CREATE TABLE accounts (
    id            bigint PRIMARY KEY,
    balance_rials bigint NOT NULL CHECK (balance_rials >= 0)
);
CREATE TABLE entries (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    settlement_id bigint NOT NULL,
    account_id    bigint NOT NULL,
    amount_rials  bigint NOT NULL CHECK (amount_rials <> 0),
    created_at    timestamptz NOT NULL DEFAULT now()
);
-- The two indexes taraz's entries carry: an account's history newest first, a transfer's legs.
CREATE INDEX entries_account ON entries (account_id, id DESC);
CREATE INDEX entries_settlement ON entries (settlement_id);
CREATE SEQUENCE settlement_ids;

-- Passengers start with enough for any run (10^15 Rials each, at most 5,000,000 per fare).
INSERT INTO accounts (id, balance_rials)
SELECT g, CASE WHEN g BETWEEN 1 AND :passengers THEN 1000000000000000 ELSE 0 END
FROM generate_series(0, :passengers + :drivers) g;

-- A batch of settlements drawn from a seed: the same seed gives the same batch, so the statements
-- of one transaction (lock, update, insert) all see the same settlements without a temporary
-- table. The mask keeps the hash non-negative (abs() of the smallest bigint would overflow).
CREATE FUNCTION batch(seed bigint, settlements int, passengers int, drivers int)
RETURNS TABLE (n int, passenger bigint, driver bigint, fare_rials bigint, commission_rials bigint)
LANGUAGE sql IMMUTABLE AS $$
    SELECT n,
           1 + (hashint8extended(n, seed) & 9223372036854775807) % passengers,
           passengers + 1 + (hashint8extended(n, seed + 1) & 9223372036854775807) % drivers,
           fare, fare / 5
    FROM generate_series(1, settlements) n,
         LATERAL (SELECT 100000 + (hashint8extended(n, seed + 2) & 9223372036854775807) % 4900001) f(fare)
$$;

VACUUM ANALYZE accounts;
