package taraz.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import taraz.support.TestGateway;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The harness's --acks file after a short mixed run on the test gateway and its simulator: one
 * line per money request answered 2xx, each naming what the gateway now shows, and a second run
 * appending to the same file.
 */
class AcksTest {

    private static final Set<String> OPS = Set.of("fund", "hold", "cancel", "settle", "topup", "paid", "credited");

    @Test
    void everyAcknowledgedMoneyRequestIsOneLineThatTheGatewayConfirms() throws Exception {
        TestGateway gateway = TestGateway.get();
        Path file = TestGateway.tempDir("acks-").resolve("acks.csv");
        int wallets = 3;
        long settledOk;
        try (Acks acks = Acks.append(file);
             Bench bench = new Bench(gateway.baseUrl(), TestGateway.API_KEY, TestGateway.ADMIN_TOKEN, 4)) {
            Workload workload = bench.setup(Scenario.MIXED, wallets, gateway.psp().baseUrl(), acks);
            bench.load(new LoadGenerator.Load(4, null, Duration.ZERO, Duration.ofSeconds(2)), workload::next, "mixed", line -> { });
            settledOk = workload.book().trips.stream().filter(t -> t.answer() == Book.Answer.OK).count();
            assertEquals(acks.lines(), Files.readAllLines(file).size());
        }
        int mixedLines = Files.readAllLines(file).size();
        // A second run appends (top-ups only, so every top-up op shows up whatever mixed drew).
        try (Acks acks = Acks.append(file);
             Bench bench = new Bench(gateway.baseUrl(), TestGateway.API_KEY, TestGateway.ADMIN_TOKEN, 2)) {
            Workload workload = bench.setup(Scenario.TOPUP, 1, gateway.psp().baseUrl(), acks);
            bench.load(new LoadGenerator.Load(2, null, Duration.ZERO, Duration.ofSeconds(1)), workload::next, "topup", line -> { });
            assertEquals(mixedLines + acks.lines(), Files.readAllLines(file).size());
        }

        List<String[]> lines = Files.readAllLines(file).stream().map(line -> line.split(",", -1)).toList();
        Map<String, Integer> byOp = new HashMap<>();
        Set<String> created = new HashSet<>();
        Set<String> paid = new HashSet<>();
        for (String[] line : lines) {
            assertEquals(8, line.length, String.join(",", line));
            assertTrue(OPS.contains(line[1]), line[1]);
            byOp.merge(line[1], 1, Integer::sum);
            switch (line[1]) {
                case "settle" -> {
                    JsonObject trip = gateway.api().get("/v1/trips/" + line[2]).json();
                    assertEquals("SETTLED", trip.getString("state"), line[2]);
                    assertEquals(line[3], trip.getString("passengerWalletId"));
                    assertEquals(Long.parseLong(line[5]), trip.getLong("fare"));
                    assertEquals(Long.parseLong(line[6]), trip.getLong("commission"));
                }
                case "cancel" -> assertEquals("VOIDED", gateway.api().get("/v1/trips/" + line[2]).json().getString("state"));
                case "topup" -> {
                    assertTrue(created.add(line[2]), "one topup line per top-up: " + line[2]);
                    assertEquals(line[7], gateway.api().get("/v1/topups/" + line[2]).json().getString("authority"));
                }
                case "paid" -> {
                    assertTrue(created.contains(line[2]) && paid.add(line[2]), "paid once, after created: " + line[2]);
                    // The gateway may have verified it since: the bank has the money either way.
                    assertTrue(Set.of("PAID", "VERIFIED").contains(gateway.psp().payment(line[7]).getString("status")), line[7]);
                }
                case "credited" -> {
                    assertTrue(paid.contains(line[2]), "credited after paid: " + line[2]);
                    assertEquals("CREDITED", gateway.api().get("/v1/topups/" + line[2]).json().getString("state"));
                }
                default -> { }
            }
        }
        assertEquals(wallets, byOp.get("fund"), "the mixed run funded its passengers; the top-up run funds none");
        assertTrue(settledOk > 0, "the run settled trips");
        assertEquals(settledOk, (long) byOp.getOrDefault("settle", 0));
        assertTrue(byOp.getOrDefault("hold", 0) > byOp.getOrDefault("cancel", 0), byOp.toString());
        assertTrue(byOp.getOrDefault("credited", 0) > 0, byOp.toString());
    }

    @Test
    void theCommandAppendsAcksAndCanLeaveTheLedgerCheckToTheirReader() throws Exception {
        TestGateway gateway = TestGateway.get();
        Path out = TestGateway.tempDir("bench-acks-");
        Path file = out.resolve("acks.csv");
        int status = new CommandLine(new BenchCommand()).execute("settle", "--url", gateway.baseUrl(), "--api-key",
                TestGateway.API_KEY, "--admin-token", TestGateway.ADMIN_TOKEN, "--duration", "1s", "--warmup", "0s",
                "--wallets", "2", "--connections", "2", "--out", out.toString(), "--acks", file.toString(), "--no-ledger-check");
        assertEquals(0, status);
        JsonNode check = new ObjectMapper().readTree(out.resolve("result.json").toFile()).get("ledgerCheck");
        assertTrue(check.get("skipped").asBoolean(), check.toString());
        assertEquals(0, check.get("checkedSettlements").asLong());
        List<String> lines = Files.readAllLines(file);
        assertEquals(2, lines.stream().filter(line -> line.contains(",fund,")).count(), lines.toString());
        long settles = lines.stream().filter(line -> line.contains(",settle,")).count();
        // No warm-up: every settle of the run is in the measured period's status counts.
        JsonNode statuses = new ObjectMapper().readTree(out.resolve("result.json").toFile()).get("measured").get("statusCounts");
        long answeredOk = 0;
        for (var field = statuses.fields(); field.hasNext(); ) {
            var entry = field.next();
            answeredOk += entry.getKey().startsWith("2") ? entry.getValue().asLong() : 0;
        }
        assertTrue(answeredOk > 0, statuses.toString());
        assertEquals(answeredOk, settles, statuses.toString());
    }
}
