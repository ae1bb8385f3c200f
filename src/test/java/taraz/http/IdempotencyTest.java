package taraz.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import taraz.support.ApiClient;
import taraz.support.TestGateway;

import static taraz.support.Sql.count;
import static taraz.support.Sql.update;

/** Stripe's idempotency semantics over HTTP: replay, mismatch, in progress, lease takeover, races. */
class IdempotencyTest {

    static final long FUNDS = 1_000_000;
    static final long FARE = 120_000;
    static final long COMMISSION = 20_000;

    static ApiClient api;

    @BeforeAll
    static void setUp() {
        TestGateway gateway = TestGateway.get();
        api = gateway.api();
    }

    record Parties(String passenger, String driver) {}

    static Parties parties() {
        String passenger = api.openWallet("passenger");
        String driver = api.openWallet("driver");
        api.fund(passenger, FUNDS);
        return new Parties(passenger, driver);
    }

    static JsonObject settleBody(Parties parties, long fare, long commission) {
        return new JsonObject().put("passengerWalletId", parties.passenger()).put("driverWalletId", parties.driver())
                .put("fare", fare).put("commission", commission);
    }

    static void assertChargedOnce(Parties parties) {
        assertEquals(FUNDS - FARE, api.balance(parties.passenger()), "passenger charged once");
        assertEquals(FUNDS - FARE, api.available(parties.passenger()));
        assertEquals(FARE - COMMISSION, api.balance(parties.driver()), "driver paid once");
    }

    static void assertUntouched(Parties parties) {
        assertEquals(FUNDS, api.balance(parties.passenger()));
        assertEquals(FUNDS, api.available(parties.passenger()));
        assertEquals(0, api.balance(parties.driver()));
    }

    @Test
    void theSameRequestIsReplayed() throws Exception {
        Parties parties = parties();
        String trip = ApiClient.newId("trip");
        String key = ApiClient.newKey();
        String path = "/v1/trips/" + trip + "/settle";

        ApiClient.Response first = api.post(path, key, settleBody(parties, FARE, COMMISSION));
        assertEquals(200, first.status(), first.text());
        assertEquals("SETTLED", first.json().getString("state"));
        assertNull(first.header("Idempotent-Replayed"));

        ApiClient.Response again = api.post(path, key, settleBody(parties, FARE, COMMISSION));
        assertEquals(first.status(), again.status());
        assertEquals(first.text(), again.text());
        assertEquals("true", again.header("Idempotent-Replayed"));

        // The same body with its fields in another order is the same request.
        String reordered = "{\"commission\":" + COMMISSION + ",\"fare\":" + FARE + ",\"driverWalletId\":\""
                + parties.driver() + "\",\"passengerWalletId\":\"" + parties.passenger() + "\"}";
        ApiClient.Response reorderedReply = api.post(path, key, reordered);
        assertEquals(200, reorderedReply.status(), reorderedReply.text());
        assertEquals(first.text(), reorderedReply.text());
        assertEquals("true", reorderedReply.header("Idempotent-Replayed"));

        assertChargedOnce(parties);
        assertEquals(1, count("SELECT count(*) FROM transfers WHERE payment_id = ?", trip));
    }

    /**
     * The contract types the key as text: one that reads as JSON (a negative number, a quoted string, an array) is a
     * key like any other. It is never decoded as JSON, which would make it a number a string schema refuses, or strip
     * its quotes.
     */
    @Test
    void aKeyThatReadsAsJsonIsAKeyLikeAnyOther() throws Exception {
        long n = System.nanoTime();
        for (String key : List.of("-" + n, "\"" + n + "\"", "[" + n + "]")) {
            Parties parties = parties();
            String path = "/v1/trips/" + ApiClient.newId("trip") + "/settle";
            ApiClient.Response first = api.post(path, key, settleBody(parties, FARE, COMMISSION));
            assertEquals(200, first.status(), key + ": " + first.text());
            ApiClient.Response again = api.post(path, key, settleBody(parties, FARE, COMMISSION));
            assertEquals("true", again.header("Idempotent-Replayed"), key);
            assertChargedOnce(parties);
        }
    }

