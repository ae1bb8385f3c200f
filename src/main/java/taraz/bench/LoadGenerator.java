package taraz.bench;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;

import java.time.Duration;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Drives operations on one event loop (the context it is given), never blocking it, in one of two
 * models:
 * <ul>
 * <li>closed: {@code connections} loops, each starting its next operation when the previous one
 * is answered; an operation's intended start is the moment it could start;</li>
 * <li>open: operations are scheduled at a constant rate, whatever the answers do; an operation's
 * intended start is its slot in the schedule, so an operation that waited behind a stalled server
 * is charged the wait (the correction for coordinated omission).</li>
 * </ul>
 * Warm-up operations run but are not recorded. After the period no new operation starts; the run
 * ends when the last one is answered (each request is bounded by the client's timeout).
 */
final class LoadGenerator {

    /** How often the open model's scheduler wakes to start the operations that are due. */
    static final long TICK_MILLIS = 1;
    static final long PROGRESS_MILLIS = 1_000;
    /** The open model's most operations in flight: past it an operation is recorded as failed, not queued. */
    static final int OPEN_IN_FLIGHT_MAX = 50_000;

    /** One load: closed when ratePerSecond is null. */
    record Load(int connections, Double ratePerSecond, Duration warmup, Duration duration) {
        boolean open() {
            return ratePerSecond != null;
        }
    }

    private final Vertx vertx;
    private final Context context;
    private final Load load;
    private final Supplier<Future<Outcome>> operation;
    private final Consumer<String> progress;
    private final String label;
    private final Promise<Recorder> done = Promise.promise();
    private Recorder recorder;
    private long startNanos;
    private long periodStartNanos;
    private long endNanos;
    private long inFlight;
    private long started;
    private boolean stopped;
    private long lastProgressRequests;

    private LoadGenerator(Vertx vertx, Context context, Load load, Supplier<Future<Outcome>> operation, String label,
                          Consumer<String> progress) {
        this.vertx = vertx;
        this.context = context;
        this.load = load;
        this.operation = operation;
        this.label = label;
        this.progress = progress;
    }

    /**
     * Runs one load on the context and completes with what the measured period saw. The
     * operation is called on that context only.
     */
    static Future<Recorder> run(Vertx vertx, Context context, Load load, Supplier<Future<Outcome>> operation,
                                String label, Consumer<String> progress) {
        LoadGenerator generator = new LoadGenerator(vertx, context, load, operation, label, progress);
        context.runOnContext(v -> generator.start());
        return generator.done.future();
    }

    private void start() {
        startNanos = System.nanoTime();
        periodStartNanos = startNanos + load.warmup().toNanos();
        endNanos = periodStartNanos + load.duration().toNanos();
        recorder = new Recorder(periodStartNanos, (int) Math.max(1, load.duration().toSeconds()));
        long progressTimer = vertx.setPeriodic(PROGRESS_MILLIS, id -> progress());
        done.future().onComplete(r -> vertx.cancelTimer(progressTimer));
        if (load.open()) {
            double intervalNanos = 1e9 / load.ratePerSecond();
            long[] timer = new long[1];
            timer[0] = vertx.setPeriodic(TICK_MILLIS, id -> {
                long now = System.nanoTime();
                while (true) {
                    long intended = startNanos + (long) (started * intervalNanos);
                    if (intended >= endNanos) {
                        vertx.cancelTimer(timer[0]);
                        stopped = true;
                        finishIfIdle();
                        return;
                    }
                    if (intended > now) {
                        return;
                    }
                    started++;
                    if (inFlight >= OPEN_IN_FLIGHT_MAX) {
                        recorder.record(intended, now, new Outcome(false, 0, Outcome.Failure.OTHER));
                        continue;
                    }
                    launch(intended, null);
                }
            });
        } else {
            for (int i = 0; i < load.connections(); i++) {
                launch(System.nanoTime(), this::closedNext);
            }
        }
    }

    private void closedNext() {
        long now = System.nanoTime();
        if (now >= endNanos) {
            stopped = true;
            finishIfIdle();
            return;
        }
        launch(now, this::closedNext);
    }

    private void launch(long intendedNanos, Runnable then) {
        inFlight++;
        Future<Outcome> outcome;
        try {
            outcome = operation.get();
        } catch (RuntimeException e) {
            outcome = Future.failedFuture(e);
        }
        outcome.recover(cause -> Future.succeededFuture(Outcome.failed(cause))).onComplete(result -> {
            // Back on our context whatever thread answered, so the recorder stays single-threaded.
            context.runOnContext(v -> {
                recorder.record(intendedNanos, System.nanoTime(), result.result());
                inFlight--;
                if (then != null) {
                    then.run();
                } else {
                    finishIfIdle();
                }
            });
        });
    }

    private void finishIfIdle() {
        if (stopped && inFlight == 0 && !done.future().isComplete()) {
            done.complete(recorder);
        }
    }

    private void progress() {
        long now = System.nanoTime();
        double elapsed = (now - startNanos) / 1e9;
        double total = (endNanos - startNanos) / 1e9;
        String phase = now < periodStartNanos ? "warm-up" : now < endNanos ? "measuring" : "draining";
        int second = (int) ((now - periodStartNanos) / 1_000_000_000L) - 1;
        long requests = recorder.requests();
        progress.accept(String.format("bench %s %s %.0f/%.0fs: %d ops/s, ok %d, errors %d, in flight %d, p99 last second %.1f ms",
                label, phase, elapsed, total, requests - lastProgressRequests, recorder.ok(), recorder.errors(), inFlight,
                recorder.p99MillisOfSecond(second)));
        lastProgressRequests = requests;
    }
}
