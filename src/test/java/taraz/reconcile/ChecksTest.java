package taraz.reconcile;

import io.micrometer.core.instrument.Gauge;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import taraz.ops.Metrics;
import taraz.reconcile.Finding.Kind;
import taraz.support.ReconcileDb;
import taraz.support.Sql;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The fast checks on a database of their own (the embedded PostgreSQL): each kind of fault planted behind the
 * gateway's back shows in its gauge within two rounds and clears when fixed, and the fast rounds count what the full
 * scan counts; a backlog beyond the per-round bound is worked off over rounds; of two checkers on one database only
 * the one holding the lock runs rounds and exports the gauges, and when it lets go the other takes over.
 */
class ChecksTest {

    private static final long ROUND_TIMEOUT_SECONDS = 60;
    private static final long PSP_WINDOW_SECONDS = 1800;
    private static final long FARE_RIALS = 10_000;
    private static final long COMMISSION_RIALS = 2_000;
    private static final long TOPUP_RIALS = 50_000;
    /** Every payment the tests write is in the lookback; payments are judged as soon as they are written. */
    private static final Rules RULES = Rules.from(new JsonObject().put("minAgeSeconds", 0));
    private static final Checks.Bounds BOUNDS = new Checks.Bounds(3_600_000, 24, 60_000, 10_000);

    private Vertx vertx;
    private ReconcileDb db;
    private Connection sql;
    private final List<Checks> checkers = new ArrayList<>();
    private int next;

    @BeforeEach
    void start() throws SQLException {
        vertx = Vertx.vertx();
        db = ReconcileDb.create();
        sql = db.connect();
    }

