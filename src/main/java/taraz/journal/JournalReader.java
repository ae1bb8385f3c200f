package taraz.journal;

import java.nio.file.Path;
import java.util.function.ObjLongConsumer;
import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;
import net.openhft.chronicle.wire.DocumentContext;

/**
 * Reads a journal, possibly live in another process, from the current position to its current end. It never
 * creates an appender, so it is safe on a journal another process is writing.
 */
public final class JournalReader implements AutoCloseable {
    private final SingleChronicleQueue queue;
    private final ExcerptTailer tailer;
    private final long fromIndex;
    private long lastIndex = -1;

    /** A reader kept open to follow a live journal; {@code fromIndex} 0 or negative: the start. */
    JournalReader(Path dir, long fromIndex) {
        if (!exists(dir)) {
            throw new JournalUnavailableException("no journal at " + dir);
        }
        this.fromIndex = fromIndex;
        queue = JournalFiles.queue(dir, true);
        tailer = queue.createTailer();
        // fromIndex may not exist: deleted by retention, or one past the last record of a cycle (the next
        // record is then in a later cycle). Start at it, else just before it, else at the start; poll skips
        // whatever lies before it, so no record at or after fromIndex is ever missed.
        if (fromIndex > 0 && !tailer.moveToIndex(fromIndex) && !tailer.moveToIndex(fromIndex - 1)) {
            tailer.toStart();
        }
    }

    /** Whether {@code dir} holds a journal (a directory another process is only creating does not yet). */
    public static boolean exists(Path dir) {
        return JournalFiles.exists(dir);
    }

    /** Reads from {@code fromIndex} (0 or negative: the start) to the current end; blocking. */
    public static void read(Path dir, long fromIndex, ObjLongConsumer<JournalRecord> consumer) {
        try (JournalReader reader = new JournalReader(dir, fromIndex)) {
            reader.poll(consumer);
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
                    consumer.accept(JournalCodec.decode(dc.wire(), index), index);
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
