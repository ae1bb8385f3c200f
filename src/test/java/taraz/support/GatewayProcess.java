package taraz.support;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.util.function.DoublePredicate;
import taraz.db.EmbeddedDatabase;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;

/**
 * A gateway in a real child JVM (the test's classpath, {@code taraz.app.Main serve}), for tests
 * that kill, crash or stop the process. Its output goes to a log file next to its data.
 * {@link #close} ends a child and what its death left running; {@link LeftoverProcessCheck}
 * fails the run if any child or its embedded PostgreSQL outlives it.
 */
public final class GatewayProcess implements AutoCloseable {

    private static final long READY_TIMEOUT_MILLIS = 180_000;
    private static final long READY_POLL_MILLIS = 100;
    /** An immediate shutdown of PostgreSQL only signals its backends and exits. */
    private static final long POSTGRES_STOP_TIMEOUT_MILLIS = 30_000;
    /** A child asked to stop gracefully (SIGTERM) drains for its grace and stops its PostgreSQL. */
    private static final long LEFTOVER_WAIT_MILLIS = 60_000;
    private static final long SIGNAL_TIMEOUT_MILLIS = 5_000;
    /** A graceful stop: the drain of in-flight requests, the journal sync, PostgreSQL's own stop. */
    private static final long STOP_TIMEOUT_MILLIS = 90_000;
    /** A probe of a child that may be booting or stopping gives up this soon. */
    private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(2);
    /** Every child this run started, for {@link #close} and {@link #stopLeftovers}. */
    private static final Set<GatewayProcess> LAUNCHED = ConcurrentHashMap.newKeySet();

    private final Process process;
    private final Path dataDir;
    private final int port;
    private final Path log;

    private GatewayProcess(Process process, Path dataDir, int port, Path log) {
        this.process = process;
        this.dataDir = dataDir.toAbsolutePath().normalize();
        this.port = port;
        this.log = log;
    }

    /** Starts a child on {@code dataDir} with extra environment, and waits until it is ready. */
    public static GatewayProcess start(Path dataDir, int port, Map<String, String> env) throws Exception {
        GatewayProcess child = launch(List.of("serve"), dataDir, port, env);
        child.awaitReady();
        return child;
    }

    /**
     * A node of a cluster: a child named {@code nodeId} on the shared PostgreSQL at {@code pgUrl}, its own data
     * (journal) under {@code base/node-<nodeId>}, and no PSP (a closed port: trips never call one); ready.
     */
    public static GatewayProcess startNode(Path base, String pgUrl, String nodeId) throws Exception {
        return start(base.resolve("node-" + nodeId), TestGateway.freePort(),
                Map.of("TARAZ_PG_URL", pgUrl, "TARAZ_PSP_URL", "http://127.0.0.1:9", "TARAZ_NODE_ID", nodeId));
    }

    /**
     * Writes settings for a child into its data directory and returns the environment entry
     * that points the child at them ({@code TARAZ_CONFIG}); they override the jar's defaults.
     */
    public static Map<String, String> config(Path dataDir, Map<String, Object> settings) throws IOException {
        Files.createDirectories(dataDir);
        Path file = dataDir.resolve("test-settings.json");
        Files.writeString(file, new io.vertx.core.json.JsonObject(new HashMap<>(settings)).encode());
        return Map.of("TARAZ_CONFIG", file.toString());
    }

    /** Runs a command of the executable (journal, ...) to its end and returns its exit status and output. */
    public static Result run(List<String> args, Path dataDir, long timeoutMillis) throws Exception {
        GatewayProcess child = launch(args, dataDir, 0, Map.of());
        if (!child.process.waitFor(timeoutMillis, TimeUnit.MILLISECONDS)) {
            child.process.destroyForcibly();
            throw new AssertionError("command " + args + " did not end within " + timeoutMillis + " ms");
        }
        return new Result(child.process.exitValue(), Files.readString(child.log));
    }

    public record Result(int status, String output) {}

