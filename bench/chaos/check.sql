-- The invariants bench/chaos.sh checks after every restart, in one snapshot of the gateway's
-- database, with the acks loaded into chaos.acks (acks.sql) before the snapshot is taken: every
-- loaded promise was made before the snapshot, so the snapshot must hold it.
-- Prints one line per violation, kind TAB id TAB detail; nothing when all hold.
-- :cutoff is the number of acks lines written before the restarted gateway was ready: a top-up
-- paid at the bank by then must be credited (bench/chaos.sh first waits for that with pending.sql,
-- at most its --converge bound); one paid later may still be on its way.
\set ON_ERROR_STOP on
BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;

WITH
account_entries AS (
    SELECT account_id, sum(amount_rials) AS rials FROM entries GROUP BY account_id
),
account_holds AS (
    SELECT account_id, sum(amount_rials) AS rials FROM holds WHERE state = 'HELD' GROUP BY account_id
),
transfer_entries AS (
    SELECT transfer_id, sum(amount_rials) AS rials, count(*) AS legs FROM entries GROUP BY transfer_id
),
-- What each trip moved, whatever the transfer's kind or id: a trip charged twice shows as two
-- transfers, or as a passenger leg that is not minus the fare.
trip_money AS (
    SELECT tr.trip_id, tr.state, tr.fare_rials, tr.commission_rials,
           count(DISTINCT t.id) AS transfers,
           coalesce(sum(e.amount_rials) FILTER (WHERE e.account_id = tr.passenger_wallet_id), 0) AS passenger_rials,
           coalesce(sum(e.amount_rials) FILTER (WHERE e.account_id = tr.driver_wallet_id), 0) AS driver_rials,
           coalesce(sum(e.amount_rials) FILTER (WHERE e.account_id = 'platform-commission'), 0) AS platform_rials
      FROM trips tr
      LEFT JOIN transfers t ON t.payment_id = tr.trip_id
      LEFT JOIN entries e ON e.transfer_id = t.id
     WHERE tr.state <> 'NEW'
     GROUP BY tr.trip_id
),
topup_money AS (
    SELECT tp.topup_id, tp.state, tp.amount_rials,
           count(DISTINCT t.id) AS transfers,
           coalesce(sum(e.amount_rials) FILTER (WHERE e.account_id = tp.wallet_id), 0) AS wallet_rials
      FROM topups tp
      LEFT JOIN transfers t ON t.payment_id = tp.topup_id
      LEFT JOIN entries e ON e.transfer_id = t.id
     GROUP BY tp.topup_id
),
violations (kind, id, detail) AS (
    -- The ledger's own invariants.
    SELECT 'sum_of_balances', 'accounts', 'balances sum to ' || sum(balance_rials) || ', not 0'
      FROM accounts HAVING coalesce(sum(balance_rials), 0) <> 0
    UNION ALL
    SELECT 'balance_drift', a.id, 'cached balance ' || a.balance_rials || ', entries sum to ' || coalesce(e.rials, 0)
      FROM accounts a LEFT JOIN account_entries e ON e.account_id = a.id
     WHERE a.balance_rials <> coalesce(e.rials, 0)
    UNION ALL
    SELECT 'held_drift', a.id, 'cached held ' || a.held_rials || ', active holds sum to ' || coalesce(h.rials, 0)
      FROM accounts a LEFT JOIN account_holds h ON h.account_id = a.id
     WHERE a.held_rials <> coalesce(h.rials, 0)
    UNION ALL
    SELECT 'overdraft', id, 'balance ' || balance_rials || ', held ' || held_rials || ', debt allowed ' || debt_allowed_rials
      FROM accounts WHERE NOT allow_overdraft AND balance_rials - held_rials < -debt_allowed_rials
    UNION ALL
    SELECT 'unbalanced_transfer', t.id, 'entries sum to ' || coalesce(e.rials, 0) || ' in ' || coalesce(e.legs, 0) || ' legs'
      FROM transfers t LEFT JOIN transfer_entries e ON e.transfer_id = t.id
     WHERE e.transfer_id IS NULL OR e.rials <> 0
    UNION ALL
    -- No trip charged twice, a settled one charged exactly its fare, an unsettled one not at all.
    SELECT 'trip_charged_twice', trip_id, transfers || ' transfers, passenger legs ' || passenger_rials
      FROM trip_money WHERE transfers > 1
    UNION ALL
    SELECT 'trip_money', trip_id, state || ' fare ' || coalesce(fare_rials::text, '-') || ' commission '
           || coalesce(commission_rials::text, '-') || ': passenger ' || passenger_rials || ', driver ' || driver_rials
           || ', platform ' || platform_rials || ' in ' || transfers || ' transfer(s)'
      FROM trip_money
     WHERE transfers <= 1 AND CASE WHEN state = 'SETTLED'
               THEN transfers <> 1 OR passenger_rials <> -fare_rials OR driver_rials <> fare_rials - commission_rials
                    OR platform_rials <> commission_rials
               ELSE transfers <> 0 END
    UNION ALL
    -- No top-up credited twice, a credited one exactly its amount, any other not at all.
    SELECT 'topup_credited_twice', topup_id, transfers || ' transfers, wallet legs ' || wallet_rials
      FROM topup_money WHERE transfers > 1
    UNION ALL
    SELECT 'topup_money', topup_id, state || ' amount ' || amount_rials || ': wallet ' || wallet_rials
           || ' in ' || transfers || ' transfer(s)'
      FROM topup_money
     WHERE transfers <= 1 AND CASE WHEN state = 'CREDITED' THEN transfers <> 1 OR wallet_rials <> amount_rials
                                   ELSE transfers <> 0 END
    UNION ALL
    -- Every promise (a 2xx answer) still there.
    SELECT 'fund_lost', a.id, 'adjustment of ' || a.amount_rials || ' to ' || a.wallet_id || ' answered 2xx; the ledger has '
           || coalesce((SELECT sum(e.amount_rials) FROM transfers t JOIN entries e ON e.transfer_id = t.id
                         WHERE t.payment_id = a.id AND e.account_id = a.wallet_id), 0)
      FROM chaos.acks a
     WHERE a.op = 'fund'
       AND coalesce((SELECT sum(e.amount_rials) FROM transfers t JOIN entries e ON e.transfer_id = t.id
                      WHERE t.payment_id = a.id AND e.account_id = a.wallet_id), 0) <> a.amount_rials
    UNION ALL
    SELECT 'hold_lost', a.id, 'hold of ' || a.amount_rials || ' answered 2xx; the trip is '
           || coalesce(tr.state || ' holding ' || coalesce(tr.hold_rials::text, '-') || ' on ' || tr.passenger_wallet_id, 'missing')
      FROM chaos.acks a LEFT JOIN trips tr ON tr.trip_id = a.id
     WHERE a.op = 'hold' AND (tr.trip_id IS NULL OR tr.state NOT IN ('HELD', 'SETTLED', 'VOIDED', 'EXPIRED')
                              OR tr.passenger_wallet_id <> a.wallet_id OR tr.hold_rials IS DISTINCT FROM a.amount_rials)
    UNION ALL
    SELECT 'cancel_lost', a.id, 'cancel answered 2xx; the trip is ' || coalesce(tr.state, 'missing')
      FROM chaos.acks a LEFT JOIN trips tr ON tr.trip_id = a.id
     WHERE a.op = 'cancel' AND tr.state IS DISTINCT FROM 'VOIDED'
    UNION ALL
    SELECT 'settle_lost', a.id, 'settle of fare ' || a.amount_rials || ' commission ' || a.commission_rials
           || ' answered 2xx; the trip is ' || coalesce(tr.state || ' fare ' || coalesce(tr.fare_rials::text, '-')
           || ' commission ' || coalesce(tr.commission_rials::text, '-'), 'missing')
      FROM chaos.acks a LEFT JOIN trips tr ON tr.trip_id = a.id
     WHERE a.op = 'settle' AND (tr.state IS DISTINCT FROM 'SETTLED' OR tr.fare_rials <> a.amount_rials
                                OR tr.commission_rials <> a.commission_rials OR tr.passenger_wallet_id <> a.wallet_id
                                OR tr.driver_wallet_id IS DISTINCT FROM a.driver_wallet_id)
    UNION ALL
    SELECT 'topup_lost', a.id, 'top-up of ' || a.amount_rials || ' answered 201; the gateway has '
           || coalesce(tp.state || ' ' || tp.amount_rials || ' authority ' || coalesce(tp.authority, '-'), 'none')
      FROM chaos.acks a LEFT JOIN topups tp ON tp.topup_id = a.id
     WHERE a.op = 'topup' AND (tp.topup_id IS NULL OR tp.amount_rials <> a.amount_rials OR tp.wallet_id <> a.wallet_id
                               OR tp.authority IS DISTINCT FROM a.authority)
    UNION ALL
    SELECT 'credited_lost', a.id, 'shown CREDITED; now ' || coalesce(tp.state, 'missing')
      FROM chaos.acks a LEFT JOIN topups tp ON tp.topup_id = a.id
     WHERE a.op = 'credited' AND tp.state IS DISTINCT FROM 'CREDITED'
    UNION ALL
    -- Paid at the bank by the time the gateway was back: credited (exactly once: topup_money).
    SELECT 'paid_not_credited', a.id, 'paid at the simulator (authority ' || a.authority || ') '
           || ((extract(epoch FROM clock_timestamp()) * 1000)::bigint - a.at_millis) / 1000 || ' s ago; the top-up is '
           || coalesce(tp.state, 'missing')
      FROM chaos.acks a LEFT JOIN topups tp ON tp.topup_id = a.id
     WHERE a.op = 'paid' AND a.line <= :cutoff AND tp.state IS DISTINCT FROM 'CREDITED'
)
SELECT kind, id, detail FROM violations ORDER BY kind, id;

COMMIT;
