package taraz.journal;

import java.nio.file.Path;
import java.util.Objects;
import java.util.Set;

/**
 * How a {@link Journal} is opened; see {@link Journal} for what each sync policy promises.
 *
 * @param syncPolicy         {@code every}, {@code batch} or {@code none}
 * @param syncIntervalMillis under {@code batch}, the longest time an appended record waits for a msync
 * @param queueCapacity      records waiting for the writer thread before appends fail fast
 * @param retentionDays      daily cycle files older than this are deleted once recovery no longer needs them
 */
public record JournalSettings(Path dir, String syncPolicy, long syncIntervalMillis, int queueCapacity, int retentionDays) {
    public static final Set<String> SYNC_POLICIES = Set.of("every", "batch", "none");

    public JournalSettings {
        Objects.requireNonNull(dir, "dir");
        if (!SYNC_POLICIES.contains(syncPolicy)) {
            throw new IllegalArgumentException("journal syncPolicy must be one of " + SYNC_POLICIES + ", got " + syncPolicy);
        }
        if (syncIntervalMillis <= 0) {
            throw new IllegalArgumentException("journal syncIntervalMillis must be > 0, got " + syncIntervalMillis);
        }
        if (queueCapacity <= 0) {
            throw new IllegalArgumentException("journal queueCapacity must be > 0, got " + queueCapacity);
        }
        if (retentionDays <= 0) {
            throw new IllegalArgumentException("journal retentionDays must be > 0, got " + retentionDays);
        }
    }
}