    /** Starts a command of the executable and returns at once; {@link #awaitExit} and {@link #output} follow it. */
    public static GatewayProcess command(List<String> args, Path dataDir, Map<String, String> env) throws IOException {
        return launch(args, dataDir, 0, env);
    }

    /**
     * Runs a command of the executable to its end with its standard output and standard error apart: for a command
     * whose standard output is its answer (reconcile's summary) and whose log lines must stay out of it.
     */
    public static Apart runApart(List<String> args, Path dataDir, long timeoutMillis) throws Exception {
        Files.createDirectories(dataDir);
        Path out = dataDir.resolve("child-" + System.nanoTime() + ".out");
        Path err = dataDir.resolve("child-" + System.nanoTime() + ".err");
        ProcessBuilder builder = new ProcessBuilder(javaCommand(args)).redirectOutput(out.toFile()).redirectError(err.toFile());
        builder.environment().put("TARAZ_DATA_DIR", dataDir.toString());
        Process process = builder.start();
        if (!process.waitFor(timeoutMillis, TimeUnit.MILLISECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("command " + args + " did not end within " + timeoutMillis + " ms");
        }
        return new Apart(process.exitValue(), Files.readString(out), Files.readString(err));
    }

    public record Apart(int status, String stdout, String stderr) {}

    private static GatewayProcess launch(List<String> args, Path dataDir, int port, Map<String, String> env) throws IOException {
        Files.createDirectories(dataDir);
        ProcessBuilder builder = new ProcessBuilder(javaCommand(args));
        Map<String, String> environment = new HashMap<>(env);
        environment.put("TARAZ_DATA_DIR", dataDir.toString());
        if (port > 0) {
            environment.put("TARAZ_HTTP_PORT", Integer.toString(port));
        }
        environment.putIfAbsent("TARAZ_ADMIN_TOKEN", TestGateway.ADMIN_TOKEN);
        environment.putIfAbsent("TARAZ_API_KEYS", TestGateway.API_KEY);
        builder.environment().putAll(environment);
        Path log = dataDir.resolve("child-" + System.nanoTime() + ".log");
        builder.redirectErrorStream(true).redirectOutput(log.toFile());
        GatewayProcess child = new GatewayProcess(builder.start(), dataDir, port, log);
        LAUNCHED.add(child);
        return child;
    }

    /** The JVM command line of a child running {@code taraz.app.Main} with {@code args}: this JVM's flags and class path. */
    private static List<String> javaCommand(List<String> args) {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (arg.startsWith("--add-") || arg.startsWith("-Dchronicle")) {
                command.add(arg);
            }
        }
        command.add("-Xmx384m");
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add("taraz.app.Main");
        command.addAll(args);
        return command;
    }

    private void awaitReady() {
        try {
            await().atMost(Duration.ofMillis(READY_TIMEOUT_MILLIS)).pollInterval(Duration.ofMillis(READY_POLL_MILLIS))
                    .failFast(() -> !process.isAlive())
                    .until(() -> readyStatus() == 200);
        } catch (org.awaitility.core.TerminalFailureException e) {
            throw new AssertionError("gateway exited with " + process.exitValue() + " before ready:\n" + output());
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            process.destroyForcibly();
            throw new AssertionError("gateway not ready within " + READY_TIMEOUT_MILLIS + " ms:\n" + output());
        }
    }

    /**
     * Starts a child on {@code dataDir} and returns at once, without waiting until it is ready:
     * for tests that watch it boot (readiness during recovery). {@link #waitUntilReady} waits.
     */
    public static GatewayProcess spawn(Path dataDir, int port, Map<String, String> env) throws IOException {
        return launch(List.of("serve"), dataDir, port, env);
    }

