-- What `taraz reconcile --apply` did, one row per finding it acted on, keyed by the finding. A
-- ledger correction writes its row in the same transaction as its transfer; a PSP reverse writes
-- it once the bank has reversed. A finding whose key is here is not acted on twice, and a later
-- run does not report a bank-side duplicate that was already refunded.
CREATE TABLE reconciliation_actions (
    finding_key  text PRIMARY KEY,
    kind         text NOT NULL,
    payment_id   text,
    wallet_id    text,
    amount_rials bigint,
    action       text NOT NULL,
    transfer_id  text REFERENCES transfers (id) DEFERRABLE INITIALLY DEFERRED,  -- the row is written first, as the claim
    run_id       text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
