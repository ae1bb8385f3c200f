package taraz.db;

import io.vertx.core.net.ClientSSLOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.pgclient.SslMode;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.output.MigrateResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Schema migrations and the parsing of a PostgreSQL URL (the TARAZ_PG_URL form) for JDBC and Vert.x, TLS included:
 * libpq's {@code sslmode} and {@code sslrootcert} mean the same to both clients.
 */
public final class Database {
    private static final Logger log = LoggerFactory.getLogger(Database.class);

    /** Where the schema lives (src/main/resources/db/migration), in the build output and in the shaded jar. */
    public static final String MIGRATIONS_LOCATION = "classpath:db/migration";
    private static final int DEFAULT_PORT = 5432;
    private static final String FORM = "postgresql://user:pass@host:port/db";
    private static final String SSL_MODE = "sslmode";
    private static final String SSL_ROOT_CERT = "sslrootcert";
    /** libpq's sslmode values, each to Vert.x's. */
    private static final Map<String, SslMode> SSL_MODES = Map.of(
            "disable", SslMode.DISABLE, "allow", SslMode.ALLOW, "prefer", SslMode.PREFER,
            "require", SslMode.REQUIRE, "verify-ca", SslMode.VERIFY_CA, "verify-full", SslMode.VERIFY_FULL);
    /** The JDK's name for RFC 2818 host name checking: the server's certificate must name the host we dialled. */
    private static final String VERIFY_HOST_NAME = "HTTPS";

    private Database() {}

    /** A JDBC connection triple; toString never shows the password. */
    public record Jdbc(String url, String user, String password) {
        @Override
        public String toString() { return "Jdbc[url=" + url + ", user=" + user + "]"; }
    }

    /**
     * Blocking: one connection to an external PostgreSQL, closed again, so that a database that cannot be
     * reached (or refuses the login) is named as such before the migrations start.
     */
    public static void connect(Jdbc jdbc) throws SQLException {
        DriverManager.getConnection(jdbc.url(), jdbc.user(), jdbc.password()).close();
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

    /**
     * Vert.x options for {@code postgresql://user:pass@host:port/db[?params]}. TLS follows libpq: {@code sslmode}
     * disable, allow, prefer or require encrypt without checking the server (require with {@code sslrootcert}
     * checks its CA, as libpq does); verify-ca checks the certificate against the {@code sslrootcert} CA file;
     * verify-full also checks that it names the host in the URL. Anything else is refused here, at start.
     */
    public static PgConnectOptions connectOptions(String pgUrl) {
        Parts parts = parse(pgUrl);
        PgConnectOptions options;
        try {
            // Vert.x would send sslrootcert to the server as a run-time parameter, which it refuses; TLS is set below.
            options = PgConnectOptions.fromUri(parts.withoutTls());
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
        // Each statement is parsed and planned once per connection, not on every execution: planning
        // alone took ~7 ms for a lookup across the idempotency keys' day partitions.
        options.setCachePreparedStatements(true);
        options.setSslMode(parts.tls.mode);
        if (parts.tls.mode != SslMode.DISABLE) {
            ClientSSLOptions ssl = new ClientSSLOptions();
            if (parts.tls.rootCert != null) {
                ssl.setTrustOptions(new PemTrustOptions().addCertPath(parts.tls.rootCert.toString()));
            } else {
                // Only the modes that promise no check of the server get here (verify-* need a CA file).
                ssl.setTrustAll(true);
            }
            ssl.setHostnameVerificationAlgorithm(parts.tls.mode == SslMode.VERIFY_FULL ? VERIFY_HOST_NAME : "");
            options.setSslOptions(ssl);
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

    /** TLS as the URL asks for it; Vert.x's default (no sslmode) is disable, as it has been here. */
    private record Tls(SslMode mode, Path rootCert) {}

    private record Parts(String user, String password, String host, int port, String database, String rawQuery,
                         Tls tls, String scheme, String rawAuthority, String rawPath, List<String> otherParams) {
        String withoutTls() {
            return scheme + "://" + rawAuthority + rawPath + (otherParams.isEmpty() ? "" : "?" + String.join("&", otherParams));
        }
    }

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
        String sslMode = null;
        String rootCert = null;
        List<String> otherParams = new ArrayList<>();
        if (uri.getRawQuery() != null) {
            for (String param : uri.getRawQuery().split("&")) {
                int eq = param.indexOf('=');
                String name = URLDecoder.decode(eq < 0 ? param : param.substring(0, eq), StandardCharsets.UTF_8);
                String value = eq < 0 ? "" : URLDecoder.decode(param.substring(eq + 1), StandardCharsets.UTF_8);
                if (name.equals(SSL_MODE) || name.equals(SSL_ROOT_CERT)) {
                    if ((name.equals(SSL_MODE) ? sslMode : rootCert) != null) {
                        throw new IllegalArgumentException("pgUrl names " + name + " twice");
                    }
                    if (name.equals(SSL_MODE)) {
                        sslMode = value;
                    } else {
                        rootCert = value;
                    }
                } else {
                    otherParams.add(param);
                }
            }
        }
        return new Parts(userInfo.substring(0, colon), userInfo.substring(colon + 1), host,
                uri.getPort() == -1 ? DEFAULT_PORT : uri.getPort(), path.substring(1), uri.getRawQuery(),
                tls(sslMode, rootCert), uri.getScheme(), uri.getRawAuthority(), uri.getRawPath(), otherParams);
    }

    private static Tls tls(String sslMode, String rootCert) {
        SslMode mode = sslMode == null ? SslMode.DISABLE : SSL_MODES.get(sslMode);
        if (mode == null) {
            throw new IllegalArgumentException("pgUrl's sslmode must be one of disable, allow, prefer, require, "
                    + "verify-ca, verify-full; got '" + sslMode + "'");
        }
        if (rootCert == null) {
            if (mode == SslMode.VERIFY_CA || mode == SslMode.VERIFY_FULL) {
                throw new IllegalArgumentException("pgUrl's sslmode=" + sslMode
                        + " needs sslrootcert=<the CA certificate file (PEM) that signed the server's certificate>");
            }
            return new Tls(mode, null);
        }
        if (mode == SslMode.DISABLE) {
            throw new IllegalArgumentException("pgUrl names sslrootcert without an sslmode that uses TLS (require, verify-ca, verify-full)");
        }
        Path file = Path.of(rootCert).toAbsolutePath().normalize();
        try (InputStream in = Files.newInputStream(file)) {
            if (CertificateFactory.getInstance("X.509").generateCertificates(in).isEmpty()) {
                throw new IllegalArgumentException("pgUrl's sslrootcert " + file + " holds no certificate");
            }
        } catch (IOException e) {
            throw new IllegalArgumentException("pgUrl's sslrootcert " + file + " cannot be read: " + e.getMessage());
        } catch (CertificateException e) {
            throw new IllegalArgumentException("pgUrl's sslrootcert " + file + " is not a PEM certificate: " + e.getMessage());
        }
        return new Tls(mode, file);
    }
}
