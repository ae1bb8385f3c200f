package taraz.db;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A real PostgreSQL 17 (zonky's binaries) on a persistent data directory, listening on 127.0.0.1 only.
 * As root, zonky runs initdb/pg_ctl under {@code unshare -U}, because PostgreSQL refuses to run as root.
 */
public final class EmbeddedDatabase implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(EmbeddedDatabase.class);

    private static final String USER = "postgres";
    // initdb runs with "-A trust" (zonky), so the server ignores this; it is here because a pgUrl needs one.
    private static final String PASSWORD = "postgres";
    private static final String DATABASE = "postgres";
    private static final String HOST = "127.0.0.1";
    /** zonky's lock file in the data directory (EmbeddedPostgres.LOCK_FILE_NAME), held by the JVM that runs it. */
    private static final String ZONKY_LOCK_FILE = "epg-lock";
    private static final String PID_FILE = "postmaster.pid";

    /** Crash recovery after a kill replays WAL; zonky's 10 s default is too short for a large ledger. */
    private static final long STARTUP_TIMEOUT_SECONDS = 120;
    /** Fast shutdown of an orphan: roll back its sessions and write a checkpoint. */
    private static final long ORPHAN_STOP_TIMEOUT_MILLIS = 30_000;
    /** After SIGKILL the kernel only has to reap the process. */
    private static final long ORPHAN_KILL_TIMEOUT_MILLIS = 10_000;
    private static final long SIGNAL_TIMEOUT_MILLIS = 5_000;

    /**
     * Data directories this JVM runs. Checked before touching zonky's lock file: closing any channel on a file
     * drops every POSIX lock this process holds on it, so probing our own lock would release it.
     */
    private static final Set<Path> DIRS_IN_USE = ConcurrentHashMap.newKeySet();

    private final EmbeddedPostgres postgres;
    private final Path dataDir;
    private final AtomicBoolean closed = new AtomicBoolean();

    private EmbeddedDatabase(EmbeddedPostgres postgres, Path dataDir) {
        this.postgres = postgres;
        this.dataDir = dataDir;
    }

    /** Blocking (initdb on a fresh directory, crash recovery after a kill): call it from a worker thread. */
    public static EmbeddedDatabase start(Path dataDir) {
        Path dir;
        try {
            dir = Files.createDirectories(dataDir.toAbsolutePath().normalize()).toRealPath();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create data directory " + dataDir, e);
        }
        if (!DIRS_IN_USE.add(dir)) {
            throw new IllegalStateException(inUse(dir, Long.toString(ProcessHandle.current().pid())));
        }
        try {
            refuseIfHeldByLiveProcess(dir);
            stopOrphan(dir);
            EmbeddedPostgres postgres = EmbeddedPostgres.builder()
                    .setDataDirectory(dir)
                    .setCleanDataDirectory(false)
                    .setPGStartupWait(Duration.ofSeconds(STARTUP_TIMEOUT_SECONDS))
                    .setServerConfig("listen_addresses", HOST)
                    // Nothing here connects over a Unix socket; not creating one in /tmp is one way in fewer.
                    .setServerConfig("unix_socket_directories", "")
                    // zonky's defaults are for throwaway test databases (-F turns fsync off, synchronous_commit
                    // off): this one is the system of record, so a commit must be on disk when it returns.
                    .setServerConfig("fsync", "on")
                    .setServerConfig("synchronous_commit", "on")
                    .start();
            log.info("embedded PostgreSQL 17 at {} on port {}", dir, postgres.getPort());
            return new EmbeddedDatabase(postgres, dir);
        } catch (IOException e) {
            DIRS_IN_USE.remove(dir);
            throw new UncheckedIOException("cannot start embedded PostgreSQL at " + dir, e);
        } catch (RuntimeException e) {
            DIRS_IN_USE.remove(dir);
            throw e;
        }
    }

    /**
     * The {@code postgresql://} URL of the embedded PostgreSQL another live taraz process (a running
     * gateway) serves on this directory, or empty when none does. A tool such as {@code reconcile}
     * connects to that server rather than starting a second one; with nobody serving, it starts its
     * own with {@link #start}.
     */
    public static Optional<String> servedByAnother(Path dataDir) {
        Path dir = dataDir.toAbsolutePath().normalize();
        if (DIRS_IN_USE.contains(dir) || !Files.exists(dir.resolve(PID_FILE))) {
            return Optional.empty();
        }
        try {
            if (!lockedByAnotherProcess(dir.resolve(ZONKY_LOCK_FILE))) {
                return Optional.empty();
            }
            // postmaster.pid: pid, data directory, start time, port, ...
            List<String> lines = Files.readAllLines(dir.resolve(PID_FILE));
            int port = Integer.parseInt(lines.get(3).trim());
            return Optional.of("postgresql://" + USER + ":" + PASSWORD + "@" + HOST + ":" + port + "/" + DATABASE);
        } catch (IOException | IndexOutOfBoundsException | NumberFormatException e) {
            throw new IllegalStateException("data directory " + dir + " is in use, but its PostgreSQL port cannot be read", e);
        }
    }

    public String jdbcUrl() { return "jdbc:postgresql://" + HOST + ":" + port() + "/" + DATABASE; }
    public int port() { return postgres.getPort(); }
    public String user() { return USER; }
    public String password() { return PASSWORD; }
    public String database() { return DATABASE; }

    /** The same form as the TARAZ_PG_URL setting. */
    public String pgUrl() { return "postgresql://" + USER + ":" + PASSWORD + "@" + HOST + ":" + port() + "/" + DATABASE; }

    /** Fast shutdown through zonky's pg_ctl; idempotent. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        try {
            postgres.close();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot stop embedded PostgreSQL at " + dataDir, e);
        } finally {
            DIRS_IN_USE.remove(dataDir);
        }
    }

    /**
     * A live JVM holding zonky's lock is another taraz serving this directory: its PostgreSQL is not an orphan.
     * The lock of a killed JVM was released by the kernel.
     */
    private static void refuseIfHeldByLiveProcess(Path dir) throws IOException {
        Path lockFile = dir.resolve(ZONKY_LOCK_FILE);
        if (lockedByAnotherProcess(lockFile)) {
            throw new IllegalStateException(inUse(dir, lockHolderPid(lockFile)));
        }
    }

    /**
     * Whether another live process holds zonky's lock. Never call it for a directory this JVM runs
     * ({@link #DIRS_IN_USE}): closing the probe's channel would drop our own lock.
     */
    private static boolean lockedByAnotherProcess(Path lockFile) throws IOException {
        if (!Files.exists(lockFile)) {
            return false;
        }
        try (FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.WRITE)) {
            FileLock lock = channel.tryLock();
            if (lock == null) {
                return true;
            }
            lock.release();
            return false;
        }
    }

    private static String inUse(Path dir, String pid) {
        return "data directory " + dir + " is in use by another taraz process (pid " + pid + ")";
    }

    /** The kernel names the holder in /proc/locks: "1: POSIX  ADVISORY  WRITE 4242 fd:01:1234 0 EOF". */
    private static String lockHolderPid(Path lockFile) throws IOException {
        String inodeSuffix = ":" + Files.getAttribute(lockFile, "unix:ino");
        for (String line : Files.readAllLines(Path.of("/proc/locks"))) {
            String[] fields = line.trim().split("\\s+");
            // Lines with "->" are waiters, not holders.
            if (fields.length >= 6 && !fields[1].equals("->") && fields[5].endsWith(inodeSuffix)) {
                return fields[4];
            }
        }
        return "unknown";
    }

    /**
     * A JVM killed with SIGKILL leaves its PostgreSQL running on our directory; it must go before ours starts.
     * A pid file naming a dead process is left to PostgreSQL, which recognises it as stale. A pid file naming a
     * live process that is not a PostgreSQL on this directory (pid reused, e.g. after a container restart) would
     * make PostgreSQL refuse to start, and no postmaster can be behind it, so it is removed.
     */
    private static void stopOrphan(Path dir) throws IOException {
        Path pidFile = dir.resolve(PID_FILE);
        if (!Files.exists(pidFile)) {
            return;
        }
        List<String> lines = Files.readAllLines(pidFile);
        long pid;
        try {
            pid = Long.parseLong(lines.get(0).trim());
        } catch (IndexOutOfBoundsException | NumberFormatException e) {
            // A half-written file: PostgreSQL judges it itself.
            return;
        }
        Optional<ProcessHandle> process = ProcessHandle.of(pid).filter(ProcessHandle::isAlive);
        Optional<String> command = process.flatMap(p -> p.info().command());
        if (command.isEmpty()) {
            return;
        }
        if (!command.get().contains("postgres") || !workingDirectoryIs(pid, dir)) {
            log.info("removing stale {} in {}: pid {} is {}, not PostgreSQL on this directory",
                    PID_FILE, dir, pid, command.get());
            Files.delete(pidFile);
            return;
        }
        log.info("stopping orphaned PostgreSQL pid {} left by a killed process", pid);
        ProcessHandle orphan = process.get();
        signalFastShutdown(orphan);
        if (awaitExit(orphan, ORPHAN_STOP_TIMEOUT_MILLIS)) {
            return;
        }
        log.warn("orphaned PostgreSQL pid {} still running after {} ms of fast shutdown; killing it (SIGKILL)",
                pid, ORPHAN_STOP_TIMEOUT_MILLIS);
        orphan.destroyForcibly();
        if (!awaitExit(orphan, ORPHAN_KILL_TIMEOUT_MILLIS)) {
            throw new IllegalStateException("orphaned PostgreSQL pid " + pid + " on " + dir + " survived SIGKILL");
        }
    }

    /** A postmaster chdirs into its data directory, so its cwd says which directory it serves. */
    private static boolean workingDirectoryIs(long pid, Path dir) {
        try {
            return Files.readSymbolicLink(Path.of("/proc", Long.toString(pid), "cwd")).equals(dir);
        } catch (IOException e) {
            // Guessing wrong either way is unsafe: two postmasters on one directory, or a stranger killed.
            throw new IllegalStateException("cannot tell whether PostgreSQL pid " + pid + " serves " + dir, e);
        }
    }

    /** SIGINT is PostgreSQL's fast shutdown; Java can only send SIGTERM (smart) and SIGKILL itself. */
    private static void signalFastShutdown(ProcessHandle orphan) {
        try {
            Process kill = new ProcessBuilder("kill", "-INT", Long.toString(orphan.pid()))
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (kill.waitFor(SIGNAL_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS) && kill.exitValue() == 0) {
                return;
            }
            kill.destroyForcibly();
        } catch (IOException e) {
            log.warn("cannot run kill -INT ({}); sending SIGTERM instead", e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while stopping orphaned PostgreSQL", e);
        }
        // Smart shutdown also ends an orphan: the killed JVM's sessions are already closed.
        orphan.destroy();
    }

    private static boolean awaitExit(ProcessHandle process, long timeoutMillis) {
        try {
            process.onExit().get(timeoutMillis, TimeUnit.MILLISECONDS);
            return true;
        } catch (TimeoutException e) {
            return !process.isAlive();
        } catch (ExecutionException e) {
            throw new IllegalStateException("cannot wait for pid " + process.pid(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for pid " + process.pid(), e);
        }
    }
}
