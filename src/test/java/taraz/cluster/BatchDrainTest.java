package taraz.cluster;

import taraz.support.Wait;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import taraz.db.EmbeddedDatabase;
import taraz.support.ApiClient;
import taraz.support.GatewayProcess;
import taraz.support.Sql;
import taraz.support.TestGateway;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpTimeoutException;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 11, point 6: a slow batch delays the commands in it, not the node. Twenty settles of
 * twenty trips, each with a commission (so every one of them writes the shared
 * platform-commission row, as in the measurement), are held by a delay just before their
 * batch's COMMIT ({@code ledger.batch.before-commit}), and the node gets SIGTERM while they are
 * held. Every client must get an answer before the process exits: a committed command its 2xx,
 * any other a clean 503 or a closed connection, never a 500 and never a hang. After a restart each
 * command is done exactly once, a retry under a committed command's key replays its answer, and
 * the ledger adds up.
 *
 * <p>The gateway runs on a PostgreSQL of the test's own ({@code TARAZ_PG_URL}), so that what had
 * committed when the process exited can be read before the restart's recovery adds to it.
 */
class BatchDrainTest {

    /** The writer's point, run once per batch just before its COMMIT. */
    private static final String POINT = "ledger.batch.before-commit";
    /** What the gateway logs each time a delay point holds its flow (see Failpoints). */
    private static final String HELD_LOG_LINE = "failpoint " + POINT + ": delay";
    private static final int SETTLES = 20;
    private static final long FUNDS_RIALS = 1_000_000;
    private static final long FARE_RIALS = 150_000;
    private static final long COMMISSION_RIALS = 30_000;

    /** The case: each batch held 4 s before its COMMIT, well inside a 20 s drain. */
    private static final long HOLD_MILLIS = 4000;
    private static final long DRAIN_MILLIS = 20_000;
    /**
     * The other case: the batch is held far longer than the drain, so nothing can commit before
     * the deadline; the exit bound (drain + margin, 18 s) stays below the hold, so a node that
     * waited for the batch fails the test.
     */
    private static final long LONG_HOLD_MILLIS = 30_000;
    private static final long SHORT_DRAIN_MILLIS = 3000;

    /** Added to the drain deadline for "exited before the deadline": 2 cores, a JVM to stop. */
    private static final long EXIT_TIMEOUT_MILLIS = 90_000;
    /** How long all 20 requests may take to be in flight (they take well under a second). */
    private static final long IN_FLIGHT_TIMEOUT_MILLIS = 30_000;
    /** A client still without an answer or a closed connection this long after the exit hangs. */
    private static final long CLIENT_AFTER_EXIT_MILLIS = 10_000;
    /** Bound on a retry that meets the stopped node's claim on its key (409 request_in_progress). */
    private static final long RETRY_TIMEOUT_MILLIS = 30_000;

    @Test
    void sigtermAnswersEveryCommittedSettleOfAHeldBatch() throws Exception {
        Drained drained = drain("batch-drain-", HOLD_MILLIS, DRAIN_MILLIS);
        // The first batch is held 4 s and the drain lasts 20 s: it commits before the deadline, so
        // at least its clients are answered (before issue 11: 0 of 20).
        assertTrue(drained.answeredOk() >= 1, "settles answered 2xx before the exit: " + drained);
    }

    @Test
    void drainShorterThanTheHeldBatchLeavesItToRecovery() throws Exception {
        Drained drained = drain("batch-deadline-", LONG_HOLD_MILLIS, SHORT_DRAIN_MILLIS);
        assertEquals(0, drained.committedBeforeExit(), "a batch held past the deadline committed: " + drained);
        assertEquals(0, drained.answeredOk(), "no settle can be answered 2xx: " + drained);
    }

    /** What the twenty clients saw, and what had committed when the process exited. */
    private record Drained(int answeredOk, int unavailable, int closed, int committedBeforeExit, long exitedMillis) {}

    /** What one client saw: an answer, or its connection closed (the I/O error); and after how long. */
    private record Outcome(ApiClient.Response response, IOException error, long latencyMillis) {
        boolean ok() {
            return response != null && response.status() / 100 == 2;
        }

        boolean unavailable() {
            return response != null && response.status() == 503;
        }
    }

