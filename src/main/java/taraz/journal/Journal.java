package taraz.journal;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;
import net.openhft.chronicle.wire.DocumentContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The payment journal's writer: a Chronicle Queue with one daily cycle file per UTC day ({@link JournalFiles}).
 * Records are encoded by {@link JournalCodec}, read back by {@link JournalReader} and {@link JournalScans}; the
 * recovery {@link Checkpoint} decides which old cycle files retention may delete.
 *
 * <p>One writer thread, {@code taraz-journal-writer}, owns the appender; {@link #append} hands it records
 * through a bounded queue and fails fast with {@link JournalUnavailableException} when that queue is full,
 * so an event loop never blocks on the disk. The returned future completes on the caller's Vert.x context.
 *
 * <p>Sync policies ({@link JournalSettings#syncPolicy()}):
 * <ul>
 *   <li>{@code every} (default): the future completes only once the record is on disk (fdatasync). The writer
 *       drains every queued record, appends them all, syncs once and then completes them all (group commit).
 *   <li>{@code batch}: the future completes once the record is in the memory-mapped file. That survives a
 *       process crash or kill -9, because the kernel owns the pages; a sync runs at least every
 *       {@code syncIntervalMillis}, so a power cut loses at most that window.
 *   <li>{@code none}: the future completes after the append and the journal never syncs on its own; the
 *       kernel writes the pages back when it chooses. Survives kill -9, not a power cut.
 * </ul>
 * {@link #sync()} and {@link #close()} sync under every policy. The writer thread is not a daemon: the
 * owner must call {@link #close()} at shutdown.
 *
 * <p>Durability is done with {@code FileChannel.force} on the cycle files written since the last sync, not
 * with Chronicle's {@code ExcerptAppender.sync()}: the latter is an {@code MS_ASYNC} no-op unless the queue is
 * built with {@code SyncMode.SYNC}, covers only the appender's current chunk, and only logs an msync failure.
 * On Linux an fsync flushes pages dirtied through the mapping, and it throws on an I/O error.
 */
public final class Journal implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Journal.class);
    /** Records appended per group commit, so a sync never waits behind an unbounded batch. */
    private static final int BATCH_RECORDS_MAX = 4_096;
    private static final long SYNC_TIMEOUT_MILLIS = 10_000;
    private static final long OPEN_TIMEOUT_MILLIS = 30_000;
    private static final long CLOSE_TIMEOUT_MILLIS = 30_000;
    private static final long RETENTION_INTERVAL_MILLIS = TimeUnit.HOURS.toMillis(1);
    private static final long NOT_DIRTY = Long.MIN_VALUE;

    private enum Policy { EVERY, BATCH, NONE }

    private record Pending(JournalRecord record, Promise<Long> promise, Context context, long enqueuedNanos) {
    }

    private final JournalSettings settings;
    private final Policy policy;
    private final SingleChronicleQueue queue;
    private final ScheduledExecutorService writer;
    private final ArrayBlockingQueue<Pending> pending;
    private final AtomicBoolean drainScheduled = new AtomicBoolean();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final MeterRegistry registry;
    private final Timer appendTimer;
    private final Counter appendErrors;
    private final List<Meter> meters = new ArrayList<>();
    private volatile Throwable failure;
    private volatile long dirtySinceNanos = NOT_DIRTY;

    // Owned by the writer thread: Chronicle appenders are single-threaded.
    private ExcerptAppender appender;
    private final Set<Path> dirtyFiles = new LinkedHashSet<>();
    private final Set<Path> syncedFiles = new LinkedHashSet<>();
    private int writtenCycle = -1;
    private Path writtenFile;

    private Journal(JournalSettings settings, MeterRegistry registry) {
        this.settings = settings;
        this.policy = Policy.valueOf(settings.syncPolicy().toUpperCase(java.util.Locale.ROOT));
        this.registry = registry;
        this.pending = new ArrayBlockingQueue<>(settings.queueCapacity());
        this.queue = JournalFiles.queue(settings.dir(), false);
        this.writer = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "taraz-journal-writer");
            t.setDaemon(false);
            return t;
        });
        this.appendTimer = Timer.builder("taraz.journal.append")
                .description("Journal append, enqueue to completion (including the sync under the every policy)")
                .publishPercentiles(0.5, 0.99)
                .register(registry);
        meters.add(appendTimer);
        meters.add(Gauge.builder("taraz.journal.sync.lag", this, Journal::syncLagSeconds)
                .description("Age of the oldest appended record not yet synced to disk (NaN under the none policy)")
                .baseUnit("seconds").strongReference(true).register(registry));
        meters.add(Gauge.builder("taraz.journal.queue.depth", pending, ArrayBlockingQueue::size)
                .description("Records waiting for the journal writer thread")
                .strongReference(true).register(registry));
        // The bound beside the depth, so that an alert reads the queue's fill as depth / capacity.
        meters.add(Gauge.builder("taraz.journal.queue.capacity", settings, JournalSettings::queueCapacity)
                .description("Records the journal's queue holds before appends are refused")
                .strongReference(true).register(registry));
        this.appendErrors = Counter.builder("taraz.journal.append.errors")
                .description("Appends that failed: journal failed or closed, queue full, write or sync error")
                .register(registry);
        meters.add(appendErrors);
    }

    /** Blocking: creates the directory, opens the queue and starts the writer thread. */
    public static Journal open(JournalSettings settings, MeterRegistry registry) {
        try {
            Files.createDirectories(settings.dir());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create journal directory " + settings.dir(), e);
        }
        Journal journal = new Journal(settings, registry);
        try {
            journal.writer.submit(() -> {
                journal.appender = journal.queue.createAppender();
                journal.applyRetention();
                return null;
            }).get(OPEN_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
        } catch (InterruptedException | ExecutionException | TimeoutException e) {
            journal.close();
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            throw new JournalUnavailableException("cannot open journal at " + settings.dir(), e);
        }
        journal.writer.scheduleWithFixedDelay(journal::applyRetention, RETENTION_INTERVAL_MILLIS,
                RETENTION_INTERVAL_MILLIS, TimeUnit.MILLISECONDS);
        if (journal.policy == Policy.BATCH) {
            journal.writer.scheduleWithFixedDelay(journal::periodicSync, settings.syncIntervalMillis(),
                    settings.syncIntervalMillis(), TimeUnit.MILLISECONDS);
        }
        return journal;
    }

    /**
     * Appends a record from any thread without blocking. The future holds the record's Chronicle index and
     * completes on the caller's Vert.x context (directly when there is none).
     *
     * @throws IllegalStateException when the record breaks an invariant: a programming error, never queued
     */
    public Future<Long> append(JournalRecord record) {
        record.check();
        return enqueue(record).onFailure(e -> appendErrors.increment());
    }

    private Future<Long> enqueue(JournalRecord record) {
        Throwable failed = failure;
        if (failed != null) {
            return Future.failedFuture(new JournalUnavailableException("journal failed: " + failed, failed));
        }
        if (closed.get()) {
            return Future.failedFuture(new JournalUnavailableException("journal is closed"));
        }
        Promise<Long> promise = Promise.promise();
        if (!pending.offer(new Pending(record, promise, Vertx.currentContext(), System.nanoTime()))) {
            return Future.failedFuture(new JournalUnavailableException(
                    "journal queue full (" + settings.queueCapacity() + " records)"));
        }
        scheduleDrain();
        return promise.future();
    }

    /** Blocking, bounded by a timeout: everything appended so far is on disk when this returns. */
    public void sync() {
        CompletableFuture<Void> done = new CompletableFuture<>();
        try {
            writer.execute(() -> {
                try {
                    drain();
                    if (appender != null) {
                        syncDirty();
                    }
                    done.complete(null);
                } catch (Throwable t) {
                    fail(t);
                    done.completeExceptionally(t);
                }
            });
        } catch (RejectedExecutionException e) {
            throw new JournalUnavailableException("journal is closed");
        }
        await(done, SYNC_TIMEOUT_MILLIS, "sync");
        Throwable failed = failure;
        if (failed != null) {
            throw new JournalUnavailableException("journal failed: " + failed, failed);
        }
    }

    /** Stops accepting, writes and syncs what is queued, then stops the writer and closes the queue. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        CompletableFuture<Void> done = new CompletableFuture<>();
        writer.execute(() -> {
            try {
                drain();
                if (appender != null && failure == null) {
                    syncDirty();
                }
            } catch (Throwable t) {
                fail(t);
            } finally {
                if (appender != null) {
                    appender.close();
                    appender = null;
                }
                queue.close();
                done.complete(null);
            }
        });
        writer.shutdown();
        try {
            await(done, CLOSE_TIMEOUT_MILLIS, "close");
        } finally {
            meters.forEach(registry::remove);
        }
    }

    /** False after close or after the writer hit an error; readiness reports the journal unusable then. */
    public boolean healthy() {
        return !closed.get() && failure == null;
    }

    private void scheduleDrain() {
        if (drainScheduled.compareAndSet(false, true)) {
            try {
                writer.execute(this::drain);
            } catch (RejectedExecutionException e) {
                drainScheduled.set(false);
                failQueued(new JournalUnavailableException("journal is closed"));
            }
        }
    }

    private void drain() {
        // Cleared first: a record offered after this line schedules another drain, one before it is seen below.
        drainScheduled.set(false);
        List<Pending> batch = new ArrayList<>();
        while (pending.drainTo(batch, BATCH_RECORDS_MAX) > 0) {
            writeBatch(batch);
            batch.clear();
        }
    }

    private void writeBatch(List<Pending> batch) {
        Throwable failed = failure;
        if (failed != null || appender == null) {
            JournalUnavailableException e = failed != null
                    ? new JournalUnavailableException("journal failed: " + failed, failed)
                    : new JournalUnavailableException("journal is closed");
            batch.forEach(p -> completeExceptionally(p, e));
            return;
        }
        long[] indexes = new long[batch.size()];
        try {
            for (int i = 0; i < batch.size(); i++) {
                indexes[i] = write(batch.get(i).record());
            }
            if (policy == Policy.EVERY) {
                syncDirty();
            }
        } catch (Throwable t) {
            fail(t);
            JournalUnavailableException e = new JournalUnavailableException("journal write failed: " + t, t);
            batch.forEach(p -> completeExceptionally(p, e));
            return;
        }
        for (int i = 0; i < batch.size(); i++) {
            complete(batch.get(i), indexes[i]);
        }
    }

    private long write(JournalRecord record) {
        try (DocumentContext dc = appender.writingDocument()) {
            try {
                JournalCodec.encode(dc.wire(), record);
            } catch (Throwable t) {
                dc.rollbackOnClose();
                throw t;
            }
        }
        if (dirtySinceNanos == NOT_DIRTY) {
            dirtySinceNanos = System.nanoTime();
        }
        if (appender.cycle() != writtenCycle) {
            writtenCycle = appender.cycle();
            writtenFile = JournalFiles.cycleFile(settings.dir(), writtenCycle);
        }
        dirtyFiles.add(writtenFile);
        return appender.lastIndexAppended();
    }

    private void syncDirty() throws IOException {
        for (Path file : dirtyFiles) {
            try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
                channel.force(false);
            }
            // A new cycle file is durable only once its directory entry is.
            if (syncedFiles.add(file)) {
                JournalFiles.forceDirectory(settings.dir());
            }
        }
        dirtyFiles.clear();
        dirtySinceNanos = NOT_DIRTY;
    }

    private void periodicSync() {
        if (appender == null || failure != null) {
            return;
        }
        try {
            syncDirty();
        } catch (Throwable t) {
            fail(t);
        }
    }

    private void fail(Throwable t) {
        if (failure == null) {
            failure = t;
            LOG.error("journal at {} failed; appends are refused from now on", settings.dir(), t);
        }
    }

    private void failQueued(JournalUnavailableException e) {
        List<Pending> rest = new ArrayList<>();
        pending.drainTo(rest);
        rest.forEach(p -> completeExceptionally(p, e));
    }

    private void complete(Pending p, long index) {
        appendTimer.record(System.nanoTime() - p.enqueuedNanos(), TimeUnit.NANOSECONDS);
        onContext(p, () -> p.promise().complete(index));
    }

    private void completeExceptionally(Pending p, Throwable t) {
        onContext(p, () -> p.promise().fail(t));
    }

    private static void onContext(Pending p, Runnable action) {
        if (p.context() != null) {
            p.context().runOnContext(v -> action.run());
        } else {
            action.run();
        }
    }

    private double syncLagSeconds() {
        if (policy == Policy.NONE) {
            return Double.NaN; // the kernel decides when pages reach the disk; the journal cannot know
        }
        long since = dirtySinceNanos;
        return since == NOT_DIRTY ? 0 : (System.nanoTime() - since) / 1e9;
    }

    /** Deletes cycle files past retention that recovery no longer needs; without a checkpoint it keeps all. */
    private void applyRetention() {
        try {
            long checkpoint = Checkpoint.read(settings.dir());
            if (checkpoint <= 0) {
                return;
            }
            int keepFromCycle = Math.min(queue.cycle() - settings.retentionDays(), JournalFiles.ROLL_CYCLE.toCycle(checkpoint));
            boolean deleted = false;
            try (DirectoryStream<Path> files = Files.newDirectoryStream(settings.dir(), "*" + JournalFiles.CYCLE_FILE_SUFFIX)) {
                for (Path file : files) {
                    if (JournalFiles.cycleOf(file) < keepFromCycle) {
                        Files.delete(file);
                        deleted = true;
                        LOG.info("journal retention deleted {}", file);
                    }
                }
            }
            if (deleted) {
                queue.refreshDirectoryListing();
            }
        } catch (Exception e) {
            // Keeping an old file is safe; losing the journal over it is not, so this stays a warning.
            LOG.warn("journal retention at {} failed", settings.dir(), e);
        }
    }

    private static void await(CompletableFuture<Void> done, long timeoutMillis, String what) {
        try {
            done.get(timeoutMillis, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new JournalUnavailableException("interrupted waiting for journal " + what, e);
        } catch (ExecutionException e) {
            throw new JournalUnavailableException("journal " + what + " failed: " + e.getCause(), e.getCause());
        } catch (TimeoutException e) {
            throw new JournalUnavailableException("journal " + what + " took longer than " + timeoutMillis + " ms", e);
        }
    }

}
