package taraz.journal;

import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.ObjLongConsumer;

/** Whole-journal scans for recovery, reconcile and the ops tool: the incomplete payments, and the counts. */
public final class JournalScans {

    /** A payment whose last record is PENDING; {@code firstIndex} is its first record at or after the scan start. */
    public record IncompleteEntry(JournalRecord last, long firstIndex, long lastIndex) {
    }

    /**
     * {@link #incomplete} with where the scan ended: {@code endIndex} is one past the last record read (or
     * {@code fromIndex} when there was none), the checkpoint to write once every incomplete payment is resolved.
     */
    public record Scan(Map<String, IncompleteEntry> incomplete, long fromIndex, long endIndex) {
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

    private JournalScans() {
    }

    /**
     * Payments whose last record since {@code fromIndex} is PENDING, keyed {@code flow/paymentId}, in the order
     * of their first record. Memory is bounded by the open payments: a payment is dropped once TERMINAL.
     */
    public static Map<String, IncompleteEntry> incomplete(Path dir, long fromIndex) {
        return scanIncomplete(dir, fromIndex).incomplete();
    }

    public static Scan scanIncomplete(Path dir, long fromIndex) {
        IncompleteScan scan = new IncompleteScan();
        try (JournalReader reader = new JournalReader(dir, fromIndex)) {
            reader.poll(scan);
            return new Scan(scan.result(), fromIndex, reader.endIndex());
        }
    }

    public static Stats stats(Path dir) {
        IncompleteScan scan = new IncompleteScan();
        Map<String, Long> byFlow = new TreeMap<>();
        Map<String, Long> byState = new TreeMap<>();
        long[] counts = {0, -1, -1, 0, 0}; // records, firstIndex, lastIndex, firstTimeMillis, lastTimeMillis
        JournalReader.read(dir, 0, (r, index) -> {
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
                    cycleFiles += file.getFileName().toString().endsWith(JournalFiles.CYCLE_FILE_SUFFIX) ? 1 : 0;
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
}
