-- Trip refunds (issue 14): support gives part or all of a settled trip's fare back to the passenger, taken
-- from the driver and the platform in the fare's proportions, in one transfer per refund.

-- A driver whose balance no longer covers their share of a refund goes below zero: the refund is allowed
-- to, and only a refund. debt_allowed_rials is how far below zero (available balance) the account has been
-- let go, a high-water mark the refund raises in the same statement that writes its balance; every other
-- debit is still checked against zero by the ledger's writer (Batch), and this constraint stands behind it.
ALTER TABLE accounts ADD COLUMN debt_allowed_rials bigint NOT NULL DEFAULT 0 CHECK (debt_allowed_rials >= 0);
ALTER TABLE accounts DROP CONSTRAINT no_overdraft;
ALTER TABLE accounts ADD CONSTRAINT no_overdraft CHECK (allow_overdraft OR balance_rials - held_rials >= -debt_allowed_rials);

-- The refunded totals of a trip, written with each refund under the trip row's lock: never more than the
-- fare (checked by the writer first, then here), and the driver's part never more than the driver's share.
ALTER TABLE trips ADD COLUMN refunded_rials bigint NOT NULL DEFAULT 0;
ALTER TABLE trips ADD COLUMN refunded_driver_rials bigint NOT NULL DEFAULT 0;
ALTER TABLE trips ADD CONSTRAINT refunds_within_fare CHECK (
    refunded_rials = 0 AND refunded_driver_rials = 0
    OR (refunded_driver_rials >= 0 AND refunded_driver_rials <= refunded_rials AND refunded_rials <= fare_rials
        AND refunded_driver_rials <= fare_rials - commission_rials));

-- One row per refund; its id comes from the request's idempotency key, its transfer is
-- trip:<trip id>:refund:<refund id>, so a replay or recovery posts it once.
CREATE TABLE trip_refunds (
    refund_id               text PRIMARY KEY,
    trip_id                 text NOT NULL REFERENCES trips (trip_id),
    amount_rials            bigint NOT NULL CHECK (amount_rials > 0),
    driver_rials            bigint NOT NULL CHECK (driver_rials >= 0),
    platform_rials          bigint NOT NULL CHECK (platform_rials >= 0),
    driver_shortfall_rials  bigint NOT NULL CHECK (driver_shortfall_rials >= 0 AND driver_shortfall_rials <= driver_rials),
    reason                  text NOT NULL,
    ticket                  text NOT NULL,
    transfer_id             text NOT NULL UNIQUE REFERENCES transfers (id),
    created_at              timestamptz NOT NULL DEFAULT now(),
    CHECK (driver_rials + platform_rials = amount_rials)
);
CREATE INDEX trip_refunds_trip ON trip_refunds (trip_id, created_at);