    /**
     * Funds the wallets, then, on a node whose batches are held {@code holdMillis} before COMMIT
     * with a {@code drainMillis} drain, sends the 20 settles, stops the node while they are held
     * and checks every client's outcome against what committed; restarts the node, checks that
     * recovery did each command at most once and every closed one exactly once, retries every
     * request with its key, and checks the ledger.
     */
    private Drained drain(String prefix, long holdMillis, long drainMillis) throws Exception {
        Path base = TestGateway.tempDir(prefix);
        EmbeddedDatabase database = EmbeddedDatabase.start(base.resolve("shared-postgres"));
        Path dataDir = base.resolve("node");
        int port = TestGateway.freePort();
        Map<String, String> env = new HashMap<>();
        env.put("TARAZ_PG_URL", database.pgUrl());
        // One node id across its restarts: the restart ends the claims on keys of its previous life.
        env.put("TARAZ_NODE_ID", "drain");
        // Trips never call the PSP; a closed port is enough.
        env.put("TARAZ_PSP_URL", "http://127.0.0.1:9");
        GatewayProcess setup = null;
        GatewayProcess held = null;
        GatewayProcess restarted = null;
        ExecutorService clients = Executors.newFixedThreadPool(SETTLES);
        try {
            // The wallets are opened and funded on a node without the failpoint: the writer's points
            // run for every ledger write, the funding adjustments' too.
            setup = GatewayProcess.start(dataDir, port, env);
            ApiClient api = setup.api();
            List<String> passengers = new ArrayList<>();
            List<String> drivers = new ArrayList<>();
            List<String> tripIds = new ArrayList<>();
            List<String> keys = new ArrayList<>();
            for (int i = 0; i < SETTLES; i++) {
                String passenger = api.openWallet("passenger");
                api.fund(passenger, FUNDS_RIALS);
                passengers.add(passenger);
                drivers.add(api.openWallet("driver"));
                tripIds.add(ApiClient.newId("batch"));
                keys.add(ApiClient.newKey());
            }
            setup.terminate();
            assertEquals(0, setup.awaitExit(EXIT_TIMEOUT_MILLIS), ShutdownTest.tail(setup.output(), 40));

            Map<String, String> holding = new HashMap<>(env);
            holding.put("TARAZ_FAILPOINTS", POINT + "=delay(" + holdMillis + ")");
            holding.put("TARAZ_DRAIN_TIMEOUT_MS", Long.toString(drainMillis));
            holding.put("TARAZ_READINESS_GRACE_MS", "0");
            held = GatewayProcess.start(dataDir, port, holding);
            // HTTP/1.1, as behind a load balancer (see ApiClient.http11): one connection per client.
            ApiClient http11 = ApiClient.http11(held.baseUrl());
            List<Future<Outcome>> futures = new ArrayList<>();
            for (int i = 0; i < SETTLES; i++) {
                String path = settlePath(tripIds.get(i));
                String key = keys.get(i);
                JsonObject body = settleBody(passengers.get(i), drivers.get(i));
                futures.add(clients.submit(() -> {
                    long sent = System.nanoTime();
                    try {
                        ApiClient.Response response = http11.post(path, key, body);
                        return new Outcome(response, null, (System.nanoTime() - sent) / 1_000_000);
                    } catch (UncheckedIOException e) {
                        return new Outcome(null, e.getCause(), (System.nanoTime() - sent) / 1_000_000);
                    }
                }));
            }
            awaitHeld(held, futures, database, tripIds);

            long signalled = System.nanoTime();
            held.terminate();
            int status = held.awaitExit(EXIT_TIMEOUT_MILLIS);
            long exitedMillis = (System.nanoTime() - signalled) / 1_000_000;
            List<Outcome> outcomes = new ArrayList<>();
            for (int i = 0; i < SETTLES; i++) {
                outcomes.add(outcomeAfterExit(futures.get(i), tripIds.get(i)));
            }

            List<Long> transfersAtExit = new ArrayList<>();
            try (Connection c = Sql.connect(database.pgUrl())) {
                for (String tripId : tripIds) {
                    transfersAtExit.add(settleTransfers(c, tripId));
                }
            }
            List<Boolean> committed = transfersAtExit.stream().map(n -> n == 1).toList();
            int answeredOk = (int) outcomes.stream().filter(Outcome::ok).count();
            int unavailable = (int) outcomes.stream().filter(Outcome::unavailable).count();
            int closed = (int) outcomes.stream().filter(o -> o.error() != null).count();
            Drained drained = new Drained(answeredOk, unavailable, closed, (int) committed.stream().filter(b -> b).count(),
                    exitedMillis);
            System.out.printf("batch drain (hold %d ms, drain %d ms): %d settles answered 2xx, %d 503, %d closed, %d other; "
                            + "%d committed at the exit; exited %d after %d ms; clients' times %s ms%n", holdMillis, drainMillis,
                    answeredOk, unavailable, closed, SETTLES - answeredOk - unavailable - closed, drained.committedBeforeExit(),
                    status, exitedMillis, outcomes.stream().map(Outcome::latencyMillis).sorted().toList());

            for (int i = 0; i < SETTLES; i++) {
                Outcome outcome = outcomes.get(i);
                String tripId = tripIds.get(i);
                assertTrue(transfersAtExit.get(i) <= 1, "trip " + tripId + " settled " + transfersAtExit.get(i) + " times");
                if (outcome.ok()) {
                    assertEquals("SETTLED", outcome.response().json().getString("state"), outcome.response().text());
                    // Its batch waited at the point before it could commit: an earlier answer means the point never held it.
                    assertTrue(outcome.latencyMillis() >= holdMillis, "trip " + tripId + " answered after "
                            + outcome.latencyMillis() + " ms, within the " + holdMillis + " ms that " + POINT + " holds every batch");
                } else if (outcome.unavailable()) {
                    assertNotNull(outcome.response().header("Retry-After"), "a 503 without Retry-After: " + outcome.response().text());
                    assertNotNull(outcome.response().errorCode(), "a 503 without an error code: " + outcome.response().text());
                } else if (outcome.error() == null) {
                    throw new AssertionError("settle of " + tripId + " answered " + outcome.response().status()
                            + " (only a 2xx, a clean 503 or a closed connection may end it): " + outcome.response().text());
                }
                // Issue 11, point 6: a committed command's client gets its answer, and a 2xx means committed.
                assertEquals(committed.get(i), outcome.ok(), "trip " + tripId + ": committed " + committed.get(i)
                        + ", its client saw " + describe(outcome));
            }
            assertEquals(0, status, ShutdownTest.tail(held.output(), 40));
            assertFalse(held.output().contains("did not finish cleanly"), "every stop phase ended within its bound, the drain "
                    + "within its deadline (" + drainMillis + " ms)\n" + ShutdownTest.tail(held.output(), 40));

            // The restart: boot recovery ends what the stop let go of.
            restarted = GatewayProcess.start(dataDir, port, env);
            ApiClient again = restarted.api();
            try (Connection c = Sql.connect(database.pgUrl())) {
                for (int i = 0; i < SETTLES; i++) {
                    String tripId = tripIds.get(i);
                    Outcome outcome = outcomes.get(i);
                    long transfers = settleTransfers(c, tripId);
                    assertTrue(transfers <= 1, "trip " + tripId + " settled " + transfers + " times after recovery");
                    if (outcome.error() != null) {
                        // The client is left in doubt: the journal must carry the command, and recovery end it.
                        assertEquals(1, transfers, "recovery settled trip " + tripId + ", whose client's connection closed");
                    }
                    if (committed.get(i)) {
                        assertEquals(1, transfers, "trip " + tripId + " committed before the exit");
                    }
                    if (transfers == 1) {
                        assertEquals("SETTLED", again.get("/v1/trips/" + tripId).json().getString("state"));
                        assertSettledOnce(again, passengers.get(i), drivers.get(i));
                    } else {
                        // A clean 503 and nothing done: the money is where it was.
                        ApiClient.Response trip = again.get("/v1/trips/" + tripId);
                        assertTrue(trip.status() == 404 || !"SETTLED".equals(trip.json().getString("state")), trip.text());
                        assertEquals(FUNDS_RIALS, again.balance(passengers.get(i)), "passenger of unsettled trip " + tripId);
                        assertEquals(FUNDS_RIALS, again.available(passengers.get(i)), "passenger of unsettled trip " + tripId);
                        assertEquals(0, again.balance(drivers.get(i)), "driver of unsettled trip " + tripId);
                    }
                }
            }

            // Each client retries with its key: a committed settle's answer is replayed as it was; any
            // other ends settled, once.
            for (int i = 0; i < SETTLES; i++) {
                String path = settlePath(tripIds.get(i));
                JsonObject body = settleBody(passengers.get(i), drivers.get(i));
                Outcome outcome = outcomes.get(i);
                if (outcome.ok()) {
                    ApiClient.Response replay = again.post(path, keys.get(i), body);
                    assertEquals(outcome.response().status(), replay.status(), replay.text());
                    assertEquals("true", replay.header("Idempotent-Replayed"), "trip " + tripIds.get(i) + ": " + replay.text());
                    assertEquals(outcome.response().json(), replay.json(), "the replayed answer is the original one");
                } else {
                    ApiClient.Response retry = again.postPastClaim(path, keys.get(i), body, RETRY_TIMEOUT_MILLIS);
                    assertEquals(200, retry.status(), "retry of trip " + tripIds.get(i) + ": " + retry.text());
                    assertEquals("SETTLED", retry.json().getString("state"), retry.text());
                }
            }
            try (Connection c = Sql.connect(database.pgUrl())) {
                for (int i = 0; i < SETTLES; i++) {
                    assertEquals(1, settleTransfers(c, tripIds.get(i)), "one settlement of trip " + tripIds.get(i));
                    assertSettledOnce(again, passengers.get(i), drivers.get(i));
                }
                assertEquals(SETTLES * COMMISSION_RIALS, Sql.count(c, "SELECT balance_rials FROM accounts WHERE id = "
                        + "'platform-commission'"), "the platform's commission, once per trip");
                assertEquals(0, Sql.count(c, "SELECT count(*) FROM holds WHERE state = 'HELD'"), "active holds");
                Sql.assertLedgerAddsUp(c, "after the drain and restart");
            }
            return drained;
        } finally {
            clients.shutdownNow();
            GatewayProcess.stop(setup, held, restarted);
            database.close();
        }
    }

