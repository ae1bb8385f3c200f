package taraz.journal;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.LocalDate;
import java.time.format.DateTimeFormatter;
import net.openhft.chronicle.queue.RollCycle;
import net.openhft.chronicle.queue.RollCycles;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueueBuilder;

/**
 * The journal directory's layout, shared by the writer, the readers and the checkpoint: one daily cycle file
 * ({@code yyyyMMdd'F'.cq4}) per UTC day, Chronicle's metadata file, and the recovery checkpoint beside them.
 * Every Chronicle queue of the journal is built here, so the analytics switch below is set before any is.
 */
final class JournalFiles {
    static {
        // Chronicle phones home to an analytics host unless told not to; set before any Chronicle class loads.
        System.setProperty("chronicle.analytics.disable", "true");
    }

    static final RollCycle ROLL_CYCLE = RollCycles.FAST_DAILY;
    static final String CYCLE_FILE_SUFFIX = ".cq4";
    /** FAST_DAILY cycles count days since the epoch, so a cycle number is a LocalDate's epoch day. */
    private static final DateTimeFormatter CYCLE_FORMAT = DateTimeFormatter.ofPattern(ROLL_CYCLE.format());

    private JournalFiles() {
    }

    /** The writer's queue, or (readOnly) a reader's, which never creates an appender. */
    static SingleChronicleQueue queue(Path dir, boolean readOnly) {
        return SingleChronicleQueueBuilder.binary(dir).rollCycle(ROLL_CYCLE).readOnly(readOnly).build();
    }

    /** Whether {@code dir} holds a journal (a directory another process is only creating does not yet). */
    static boolean exists(Path dir) {
        return Files.isRegularFile(dir.resolve(SingleChronicleQueue.QUEUE_METADATA_FILE));
    }

    static Path cycleFile(Path dir, int cycle) {
        return dir.resolve(CYCLE_FORMAT.format(LocalDate.ofEpochDay(cycle)) + CYCLE_FILE_SUFFIX);
    }

    static long cycleOf(Path file) {
        String name = file.getFileName().toString();
        String stem = name.substring(0, name.length() - CYCLE_FILE_SUFFIX.length());
        return LocalDate.parse(stem, CYCLE_FORMAT).toEpochDay();
    }

    /** A new file is durable only once its directory entry is. */
    static void forceDirectory(Path dir) throws IOException {
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true);
        }
    }
}
