package taraz.topup;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import taraz.support.ApiClient;
import taraz.support.Concurrently;
import taraz.support.Sql;
import taraz.support.TestGateway;
import taraz.support.TestPsp;
import taraz.support.Topups;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The top-up flow against the in-process gateway and its PSP simulator: the happy path, one
 * top-up for many concurrent requests with one key, one credit for many callbacks, a lost
 * callback finished by the sweeper, PSP errors and timeouts during verify, NOK, an amount
 * mismatch, forged callbacks and bad input. Every test uses its own wallet and keys; a test
 * that sets simulator faults restores the defaults in a finally block.
 */
class TopupFlowTest {

    private static final long AMOUNT_RIALS = 50_000;
    private static final long AWAIT_MILLIS = 15_000;
    private static final long PSP_DOWN_AWAIT_MILLIS = 60_000;
    private static final int CONCURRENT_CREATES = 20;
    private static final int DUPLICATE_CALLBACKS = 5;
    private static final int EXTRA_CALLBACKS = 3;

    private static ApiClient api;
    private static TestPsp psp;

    @BeforeAll
    static void gateway() {
        TestGateway gateway = TestGateway.get();
        api = gateway.api();
        psp = gateway.psp();
    }

    // ---- the happy path ------------------------------------------------------------------------

    @Test
    void happyPathCreditsOnceAndRecordsEveryStep() throws Exception {
        String wallet = api.openWallet("passenger");
        ApiClient.Response created = Topups.create(api, wallet, AMOUNT_RIALS, ApiClient.newKey());
        assertEquals(201, created.status(), created.text());
        JsonObject topup = created.json();
        String topupId = topup.getString("topupId");
        String authority = topup.getString("authority");
        assertEquals("REQUESTED", topup.getString("state"), created.text());
        assertNotNull(authority, created.text());
        assertEquals(psp.baseUrl() + "/pg/StartPay/" + authority, topup.getString("paymentUrl"));
        assertEquals(AMOUNT_RIALS, topup.getLong("amount"));
        assertEquals(wallet, topup.getString("walletId"));
        assertEquals("zarinpal", topup.getString("gateway"));

        JsonObject paid = psp.pay(authority, "OK");
        assertEquals("PAID", paid.getString("status"), paid.encode());
        assertEquals(new JsonArray().add(new JsonObject().put("status", 200)), paid.getJsonArray("callbacks"), paid.encode());

        JsonObject credited = Topups.awaitState(api, topupId, "CREDITED", AWAIT_MILLIS);
        assertEquals(AMOUNT_RIALS, api.balance(wallet));
        assertNotNull(credited.getString("refId"), credited.encode());
        assertNotNull(credited.getString("cardPan"), credited.encode());
        assertEquals(List.of("CREATED", "REQUESTED", "CALLBACK_RECEIVED", "VERIFYING", "VERIFIED", "CREDITED"),
                Topups.historyStates(credited), credited.encode());
        JsonObject atBank = psp.payment(authority);
        assertEquals(1, atBank.getInteger("verifySuccesses"), atBank.encode());
        assertEquals("VERIFIED", atBank.getString("status"), atBank.encode());

        // The cardholder reloads the return page: HTML by default, JSON on request; still one credit.
        ApiClient.Response html = api.get(Topups.callbackPath(authority, "OK"));
        assertEquals(200, html.status(), html.text());
        assertTrue(html.header("Content-Type").startsWith("text/html"), html.header("Content-Type"));
        assertTrue(html.text().contains("CREDITED"), html.text());
        ApiClient.Response json = Topups.callback(api, authority, "OK");
        assertEquals(200, json.status(), json.text());
        assertTrue(json.header("Content-Type").startsWith("application/json"), json.header("Content-Type"));
        assertEquals("CREDITED", json.json().getString("state"), json.text());
        assertEquals(Set.of("state", "message"), json.json().fieldNames(), "the state and nothing else: " + json.text());

        assertEquals(AMOUNT_RIALS, api.balance(wallet), "credited exactly once");
        assertEquals(1, Topups.creditTransfers(topupId));
        assertEquals(1, psp.payment(authority).getInteger("verifySuccesses"));
    }

    // ---- one key, many concurrent requests ---------------------------------------------------

