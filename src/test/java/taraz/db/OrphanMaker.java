package taraz.db;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;

/** Child JVM for the orphan test: starts PostgreSQL, writes a row, says READY and waits to be killed with SIGKILL. */
public final class OrphanMaker {
    /** If the test dies before killing us, exit anyway (the shutdown hook stops PostgreSQL) instead of lingering. */
    private static final long LIFETIME_MILLIS_MAX = 600_000;

    private OrphanMaker() {}

    public static void main(String[] args) throws Exception {
        EmbeddedDatabase db = EmbeddedDatabase.start(Path.of(args[0]));
        try (Connection connection = DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password());
             Statement statement = connection.createStatement()) {
            statement.execute("CREATE TABLE orphan_probe (note text NOT NULL)");
            statement.execute("INSERT INTO orphan_probe VALUES ('" + EmbeddedDatabaseTest.ORPHAN_NOTE + "')");
        }
        System.out.println(EmbeddedDatabaseTest.READY + db.port());
        System.out.flush();
        Thread.sleep(LIFETIME_MILLIS_MAX);
        System.exit(0);
    }
}
