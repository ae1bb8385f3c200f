package taraz.ops;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import taraz.support.ApiClient;
import taraz.support.GatewayProcess;
import taraz.support.TestGateway;
import taraz.support.TestPsp;
import taraz.support.Payouts;
import taraz.support.Topups;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A real gateway (a child JVM, its whole output captured) runs every flow with planted values: a wallet with a
 * distinctive phone and name, a top-up paid at the PSP simulator with a distinctive card, its own API key and admin
 * token, a wrong Authorization header, bad requests whose bodies carry all of them. The log has none of them, every
 * line is one JSON object, and the lines of a hold, a settle and a top-up carry txn, flow, state, node and the request
 * id the client sent, which every answer echoes.
 */
class LogLinesTest {

    private static final String API_KEY = "planted-api-key-Qx7Vb2Lm9Rt4Wz8Np3Kc6Hd1";
    private static final String ADMIN_TOKEN = "planted-admin-token-Jf5Gs8Ty2Ue6Io9Pa3Sd7";
    private static final String WRONG_TOKEN = "planted-wrong-token-Mn4Bv7Cx1Zl5Kj8Hg2Fd6";
    private static final String PHONE = "09357771234";
    private static final String NAME = "Parvaneh Zarrinkolah-Planted";
    private static final String DRIVER_PHONE = "09128883456";
    private static final String DRIVER_NAME = "Kourosh Sepidbakht-Planted";
    private static final String CARD_LAST_FOUR = "7319";
    /** The card as the simulator reports it to the gateway in its verify answer (a masked PAN). */
    private static final String CARD_PAN = "502229******" + CARD_LAST_FOUR;
    private static final String CARD_NUMBER = "5022291234567319";
    private static final String IBAN = "IR820540102680020817909002";
    private static final String NODE = "log-test-node";
    private static final long TOPUP_RIALS = 5_000_000;
    private static final long HOLD_RIALS = 900_000;
    private static final long FARE_RIALS = 800_000;
    private static final long COMMISSION_RIALS = 120_000;
    private static final long CREDIT_TIMEOUT_MILLIS = 30_000;
    private static final long EXIT_TIMEOUT_MILLIS = 90_000;
    private static final long PSP_TIMEOUT_MILLIS = 2_000;
    /** The unanswered verifies the test waits for: the callback's, then at least one of the sweeper's. */
    private static final int VERIFY_ATTEMPTS_MIN = 2;