    /**
     * Waits until the node has all 20 settles in flight and has held a batch at the point (its
     * log says so), then checks that none of them has been answered or has committed: the signal
     * comes while their batches are held.
     */
    /** What a node showed while its settles were held: the in-flight gauge, and whether the point logged. */
    private record Held(double inflight, boolean pointRan) {}

    private static void awaitHeld(GatewayProcess node, List<Future<Outcome>> futures, EmbeddedDatabase database,
                                  List<String> tripIds) throws Exception {
        Held seen = Wait.poll(IN_FLIGHT_TIMEOUT_MILLIS,
                () -> new Held(node.metric("taraz_inflight_transactions"), node.output().contains(HELD_LOG_LINE)),
                now -> answered(futures) > 0 || (now.inflight() >= SETTLES && now.pointRan()));
        double inflight = seen.inflight();
        boolean pointRan = seen.pointRan();
        assertTrue(pointRan, POINT + " never held a batch (no '" + HELD_LOG_LINE + "' in the log)\n"
                + ShutdownTest.tail(node.output(), 20));
        assertEquals(0, answered(futures), "settles answered before the signal: " + POINT + " did not hold their batch\n"
                + ShutdownTest.tail(node.output(), 20));
        assertTrue(inflight >= SETTLES, "settles in flight before the signal: " + inflight);
        try (Connection c = Sql.connect(database.pgUrl())) {
            for (String tripId : tripIds) {
                assertEquals(0, settleTransfers(c, tripId), "trip " + tripId + " committed before the signal: "
                        + POINT + " did not hold its batch");
            }
        }
    }

