package taraz.journal;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.HdrHistogram.Histogram;
import taraz.journal.JournalRecord.Status;

/**
 * Not a test: appends records from a Vert.x event loop with bounded concurrency under each sync policy and
 * prints the append latency the caller sees (call to continuation on its event loop) and the throughput.
 * Arguments: [records (20000)] [policy (all three)] [base directory (java.io.tmpdir)].
 */
public final class JournalBench {
    static final int RECORDS_DEFAULT = 20_000;
    static final int OUTSTANDING_MAX = 64;
    static final int WARMUP_DIVISOR = 10;
    static final long LATENCY_NANOS_MAX = TimeUnit.SECONDS.toNanos(60);
    static final long RUN_TIMEOUT_SECONDS = 600;

    public static void main(String[] args) throws Exception {
        int records = args.length > 0 ? Integer.parseInt(args[0]) : RECORDS_DEFAULT;
        List<String> policies = args.length > 1 ? List.of(args[1]) : List.of("every", "batch", "none");
        Path base = Path.of(args.length > 2 ? args[2] : System.getProperty("java.io.tmpdir"));
        Vertx vertx = Vertx.vertx();
        try {
            for (String policy : policies) {
                run(vertx, policy, records, base);
            }
        } finally {
            vertx.close().toCompletionStage().toCompletableFuture().get(RUN_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        }
    }

    private static void run(Vertx vertx, String policy, int records, Path base) throws Exception {
        Path dir = Files.createTempDirectory(base, "journal-bench-");
        try (Journal journal = Journal.open(new JournalSettings(dir, policy, 10, 65_536, 30), new SimpleMeterRegistry())) {
            appendAll(vertx.getOrCreateContext(), journal, records / WARMUP_DIVISOR, new Histogram(LATENCY_NANOS_MAX, 3));
            Histogram latency = new Histogram(LATENCY_NANOS_MAX, 3);
            long startNanos = System.nanoTime();
            appendAll(vertx.getOrCreateContext(), journal, records, latency);
            double seconds = (System.nanoTime() - startNanos) / 1e9;
            System.out.printf("%-5s records=%d outstanding<=%d  p50=%dus p99=%dus max=%dus  %.0f records/s%n",
                    policy, records, OUTSTANDING_MAX, latency.getValueAtPercentile(50) / 1_000,
                    latency.getValueAtPercentile(99) / 1_000, latency.getMaxValue() / 1_000, records / seconds);
        } finally {
            deleteRecursively(dir);
        }
    }

    private static void appendAll(Context context, Journal journal, int records, Histogram latency) throws Exception {
        CompletableFuture<Void> done = new CompletableFuture<>();
        context.runOnContext(v -> new Object() {
            int started;
            int completed;

            void launch() {
                while (started < records && started - completed < OUTSTANDING_MAX) {
                    long callNanos = System.nanoTime();
                    journal.append(JournalRecord.of("bench", "trip", "b-" + started, "HOLDING", Status.PENDING, 0,
                            150_000, List.of("w1", "w2"), null, "{\"k\":\"v\"}")).onComplete(ar -> {
                        if (ar.failed()) {
                            done.completeExceptionally(ar.cause());
                            return;
                        }
                        latency.recordValue(Math.min(System.nanoTime() - callNanos, LATENCY_NANOS_MAX));
                        if (++completed == records) {
                            done.complete(null);
                        } else {
                            launch();
                        }
                    });
                    started++;
                }
            }
        }.launch());
        done.get(RUN_TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    private static void deleteRecursively(Path dir) throws IOException {
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