    @Test
    void concurrentCreatesWithOneKeyOpenOneTopupAndAskTheBankOnce() throws Exception {
        String wallet = api.openWallet("passenger");
        String key = ApiClient.newKey();
        long requestsBefore = psp.stats().getLong("requestCalls");
        List<ApiClient.Response> responses = Concurrently.run(CONCURRENT_CREATES, i -> Topups.create(api, wallet, AMOUNT_RIALS, key));

        int originals = 0;
        Set<String> topupIds = new java.util.HashSet<>();
        Set<String> authorities = new java.util.HashSet<>();
        for (ApiClient.Response r : responses) {
            if (r.status() == 201) {
                if (!"true".equals(r.header("Idempotent-Replayed"))) {
                    originals++;
                }
                topupIds.add(r.json().getString("topupId"));
                authorities.add(r.json().getString("authority"));
            } else {
                assertEquals(409, r.status(), r.text());
                assertEquals("request_in_progress", r.errorCode(), r.text());
            }
        }
        assertEquals(1, originals, "exactly one request ran the step: " + statuses(responses));
        assertEquals(1, topupIds.size(), topupIds.toString());
        assertEquals(1, authorities.size(), authorities.toString());
        assertEquals(1, Sql.count("SELECT count(*) FROM topups WHERE wallet_id = ?", wallet));
        assertEquals(requestsBefore + 1, psp.stats().getLong("requestCalls"), "the bank was asked once");

        // A retry after the storm replays the same top-up.
        ApiClient.Response retried = Topups.create(api, wallet, AMOUNT_RIALS, key);
        assertEquals(201, retried.status(), retried.text());
        assertEquals("true", retried.header("Idempotent-Replayed"));
        assertEquals(topupIds.iterator().next(), retried.json().getString("topupId"));
        assertEquals(requestsBefore + 1, psp.stats().getLong("requestCalls"));
    }

    // ---- many callbacks, one credit ----------------------------------------------------------

    @Test
    void duplicatedAndConcurrentCallbacksCreditOnce() throws Exception {
        String wallet = api.openWallet("passenger");
        JsonObject topup = Topups.createOk(api, wallet, AMOUNT_RIALS);
        String topupId = topup.getString("topupId");
        String authority = topup.getString("authority");
        try {
            psp.faults(TestPsp.defaultFaults().put("duplicateCallbacks", DUPLICATE_CALLBACKS));
            // The simulator sends its 5 callbacks at once; the test adds 3 of its own at the same moment.
            List<Object> answers = Concurrently.run(1 + EXTRA_CALLBACKS, i -> i == 0
                    ? psp.pay(authority, "OK")
                    : Topups.callback(api, authority, "OK"));
            JsonObject paid = (JsonObject) answers.get(0);
            JsonArray callbacks = paid.getJsonArray("callbacks");
            assertEquals(DUPLICATE_CALLBACKS, callbacks.size(), paid.encode());
            for (int i = 0; i < callbacks.size(); i++) {
                assertEquals(200, callbacks.getJsonObject(i).getInteger("status"), paid.encode());
            }
            for (Object answer : answers.subList(1, answers.size())) {
                ApiClient.Response r = (ApiClient.Response) answer;
                assertEquals(200, r.status(), r.text());
                assertTrue(Set.of("REQUESTED", "CALLBACK_RECEIVED", "VERIFYING", "VERIFIED", "CREDITED")
                        .contains(r.json().getString("state")), r.text());
            }
        } finally {
            psp.resetFaults();
        }
        Topups.awaitState(api, topupId, "CREDITED", AWAIT_MILLIS);
        // A few more after the credit change nothing either.
        Concurrently.run(EXTRA_CALLBACKS, i -> api.get(Topups.callbackPath(authority, "OK")));
        assertEquals(AMOUNT_RIALS, api.balance(wallet), "credited exactly once");
        assertEquals(1, Topups.creditTransfers(topupId));
        assertEquals(1, Sql.count("SELECT count(*) FROM transfers WHERE payment_id = ?", topupId));
        assertEquals(1, psp.payment(authority).getInteger("verifySuccesses"));
    }

    // ---- the sweeper -------------------------------------------------------------------------

    @Test
    void lostCallbackIsCreditedByTheSweeper() throws Exception {
        String wallet = api.openWallet("passenger");
        JsonObject topup = Topups.createOk(api, wallet, AMOUNT_RIALS);
        String topupId = topup.getString("topupId");
        String authority = topup.getString("authority");
        try {
            psp.faults(TestPsp.defaultFaults().put("lostCallbackRate", 1.0));
            JsonObject paid = psp.pay(authority, "OK");
            assertEquals(new JsonArray(), paid.getJsonArray("callbacks"), "no callback was sent: " + paid.encode());
        } finally {
            psp.resetFaults();
        }
        JsonObject credited = Topups.awaitState(api, topupId, "CREDITED", AWAIT_MILLIS);
        assertEquals(AMOUNT_RIALS, api.balance(wallet));
        assertEquals(1, Topups.creditTransfers(topupId));
        assertTrue(Topups.historyStates(credited).contains("VERIFIED"), credited.encode());
        assertFalse(Topups.historyStates(credited).contains("CALLBACK_RECEIVED"), "no callback ever came: " + credited.encode());
        assertEquals(1, psp.payment(authority).getInteger("verifySuccesses"));
    }

