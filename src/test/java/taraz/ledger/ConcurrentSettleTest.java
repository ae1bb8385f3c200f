package taraz.ledger;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.awaitility.core.ConditionTimeoutException;
import taraz.support.ApiClient;
import taraz.support.Sql;
import taraz.support.TestGateway;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntFunction;
import java.util.function.IntPredicate;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Many requests for one trip (or one wallet) at once, released together by a start gate: a
 * trip is charged at most once whatever the keys and bodies, and holds never reserve more than
 * a wallet has.
 */
class ConcurrentSettleTest {

    private static final int THREADS = 50;
    private static final long GATE_TIMEOUT_SECONDS = 30;
    private static final long RUN_TIMEOUT_SECONDS = 120;
    private static final long FUNDED = 1_000_000;
    private static final long FARE = 150_000;
    private static final long COMMISSION = 30_000;
    /** PostgreSQL's statistics (its deadlock count) arrive within a second or so. */
    private static final Duration STATISTICS_WAIT = Duration.ofSeconds(3);

    private static ApiClient api;
    private static Connection sql;

    @BeforeAll
    static void start() throws SQLException {
        TestGateway gateway = TestGateway.get();
        api = gateway.api();
        sql = Sql.connect();
    }

    @AfterAll
    static void stop() throws SQLException {
        if (sql != null) {
            sql.close();
        }
    }

    private record Parties(String passenger, String driver) {}

    private static Parties parties(long funded) {
        Parties p = new Parties(api.openWallet("passenger"), api.openWallet("driver"));
        if (funded > 0) {
            api.fund(p.passenger, funded);
        }
        return p;
    }

    private static JsonObject settleBody(Parties p, long fare, long commission) {
        return new JsonObject().put("passengerWalletId", p.passenger).put("driverWalletId", p.driver)
                .put("fare", fare).put("commission", commission);
    }

