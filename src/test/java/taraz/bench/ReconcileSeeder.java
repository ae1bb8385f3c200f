package taraz.bench;

import taraz.db.Database;
import taraz.db.EmbeddedDatabase;
import taraz.support.BrokenHistory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.stream.Stream;

/**
 * Seeds a data directory for the reconciliation bench: starts the embedded PostgreSQL of
 * {@code dataDir/postgres}, migrates it, writes {@link BrokenHistory} with {@code payments}
 * healthy top-ups (and a quarter as many trips, plus the planted faults), analyses the tables as
 * autovacuum would have on a live system, and stops PostgreSQL. The settlement CSVs (one per day)
 * go to {@code settlementDir}. Not a test: bench/reconcile.sh runs it.
 * Arguments: dataDir payments settlementDir
 */
public final class ReconcileSeeder {

    /** A seed of its own, so the history (names, amounts, cards) is the same on every run. */
    private static final long SEED = 5;

    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: ReconcileSeeder <dataDir> <payments> <settlementDir>");
            System.exit(2);
        }
        Path dataDir = Path.of(args[0]);
        int payments = Integer.parseInt(args[1]);
        Path settlementDir = Path.of(args[2]);
        int trips = payments / 4;
        // One passenger tops up about 20 times over the history's 4 days; at least 200 (as the tests).
        int passengers = Math.max(200, payments / 20);
        long t0 = System.nanoTime();
        try (EmbeddedDatabase pg = EmbeddedDatabase.start(dataDir.resolve("postgres"))) {
            Database.migrate(pg.jdbcUrl(), pg.user(), pg.password());
            long t1 = System.nanoTime();
            BrokenHistory.Seeded seeded;
            try (Connection c = DriverManager.getConnection(pg.jdbcUrl(), pg.user(), pg.password())) {
                seeded = BrokenHistory.write(c, settlementDir, passengers, payments, trips, SEED);
                long t2 = System.nanoTime();
                try (Statement s = c.createStatement()) {
                    s.execute("VACUUM (ANALYZE)");
                    s.execute("CHECKPOINT");
                }
                long t3 = System.nanoTime();
                System.out.printf("seeded %s: %d passengers, %d healthy top-ups, %d healthy trips, %d planted findings%n",
                        dataDir, passengers, payments, trips, seeded.expected().size());
                for (String table : List.of("accounts", "transfers", "entries", "holds", "trips", "topups")) {
                    System.out.printf("  %-10s %,12d rows%n", table, count(c, "SELECT count(*) FROM " + table));
                }
                long settlementRows = 0;
                for (Path file : seeded.settlementFiles()) {
                    long rows;
                    try (Stream<String> lines = Files.lines(file)) {
                        rows = lines.count() - 1;
                    }
                    settlementRows += rows;
                    System.out.printf("  %-36s %,12d rows%n", file.getFileName(), rows);
                }
                System.out.printf("  settlement total %,d rows in %d files%n", settlementRows, seeded.settlementFiles().size());
                System.out.printf("  database size %s%n", string(c, "SELECT pg_size_pretty(pg_database_size(current_database()))"));
                System.out.printf("  seconds: start+migrate %.1f, history (build+COPY+files) %.1f, vacuum analyze %.1f%n",
                        (t1 - t0) / 1e9, (t2 - t1) / 1e9, (t3 - t2) / 1e9);
            }
        }
        System.out.printf("  seeded in %.1f s (PostgreSQL stopped)%n", (System.nanoTime() - t0) / 1e9);
    }

    private static long count(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet r = s.executeQuery(sql)) {
            r.next();
            return r.getLong(1);
        }
    }

    private static String string(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet r = s.executeQuery(sql)) {
            r.next();
            return r.getString(1);
        }
    }
}