    @Test
    void theSameKeyWithAnotherBodyIsRefused() throws Exception {
        Parties parties = parties();
        String trip = ApiClient.newId("trip");
        String key = ApiClient.newKey();
        String path = "/v1/trips/" + trip + "/settle";
        ApiClient.Response first = api.post(path, key, settleBody(parties, FARE, COMMISSION));
        assertEquals(200, first.status(), first.text());

        ApiClient.Response other = api.post(path, key, settleBody(parties, FARE + 1, COMMISSION));
        assertEquals(422, other.status(), other.text());
        assertEquals("idempotency_key_reused", other.errorCode());
        assertNull(other.header("Idempotent-Replayed"));

        assertChargedOnce(parties);
        ApiClient.Response view = api.get("/v1/trips/" + trip);
        assertEquals(FARE, view.json().getLong("fare"));
    }

    @Test
    void theSameKeyOnAnotherPathIsRefused() throws Exception {
        Parties parties = parties();
        String trip = ApiClient.newId("trip");
        String otherTrip = ApiClient.newId("trip");
        String key = ApiClient.newKey();
        ApiClient.Response first = api.post("/v1/trips/" + trip + "/settle", key, settleBody(parties, FARE, COMMISSION));
        assertEquals(200, first.status(), first.text());

        ApiClient.Response otherPath = api.post("/v1/trips/" + otherTrip + "/settle", key, settleBody(parties, FARE, COMMISSION));
        assertEquals(422, otherPath.status(), otherPath.text());
        assertEquals("idempotency_key_reused", otherPath.errorCode());

        ApiClient.Response otherOperation = api.post("/v1/trips/" + trip + "/cancel", key, (String) null);
        assertEquals(422, otherOperation.status(), otherOperation.text());
        assertEquals("idempotency_key_reused", otherOperation.errorCode());

        assertChargedOnce(parties);
        assertEquals(404, api.get("/v1/trips/" + otherTrip).status());
        assertEquals("SETTLED", api.get("/v1/trips/" + trip).json().getString("state"));
    }

    @Test
    void aBusinessErrorIsReplayedToo() throws Exception {
        String passenger = api.openWallet("passenger");
        api.fund(passenger, 1_000);
        String trip = ApiClient.newId("trip");
        String key = ApiClient.newKey();
        String path = "/v1/trips/" + trip + "/hold";
        JsonObject body = new JsonObject().put("passengerWalletId", passenger).put("amount", 5_000L);

        ApiClient.Response first = api.post(path, key, body);
        assertEquals(402, first.status(), first.text());
        assertEquals("insufficient_funds", first.errorCode());

        api.fund(passenger, 10_000);
        assertEquals(11_000, api.available(passenger));

        ApiClient.Response again = api.post(path, key, body);
        assertEquals(402, again.status(), again.text());
        assertEquals(first.text(), again.text());
        assertEquals("true", again.header("Idempotent-Replayed"));

        assertEquals(11_000, api.balance(passenger));
        assertEquals(11_000, api.available(passenger));
        assertEquals(0, count("SELECT count(*) FROM holds WHERE account_id = ?", passenger));
        assertEquals(0, count("SELECT count(*) FROM trips WHERE trip_id = ?", trip));
        assertEquals(404, api.get("/v1/trips/" + trip).status());

        // A new key runs the request, now that the funds are there.
        ApiClient.Response fresh = api.post(path, ApiClient.newKey(), body);
        assertEquals(200, fresh.status(), fresh.text());
        assertEquals(6_000, api.available(passenger));
    }

    @Test
    void aRequestStillRunningElsewhereIsInProgress() throws Exception {
        Parties parties = parties();
        String trip = ApiClient.newId("trip");
        String key = ApiClient.newKey();
        String path = "/v1/trips/" + trip + "/settle";
        ApiClient.Response first = api.post(path, key, settleBody(parties, FARE, COMMISSION));
        assertEquals(200, first.status(), first.text());

        assertEquals(1, update("UPDATE idempotency_keys SET state = 'in_progress', response_status = NULL, "
                + "response_body = NULL, owner = 'other-node', locked_until = now() + interval '1 hour' WHERE key = ?", key));

        ApiClient.Response busy = api.post(path, key, settleBody(parties, FARE, COMMISSION));
        assertEquals(409, busy.status(), busy.text());
        assertEquals("request_in_progress", busy.errorCode());
        assertNotNull(busy.header("Retry-After"), "Retry-After");
        assertTrue(Integer.parseInt(busy.header("Retry-After").trim()) >= 1, busy.header("Retry-After"));

        // A different body under the live claim is still a mismatch, not "in progress".
        ApiClient.Response other = api.post(path, key, settleBody(parties, FARE + 1, COMMISSION));
        assertEquals(422, other.status(), other.text());
        assertEquals("idempotency_key_reused", other.errorCode());

        // The claim is untouched: still the other node's.
        assertEquals(1, count("SELECT count(*) FROM idempotency_keys WHERE key = ? AND owner = 'other-node' "
                + "AND state = 'in_progress'", key));
        assertChargedOnce(parties);
    }