    /** The bank down at create: 502 psp_unavailable, and nothing of the PSP (host, port, exception) in the answer. */
    @Test
    void aBankThatWillNotOpenThePaymentIs502WithoutItsDetails() throws Exception {
        String wallet = api.openWallet("passenger");
        String key = ApiClient.newKey();
        ApiClient.Response refused;
        try {
            psp.faults(TestPsp.defaultFaults().put("endpoints",
                    new JsonObject().put("request", new JsonObject().put("errorRate", 1.0))));
            refused = Topups.create(api, wallet, AMOUNT_RIALS, key);
        } finally {
            psp.resetFaults();
        }
        assertEquals(502, refused.status(), refused.text());
        assertEquals("psp_unavailable", refused.errorCode());
        String message = refused.json().getJsonObject("error").getString("message");
        String pspAddress = java.net.URI.create(psp.baseUrl()).getAuthority();
        for (String leak : List.of(pspAddress, "127.0.0.1", "Exception", "503", "http")) {
            assertFalse(message.contains(leak), "the 502 names " + leak + ": " + message);
        }
        // A replay under the key answers the same, stored once.
        ApiClient.Response replay = Topups.create(api, wallet, AMOUNT_RIALS, key);
        assertEquals(refused.text(), replay.text());
    }

    @Test
    void pspErrorsDuringVerifyAreRetriedUntilCredited() throws Exception {
        String wallet = api.openWallet("passenger");
        JsonObject topup = Topups.createOk(api, wallet, AMOUNT_RIALS);
        String topupId = topup.getString("topupId");
        String authority = topup.getString("authority");
        try {
            psp.faults(TestPsp.defaultFaults().put("endpoints",
                    new JsonObject().put("verify", new JsonObject().put("errorRate", 1.0))));
            JsonObject paid = psp.pay(authority, "OK");
            assertEquals(200, paid.getJsonArray("callbacks").getJsonObject(0).getInteger("status"), paid.encode());
            // The cardholder's page (asked again, as JSON) says it is being verified; nothing is credited.
            ApiClient.Response answer = Topups.callback(api, authority, "OK");
            assertEquals(200, answer.status(), answer.text());
            assertTrue(Set.of("VERIFYING", "CALLBACK_RECEIVED").contains(answer.json().getString("state")), answer.text());
            JsonObject now = Topups.view(api, topupId);
            assertTrue(Set.of("VERIFYING", "CALLBACK_RECEIVED").contains(now.getString("state")), now.encode());
            assertTrue(now.getInteger("verifyAttempts") >= 1, now.encode());
            assertEquals(0, api.balance(wallet));
            assertEquals(0, Topups.creditTransfers(topupId));
            assertEquals("PAID", psp.payment(authority).getString("status"), "no verify reached the bank");
            awaitVerifyNoAnswerShown(topupId);
        } finally {
            psp.resetFaults();
        }
        assertCreditedOnceAfterRetries(wallet, topupId, authority);
    }

    @Test
    void pspTimeoutsDuringVerifyAreRetriedUntilCredited() throws Exception {
        String wallet = api.openWallet("passenger");
        JsonObject topup = Topups.createOk(api, wallet, AMOUNT_RIALS);
        String topupId = topup.getString("topupId");
        String authority = topup.getString("authority");
        try {
            psp.faults(TestPsp.defaultFaults().put("endpoints",
                    new JsonObject().put("verify", new JsonObject().put("timeoutRate", 1.0))));
            // The gateway's verify waits 5 s per attempt (3 attempts), so the simulator gives up on its
            // callback after its own 10 s and answers the payer; the top-up is still being verified.
            JsonObject paid = psp.pay(authority, "OK");
            assertEquals("PAID", paid.getString("status"), paid.encode());
            JsonObject now = Topups.view(api, topupId);
            assertTrue(Set.of("VERIFYING", "CALLBACK_RECEIVED").contains(now.getString("state")), now.encode());
            assertEquals(0, api.balance(wallet));
            assertEquals(0, Topups.creditTransfers(topupId));
            assertEquals("PAID", psp.payment(authority).getString("status"), "no verify reached the bank");
            awaitVerifyNoAnswerShown(topupId);
        } finally {
            psp.resetFaults();
        }
        assertCreditedOnceAfterRetries(wallet, topupId, authority);
    }