    /** Runs {@code n} requests at once (a start gate, a bounded pool) and returns the answers in order. */
    private static List<ApiClient.Response> concurrently(int n, IntFunction<ApiClient.Response> request) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(Math.min(n, THREADS));
        try {
            CountDownLatch ready = new CountDownLatch(n);
            CountDownLatch go = new CountDownLatch(1);
            List<Future<ApiClient.Response>> futures = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                int index = i;
                futures.add(pool.submit(() -> {
                    ready.countDown();
                    if (!go.await(GATE_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                        throw new IllegalStateException("start gate never opened");
                    }
                    return request.apply(index);
                }));
            }
            assertTrue(ready.await(GATE_TIMEOUT_SECONDS, TimeUnit.SECONDS), "threads did not reach the start gate");
            go.countDown();
            List<ApiClient.Response> responses = new ArrayList<>();
            for (Future<ApiClient.Response> f : futures) {
                responses.add(f.get(RUN_TIMEOUT_SECONDS, TimeUnit.SECONDS));
            }
            return responses;
        } finally {
            pool.shutdownNow();
            assertTrue(pool.awaitTermination(RUN_TIMEOUT_SECONDS, TimeUnit.SECONDS), "request threads did not end");
        }
    }

    private static String describe(List<ApiClient.Response> responses) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < responses.size(); i++) {
            ApiClient.Response r = responses.get(i);
            s.append("\n  #").append(i).append(' ').append(r.status()).append(' ').append(r.text());
        }
        return s.toString();
    }

    /** The trip was settled once: one transfer, balanced, and the wallets moved once. */
    private static void assertChargedOnce(String tripId, Parties p, long funded, long fare, long commission)
            throws SQLException {
        String at = "trip " + tripId;
        assertEquals(funded - fare, api.balance(p.passenger), at + ": passenger debited once");
        assertEquals(funded - fare, api.available(p.passenger), at + ": passenger holds nothing");
        assertEquals(fare - commission, api.balance(p.driver), at + ": driver credited once");
        assertEquals(1, Sql.count(sql, "SELECT count(*) FROM transfers WHERE payment_id = ?", tripId), at + ": transfers");
        assertEquals(3, Sql.count(sql, "SELECT count(*) FROM entries WHERE transfer_id = 'trip:' || ? || ':settle'", tripId),
                at + ": entries of the settlement");
        assertEquals(0, Sql.count(sql, "SELECT coalesce(sum(amount_rials), 0) FROM entries WHERE transfer_id = 'trip:' || ? || ':settle'",
                tripId), at + ": the settlement balances");
        assertEquals(commission, Sql.count(sql, "SELECT coalesce(sum(e.amount_rials), 0) FROM entries e JOIN transfers t "
                + "ON t.id = e.transfer_id WHERE t.payment_id = ? AND e.account_id = '" + AccountKind.PLATFORM_COMMISSION_ID + "'",
                tripId), at + ": platform commission credited once");
        assertEquals(-fare, Sql.count(sql, "SELECT coalesce(sum(e.amount_rials), 0) FROM entries e JOIN transfers t "
                + "ON t.id = e.transfer_id WHERE t.payment_id = ? AND e.account_id = '" + p.passenger + "'", tripId), at);
        assertEquals(List.of("trip:" + tripId + ":settle"), Sql.column(sql, "SELECT transfer_id FROM entries "
                + "WHERE account_id = ? AND transfer_id NOT LIKE 'adj_%'", p.passenger), at + ": the passenger's debits");
        JsonObject trip = api.get("/v1/trips/" + tripId).json();
        assertEquals("SETTLED", trip.getString("state"), at);
        assertEquals(fare, trip.getLong("fare"), at);
        assertEquals(commission, trip.getLong("commission"), at);
        Sql.assertLedgerAddsUp(sql, at);
    }

    @Test
    void sameKeySettlesOnce() throws Exception {
        Parties p = parties(FUNDED);
        String tripId = ApiClient.newId("cs-samekey");
        String key = ApiClient.newKey();
        String body = settleBody(p, FARE, COMMISSION).encode();
        List<ApiClient.Response> responses = concurrently(THREADS, i -> api.post("/v1/trips/" + tripId + "/settle", key, body));
        String all = describe(responses);
        int ok = 0;
        Set<String> okBodies = new HashSet<>();
        for (ApiClient.Response r : responses) {
            if (r.status() == 200) {
                ok++;
                okBodies.add(r.text());
                assertEquals("SETTLED", r.json().getString("state"), all);
            } else {
                assertEquals("409 request_in_progress", r.status() + " " + r.errorCode(), all);
                assertNotNull(r.header("Retry-After"), all);
            }
        }
        assertTrue(ok >= 1, "the first request answers 200" + all);
        assertEquals(1, okBodies.size(), "a replay answers the stored response" + all);
        // Once done, the key replays the same answer.
        ApiClient.Response replay = api.post("/v1/trips/" + tripId + "/settle", key, body);
        assertEquals(200, replay.status(), replay.text());
        assertEquals("true", replay.header("Idempotent-Replayed"));
        assertEquals(okBodies.iterator().next(), replay.text());
        assertChargedOnce(tripId, p, FUNDED, FARE, COMMISSION);
    }

    @Test
    void differentKeysSettleOnce() throws Exception {
        Parties p = parties(FUNDED);
        String tripId = ApiClient.newId("cs-keys");
        String body = settleBody(p, FARE, COMMISSION).encode();
        List<ApiClient.Response> responses = concurrently(THREADS,
                i -> api.post("/v1/trips/" + tripId + "/settle", ApiClient.newKey(), body));
        assertAllSettled(responses);
        assertChargedOnce(tripId, p, FUNDED, FARE, COMMISSION);
    }

    @Test
    void differentKeysSettleAHeldTripOnce() throws Exception {
        Parties p = parties(FUNDED);
        String tripId = ApiClient.newId("cs-held");
        long hold = 200_000;
        ApiClient.Response held = api.post("/v1/trips/" + tripId + "/hold", ApiClient.newKey(),
                new JsonObject().put("passengerWalletId", p.passenger).put("amount", hold));
        assertEquals(200, held.status(), held.text());
        assertEquals(FUNDED - hold, api.available(p.passenger));
        String body = settleBody(p, FARE, COMMISSION).encode();
        List<ApiClient.Response> responses = concurrently(THREADS,
                i -> api.post("/v1/trips/" + tripId + "/settle", ApiClient.newKey(), body));
        assertAllSettled(responses);
        assertChargedOnce(tripId, p, FUNDED, FARE, COMMISSION);
        JsonObject wallet = api.wallet(p.passenger);
        assertEquals(0, wallet.getLong("held"), wallet.encode());
        assertEquals(0, wallet.getJsonArray("holds").size(), wallet.encode());
        assertEquals("POSTED", Sql.text(sql, "SELECT state FROM holds WHERE id = 'trip:' || ? || ':hold'", tripId));
    }

    private static void assertAllSettled(List<ApiClient.Response> responses) {
        String all = describe(responses);
        Set<String> bodies = new HashSet<>();
        for (ApiClient.Response r : responses) {
            assertEquals(200, r.status(), all);
            assertEquals("SETTLED", r.json().getString("state"), all);
            assertEquals(null, r.header("Idempotent-Replayed"), all);
            bodies.add(r.text());
        }
        assertEquals(1, bodies.size(), "every request sees the one settlement" + all);
    }

    @Test
    void conflictingFaresSettleOnceWithTheWinnersFare() throws Exception {
        Parties p = parties(FUNDED);
        String tripId = ApiClient.newId("cs-fares");
        long otherFare = 180_000;
        List<ApiClient.Response> responses = concurrently(THREADS, i -> api.post("/v1/trips/" + tripId + "/settle",
                ApiClient.newKey(), settleBody(p, i % 2 == 0 ? FARE : otherFare, COMMISSION)));
        String all = describe(responses);
        JsonObject trip = api.get("/v1/trips/" + tripId).json();
        long winner = trip.getLong("fare");
        assertTrue(winner == FARE || winner == otherFare, trip.encode());
        String winnerBody = null;
        for (int i = 0; i < responses.size(); i++) {
            ApiClient.Response r = responses.get(i);
            long sent = i % 2 == 0 ? FARE : otherFare;
            if (sent == winner) {
                assertEquals(200, r.status(), "#" + i + all);
                assertEquals(winner, r.json().getLong("fare"), "#" + i + all);
                if (winnerBody == null) {
                    winnerBody = r.text();
                }
                assertEquals(winnerBody, r.text(), "#" + i + " the same settlement" + all);
            } else {
                assertEquals("409 trip_already_settled", r.status() + " " + r.errorCode(), "#" + i + all);
            }
        }
        assertChargedOnce(tripId, p, FUNDED, winner, COMMISSION);
    }

    @Test
    void concurrentHoldsNeverReserveMoreThanTheBalance() throws Exception {
        long balance = 100_000;
        long each = 10_000;
        int holds = 20;
        Parties p = parties(balance);
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicLong lowest = new AtomicLong(Long.MAX_VALUE);
        List<Throwable> samplerFailures = java.util.Collections.synchronizedList(new ArrayList<>());
        Thread sampler = new Thread(() -> {
            try {
                while (running.get()) {
                    lowest.accumulateAndGet(api.available(p.passenger), Math::min);
                }
            } catch (Throwable t) {
                samplerFailures.add(t);
            }
        }, "available-sampler");
        sampler.start();
        List<ApiClient.Response> responses;
        try {
            String prefix = ApiClient.newId("cs-hold");
            responses = concurrently(holds, i -> api.post("/v1/trips/" + prefix + "-" + i + "/hold", ApiClient.newKey(),
                    new JsonObject().put("passengerWalletId", p.passenger).put("amount", each)));
        } finally {
            running.set(false);
            sampler.join(TimeUnit.SECONDS.toMillis(RUN_TIMEOUT_SECONDS));
        }
        String all = describe(responses);
        int held = 0;
        int refused = 0;
        for (ApiClient.Response r : responses) {
            if (r.status() == 200) {
                held++;
                assertEquals("HELD", r.json().getString("state"), all);
            } else {
                assertEquals("402 insufficient_funds", r.status() + " " + r.errorCode(), all);
                refused++;
            }
        }
        assertEquals(balance / each, held, all);
        assertEquals(holds - balance / each, refused, all);
        JsonObject wallet = api.wallet(p.passenger);
        assertEquals(balance, wallet.getLong("balance"), wallet.encode());
        assertEquals(balance, wallet.getLong("held"), wallet.encode());
        assertEquals(0, wallet.getLong("available"), wallet.encode());
        JsonArray active = wallet.getJsonArray("holds");
        assertEquals(balance / each, active.size(), wallet.encode());
        assertEquals(List.of(), samplerFailures, "reading the wallet during the holds");
        assertTrue(lowest.get() >= 0, "available went to " + lowest.get());
        Sql.assertLedgerAddsUp(sql, "concurrent holds on " + p.passenger);
    }

    /**
     * Settlements of different trips of one passenger at once, settling a hold or not
     * ({@code none}: no trip held, {@code all}: every trip held, {@code half}: every other one):
     * each trip is charged at most once, the wallet never goes below 0, and, since a transfer
     * locks its accounts in one order, the database never has to break a deadlock.
     */
    @ParameterizedTest(name = "holds: {0}")
    @ValueSource(strings = {"none", "all", "half"})
    void concurrentSettlementsOfOneWalletNeverOverdraw(String holdsMode) throws Exception {
        long balance = 1_000_000;
        long fare = 80_000;
        long hold = 30_000;
        int trips = 16;
        IntPredicate held = i -> switch (holdsMode) {
            case "all" -> true;
            case "half" -> i % 2 == 0;
            default -> false;
        };
        Parties p = parties(balance);
        String prefix = ApiClient.newId("cs-wallet");
        long reserved = 0;
        for (int i = 0; i < trips; i++) {
            if (held.test(i)) {
                ApiClient.Response r = api.post("/v1/trips/" + prefix + "-" + i + "/hold", ApiClient.newKey(),
                        new JsonObject().put("passengerWalletId", p.passenger).put("amount", hold));
                assertEquals(200, r.status(), r.text());
                reserved += hold;
            }
        }
        assertEquals(balance - reserved, api.available(p.passenger));
        long deadlocksBefore = deadlocks();
        long started = System.nanoTime();
        List<ApiClient.Response> responses = concurrently(trips, i -> api.post("/v1/trips/" + prefix + "-" + i + "/settle",
                ApiClient.newKey(), settleBody(p, fare, 1_000)));
        long elapsedMillis = (System.nanoTime() - started) / 1_000_000;
        long deadlocks = deadlocksSince(deadlocksBefore);
        System.out.printf("concurrentSettlementsOfOneWalletNeverOverdraw(holds: %s): %d settlements in %d ms, "
                + "%d deadlock(s) reported by PostgreSQL%n", holdsMode, trips, elapsedMillis, deadlocks);
        String all = describe(responses);
        long serverErrors = responses.stream().filter(r -> r.status() >= 500).count();
        assertEquals(0, serverErrors, serverErrors + " of " + trips + " concurrent settlements of one passenger (holds: "
                + holdsMode + ") answered 5xx; PostgreSQL broke " + deadlocks + " deadlock(s) meanwhile" + all);
        int settled = 0;
        long unsettledHolds = 0;
        boolean refusedWithHold = false;
        boolean refusedWithoutHold = false;
        for (int i = 0; i < trips; i++) {
            ApiClient.Response r = responses.get(i);
            boolean withHold = held.test(i);
            if (r.status() == 200) {
                settled++;
                assertEquals("SETTLED", r.json().getString("state"), "#" + i + all);
            } else {
                assertEquals("402 insufficient_funds", r.status() + " " + r.errorCode(), "#" + i + all);
                unsettledHolds += withHold ? hold : 0;
                refusedWithHold |= withHold;
                refusedWithoutHold |= !withHold;
            }
        }
        // Which requests win depends on the interleaving (a settled hold costs only the rest of
        // its fare); what holds in every interleaving: no overdraft, and every refusal was due.
        assertTrue(settled >= 1 && settled <= balance / fare, "settled " + settled + all);
        JsonObject wallet = api.wallet(p.passenger);
        assertEquals(balance - settled * fare, wallet.getLong("balance"), wallet.encode() + all);
        assertEquals(unsettledHolds, wallet.getLong("held"), wallet.encode() + all);
        long available = wallet.getLong("available");
        assertTrue(available >= 0, wallet.encode());
        if (refusedWithoutHold) {
            assertTrue(available < fare, "a settlement without a hold was refused with " + available + " available" + all);
        }
        if (refusedWithHold) {
            assertTrue(available + hold < fare, "a settlement of a hold was refused with " + available
                    + " available" + all);
        }
        assertEquals(settled * (fare - 1_000), api.balance(p.driver), all);
        for (int i = 0; i < trips; i++) {
            String tripId = prefix + "-" + i;
            assertEquals(responses.get(i).status() == 200 ? 1 : 0,
                    Sql.count(sql, "SELECT count(*) FROM transfers WHERE payment_id = ?", tripId), tripId + all);
        }
        Sql.assertLedgerAddsUp(sql, "concurrent settlements of " + p.passenger);
        // Transfer sorts its legs "so concurrent transfers lock rows in one order and cannot
        // deadlock"; each deadlock costs deadlock_timeout and a retry (a 500 after 3 of them).
        assertEquals(0, deadlocks, "PostgreSQL broke " + deadlocks + " deadlock(s) among " + trips
                + " concurrent settlements of one passenger (holds: " + holdsMode + ")");
    }

    // ---- SQL ---------------------------------------------------------------------------------

    private static long deadlocks() throws SQLException {
        return Sql.count(sql, "SELECT coalesce(sum(deadlocks), 0) FROM pg_stat_database");
    }

    /** Deadlocks the database detected since {@code before}; its statistics arrive within a second or so. */
    private static long deadlocksSince(long before) {
        AtomicLong now = new AtomicLong(before);
        try {
            await().atMost(STATISTICS_WAIT).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(200))
                    .until(() -> {
                        now.set(deadlocks());
                        return now.get() != before;
                    });
        } catch (ConditionTimeoutException e) {
            // None reported within the wait: the expected outcome.
        }
        return now.get() - before;
    }
}
