package taraz.journal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.awaitility.Awaitility;
import taraz.support.GatewayProcess;
import java.time.Duration;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.queue.RollCycles;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueueBuilder;
import net.openhft.chronicle.wire.DocumentContext;
import org.junit.jupiter.api.AfterEach;
import taraz.config.Settings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine;
import taraz.journal.JournalRecord.Status;

class JournalTest {
    /** A bound so a broken journal fails the test instead of hanging it; never a timing assertion. */
    static final long WAIT_SECONDS = 30;

    @TempDir
    Path dir;

    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : toClose) {
            c.close();
        }
    }

    private Journal open(String policy, int queueCapacity) {
        Journal journal = Journal.open(new JournalSettings(dir, policy, 5, queueCapacity, 30), registry);
        toClose.add(journal);
        return journal;
    }

    static JournalRecord record(String paymentId, String state, Status status) {
        return JournalRecord.of("n1", "trip", paymentId, state, status, 1, 150_000, List.of("w1", "w2"), null, null);
    }

    static <T> T await(Future<T> future) throws Exception {
        return future.toCompletionStage().toCompletableFuture().get(WAIT_SECONDS, TimeUnit.SECONDS);
    }

    static List<Object[]> readAll(Path dir) {
        List<Object[]> read = new ArrayList<>();
        JournalReader.read(dir, 0, (r, index) -> read.add(new Object[] {r, index}));
        return read;
    }

    @ParameterizedTest
    @ValueSource(strings = {"every", "batch", "none"})
    void roundTripsEveryFieldUnderEachSyncPolicy(String policy) throws Exception {
        Journal journal = open(policy, 1024);
        List<JournalRecord> written = List.of(
                JournalRecord.of("n1", "trip", "trip-42", "SETTLING", Status.PENDING, 0, 150_000, List.of("w1", "w2"), null, null),
                JournalRecord.of("n2", "topup", "tp-7", "AUTHORIZED", Status.RESTING, 3, 0, List.of(),
                        "psp timeout", "{\"authority\":\"A0001\",\"note\":\"سلام\"}"),
                JournalRecord.of("n1", "payout", "po-1", "PAID", Status.TERMINAL, 2, 9_999_999_999L, List.of("w9"), "", "{}"));
        List<Long> indexes = new ArrayList<>();
        for (JournalRecord r : written) {
            indexes.add(await(journal.append(r)));
        }
        journal.sync();

        List<Object[]> read = readAll(dir);
        assertEquals(written.size(), read.size());
        for (int i = 0; i < written.size(); i++) {
            assertEquals(written.get(i), read.get(i)[0]);
            assertEquals(indexes.get(i), read.get(i)[1]);
        }
        assertEquals(written.size(), registry.get("taraz.journal.append").timer().count());
        double lag = registry.get("taraz.journal.sync.lag").gauge().value();
        assertTrue(policy.equals("none") ? Double.isNaN(lag) : lag == 0, "sync lag after sync(): " + lag);
    }

    @Test
    void rejectsInvalidRecordsBeforeWritingAndNamesTheProblem() {
        Journal journal = open("every", 16);
        IllegalStateException blank = assertThrows(IllegalStateException.class,
                () -> journal.append(record(" ", "SETTLING", Status.PENDING)));
        assertTrue(blank.getMessage().contains("paymentId"), blank.getMessage());
        assertThrows(IllegalStateException.class, () -> journal.append(
                JournalRecord.of("n1", "trip", "t1", "SETTLING", Status.PENDING, 0, -1, List.of(), null, null)));
        assertThrows(IllegalStateException.class, () -> journal.append(
                JournalRecord.of("n1", "trip", "t1", "SETTLING", null, 0, 1, List.of(), null, null)));
        assertThrows(IllegalStateException.class, () -> journal.append(
                JournalRecord.of("n1", "trip", "t1", "SETTLING", Status.PENDING, -1, 1, List.of(), null, null)));
        assertThrows(IllegalStateException.class, () -> journal.append(
                JournalRecord.of("n1", "trip", "t1", "SETTLING", Status.PENDING, 0, 1, null, null, null)));
        assertThrows(IllegalStateException.class, () -> journal.append(new JournalRecord(2, System.currentTimeMillis(),
                "n1", "trip", "t1", "SETTLING", Status.PENDING, 0, 1, List.of(), null, null)));
        journal.sync();
        assertEquals(0, readAll(dir).size());
    }

    @Test
    void readingARecordOfAnUnknownVersionFailsNamingItsIndex() {
        long index;
        try (SingleChronicleQueue queue = SingleChronicleQueueBuilder.binary(dir).rollCycle(RollCycles.FAST_DAILY).build();
             ExcerptAppender appender = queue.createAppender()) {
            try (DocumentContext dc = appender.writingDocument()) {
                dc.wire().write("version").int32(JournalRecord.FORMAT_VERSION + 1);
            }
            index = appender.lastIndexAppended();
        }
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> readAll(dir));
        assertTrue(e.getMessage().contains("index " + index) && e.getMessage().contains("version 2"), e.getMessage());
    }

    @Test
    void incompleteListsPaymentsWhoseLastRecordIsPending() throws Exception {
        Journal journal = open("every", 64);
        List<Long> indexes = new ArrayList<>();
        for (JournalRecord r : List.of(
                record("open", "HOLDING", Status.PENDING),
                record("done", "HOLDING", Status.PENDING),
                record("resting", "HOLDING", Status.PENDING),
                record("open", "HOLDING", Status.RESTING),
                record("done", "SETTLED", Status.TERMINAL),
                record("resting", "HELD", Status.RESTING),
                record("open", "SETTLING", Status.PENDING),
                record("later", "HOLDING", Status.PENDING))) {
            indexes.add(await(journal.append(r)));
        }
        Map<String, JournalScans.IncompleteEntry> incomplete = JournalScans.incomplete(dir, 0);
        assertEquals(List.of("trip/open", "trip/later"), new ArrayList<>(incomplete.keySet()));
        JournalScans.IncompleteEntry open = incomplete.get("trip/open");
        assertEquals("SETTLING", open.last().state());
        assertEquals(indexes.get(0), open.firstIndex());
        assertEquals(indexes.get(6), open.lastIndex());

        // From a checkpoint past the first record of "open", only its later records count.
        Map<String, JournalScans.IncompleteEntry> fromCheckpoint = JournalScans.incomplete(dir, indexes.get(4));
        assertEquals(indexes.get(6), fromCheckpoint.get("trip/open").firstIndex());
        assertEquals(2, JournalScans.stats(dir).incomplete());
    }

    @Test
    void checkpointIsZeroUntilWrittenThenReadsBackAndLeavesTheQueueReadable() throws Exception {
        Journal journal = open("every", 16);
        assertEquals(0, Checkpoint.read(dir));
        long index = await(journal.append(record("t1", "HOLDING", Status.PENDING)));
        Checkpoint.write(dir, index);
        assertEquals(index, Checkpoint.read(dir));
        Checkpoint.write(dir, index + 1);
        assertEquals(index + 1, Checkpoint.read(dir));
        assertFalse(Files.exists(dir.resolve(Checkpoint.FILE + ".tmp")));
        await(journal.append(record("t2", "HOLDING", Status.PENDING)));
        assertEquals(2, readAll(dir).size());
        // A checkpoint just past the last record reads nothing old, and what comes next.
        assertEquals(List.of("trip/t2"), new ArrayList<>(JournalScans.incomplete(dir, index + 1).keySet()));

        JournalScans.Scan scan = JournalScans.scanIncomplete(dir, 0);
        assertEquals(2, scan.incomplete().size());
        JournalScans.Scan empty = JournalScans.scanIncomplete(dir, scan.endIndex());
        assertEquals(0, empty.incomplete().size());
        assertEquals(scan.endIndex(), empty.endIndex());
        long t3 = await(journal.append(record("t3", "HOLDING", Status.PENDING)));
        JournalScans.Scan next = JournalScans.scanIncomplete(dir, scan.endIndex());
        assertEquals(List.of("trip/t3"), new ArrayList<>(next.incomplete().keySet()));
        assertEquals(t3 + 1, next.endIndex());
    }

    @Test
    void retentionDeletesOldCycleFilesOnlyBeforeTheCheckpoint() throws Exception {
        Journal journal = open("every", 16);
        long index = await(journal.append(record("t1", "HOLDING", Status.PENDING)));
        journal.close();
        Path current;
        try (Stream<Path> files = Files.list(dir)) {
            current = files.filter(p -> p.toString().endsWith(".cq4")).findFirst().orElseThrow();
        }
        Path old = dir.resolve("20000101F.cq4");
        Files.copy(current, old);

        open("every", 16).close(); // no checkpoint yet: recovery may need everything, nothing is deleted
        assertTrue(Files.exists(old));

        Checkpoint.write(dir, index);
        open("every", 16);
        assertFalse(Files.exists(old));
        assertTrue(Files.exists(current));
        assertEquals(1, readAll(dir).size());
    }

    @Test
    void appendFromAnEventLoopCompletesOnThatEventLoop() throws Exception {
        Journal journal = open("every", 16);
        Vertx vertx = Vertx.vertx();
        try {
            Context context = vertx.getOrCreateContext();
            CompletableFuture<Object[]> seen = new CompletableFuture<>();
            context.runOnContext(v -> {
                Thread caller = Thread.currentThread();
                journal.append(record("t1", "HOLDING", Status.PENDING)).onComplete(ar ->
                        seen.complete(new Object[] {ar.succeeded(), Vertx.currentContext(), Thread.currentThread(), caller}));
            });
            Object[] result = seen.get(WAIT_SECONDS, TimeUnit.SECONDS);
            assertEquals(true, result[0]);
            assertSame(context, result[1]);
            assertSame(result[3], result[2]);
            assertNotEquals("taraz-journal-writer", ((Thread) result[2]).getName());
        } finally {
            vertx.close().toCompletionStage().toCompletableFuture().get(WAIT_SECONDS, TimeUnit.SECONDS);
        }
    }

    @Test
    void aFullQueueFailsFastInsteadOfBlocking() throws Exception {
        Journal journal = open("every", 1);
        CountDownLatch writerStalled = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        // Without a Vert.x context the future completes on the writer thread, so this callback holds it.
        Future<Long> first = journal.append(record("t1", "HOLDING", Status.PENDING)).onComplete(ar -> {
            writerStalled.countDown();
            try {
                release.await(WAIT_SECONDS, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        assertTrue(writerStalled.await(WAIT_SECONDS, TimeUnit.SECONDS));
        Future<Long> queued = journal.append(record("t2", "HOLDING", Status.PENDING));
        Future<Long> rejected = journal.append(record("t3", "HOLDING", Status.PENDING));
        assertTrue(rejected.failed());
        assertInstanceOf(JournalUnavailableException.class, rejected.cause());
        assertEquals(1.0, registry.get("taraz.journal.append.errors").counter().count(), "the refusal is counted");
        assertEquals(1.0, registry.get("taraz.journal.queue.capacity").gauge().value());
        release.countDown();
        assertNotNull(await(first));
        assertNotNull(await(queued));
        assertEquals(List.of("t1", "t2"), readAll(dir).stream().map(o -> ((JournalRecord) o[0]).paymentId()).toList());
    }

    @Test
    void closeWritesWhatIsQueuedThenRefusesAppends() throws Exception {
        Journal journal = open("batch", 10_000);
        List<Future<Long>> futures = new ArrayList<>();
        for (int i = 0; i < 1_000; i++) {
            futures.add(journal.append(record("t" + i, "HOLDING", Status.PENDING)));
        }
        assertTrue(journal.healthy());
        journal.close();
        assertFalse(journal.healthy());
        for (Future<Long> f : futures) {
            assertNotNull(await(f));
        }
        assertEquals(1_000, readAll(dir).size());
        Future<Long> afterClose = journal.append(record("late", "HOLDING", Status.PENDING));
        assertTrue(afterClose.failed());
        assertInstanceOf(JournalUnavailableException.class, afterClose.cause());
        ExecutionException e = assertThrows(ExecutionException.class, () -> await(afterClose));
        assertInstanceOf(JournalUnavailableException.class, e.getCause());
        journal.close();
    }

    @Test
    void commandsPrintRecordsAndFailClearlyWithoutAJournal(@TempDir Path dataDir) throws Exception {
        Path journalDir = dataDir.resolve("journal");
        try (Journal journal = Journal.open(Settings.defaults().with(Map.of("dataDir", dataDir.toString())).journal(), registry)) {
            await(journal.append(record("trip-42", "SETTLING", Status.PENDING)));
            await(journal.append(record("trip-43", "SETTLED", Status.TERMINAL)));
            // A top-up whose id a trip's caller also chose: the same id, another payment.
            await(journal.append(JournalRecord.of("n1", "topup", "trip-43", "CREDITED", Status.TERMINAL, 1, 9_000,
                    List.of("w9"), null, null)));
        }
        String[] both = run(0, "tail", "--txn", "trip-43", "--data-dir", dataDir.toString()).split("\n");
        assertEquals(2, both.length, "an id names a payment in each flow");
        String[] topupOnly = run(0, "tail", "--txn", "trip-43", "--flow", "topup", "--data-dir", dataDir.toString()).split("\n");
        assertEquals(1, topupOnly.length);
        assertTrue(topupOnly[0].contains("topup/trip-43  CREDITED"), topupOnly[0]);
        String[] out = run(0, "tail", "--flow", "trip", "--data-dir", dataDir.toString()).split("\n");
        assertEquals(2, out.length);
        assertTrue(out[0].matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z  trip/trip-42  SETTLING  PENDING  "
                + "attempt=1  amount=150000  accounts=\\[w1,w2\\]  node=n1  cause=-"), out[0]);
        assertTrue(run(0, "tail", "--json", "--state", "terminal", "--since", "1h", "--data-dir", dataDir.toString())
                .contains("\"paymentId\":\"trip-43\""));
        assertTrue(run(0, "tail", "--txn", "nope", "--data-dir", dataDir.toString()).isEmpty());
        String incomplete = run(0, "incomplete", "--data-dir", dataDir.toString());
        assertTrue(incomplete.matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z  trip  trip-42  SETTLING  age=.*"
                + "\n1 incomplete payment"), incomplete);
        JsonArray incompleteJson = new JsonArray(run(0, "incomplete", "--json", "--data-dir", dataDir.toString()));
        assertEquals(1, incompleteJson.size(), incompleteJson.encode());
        assertEquals("trip-42", incompleteJson.getJsonObject(0).getString("paymentId"));
        assertTrue(run(0, "--data-dir", dataDir.toString(), "stats", "--json").contains("\"records\":3"));
        run(2, "stats", "--data-dir", dataDir.resolve("missing").toString());
        run(2, "tail", "--since", "yesterday", "--data-dir", dataDir.toString());
        run(2, "tail", "--bogus");
    }

    @Test
    void tailLastNPrintsDataAsJsonAndIncompleteSaysWhenThereIsNone(@TempDir Path dataDir) throws Exception {
        try (Journal journal = Journal.open(Settings.defaults().with(Map.of("dataDir", dataDir.toString())).journal(), registry)) {
            for (int i = 1; i <= 5; i++) {
                await(journal.append(JournalRecord.of("n1", "trip", "t-" + i, "SETTLED", Status.TERMINAL, 1, 1_000 * i,
                        List.of("w1"), null, new JsonObject().put("op", "settle").put("fare", 1_000 * i).encode())));
            }
            await(journal.append(JournalRecord.of("n1", "payout", "po-1", "PAID", Status.TERMINAL, 1, 7, List.of("w2"), null, null)));
        }
        String[] lastTwo = run(0, "tail", "-n", "2", "--flow", "trip", "--data-dir", dataDir.toString()).split("\n");
        assertEquals(2, lastTwo.length);
        assertTrue(lastTwo[0].contains("trip/t-4  SETTLED") && lastTwo[1].contains("trip/t-5  SETTLED"), String.join("\n", lastTwo));
        assertEquals(List.of("payout/po-1"), run(0, "tail", "-n", "1", "--data-dir", dataDir.toString()).lines()
                .map(line -> line.split("  ")[1]).toList(), "the last record of all, a record without data");
        assertTrue(run(0, "tail", "-n", "0", "--data-dir", dataDir.toString()).isEmpty());
        JsonObject json = new JsonObject(run(0, "tail", "-n", "1", "--json", "--txn", "t-3", "--data-dir", dataDir.toString()));
        assertEquals(3_000L, json.getJsonObject("data").getLong("fare"), "data is an object: " + json.encode());
        assertEquals("0 incomplete payments", run(0, "incomplete", "--data-dir", dataDir.toString()));
        assertEquals("[]", run(0, "incomplete", "--json", "--data-dir", dataDir.toString()));
        run(2, "tail", "-n", "-1", "--data-dir", dataDir.toString());
    }

    /**
     * {@code tail --follow} as an operator runs it, in a process of its own: it prints the last record, then one appended
     * after it started, and a SIGTERM ends it.
     */
    @Test
    void tailFollowPrintsNewRecordsUntilTerminated(@TempDir Path dataDir) throws Exception {
        try (Journal journal = Journal.open(Settings.defaults().with(Map.of("dataDir", dataDir.toString())).journal(), registry)) {
            await(journal.append(record("before-follow", "SETTLED", Status.TERMINAL)));
            GatewayProcess tail = GatewayProcess.command(List.of("journal", "tail", "--follow", "-n", "1"), dataDir, Map.of());
            try {
                Awaitility.await().atMost(Duration.ofSeconds(WAIT_SECONDS)).failFast(() -> !tail.isAlive())
                        .until(() -> tail.output().contains("trip/before-follow"));
                await(journal.append(record("after-follow", "SETTLING", Status.PENDING)));
                Awaitility.await().atMost(Duration.ofSeconds(WAIT_SECONDS)).failFast(() -> !tail.isAlive())
                        .until(() -> tail.output().contains("trip/after-follow  SETTLING"));
                assertTrue(tail.isAlive(), "--follow keeps reading");
                tail.terminate();
                tail.awaitExit(TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
                assertFalse(tail.output().contains("Exception"), tail.output());
            } finally {
                GatewayProcess.stop(tail);
            }
        }
    }

    private static String run(int expectedExit, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = new CommandLine(new JournalCommand());
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(err));
        int exit = cli.execute(args);
        assertEquals(expectedExit, exit, "exit of " + String.join(" ", args) + "; stderr: " + err);
        if (expectedExit != 0) {
            assertFalse(err.toString().isBlank());
        }
        return out.toString().trim();
    }
}
