package taraz.bench;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import taraz.db.Database;
import taraz.db.EmbeddedDatabase;
import taraz.ops.Metrics;
import taraz.reconcile.Checks;
import taraz.reconcile.Rules;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * The cost of one round of the gateway's checks ({@link Checks}) over a ledger of {@code transfers} transfers: the
 * full scan, a fast round with nothing new, and a fast round after {@code newTransfers} new transfers, each timed
 * {@code REPEATS} times. The ledger is written once into {@code dataDir/postgres} (the embedded PostgreSQL) by SQL
 * alone: half the transfers are credited top-ups, half settled trips (three legs each), all in the last day, with
 * every balance-after and balance right; later runs reuse it. Payments are judged as soon as they are written
 * ({@code minAgeSeconds} 0), so a round with new transfers judges every one of them. Not a test: bench/checks.sh
 * runs it. Arguments: dataDir transfers newTransfers
 */
public final class ChecksBench {

    private static final int REPEATS = 3;
    private static final long TOPUP_RIALS = 1_000_000;
    private static final long FARE_RIALS = 100_000;
    private static final long COMMISSION_RIALS = 20_000;
    /** The seeded payments spread over the last ~21 hours: inside the default lookback of 48 h. */
    private static final String SEED_STEP = "150 milliseconds";
    private static final long ROUND_TIMEOUT_SECONDS = 3600;

    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: ChecksBench <dataDir> <transfers> <newTransfers>");
            System.exit(2);
        }
        Path dataDir = Path.of(args[0]);
        long pairs = Long.parseLong(args[1]) / 2;
        long newPairs = Long.parseLong(args[2]) / 2;
        long passengers = Math.max(1000, pairs / 25);
        long drivers = Math.max(100, pairs / 100);
        Vertx vertx = Vertx.vertx();
        try (EmbeddedDatabase pg = EmbeddedDatabase.start(dataDir.resolve("postgres"))) {
            Database.migrate(pg.jdbcUrl(), pg.user(), pg.password());
            try (Connection c = DriverManager.getConnection(pg.jdbcUrl(), pg.user(), pg.password())) {
                long seeded = count(c, "SELECT count(*) FROM transfers");
                if (seeded == 0) {
                    long t0 = System.nanoTime();
                    seed(c, passengers, drivers, pairs);
                    System.out.printf("seeded in %.1f s%n", (System.nanoTime() - t0) / 1e9);
                } else {
                    System.out.printf("reusing %s (seeded earlier)%n", dataDir);
                }
                for (String table : List.of("accounts", "transfers", "entries", "trips", "topups")) {
                    System.out.printf("  %-10s %,12d rows%n", table, count(c, "SELECT count(*) FROM " + table));
                }
                Rules rules = Rules.from(new JsonObject().put("minAgeSeconds", 0));
                Checks.Bounds bounds = new Checks.Bounds(3_600_000, 48, 600_000, 10_000);
                Checks checks = new Checks(vertx, pg.pgUrl(), rules, 1800, bounds, new Metrics(), List.of());
                List<String> measured = new ArrayList<>();
                measured.add("fullScanMillis=" + time(checks, "full scan", Checks.Outcome.FULL));
                for (int i = 1; i <= REPEATS; i++) {
                    measured.add("fastNothingNewMillis" + i + "=" + time(checks, "fast round, nothing new", Checks.Outcome.FAST));
                }
                long next = count(c, "SELECT count(*) FROM topups") + 1;
                for (int i = 1; i <= REPEATS; i++) {
                    payments(c, passengers, drivers, next, next + newPairs - 1, "0 seconds");
                    next += newPairs;
                    measured.add("fastNewTransfersMillis" + i + "="
                            + time(checks, "fast round, " + newPairs * 2 + " new transfers", Checks.Outcome.FAST));
                }
                // One line for bench/checks.sh to pass to results.py.
                System.out.println("measured " + String.join(" ", measured));
                checks.close().await(ROUND_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            }
        } finally {
            vertx.close().await(ROUND_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        }
    }

    /** Runs one round, prints and returns its time in milliseconds (one decimal). */
    private static String time(Checks checks, String what, Checks.Outcome expected) throws Exception {
        long started = System.nanoTime();
        Checks.Outcome outcome = checks.round().await(ROUND_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        double millis = (System.nanoTime() - started) / 1e6;
        if (outcome != expected) {
            throw new IllegalStateException(what + ": a " + outcome + " round, not " + expected);
        }
        System.out.printf("  %-36s %,10.1f ms%n", what, millis);
        return String.format(Locale.ROOT, "%.1f", millis);
    }

    private static void seed(Connection c, long passengers, long drivers, long pairs) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute("INSERT INTO accounts (id, kind, owner_id) SELECT 'p' || i, 'passenger', 'p' || i FROM generate_series(1, "
                    + passengers + ") i");
            s.execute("INSERT INTO accounts (id, kind, owner_id) SELECT 'd' || i, 'driver', 'd' || i FROM generate_series(1, "
                    + drivers + ") i");
            // The seed's own transfers balance by construction; the per-row zero-sum trigger would only slow it down.
            s.execute("SET session_replication_role = replica");
            payments(c, passengers, drivers, 1, pairs, SEED_STEP);
            s.execute("SET session_replication_role = DEFAULT");
            s.execute("VACUUM (ANALYZE)");
            s.execute("CHECKPOINT");
        }
    }

    /**
     * Top-ups and trips {@code from..to}, each top-up credited and each trip settled, as the ledger writer leaves
     * them: a passenger tops up, then rides; entries in that order, each with its balance after; the balances.
     */
    private static void payments(Connection c, long passengers, long drivers, long from, long to, String step)
            throws SQLException {
        String s = "s AS (SELECT i, 'p' || (i % " + passengers + " + 1) AS p, 'd' || (i % " + drivers + " + 1) AS d, "
                + "now() - (" + to + " - i) * interval '" + step + "' AS t FROM generate_series(" + from + ", " + to + ") i)";
        boolean auto = c.getAutoCommit();
        c.setAutoCommit(false);
        try (Statement st = c.createStatement()) {
            long before = count(c, "SELECT coalesce(max(id), 0) FROM entries");
            st.execute("WITH " + s + " INSERT INTO topups (topup_id, wallet_id, amount_rials, gateway, state, authority, "
                    + "created_at, requested_at, verified_at, updated_at) "
                    + "SELECT 'tp' || i, p, " + TOPUP_RIALS + ", 'zarinpal', 'CREDITED', 'A' || i, t, t, t, t FROM s");
            st.execute("WITH " + s + " INSERT INTO trips (trip_id, state, passenger_wallet_id, driver_wallet_id, fare_rials, "
                    + "commission_rials, created_at, updated_at) "
                    + "SELECT 'trip' || i, 'SETTLED', p, d, " + FARE_RIALS + ", " + COMMISSION_RIALS + ", t, t FROM s");
            st.execute("WITH " + s + " INSERT INTO transfers (id, kind, payment_id, amount_rials, created_at) "
                    + "SELECT 'tc' || i, 'topup_credit', 'tp' || i, " + TOPUP_RIALS + ", t FROM s "
                    + "UNION ALL SELECT 'ts' || i, 'trip_settle', 'trip' || i, " + FARE_RIALS + ", t FROM s");
            st.execute("WITH " + s + ", legs AS ("
                    + "SELECT i, 0 AS leg, 'tc' || i AS tr, p AS acc, " + TOPUP_RIALS + "::bigint AS amt, t FROM s "
                    + "UNION ALL SELECT i, 1, 'tc' || i, 'psp-clearing', " + -TOPUP_RIALS + ", t FROM s "
                    + "UNION ALL SELECT i, 2, 'ts' || i, p, " + -FARE_RIALS + ", t FROM s "
                    + "UNION ALL SELECT i, 3, 'ts' || i, d, " + (FARE_RIALS - COMMISSION_RIALS) + ", t FROM s "
                    + "UNION ALL SELECT i, 4, 'ts' || i, 'platform-commission', " + COMMISSION_RIALS + ", t FROM s) "
                    + "INSERT INTO entries (transfer_id, account_id, amount_rials, balance_after_rials, created_at) "
                    + "SELECT l.tr, l.acc, l.amt, a.balance_rials + sum(l.amt) OVER (PARTITION BY l.acc ORDER BY l.i, l.leg), l.t "
                    + "FROM legs l JOIN accounts a ON a.id = l.acc ORDER BY l.i, l.leg");
            st.execute("UPDATE accounts a SET balance_rials = a.balance_rials + d.total FROM (SELECT account_id, "
                    + "sum(amount_rials) AS total FROM entries WHERE id > " + before + " GROUP BY account_id) d WHERE d.account_id = a.id");
            c.commit();
        } catch (SQLException e) {
            c.rollback();
            throw e;
        } finally {
            c.setAutoCommit(auto);
        }
    }

    private static long count(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet r = s.executeQuery(sql)) {
            r.next();
            return r.getLong(1);
        }
    }
}
