package taraz.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/**
 * Builds result.json trees of format 1 for the report and compare tests: a steady run whose per-second ok counts
 * and p99s vary by a chosen jitter, seeded, so a test knows the noise it plants.
 */
final class SampleResult {
    static final ObjectMapper JSON = new ObjectMapper();
    static final int SECONDS = 30;

    private SampleResult() {
    }

    /**
     * A closed-model settle run of {@link #SECONDS} seconds: each second's ok count and p99 drawn uniformly within
     * {@code jitter} (a fraction) of {@code okPerSecond} and {@code p99Millis}.
     */
    static ObjectNode steady(double okPerSecond, double p99Millis, double jitter, long seed) {
        Random random = new Random(seed);
        ObjectNode result = JSON.createObjectNode();
        result.put("format", 1);
        result.put("scenario", "settle");
        result.put("startedAt", "2026-11-30T06:00:00Z");
        ObjectNode settings = result.putObject("settings");
        settings.put("url", "http://127.0.0.1:8080");
        settings.put("model", "closed");
        settings.put("connections", 64);
        settings.putNull("rate");
        settings.put("durationSeconds", SECONDS);
        settings.put("warmupSeconds", 5);
        settings.put("wallets", 200);
        settings.put("sloMillis", 50);
        settings.put("findPeak", false);
        settings.put("atFraction", 0.7);
        ObjectNode machine = result.putObject("machine");
        machine.put("cores", 2);
        machine.put("memoryBytes", 25769803776L);
        machine.put("jvm", "17.0.15 (Debian)");
        machine.put("postgres", "17.11");
        machine.put("gitCommit", "af12481");
        ObjectNode setup = result.putObject("setup");
        setup.put("seconds", 3.2);
        setup.put("wallets", 200);

        ObjectNode measured = result.putObject("measured");
        ArrayNode timeline = measured.putArray("timeline");
        long okTotal = 0;
        for (int second = 0; second < SECONDS; second++) {
            long ok = Math.round(okPerSecond * (1 + jitter * (2 * random.nextDouble() - 1)));
            okTotal += ok;
            ObjectNode entry = timeline.addObject();
            entry.put("second", second);
            entry.put("ok", ok);
            entry.put("errors", 0);
            entry.put("p99Millis", p99Millis * (1 + jitter * (2 * random.nextDouble() - 1)));
        }
        measured.put("seconds", (double) SECONDS);
        measured.put("requests", okTotal);
        measured.put("throughputPerSecond", (double) okTotal / SECONDS);
        ObjectNode latency = measured.putObject("latencyMillis");
        latency.put("p50", p99Millis / 8);
        latency.put("p90", p99Millis / 2.5);
        latency.put("p99", p99Millis);
        latency.put("p999", p99Millis * 1.8);
        latency.put("max", p99Millis * 3);
        latency.put("mean", p99Millis / 6);
        measured.putObject("statusCounts").put("200", okTotal);
        ObjectNode errors = measured.putObject("errors");
        errors.put("timeout", 0);
        errors.put("connect", 0);
        errors.put("other", 0);
        result.putNull("peak");
        ObjectNode ledger = result.putObject("ledgerCheck");
        ledger.put("ok", true);
        ledger.put("checkedSettlements", okTotal);
        ledger.putArray("discrepancies");
        return result;
    }

    /** The run's ledger check failed: one trip charged twice. */
    static ObjectNode withDoubleCharge(ObjectNode result) {
        ObjectNode ledger = (ObjectNode) result.get("ledgerCheck");
        ledger.put("ok", false);
        ObjectNode discrepancy = ((ArrayNode) ledger.get("discrepancies")).addObject();
        discrepancy.put("kind", "charged-twice");
        discrepancy.put("id", "trip-4711");
        discrepancy.put("expected", 1);
        discrepancy.put("actual", 2);
        return result;
    }

    /** A find-peak run: the rate stepped up to 900 per second, where p99 passed the SLO, then measured at 630. */
    static ObjectNode withPeak(ObjectNode result) {
        ((ObjectNode) result.get("settings")).put("findPeak", true);
        ObjectNode peak = result.putObject("peak");
        ArrayNode steps = peak.putArray("steps");
        double[][] rateThroughputP99 = {{100, 99.8, 4.0}, {300, 299.1, 6.5}, {500, 498.7, 11.0}, {700, 695.0, 24.0}, {900, 870.0, 65.0}};
        for (double[] row : rateThroughputP99) {
            ObjectNode step = steps.addObject();
            step.put("rate", row[0]);
            step.put("throughputPerSecond", row[1]);
            step.put("p99Millis", row[2]);
            step.put("errorRatio", 0.0);
        }
        peak.put("peakRate", 900);
        peak.put("atRate", 630);
        return result;
    }

    static Path write(ObjectNode result, Path file) throws IOException {
        JSON.writerWithDefaultPrettyPrinter().writeValue(file.toFile(), result);
        return file;
    }

    static Path writeText(String text, Path file) throws IOException {
        return Files.writeString(file, text);
    }
}
