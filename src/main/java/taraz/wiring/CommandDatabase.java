package taraz.wiring;

import taraz.config.Settings;
import taraz.db.Database;
import taraz.db.EmbeddedDatabase;

/**
 * The gateway's database for a command run beside the gateway or without it ({@code reconcile}, {@code payouts run}):
 * {@code TARAZ_PG_URL}, else the embedded PostgreSQL of the data directory (a running gateway's, which it connects
 * to; else it starts it itself, and {@link #close} stops it), migrated and its state columns checked.
 */
public final class CommandDatabase implements AutoCloseable {

    private final String url;
    private final EmbeddedDatabase embedded;

    private CommandDatabase(String url, EmbeddedDatabase embedded) {
        this.url = url;
        this.embedded = embedded;
    }

    public static CommandDatabase open(Settings settings) throws Exception {
        String url = settings.pgUrl();
        if (url == null) {
            url = EmbeddedDatabase.servedByAnother(settings.postgresDir()).orElse(null);
        }
        EmbeddedDatabase embedded = null;
        if (url == null) {
            embedded = EmbeddedDatabase.start(settings.postgresDir());
            url = embedded.pgUrl();
        }
        CommandDatabase db = new CommandDatabase(url, embedded);
        try {
            Database.Jdbc jdbc = Database.jdbc(url);
            Database.migrate(jdbc.url(), jdbc.user(), jdbc.password());
            StateColumns.check(jdbc);
            return db;
        } catch (Exception e) {
            db.close();
            throw e;
        }
    }

    /** Where the database is, as a {@code postgresql://} URL. */
    public String url() {
        return url;
    }

    @Override
    public void close() {
        if (embedded != null) {
            embedded.close();
        }
    }
}
