package taraz.topup;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import taraz.support.ApiClient;
import taraz.support.Concurrently;
import taraz.support.Sql;
import taraz.support.TestGateway;
import taraz.support.TestPsp;
import taraz.support.Topups;

import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 9, items 6 and 8, the callback's parts: an unknown authority costs one indexed read and
 * no call to the bank; concurrent callbacks for one top-up share one run (one verify, one
 * inquiry at most, one credit); {@code topup_history} records only real changes of state; the
 * public answer shows the state and a message, nothing else.
 */
class TopupCallbackTest {

    private static final long AMOUNT_RIALS = 30_000;
    private static final long AWAIT_MILLIS = 15_000;
    private static final int DUPLICATES = 10;
    private static final int FORGED = 10;
    private static final int UNKNOWN_CALLBACKS = 5;
    private static final int VERIFY_RETRIES = 3;
    /** Slow bank answers keep the first run going while every concurrent callback arrives. */
    private static final long SLOW_BANK_MILLIS = 500;

    private static ApiClient api;
    private static TestPsp psp;

    @BeforeAll
    static void gateway() {
        TestGateway gateway = TestGateway.get();
        api = gateway.api();
        psp = gateway.psp();
    }

    @Test
    void unknownAuthorityCostsOneIndexedReadAndNoBankCall() throws Exception {
        assertEquals(1, Sql.count("SELECT count(*) FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
                + "AND a.attnum = i.indkey[0] WHERE i.indrelid = 'topups'::regclass AND a.attname = 'authority'"),
                "callbacks find their top-up through an index on authority");
        long before = psp.stats().getLong("unknownAuthorityCalls");
        for (int i = 0; i < UNKNOWN_CALLBACKS; i++) {
            ApiClient.Response r = Topups.callback(api, Topups.randomAuthority(), i % 2 == 0 ? "OK" : "NOK");
            assertEquals(404, r.status(), r.text());
            assertEquals("topup_not_found", r.errorCode(), r.text());
        }
        assertEquals(before, psp.stats().getLong("unknownAuthorityCalls"), "the bank was never asked about them");
    }

    /**
     * The bank sends its callback ten times, and ten forged NOKs arrive with them, while the bank
     * answers slowly: one run drives the top-up, so the bank sees one verify and at most one
     * inquiry, and the wallet one credit.
     */
    @Test
    void concurrentCallbacksShareOneRun() throws Exception {
        String wallet = api.openWallet("passenger");
        JsonObject topup = Topups.createOk(api, wallet, AMOUNT_RIALS);
        String topupId = topup.getString("topupId");
        String authority = topup.getString("authority");
        try {
            psp.faults(TestPsp.defaultFaults().put("duplicateCallbacks", DUPLICATES).put("endpoints", new JsonObject()
                    .put("verify", new JsonObject().put("latencyMillis", SLOW_BANK_MILLIS))
                    .put("inquiry", new JsonObject().put("latencyMillis", SLOW_BANK_MILLIS))));
            List<Object> answers = Concurrently.run(1 + FORGED, i -> i == 0
                    ? psp.pay(authority, "OK")
                    : Topups.callback(api, authority, "NOK"));
            JsonObject paid = (JsonObject) answers.get(0);
            assertEquals(DUPLICATES, paid.getJsonArray("callbacks").size(), paid.encode());
            for (Object answer : answers.subList(1, answers.size())) {
                assertEquals(200, ((ApiClient.Response) answer).status(), ((ApiClient.Response) answer).text());
            }
        } finally {
            psp.resetFaults();
        }
        Topups.awaitState(api, topupId, "CREDITED", AWAIT_MILLIS);
        JsonObject atBank = psp.payment(authority);
        assertEquals(1, atBank.getInteger("verifyCalls"), "one verify at the bank: " + atBank.encode());
        assertTrue(atBank.getInteger("inquiryCalls") <= 1, "at most one inquiry: " + atBank.encode());
        assertEquals(AMOUNT_RIALS, api.balance(wallet), "credited exactly once");
        assertEquals(1, Topups.creditTransfers(topupId));
    }

