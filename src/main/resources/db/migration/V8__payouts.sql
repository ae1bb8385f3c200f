-- Driver payouts (cash-outs to an IBAN). A payout holds the amount on the driver's wallet, asks the
-- payout provider for a transfer under the payout's id as reference, and then posts the hold to
-- payout clearing (PAID) or voids it (FAILED, the money back in the wallet).
ALTER TABLE accounts ADD COLUMN iban text;  -- a driver's payout account, for the daily batch

CREATE TABLE payouts (
    payout_id             text PRIMARY KEY,
    wallet_id             text NOT NULL REFERENCES accounts (id),
    amount_rials          bigint NOT NULL CHECK (amount_rials > 0),
    iban                  text NOT NULL,
    provider              text NOT NULL,
    state                 text NOT NULL CHECK (state IN ('CREATED', 'HELD', 'SENT', 'PAID', 'FAILED')),
    batch_day             date,  -- the daily batch's day: one payout per driver and day
    hold_id               text REFERENCES holds (id),
    transfer_id           text REFERENCES transfers (id),
    provider_transfer_id  text,
    failure_reason        text,
    last_error            text,
    send_attempts         int NOT NULL DEFAULT 0,
    owner                 text,
    lease_until           timestamptz,
    checked_at            timestamptz,
    created_at            timestamptz NOT NULL DEFAULT now(),
    sent_at               timestamptz,
    updated_at            timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX payouts_batch_day ON payouts (batch_day, wallet_id) WHERE batch_day IS NOT NULL;
CREATE INDEX payouts_open ON payouts (state, updated_at) WHERE state NOT IN ('PAID', 'FAILED');
CREATE INDEX payouts_wallet ON payouts (wallet_id, created_at DESC);

CREATE TABLE payout_history (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    payout_id   text NOT NULL REFERENCES payouts (payout_id),
    state       text NOT NULL,
    cause       text,
    node        text NOT NULL,
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payout_history_payout ON payout_history (payout_id, id);

CREATE OR REPLACE VIEW payments AS
    SELECT 'trip' AS flow, trip_id AS payment_id, state,
           coalesce(fare_rials, hold_rials) AS amount_rials,
           passenger_wallet_id AS wallet_id, created_at, updated_at
      FROM trips WHERE state <> 'NEW'
    UNION ALL
    SELECT 'topup', topup_id, state, amount_rials, wallet_id, created_at, updated_at FROM topups
    UNION ALL
    SELECT 'payout', payout_id, state, amount_rials, wallet_id, created_at, updated_at FROM payouts;