    private static long answered(List<Future<Outcome>> futures) {
        return futures.stream().filter(Future::isDone).count();
    }

    /** The client's outcome, which must be there soon after the exit: an answer or a closed connection, never a hang. */
    private static Outcome outcomeAfterExit(Future<Outcome> future, String tripId) throws Exception {
        Outcome outcome;
        try {
            outcome = future.get(CLIENT_AFTER_EXIT_MILLIS, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new AssertionError("the client of trip " + tripId + " had neither an answer nor a closed connection "
                    + CLIENT_AFTER_EXIT_MILLIS + " ms after the process exited");
        } catch (ExecutionException e) {
            throw new AssertionError("the client of trip " + tripId + " failed", e.getCause());
        }
        if (outcome.error() instanceof HttpTimeoutException) {
            throw new AssertionError("the client of trip " + tripId + " timed out: the node neither answered nor closed its connection");
        }
        return outcome;
    }

    private static String describe(Outcome outcome) {
        return outcome.response() != null ? outcome.response().status() + " " + outcome.response().text()
                : "a closed connection (" + outcome.error() + ")";
    }

    private static void assertSettledOnce(ApiClient api, String passenger, String driver) {
        assertEquals(FUNDS_RIALS - FARE_RIALS, api.balance(passenger), "passenger charged once");
        assertEquals(FUNDS_RIALS - FARE_RIALS, api.available(passenger), "no hold left on the passenger");
        assertEquals(FARE_RIALS - COMMISSION_RIALS, api.balance(driver), "driver credited once");
    }

    private static long settleTransfers(Connection c, String tripId) throws Exception {
        return Sql.count(c, "SELECT count(*) FROM transfers WHERE kind = 'trip_settle' AND payment_id = ?", tripId);
    }

    private static String settlePath(String tripId) {
        return "/v1/trips/" + tripId + "/settle";
    }

    private static JsonObject settleBody(String passenger, String driver) {
        return new JsonObject().put("passengerWalletId", passenger).put("driverWalletId", driver)
                .put("fare", FARE_RIALS).put("commission", COMMISSION_RIALS);
    }
}
