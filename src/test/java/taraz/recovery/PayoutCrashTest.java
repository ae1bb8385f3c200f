package taraz.recovery;

import io.vertx.core.json.JsonObject;
import org.apache.commons.codec.digest.DigestUtils;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import taraz.failpoint.Failpoints;
import taraz.support.ApiClient;
import taraz.support.GatewayProcess;
import taraz.support.Payouts;
import taraz.support.Sql;
import taraz.support.TestGateway;
import taraz.support.TestPsp;

import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A real gateway process halts at each payout failpoint (like kill -9: no shutdown hook, its PostgreSQL left
 * running), then starts again on the same data directory while the simulator's provider keeps running: the driver is
 * paid exactly once (one send, one transfer at the provider, one post in the ledger), the journal ends PAID, and the
 * client's retry with the same key answers that same payout.
 */
class PayoutCrashTest {

    private static final long FUNDS_RIALS = 1_000_000;
    private static final long AMOUNT_RIALS = 300_000;
    private static final long EXIT_TIMEOUT_MILLIS = 60_000;
    private static final long PAID_TIMEOUT_MILLIS = 30_000;
    private static final long RETRY_TIMEOUT_MILLIS = 40_000;
    private static TestPsp psp;

    @BeforeAll
    static void startPsp() {
        psp = TestPsp.start(TestGateway.tempDir("psp-"));
    }

    @AfterAll
    static void stopPsp() {
        psp.stop();
    }

    @ParameterizedTest
    @ValueSource(strings = {"payout.after-hold", "payout.after-psp", "payout.after-post"})
    void crashThenRestartPaysOnce(String failpoint) throws Exception {
        Path dataDir = TestGateway.tempDir("payout-crash-");
        int port = TestGateway.freePort();
        Map<String, String> env = GatewayProcess.config(dataDir, Map.of("payoutUrl", psp.baseUrl(),
                "payoutSweepIntervalMillis", 300));
        // The first gateway's sweeper waits out the test, so that only the request and the provider's callback reach
        // the failpoint.
        Map<String, String> crashing = new HashMap<>(GatewayProcess.config(dataDir.resolve("first-start"), Map.of(
                "payoutUrl", psp.baseUrl(), "payoutSweepIntervalMillis", 3_600_000)));
        crashing.put("TARAZ_FAILPOINTS", failpoint + "=crash");
        List<GatewayProcess> started = new ArrayList<>();
        try {
            GatewayProcess first = GatewayProcess.start(dataDir, port, crashing);
            started.add(first);
            ApiClient api = first.api();
            String iban = Payouts.newIban();
            String driver = Payouts.fundedDriver(api, iban, FUNDS_RIALS);
            String key = ApiClient.newKey();
            String payoutId = "po_" + DigestUtils.sha256Hex(key).substring(0, 32);
            JsonObject body = new JsonObject().put("driverWalletId", driver).put("amount", AMOUNT_RIALS).put("iban", iban);
            try {
                // payout.after-post is reached by the provider's callback, after the request answered SENT.
                ApiClient.Response answered = api.post("/v1/payouts", key, body);
                assertEquals("payout.after-post", failpoint, "only the post comes after the answer: " + answered.text());
                assertEquals(201, answered.status(), answered.text());
            } catch (UncheckedIOException died) {
                assertEquals(false, failpoint.equals("payout.after-post"), "the request died: " + died);
            }
            assertEquals(Failpoints.CRASH_EXIT_STATUS, first.awaitExit(EXIT_TIMEOUT_MILLIS), first.output());

            GatewayProcess second = GatewayProcess.start(dataDir, port, env);
            started.add(second);
            ApiClient again = second.api();
            JsonObject paid = Payouts.awaitState(again, payoutId, "PAID", PAID_TIMEOUT_MILLIS);
            assertEquals(FUNDS_RIALS - AMOUNT_RIALS, again.balance(driver), "debited exactly once");
            assertEquals(FUNDS_RIALS - AMOUNT_RIALS, again.available(driver), "no hold left");
            JsonObject atProvider = psp.payout(payoutId);
            assertEquals("PAID", atProvider.getString("state"), atProvider.encode());
            assertEquals(1, atProvider.getInteger("sends"), "sent once, its fate asked after the crash: " + atProvider.encode());
            assertEquals("PAID", TripCrashTest.lastJournalState(dataDir, payoutId), "the journal ends PAID");

            ApiClient.Response retried = again.postPastClaim("/v1/payouts", key, body, RETRY_TIMEOUT_MILLIS);
            assertEquals(201, retried.status(), retried.text());
            assertEquals(payoutId, retried.json().getString("payoutId"));
            assertEquals("PAID", Payouts.get(again, payoutId).getString("state"), paid.encode());
            assertEquals(1, psp.payout(payoutId).getInteger("sends"), "the retry sent nothing");
            assertEquals(FUNDS_RIALS - AMOUNT_RIALS, again.balance(driver));
            Sql.assertLedgerAddsUp(dataDir);
        } finally {
            GatewayProcess.stop(started.toArray(GatewayProcess[]::new));
        }
    }
}