    /** The bank's verify fails again and again before it answers: each retry is no new state in the history. */
    @Test
    void historyRecordsOnlyRealChangesOfState() throws Exception {
        String wallet = api.openWallet("passenger");
        JsonObject topup = Topups.createOk(api, wallet, AMOUNT_RIALS);
        String topupId = topup.getString("topupId");
        String authority = topup.getString("authority");
        try {
            psp.faults(TestPsp.defaultFaults().put("endpoints",
                    new JsonObject().put("verify", new JsonObject().put("errorRate", 1.0))));
            psp.pay(authority, "OK");
            for (int i = 0; i < VERIFY_RETRIES; i++) {
                assertEquals(200, Topups.callback(api, authority, "OK").status());
            }
            assertTrue(Topups.view(api, topupId).getInteger("verifyAttempts") > VERIFY_RETRIES,
                    "the verify was retried: " + Topups.view(api, topupId).encode());
        } finally {
            psp.resetFaults();
        }
        Topups.callback(api, authority, "OK");
        JsonObject credited = Topups.awaitState(api, topupId, "CREDITED", AWAIT_MILLIS);
        List<String> states = Topups.historyStates(credited);
        for (int i = 1; i < states.size(); i++) {
            assertNotEquals(states.get(i - 1), states.get(i), "a repeated state at " + i + ": " + states);
        }
        assertEquals(List.of("CREATED", "REQUESTED", "CALLBACK_RECEIVED", "VERIFYING", "VERIFIED", "CREDITED"), states);
        assertEquals(1, Topups.creditTransfers(topupId));
    }

    /** A browser gets every answer of the callback as a page, a refusal too; JSON only when it asks for JSON. */
    @Test
    void aBrowserGetsRefusalsAsAPage() {
        for (String accept : List.of("", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")) {
            Map<String, String> headers = accept.isEmpty() ? Map.of() : Map.of("Accept", accept);
            ApiClient.Response unknown = api.get(Topups.callbackPath(Topups.randomAuthority(), "OK"), headers);
            assertEquals(404, unknown.status(), unknown.text());
            assertPage(unknown, "error topup_not_found");
            ApiClient.Response badQuery = api.get("/v1/psp/zarinpal/callback?Status=OK", headers);
            assertEquals(400, badQuery.status(), badQuery.text());
            assertPage(badQuery, "error ");
        }
        ApiClient.Response json = api.get("/v1/psp/zarinpal/callback?Status=OK", Topups.ACCEPT_JSON);
        assertEquals(400, json.status(), json.text());
        assertTrue(json.header("Content-Type").startsWith("application/json"), json.header("Content-Type"));
        assertNotNull(json.errorCode(), json.text());
    }

    private static void assertPage(ApiClient.Response r, String status) {
        assertTrue(r.header("Content-Type").startsWith("text/html"), r.header("Content-Type"));
        assertTrue(r.text().startsWith("<!doctype html>") && r.text().contains(status), r.text());
    }

    /** Anyone who knows an authority may call the callback: it learns the state, and nothing else. */
    @Test
    void callbackAnswerShowsTheStateAndNothingElse() throws Exception {
        String wallet = api.openWallet("passenger");
        JsonObject topup = Topups.createOk(api, wallet, AMOUNT_RIALS);
        String topupId = topup.getString("topupId");
        String authority = topup.getString("authority");
        assertOnlyState(authority, topupId, wallet, "REQUESTED");

        psp.pay(authority, "OK", "4242");
        JsonObject credited = Topups.awaitState(api, topupId, "CREDITED", AWAIT_MILLIS);
        assertOnlyState(authority, topupId, wallet, "CREDITED");
        ApiClient.Response html = api.get(Topups.callbackPath(authority, "OK"));
        for (String secret : List.of(credited.getString("cardPan"), credited.getString("refId"), "4242")) {
            assertFalse(html.text().contains(secret), secret + " leaked: " + html.text());
        }
    }

    private static void assertOnlyState(String authority, String topupId, String wallet, String state) {
        ApiClient.Response json = Topups.callback(api, authority, "OK");
        assertEquals(200, json.status(), json.text());
        assertEquals(Set.of("state", "message"), json.json().fieldNames(), json.text());
        assertEquals(state, json.json().getString("state"), json.text());
        ApiClient.Response html = api.get(Topups.callbackPath(authority, "OK"));
        assertEquals(200, html.status(), html.text());
        assertTrue(html.text().contains(state), html.text());
        for (String secret : List.of(topupId, wallet, Long.toString(AMOUNT_RIALS), authority)) {
            assertFalse(html.text().contains(secret), secret + " leaked: " + html.text());
            assertFalse(json.text().contains(secret), secret + " leaked: " + json.text());
        }
    }
}
