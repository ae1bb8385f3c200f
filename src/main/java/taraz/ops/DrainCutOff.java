package taraz.ops;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The last stop whose drain deadline cut off running work, kept in the data directory. The process
 * exits at that deadline, before any scrape could see it; the next start on the same directory reads
 * the file and exports its time ({@code taraz_drain_deadline_last_timestamp_seconds}), so the fact
 * reaches Prometheus.
 */
public final class DrainCutOff {

    private static final Logger LOG = LoggerFactory.getLogger(DrainCutOff.class);
    static final String FILE = "drain-deadline";

    private DrainCutOff() {
    }

    /**
     * Blocking: writes {@code epochSeconds} to the data directory, replacing the previous one. Atomic
     * (a temporary file moved over), so a crash in between leaves the old time or the new, never half a
     * number. A failure is logged and the stop goes on: it must not keep the node from stopping.
     */
    public static void record(Path dataDir, long epochSeconds) {
        Path file = dataDir.resolve(FILE);
        Path temporary = dataDir.resolve(FILE + ".tmp");
        try {
            Files.writeString(temporary, Long.toString(epochSeconds), StandardCharsets.US_ASCII);
            Files.move(temporary, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            LOG.error("stop: cannot record the drain deadline in {}; the next start will not report it", file, e);
        }
    }

    /** Blocking: the last recorded cut-off (epoch seconds), 0 when no stop on this directory reached its deadline. */
    public static long lastEpochSeconds(Path dataDir) {
        Path file = dataDir.resolve(FILE);
        if (!Files.exists(file)) {
            return 0;
        }
        try {
            // Written whole by record(): anything but a number is damage, and it stops the start loudly.
            return Long.parseLong(Files.readString(file, StandardCharsets.US_ASCII).strip());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }
}
