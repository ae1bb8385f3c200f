package taraz.db;

import taraz.support.Wait;
import io.vertx.core.Vertx;
import io.vertx.core.net.ClientSSLOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.pgclient.SslMode;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;
import io.vertx.sqlclient.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import taraz.config.Settings;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * TARAZ_PG_URL's TLS parameters (libpq's sslmode and sslrootcert): how they map to the Vert.x pool's options,
 * that a bad one stops the start, and a real TLS connection to an embedded PostgreSQL with a certificate from a
 * CA made here with openssl, through both clients (Vert.x for requests, JDBC for Flyway and reconcile).
 */
class PgUrlTlsTest {

    private static final long STEP_TIMEOUT_SECONDS = 30;
    private static final long SSL_RELOAD_TIMEOUT_MILLIS = 10_000;

    @TempDir
    Path dir;

    @Test
    void sslModesMapToTheVertxOptions() throws Exception {
        Path ca = certificateAuthority(dir, "ca");
        String base = "postgresql://taraz:secret@db.example:5433/ledger";

        PgConnectOptions full = Database.connectOptions(base + "?sslmode=verify-full&sslrootcert=" + ca);
        assertEquals(SslMode.VERIFY_FULL, full.getSslMode());
        assertEquals("db.example", full.getHost());
        ClientSSLOptions fullSsl = full.getSslOptions();
        assertEquals("HTTPS", fullSsl.getHostnameVerificationAlgorithm(), "verify-full checks the host name");
        assertFalse(fullSsl.isTrustAll());
        assertEquals(List.of(ca.toString()), ((PemTrustOptions) fullSsl.getTrustOptions()).getCertPaths());
        // The JDBC driver (Flyway, reconcile) reads the same parameters itself.
        assertEquals("jdbc:postgresql://db.example:5433/ledger?sslmode=verify-full&sslrootcert=" + ca,
                Database.jdbc(base + "?sslmode=verify-full&sslrootcert=" + ca).url());

        PgConnectOptions verifyCa = Database.connectOptions(base + "?sslrootcert=" + ca + "&sslmode=verify-ca&application_name=taraz");
        assertEquals(SslMode.VERIFY_CA, verifyCa.getSslMode());
        assertEquals("", verifyCa.getSslOptions().getHostnameVerificationAlgorithm(), "verify-ca checks the CA only");
        assertEquals(List.of(ca.toString()), ((PemTrustOptions) verifyCa.getSslOptions().getTrustOptions()).getCertPaths());
        assertEquals("taraz", verifyCa.getProperties().get("application_name"), "other parameters still reach Vert.x");
        assertFalse(verifyCa.getProperties().containsKey("sslrootcert"), "never sent to the server as a run-time parameter");

        PgConnectOptions require = Database.connectOptions(base + "?sslmode=require");
        assertEquals(SslMode.REQUIRE, require.getSslMode());
        assertTrue(require.getSslOptions().isTrustAll(), "require encrypts without checking, as in libpq");

        PgConnectOptions requireWithCa = Database.connectOptions(base + "?sslmode=require&sslrootcert=" + ca);
        assertFalse(requireWithCa.getSslOptions().isTrustAll(), "require with a CA file checks the CA, as in libpq");

        assertEquals(SslMode.DISABLE, Database.connectOptions(base).getSslMode(), "no sslmode: no TLS, as before");
    }

    @ParameterizedTest
    @ValueSource(strings = {"sslmode=verify_full", "sslmode=on", "sslmode=VERIFY-FULL", "sslmode=", "sslmode=verify-full",
            "sslmode=verify-ca", "sslmode=disable&sslrootcert=CA", "sslmode=verify-full&sslrootcert=/nonexistent/ca.pem",
            "sslmode=verify-full&sslrootcert=NOT_PEM", "sslmode=require&sslmode=disable"})
    void aBadTlsParameterStopsTheStart(String query) throws Exception {
        Path notPem = Files.writeString(dir.resolve("not.pem"), "not a certificate");
        String withFiles = query.replace("NOT_PEM", notPem.toString());
        if (withFiles.contains("CA")) {
            withFiles = withFiles.replace("CA", certificateAuthority(dir, "ca").toString());
        }
        String url = "postgresql://taraz:secret@db.example:5432/ledger?" + withFiles;
        IllegalArgumentException refused = assertThrows(IllegalArgumentException.class,
                () -> Settings.defaults().with(Map.of("pgUrl", url)));
        assertTrue(refused.getMessage().contains("ssl"), refused.getMessage());
        assertFalse(refused.getMessage().contains("secret"), refused.getMessage());
    }

