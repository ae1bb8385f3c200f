package taraz.cluster;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.CopyOnWriteArrayList;
import taraz.support.Wait;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import taraz.db.EmbeddedDatabase;
import taraz.support.ApiClient;
import taraz.support.GatewayProcess;
import taraz.support.Sql;
import taraz.support.TestGateway;
import taraz.support.TestPsp;

import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Two replicas (a, b) on one external PostgreSQL, issue 4: a is killed (kill -9, for good) with
 * top-ups and trip settles in flight. b's completer takes the top-ups over once a's leases run
 * out and credits each once; the trips a was settling died with its transactions, and the
 * clients' retries on b settle each once.
 */
class ReplicaTakeoverTest {

    private static final int TOPUPS = 5;
    private static final int TRIPS = 5;
    private static final long TOPUP_RIALS = 2_000_000;
    private static final long FUNDS_RIALS = 1_000_000;
    private static final long FARE_RIALS = 150_000;
    private static final long COMMISSION_RIALS = 30_000;
    private static final long LEASE_MILLIS = 3000;
    /** Short enough that the clients' same-key retries take a's orphaned claims over quickly. */
    private static final long IDEMPOTENCY_LEASE_MILLIS = 8000;
    private static final long HANG_MILLIS = 60_000;
    private static final long IN_FLIGHT_TIMEOUT_MILLIS = 30_000;
    /** The bound for b finishing a's top-ups: the lease (3 s) plus sweeps, generously. */
    private static final long TAKEOVER_TIMEOUT_MILLIS = 30_000;
    private static final long RETRY_TIMEOUT_MILLIS = 60_000;

