package taraz.db;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Pattern;

/**
 * A real PostgreSQL 17 (zonky's binaries) on a persistent data directory, listening on 127.0.0.1 only, with
 * password logins only (scram-sha-256): the superuser's password is generated on the first start and kept in
 * {@code postgres-password} beside the data directory ({@code $TARAZ_DATA_DIR/postgres-password}, mode 0600),
 * so that another local user cannot log in to the ledger while an operator's {@code psql} still can.
 * As root, zonky runs initdb/pg_ctl under {@code unshare -U}, because PostgreSQL refuses to run as root.
 */
public final class EmbeddedDatabase implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(EmbeddedDatabase.class);

    private static final String USER = "postgres";
    private static final String DATABASE = "postgres";
    private static final String HOST = "127.0.0.1";
    /** zonky's lock file in the data directory (EmbeddedPostgres.LOCK_FILE_NAME), held by the JVM that runs it. */
    private static final String ZONKY_LOCK_FILE = "epg-lock";
    private static final String PID_FILE = "postmaster.pid";
    /** initdb writes it; its presence is how zonky (and we) tell an initialised directory from a fresh one. */
    private static final String CONF_FILE = "postgresql.conf";
    private static final String HBA_FILE = "pg_hba.conf";
    /** Beside the data directory, not in it: the operator finds it next to the journal, and initdb wants an empty directory. */
    private static final String PASSWORD_FILE = "postgres-password";
    private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");
    private static final String AUTH_METHOD = "scram-sha-256";
    /** 32 random bytes, base64url: 43 characters that need no escaping in a postgresql:// URL or in SQL. */
    private static final int PASSWORD_BYTES = 32;
    private static final Pattern PASSWORD_FORM = Pattern.compile("[A-Za-z0-9_-]{32,256}");
    /**
     * pg_hba.conf after upgrading a directory made by an earlier version with trust auth: TCP on 127.0.0.1 only
     * (the server listens nowhere else and has no Unix socket), always with the password.
     */
    private static final String HBA_SCRAM = """
            # Written by taraz: password logins only (scram-sha-256), over TCP on 127.0.0.1, the only address the
            # server listens on (it has no Unix socket). The password is in ../postgres-password.
            host    all             all             127.0.0.1/32            scram-sha-256
            host    replication     all             127.0.0.1/32            scram-sha-256
            """;
    /** After pg_reload_conf() the postmaster rereads pg_hba.conf on its next loop; this bounds the wait for it. */
    private static final long HBA_RELOAD_TIMEOUT_MILLIS = 10_000;
    private static final String INVALID_PASSWORD = "28P01";

    /** Crash recovery after a kill replays WAL; zonky's 10 s default is too short for a large ledger. */
    private static final long STARTUP_TIMEOUT_SECONDS = 120;
    /** Fast shutdown of an orphan: roll back its sessions and write a checkpoint. */
    private static final long ORPHAN_STOP_TIMEOUT_MILLIS = 30_000;
    /** After SIGKILL the kernel only has to reap the process. */
    private static final long ORPHAN_KILL_TIMEOUT_MILLIS = 10_000;
    private static final long SIGNAL_TIMEOUT_MILLIS = 5_000;
    /** How often the wait for an orphan's exit looks: a fast shutdown takes some 100 to 300 ms. */
    private static final long ORPHAN_POLL_MILLIS = 10;

    /**
     * Data directories this JVM runs. Checked before touching zonky's lock file: closing any channel on a file
     * drops every POSIX lock this process holds on it, so probing our own lock would release it.
     */
    private static final Set<Path> DIRS_IN_USE = ConcurrentHashMap.newKeySet();

    private final EmbeddedPostgres postgres;
    private final Path dataDir;
    private final String password;
    private final AtomicBoolean closed = new AtomicBoolean();

    private EmbeddedDatabase(EmbeddedPostgres postgres, Path dataDir, String password) {
        this.postgres = postgres;
        this.dataDir = dataDir;
        this.password = password;
    }

    /** Where the superuser's password of the PostgreSQL on {@code dataDir} is kept: beside it, {@value #PASSWORD_FILE}. */
    public static Path passwordFile(Path dataDir) {
        return dataDir.toAbsolutePath().normalize().resolveSibling(PASSWORD_FILE);
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
            Path passwordFile = passwordFile(dir);
            boolean initialised = Files.exists(dir.resolve(CONF_FILE));
            boolean trusting = initialised && trusts(dir.resolve(HBA_FILE));
            // A directory already on passwords needs the password it was given; a new one would lock us out.
            String password = initialised && !trusting ? readPassword(passwordFile) : readOrCreatePassword(passwordFile);
            EmbeddedPostgres postgres = EmbeddedPostgres.builder()
                    .setDataDirectory(dir)
                    .setCleanDataDirectory(false)
                    .setPGStartupWait(Duration.ofSeconds(STARTUP_TIMEOUT_SECONDS))
                    // zonky runs "initdb -A trust ..." and then appends each of these as --key=value; the later
                    // options win, so a fresh cluster is on passwords from its first start, with no trust window.
                    // (They only matter to initdb, which runs only on an empty directory.)
                    .setLocaleConfig("auth-host", AUTH_METHOD)
                    .setLocaleConfig("auth-local", AUTH_METHOD)
                    .setLocaleConfig("pwfile", passwordFile.toString())
                    // zonky's own readiness probe logs in as postgres.
                    .setConnectConfig("password", password)
                    .setServerConfig("listen_addresses", HOST)
                    // Nothing here connects over a Unix socket; not creating one in /tmp is one way in fewer.
                    .setServerConfig("unix_socket_directories", "")
                    // zonky's defaults are for throwaway test databases (-F turns fsync off, synchronous_commit
                    // off): this one is the system of record, so a commit must be on disk when it returns.
                    .setServerConfig("fsync", "on")
                    .setServerConfig("synchronous_commit", "on")
                    .setServerConfig("password_encryption", AUTH_METHOD)
                    .start();
            EmbeddedDatabase database = new EmbeddedDatabase(postgres, dir, password);
            if (trusting) {
                try {
                    database.upgradeFromTrust();
                } catch (RuntimeException e) {
                    database.close();
                    throw e;
                }
            }
            log.info("embedded PostgreSQL 17 at {} on port {}, password in {}", dir, postgres.getPort(), passwordFile);
            return database;
        } catch (IOException e) {
            DIRS_IN_USE.remove(dir);
            throw new UncheckedIOException("cannot start embedded PostgreSQL at " + dir, e);
        } catch (RuntimeException e) {
            DIRS_IN_USE.remove(dir);
            throw e;
        }
    }

    /**
     * Refuses, as {@link #start} would, a directory that another live taraz (or another gateway in this JVM) serves,
     * and changes nothing. The gateway asks this before it opens the journal beside the database's start, so that
     * a second taraz on a data directory in use is turned away before it touches that directory's journal.
     */
    public static void refuseIfInUse(Path dataDir) {
        Path dir = dataDir.toAbsolutePath().normalize();
        if (!Files.isDirectory(dir)) {
            return;
        }
        try {
            dir = dir.toRealPath();
            if (DIRS_IN_USE.contains(dir)) {
                throw new IllegalStateException(inUse(dir, Long.toString(ProcessHandle.current().pid())));
            }
            refuseIfHeldByLiveProcess(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot check whether " + dir + " is in use", e);
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
            return Optional.of(pgUrl(readPassword(passwordFile(dir)), port));
        } catch (IOException | IndexOutOfBoundsException | NumberFormatException e) {
            throw new IllegalStateException("data directory " + dir + " is in use, but its PostgreSQL port cannot be read", e);
        }
    }

    public String jdbcUrl() { return "jdbc:postgresql://" + HOST + ":" + port() + "/" + DATABASE; }
    public int port() { return postgres.getPort(); }
    public String user() { return USER; }
    public String password() { return password; }
    public String database() { return DATABASE; }

    /** The same form as the TARAZ_PG_URL setting. */
    public String pgUrl() { return pgUrl(password, port()); }

    /** The password's form ({@link #PASSWORD_FORM}) needs no escaping here. */
    private static String pgUrl(String password, int port) {
        return "postgresql://" + USER + ":" + password + "@" + HOST + ":" + port + "/" + DATABASE;
    }

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
     * A directory initialised by an earlier taraz (zonky's "initdb -A trust") lets anyone on the host in as
     * postgres. The server was started on it as it was (trust lets this one login in), so: set the password,
     * then replace pg_hba.conf, then reload, then wait until a wrong password is refused. Each step is
     * idempotent, so a crash anywhere in between is finished by the next start.
     */
    private void upgradeFromTrust() {
        log.warn("embedded PostgreSQL at {} accepts logins without a password (made by an earlier version): "
                + "switching it to {} with the password in {}", dataDir, AUTH_METHOD, passwordFile(dataDir));
        try (Connection c = DriverManager.getConnection(jdbcUrl(), USER, password); Statement s = c.createStatement()) {
            // ALTER ROLE takes no bind parameter; the password's form (letters, digits, - and _) needs no quoting.
            s.execute("ALTER ROLE " + USER + " PASSWORD '" + password + "'");
            writeOwnerOnly(dataDir.resolve(HBA_FILE), HBA_SCRAM);
            try (ResultSet r = s.executeQuery("SELECT pg_reload_conf()")) {
                r.next();
            }
        } catch (SQLException e) {
            throw new IllegalStateException("cannot switch embedded PostgreSQL at " + dataDir + " to password logins", e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + dataDir.resolve(HBA_FILE), e);
        }
        awaitPasswordsRequired();
    }

    /** Until a login with a wrong password is refused: the postmaster has reloaded pg_hba.conf. */
    private void awaitPasswordsRequired() {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(HBA_RELOAD_TIMEOUT_MILLIS);
        String wrong = "not-" + password;
        while (true) {
            try (Connection ignored = DriverManager.getConnection(jdbcUrl(), USER, wrong)) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("embedded PostgreSQL at " + dataDir
                            + " still accepts a wrong password " + HBA_RELOAD_TIMEOUT_MILLIS + " ms after reloading pg_hba.conf");
                }
            } catch (SQLException e) {
                if (INVALID_PASSWORD.equals(e.getSQLState())) {
                    return;
                }
                throw new IllegalStateException("embedded PostgreSQL at " + dataDir + " after reloading pg_hba.conf", e);
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for PostgreSQL to reload pg_hba.conf", e);
            }
        }
    }

    /** Whether an active line of pg_hba.conf lets a client in without a password. */
    private static boolean trusts(Path hbaFile) throws IOException {
        if (!Files.exists(hbaFile)) {
            return false;
        }
        for (String line : Files.readAllLines(hbaFile)) {
            int hash = line.indexOf('#');
            String rule = (hash >= 0 ? line.substring(0, hash) : line).trim();
            if (!rule.isEmpty() && List.of(rule.split("\\s+")).contains("trust")) {
                return true;
            }
        }
        return false;
    }

    private static String readOrCreatePassword(Path file) throws IOException {
        if (Files.exists(file)) {
            return readPassword(file);
        }
        byte[] random = new byte[PASSWORD_BYTES];
        new SecureRandom().nextBytes(random);
        String password = Base64.getUrlEncoder().withoutPadding().encodeToString(random);
        writeOwnerOnly(file, password + "\n");
        log.info("generated the embedded PostgreSQL's password into {}", file);
        return password;
    }

    /** The password file, kept at mode 0600 (tightened if someone loosened it), its one line checked. */
    private static String readPassword(Path file) {
        try {
            if (!Files.exists(file)) {
                throw new IllegalStateException("embedded PostgreSQL requires a password, but " + file
                        + " is missing; restore it (the password set in the database) from a backup");
            }
            if (!Files.getPosixFilePermissions(file).equals(OWNER_ONLY)) {
                log.warn("{} was readable by others; setting it to mode 0600", file);
                Files.setPosixFilePermissions(file, OWNER_ONLY);
            }
            String password = Files.readString(file).strip();
            if (!PASSWORD_FORM.matcher(password).matches()) {
                throw new IllegalStateException(file + " must hold one line of 32 to 256 letters, digits, '-' or '_'");
            }
            return password;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    /** Written whole or not at all, mode 0600 from the start: never a moment where others can read it. */
    private static void writeOwnerOnly(Path file, String content) throws IOException {
        Path temp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.deleteIfExists(temp);
        Files.createFile(temp, PosixFilePermissions.asFileAttribute(OWNER_ONLY));
        Files.writeString(temp, content, StandardCharsets.UTF_8, StandardOpenOption.WRITE);
        try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.WRITE)) {
            channel.force(true);
        }
        Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
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
        long started = System.nanoTime();
        ProcessHandle orphan = process.get();
        signalFastShutdown(orphan);
        if (awaitExit(orphan, pidFile, ORPHAN_STOP_TIMEOUT_MILLIS)) {
            log.info("orphaned PostgreSQL pid {} stopped in {} ms", pid, (System.nanoTime() - started) / 1_000_000);
            return;
        }
        log.warn("orphaned PostgreSQL pid {} still running after {} ms of fast shutdown; killing it (SIGKILL)",
                pid, ORPHAN_STOP_TIMEOUT_MILLIS);
        orphan.destroyForcibly();
        if (!awaitExit(orphan, pidFile, ORPHAN_KILL_TIMEOUT_MILLIS)) {
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

    /**
     * Waits (bounded) until the orphan is done with the directory: gone, or exited after removing its pid file, as
     * a postmaster does at the end of a clean shutdown. Exited is a zombie, which runs no code and holds no file,
     * no memory and no port. Not {@code ProcessHandle.onExit()}: for a process that is not our child it polls from
     * 300 ms on and counts a zombie as alive until init reaps it, which adds 0.3 to 2 s to a restart after a kill.
     * A zombie whose pid file is still there (it was killed) must be reaped, though: a new postmaster refuses a pid
     * file naming a pid that kill(pid, 0) finds, and it finds a zombie.
     */
    private static boolean awaitExit(ProcessHandle process, Path pidFile, long timeoutMillis) throws IOException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        while (process.isAlive() && !(isZombie(process.pid()) && !namesPid(pidFile, process.pid()))) {
            if (System.nanoTime() - deadline >= 0) {
                return false;
            }
            try {
                Thread.sleep(ORPHAN_POLL_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for pid " + process.pid(), e);
            }
        }
        return true;
    }

    /** State Z in /proc/PID/stat: "pid (comm) Z ...", read after the last ')' since comm may hold one. */
    private static boolean isZombie(long pid) throws IOException {
        String stat;
        try {
            stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
        } catch (NoSuchFileException e) {
            // Reaped meanwhile: the next isAlive() says so.
            return false;
        }
        int end = stat.lastIndexOf(')');
        return end >= 0 && stat.startsWith(" Z", end + 1);
    }

    private static boolean namesPid(Path pidFile, long pid) throws IOException {
        try {
            List<String> lines = Files.readAllLines(pidFile);
            return !lines.isEmpty() && lines.get(0).trim().equals(Long.toString(pid));
        } catch (NoSuchFileException e) {
            return false;
        }
    }
}