    @AfterEach
    void stop() throws Exception {
        for (Checks checks : checkers) {
            checks.close().await(ROUND_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        }
        sql.close();
        vertx.close().await(ROUND_TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    @Test
    void eachPlantedKindShowsWithinTwoRoundsAndClearsWhenFixed() throws Exception {
        Metrics metrics = new Metrics();
        Checks checks = checker(metrics, BOUNDS);
        String passenger = wallet("passenger");
        String driver = wallet("driver");
        String creditedTwice = topup(passenger, "CREDITED", 0);
        transfer("topup_credit", creditedTwice, Map.of(passenger, TOPUP_RIALS, "psp-clearing", -TOPUP_RIALS));
        assertEquals(Checks.Outcome.FULL, round(checks));
        assertEquals(Map.of(), open(metrics), "a healthy ledger");

        // Planted behind the gateway's back, one of each kind.
        String verifiedNotCredited = topup(passenger, "VERIFIED", 0);
        transfer("topup_credit", creditedTwice, Map.of(passenger, TOPUP_RIALS, "psp-clearing", -TOPUP_RIALS));
        String unpaidDriver = trip(passenger, driver, Map.of(passenger, -COMMISSION_RIALS, "platform-commission", COMMISSION_RIALS));
        String noCommission = trip(passenger, driver, Map.of(passenger, -(FARE_RIALS - COMMISSION_RIALS),
                driver, FARE_RIALS - COMMISSION_RIALS));
        String stuck = topup(passenger, "REQUESTED", 3600);
        String hold = "h-" + next++;
        Sql.update(sql, "INSERT INTO holds (id, account_id, amount_rials, state, expires_at) VALUES (?, ?, 1000, 'HELD', "
                + "now() - interval '1 day')", hold, passenger);
        Sql.update(sql, "UPDATE accounts SET held_rials = held_rials + 1000 WHERE id = ?", passenger);
        Sql.update(sql, "UPDATE accounts SET balance_rials = balance_rials + 7 WHERE id = ?", driver);

        Map<String, Long> planted = new TreeMap<>(Map.of("paid_not_credited", 1L, "double_credit", 1L,
                "driver_not_credited", 1L, "commission_missing", 1L, "stuck_payment", 1L, "hold_expired_not_voided", 1L,
                "balance_drift", 1L, "ledger_imbalance", 1L));
        assertEquals(Checks.Outcome.FAST, round(checks));
        assertEquals(Checks.Outcome.FAST, round(checks));
        assertEquals(planted, open(metrics));
        assertEquals(7, gauge(metrics, "taraz.ledger.imbalance.rials", null));
        assertEquals(fullScan(), open(metrics), "the fast rounds count what the full scan counts");

        // Each fixed, as reconcile --apply or support would.
        transfer("topup_credit", verifiedNotCredited, Map.of(passenger, TOPUP_RIALS, "psp-clearing", -TOPUP_RIALS));
        Sql.update(sql, "UPDATE topups SET state = 'CREDITED', updated_at = now() WHERE topup_id = ?", verifiedNotCredited);
        transfer("topup_correction", creditedTwice, Map.of(passenger, -TOPUP_RIALS, "corrections", TOPUP_RIALS));
        transfer("trip_correction", unpaidDriver, Map.of(passenger, -(FARE_RIALS - COMMISSION_RIALS),
                driver, FARE_RIALS - COMMISSION_RIALS));
        transfer("trip_correction", noCommission, Map.of(passenger, -COMMISSION_RIALS, "platform-commission", COMMISSION_RIALS));
        Sql.update(sql, "UPDATE topups SET state = 'EXPIRED', updated_at = now() WHERE topup_id = ?", stuck);
        Sql.update(sql, "UPDATE holds SET state = 'EXPIRED', updated_at = now() WHERE id = ?", hold);
        Sql.update(sql, "UPDATE accounts SET held_rials = held_rials - 1000 WHERE id = ?", passenger);
        Sql.update(sql, "UPDATE accounts SET balance_rials = balance_rials - 7 WHERE id = ?", driver);
        round(checks);
        round(checks);
        assertEquals(Map.of(), open(metrics), "every fixed finding cleared");
        assertEquals(0, gauge(metrics, "taraz.ledger.imbalance.rials", null));
        assertEquals(fullScan(), open(metrics));
        assertTrue(gauge(metrics, "taraz.checks.last.success.timestamp.seconds", null) > 0);
        assertTrue(gauge(metrics, "taraz.reconciliation.last.success.timestamp.seconds", null) > 0);
    }

    @Test
    void aBacklogBeyondTheBatchIsWorkedOffOverRounds() throws Exception {
        int batchMax = 3;
        int trips = 12;
        Metrics metrics = new Metrics();
        Checks checks = checker(metrics, new Checks.Bounds(3_600_000, 24, 60_000, batchMax));
        String passenger = wallet("passenger");
        String driver = wallet("driver");
        assertEquals(Checks.Outcome.FULL, round(checks));
        for (int i = 0; i < trips; i++) {
            trip(passenger, driver, Map.of(passenger, -COMMISSION_RIALS, "platform-commission", COMMISSION_RIALS));
        }
        round(checks);
        long first = open(metrics).getOrDefault("driver_not_credited", 0L);
        assertTrue(first > 0 && first < trips, "one round reads at most a batch of each source: " + first);
        int rounds = 1;
        while (open(metrics).getOrDefault("driver_not_credited", 0L) < trips) {
            assertTrue(rounds++ < trips, "the backlog is worked off, a batch a round");
            round(checks);
        }
        assertEquals(fullScan(), open(metrics));
    }

    @Test
    void oneCheckerOfTwoRunsTheRoundsAndTheOtherTakesOver() throws Exception {
        Metrics aMetrics = new Metrics();
        Metrics bMetrics = new Metrics();
        Checks a = checker(aMetrics, BOUNDS);
        Checks b = checker(bMetrics, BOUNDS);
        String passenger = wallet("passenger");
        Sql.update(sql, "UPDATE accounts SET balance_rials = balance_rials + 5 WHERE id = ?", passenger);

        assertEquals(Checks.Outcome.FULL, round(a));
        assertEquals(Checks.Outcome.FOLLOWER, round(b));
        assertEquals(Checks.Outcome.FAST, round(a));
        assertEquals(Checks.Outcome.FOLLOWER, round(b));
        assertEquals(5, gauge(aMetrics, "taraz.ledger.imbalance.rials", null));
        assertNull(bMetrics.registry().find("taraz.ledger.imbalance.rials").gauge(), "the follower exports nothing");
        assertNull(bMetrics.registry().find("taraz.checks.last.success.timestamp.seconds").gauge());

        a.close().await(ROUND_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        assertEquals(Checks.Outcome.FULL, round(b), "the other takes the checks over at its next round");
        assertEquals(5, gauge(bMetrics, "taraz.ledger.imbalance.rials", null));
        assertEquals(Checks.Outcome.FOLLOWER, round(a));
        assertNull(aMetrics.registry().find("taraz.ledger.imbalance.rials").gauge(), "the old leader's gauges are gone");
        assertNull(aMetrics.registry().find("taraz.reconciliation.discrepancies").gauge());
    }

    // ---- helpers -------------------------------------------------------------------------------

    private Checks checker(Metrics metrics, Checks.Bounds bounds) {
        Checks checks = new Checks(vertx, db.pgUrl(), RULES, PSP_WINDOW_SECONDS, bounds, metrics, List.of());
        checkers.add(checks);
        return checks;
    }

    private static Checks.Outcome round(Checks checks) throws Exception {
        return checks.round().await(ROUND_TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    /** The non-zero discrepancy gauges, by kind. */
    private static Map<String, Long> open(Metrics metrics) {
        Map<String, Long> open = new TreeMap<>();
        for (Kind kind : Kind.values()) {
            long value = (long) gauge(metrics, "taraz.reconciliation.discrepancies", kind.apiName());
            if (value != 0) {
                open.put(kind.apiName(), value);
            }
        }
        return open;
    }

    private static double gauge(Metrics metrics, String name, String kind) {
        Gauge gauge = kind == null ? metrics.registry().find(name).gauge() : metrics.registry().find(name).tag("kind", kind).gauge();
        assertNotNull(gauge, name + " " + kind);
        return gauge.value();
    }

    /** The judge of record, straight: the detector over everything in one snapshot; non-zero kinds. */
    private Map<String, Long> fullScan() throws SQLException {
        try (Connection c = db.connect()) {
            c.setAutoCommit(false);
            c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            Detector detector = new Detector(c, RULES, PSP_WINDOW_SECONDS, finding -> { });
            detector.detect(OffsetDateTime.now().minusHours(BOUNDS.lookbackHours()), List.of());
            c.rollback();
            Map<String, Long> counts = new TreeMap<>();
            detector.counts().forEach((kind, n) -> counts.put(kind.apiName(), n));
            return counts;
        }
    }

    private String wallet(String kind) throws SQLException {
        String id = kind + "-" + next++;
        Sql.update(sql, "INSERT INTO accounts (id, kind, owner_id, allow_overdraft) VALUES (?, ?, ?, true)", id, kind, id);
        return id;
    }

    private String topup(String wallet, String state, long ageSeconds) throws SQLException {
        String id = "tp-" + next++;
        Sql.update(sql, "INSERT INTO topups (topup_id, wallet_id, amount_rials, gateway, state, authority, created_at, updated_at) "
                + "VALUES (?, ?, ?, 'zarinpal', ?, ?, now() - ? * interval '1 second', now() - ? * interval '1 second')",
                id, wallet, TOPUP_RIALS, state, "A" + id, ageSeconds, ageSeconds);
        return id;
    }

    /** A settled trip whose money moved as {@code legs} say (a whole settlement or half of one). */
    private String trip(String passenger, String driver, Map<String, Long> legs) throws SQLException {
        String id = "trip-" + next++;
        Sql.update(sql, "INSERT INTO trips (trip_id, state, passenger_wallet_id, driver_wallet_id, fare_rials, commission_rials) "
                + "VALUES (?, 'SETTLED', ?, ?, ?, ?)", id, passenger, driver, FARE_RIALS, COMMISSION_RIALS);
        transfer("trip_settle", id, legs);
        return id;
    }

    /** A transfer written as the ledger writes one: its entries, each with the balance after it, and the balances. */
    private void transfer(String kind, String paymentId, Map<String, Long> legs) throws SQLException {
        String id = kind + "-" + next++;
        long amount = legs.values().stream().filter(v -> v > 0).mapToLong(Long::longValue).sum();
        sql.setAutoCommit(false);
        try {
            Sql.update(sql, "INSERT INTO transfers (id, kind, payment_id, amount_rials) VALUES (?, ?, ?, ?)", id, kind, paymentId, amount);
            for (Map.Entry<String, Long> leg : new LinkedHashMap<>(legs).entrySet()) {
                long after;
                try (PreparedStatement s = sql.prepareStatement(
                        "UPDATE accounts SET balance_rials = balance_rials + ? WHERE id = ? RETURNING balance_rials")) {
                    s.setLong(1, leg.getValue());
                    s.setString(2, leg.getKey());
                    try (ResultSet r = s.executeQuery()) {
                        r.next();
                        after = r.getLong(1);
                    }
                }
                Sql.update(sql, "INSERT INTO entries (transfer_id, account_id, amount_rials, balance_after_rials) VALUES (?, ?, ?, ?)",
                        id, leg.getKey(), leg.getValue(), after);
            }
            sql.commit();
        } finally {
            sql.setAutoCommit(true);
        }
    }
}
