package taraz.ops;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.stream.Collectors;

/**
 * How long the start took, by phase: each phase is logged as it ends, all of them together on
 * the ready line, and each is a gauge ({@code taraz_startup_phase_seconds{phase}}) so a slow
 * restart shows on the dashboard. Phases may overlap (the journal opens beside PostgreSQL), so
 * they need not add up to the time to ready.
 */
public final class Startup {

    private static final Logger LOG = LoggerFactory.getLogger(Startup.class);

    /**
     * The ready line names them in this order, the order of the start, except that the database (then its
     * migrations), the journal and the request schemas run side by side.
     */
    public enum Phase {
        /** Process start (the JVM's own clock) to the first line of main: JVM start-up, nothing of ours. */
        JVM,
        /** Main to the gateway's boot: the command line, the settings, logging, Vert.x and the metrics registry. */
        SETUP,
        /** The embedded PostgreSQL started (its orphan stopped first after a kill), or a first connection to TARAZ_PG_URL. */
        POSTGRESQL,
        /** Flyway: validate the applied migrations, apply the new ones; then the state columns checked against the enums. */
        MIGRATIONS,
        /** The journal's queue opened and its writer started. */
        JOURNAL,
        /** The request schemas (openapi.yaml) read and compiled into validators. */
        OPENAPI,
        /** The flows wired and every HTTP verticle listening. */
        HTTP,
        /** Readiness RECOVERING: the idempotency keys' upkeep and the journal replay. */
        RECOVERY;

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    private final Map<Phase, Long> nanos = new EnumMap<>(Phase.class);
    /** When the JVM started and when main began (epoch millis), or -1 when this process was not started for the gateway. */
    private final long jvmStartMillis;
    private final long mainMillis;
    private MeterRegistry registry;

    private Startup(long jvmStartMillis, long mainMillis) {
        this.jvmStartMillis = jvmStartMillis;
        this.mainMillis = mainMillis;
    }

    /** A gateway started by {@code main}: the JVM phase ran from the JVM's start to {@code mainMillis}. */
    public static Startup fromMain(long jvmStartMillis, long mainMillis) {
        Startup startup = new Startup(jvmStartMillis, mainMillis);
        startup.record(Phase.JVM, TimeUnit.MILLISECONDS.toNanos(Math.max(0, mainMillis - jvmStartMillis)));
        return startup;
    }

    /** A gateway started inside a JVM that was running already (a test): there is no JVM phase to speak of. */
    public static Startup inProcess() {
        return new Startup(-1, -1);
    }

    /** The gateway's boot begins: for a process started by main, the setup phase ends here. */
    public void booting() {
        if (mainMillis >= 0) {
            record(Phase.SETUP, TimeUnit.MILLISECONDS.toNanos(Math.max(0, System.currentTimeMillis() - mainMillis)));
        }
    }

    /** From now on each phase is also a gauge on {@code registry}, those already ended included. */
    public synchronized void bind(MeterRegistry registry) {
        this.registry = registry;
        nanos.keySet().forEach(this::register);
    }

    /** Blocking: runs {@code step} as {@code phase}; recorded when it returns (a phase that failed is not). */
    public <T> T time(Phase phase, Callable<T> step) throws Exception {
        long started = System.nanoTime();
        T result = step.call();
        record(phase, System.nanoTime() - started);
        return result;
    }

    /** Blocking: {@link #time} for a step without a result. */
    public void run(Phase phase, Step step) throws Exception {
        long started = System.nanoTime();
        step.run();
        record(phase, System.nanoTime() - started);
    }

    /** A blocking step without a result. */
    @FunctionalInterface
    public interface Step {
        void run() throws Exception;
    }

    /** Runs the asynchronous {@code step} as {@code phase}; recorded when its future succeeds. */
    public <T> Future<T> timeFuture(Phase phase, Supplier<Future<T>> step) {
        long started = System.nanoTime();
        return step.get().onSuccess(result -> record(phase, System.nanoTime() - started));
    }

    public synchronized void record(Phase phase, long elapsedNanos) {
        if (nanos.put(phase, elapsedNanos) != null) {
            throw new IllegalStateException("start phase " + phase.label() + " recorded twice");
        }
        if (phase != Phase.JVM) {
            LOG.info("start: {} done in {} ms", phase.label(), TimeUnit.NANOSECONDS.toMillis(elapsedNanos));
        }
        register(phase);
    }

    /**
     * "jvm 180 ms, postgresql 902 ms, …; 2410 ms since the JVM started": every phase that has ended, in
     * {@link Phase} order, and (started by main) the whole time since the process began.
     */
    public synchronized String summary() {
        String phases = nanos.entrySet().stream()
                .map(e -> e.getKey().label() + " " + TimeUnit.NANOSECONDS.toMillis(e.getValue()) + " ms")
                .collect(Collectors.joining(", "));
        return jvmStartMillis < 0 ? phases
                : phases + "; " + (System.currentTimeMillis() - jvmStartMillis) + " ms since the JVM started";
    }

    private void register(Phase phase) {
        if (registry == null) {
            return;
        }
        double seconds = nanos.get(phase) / 1e9;
        Gauge.builder("taraz.startup.phase.seconds", () -> seconds).tag("phase", phase.label())
                .description("how long each phase of this process's start took (they may overlap)")
                .register(registry);
    }
}
