-- A customer's story (issue 15): support reads one timeline per wallet (admin.StoryService). Most of it is already
-- stored (entries, top-up and payout and refund histories, holds, reconciliation actions); this adds what was not:
-- each call a top-up's completer made to the bank, with its answer, and who drove each step; and each refused trip step.

-- Who drove a top-up's step (topup.Driver): the request, the bank's callback, the sweeper, boot recovery, a
-- reconcile run, or support's console. NULL on the rows written before this column existed.
ALTER TABLE topup_history ADD COLUMN driven_by text
    CHECK (driven_by IN ('REQUEST', 'CALLBACK', 'SWEEPER', 'RECOVERY', 'RECONCILE', 'CONSOLE'));

-- Every call TopupService made to the bank about a top-up, with the bank's answer: the state of its inquiry, the
-- outcome of its verify (and the code), LISTED when the unVerified list named the payment, or NO_ANSWER with the
-- error (a timeout, a 5xx) when the bank did not answer, so a verify that timed out and was retried is visible.
CREATE TABLE topup_bank_calls (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topup_id    text NOT NULL REFERENCES topups (topup_id),
    call        text NOT NULL CHECK (call IN ('VERIFY', 'INQUIRY', 'REVERSE', 'UNVERIFIED')),
    answer      text NOT NULL,
    code        int,
    error       text,
    driven_by   text NOT NULL CHECK (driven_by IN ('REQUEST', 'CALLBACK', 'SWEEPER', 'RECOVERY', 'RECONCILE', 'CONSOLE')),
    node        text NOT NULL,
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX topup_bank_calls_topup ON topup_bank_calls (topup_id, id);

-- A trip step the ledger writer refused (a hold short of funds, a second settle with other amounts, a cancel of a
-- settled trip, a refund beyond the fare), written in the refusing batch's transaction. No reference to trips: a
-- refused first hold leaves no trip row, and the rejection is still the passenger's story.
CREATE TABLE trip_rejections (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    trip_id              text NOT NULL,
    step                 text NOT NULL CHECK (step IN ('hold', 'settle', 'cancel', 'expire', 'refund')),
    code                 text NOT NULL,
    passenger_wallet_id  text,
    driver_wallet_id     text,
    amount_rials         bigint,
    at                   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX trip_rejections_passenger ON trip_rejections (passenger_wallet_id, at) WHERE passenger_wallet_id IS NOT NULL;
CREATE INDEX trip_rejections_driver ON trip_rejections (driver_wallet_id, at) WHERE driver_wallet_id IS NOT NULL;

-- The story's reads by wallet, each by an index: a wallet's trips (as passenger or driver), its top-up refunds, the
-- reconciliation actions about it.
CREATE INDEX trips_passenger ON trips (passenger_wallet_id);
CREATE INDEX trips_driver ON trips (driver_wallet_id) WHERE driver_wallet_id IS NOT NULL;
CREATE INDEX topup_refunds_wallet ON topup_refunds (wallet_id);
CREATE INDEX reconciliation_actions_wallet ON reconciliation_actions (wallet_id) WHERE wallet_id IS NOT NULL;

-- A phone as support types it and as a wallet was opened with, in one form: a leading 0098, 0 or 98 (of a 12-digit
-- number) becomes +98, and a bare 10-digit mobile number starting with 9 gets +98; anything else stays as it is.
-- So 09121234567, +989121234567, 00989121234567 and 9121234567 are one phone.
CREATE FUNCTION phone_normalized(phone text) RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE
        WHEN phone LIKE '+%' THEN phone
        WHEN phone LIKE '0098%' THEN '+98' || substr(phone, 5)
        WHEN phone LIKE '00%' THEN '+' || substr(phone, 3)
        WHEN phone LIKE '0%' THEN '+98' || substr(phone, 2)
        WHEN phone LIKE '98%' AND length(phone) = 12 THEN '+' || phone
        WHEN phone LIKE '9%' AND length(phone) = 10 THEN '+98' || phone
        ELSE phone
    END
$$;
CREATE INDEX accounts_phone ON accounts (phone_normalized(phone)) WHERE phone IS NOT NULL;
CREATE INDEX accounts_owner ON accounts (owner_id) WHERE owner_id IS NOT NULL;