    @Test
    void linesAreJsonCarryThePaymentAndTheRequestAndNoPersonalDataOrSecret() throws Exception {
        TestPsp psp = TestPsp.start(TestGateway.tempDir("log-psp-"));
        Path dataDir = TestGateway.tempDir("log-gw-");
        Map<String, String> env = new HashMap<>();
        env.put("TARAZ_PSP_URL", psp.baseUrl());
        env.put("TARAZ_PAYOUT_URL", psp.baseUrl());
        env.put("TARAZ_API_KEYS", API_KEY);
        env.put("TARAZ_ADMIN_TOKEN", ADMIN_TOKEN);
        env.put("TARAZ_NODE_ID", NODE);
        // A quick verify timeout and sweeper, so a verify the bank does not answer is retried within the test.
        env.putAll(GatewayProcess.config(dataDir, Map.of("pspTimeoutMillis", PSP_TIMEOUT_MILLIS, "pspRetriesMax", 0,
                "topupSweepIntervalMillis", 300, "topupCallbackGraceSeconds", 1, "topupLeaseMillis", 1_000)));
        GatewayProcess gateway = GatewayProcess.start(dataDir, TestGateway.freePort(), env);
        try {
            ApiClient api = new ApiClient(gateway.baseUrl(), API_KEY, ADMIN_TOKEN);
            String passenger = openWallet(api, "passenger", PHONE, NAME);
            String driver = openWallet(api, "driver", DRIVER_PHONE, DRIVER_NAME);

            String topupRequest = "req-topup-" + ApiClient.newId("r");
            ApiClient.Response created = api.post("/v1/topups", ApiClient.newKey(),
                    new JsonObject().put("walletId", passenger).put("amount", TOPUP_RIALS).encode(), json(topupRequest));
            assertEquals(201, created.status(), created.text());
            assertEquals(topupRequest, created.header(LogContext.REQUEST_ID_HEADER), "the client's id is echoed");
            String topupId = created.json().getString("topupId");
            psp.pay(created.json().getString("authority"), "OK", CARD_LAST_FOUR);
            JsonObject credited = Topups.awaitState(api, topupId, "CREDITED", CREDIT_TIMEOUT_MILLIS);
            assertEquals(CARD_PAN, credited.getString("cardPan"), "the planted card reached the gateway");

            String tripId = ApiClient.newId("trip");
            String holdRequest = "req-hold-" + ApiClient.newId("r");
            ApiClient.Response held = api.post("/v1/trips/" + tripId + "/hold", ApiClient.newKey(), new JsonObject()
                    .put("passengerWalletId", passenger).put("amount", HOLD_RIALS).encode(), json(holdRequest));
            assertEquals(200, held.status(), held.text());
            assertEquals(holdRequest, held.header(LogContext.REQUEST_ID_HEADER));
            String settleRequest = "req-settle-" + ApiClient.newId("r");
            ApiClient.Response settled = api.post("/v1/trips/" + tripId + "/settle", ApiClient.newKey(), new JsonObject()
                    .put("passengerWalletId", passenger).put("driverWalletId", driver).put("fare", FARE_RIALS)
                    .put("commission", COMMISSION_RIALS).encode(), json(settleRequest));
            assertEquals(200, settled.status(), settled.text());
            assertEquals(settleRequest, settled.header(LogContext.REQUEST_ID_HEADER));

            String voided = ApiClient.newId("trip");
            assertEquals(200, api.post("/v1/trips/" + voided + "/hold", ApiClient.newKey(), new JsonObject()
                    .put("passengerWalletId", passenger).put("amount", HOLD_RIALS)).status());
            assertEquals(200, api.post("/v1/trips/" + voided + "/cancel", ApiClient.newKey(), new JsonObject()).status());
            ApiClient.Response adjusted = api.post("/v1/admin/adjustments", ApiClient.newKey(), new JsonObject()
                    .put("walletId", driver).put("amount", 1_000).put("reason", "goodwill").put("ticket", "T-9").encode(),
                    Map.of("Content-Type", "application/json", "Authorization", "Bearer " + ADMIN_TOKEN));
            assertEquals(201, adjusted.status(), adjusted.text());
            ApiClient.Response payout = Payouts.create(api, driver, 1_000, IBAN, ApiClient.newKey());
            assertEquals(201, payout.status(), payout.text());
            Payouts.awaitState(api, payout.json().getString("payoutId"), "PAID", CREDIT_TIMEOUT_MILLIS);
            assertEquals(200, api.getAdmin("/v1/admin/payments?state=HELD").status());

            // A verify the bank does not answer, retried until it does: a WARN per attempt.
            JsonObject retriedTopup = Topups.createOk(api, passenger, TOPUP_RIALS);
            String retried = retriedTopup.getString("topupId");
            String retriedAuthority = retriedTopup.getString("authority");
            try {
                psp.faults(TestPsp.defaultFaults().put("endpoints",
                        new JsonObject().put("verify", new JsonObject().put("timeoutRate", 1.0))));
                psp.pay(retriedAuthority, "OK", CARD_LAST_FOUR);
                Awaitility.await().atMost(Duration.ofMillis(CREDIT_TIMEOUT_MILLIS))
                        .until(() -> verifyWarnings(gateway.output(), retried).size() >= VERIFY_ATTEMPTS_MIN);
            } finally {
                psp.resetFaults();
            }
            JsonObject retriedCredited = Topups.awaitState(api, retried, "CREDITED", CREDIT_TIMEOUT_MILLIS);

            sendBadRequests(api, passenger);

            ApiClient.Response unnamed = api.get("/v1/wallets/" + passenger);
            assertNotNull(unnamed.header(LogContext.REQUEST_ID_HEADER), "a request without an id gets one");
            String unprintable = "bad id " + WRONG_TOKEN;
            ApiClient.Response replaced = api.get("/v1/wallets/" + passenger, Map.of(LogContext.REQUEST_ID_HEADER, unprintable));
            assertNotEquals(unprintable, replaced.header(LogContext.REQUEST_ID_HEADER), "an id with spaces is replaced");
            String tooLong = "r".repeat(LogContext.REQUEST_ID_LENGTH_MAX + 1);
            ApiClient.Response shortened = api.get("/v1/wallets/" + passenger, Map.of(LogContext.REQUEST_ID_HEADER, tooLong));
            assertNotEquals(tooLong, shortened.header(LogContext.REQUEST_ID_HEADER), "an id past the bound is replaced");
            ApiClient.Response missing = api.get("/v1/no-such-route", Map.of(LogContext.REQUEST_ID_HEADER, "req-404"));
            assertEquals(404, missing.status());
            assertEquals("req-404", missing.header(LogContext.REQUEST_ID_HEADER), "echoed on a refusal too");

            gateway.terminate();
            assertEquals(0, gateway.awaitExit(EXIT_TIMEOUT_MILLIS), gateway.output());
            String log = gateway.output();

            for (String planted : List.of(PHONE, NAME, DRIVER_PHONE, DRIVER_NAME, CARD_PAN, CARD_NUMBER, IBAN, API_KEY,
                    ADMIN_TOKEN, WRONG_TOKEN)) {
                assertFalse(log.contains(planted), "the log holds " + planted + ":\n" + log);
            }
            List<JsonObject> lines = parse(log);
            assertPaymentLines(lines, topupRequest, topupId, "topup", "REQUESTED");
            assertPaymentLines(lines, holdRequest, tripId, "trip", "HELD");
            assertPaymentLines(lines, settleRequest, tripId, "trip", "SETTLED");
            // One line per change of state, for each flow.
            assertStates(lines, topupId, "topup", List.of("CREATED", "REQUESTED", "CALLBACK_RECEIVED", "VERIFYING", "VERIFIED",
                    "CREDITED"));
            assertStates(lines, tripId, "trip", List.of("HELD", "SETTLED"));
            assertStates(lines, voided, "trip", List.of("HELD", "VOIDED"));
            assertStates(lines, adjusted.json().getString("adjustmentId"), "adjustment", List.of("APPLIED"));
            assertStates(lines, payout.json().getString("payoutId"), "payout", List.of("CREATED", "HELD", "SENT", "PAID"));
            List<String> warnings = verifyWarnings(log, retried);
            assertTrue(warnings.size() >= VERIFY_ATTEMPTS_MIN, warnings.toString());
            assertEquals(warnings.size(), warnings.stream().distinct().count(), "one WARN per attempt: " + warnings);
            assertTrue(retriedCredited.getInteger("verifyAttempts") > warnings.size(), retriedCredited.encode());
            assertTrue(lines.stream().anyMatch(line -> topupId.equals(mdc(line, LogContext.TXN))
                            && "CREDITED".equals(mdc(line, LogContext.STATE)) && mdc(line, LogContext.REQUEST_ID) != null),
                    "the callback's credit line carries the payment and the callback's request id");
        } finally {
            GatewayProcess.stop(gateway);
            psp.stop();
        }
    }

