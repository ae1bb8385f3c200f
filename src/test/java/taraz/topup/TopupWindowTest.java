package taraz.topup;

import taraz.support.Wait;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import taraz.support.ApiClient;
import taraz.support.GatewayProcess;
import taraz.support.TestGateway;
import taraz.support.TestPsp;
import taraz.support.Topups;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * The bank's window passes while the gateway is down (a real child process, killed): after the
 * restart the sweeper settles the top-up from what the bank says, REVERSED when the bank
 * returned an unverified payment, EXPIRED when the cardholder never paid; never a credit.
 */
class TopupWindowTest {

    private static final long AMOUNT_RIALS = 70_000;
    private static final long AWAIT_MILLIS = 30_000;
    /** The child's top-up window in the not-paid case, and how long the gateway stays down there. */
    private static final int TOPUP_WINDOW_SECONDS = 2;
    private static final long DOWN_PAST_WINDOW_MILLIS = 3_000;
    /** Longer than the 1 s callback grace (and the sweeper's 1 s quiet time). */
    private static final long STARVE_WAIT_MILLIS = 2_500;

    private static TestPsp psp;

    @BeforeAll
    static void startPsp() throws Exception {
        Files.createDirectories(Path.of("target", "test-data"));
        psp = TestPsp.start(Files.createTempDirectory(Path.of("target", "test-data").toAbsolutePath(), "psp-window-"));
    }

    @AfterAll
    static void stopPsp() {
        if (psp != null) {
            psp.stop();
        }
    }

    @Test
    void bankReversesAPaymentWhileTheGatewayIsDown() throws Exception {
        Path dataDir = Files.createTempDirectory(Path.of("target", "test-data").toAbsolutePath(), "topup-reversed-");
        int port = TestGateway.freePort();
        Map<String, String> env = childEnv(dataDir, Map.of("topupSweepIntervalMillis", 300, "topupCallbackGraceSeconds", 1));

        GatewayProcess first = GatewayProcess.start(dataDir, port, env);
        GatewayProcess second = null;
        try {
            ApiClient api = first.api();
            String wallet = api.openWallet("passenger");
            ApiClient.Response created = api.post("/v1/topups", ApiClient.newKey(),
                    new JsonObject().put("walletId", wallet).put("amount", AMOUNT_RIALS));
            assertEquals(201, created.status(), created.text());
            String topupId = created.json().getString("topupId");
            String authority = created.json().getString("authority");
            assertNotNull(authority, created.text());
            first.kill();

            psp.faults(TestPsp.defaultFaults().put("pspWindowSeconds", 1));
            JsonObject paid = psp.pay(authority, "OK");
            assertEquals("PAID", paid.getString("status"), paid.encode());
            assertEquals(-1, paid.getJsonArray("callbacks").getJsonObject(0).getInteger("status"),
                    "nobody listens for the callback: " + paid.encode());
            // The bank's 1 s window passes with nobody verifying: it returns the money to the cardholder.
            awaitBankStatus(authority, "REVERSED");

            second = GatewayProcess.start(dataDir, port, env);
            JsonObject reversed = Topups.awaitState(second.api(), topupId, "REVERSED", AWAIT_MILLIS);
            assertEquals("reversed_by_bank", reversed.getString("lastError"), reversed.encode());
            assertEquals(0, second.api().balance(wallet), "never credited");
            JsonObject atBank = psp.payment(authority);
            assertEquals(0, atBank.getInteger("verifySuccesses"), atBank.encode());
            assertEquals("REVERSED", atBank.getString("status"), atBank.encode());

            // A late callback for it changes nothing.
            ApiClient.Response late = second.api().get("/v1/psp/zarinpal/callback?Authority=" + authority + "&Status=OK",
                    Map.of("Accept", "application/json"));
            assertEquals(200, late.status(), late.text());
            assertEquals("REVERSED", late.json().getString("state"), late.text());
            assertEquals(0, second.api().balance(wallet));
        } finally {
            psp.resetFaults();
            GatewayProcess.stop(first, second);
        }
    }

