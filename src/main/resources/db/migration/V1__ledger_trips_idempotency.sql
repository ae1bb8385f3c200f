-- The ledger: accounts with cached balances, immutable transfers, their entries, and holds.
-- Sign convention: an entry's amount is positive for a credit and negative for a debit, so a
-- balance is the sum of its entries and the sum of all balances is always 0.

CREATE TABLE accounts (
    id               text PRIMARY KEY,
    kind             text NOT NULL CHECK (kind IN ('passenger', 'driver', 'platform_commission',
                                                   'psp_clearing', 'payout_clearing', 'corrections')),
    owner_id         text,
    phone            text,
    name             text,
    allow_overdraft  boolean NOT NULL DEFAULT false,
    balance_rials    bigint NOT NULL DEFAULT 0,
    held_rials       bigint NOT NULL DEFAULT 0 CHECK (held_rials >= 0),
    created_at       timestamptz NOT NULL DEFAULT now(),
    -- No overdraft, enforced by the database on every write: available = balance - held >= 0.
    CONSTRAINT no_overdraft CHECK (allow_overdraft OR balance_rials - held_rials >= 0)
);
CREATE UNIQUE INDEX accounts_wallet_owner ON accounts (kind, owner_id) WHERE owner_id IS NOT NULL;

-- The system accounts. They may go negative: PSP clearing is money the bank holds for us.
INSERT INTO accounts (id, kind, allow_overdraft, name) VALUES
    ('platform-commission', 'platform_commission', true, 'platform commission'),
    ('psp-clearing',        'psp_clearing',        true, 'PSP clearing'),
    ('payout-clearing',     'payout_clearing',     true, 'payout clearing'),
    ('corrections',         'corrections',         true, 'reconciliation corrections');

-- A transfer's id is its idempotency key in the ledger: a step that runs twice inserts once.
CREATE TABLE transfers (
    id            text PRIMARY KEY,
    kind          text NOT NULL,
    payment_id    text,
    amount_rials  bigint NOT NULL CHECK (amount_rials > 0),
    reason        text,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX transfers_payment ON transfers (payment_id);

CREATE TABLE entries (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transfer_id         text NOT NULL REFERENCES transfers (id),
    account_id          text NOT NULL REFERENCES accounts (id),
    amount_rials        bigint NOT NULL CHECK (amount_rials <> 0),
    balance_after_rials bigint NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX entries_account ON entries (account_id, id DESC);
CREATE INDEX entries_transfer ON entries (transfer_id);

-- Zero sum per transfer, checked by the database at commit, whatever code wrote the entries.
CREATE FUNCTION transfer_balances() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    total numeric;
BEGIN
    SELECT coalesce(sum(amount_rials), 0) INTO total FROM entries WHERE transfer_id = NEW.transfer_id;
    IF total <> 0 THEN
        RAISE EXCEPTION 'transfer % does not balance: entries sum to %', NEW.transfer_id, total
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER entries_zero_sum AFTER INSERT ON entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION transfer_balances();

CREATE TABLE holds (
    id            text PRIMARY KEY,
    account_id    text NOT NULL REFERENCES accounts (id),
    amount_rials  bigint NOT NULL CHECK (amount_rials > 0),
    state         text NOT NULL CHECK (state IN ('HELD', 'POSTED', 'VOIDED', 'EXPIRED')),
    expires_at    timestamptz NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX holds_active ON holds (account_id) WHERE state = 'HELD';

-- Trip payments. 'NEW' exists only inside a transaction that locks a trip it is creating.
CREATE TABLE trips (
    trip_id              text PRIMARY KEY,
    state                text NOT NULL CHECK (state IN ('NEW', 'HELD', 'SETTLED', 'VOIDED', 'EXPIRED')),
    passenger_wallet_id  text NOT NULL REFERENCES accounts (id),
    driver_wallet_id     text REFERENCES accounts (id),
    hold_id              text REFERENCES holds (id),
    hold_rials           bigint,
    hold_expires_at      timestamptz,
    fare_rials           bigint,
    commission_rials     bigint,
    transfer_id          text REFERENCES transfers (id),
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX trips_held_expiry ON trips (hold_expires_at) WHERE state = 'HELD';
CREATE INDEX trips_state_age ON trips (state, updated_at);

-- Idempotency keys (Stripe semantics), shared by every replica through the database.
CREATE TABLE idempotency_keys (
    key              text PRIMARY KEY,
    request_hash     text NOT NULL,
    method           text NOT NULL,
    path             text NOT NULL,
    state            text NOT NULL CHECK (state IN ('in_progress', 'done')),
    owner            text NOT NULL,
    locked_until     timestamptz NOT NULL,
    response_status  int,
    response_body    text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- Every payment of every flow, for the admin API and monitoring; later flows add their tables.
CREATE VIEW payments AS
    SELECT 'trip' AS flow, trip_id AS payment_id, state,
           coalesce(fare_rials, hold_rials) AS amount_rials,
           passenger_wallet_id AS wallet_id, created_at, updated_at
      FROM trips WHERE state <> 'NEW';