    @Test
    void realTlsToAnEmbeddedPostgresWithItsOwnCa() throws Exception {
        Path ca = certificateAuthority(dir, "ca");
        Path otherCa = certificateAuthority(dir, "other-ca");
        Path serverCert = serverCertificate(dir, "ca", "IP:127.0.0.1");
        Path serverKey = dir.resolve("server.key");
        Vertx vertx = Vertx.vertx();
        try (EmbeddedDatabase db = EmbeddedDatabase.start(dir.resolve("data").resolve("postgres"))) {
            try (Connection c = DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password()); Statement s = c.createStatement()) {
                s.execute("ALTER SYSTEM SET ssl_cert_file = '" + serverCert + "'");
                s.execute("ALTER SYSTEM SET ssl_key_file = '" + serverKey + "'");
                s.execute("ALTER SYSTEM SET ssl = on");
                s.execute("SELECT pg_reload_conf()");
            }
            String verifyFull = db.pgUrl() + "?sslmode=verify-full&sslrootcert=" + ca;
            awaitTls(verifyFull);

            assertEquals(Boolean.TRUE, sslInUse(vertx, verifyFull), "Vert.x, verify-full against the CA that signed the server");
            assertEquals(Boolean.TRUE, sslInUse(vertx, db.pgUrl() + "?sslmode=verify-ca&sslrootcert=" + ca));
            assertEquals(Boolean.FALSE, sslInUse(vertx, db.pgUrl()), "no sslmode: no TLS, as before");

            // The certificate names 127.0.0.1 only: verify-full refuses the same server reached as "localhost".
            ExecutionException wrongName = assertThrows(ExecutionException.class,
                    () -> sslInUse(vertx, verifyFull.replace("@127.0.0.1:", "@localhost:")));
            assertTrue(String.valueOf(wrongName.getCause()).toLowerCase().contains("certificate")
                    || String.valueOf(wrongName.getCause()).contains("SSL"), String.valueOf(wrongName.getCause()));
            assertThrows(ExecutionException.class,
                    () -> sslInUse(vertx, db.pgUrl() + "?sslmode=verify-ca&sslrootcert=" + otherCa), "a server signed by another CA");

            // JDBC (Flyway, reconcile) takes the same URL's parameters.
            Database.Jdbc jdbc = Database.jdbc(verifyFull);
            Database.migrate(jdbc.url(), jdbc.user(), jdbc.password(), "classpath:db/testmigration");
            try (Connection c = DriverManager.getConnection(jdbc.url(), jdbc.user(), jdbc.password());
                 ResultSet r = c.createStatement().executeQuery("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")) {
                assertTrue(r.next());
                assertTrue(r.getBoolean(1), "JDBC over TLS");
            }
            Database.Jdbc wrongCa = Database.jdbc(db.pgUrl() + "?sslmode=verify-ca&sslrootcert=" + otherCa);
            assertThrows(SQLException.class, () -> DriverManager.getConnection(wrongCa.url(), wrongCa.user(), wrongCa.password()).close());
        } finally {
            vertx.close().toCompletionStage().toCompletableFuture().get(STEP_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        }
    }

    /** Whether the session the pool opened for {@code pgUrl} runs over TLS (pg_stat_ssl); fails as the connection does. */
    private static Boolean sslInUse(Vertx vertx, String pgUrl) throws Exception {
        Pool pool = PgBuilder.pool().with(new PoolOptions().setMaxSize(1)).connectingTo(Database.connectOptions(pgUrl))
                .using(vertx).build();
        try {
            Row row = pool.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").execute()
                    .toCompletionStage().toCompletableFuture().get(STEP_TIMEOUT_SECONDS, TimeUnit.SECONDS).iterator().next();
            return row.getBoolean(0);
        } finally {
            pool.close().toCompletionStage().toCompletableFuture().get(STEP_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        }
    }

    /** After pg_reload_conf() the postmaster turns TLS on in its next loop: until a verify-full login works, bounded. */
    private static void awaitTls(String pgUrl) {
        Database.Jdbc jdbc = Database.jdbc(pgUrl);
        Wait.until("PostgreSQL turns TLS on", SSL_RELOAD_TIMEOUT_MILLIS, () -> {
            try {
                DriverManager.getConnection(jdbc.url(), jdbc.user(), jdbc.password()).close();
                return null;
            } catch (SQLException e) {
                return e;
            }
        }, refused -> refused == null);
    }

    /** A self-signed CA, {@code name}.crt and {@code name}.key in {@code dir}, made once per name. */
    private static Path certificateAuthority(Path dir, String name) throws Exception {
        Path cert = dir.resolve(name + ".crt");
        if (!Files.exists(cert)) {
            openssl(dir, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", "/CN=taraz test " + name,
                    "-keyout", name + ".key", "-out", name + ".crt");
        }
        return cert;
    }

    /** server.crt, signed by the CA {@code caName}, naming {@code subjectAltName}; server.key at mode 0600 as PostgreSQL wants. */
    private static Path serverCertificate(Path dir, String caName, String subjectAltName) throws Exception {
        Files.writeString(dir.resolve("server.ext"), "subjectAltName=" + subjectAltName + "\n");
        openssl(dir, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=taraz test server", "-keyout", "server.key", "-out", "server.csr");
        openssl(dir, "x509", "-req", "-in", "server.csr", "-CA", caName + ".crt", "-CAkey", caName + ".key", "-CAcreateserial",
                "-days", "2", "-extfile", "server.ext", "-out", "server.crt");
        Files.setPosixFilePermissions(dir.resolve("server.key"), PosixFilePermissions.fromString("rw-------"));
        return dir.resolve("server.crt");
    }

    private static void openssl(Path dir, String... args) throws Exception {
        Path openssl = Path.of("/usr/bin/openssl");
        assumeTrue(Files.isExecutable(openssl), "openssl is not installed");
        List<String> command = new ArrayList<>(List.of(openssl.toString()));
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(STEP_TIMEOUT_SECONDS, TimeUnit.SECONDS), "openssl did not end");
        assertEquals(0, process.exitValue(), "openssl " + String.join(" ", args) + ":\n" + output);
    }
}
