-- Wallet top-ups through a bank gateway (PSP). The authority is stored before the cardholder
-- is sent to the bank; the credit is one ledger transfer keyed by the top-up.
CREATE TABLE topups (
    topup_id        text PRIMARY KEY,
    wallet_id       text NOT NULL REFERENCES accounts (id),
    amount_rials    bigint NOT NULL CHECK (amount_rials > 0),
    gateway         text NOT NULL,
    state           text NOT NULL CHECK (state IN ('CREATED', 'REQUESTED', 'CALLBACK_RECEIVED', 'VERIFYING',
                                                   'VERIFIED', 'CREDITED', 'FAILED', 'EXPIRED', 'REVERSED')),
    authority       text UNIQUE,
    ref_id          text,
    card_pan        text,
    verify_attempts int NOT NULL DEFAULT 0,
    last_error      text,
    transfer_id     text REFERENCES transfers (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    requested_at    timestamptz,
    callback_at     timestamptz,
    verified_at     timestamptz,
    checked_at      timestamptz,  -- the sweeper's last look: it takes the least recently checked first
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX topups_open ON topups (state, updated_at)
    WHERE state NOT IN ('CREDITED', 'FAILED', 'EXPIRED', 'REVERSED');
CREATE INDEX topups_wallet ON topups (wallet_id, created_at DESC);

CREATE TABLE topup_history (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topup_id    text NOT NULL REFERENCES topups (topup_id),
    state       text NOT NULL,
    cause       text,
    node        text NOT NULL,
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX topup_history_topup ON topup_history (topup_id, id);

CREATE OR REPLACE VIEW payments AS
    SELECT 'trip' AS flow, trip_id AS payment_id, state,
           coalesce(fare_rials, hold_rials) AS amount_rials,
           passenger_wallet_id AS wallet_id, created_at, updated_at
      FROM trips WHERE state <> 'NEW'
    UNION ALL
    SELECT 'topup', topup_id, state, amount_rials, wallet_id, created_at, updated_at FROM topups;
