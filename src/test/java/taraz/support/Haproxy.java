package taraz.support;

import java.util.concurrent.atomic.AtomicInteger;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * HAProxy with the shipped {@code conf/haproxy.cfg}, its ports and replicas from the environment the
 * file reads ({@code TARAZ_LB_PORT}, {@code TARAZ_PUBLIC_PORT}, {@code TARAZ_A_PORT}, {@code TARAZ_B_PORT}),
 * its log (httplog lines, server UP/DOWN) in a file.
 */
public final class Haproxy implements AutoCloseable {

    private static final long ROUTING_TIMEOUT_MILLIS = 60_000;
    /** Answers in a row through HAProxy that show it routes to the node, not a lucky first probe. */
    private static final int READY_IN_A_ROW = 4;
    private static final long STOP_TIMEOUT_SECONDS = 10;
    private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(2);

    private final Process process;
    private final Path log;

    private Haproxy(Process process, Path log) {
        this.process = process;
        this.log = log;
    }

    /** The haproxy executable on PATH or in the sbin directories, if installed. */
    public static Optional<Path> binary() {
        return Executables.find("haproxy");
    }

    /** Starts {@code binary} on conf/haproxy.cfg in the foreground (-db) with this environment. */
    public static Haproxy start(Path binary, Map<String, String> env, Path log) throws IOException {
        Path config = Path.of("conf", "haproxy.cfg").toAbsolutePath();
        if (!Files.isRegularFile(config)) {
            throw new IllegalStateException("missing " + config);
        }
        ProcessBuilder builder = new ProcessBuilder(binary.toString(), "-f", config.toString(), "-db");
        builder.environment().putAll(env);
        builder.redirectErrorStream(true).redirectOutput(log.toFile());
        return new Haproxy(builder.start(), log);
    }

    /** Until {@code baseUrl + "/health/ready"} answers 200 four times in a row through HAProxy: a ready node behind it. */
    public void awaitRouting(String baseUrl) throws IOException {
        AtomicInteger inARow = new AtomicInteger();
        ApiClient through = ApiClient.http11(baseUrl);
        try {
            Wait.until("haproxy routes to a ready node", ROUTING_TIMEOUT_MILLIS, () -> {
                if (!process.isAlive()) {
                    throw new AssertionError("haproxy exited with " + process.exitValue() + ":\n" + Files.readString(log));
                }
                int status = through.tryGet("/health/ready", PROBE_TIMEOUT).map(ApiClient.Response::status).orElse(-1);
                if (status != 200) {
                    inARow.set(0);
                }
                return status == 200 ? inARow.incrementAndGet() : 0;
            }, ready -> ready >= READY_IN_A_ROW);
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + ":\n" + Files.readString(log), e);
        }
    }

    public Path log() {
        return log;
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(STOP_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(STOP_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        }
    }
}
