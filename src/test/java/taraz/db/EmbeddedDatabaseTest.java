package taraz.db;

import io.vertx.pgclient.PgConnectOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
            assertEquals("postgresql://postgres:postgres@127.0.0.1:" + db.port() + "/postgres", db.pgUrl());
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

            // While the child JVM lives, its PostgreSQL is not an orphan and must be left alone.
            IllegalStateException inUse = assertThrows(IllegalStateException.class, () -> EmbeddedDatabase.start(dir));
            assertTrue(inUse.getMessage().contains("in use by another taraz process (pid " + child.pid() + ")"),
                    inUse.getMessage());
            assertTrue(postgres.isAlive());

            child.destroyForcibly();
            assertTrue(child.waitFor(CHILD_EXIT_TIMEOUT_SECONDS, TimeUnit.SECONDS));
            assertTrue(postgres.isAlive(), "PostgreSQL outlives its SIGKILLed JVM");

            try (EmbeddedDatabase db = EmbeddedDatabase.start(dir)) {
                assertFalse(postgres.isAlive(), "the orphan was stopped");
                assertNotEquals(postgresPid, Long.parseLong(Files.readAllLines(dir.resolve("postmaster.pid")).get(0)));
                assertEquals(ORPHAN_NOTE, query(db, "SELECT note FROM orphan_probe"));
            }
        } finally {
            child.destroyForcibly();
        }
    }

    @Test
    void parsesPgUrl() {
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