    @Test
    void unpaidTopupExpiresWhileTheGatewayIsDown() throws Exception {
        Path dataDir = Files.createTempDirectory(Path.of("target", "test-data").toAbsolutePath(), "topup-expired-");
        int port = TestGateway.freePort();
        Map<String, String> env = childEnv(dataDir, Map.of("topupSweepIntervalMillis", 300,
                "topupCallbackGraceSeconds", 1, "pspWindowSeconds", TOPUP_WINDOW_SECONDS));

        GatewayProcess first = GatewayProcess.start(dataDir, port, env);
        GatewayProcess second = null;
        try {
            ApiClient api = first.api();
            String wallet = api.openWallet("passenger");
            ApiClient.Response created = api.post("/v1/topups", ApiClient.newKey(),
                    new JsonObject().put("walletId", wallet).put("amount", AMOUNT_RIALS));
            assertEquals(201, created.status(), created.text());
            String topupId = created.json().getString("topupId");
            String authority = created.json().getString("authority");
            first.kill();

            Thread.sleep(DOWN_PAST_WINDOW_MILLIS);

            second = GatewayProcess.start(dataDir, port, env);
            JsonObject expired = Topups.awaitState(second.api(), topupId, "EXPIRED", AWAIT_MILLIS);
            assertEquals("not_paid_in_window", expired.getString("lastError"), expired.encode());
            assertEquals(0, second.api().balance(wallet));
            JsonObject atBank = psp.payment(authority);
            assertEquals("IN_BANK", atBank.getString("status"), atBank.encode());
            assertEquals(0, atBank.getInteger("verifySuccesses"), atBank.encode());
        } finally {
            GatewayProcess.stop(first, second);
        }
    }

    /**
     * The sweeper's batch is the open top-ups with the oldest {@code updated_at}, and a REQUESTED
     * top-up the bank still holds is left untouched, so unpaid (abandoned) top-ups keep the head of
     * the batch for the whole window. A paid one whose callback was lost must still be found: the
     * bank lists it in unVerified. Here the batch is 1 and one older top-up is simply unpaid.
     */
    @Test
    void lostCallbackIsNotStarvedByOlderUnpaidTopups() throws Exception {
        Path dataDir = Files.createTempDirectory(Path.of("target", "test-data").toAbsolutePath(), "topup-starved-");
        int port = TestGateway.freePort();
        Map<String, String> env = childEnv(dataDir, Map.of("topupSweepIntervalMillis", 300,
                "topupCallbackGraceSeconds", 1, "topupSweepBatchMax", 1));
        GatewayProcess child = GatewayProcess.start(dataDir, port, env);
        try {
            ApiClient api = child.api();
            String abandonedWallet = api.openWallet("passenger");
            ApiClient.Response abandoned = api.post("/v1/topups", ApiClient.newKey(),
                    new JsonObject().put("walletId", abandonedWallet).put("amount", AMOUNT_RIALS));
            assertEquals(201, abandoned.status(), abandoned.text());
            // Past the callback grace, so the sweeper looks at it (and finds it unpaid) every round.
            Thread.sleep(STARVE_WAIT_MILLIS);

            String wallet = api.openWallet("passenger");
            ApiClient.Response created = api.post("/v1/topups", ApiClient.newKey(),
                    new JsonObject().put("walletId", wallet).put("amount", AMOUNT_RIALS));
            assertEquals(201, created.status(), created.text());
            String topupId = created.json().getString("topupId");
            String authority = created.json().getString("authority");
            try {
                psp.faults(TestPsp.defaultFaults().put("lostCallbackRate", 1.0));
                psp.pay(authority, "OK");
            } finally {
                psp.resetFaults();
            }
            Topups.awaitState(api, topupId, "CREDITED", AWAIT_MILLIS);
            assertEquals(AMOUNT_RIALS, api.balance(wallet));
            assertEquals("REQUESTED", api.get("/v1/topups/" + abandoned.json().getString("topupId")).json().getString("state"));
        } finally {
            GatewayProcess.stop(child);
        }
    }

    private static Map<String, String> childEnv(Path dataDir, Map<String, Object> settings) throws Exception {
        Map<String, String> env = new HashMap<>(GatewayProcess.config(dataDir, settings));
        env.put("TARAZ_PSP_URL", psp.baseUrl());
        return env;
    }

    private static void awaitBankStatus(String authority, String status) {
        Wait.until("the bank makes " + authority + " " + status, AWAIT_MILLIS, () -> psp.payment(authority),
                payment -> status.equals(payment.getString("status")));
    }
}
