package taraz.ops;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.Function;

/**
 * The node's own schedule: it never waits for an outside event. Each flow brings its periodic
 * jobs (the hold sweeper, the top-up sweeper, key retention, the ledger check, reconciliation);
 * each runs on a timer of its own, its next round only after the last one ended, and each
 * round's work is bounded by the job itself. A round that fails is logged and the next one
 * retries.
 */
public final class Schedule {

    private static final Logger LOG = LoggerFactory.getLogger(Schedule.class);

    private final Vertx vertx;
    private final List<Job> jobs = new ArrayList<>();
    private volatile boolean stopped;

    /** A round is given whether the schedule was stopped, so a long round can end early at shutdown. */
    private record Job(String name, long intervalMillis, Function<BooleanSupplier, Future<Void>> round) {}

    public Schedule(Vertx vertx) {
        this.vertx = vertx;
    }

    /** Adds a job; it starts with {@link #start}. */
    public Schedule every(long intervalMillis, String name, Function<BooleanSupplier, Future<Void>> round) {
        jobs.add(new Job(name, intervalMillis, round));
        return this;
    }

    public void start() {
        jobs.forEach(this::next);
    }

    /** Stops scheduling new rounds; a round already running finishes. */
    public void stop() {
        stopped = true;
    }

    private void next(Job job) {
        vertx.setTimer(job.intervalMillis(), id -> {
            if (stopped) {
                return;
            }
            Future<Void> result;
            try {
                result = job.round().apply(() -> stopped);
            } catch (RuntimeException e) {
                result = Future.failedFuture(e);
            }
            result.onFailure(e -> LOG.warn("{} round failed; the next round retries", job.name(), e))
                    .onComplete(done -> next(job));
        });
    }
}