    /** What support sees while a verify the bank did not answer waits for its retry: the attempt, and why it waits. */
    private static void awaitVerifyNoAnswerShown(String topupId) {
        JsonObject waiting = Awaitility.await().atMost(Duration.ofMillis(PSP_DOWN_AWAIT_MILLIS))
                .until(() -> Topups.view(api, topupId), v -> TopupService.VERIFY_NO_ANSWER.equals(v.getString("lastError")));
        assertTrue(waiting.getInteger("verifyAttempts") >= 1, waiting.encode());
    }

    /**
     * Credited once, by one verify at the bank, after verifies it did not answer: each attempt counted, the last error
     * kept on record, and no state repeated in the history (an unanswered verify is no change of state).
     */
    private static void assertCreditedOnceAfterRetries(String wallet, String topupId, String authority) throws Exception {
        JsonObject credited = Topups.awaitState(api, topupId, "CREDITED", PSP_DOWN_AWAIT_MILLIS);
        assertEquals(AMOUNT_RIALS, api.balance(wallet));
        assertEquals(1, Topups.creditTransfers(topupId));
        assertEquals(1, psp.payment(authority).getInteger("verifySuccesses"));
        assertTrue(credited.getInteger("verifyAttempts") >= 2, "retried: " + credited.encode());
        assertEquals(TopupService.VERIFY_NO_ANSWER, credited.getString("lastError"), "the last error stays on record");
        for (Object row : credited.getJsonArray("history")) {
            assertTrue(((JsonObject) row).containsKey("cause"), "a history row without its cause: " + row);
        }
        List<String> states = Topups.historyStates(credited);
        assertEquals(states.stream().distinct().toList(), states, "no state repeated: " + states);
    }

    // ---- no credit ---------------------------------------------------------------------------

    @Test
    void cancelledPaymentFails() throws Exception {
        String wallet = api.openWallet("passenger");
        JsonObject topup = Topups.createOk(api, wallet, AMOUNT_RIALS);
        String topupId = topup.getString("topupId");
        String authority = topup.getString("authority");
        JsonObject cancelled = psp.pay(authority, "NOK");
        assertEquals("FAILED", cancelled.getString("status"), cancelled.encode());
        JsonObject failed = Topups.awaitState(api, topupId, "FAILED", AWAIT_MILLIS);
        assertEquals("cancelled_by_cardholder", failed.getString("lastError"), failed.encode());

        ApiClient.Response answer = Topups.callback(api, authority, "NOK");
        assertEquals(200, answer.status(), answer.text());
        assertEquals("FAILED", answer.json().getString("state"), answer.text());
        ApiClient.Response html = api.get(Topups.callbackPath(authority, "NOK"));
        assertEquals(200, html.status(), html.text());
        assertTrue(html.text().contains("FAILED"), html.text());
        assertEquals(0, api.balance(wallet));
        assertEquals(0, Topups.creditTransfers(topupId));
        assertEquals(0, psp.payment(authority).getInteger("verifySuccesses"));
    }

    @Test
    void amountMismatchFailsWithAnAlertAndNoCredit() throws Exception {
        String wallet = api.openWallet("passenger");
        JsonObject topup = Topups.createOk(api, wallet, AMOUNT_RIALS);
        String topupId = topup.getString("topupId");
        String authority = topup.getString("authority");
        // Our stored amount no longer matches the bank's: our verify asks for another amount.
        assertEquals(1, Sql.update("UPDATE topups SET amount_rials = amount_rials + 1 WHERE topup_id = ?", topupId));

        psp.pay(authority, "OK");
        JsonObject failed = Topups.awaitState(api, topupId, "FAILED", AWAIT_MILLIS);
        assertEquals("amount_mismatch", failed.getString("lastError"), failed.encode());
        assertEquals(0, api.balance(wallet));
        assertEquals(0, Topups.creditTransfers(topupId));
        JsonObject atBank = psp.payment(authority);
        assertEquals(0, atBank.getInteger("verifySuccesses"), atBank.encode());
        assertEquals("PAID", atBank.getString("status"), atBank.encode());

        ApiClient.Response metrics = api.get("/metrics");
        assertEquals(200, metrics.status());
        Matcher m = Pattern.compile("(?m)^taraz_psp_amount_mismatch_total(?:\\{[^}]*})? ([0-9.eE+]+)$").matcher(metrics.text());
        assertTrue(m.find(), "taraz_psp_amount_mismatch_total missing from /metrics");
        assertTrue(Double.parseDouble(m.group(1)) >= 1.0, m.group());
    }

