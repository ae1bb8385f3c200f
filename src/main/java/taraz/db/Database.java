package taraz.db;

import io.vertx.pgclient.PgConnectOptions;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.output.MigrateResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Objects;

/** Schema migrations and the parsing of a PostgreSQL URL (the TARAZ_PG_URL form) for JDBC and Vert.x. */
public final class Database {
    private static final Logger log = LoggerFactory.getLogger(Database.class);

    /** Where the schema lives (src/main/resources/db/migration), in the build output and in the shaded jar. */
    public static final String MIGRATIONS_LOCATION = "classpath:db/migration";
    private static final int DEFAULT_PORT = 5432;
    private static final String FORM = "postgresql://user:pass@host:port/db";

    private Database() {}

    /** A JDBC connection triple; toString never shows the password. */
    public record Jdbc(String url, String user, String password) {
        @Override
        public String toString() { return "Jdbc[url=" + url + ", user=" + user + "]"; }
    }

    /** Blocking: applies the taraz schema. */
    public static void migrate(String jdbcUrl, String user, String password) {
        migrate(jdbcUrl, user, password, MIGRATIONS_LOCATION);
    }

    /** Blocking: applies the Flyway migrations at {@code location} (e.g. "classpath:db/migration"). */
    public static void migrate(String jdbcUrl, String user, String password, String location) {
        MigrateResult result = Flyway.configure()
                .dataSource(jdbcUrl, user, password)
                .locations(location)
                // A jar packaged without its migrations must not come up on an empty schema.
                .failOnMissingLocations(true)
                .load()
                .migrate();
        // targetSchemaVersion is null when there was nothing to apply.
        log.info("schema from {} at version {} ({} migrations applied now)", location,
                result.targetSchemaVersion != null ? result.targetSchemaVersion : result.initialSchemaVersion,
                result.migrationsExecuted);
    }

    /** Vert.x options for {@code postgresql://user:pass@host:port/db[?params]}. */
    public static PgConnectOptions connectOptions(String pgUrl) {
        Parts parts = parse(pgUrl);
        PgConnectOptions options;
        try {
            options = PgConnectOptions.fromUri(pgUrl);
        } catch (IllegalArgumentException e) {
            // Vert.x puts the whole URL, password included, in its message.
            throw new IllegalArgumentException("pgUrl is not understood by the Vert.x PostgreSQL client; expected " + FORM);
        }
        // Both pools (JDBC for Flyway, Vert.x for requests) must reach the same database as the same user.
        if (!parts.host.equals(options.getHost()) || parts.port != options.getPort()
                || !parts.database.equals(options.getDatabase()) || !parts.user.equals(options.getUser())
                || !parts.password.equals(options.getPassword())) {
            throw new IllegalArgumentException("pgUrl is read differently by the JDBC and Vert.x parsers; expected " + FORM);
        }
        return options;
    }

    /** JDBC url, user and password from the same {@code postgresql://} URL; query parameters are passed on. */
    public static Jdbc jdbc(String pgUrl) {
        Parts parts = parse(pgUrl);
        String host = parts.host.contains(":") ? "[" + parts.host + "]" : parts.host;
        String query = parts.rawQuery == null ? "" : "?" + parts.rawQuery;
        return new Jdbc("jdbc:postgresql://" + host + ":" + parts.port + "/" + parts.database + query,
                parts.user, parts.password);
    }

    private record Parts(String user, String password, String host, int port, String database, String rawQuery) {}

    /** Every message names the problem and never the URL, which carries the password. */
    private static Parts parse(String pgUrl) {
        Objects.requireNonNull(pgUrl, "pgUrl");
        URI uri;
        try {
            uri = new URI(pgUrl.trim());
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("pgUrl is not a valid URI (" + e.getReason() + "); expected " + FORM);
        }
        if (!"postgresql".equals(uri.getScheme()) && !"postgres".equals(uri.getScheme())) {
            throw new IllegalArgumentException("pgUrl must start with postgresql://; expected " + FORM);
        }
        if (uri.getHost() == null) {
            throw new IllegalArgumentException("pgUrl has no valid host and port; expected " + FORM);
        }
        String userInfo = uri.getUserInfo();
        int colon = userInfo == null ? -1 : userInfo.indexOf(':');
        if (colon <= 0 || colon == userInfo.length() - 1) {
            throw new IllegalArgumentException("pgUrl needs a user and a password; expected " + FORM);
        }
        String path = uri.getPath();
        if (path == null || path.length() < 2 || path.indexOf('/', 1) >= 0) {
            throw new IllegalArgumentException("pgUrl needs one database name as its path; expected " + FORM);
        }
        String host = uri.getHost().startsWith("[") ? uri.getHost().substring(1, uri.getHost().length() - 1) : uri.getHost();
        return new Parts(userInfo.substring(0, colon), userInfo.substring(colon + 1), host,
                uri.getPort() == -1 ? DEFAULT_PORT : uri.getPort(), path.substring(1), uri.getRawQuery());
    }
}
