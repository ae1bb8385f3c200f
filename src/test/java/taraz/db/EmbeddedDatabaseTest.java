package taraz.db;

import io.vertx.pgclient.PgConnectOptions;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import taraz.support.GatewayProcess;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.Socket;
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
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class EmbeddedDatabaseTest {
    static final String READY = "READY ";
    static final String ORPHAN_NOTE = "written before kill -9";

    /** A cold child JVM may have to extract the binaries and run initdb. */
    private static final long CHILD_READY_TIMEOUT_SECONDS = 120;
    private static final long CHILD_EXIT_TIMEOUT_SECONDS = 30;
    private static final long POSTGRES_EXIT_TIMEOUT_SECONDS = 30;

    @TempDir
    Path tempDir;

    @Test
    void dataSurvivesRestartsAndStalePidFiles() throws Exception {
        Path dir = tempDir.resolve("a/b/pg");
        Path pidFile = dir.resolve("postmaster.pid");
        List<String> pidFileOfStoppedServer;
        try (EmbeddedDatabase db = EmbeddedDatabase.start(dir)) {
            assertEquals("postgresql://postgres:" + db.password() + "@127.0.0.1:" + db.port() + "/postgres", db.pgUrl());
            assertEquals(db.jdbcUrl(), Database.jdbc(db.pgUrl()).url());
            Database.migrate(db.jdbcUrl(), db.user(), db.password(), "classpath:db/testmigration");
            execute(db, "INSERT INTO db_test_probe VALUES (2, 'before restart')");
            assertEquals("on", query(db, "SHOW fsync"));
            assertEquals("on", query(db, "SHOW synchronous_commit"));
            pidFileOfStoppedServer = Files.readAllLines(pidFile);
        }
        assertFalse(Files.exists(pidFile), "a clean stop removes the pid file");

        // The pid file of a server that has exited names a dead process: PostgreSQL must take it as stale.
        // PostgreSQL removes its pid file a moment before it exits.
        long stoppedPid = Long.parseLong(pidFileOfStoppedServer.get(0));
        Optional<ProcessHandle> stopped = ProcessHandle.of(stoppedPid);
        if (stopped.isPresent()) {
            stopped.get().onExit().get(POSTGRES_EXIT_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        }
        Files.write(pidFile, pidFileOfStoppedServer);
        try (EmbeddedDatabase db = EmbeddedDatabase.start(dir)) {
            assertEquals("before restart", query(db, "SELECT note FROM db_test_probe WHERE id = 2"));
            Database.migrate(db.jdbcUrl(), db.user(), db.password(), "classpath:db/testmigration");
            assertEquals("2", query(db, "SELECT count(*) FROM db_test_probe"));
        }

        // A pid file naming a live process that is not PostgreSQL (a reused pid) would make PostgreSQL refuse.
        List<String> reusedPid = new ArrayList<>(pidFileOfStoppedServer);
        reusedPid.set(0, Long.toString(ProcessHandle.current().pid()));
        Files.write(pidFile, reusedPid);
        try (EmbeddedDatabase db = EmbeddedDatabase.start(dir)) {
            assertEquals("before restart", query(db, "SELECT note FROM db_test_probe WHERE id = 2"));
            IllegalStateException twice = assertThrows(IllegalStateException.class, () -> EmbeddedDatabase.start(dir));
            assertTrue(twice.getMessage().contains("in use by another taraz process"), twice.getMessage());
            IllegalStateException checked = assertThrows(IllegalStateException.class, () -> EmbeddedDatabase.refuseIfInUse(dir));
            assertTrue(checked.getMessage().contains("in use by another taraz process"), checked.getMessage());
            db.close();
            db.close();
        }
    }

    @Test
    void orphanOfKilledJvmIsStoppedAndItsDataKept() throws Exception {
        Path dir = tempDir.resolve("pg");
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(javaBin, "-cp", System.getProperty("java.class.path"),
                OrphanMaker.class.getName(), dir.toString())
                .redirectErrorStream(true).start();
        try {
            awaitReady(child);
            long postgresPid = Long.parseLong(Files.readAllLines(dir.resolve("postmaster.pid")).get(0));
            ProcessHandle postgres = ProcessHandle.of(postgresPid).orElseThrow();

            // While the child JVM lives, a tool (reconcile) attaches to its PostgreSQL, with the password.
            Database.Jdbc attached = Database.jdbc(EmbeddedDatabase.servedByAnother(dir).orElseThrow());
            try (Connection c = DriverManager.getConnection(attached.url(), attached.user(), attached.password());
                 ResultSet rows = c.createStatement().executeQuery("SELECT note FROM orphan_probe")) {
                assertTrue(rows.next());
                assertEquals(ORPHAN_NOTE, rows.getString(1));
            }

            // While the child JVM lives, its PostgreSQL is not an orphan and must be left alone.
            IllegalStateException inUse = assertThrows(IllegalStateException.class, () -> EmbeddedDatabase.start(dir));
            assertTrue(inUse.getMessage().contains("in use by another taraz process (pid " + child.pid() + ")"),
                    inUse.getMessage());
            IllegalStateException checked = assertThrows(IllegalStateException.class, () -> EmbeddedDatabase.refuseIfInUse(dir));
            assertEquals(inUse.getMessage(), checked.getMessage());
            assertTrue(postgres.isAlive());

            child.destroyForcibly();
            assertTrue(child.waitFor(CHILD_EXIT_TIMEOUT_SECONDS, TimeUnit.SECONDS));
            assertTrue(postgres.isAlive(), "PostgreSQL outlives its SIGKILLed JVM");
            // The orphan of a killed JVM is no reason to refuse: start stops it.
            EmbeddedDatabase.refuseIfInUse(dir);

            try (EmbeddedDatabase db = EmbeddedDatabase.start(dir)) {
                assertTrue(GatewayProcess.exited(postgresPid), "the orphan was stopped");
                assertNotEquals(postgresPid, Long.parseLong(Files.readAllLines(dir.resolve("postmaster.pid")).get(0)));
                assertEquals(ORPHAN_NOTE, query(db, "SELECT note FROM orphan_probe"));
            }
        } finally {
            child.destroyForcibly();
        }
    }

    @Test
    void aPgUrlBecomesJdbcWithItsPasswordDecodedAndNeverPrinted() {
        String url = "postgresql://taraz:p%40ss@db.example:5433/ledger?sslmode=require";
        Database.Jdbc jdbc = Database.jdbc(url);
        assertEquals("jdbc:postgresql://db.example:5433/ledger?sslmode=require", jdbc.url());
        assertEquals("taraz", jdbc.user());
        assertEquals("p@ss", jdbc.password());
        assertFalse(jdbc.toString().contains("p@ss"));

        PgConnectOptions options = Database.connectOptions(url);
        assertEquals("db.example", options.getHost());
        assertEquals(5433, options.getPort());
        assertEquals("ledger", options.getDatabase());
        assertEquals("taraz", options.getUser());
        assertEquals("p@ss", options.getPassword());

        assertEquals("jdbc:postgresql://[::1]:5432/postgres", Database.jdbc("postgres://u:secret@[::1]/postgres").url());
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "http://u:secret@h:5432/db",
            "postgresql://u:secret@h:abc/db",
            "postgresql://h:5432/db",
            "postgresql://u@h:5432/db",
            "postgresql://u:@h:5432/db",
            "postgresql://u:secret@h:5432/",
            "postgresql://u:secret@h:5432/db/extra",
            "postgresql://u:secret@h:5432",
            "not a url secret",
            ""})
    void rejectsMalformedPgUrlWithoutShowingThePassword(String url) {
        IllegalArgumentException jdbc = assertThrows(IllegalArgumentException.class, () -> Database.jdbc(url));
        assertFalse(jdbc.getMessage().contains("secret"), jdbc.getMessage());
        IllegalArgumentException vertx = assertThrows(IllegalArgumentException.class, () -> Database.connectOptions(url));
        assertFalse(vertx.getMessage().contains("secret"), vertx.getMessage());
    }

    @Test
    void onlyThePasswordGetsIn() throws Exception {
        Path dir = tempDir.resolve("data").resolve("postgres");
        Path passwordFile = tempDir.resolve("data").resolve("postgres-password");
        try (EmbeddedDatabase db = EmbeddedDatabase.start(dir)) {
            assertEquals(passwordFile, EmbeddedDatabase.passwordFile(dir));
            assertEquals(PosixFilePermissions.fromString("rw-------"), Files.getPosixFilePermissions(passwordFile));
            String password = Files.readString(passwordFile).strip();
            assertTrue(password.length() >= 32, "password length " + password.length());
            assertEquals(password, db.password());
            assertEquals("1", query(db, "SELECT 1"));

            assertRefused(db, null);
            assertRefused(db, "postgres");
            assertRefused(db, password + "x");

            // An operator's psql gets in with the password from the file, and not without it.
            assertEquals("taraz-psql-ok", psql(db.port(), password, "SELECT 'taraz-psql-ok'").output.strip());
            Psql without = psql(db.port(), null, "SELECT 1");
            assertNotEquals(0, without.status, without.output);
            assertTrue(without.output.contains("password"), without.output);

            assertEquals("127.0.0.1", query(db, "SHOW listen_addresses"));
            assertEquals("", query(db, "SHOW unix_socket_directories"));
            assertEquals("0", query(db, "SELECT count(*) FROM pg_hba_file_rules WHERE auth_method <> 'scram-sha-256' OR error IS NOT NULL"));
            for (InetAddress address : nonLoopbackAddresses()) {
                try (Socket socket = new Socket()) {
                    assertThrows(IOException.class, () -> socket.connect(new InetSocketAddress(address, db.port()), 2000),
                            "PostgreSQL must not listen on " + address);
                }
            }
        }

        // The second start reads the same password; the file's mode is put back if someone loosened it.
        Files.setPosixFilePermissions(passwordFile, PosixFilePermissions.fromString("rw-r--r--"));
        try (EmbeddedDatabase db = EmbeddedDatabase.start(dir)) {
            assertEquals(Files.readString(passwordFile).strip(), db.password());
            assertEquals("1", query(db, "SELECT 1"));
            assertEquals(PosixFilePermissions.fromString("rw-------"), Files.getPosixFilePermissions(passwordFile));
        }

        // Without its password file, a directory on passwords cannot be opened: say so, do not lock it with a new one.
        Files.delete(passwordFile);
        IllegalStateException missing = assertThrows(IllegalStateException.class, () -> EmbeddedDatabase.start(dir));
        assertTrue(missing.getMessage().contains(passwordFile + " is missing"), missing.getMessage());
        assertFalse(Files.exists(passwordFile));
    }

    @Test
    void trustDirectoryOfAnEarlierVersionIsSwitchedToPasswords() throws Exception {
        Path dir = tempDir.resolve("old").resolve("postgres");
        // What every earlier version made: zonky's defaults, "initdb -A trust".
        try (EmbeddedPostgres old = EmbeddedPostgres.builder().setDataDirectory(dir).setCleanDataDirectory(false)
                .setServerConfig("listen_addresses", "127.0.0.1").start();
             Connection c = old.getPostgresDatabase().getConnection(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE upgrade_probe (note text NOT NULL)");
            s.execute("INSERT INTO upgrade_probe VALUES ('kept')");
        }
        assertTrue(Files.readString(dir.resolve("pg_hba.conf")).contains("trust"));
        Path passwordFile = EmbeddedDatabase.passwordFile(dir);
        assertFalse(Files.exists(passwordFile));

        try (EmbeddedDatabase db = EmbeddedDatabase.start(dir)) {
            assertEquals(PosixFilePermissions.fromString("rw-------"), Files.getPosixFilePermissions(passwordFile));
            assertEquals(Files.readString(passwordFile).strip(), db.password());
            assertEquals("kept", query(db, "SELECT note FROM upgrade_probe"));
            assertRefused(db, null);
            assertRefused(db, "wrong-password-0123456789-0123456789");
            assertEquals("0", query(db, "SELECT count(*) FROM pg_hba_file_rules WHERE auth_method <> 'scram-sha-256' OR error IS NOT NULL"));
        }
        // Once switched, the next start is an ordinary one on passwords.
        try (EmbeddedDatabase db = EmbeddedDatabase.start(dir)) {
            assertEquals("kept", query(db, "SELECT note FROM upgrade_probe"));
            assertRefused(db, null);
        }
    }

    private static void assertRefused(EmbeddedDatabase db, String password) {
        Properties properties = new Properties();
        properties.setProperty("user", db.user());
        if (password != null) {
            properties.setProperty("password", password);
        }
        SQLException refused = assertThrows(SQLException.class, () -> DriverManager.getConnection(db.jdbcUrl(), properties).close(),
                "a login with password " + (password == null ? "(none)" : "'" + password + "'") + " must be refused");
        // 28P01: the server refused the password; 08004: it asked for one the client did not have.
        assertTrue(List.of("28P01", "08004").contains(refused.getSQLState()), refused.getSQLState() + " " + refused.getMessage());
    }

    private record Psql(int status, String output) {}

    /** Debian's psql, as an operator would run it; without a password it must not prompt (-w). */
    private static Psql psql(int port, String password, String sql) throws Exception {
        Path psql = Path.of("/usr/lib/postgresql/15/bin/psql");
        assumeTrue(Files.isExecutable(psql), "no psql at " + psql);
        ProcessBuilder builder = new ProcessBuilder(psql.toString(), "-w", "-h", "127.0.0.1", "-p", Integer.toString(port),
                "-U", "postgres", "-d", "postgres", "-tA", "-c", sql).redirectErrorStream(true);
        builder.environment().remove("PGPASSWORD");
        builder.environment().put("PGPASSFILE", "/nonexistent");
        if (password != null) {
            builder.environment().put("PGPASSWORD", password);
        }
        Process process = builder.start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(CHILD_EXIT_TIMEOUT_SECONDS, TimeUnit.SECONDS), "psql did not end");
        return new Psql(process.exitValue(), output);
    }

    private static List<InetAddress> nonLoopbackAddresses() throws IOException {
        List<InetAddress> addresses = new ArrayList<>();
        for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
            if (nic.isUp() && !nic.isLoopback()) {
                addresses.addAll(Collections.list(nic.getInetAddresses()).stream().filter(a -> !a.isLinkLocalAddress()).toList());
            }
        }
        return addresses;
    }

    /** Reads the child's output until READY, bounded; the rest of its output is its log. */
    private static void awaitReady(Process child) throws Exception {
        CompletableFuture<Integer> ready = CompletableFuture.supplyAsync(() -> {
            try (BufferedReader out = new BufferedReader(
                    new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line = out.readLine(); line != null; line = out.readLine()) {
                    if (line.startsWith(READY)) {
                        return Integer.parseInt(line.substring(READY.length()).trim());
                    }
                }
                throw new IllegalStateException("child exited before READY");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        ready.get(CHILD_READY_TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    private static void execute(EmbeddedDatabase db, String sql) throws SQLException {
        try (Connection connection = DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password());
             Statement statement = connection.createStatement()) {
            statement.execute(sql);
        }
    }

    private static String query(EmbeddedDatabase db, String sql) throws SQLException {
        try (Connection connection = DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password());
             Statement statement = connection.createStatement();
             ResultSet rows = statement.executeQuery(sql)) {
            assertTrue(rows.next(), sql);
            return rows.getString(1);
        }
    }
}