    @Test
    void forgedCallbacksCreditNothing() throws Exception {
        // An authority no top-up has.
        ApiClient.Response unknown = Topups.callback(api, Topups.randomAuthority(), "OK");
        assertEquals(404, unknown.status(), unknown.text());
        assertTrue(unknown.header("Content-Type").startsWith("application/json"), unknown.header("Content-Type"));
        assertEquals("topup_not_found", unknown.errorCode(), unknown.text());

        // Status=OK for a payment the cardholder never made.
        String wallet = api.openWallet("passenger");
        JsonObject topup = Topups.createOk(api, wallet, AMOUNT_RIALS);
        String topupId = topup.getString("topupId");
        String authority = topup.getString("authority");
        ApiClient.Response forged = Topups.callback(api, authority, "OK");
        assertEquals(200, forged.status(), forged.text());
        assertEquals("REQUESTED", forged.json().getString("state"), forged.text());
        assertEquals("REQUESTED", Topups.view(api, topupId).getString("state"));
        assertEquals(0, api.balance(wallet));
        assertEquals("IN_BANK", psp.payment(authority).getString("status"));

        // Malformed callbacks.
        for (String query : List.of("?Authority=" + authority, "?Authority=" + authority + "&Status=MAYBE",
                "?Status=OK", "?Authority=" + authority + "%27%3B--&Status=OK")) {
            ApiClient.Response bad = api.get(Topups.CALLBACK + query, Topups.ACCEPT_JSON);
            assertEquals(400, bad.status(), query + ": " + bad.text());
            assertEquals("invalid_callback", bad.errorCode(), query + ": " + bad.text());
        }
        assertEquals("REQUESTED", Topups.view(api, topupId).getString("state"));

        // The real payment still goes through, once.
        psp.pay(authority, "OK");
        Topups.awaitState(api, topupId, "CREDITED", AWAIT_MILLIS);
        assertEquals(AMOUNT_RIALS, api.balance(wallet));
        assertEquals(1, Topups.creditTransfers(topupId));
        assertEquals(1, psp.payment(authority).getInteger("verifySuccesses"));
    }

    // ---- bad input ---------------------------------------------------------------------------

    @Test
    void badCreateRequestsWriteNothing() throws Exception {
        String wallet = api.openWallet("passenger");
        String driver = api.openWallet("driver");
        String missing = ApiClient.newId("w");
        long requestsBefore = psp.stats().getLong("requestCalls");

        assertRefused(400, "invalid_amount", "{\"walletId\":\"" + wallet + "\",\"amount\":0}");
        assertRefused(400, "invalid_amount", "{\"walletId\":\"" + wallet + "\",\"amount\":-50000}");
        assertRefused(400, "invalid_amount", "{\"walletId\":\"" + wallet + "\",\"amount\":50000.5}");
        assertRefused(400, "invalid_amount", "{\"walletId\":\"" + wallet + "\",\"amount\":\"50000\"}");
        assertRefused(400, "invalid_field", "{\"walletId\":\"" + wallet + "\",\"amount\":50000,\"gateway\":\"mellat\"}");
        assertRefused(404, "wallet_not_found", "{\"walletId\":\"" + missing + "\",\"amount\":50000}");
        assertRefused(422, "wallet_kind_mismatch", "{\"walletId\":\"" + driver + "\",\"amount\":50000}");

        for (String w : List.of(wallet, driver, missing)) {
            assertEquals(0, Sql.count("SELECT count(*) FROM topups WHERE wallet_id = ?", w), w);
        }
        assertEquals(requestsBefore, psp.stats().getLong("requestCalls"), "the bank was never asked");
        assertEquals(0, api.balance(wallet));
        assertEquals(0, api.balance(driver));

        // The explicit gateway of the contract is accepted.
        ApiClient.Response ok = api.post("/v1/topups", ApiClient.newKey(), "{\"walletId\":\"" + wallet
                + "\",\"amount\":50000,\"gateway\":\"zarinpal\"}");
        assertEquals(201, ok.status(), ok.text());
    }

    private static void assertRefused(int status, String code, String body) {
        ApiClient.Response r = api.post("/v1/topups", ApiClient.newKey(), body);
        assertEquals(status, r.status(), body + " -> " + r.text());
        assertEquals(code, r.errorCode(), body + " -> " + r.text());
    }

    // ---- helpers -----------------------------------------------------------------------------

    private static String statuses(List<ApiClient.Response> responses) {
        List<String> s = new ArrayList<>();
        responses.forEach(r -> s.add(r.status() + ("true".equals(r.header("Idempotent-Replayed")) ? "R" : "")));
        return s.toString();
    }
}
