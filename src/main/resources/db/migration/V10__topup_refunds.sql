-- Top-up refunds (issue 14): money of a credited top-up sent back to the card, by the bank's reverse
-- (a full refund inside its window) or its refund API. The wallet is debited first under a hold
-- (holds.id = hold_id), posted to PSP clearing when the bank has refunded, voided when it refused.
-- 'CREATED' is the journal's intent only: the row is written HELD, with its hold, in one ledger batch
-- under the top-up's lock, which is also where the refunds of one top-up are summed.
CREATE TABLE topup_refunds (
    refund_id       text PRIMARY KEY,
    topup_id        text NOT NULL REFERENCES topups (topup_id),
    wallet_id       text NOT NULL REFERENCES accounts (id),
    amount_rials    bigint NOT NULL CHECK (amount_rials > 0),
    method          text NOT NULL CHECK (method IN ('REVERSE', 'REFUND')),
    state           text NOT NULL CHECK (state IN ('CREATED', 'HELD', 'SENT', 'REFUNDED', 'FAILED')),
    reason          text NOT NULL,
    ticket          text NOT NULL,
    hold_id         text NOT NULL REFERENCES holds (id),
    bank_refund_id  text,            -- the bank's id of a refund-API refund, once learned
    sends           int NOT NULL DEFAULT 0,  -- requests that reached the network (each after a lookup said "not there")
    last_error      text,
    transfer_id     text REFERENCES transfers (id),
    owner           text,            -- the node driving it mid-step, until lease_until (as for top-ups)
    lease_until     timestamptz,
    checked_at      timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX topup_refunds_topup ON topup_refunds (topup_id);
CREATE INDEX topup_refunds_open ON topup_refunds (state, updated_at) WHERE state IN ('HELD', 'SENT');

CREATE TABLE topup_refund_history (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    refund_id   text NOT NULL REFERENCES topup_refunds (refund_id),
    state       text NOT NULL,
    cause       text,
    node        text NOT NULL,
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX topup_refund_history_refund ON topup_refund_history (refund_id, id);

CREATE OR REPLACE VIEW payments AS
    SELECT 'trip' AS flow, trip_id AS payment_id, state,
           coalesce(fare_rials, hold_rials) AS amount_rials,
           passenger_wallet_id AS wallet_id, created_at, updated_at
      FROM trips WHERE state <> 'NEW'
    UNION ALL
    SELECT 'topup', topup_id, state, amount_rials, wallet_id, created_at, updated_at FROM topups
    UNION ALL
    SELECT 'payout', payout_id, state, amount_rials, wallet_id, created_at, updated_at FROM payouts
    UNION ALL
    SELECT 'refund', refund_id, state, amount_rials, wallet_id, created_at, updated_at FROM topup_refunds;