    /** The INFO lines of payment {@code txn} of {@code flow} name exactly {@code states}, in order: one line per change. */
    private static void assertStates(List<JsonObject> lines, String txn, String flow, List<String> states) {
        List<String> seen = lines.stream().filter(line -> "INFO".equals(line.getString("level"))
                        && txn.equals(mdc(line, LogContext.TXN)) && flow.equals(mdc(line, LogContext.FLOW)))
                .map(line -> mdc(line, LogContext.STATE)).toList();
        assertEquals(states, seen, flow + " " + txn);
    }

    /** The messages of the WARN lines about top-up {@code txn}'s verify getting no answer, as written so far. */
    private static List<String> verifyWarnings(String log, String txn) {
        return log.lines().filter(line -> line.startsWith("{")).map(JsonObject::new)
                .filter(line -> "WARN".equals(line.getString("level")) && txn.equals(mdc(line, LogContext.TXN))
                        && line.getString("formattedMessage", "").contains("got no answer from the PSP"))
                .map(line -> line.getString("formattedMessage")).toList();
    }

    private static String openWallet(ApiClient api, String kind, String phone, String name) {
        ApiClient.Response r = api.post("/v1/wallets", ApiClient.newKey(), new JsonObject().put("ownerId", ApiClient.newId("owner"))
                .put("kind", kind).put("phone", phone).put("name", name));
        assertEquals(201, r.status(), r.text());
        return r.json().getString("walletId");
    }

