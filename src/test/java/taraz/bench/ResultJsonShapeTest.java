package taraz.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import taraz.support.TestGateway;

import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * result.json, the contract with report.html and {@code bench compare}: every field of format 1
 * present with its JSON type, from the command itself run against the test gateway, once closed
 * and once finding a peak (two short steps).
 */
class ResultJsonShapeTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void aClosedRunWritesEveryFieldWithItsType() throws Exception {
        JsonNode result = run("closed", "--connections", "2");
        assertEquals("closed", result.get("settings").get("model").asText());
        assertTrue(result.get("settings").get("rate").isNull());
        assertTrue(result.get("peak").isNull());
    }

    @Test
    void aFindPeakRunWritesItsSteps() throws Exception {
        JsonNode result = run("peak", "--find-peak", "--start-rate", "5", "--step", "1s", "--peak-steps", "2", "--slo", "60s");
        assertEquals("open", result.get("settings").get("model").asText());
        assertTrue(result.get("settings").get("rate").isNumber());
        JsonNode peak = result.get("peak");
        assertTrue(peak.get("peakRate").isNumber() && peak.get("atRate").isNumber());
        assertEquals(2, peak.get("steps").size());
        for (JsonNode step : peak.get("steps")) {
            assertTypes(step, Map.of("rate", "number", "throughputPerSecond", "number", "p99Millis", "number", "errorRatio", "number"));
        }
    }

    private static JsonNode run(String name, String... options) throws Exception {
        TestGateway gateway = TestGateway.get();
        Path out = TestGateway.tempDir("bench-" + name + "-");
        String[] common = {"settle", "--url", gateway.baseUrl(), "--api-key", TestGateway.API_KEY, "--admin-token",
                TestGateway.ADMIN_TOKEN, "--duration", "1s", "--warmup", "0s", "--wallets", "2", "--out", out.toString()};
        String[] args = new String[common.length + options.length];
        System.arraycopy(common, 0, args, 0, common.length);
        System.arraycopy(options, 0, args, common.length, options.length);
        assertEquals(0, new CommandLine(new BenchCommand()).execute(args));
        JsonNode result = JSON.readTree(out.resolve("result.json").toFile());
        assertShape(result);
        return result;
    }

    private static void assertShape(JsonNode result) {
        assertTypes(result, Map.of("format", "number", "scenario", "string", "startedAt", "string", "settings", "object",
                "machine", "object", "setup", "object", "measured", "object", "ledgerCheck", "object"));
        assertTrue(result.has("peak"), "peak");
        assertEquals(1, result.get("format").asInt());
        assertTypes(result.get("settings"), Map.of("url", "string", "model", "string", "connections", "number",
                "durationSeconds", "number", "warmupSeconds", "number", "wallets", "number", "sloMillis", "number",
                "findPeak", "boolean", "atFraction", "number"));
        assertTrue(result.get("settings").has("rate"), "settings.rate");
        JsonNode machine = result.get("machine");
        assertTypes(machine, Map.of("cores", "number", "memoryBytes", "number", "jvm", "string"));
        assertTrue(machine.has("postgres") && (machine.get("postgres").isNull() || machine.get("postgres").isTextual()));
        assertTrue(machine.has("gitCommit") && (machine.get("gitCommit").isNull() || machine.get("gitCommit").isTextual()));
        assertTypes(result.get("setup"), Map.of("seconds", "number", "wallets", "number"));
        JsonNode measured = result.get("measured");
        assertTypes(measured, Map.of("seconds", "number", "requests", "number", "throughputPerSecond", "number",
                "timeline", "array", "latencyMillis", "object", "statusCounts", "object", "errors", "object"));
        assertTrue(measured.get("timeline").size() >= 1);
        for (JsonNode second : measured.get("timeline")) {
            assertTypes(second, Map.of("second", "number", "ok", "number", "errors", "number", "p99Millis", "number"));
        }
        assertTypes(measured.get("latencyMillis"), Map.of("p50", "number", "p90", "number", "p99", "number", "p999", "number",
                "max", "number", "mean", "number"));
        measured.get("statusCounts").fields().forEachRemaining(e -> {
            assertTrue(e.getKey().matches("\\d{3}") && e.getValue().isNumber(), "statusCounts." + e.getKey());
        });
        assertTypes(measured.get("errors"), Map.of("timeout", "number", "connect", "number", "other", "number"));
        JsonNode check = result.get("ledgerCheck");
        assertTypes(check, Map.of("ok", "boolean", "checkedSettlements", "number", "discrepancies", "array"));
        assertTrue(check.get("ok").asBoolean());
    }

    private static void assertTypes(JsonNode node, Map<String, String> types) {
        types.forEach((field, type) -> {
            JsonNode value = node.get(field);
            assertTrue(value != null, "missing " + field + " in " + node);
            String actual = value.isNumber() ? "number" : value.isTextual() ? "string" : value.isBoolean() ? "boolean"
                    : value.isArray() ? "array" : value.isObject() ? "object" : "null";
            assertEquals(type, actual, field);
        });
    }
}
