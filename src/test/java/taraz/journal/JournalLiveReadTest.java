package taraz.journal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Future;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import taraz.journal.JournalRecord.Status;

/** A reader on a journal another writer is appending to sees a growing, valid prefix and finally everything. */
class JournalLiveReadTest {
    static final int RECORDS = 5_000;
    static final int WRITE_BATCH_RECORDS = 100;
    /** Bounds how long a reader waits for the writer, so a broken reader fails instead of hanging. */
    static final long READER_WAIT_MILLIS = 60_000;
    static final long READER_POLL_MILLIS = 5;

    @TempDir
    Path dataDir;

    @Test
    void readersInThisJvmSeeAGrowingValidPrefix() throws Exception {
        Path dir = dataDir.resolve("journal");
        try (Journal journal = Journal.open(new JournalSettings(dir, "batch", 5, 1_024, 30), new SimpleMeterRegistry())) {
            CompletableFuture<Integer> reopening = CompletableFuture.supplyAsync(() -> readUntilComplete(dir, false));
            CompletableFuture<Integer> following = CompletableFuture.supplyAsync(() -> readUntilComplete(dir, true));
            writeAll(journal);
            assertEquals(RECORDS, reopening.get(READER_WAIT_MILLIS, TimeUnit.MILLISECONDS));
            assertEquals(RECORDS, following.get(READER_WAIT_MILLIS, TimeUnit.MILLISECONDS));

            // The tail command on the live journal prints exactly the records, with their indexes.
            StringWriter out = new StringWriter();
            CommandLine cli = new CommandLine(new JournalCommand()).setOut(new PrintWriter(out));
            assertEquals(0, cli.execute("tail", "--json", "--data-dir", dataDir.toString()));
            String[] lines = out.toString().trim().split("\n");
            assertEquals(RECORDS, lines.length);
            assertTrue(lines[RECORDS - 1].contains("\"paymentId\":\"p-" + (RECORDS - 1) + "\"")
                    && lines[RECORDS - 1].contains("\"index\":"), lines[RECORDS - 1]);
        }
    }

    @Test
    void aReaderInAnotherProcessSeesAGrowingValidPrefix() throws Exception {
        Path dir = dataDir.resolve("journal");
        try (Journal journal = Journal.open(new JournalSettings(dir, "batch", 5, 1_024, 30), new SimpleMeterRegistry())) {
            List<String> command = new ArrayList<>();
            command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
                if (arg.startsWith("--add-") || arg.startsWith("-Dchronicle")) {
                    command.add(arg);
                }
            }
            command.addAll(List.of("-cp", System.getProperty("java.class.path"), ChildReader.class.getName(), dir.toString()));
            Process child = new ProcessBuilder(command).redirectErrorStream(true).start();
            try (BufferedReader output = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
                // The child's log lines share its stdout; the protocol lines are whole lines of their own.
                StringBuilder rest = new StringBuilder();
                String line = output.readLine();
                while (line != null && !line.equals("READY")) {
                    rest.append(line).append('\n');
                    line = output.readLine();
                }
                assertEquals("READY", line, "child reader did not start: " + rest);
                writeAll(journal);
                for (String next = output.readLine(); next != null; next = output.readLine()) {
                    rest.append(next).append('\n');
                }
                assertTrue(child.waitFor(READER_WAIT_MILLIS, TimeUnit.MILLISECONDS), "child reader did not finish");
                assertEquals(0, child.exitValue(), rest.toString());
                assertTrue(rest.toString().lines().anyMatch(("OK " + RECORDS)::equals), rest.toString());
            } finally {
                child.destroyForcibly();
            }
        }
    }

    private static void writeAll(Journal journal) throws Exception {
        for (int start = 0; start < RECORDS; start += WRITE_BATCH_RECORDS) {
            List<Future<Long>> batch = new ArrayList<>();
            for (int i = start; i < start + WRITE_BATCH_RECORDS; i++) {
                batch.add(journal.append(JournalRecord.of("n1", "trip", "p-" + i, "HOLDING", Status.PENDING, i, i,
                        List.of("w" + i), null, "{\"seq\":" + i + "}")));
            }
            for (Future<Long> f : batch) {
                JournalTest.await(f);
            }
        }
    }

    /**
     * Polls until all records are seen; each pass must extend the previous one by records in write order.
     * {@code follow} keeps one reader open (the tail --follow path); otherwise each pass opens a new one.
     */
    static int readUntilComplete(Path dir, boolean follow) {
        long deadlineNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(READER_WAIT_MILLIS);
        int[] seen = {0};
        JournalReader kept = follow ? new JournalReader(dir, 0) : null;
        try {
            while (seen[0] < RECORDS) {
                if (System.nanoTime() > deadlineNanos) {
                    throw new AssertionError("reader saw only " + seen[0] + " of " + RECORDS + " records");
                }
                int before = seen[0];
                if (follow) {
                    kept.poll((r, index) -> expect(r, seen[0]++));
                } else {
                    int[] pass = {0};
                    JournalReader.read(dir, 0, (r, index) -> expect(r, pass[0]++));
                    if (pass[0] < before) {
                        throw new AssertionError("prefix shrank from " + before + " to " + pass[0]);
                    }
                    seen[0] = pass[0];
                }
                if (seen[0] == before) {
                    Thread.sleep(READER_POLL_MILLIS);
                }
            }
            return seen[0];
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        } finally {
            if (kept != null) {
                kept.close();
            }
        }
    }

    private static void expect(JournalRecord r, int position) {
        if (!r.paymentId().equals("p-" + position) || r.attempt() != position || !r.data().equals("{\"seq\":" + position + "}")) {
            throw new AssertionError("record " + position + " is " + r);
        }
    }

    /** Run in a child JVM: prints READY once it has a reader open, then OK n, or exits 1 with the reason. */
    public static final class ChildReader {
        public static void main(String[] args) {
            try {
                JournalReader.read(Path.of(args[0]), 0, (r, index) -> { });
                System.out.println("READY");
                System.out.flush();
                System.out.println("OK " + readUntilComplete(Path.of(args[0]), true));
                System.exit(0);
            } catch (Throwable t) {
                t.printStackTrace(System.out);
                System.exit(1);
            }
        }
    }
}