    /** Waits (bounded) until /health/ready answers 200; fails if the child exits first. */
    public void waitUntilReady() throws Exception {
        awaitReady();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /**
     * The value of a gauge or counter in /metrics (Prometheus text, first series of that name),
     * or NaN when nothing answers or the metric is absent.
     */
    public double metric(String name) {
        java.util.regex.Pattern series = java.util.regex.Pattern.compile("(?m)^" + java.util.regex.Pattern.quote(name)
                + "(\\{[^}]*\\})? ([-+0-9.eE]+|NaN)$");
        return api().tryGet("/metrics", PROBE_TIMEOUT).map(r -> series.matcher(r.text()))
                .filter(java.util.regex.Matcher::find).map(m -> Double.parseDouble(m.group(2))).orElse(Double.NaN);
    }

    /** Waits (bounded) until the metric's value satisfies {@code reached}; returns that value. */
    public double awaitMetric(String name, DoublePredicate reached, long timeoutMillis) {
        return Wait.until(name + " on pid " + pid(), timeoutMillis, () -> metric(name), reached::test);
    }

    /** The status of /health/ready, or -1 when nothing answers. */
    public int readyStatus() {
        return api().tryGet("/health/ready", PROBE_TIMEOUT).map(ApiClient.Response::status).orElse(-1);
    }

    public String baseUrl() {
        return "http://127.0.0.1:" + port;
    }

    public ApiClient api() {
        return new ApiClient(baseUrl());
    }

    public long pid() {
        return process.pid();
    }

    /** kill -9: no shutdown hook runs, the embedded PostgreSQL child is left behind. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        awaitExit(30_000);
    }

    /** SIGTERM: the graceful stop sequence. */
    public void terminate() {
        process.destroy();
    }

    /**
     * Stops each child given (nulls are skipped) as a test's cleanup: a graceful stop (SIGTERM,
     * which stops its embedded PostgreSQL too) of one that still runs, a kill if it does not end
     * within {@link #STOP_TIMEOUT_MILLIS}, then {@link #close} for what a kill or crash left.
     */
    public static void stop(GatewayProcess... children) throws IOException, InterruptedException {
        for (GatewayProcess child : children) {
            if (child == null) {
                continue;
            }
            if (child.process.isAlive()) {
                child.terminate();
                child.process.waitFor(STOP_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
            }
            child.close();
        }
    }

    /**
     * Ends this child whatever became of it, as a test's last word on it: kill -9 if it still
     * runs, then an immediate shutdown of the embedded PostgreSQL that a kill or a crash left
     * running on its data directory, unless another live child of the run serves that directory.
     */
    @Override
    public void close() throws IOException, InterruptedException {
        if (process.isAlive()) {
            kill();
        }
        boolean directoryServed = LAUNCHED.stream().anyMatch(other -> other != this && other.dataDir.equals(dataDir) && other.isAlive());
        if (!directoryServed) {
            stopPostgres(dataDir);
        }
    }

    /**
     * What this run's children left running: each child still alive after a bounded wait (one
     * asked to stop may still be draining), and each embedded PostgreSQL left on a child's data
     * directory. Each is stopped; the descriptions say what was found.
     */
    public static List<String> stopLeftovers() throws IOException, InterruptedException {
        // Those still alive after the wait are reported below, child by child.
        Wait.poll(LEFTOVER_WAIT_MILLIS, () -> LAUNCHED.stream().noneMatch(GatewayProcess::isAlive), Boolean::booleanValue);
        List<String> left = new ArrayList<>();
        for (GatewayProcess child : LAUNCHED) {
            if (child.isAlive()) {
                left.add("gateway pid " + child.pid() + " on " + child.dataDir);
                child.kill();
            }
        }
        for (Path dir : LAUNCHED.stream().map(child -> child.dataDir).distinct().toList()) {
            Optional<ProcessHandle> postgres = postgresLeft(dir);
            if (postgres.isPresent()) {
                left.add("postgres pid " + postgres.get().pid() + " on " + dir);
                stopPostgres(dir);
            }
        }
        return left;
    }

    /**
     * The embedded PostgreSQL still running on a child's data directory: the pid in its
     * postmaster.pid, alive, a postgres, and working in that directory (a pid can be reused).
     */
    private static Optional<ProcessHandle> postgresLeft(Path dataDir) throws IOException {
        long pid = postgresPid(dataDir);
        if (pid < 0 || exited(pid)) {
            return Optional.empty();
        }
        Optional<ProcessHandle> process = ProcessHandle.of(pid)
                .filter(p -> p.info().command().map(command -> command.contains("postgres")).orElse(false));
        if (process.isEmpty()) {
            return Optional.empty();
        }
        try {
            Path cwd = Files.readSymbolicLink(Path.of("/proc", Long.toString(pid), "cwd"));
            return cwd.equals(dataDir.resolve("postgres").toRealPath()) ? process : Optional.empty();
        } catch (java.nio.file.NoSuchFileException e) {
            return Optional.empty();
        }
    }

    /** SIGQUIT, PostgreSQL's immediate shutdown (what {@code pg_ctl stop -m immediate} sends); SIGKILL if that fails. */
    private static void stopPostgres(Path dataDir) throws IOException, InterruptedException {
        Optional<ProcessHandle> postgres = postgresLeft(dataDir);
        if (postgres.isEmpty()) {
            return;
        }
        long pid = postgres.get().pid();
        Process quit = new ProcessBuilder("kill", "-QUIT", Long.toString(pid))
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        if (!quit.waitFor(SIGNAL_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS)) {
            quit.destroyForcibly();
        }
        if (!Wait.poll(POSTGRES_STOP_TIMEOUT_MILLIS, () -> exited(pid), Boolean::booleanValue)) {
            postgres.get().destroyForcibly();
            Wait.until("postgres pid " + pid + " ends after SIGKILL", POSTGRES_STOP_TIMEOUT_MILLIS, () -> exited(pid));
        }
    }

    /** Waits for the process to end and returns its exit status. */
    public int awaitExit(long timeoutMillis) throws InterruptedException {
        if (!process.waitFor(timeoutMillis, TimeUnit.MILLISECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("gateway did not exit within " + timeoutMillis + " ms:\n" + output());
        }
        return process.exitValue();
    }

    public String output() {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    /**
     * The output's log messages as written, one a line: each JSON line's {@code formattedMessage} (JSON escapes a
     * path's slashes, so a search of the raw output for one fails), any other line as it is.
     */
    public String messages() {
        StringBuilder messages = new StringBuilder();
        for (String line : output().split("\n")) {
            messages.append(message(line)).append('\n');
        }
        return messages.toString();
    }

    private static String message(String line) {
        if (!line.startsWith("{")) {
            return line;
        }
        try {
            return String.valueOf(new JsonObject(line).getString("formattedMessage"));
        } catch (DecodeException e) {
            return line;
        }
    }

    /**
     * Whether the process has ended: gone, or a zombie that init has not reaped yet (its parent, a killed JVM, is
     * gone, and some inits reap only seconds later). ProcessHandle.isAlive() counts a zombie as alive.
     */
    public static boolean exited(long pid) throws IOException {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            return stat.startsWith(" Z", stat.lastIndexOf(')') + 1);
        } catch (java.nio.file.NoSuchFileException e) {
            return true;
        }
    }

    /** The pid in the embedded PostgreSQL's postmaster.pid, or -1 when there is none. */
    public static long postgresPid(Path dataDir) throws IOException {
        Path pidFile = dataDir.resolve("postgres").resolve("postmaster.pid");
        if (!Files.exists(pidFile)) {
            return -1;
        }
        return Long.parseLong(Files.readAllLines(pidFile).get(0).trim());
    }

    /**
     * JDBC to the embedded PostgreSQL of a data directory while it runs: the port from postmaster.pid, the
     * password from the file the gateway generated ({@link EmbeddedDatabase#passwordFile}).
     */
    public static Connection connectToDatabase(Path dataDir) throws IOException, SQLException {
        Path postgres = dataDir.resolve("postgres");
        List<String> lines = Files.readAllLines(postgres.resolve("postmaster.pid"));
        String password = Files.readString(EmbeddedDatabase.passwordFile(postgres)).strip();
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + lines.get(3).trim() + "/postgres", "postgres", password);
    }
}
