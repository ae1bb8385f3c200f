package taraz.journal;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.LocalDate;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.ObjLongConsumer;
import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.queue.RollCycle;
import net.openhft.chronicle.queue.RollCycles;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueueBuilder;
import net.openhft.chronicle.wire.DocumentContext;
import net.openhft.chronicle.wire.ValueIn;
import net.openhft.chronicle.wire.WireIn;
import net.openhft.chronicle.wire.WireOut;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The payment journal: a Chronicle Queue with one daily cycle file ({@code yyyyMMdd'F'.cq4}) per UTC day.
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
    static {
        // Chronicle phones home to an analytics host unless told not to; set before any Chronicle class loads.
        System.setProperty("chronicle.analytics.disable", "true");
    }

    private static final Logger LOG = LoggerFactory.getLogger(Journal.class);
    private static final RollCycle ROLL_CYCLE = RollCycles.FAST_DAILY;
    private static final String CYCLE_FILE_SUFFIX = ".cq4";
    /** FAST_DAILY cycles count days since the epoch, so a cycle number is a LocalDate's epoch day. */
    private static final DateTimeFormatter CYCLE_FORMAT = DateTimeFormatter.ofPattern(ROLL_CYCLE.format());
    static final String CHECKPOINT_FILE = "recovery.checkpoint";
    /** Records appended per group commit, so a sync never waits behind an unbounded batch. */
    private static final int BATCH_RECORDS_MAX = 4_096;
    private static final long SYNC_TIMEOUT_MILLIS = 10_000;
    private static final long OPEN_TIMEOUT_MILLIS = 30_000;
    private static final long CLOSE_TIMEOUT_MILLIS = 30_000;
    private static final long RETENTION_INTERVAL_MILLIS = TimeUnit.HOURS.toMillis(1);
    private static final long NOT_DIRTY = Long.MIN_VALUE;

    /** A payment whose last record is PENDING; {@code firstIndex} is its first record at or after the scan start. */
    public record IncompleteEntry(JournalRecord last, long firstIndex, long lastIndex) {
    }

    /** For the ops tool. {@code fileBytes} is the apparent size: cycle files are sparse and preallocated. */
    public record Stats(long records, long firstIndex, long lastIndex, long firstTimeMillis, long lastTimeMillis,
                        Map<String, Long> recordsByFlow, Map<String, Long> recordsByState, int incomplete,
                        long fileBytes, int cycleFiles) {
        public JsonObject toJson() {
            return new JsonObject()
                    .put("records", records)
                    .put("firstIndex", firstIndex)
                    .put("lastIndex", lastIndex)
                    .put("firstTimeMillis", firstTimeMillis)
                    .put("lastTimeMillis", lastTimeMillis)
                    .put("recordsByFlow", new JsonObject(new LinkedHashMap<>(recordsByFlow)))
                    .put("recordsByState", new JsonObject(new LinkedHashMap<>(recordsByState)))
                    .put("incomplete", incomplete)
                    .put("fileBytes", fileBytes)
                    .put("cycleFiles", cycleFiles);
        }
    }

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
        this.queue = SingleChronicleQueueBuilder.binary(settings.dir()).rollCycle(ROLL_CYCLE).build();
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
                encode(dc.wire(), record);
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
            writtenFile = settings.dir().resolve(CYCLE_FORMAT.format(LocalDate.ofEpochDay(writtenCycle)) + CYCLE_FILE_SUFFIX);
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
                forceDirectory(settings.dir());
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
            long checkpoint = readCheckpoint(settings.dir());
            if (checkpoint <= 0) {
                return;
            }
            int keepFromCycle = Math.min(queue.cycle() - settings.retentionDays(), ROLL_CYCLE.toCycle(checkpoint));
            boolean deleted = false;
            try (DirectoryStream<Path> files = Files.newDirectoryStream(settings.dir(), "*" + CYCLE_FILE_SUFFIX)) {
                for (Path file : files) {
                    if (cycleOf(file) < keepFromCycle) {
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

    private static long cycleOf(Path file) {
        String name = file.getFileName().toString();
        String stem = name.substring(0, name.length() - CYCLE_FILE_SUFFIX.length());
        return LocalDate.parse(stem, CYCLE_FORMAT).toEpochDay();
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

    private static void forceDirectory(Path dir) throws IOException {
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true);
        }
    }

    // ---- encoding: field names are the format; a change of meaning needs a new FORMAT_VERSION

    private static void encode(WireOut w, JournalRecord r) {
        w.write("version").int32(r.version())
                .write("timeMillis").int64(r.timeMillis())
                .write("node").text(r.node())
                .write("flow").text(r.flow())
                .write("paymentId").text(r.paymentId())
                .write("state").text(r.state())
                .write("status").text(r.status().name())
                .write("attempt").int32(r.attempt())
                .write("amountRials").int64(r.amountRials())
                .write("accounts").sequence(r.accounts(), (accounts, out) -> accounts.forEach(out::text))
                .write("cause").text(r.cause())
                .write("data").text(r.data());
    }

    static JournalRecord decode(WireIn w, long index) {
        int version = w.read("version").int32();
        if (version != JournalRecord.FORMAT_VERSION) {
            throw new IllegalStateException("journal record at index " + index + " has unknown format version " + version);
        }
        try {
            long timeMillis = w.read("timeMillis").int64();
            String node = w.read("node").text();
            String flow = w.read("flow").text();
            String paymentId = w.read("paymentId").text();
            String state = w.read("state").text();
            String status = w.read("status").text();
            int attempt = w.read("attempt").int32();
            long amountRials = w.read("amountRials").int64();
            List<String> accounts = new ArrayList<>();
            w.read("accounts").sequence(accounts, Journal::readAccounts);
            JournalRecord record = new JournalRecord(version, timeMillis, node, flow, paymentId, state,
                    status == null ? null : JournalRecord.Status.valueOf(status), attempt, amountRials, accounts,
                    w.read("cause").text(), w.read("data").text());
            record.check();
            return record;
        } catch (RuntimeException e) {
            throw new IllegalStateException("journal record at index " + index + " is invalid: " + e.getMessage(), e);
        }
    }

    private static void readAccounts(List<String> accounts, ValueIn in) {
        while (in.hasNextSequenceItem()) {
            accounts.add(in.text());
        }
    }

    // ---- reading: never creates an appender, so it is safe on a journal another process is writing

    /** Whether {@code dir} holds a journal (a directory another process is only creating does not yet). */
    public static boolean exists(Path dir) {
        return Files.isRegularFile(dir.resolve(SingleChronicleQueue.QUEUE_METADATA_FILE));
    }

    /** Reads a journal, possibly live in another process, from the current position to its current end. */
    static final class Reader implements AutoCloseable {
        private final SingleChronicleQueue queue;
        private final ExcerptTailer tailer;
        private final long fromIndex;
        private long lastIndex = -1;

        private Reader(Path dir, long fromIndex) {
            if (!exists(dir)) {
                throw new JournalUnavailableException("no journal at " + dir);
            }
            this.fromIndex = fromIndex;
            queue = SingleChronicleQueueBuilder.binary(dir).rollCycle(ROLL_CYCLE).readOnly(true).build();
            tailer = queue.createTailer();
            // fromIndex may not exist: deleted by retention, or one past the last record of a cycle (the next
            // record is then in a later cycle). Start at it, else just before it, else at the start; poll skips
            // whatever lies before it, so no record at or after fromIndex is ever missed.
            if (fromIndex > 0 && !tailer.moveToIndex(fromIndex) && !tailer.moveToIndex(fromIndex - 1)) {
                tailer.toStart();
            }
        }

        /** Hands every record up to the current end to the consumer; returns how many. */
        long poll(ObjLongConsumer<JournalRecord> consumer) {
            long count = 0;
            while (true) {
                try (DocumentContext dc = tailer.readingDocument()) {
                    if (!dc.isPresent()) {
                        return count;
                    }
                    long index = dc.index();
                    if (index >= fromIndex) {
                        consumer.accept(decode(dc.wire(), index), index);
                        lastIndex = index;
                        count++;
                    }
                }
            }
        }

        /** Where a later read should start to see only what this one has not: one past the last record read. */
        long endIndex() {
            return lastIndex < 0 ? Math.max(fromIndex, 0) : lastIndex + 1;
        }

        @Override
        public void close() {
            tailer.close();
            queue.close();
        }
    }

    /** A reader kept open to follow a live journal; created here so the analytics switch is set first. */
    static Reader reader(Path dir, long fromIndex) {
        return new Reader(dir, fromIndex);
    }

    /** Reads from {@code fromIndex} (0 or negative: the start) to the current end; blocking. */
    public static void read(Path dir, long fromIndex, ObjLongConsumer<JournalRecord> consumer) {
        try (Reader reader = reader(dir, fromIndex)) {
            reader.poll(consumer);
        }
    }

    /**
     * Payments whose last record since {@code fromIndex} is PENDING, keyed {@code flow/paymentId}, in the order
     * of their first record. Memory is bounded by the open payments: a payment is dropped once TERMINAL.
     */
    public static Map<String, IncompleteEntry> incomplete(Path dir, long fromIndex) {
        return scanIncomplete(dir, fromIndex).incomplete();
    }

    /**
     * {@link #incomplete} with where the scan ended: {@code endIndex} is one past the last record read (or
     * {@code fromIndex} when there was none), the checkpoint to write once every incomplete payment is resolved.
     */
    public record Scan(Map<String, IncompleteEntry> incomplete, long fromIndex, long endIndex) {
    }

    public static Scan scanIncomplete(Path dir, long fromIndex) {
        IncompleteScan scan = new IncompleteScan();
        try (Reader reader = reader(dir, fromIndex)) {
            reader.poll(scan);
            return new Scan(scan.result(), fromIndex, reader.endIndex());
        }
    }

    public static Stats stats(Path dir) {
        IncompleteScan scan = new IncompleteScan();
        Map<String, Long> byFlow = new TreeMap<>();
        Map<String, Long> byState = new TreeMap<>();
        long[] counts = {0, -1, -1, 0, 0}; // records, firstIndex, lastIndex, firstTimeMillis, lastTimeMillis
        read(dir, 0, (r, index) -> {
            scan.accept(r, index);
            byFlow.merge(r.flow(), 1L, Long::sum);
            byState.merge(r.state(), 1L, Long::sum);
            if (counts[0]++ == 0) {
                counts[1] = index;
                counts[3] = r.timeMillis();
            }
            counts[2] = index;
            counts[4] = r.timeMillis();
        });
        long fileBytes = 0;
        int cycleFiles = 0;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            for (Path file : files) {
                if (Files.isRegularFile(file)) {
                    fileBytes += Files.size(file);
                    cycleFiles += file.getFileName().toString().endsWith(CYCLE_FILE_SUFFIX) ? 1 : 0;
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list journal directory " + dir, e);
        }
        return new Stats(counts[0], counts[1], counts[2], counts[3], counts[4], byFlow, byState,
                scan.result().size(), fileBytes, cycleFiles);
    }

    private static final class IncompleteScan implements ObjLongConsumer<JournalRecord> {
        private final Map<String, IncompleteEntry> open = new LinkedHashMap<>();

        @Override
        public void accept(JournalRecord record, long index) {
            String key = record.key();
            if (record.status() == JournalRecord.Status.TERMINAL) {
                open.remove(key);
                return;
            }
            IncompleteEntry previous = open.get(key);
            open.put(key, new IncompleteEntry(record, previous == null ? index : previous.firstIndex(), index));
        }

        Map<String, IncompleteEntry> result() {
            Map<String, IncompleteEntry> result = new LinkedHashMap<>();
            open.forEach((key, entry) -> {
                if (entry.last().status() == JournalRecord.Status.PENDING) {
                    result.put(key, entry);
                }
            });
            return result;
        }
    }

    // ---- recovery checkpoint: a small file inside the journal directory; Chronicle only lists *.cq4 there

    /** The index recovery starts from; 0 (the start) when none was written. */
    public static long readCheckpoint(Path dir) {
        Path file = dir.resolve(CHECKPOINT_FILE);
        String text;
        try {
            text = Files.readString(file, StandardCharsets.US_ASCII).trim();
        } catch (NoSuchFileException e) {
            return 0;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
        try {
            long index = Long.parseLong(text);
            if (index < 0) {
                throw new NumberFormatException("negative");
            }
            return index;
        } catch (NumberFormatException e) {
            throw new IllegalStateException("corrupt journal checkpoint " + file + ": '" + text + "'", e);
        }
    }

    /** Atomic: a crash leaves either the old or the new checkpoint, never a torn one. */
    public static void writeCheckpoint(Path dir, long index) {
        if (index < 0) {
            throw new IllegalArgumentException("checkpoint index must be >= 0, got " + index);
        }
        Path temp = dir.resolve(CHECKPOINT_FILE + ".tmp");
        try {
            try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer bytes = ByteBuffer.wrap((index + "\n").getBytes(StandardCharsets.US_ASCII));
                while (bytes.hasRemaining()) {
                    channel.write(bytes);
                }
                channel.force(true);
            }
            Files.move(temp, dir.resolve(CHECKPOINT_FILE), StandardCopyOption.ATOMIC_MOVE,
                    StandardCopyOption.REPLACE_EXISTING);
            forceDirectory(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write journal checkpoint in " + dir, e);
        }
    }
}
