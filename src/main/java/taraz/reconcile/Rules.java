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
 * Reconciliation's rule set: the copy of {@code conf/reconcile.json} in the jar holds every default, and
 * {@code --rules FILE} (else {@code ./conf/reconcile.json}) overrides some of them. The bank's reverse window is the
 * setting {@code pspWindowSeconds}, not a rule.
 * <ul>
 *   <li>{@code match}: the order of the matching stages of settlement rows to top-ups, a subset of
 *       {@code authority}, {@code ref_id}, {@code amount_card_time};
 *   <li>{@code timeDriftSeconds}: how far apart the bank's payment time and ours may be for the
 *       amount-card-time stage, and for two bank rows to count as one payment charged twice;
 *   <li>{@code minAgeSeconds}: payments younger than this are in flight, not judged;
 *   <li>{@code stuckAfterSeconds}: an open top-up older than this is stuck;
 *   <li>{@code holdExpiryGraceSeconds}: an active hold this far past its expiry was missed by the sweeper;
 *   <li>{@code pspTimeoutMillis}: the bound of each call to the bank's API.
 * </ul>
 */
public record Rules(List<String> match, long timeDriftSeconds, long minAgeSeconds, long stuckAfterSeconds,
                    long holdExpiryGraceSeconds, long pspTimeoutMillis) {

    static final Set<String> STAGES = Set.of("authority", "ref_id", "amount_card_time");
    private static final Set<String> KEYS = Set.of("match", "timeDriftSeconds", "minAgeSeconds", "stuckAfterSeconds",
            "holdExpiryGraceSeconds", "pspTimeoutMillis");
    private static final String DEFAULTS = "/reconcile.json";

    public Rules {
        match = List.copyOf(match);
        if (match.isEmpty() || !STAGES.containsAll(match) || Set.copyOf(match).size() != match.size()) {
            throw new IllegalArgumentException("rules: match must list distinct stages among " + STAGES + ", not " + match);
        }
        for (long value : new long[] {timeDriftSeconds, minAgeSeconds, stuckAfterSeconds, holdExpiryGraceSeconds}) {
            if (value < 0) {
                throw new IllegalArgumentException("rules: a number of seconds is negative");
            }
        }
        if (pspTimeoutMillis <= 0) {
            throw new IllegalArgumentException("rules: pspTimeoutMillis must be positive");
        }
    }

    /** The given file, else {@code conf/reconcile.json} when there is one, over the jar's defaults. */
    public static Rules load(Path file) {
        Path path = file != null ? file : Path.of("conf", "reconcile.json");
        if (file == null && !Files.isRegularFile(path)) {
            return from(new JsonObject());
        }
        try {
            return from(new JsonObject(Files.readString(path, StandardCharsets.UTF_8)));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the reconciliation rules " + path, e);
        }
    }

    /** The given rules over the jar's defaults, the only place a default is written. */
    public static Rules from(JsonObject json) {
        for (String key : json.fieldNames()) {
            if (!KEYS.contains(key)) {
                throw new IllegalArgumentException("rules: unknown key '" + key + "'; the keys are " + KEYS);
            }
        }
        JsonObject rules = defaults().mergeIn(json);
        JsonArray match = rules.getJsonArray("match");
        return new Rules(match == null ? List.of() : match.stream().map(String::valueOf).toList(),
                rules.getLong("timeDriftSeconds"), rules.getLong("minAgeSeconds"), rules.getLong("stuckAfterSeconds"),
                rules.getLong("holdExpiryGraceSeconds"), rules.getLong("pspTimeoutMillis"));
    }

    private static JsonObject defaults() {
        try (InputStream in = Rules.class.getResourceAsStream(DEFAULTS)) {
            if (in == null) {
                throw new IllegalStateException("the jar has no " + DEFAULTS);
            }
            return new JsonObject(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the jar's " + DEFAULTS, e);
        }
    }
}