    @Test
    void anExpiredLeaseIsTakenOverAndRunsAgainOnce() throws Exception {
        Parties parties = parties();
        String trip = ApiClient.newId("trip");
        String key = ApiClient.newKey();
        String path = "/v1/trips/" + trip + "/settle";
        ApiClient.Response first = api.post(path, key, settleBody(parties, FARE, COMMISSION));
        assertEquals(200, first.status(), first.text());

        assertEquals(1, update("UPDATE idempotency_keys SET state = 'in_progress', response_status = NULL, "
                + "response_body = NULL, owner = 'other-node', locked_until = now() - interval '1 second' WHERE key = ?", key));

        ApiClient.Response rerun = api.post(path, key, settleBody(parties, FARE, COMMISSION));
        assertEquals(200, rerun.status(), rerun.text());
        assertNull(rerun.header("Idempotent-Replayed"), "it ran again, it was not replayed");
        ApiClient.Response view = api.get("/v1/trips/" + trip);
        assertEquals(200, view.status());
        assertEquals(view.json(), rerun.json());
        assertEquals("SETTLED", rerun.json().getString("state"));

        // The key is ours now, and done: the next identical request replays the rerun.
        assertEquals(1, count("SELECT count(*) FROM idempotency_keys WHERE key = ? AND state = 'done' "
                + "AND owner <> 'other-node' AND response_status = 200", key));
        ApiClient.Response replay = api.post(path, key, settleBody(parties, FARE, COMMISSION));
        assertEquals(200, replay.status());
        assertEquals("true", replay.header("Idempotent-Replayed"));
        assertEquals(rerun.text(), replay.text());

        assertChargedOnce(parties);
        assertEquals(1, count("SELECT count(*) FROM transfers WHERE payment_id = ?", trip));
    }

    @Test
    void concurrentIdenticalRequestsChargeOnce() throws Exception {
        Parties parties = parties();
        String trip = ApiClient.newId("trip");
        String key = ApiClient.newKey();
        String path = "/v1/trips/" + trip + "/settle";
        String body = settleBody(parties, FARE, COMMISSION).encode();
        int requests = 20;

        ExecutorService pool = Executors.newFixedThreadPool(requests);
        List<ApiClient.Response> responses = new ArrayList<>();
        try {
            CountDownLatch start = new CountDownLatch(1);
            List<Callable<ApiClient.Response>> calls = new ArrayList<>();
            for (int i = 0; i < requests; i++) {
                calls.add(() -> {
                    start.await(30, TimeUnit.SECONDS);
                    return api.post(path, key, body);
                });
            }
            List<Future<ApiClient.Response>> futures = new ArrayList<>();
            for (Callable<ApiClient.Response> call : calls) {
                futures.add(pool.submit(call));
            }
            start.countDown();
            for (Future<ApiClient.Response> future : futures) {
                responses.add(future.get(90, TimeUnit.SECONDS));
            }
        } finally {
            pool.shutdownNow();
            assertTrue(pool.awaitTermination(30, TimeUnit.SECONDS));
        }

        String original = null;
        int ok = 0;
        for (ApiClient.Response r : responses) {
            if (r.status() == 200) {
                ok++;
                assertEquals("SETTLED", r.json().getString("state"), r.text());
                if (original == null) {
                    original = r.text();
                }
                assertEquals(original, r.text(), "every 200 is the same response");
            } else {
                assertEquals(409, r.status(), r.text());
                assertEquals("request_in_progress", r.errorCode());
                assertNotNull(r.header("Retry-After"));
            }
        }
        assertTrue(ok >= 1, "at least one request ran: " + responses);
        long originals = responses.stream().filter(r -> r.status() == 200 && r.header("Idempotent-Replayed") == null).count();
        assertEquals(1, originals, "exactly one request ran, the other 200s are replays");

        assertChargedOnce(parties);
        assertEquals(1, count("SELECT count(*) FROM transfers WHERE payment_id = ?", trip));
        ApiClient.Response after = api.post(path, key, body);
        assertEquals(200, after.status(), after.text());
        assertEquals("true", after.header("Idempotent-Replayed"));
    }

    // ---- JDBC ------------------------------------------------------------------------------



}
