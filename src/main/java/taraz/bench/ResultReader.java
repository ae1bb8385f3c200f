package taraz.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Reads and checks a bench run's result.json (format 1, the shape the load generator writes), as a
 * JSON tree: the report and compare read only the fields checked here, so a file that passes
 * cannot fail them half-way with a missing field.
 */
public final class ResultReader {
    /** The only result.json format this reader knows. */
    public static final int FORMAT = 1;
    /** A result.json is a few hundred bytes per measured second: an hour's run stays far below this. */
    static final long MAX_BYTES = 64L * 1024 * 1024;

    static final List<String> PERCENTILES = List.of("p50", "p90", "p99", "p999", "max");

    private static final ObjectMapper JSON = new ObjectMapper();

    private ResultReader() {
    }

    /** A file that is not a result.json of format 1; the message names the file and the first fault found. */
    public static final class BadResult extends Exception {
        BadResult(String message) {
            super(message);
        }
    }

    /** Reads {@code file} and checks its shape. */
    public static JsonNode read(Path file) throws BadResult {
        JsonNode result;
        try {
            if (!Files.isRegularFile(file)) {
                throw new BadResult(file + ": no such file");
            }
            if (Files.size(file) > MAX_BYTES) {
                throw new BadResult(file + ": larger than " + MAX_BYTES + " bytes, not a result.json");
            }
            result = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new BadResult(file + ": not JSON (" + e.getMessage().lines().findFirst().orElse("") + ")");
        }
        try {
            check(result);
        } catch (IllegalArgumentException e) {
            throw new BadResult(file + ": " + e.getMessage());
        }
        return result;
    }

    /** Checks the fields the report and compare read; throws {@link IllegalArgumentException} naming the first fault. */
    public static void check(JsonNode result) {
        if (result == null || !result.isObject()) {
            throw new IllegalArgumentException("not a result.json: the top level is not a JSON object");
        }
        JsonNode format = result.get("format");
        if (format == null || !format.isIntegralNumber()) {
            throw new IllegalArgumentException("not a result.json: no \"format\" number");
        }
        if (format.asInt() != FORMAT) {
            throw new IllegalArgumentException("result.json format " + format.asText() + ", this tool reads format " + FORMAT);
        }
        text(result, "scenario");
        object(result, "settings");
        object(result, "machine");
        JsonNode measured = object(result, "measured");
        number(measured, "measured", "throughputPerSecond");
        JsonNode timeline = measured.get("timeline");
        if (timeline == null || !timeline.isArray()) {
            throw new IllegalArgumentException("measured.timeline is not an array");
        }
        for (int i = 0; i < timeline.size(); i++) {
            JsonNode second = timeline.get(i);
            String where = "measured.timeline[" + i + "]";
            if (!second.isObject()) {
                throw new IllegalArgumentException(where + " is not an object");
            }
            number(second, where, "second");
            number(second, where, "ok");
            number(second, where, "errors");
            // A second in which nothing completed has no p99: null is allowed, anything else must be a number.
            JsonNode p99 = second.get("p99Millis");
            if (p99 != null && !p99.isNull() && !p99.isNumber()) {
                throw new IllegalArgumentException(where + ".p99Millis is neither a number nor null");
            }
        }
        JsonNode latency = object(measured, "latencyMillis");
        for (String percentile : PERCENTILES) {
            number(latency, "measured.latencyMillis", percentile);
        }
        countsObject(measured, "statusCounts");
        countsObject(measured, "errors");
        JsonNode peak = result.get("peak");
        if (peak != null && !peak.isNull()) {
            if (!peak.isObject()) {
                throw new IllegalArgumentException("peak is neither an object nor null");
            }
            JsonNode steps = peak.get("steps");
            if (steps == null || !steps.isArray()) {
                throw new IllegalArgumentException("peak.steps is not an array");
            }
            for (int i = 0; i < steps.size(); i++) {
                String where = "peak.steps[" + i + "]";
                if (!steps.get(i).isObject()) {
                    throw new IllegalArgumentException(where + " is not an object");
                }
                for (String field : List.of("rate", "throughputPerSecond", "p99Millis", "errorRatio")) {
                    number(steps.get(i), where, field);
                }
            }
        }
        JsonNode ledger = object(result, "ledgerCheck");
        JsonNode ok = ledger.get("ok");
        if (ok == null || !ok.isBoolean()) {
            throw new IllegalArgumentException("ledgerCheck.ok is not true or false");
        }
        JsonNode discrepancies = ledger.get("discrepancies");
        if (discrepancies == null || !discrepancies.isArray()) {
            throw new IllegalArgumentException("ledgerCheck.discrepancies is not an array");
        }
    }

    private static JsonNode object(JsonNode parent, String field) {
        JsonNode node = parent.get(field);
        if (node == null || !node.isObject()) {
            throw new IllegalArgumentException("\"" + field + "\" is not an object");
        }
        return node;
    }

    private static void text(JsonNode parent, String field) {
        JsonNode node = parent.get(field);
        if (node == null || !node.isTextual()) {
            throw new IllegalArgumentException("\"" + field + "\" is not a string");
        }
    }

    private static void number(JsonNode parent, String where, String field) {
        JsonNode node = parent.get(field);
        if (node == null || !node.isNumber()) {
            throw new IllegalArgumentException(where + "." + field + " is not a number");
        }
        if (!Double.isFinite(node.asDouble()) || node.asDouble() < 0) {
            throw new IllegalArgumentException(where + "." + field + " is " + node.asText() + ", not a finite number >= 0");
        }
    }

    private static void countsObject(JsonNode measured, String field) {
        JsonNode counts = object(measured, field);
        counts.fields().forEachRemaining(entry -> number(counts, "measured." + field, entry.getKey()));
    }
}