    /** Requests refused in every way a client can get wrong, each carrying the planted values. */
    private static void sendBadRequests(ApiClient api, String passenger) {
        String everything = "{\"phone\": \"" + PHONE + "\", \"name\": \"" + NAME + "\", \"card\": \"" + CARD_NUMBER
                + "\", \"iban\": \"" + IBAN + "\", \"token\": \"" + ADMIN_TOKEN + "\", \"key\": \"" + API_KEY + "\"";
        assertEquals(400, api.post("/v1/wallets", ApiClient.newKey(), everything).status(), "malformed JSON");
        assertEquals(400, api.post("/v1/wallets", ApiClient.newKey(), everything + ", \"kind\": 7}").status(), "wrong types");
        assertEquals(400, api.post("/v1/wallets", ApiClient.newKey(), new JsonObject().put("ownerId", "o-" + PHONE)
                .put("kind", "passenger").put("phone", NAME + " " + CARD_NUMBER).put("name", IBAN)).status(), "bad phone");
        assertTrue(api.post("/v1/payouts", ApiClient.newKey(), new JsonObject().put("driverWalletId", passenger)
                .put("amount", 1_000).put("iban", IBAN)).status() >= 400, "a payout with the planted IBAN");
        assertTrue(api.post("/v1/trips/" + PHONE + "/hold", ApiClient.newKey(), everything + "}").status() >= 400);
        assertEquals(401, api.withAuthorization("Bearer " + WRONG_TOKEN).get("/v1/wallets/" + passenger).status());
        assertEquals(401, api.post("/v1/admin/adjustments", ApiClient.newKey(), everything + "}",
                Map.of("Content-Type", "application/json", "Authorization", "Bearer " + WRONG_TOKEN)).status());
        assertTrue(api.get(Topups.callbackPath(PHONE + CARD_NUMBER, "OK") + "&token=" + ADMIN_TOKEN, Topups.ACCEPT_JSON)
                .status() >= 400, "a callback with planted values in its query");
    }

    private static Map<String, String> json(String requestId) {
        return Map.of("Content-Type", "application/json", LogContext.REQUEST_ID_HEADER, requestId);
    }

    /** Every line of the output, each one JSON object. */
    private static List<JsonObject> parse(String log) {
        List<JsonObject> lines = new ArrayList<>();
        for (String line : log.split("\n")) {
            try {
                lines.add(new JsonObject(line));
            } catch (DecodeException | ClassCastException e) {
                fail("not one JSON object: " + line);
            }
        }
        return lines;
    }

    /** The lines written while handling {@code requestId}: at least one, each naming the payment. */
    private static void assertPaymentLines(List<JsonObject> lines, String requestId, String txn, String flow, String state) {
        List<JsonObject> ofRequest = lines.stream().filter(line -> requestId.equals(mdc(line, LogContext.REQUEST_ID))).toList();
        assertFalse(ofRequest.isEmpty(), "no line carries request " + requestId);
        for (JsonObject line : ofRequest) {
            assertEquals(txn, mdc(line, LogContext.TXN), line.encode());
            assertEquals(flow, mdc(line, LogContext.FLOW), line.encode());
            assertNotNull(mdc(line, LogContext.STATE), line.encode());
            assertEquals(NODE, mdc(line, LogContext.NODE), line.encode());
        }
        assertTrue(ofRequest.stream().anyMatch(line -> state.equals(mdc(line, LogContext.STATE))),
                "no line of " + requestId + " in state " + state + ": " + ofRequest);
    }

    private static String mdc(JsonObject line, String key) {
        JsonObject mdc = line.getJsonObject("mdc");
        return mdc == null ? null : mdc.getString(key);
    }
}
