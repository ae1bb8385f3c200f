package taraz.reconcile;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * Reconciliation's rule set, from {@code conf/reconcile.json} (the copy in the jar is the default;
 * {@code --rules FILE} replaces it):
 * <ul>
 *   <li>{@code match}: the order of the matching stages of settlement rows to top-ups, a subset of
 *       {@code authority}, {@code ref_id}, {@code amount_card_time};
 *   <li>{@code timeDriftSeconds}: how far apart the bank's payment time and ours may be for the
 *       amount-card-time stage, and for two bank rows to count as one payment charged twice;
 *   <li>{@code minAgeSeconds}: payments younger than this are in flight, not judged;
 *   <li>{@code stuckAfterSeconds}: an open top-up older than this is stuck;
 *   <li>{@code holdExpiryGraceSeconds}: an active hold this far past its expiry was missed by the sweeper;
 *   <li>{@code reverseWindowSeconds}: the bank reverses a payment only this soon after it;
 *   <li>{@code pspTimeoutMillis}: the bound of each call to the bank's API.
 * </ul>
 */
public record Rules(List<String> match, long timeDriftSeconds, long minAgeSeconds, long stuckAfterSeconds,
                    long holdExpiryGraceSeconds, long reverseWindowSeconds, long pspTimeoutMillis) {

    static final Set<String> STAGES = Set.of("authority", "ref_id", "amount_card_time");
    private static final Set<String> KEYS = Set.of("match", "timeDriftSeconds", "minAgeSeconds", "stuckAfterSeconds",
            "holdExpiryGraceSeconds", "reverseWindowSeconds", "pspTimeoutMillis");
    private static final String DEFAULTS = "/reconcile.json";

    public Rules {
        match = List.copyOf(match);
        if (match.isEmpty() || !STAGES.containsAll(match) || Set.copyOf(match).size() != match.size()) {
            throw new IllegalArgumentException("rules: match must list distinct stages among " + STAGES + ", not " + match);
        }
        for (long value : new long[] {timeDriftSeconds, minAgeSeconds, stuckAfterSeconds, holdExpiryGraceSeconds,
                reverseWindowSeconds}) {
            if (value < 0) {
                throw new IllegalArgumentException("rules: a number of seconds is negative");
            }
        }
        if (pspTimeoutMillis <= 0) {
            throw new IllegalArgumentException("rules: pspTimeoutMillis must be positive");
        }
    }

    /** The given file, else {@code conf/reconcile.json} when there is one, else the jar's default. */
    public static Rules load(Path file) {
        try {
            Path path = file != null ? file : Path.of("conf", "reconcile.json");
            if (file != null || Files.isRegularFile(path)) {
                return from(new JsonObject(Files.readString(path, StandardCharsets.UTF_8)));
            }
            try (InputStream in = Rules.class.getResourceAsStream(DEFAULTS)) {
                if (in == null) {
                    throw new IllegalStateException("the jar has no " + DEFAULTS);
                }
                return from(new JsonObject(new String(in.readAllBytes(), StandardCharsets.UTF_8)));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the reconciliation rules", e);
        }
    }

    public static Rules from(JsonObject json) {
        for (String key : json.fieldNames()) {
            if (!KEYS.contains(key)) {
                throw new IllegalArgumentException("rules: unknown key '" + key + "'; the keys are " + KEYS);
            }
        }
        JsonArray match = json.getJsonArray("match");
        return new Rules(match == null ? List.of() : match.stream().map(String::valueOf).toList(),
                json.getLong("timeDriftSeconds", 900L), json.getLong("minAgeSeconds", 300L),
                json.getLong("stuckAfterSeconds", 2100L), json.getLong("holdExpiryGraceSeconds", 300L),
                json.getLong("reverseWindowSeconds", 1800L), json.getLong("pspTimeoutMillis", 3000L));
    }
}
