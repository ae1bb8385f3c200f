package taraz.support;

import org.flywaydb.core.Flyway;
import picocli.CommandLine;
import taraz.db.Database;
import taraz.reconcile.ReconcileCommand;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A database of its own for a reconciliation test, on the test run's one PostgreSQL server.
 * Reconciliation judges the whole ledger (its sum, every balance), and its tests seed broken
 * history on purpose, so they cannot share the gateway's database with the other tests.
 */
public final class ReconcileDb {

    private static final AtomicInteger NEXT = new AtomicInteger();

    private final String pgUrl;
    private final Path dataDir;

    private ReconcileDb(String pgUrl, Path dataDir) {
        this.pgUrl = pgUrl;
        this.dataDir = dataDir;
    }

    /** A fresh, migrated database, and a data directory for the journal reconcile writes when it applies. */
    public static ReconcileDb create() throws SQLException {
        ReconcileDb db = empty();
        db.migrate();
        return db;
    }

    /**
     * A fresh database migrated up to {@code version} only, for a test of a later migration: it
     * seeds the rows the code of that schema wrote, then {@link #migrate()}s the rest.
     */
    public static ReconcileDb createAt(String version) throws SQLException {
        ReconcileDb db = empty();
        Database.Jdbc jdbc = Database.jdbc(db.pgUrl);
        Flyway.configure().dataSource(jdbc.url(), jdbc.user(), jdbc.password()).locations(Database.MIGRATIONS_LOCATION)
                .target(version).failOnMissingLocations(true).load().migrate();
        return db;
    }

    private static ReconcileDb empty() throws SQLException {
        String shared = TestGateway.get().pgUrl();
        String name = "recon_" + ProcessHandle.current().pid() + "_" + NEXT.incrementAndGet();
        try (Connection c = Sql.connect(); Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE " + name);
        }
        return new ReconcileDb(shared.substring(0, shared.lastIndexOf('/') + 1) + name, TestGateway.tempDir("recon-"));
    }

    /** Applies the migrations not applied yet, the way the gateway and {@code reconcile} do at start. */
    public void migrate() {
        Database.Jdbc jdbc = Database.jdbc(pgUrl);
        Database.migrate(jdbc.url(), jdbc.user(), jdbc.password());
    }

    public String pgUrl() {
        return pgUrl;
    }

    public Path dataDir() {
        return dataDir;
    }

    public Connection connect() throws SQLException {
        Database.Jdbc jdbc = Database.jdbc(pgUrl);
        return DriverManager.getConnection(jdbc.url(), jdbc.user(), jdbc.password());
    }

    /** {@code taraz reconcile} in this JVM against this database; returns its exit status. */
    public int reconcile(String... args) {
        List<String> all = new ArrayList<>(List.of("--pg-url", pgUrl, "--data-dir", dataDir.toString()));
        all.addAll(List.of(args));
        return new CommandLine(new ReconcileCommand()).execute(all.toArray(String[]::new));
    }

    /** The first column of the first row as a long. */
    public long count(String sql, Object... args) throws SQLException {
        try (Connection c = connect()) {
            return Sql.count(c, sql, args);
        }
    }
}
