-- bench/chaos.sh keeps the harness's acks file (taraz bench --acks) in a schema of its own in the
-- gateway's database, loaded a slice at a time as the file grows, so that every check can join
-- all the promises the gateway made with what the ledger holds. taraz's tables are never touched.
CREATE SCHEMA IF NOT EXISTS chaos;
CREATE TABLE IF NOT EXISTS chaos.acks (
    line              bigint PRIMARY KEY,   -- the line's number in the acks file: loaded once each
    at_millis         bigint NOT NULL,      -- when the harness got the answer
    op                text NOT NULL CHECK (op IN ('fund', 'hold', 'cancel', 'settle', 'topup', 'paid', 'credited')),
    id                text NOT NULL,        -- adjustmentId, tripId or topupId
    wallet_id         text NOT NULL,
    driver_wallet_id  text,
    amount_rials      bigint,
    commission_rials  bigint,
    authority         text
);
CREATE INDEX IF NOT EXISTS acks_op_id ON chaos.acks (op, id);
