package taraz.recovery;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import taraz.failpoint.Failpoints;
import taraz.support.ApiClient;
import taraz.support.GatewayProcess;
import taraz.support.TestGateway;
import taraz.support.Sql;
import taraz.support.TestPsp;
import taraz.support.Topups;

import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A real gateway process halts at each top-up failpoint, then starts again on the same data
 * directory while the PSP simulator keeps running: the wallet is credited exactly once, the
 * bank saw exactly one successful verify (and at most one "already verified"), and the journal
 * ends with CREDITED.
 */
class TopupCrashTest {

    private static final long AMOUNT_RIALS = 2_000_000;
    private static final long EXIT_TIMEOUT_MILLIS = 60_000;
    private static final long CREDIT_TIMEOUT_MILLIS = 30_000;
    private static TestPsp psp;

    @BeforeAll
    static void startPsp() throws Exception {
        psp = TestPsp.start(TestGateway.tempDir("psp-"));
    }

    @AfterAll
    static void stopPsp() {
        psp.stop();
    }

    @ParameterizedTest
    @ValueSource(strings = {"topup.after-request", "topup.after-callback", "topup.after-verify", "topup.after-credit"})
    void crashThenRestartCreditsOnce(String failpoint) throws Exception {
        Path dataDir = TestGateway.tempDir("topup-crash-");
        int port = TestGateway.freePort();
        Map<String, String> env = new HashMap<>(GatewayProcess.config(dataDir, Map.of(
                "topupSweepIntervalMillis", 300, "topupCallbackGraceSeconds", 1)));
        env.put("TARAZ_PSP_URL", psp.baseUrl());
        // The first gateway's sweeper waits out the test: on a slow machine it could otherwise credit the top-up
        // before the bank's callback lands (through the bank's list of paid, unverified payments, which no callback
        // grace holds back), and topup.after-callback is on the callback's path alone. The restarted gateway sweeps
        // every 300 ms, as recovery needs.
        Map<String, String> crashing = new HashMap<>(GatewayProcess.config(dataDir.resolve("first-start"), Map.of(
                "topupSweepIntervalMillis", 3_600_000, "topupCallbackGraceSeconds", 600)));
        crashing.put("TARAZ_PSP_URL", psp.baseUrl());
        crashing.put("TARAZ_FAILPOINTS", failpoint + "=crash");

        GatewayProcess first = GatewayProcess.start(dataDir, port, crashing);
        ApiClient api = first.api();
        String wallet = api.openWallet("passenger");
        String key = ApiClient.newKey();
        String topupId = "tp_" + sha256(key).substring(0, 32);
        JsonObject body = new JsonObject().put("walletId", wallet).put("amount", AMOUNT_RIALS);
        String authority = null;
        long requestsBefore = psp.stats().getLong("requestCalls");
        if (failpoint.equals("topup.after-request")) {
            assertThrows(UncheckedIOException.class, () -> api.post("/v1/topups", key, body), "dies before answering");
        } else {
            ApiClient.Response created = api.post("/v1/topups", key, body);
            assertEquals(201, created.status(), created.text());
            authority = created.json().getString("authority");
            JsonObject paid = psp.pay(authority, "OK");
            String atBank = psp.payment(authority).getString("status");
            assertTrue(atBank.equals("PAID") || atBank.equals("VERIFIED"), "the cardholder paid: " + paid.encode());
        }
        assertEquals(Failpoints.CRASH_EXIT_STATUS, first.awaitExit(EXIT_TIMEOUT_MILLIS), first.output());

        GatewayProcess second = GatewayProcess.start(dataDir, port, env);
        try {
            ApiClient again = second.api();
            if (authority == null) {
                // The client retries its request with the same key: the same top-up, its stored authority.
                ApiClient.Response retried = again.post("/v1/topups", key, body);
                assertEquals(201, retried.status(), retried.text());
                assertEquals(topupId, retried.json().getString("topupId"));
                authority = retried.json().getString("authority");
                assertEquals(requestsBefore + 1, psp.stats().getLong("requestCalls"), "the bank was asked once");
                psp.pay(authority, "OK");
            }
            Topups.awaitState(again, topupId, "CREDITED", CREDIT_TIMEOUT_MILLIS);
            assertEquals(AMOUNT_RIALS, again.balance(wallet), "credited exactly once");
            JsonObject atBank = psp.payment(authority);
            assertEquals(1, atBank.getInteger("verifySuccesses"), atBank.encode());
            assertTrue(atBank.getInteger("verifyAlready") <= 1, atBank.encode());
            assertEquals("CREDITED", TripCrashTest.lastJournalState(dataDir, topupId), "the journal ends CREDITED");

            // A late duplicate callback changes nothing.
            ApiClient.Response duplicate = again.get("/v1/psp/zarinpal/callback?Authority=" + authority + "&Status=OK");
            assertEquals(200, duplicate.status(), duplicate.text());
            assertEquals(AMOUNT_RIALS, again.balance(wallet));
            Sql.assertLedgerAddsUp(dataDir);
        } finally {
            second.close();
        }
    }

    static String sha256(String text) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
    }
}