    @Test
    void survivorFinishesTheWorkOfAKilledReplica() throws Exception {
        Path base = TestGateway.tempDir("takeover-");
        EmbeddedDatabase database = EmbeddedDatabase.start(base.resolve("shared-postgres"));
        TestPsp psp = TestPsp.start(base.resolve("psp"));
        GatewayProcess a = null;
        GatewayProcess b = null;
        ExecutorService clients = Executors.newFixedThreadPool(TOPUPS + TRIPS);
        try {
            // A long callback grace: the callbacks go to a, and b must not verify a's paid top-ups
            // first just because the test paid them more than a second after requesting them. What
            // b takes over is what a was driving when it died, once a's leases run out.
            Map<String, Object> settings = Map.of("topupLeaseMillis", LEASE_MILLIS, "topupSweepIntervalMillis", 300,
                    "topupCallbackGraceSeconds", 120, "idempotencyLeaseMillis", IDEMPOTENCY_LEASE_MILLIS);
            Path aDir = base.resolve("node-a");
            Path bDir = base.resolve("node-b");
            Map<String, String> aEnv = new HashMap<>(GatewayProcess.config(aDir, settings));
            aEnv.put("TARAZ_PG_URL", database.pgUrl());
            aEnv.put("TARAZ_PSP_URL", psp.baseUrl());
            aEnv.put("TARAZ_NODE_ID", "a");
            aEnv.put("TARAZ_FAILPOINTS", "topup.after-verify=delay(" + HANG_MILLIS + "),trip.settle.before-commit=delay("
                    + HANG_MILLIS + ")");
            Map<String, String> bEnv = new HashMap<>(GatewayProcess.config(bDir, settings));
            bEnv.put("TARAZ_PG_URL", database.pgUrl());
            bEnv.put("TARAZ_PSP_URL", psp.baseUrl());
            bEnv.put("TARAZ_NODE_ID", "b");
            // The bank's unVerified list is on: b's sweeper sees a's paid top-ups at once, and must
            // still leave them to a while a's leases on them are live.
            psp.faults(TestPsp.defaultFaults());
            a = GatewayProcess.start(aDir, TestGateway.freePort(), aEnv);
            b = GatewayProcess.start(bDir, TestGateway.freePort(), bEnv);

            ApiClient onA = a.api();
            List<String> topupWallets = new ArrayList<>();
            List<String> topupIds = new ArrayList<>();
            List<String> authorities = new ArrayList<>();
            for (int i = 0; i < TOPUPS; i++) {
                String wallet = onA.openWallet("passenger");
                ApiClient.Response created = onA.post("/v1/topups", ApiClient.newKey(),
                        new JsonObject().put("walletId", wallet).put("amount", TOPUP_RIALS));
                assertEquals(201, created.status(), created.text());
                topupWallets.add(wallet);
                topupIds.add(created.json().getString("topupId"));
                authorities.add(created.json().getString("authority"));
            }
            List<String> passengers = new ArrayList<>();
            List<String> drivers = new ArrayList<>();
            List<String> tripIds = new ArrayList<>();
            List<String> keys = new ArrayList<>();
            for (int i = 0; i < TRIPS; i++) {
                String passenger = onA.openWallet("passenger");
                onA.fund(passenger, FUNDS_RIALS);
                passengers.add(passenger);
                drivers.add(onA.openWallet("driver"));
                tripIds.add(ApiClient.newId("takeover"));
                keys.add(ApiClient.newKey());
            }

            // The cardholders pay: the callbacks go to a, which verifies and then hangs (VERIFIED, in flight).
            List<Future<?>> pays = new ArrayList<>();
            for (String authority : authorities) {
                pays.add(clients.submit(() -> psp.pay(authority, "OK")));
            }
            // The trips: a holds each settle's transaction open.
            List<Future<?>> settles = new ArrayList<>();
            for (int i = 0; i < TRIPS; i++) {
                String path = "/v1/trips/" + tripIds.get(i) + "/settle";
                String key = keys.get(i);
                JsonObject body = settleBody(passengers.get(i), drivers.get(i));
                settles.add(clients.submit(() -> onA.post(path, key, body)));
            }
            GatewayProcess onlyA = a;
            Wait.until("in flight on a: the verified top-ups and the gauge", IN_FLIGHT_TIMEOUT_MILLIS,
                    () -> new InFlight(count(database, "SELECT count(*) FROM topups WHERE state = 'VERIFIED' AND owner = 'a'"),
                            onlyA.metric("taraz_inflight_transactions")),
                    now -> now.verified() == TOPUPS && now.inflight() >= TOPUPS + TRIPS);

            a.kill();
            long killed = System.nanoTime();
            for (Future<?> settle : settles) {
                try {
                    settle.get(RETRY_TIMEOUT_MILLIS, java.util.concurrent.TimeUnit.MILLISECONDS);
                } catch (java.util.concurrent.ExecutionException e) {
                    assertTrue(e.getCause() instanceof UncheckedIOException, String.valueOf(e.getCause()));
                }
            }

            // b's completer takes the top-ups over once a's leases expire.
            ApiClient onB = b.api();
            AtomicLong lastCredited = new AtomicLong(-1);
            List<String> pending = new CopyOnWriteArrayList<>(topupIds);
            try {
                Wait.until("top-ups b finishes", TAKEOVER_TIMEOUT_MILLIS, () -> {
                    for (String id : pending) {
                        ApiClient.Response r = onB.get("/v1/topups/" + id);
                        if (r.status() == 200 && "CREDITED".equals(r.json().getString("state"))) {
                            pending.remove(id);
                            lastCredited.set((System.nanoTime() - killed) / 1_000_000);
                        }
                    }
                    return pending;
                }, List::isEmpty);
            } catch (AssertionError e) {
                throw new AssertionError(e.getMessage() + "\n" + ShutdownTest.tail(b.output(), 40), e);
            }
            System.out.printf("replica takeover: %d top-ups credited by b, the last %d ms after kill -9 of a "
                    + "(lease %d ms, sweep every 300 ms)%n", TOPUPS, lastCredited.get(), LEASE_MILLIS);
            for (int i = 0; i < TOPUPS; i++) {
                JsonObject topup = onB.get("/v1/topups/" + topupIds.get(i)).json();
                assertEquals(TOPUP_RIALS, onB.balance(topupWallets.get(i)), "credited once: " + topup.encode());
                assertEquals(1, count(database, "SELECT count(*) FROM transfers WHERE kind = 'topup_credit' AND payment_id = ?",
                        topupIds.get(i)), "one credit transfer");
                assertTrue(topup.getJsonArray("history").stream().anyMatch(h -> "CREDITED".equals(((JsonObject) h).getString("state"))
                        && "b".equals(((JsonObject) h).getString("node"))), "b credited it: " + topup.encode());
                JsonObject atBank = psp.payment(authorities.get(i));
                assertEquals(1, atBank.getInteger("verifySuccesses"), atBank.encode());
                assertTrue(atBank.getInteger("verifyAlready") <= 1, atBank.encode());
            }
            for (Future<?> pay : pays) {
                pay.get(RETRY_TIMEOUT_MILLIS, java.util.concurrent.TimeUnit.MILLISECONDS);
            }

            // a's settles never committed; the clients retry on b with their keys, until a's claims expire.
            for (int i = 0; i < TRIPS; i++) {
                assertEquals(0, count(database, "SELECT count(*) FROM transfers WHERE kind = 'trip_settle' AND payment_id = ?",
                        tripIds.get(i)), "a's settle died with its transaction");
            }
            for (int i = 0; i < TRIPS; i++) {
                String path = "/v1/trips/" + tripIds.get(i) + "/settle";
                ApiClient.Response r = onB.postPastClaim(path, keys.get(i), settleBody(passengers.get(i), drivers.get(i)),
                        RETRY_TIMEOUT_MILLIS);
                assertEquals(200, r.status(), r.text());
                assertEquals("SETTLED", r.json().getString("state"), r.text());
            }
            System.out.printf("replica takeover: the trips retried on b past a's claims, all settled %d ms after kill -9%n",
                    (System.nanoTime() - killed) / 1_000_000);
            for (int i = 0; i < TRIPS; i++) {
                assertEquals(FUNDS_RIALS - FARE_RIALS, onB.balance(passengers.get(i)), "charged once");
                assertEquals(FARE_RIALS - COMMISSION_RIALS, onB.balance(drivers.get(i)), "driver credited once");
                assertEquals(1, count(database, "SELECT count(*) FROM transfers WHERE kind = 'trip_settle' AND payment_id = ?",
                        tripIds.get(i)), "one settlement");
            }
            try (Connection c = Sql.connect(database.pgUrl())) {
                Sql.assertLedgerAddsUp(c, "after the takeover");
            }
        } finally {
            clients.shutdownNow();
            if (a != null) {
                a.close();
            }
            GatewayProcess.stop(b);
            psp.stop();
            database.close();
        }
    }

    /** What was in flight on a: its top-ups waiting VERIFIED, and its in-flight gauge. */
    private record InFlight(long verified, double inflight) {}

    private static JsonObject settleBody(String passenger, String driver) {
        return new JsonObject().put("passengerWalletId", passenger).put("driverWalletId", driver)
                .put("fare", FARE_RIALS).put("commission", COMMISSION_RIALS);
    }

    private static long count(EmbeddedDatabase database, String sql, Object... args) throws SQLException {
        try (Connection c = Sql.connect(database.pgUrl())) {
            return Sql.count(c, sql, args);
        }
    }
}
