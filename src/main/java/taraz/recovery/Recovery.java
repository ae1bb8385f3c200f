package taraz.recovery;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import taraz.async.Lanes;
import taraz.domain.DomainError;
import taraz.journal.Checkpoint;
import taraz.journal.JournalRecord;
import taraz.journal.JournalScans;
import taraz.ops.LogContext;
import taraz.ops.Metrics;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * Boot recovery: reads the journal from its checkpoint, finds every payment whose last record
 * is PENDING (a step announced, its outcome never recorded: the process died or was cut off in
 * between) and drives each one to an outcome through its flow's own code, a bounded number at a
 * time, each bounded in time. A payment it cannot finish (the PSP down) is left to the sweeper. The node reports ready only after this. The checkpoint then moves to the
 * first record of the oldest payment still unresolved, or past everything read.
 */
public final class Recovery {

    private static final Logger LOG = LoggerFactory.getLogger(Recovery.class);
    /** A progress line every this many payments. */
    private static final int PROGRESS_EVERY = 1000;
    /** Up to this many pending payments, each one is logged; beyond, only progress and failures. */
    private static final int LOG_EACH_MAX = 100;

    /** A flow's way of finishing one of its pending steps, the same code its requests use. */
    public interface Resumer extends Function<JournalRecord, Future<?>> {}

    private final Vertx vertx;
    private final Path journalDir;
    private final Map<String, Resumer> resumers;
    private final Metrics metrics;
    private final long stepTimeoutMillis;
    private final int concurrency;

    public Recovery(Vertx vertx, Path journalDir, Map<String, Resumer> resumers, Metrics metrics, long stepTimeoutMillis,
                    int concurrency) {
        this.concurrency = concurrency;
        this.vertx = vertx;
        this.journalDir = journalDir;
        this.resumers = resumers;
        this.metrics = metrics;
        this.stepTimeoutMillis = stepTimeoutMillis;
    }

    /** The outcome of a replay: how many pending payments were found, finished and left, and the checkpoint written. */
    public record Report(int found, int finished, int unresolved, long checkpoint) {}

    public Future<Report> run() {
        long started = System.nanoTime();
        return vertx.executeBlocking(() -> JournalScans.scanIncomplete(journalDir, Checkpoint.read(journalDir)))
                .compose(scan -> {
                    List<JournalScans.IncompleteEntry> pending = new ArrayList<>(scan.incomplete().values());
                    // One wording whatever ended the last run (a SIGTERM, a kill -9, a power cut): recovery only
                    // knows the checkpoint the last recovery wrote, never how the node stopped.
                    LOG.info("recovery: {} incomplete payment(s) in the journal from checkpoint {}", pending.size(),
                            scan.fromIndex());
                    List<JournalScans.IncompleteEntry> unresolved = java.util.Collections.synchronizedList(new ArrayList<>());
                    return Lanes.each(pending, concurrency, () -> false,
                                    (entry, index) -> replay(entry, index, pending.size(), unresolved))
                            .compose(done -> {
                                long checkpoint = unresolved.stream().mapToLong(JournalScans.IncompleteEntry::firstIndex).min()
                                        .orElse(scan.endIndex());
                                metrics.recoveryUnresolved(unresolved.size());
                                return vertx.executeBlocking(() -> {
                                    Checkpoint.write(journalDir, checkpoint);
                                    return new Report(pending.size(), pending.size() - unresolved.size(), unresolved.size(),
                                            checkpoint);
                                });
                            });
                })
                .onSuccess(report -> LOG.info("recovery: done in {} ms: {} found, {} finished, {} left for later; "
                                + "checkpoint now {}", (System.nanoTime() - started) / 1_000_000, report.found(), report.finished(),
                        report.unresolved(), report.checkpoint()));
    }

    /** Runs one pending payment's step again; an unfinished one is added to {@code unresolved}. */
    private Future<Void> replay(JournalScans.IncompleteEntry entry, int index, int pendingCount,
                                List<JournalScans.IncompleteEntry> unresolved) {
        if (index > 0 && index % PROGRESS_EVERY == 0) {
            LOG.info("recovery: {}/{} replayed", index, pendingCount);
        }
        JournalRecord last = entry.last();
        Resumer resumer = resumers.get(last.flow());
        if (resumer == null) {
            throw new IllegalStateException("journal has a pending " + last.flow() + " payment " + last.paymentId()
                    + " and no flow to resume it");
        }
        Future<?> step;
        try {
            step = resumer.apply(last);
        } catch (RuntimeException e) {
            step = Future.failedFuture(e);
        }
        return step.timeout(stepTimeoutMillis, TimeUnit.MILLISECONDS)
                .transform(result -> {
                    // A rule violation (a DomainError) still journaled an outcome: resolved.
                    boolean resolved = result.succeeded() || result.cause() instanceof DomainError;
                    metrics.recoveryReplayed(last.flow(), resolved ? "finished" : "unresolved");
                    if (!resolved) {
                        LogContext.warn(LOG, last.paymentId(), last.flow(), last.state(),
                                "recovery: not finished, left for the sweeper or the next boot: {}", String.valueOf(result.cause()));
                        unresolved.add(entry);
                    } else if (pendingCount <= LOG_EACH_MAX) {
                        LogContext.info(LOG, last.paymentId(), last.flow(), last.state(), "recovery: attempt {} finished",
                                last.attempt() + 1);
                    }
                    return Future.succeededFuture();
                });
    }
}
