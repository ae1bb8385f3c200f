package taraz.cluster;

import java.util.concurrent.CopyOnWriteArrayList;
import taraz.support.Wait;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import taraz.failpoint.Failpoints;
import taraz.journal.JournalReader;
import taraz.journal.JournalRecord;
import taraz.journal.JournalScans;
import taraz.support.ApiClient;
import taraz.support.GatewayProcess;
import taraz.support.Sql;
import taraz.support.TestGateway;
import taraz.support.TestPsp;

import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The graceful stop of a real gateway process (SIGTERM), issue 4: in-flight requests finish,
 * readiness goes DOWN at once, new requests are turned away, the process exits 0 before its
 * deadline; work that cannot finish by the deadline is journaled as interrupted and finished,
 * once, by boot recovery; readiness stays DOWN until that recovery has ended.
 */
class ShutdownTest {

    private static final long FUNDS_RIALS = 1_000_000;
    private static final long FARE_RIALS = 150_000;
    private static final long TOPUP_RIALS = 2_000_000;
    private static final long EXIT_TIMEOUT_MILLIS = 90_000;
    private static final long AWAIT_MILLIS = 30_000;
    /** Added to a configured deadline for "exited before the deadline": 2 cores, a JVM and a PostgreSQL to stop. */
    /** What the gateway logs when its drain deadline comes with work still in flight. */
    private static final String DRAIN_DEADLINE_LOG_LINE = "stop: drain deadline reached with";
    /** When a stop on the data directory last reached its drain deadline, exported by the next start. */
    private static final String DRAIN_CUT_OFF_METRIC = "taraz_drain_deadline_last_timestamp_seconds";

    private static final Duration NEW_REQUEST_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(5);

    private static TestPsp psp;

    @BeforeAll
    static void startPsp() {
        psp = TestPsp.start(TestGateway.tempDir("psp-shutdown-"));
    }

    @AfterAll
    static void stopPsp() {
        if (psp != null) {
            psp.stop();
        }
    }

    // ---- (1) SIGTERM with 50 requests in flight ----------------------------------------------

    private static final int SETTLES = 40;
    private static final int TOPUPS = 10;
    /** The failpoint hold of each in-flight request: long enough that all 50 overlap on 2 cores. */
    private static final long HOLD_MILLIS = 5000;
    private static final long GRACE_MILLIS = 500;
    private static final long DRAIN_MILLIS = 20_000;

    @Test
    void sigtermDrainsInFlightRequests() throws Exception {
        Path dataDir = TestGateway.tempDir("shutdown-drain-");
        int port = TestGateway.freePort();
        Map<String, String> env = new HashMap<>();
        env.put("TARAZ_PSP_URL", psp.baseUrl());
        // Every settle holds a connection (its transaction) for the hold: one for each of them.
        env.put("TARAZ_PG_POOL_SIZE", "48");
        Map<String, String> draining = new HashMap<>(env);
        draining.put("TARAZ_FAILPOINTS", "trip.settle.before-commit=delay(" + HOLD_MILLIS + "),topup.after-verify=delay("
                + HOLD_MILLIS + ")");
        draining.put("TARAZ_READINESS_GRACE_MS", Long.toString(GRACE_MILLIS));
        draining.put("TARAZ_DRAIN_TIMEOUT_MS", Long.toString(DRAIN_MILLIS));

        GatewayProcess first = GatewayProcess.start(dataDir, port, draining);
        GatewayProcess second = null;
        ExecutorService clients = Executors.newFixedThreadPool(SETTLES + TOPUPS);
        // The simulator's own callbacks off (its HTTP client sends at most 5 at a time): the test
        // sends each cardholder's return to the gateway itself, all 10 at once. The bank's
        // unVerified list is on: the sweeper must leave top-ups the node is driving (leased) alone.
        psp.faults(TestPsp.defaultFaults().put("lostCallbackRate", 1.0));
        try {
            // HTTP/1.1, as behind a load balancer (see ApiClient.http11).
            ApiClient api = ApiClient.http11(first.baseUrl());
            // Each trip its own passenger and driver (commission 0: no shared platform row), so the
            // 40 held transactions do not wait on each other's row locks.
            List<String> passengers = new ArrayList<>();
            List<String> drivers = new ArrayList<>();
            for (int i = 0; i < SETTLES; i++) {
                String passenger = api.openWallet("passenger");
                api.fund(passenger, FUNDS_RIALS);
                passengers.add(passenger);
                drivers.add(api.openWallet("driver"));
            }
            List<String> topupWallets = new ArrayList<>();
            for (int i = 0; i < TOPUPS; i++) {
                topupWallets.add(api.openWallet("passenger"));
            }

            List<String> tripIds = new ArrayList<>();
            List<Future<ApiClient.Response>> settles = new ArrayList<>();
            for (int i = 0; i < SETTLES; i++) {
                String tripId = ApiClient.newId("drain");
                tripIds.add(tripId);
                JsonObject body = settleBody(passengers.get(i), drivers.get(i));
                String key = ApiClient.newKey();
                settles.add(clients.submit(() -> api.post("/v1/trips/" + tripId + "/settle", key, body)));
            }
            List<String> topupIds = new ArrayList<>(java.util.Collections.nCopies(TOPUPS, (String) null));
            List<String> authorities = new ArrayList<>(java.util.Collections.nCopies(TOPUPS, (String) null));
            List<Future<ApiClient.Response>> pays = new ArrayList<>();
            AtomicInteger paying = new AtomicInteger();
            for (int i = 0; i < TOPUPS; i++) {
                int n = i;
                pays.add(clients.submit(() -> {
                    ApiClient.Response created = api.post("/v1/topups", ApiClient.newKey(),
                            new JsonObject().put("walletId", topupWallets.get(n)).put("amount", TOPUP_RIALS));
                    assertEquals(201, created.status(), created.text());
                    synchronized (topupIds) {
                        topupIds.set(n, created.json().getString("topupId"));
                        authorities.set(n, created.json().getString("authority"));
                    }
                    paying.incrementAndGet();
                    String authority = created.json().getString("authority");
                    JsonObject paid = psp.pay(authority, "OK");
                    assertEquals("PAID", paid.getString("status"), paid.encode());
                    // The callback: answered once the failpoint's hold after the verify is over.
                    return api.get("/v1/psp/zarinpal/callback?Authority=" + authority + "&Status=OK",
                            Map.of("Accept", "application/json"));
                }));
            }

            // In flight: the 10 top-ups wait VERIFIED in their callbacks, and 50 requests are running.
            InFlight seen = Wait.poll(AWAIT_MILLIS, () -> new InFlight(first.metric("taraz_inflight_transactions"),
                    paying.get() < TOPUPS ? 0 : countRows(dataDir, "SELECT count(*) FROM topups WHERE state = 'VERIFIED'")),
                    now -> now.inflight() >= SETTLES + TOPUPS && now.verified() == TOPUPS);
            double inflight = seen.inflight();
            long verified = seen.verified();
            if (!(inflight >= SETTLES + TOPUPS && verified == TOPUPS)) {
                StringBuilder why = new StringBuilder();
                for (Future<ApiClient.Response> pay : pays) {
                    if (pay.isDone()) {
                        try {
                            why.append(pay.get().text()).append('\n');
                        } catch (Exception e) {
                            why.append(e).append('\n');
                        }
                    }
                }
                why.append("paying ").append(paying.get()).append(", settles done ")
                        .append(settles.stream().filter(Future::isDone).count()).append('\n');
                try (Connection c = GatewayProcess.connectToDatabase(dataDir);
                     ResultSet rs = c.createStatement().executeQuery("SELECT string_agg(state || '@' || updated_at, ',') FROM topups")) {
                    rs.next();
                    why.append(rs.getString(1));
                }
                throw new AssertionError("50 requests in flight before the signal: inflight " + inflight
                        + ", verified top-ups " + verified + "\n" + why);
            }

            long signalled = System.nanoTime();
            first.terminate();
            // Readiness is DOWN from the first moment, while the node still serves for the grace. The
            // signal itself takes a moment to reach a busy child: poll until 503, well inside the grace.
            assertEquals(503, awaitReadyDown(first, signalled), "readiness right after SIGTERM");

            Thread.sleep(GRACE_MILLIS + 500);
            // After the grace: a new request is turned away (503 + Retry-After) or refused.
            NewRequest late = newRequest(first.baseUrl());
            assertTrue(late.refused() || (late.status() == 503 && late.retryAfter() != null),
                    "a new request after the grace: " + late);

            for (int i = 0; i < SETTLES; i++) {
                ApiClient.Response r = settles.get(i).get(AWAIT_MILLIS, TimeUnit.MILLISECONDS);
                assertEquals(200, r.status(), "settle " + tripIds.get(i) + ": " + r.text());
                assertEquals("SETTLED", r.json().getString("state"), r.text());
            }
            for (int i = 0; i < TOPUPS; i++) {
                ApiClient.Response callback = pays.get(i).get(AWAIT_MILLIS, TimeUnit.MILLISECONDS);
                assertEquals(200, callback.status(), "the held callback completed: " + callback.text());
                assertEquals("CREDITED", callback.json().getString("state"), callback.text());
            }

            int status = first.awaitExit(EXIT_TIMEOUT_MILLIS);
            long exitedMillis = (System.nanoTime() - signalled) / 1_000_000;
            System.out.printf("shutdown drain: %d settles + %d top-ups in flight; exited %d after %d ms (deadline %d ms + grace %d ms)%n",
                    SETTLES, TOPUPS, status, exitedMillis, DRAIN_MILLIS, GRACE_MILLIS);
            assertEquals(0, status, tail(first.output(), 40));
            assertFalse(first.output().contains(DRAIN_DEADLINE_LOG_LINE), "drained everything before the deadline:\n"
                    + tail(first.output(), 40));

            // The journal: nothing left incomplete for any of them.
            Map<String, JournalScans.IncompleteEntry> incomplete = JournalScans.incomplete(dataDir.resolve("journal"), 0);
            for (String tripId : tripIds) {
                assertFalse(incomplete.containsKey("trip/" + tripId), "incomplete in the journal: trip " + tripId);
            }
            for (String topupId : topupIds) {
                assertFalse(incomplete.containsKey("topup/" + topupId), "incomplete in the journal: top-up " + topupId);
            }

            second = GatewayProcess.start(dataDir, port, env);
            assertEquals(0.0, second.metric(DRAIN_CUT_OFF_METRIC), "a stop that drained everything is no cut-off");
            ApiClient again = second.api();
            for (int i = 0; i < SETTLES; i++) {
                assertEquals("SETTLED", again.get("/v1/trips/" + tripIds.get(i)).json().getString("state"));
                assertEquals(FUNDS_RIALS - FARE_RIALS, again.balance(passengers.get(i)), "passenger charged once");
                assertEquals(FARE_RIALS, again.balance(drivers.get(i)), "driver credited once");
            }
            for (int i = 0; i < TOPUPS; i++) {
                assertEquals("CREDITED", again.get("/v1/topups/" + topupIds.get(i)).json().getString("state"));
                assertEquals(TOPUP_RIALS, again.balance(topupWallets.get(i)), "top-up credited once");
                JsonObject atBank = psp.payment(authorities.get(i));
                assertEquals(1, atBank.getInteger("verifySuccesses"), atBank.encode());
            }
            Sql.assertLedgerAddsUp(dataDir);
        } finally {
            psp.resetFaults();
            clients.shutdownNow();
            GatewayProcess.stop(first, second);
        }
    }

    // ---- (2) SIGTERM with work that cannot finish by the deadline ---------------------------

    private static final int STUCK_SETTLES = 3;
    private static final long STUCK_HOLD_MILLIS = 15_000;
    private static final long SHORT_DRAIN_MILLIS = 2000;

    @Test
    void sigtermAtTheDeadlineLeavesWorkToRecovery() throws Exception {
        Path dataDir = TestGateway.tempDir("shutdown-deadline-");
        int port = TestGateway.freePort();
        Map<String, String> stuck = new HashMap<>();
        stuck.put("TARAZ_FAILPOINTS", "trip.settle.before-commit=delay(" + STUCK_HOLD_MILLIS + ")");
        stuck.put("TARAZ_DRAIN_TIMEOUT_MS", Long.toString(SHORT_DRAIN_MILLIS));
        stuck.put("TARAZ_READINESS_GRACE_MS", "0");

        GatewayProcess first = GatewayProcess.start(dataDir, port, stuck);
        GatewayProcess second = null;
        ExecutorService clients = Executors.newFixedThreadPool(STUCK_SETTLES);
        try {
            ApiClient api = first.api();
            List<String> passengers = new ArrayList<>();
            List<String> drivers = new ArrayList<>();
            List<String> tripIds = new ArrayList<>();
            List<String> keys = new ArrayList<>();
            List<Future<ApiClient.Response>> settles = new ArrayList<>();
            for (int i = 0; i < STUCK_SETTLES; i++) {
                passengers.add(api.openWallet("passenger"));
                api.fund(passengers.get(i), FUNDS_RIALS);
                drivers.add(api.openWallet("driver"));
                tripIds.add(ApiClient.newId("deadline"));
                keys.add(ApiClient.newKey());
            }
            for (int i = 0; i < STUCK_SETTLES; i++) {
                String path = "/v1/trips/" + tripIds.get(i) + "/settle";
                String key = keys.get(i);
                JsonObject body = settleBody(passengers.get(i), drivers.get(i));
                settles.add(clients.submit(() -> api.post(path, key, body)));
            }
            first.awaitMetric("taraz_inflight_transactions", inflight -> inflight >= STUCK_SETTLES, AWAIT_MILLIS);

            assertEquals(0.0, first.metric(DRAIN_CUT_OFF_METRIC), "no stop on this data directory reached its deadline yet");
            long signalledEpochSeconds = System.currentTimeMillis() / 1000;
            long signalled = System.nanoTime();
            first.terminate();
            int status = first.awaitExit(EXIT_TIMEOUT_MILLIS);
            long exitedMillis = (System.nanoTime() - signalled) / 1_000_000;
            System.out.printf("shutdown deadline: %d settles held %d ms; exited %d after %d ms (drain deadline %d ms)%n",
                    STUCK_SETTLES, STUCK_HOLD_MILLIS, status, exitedMillis, SHORT_DRAIN_MILLIS);
            assertEquals(0, status, tail(first.output(), 40));
            // It waited for the deadline and stopped there with the held work still running, not at its end
            // (the journal below shows each settle let go of at the deadline).
            assertTrue(first.output().contains(DRAIN_DEADLINE_LOG_LINE), "stopped at the drain deadline:\n" + tail(first.output(), 40));

            // The clients lose their connections (expected); none of them was told "settled".
            for (Future<ApiClient.Response> settle : settles) {
                try {
                    ApiClient.Response r = settle.get(AWAIT_MILLIS, TimeUnit.MILLISECONDS);
                    assertTrue(r.status() >= 500, "a cut-off settle cannot succeed: " + r.status() + " " + r.text());
                } catch (java.util.concurrent.ExecutionException e) {
                    assertTrue(e.getCause() instanceof UncheckedIOException, String.valueOf(e.getCause()));
                }
            }

            // The journal says each one was let go of at the deadline.
            Map<String, List<JournalRecord>> journaled = journal(dataDir, tripIds);
            for (String tripId : tripIds) {
                List<JournalRecord> records = journaled.get(tripId);
                JournalRecord last = records.get(records.size() - 1);
                assertEquals(JournalRecord.Status.PENDING, last.status(), "trip " + tripId + ": " + records);
                assertTrue(last.cause() != null && last.cause().contains("interrupted"), "trip " + tripId + ": " + records);
            }

            second = GatewayProcess.start(dataDir, port, Map.of());
            // The stopped process could not be scraped at its deadline; the next start on its data directory says when.
            double cutOff = second.metric(DRAIN_CUT_OFF_METRIC);
            assertTrue(cutOff >= signalledEpochSeconds && cutOff <= System.currentTimeMillis() / 1000.0,
                    "the cut-off's time, between the signal and now: " + cutOff);
            ApiClient again = second.api();
            for (int i = 0; i < STUCK_SETTLES; i++) {
                assertEquals("SETTLED", again.get("/v1/trips/" + tripIds.get(i)).json().getString("state"), tail(second.output(), 40));
                assertEquals(FUNDS_RIALS - FARE_RIALS, again.balance(passengers.get(i)), "recovery charged once");
                assertEquals(FARE_RIALS, again.balance(drivers.get(i)));
            }
            Map<String, List<JournalRecord>> after = journal(dataDir, tripIds);
            for (String tripId : tripIds) {
                long settled = after.get(tripId).stream().filter(r -> r.state().equals("SETTLED")).count();
                assertEquals(1, settled, "recovery finished trip " + tripId + " once: " + after.get(tripId));
                assertEquals(1, countRows(dataDir, "SELECT count(*) FROM transfers WHERE kind = 'trip_settle' AND payment_id = ?",
                        tripId), "one settlement transfer for " + tripId);
            }
            // The client retries with its key: 200, nothing charged again.
            for (int i = 0; i < STUCK_SETTLES; i++) {
                ApiClient.Response retry = again.post("/v1/trips/" + tripIds.get(i) + "/settle", keys.get(i),
                        settleBody(passengers.get(i), drivers.get(i)));
                assertEquals(200, retry.status(), retry.text());
                assertEquals("SETTLED", retry.json().getString("state"));
                assertEquals(FUNDS_RIALS - FARE_RIALS, again.balance(passengers.get(i)), "the retry charged nothing");
            }
            Sql.assertLedgerAddsUp(dataDir);
        } finally {
            clients.shutdownNow();
            GatewayProcess.stop(first, second);
        }
    }

    // ---- (3) readiness: DOWN from the first moment of a stop, and until boot recovery ends ----

    /** How long the restart's recovery holds the trip (a delay failpoint), so that the boot can be watched. */
    private static final long RECOVERY_HOLD_MILLIS = 3000;
    private static final long READY_TIMEOUT_MILLIS = 180_000;
    /** Readiness is sampled this often while the restart boots, to watch it DOWN during recovery. */
    private static final Duration BOOT_POLL = Duration.ofMillis(50);

    @Test
    void readinessIsDownFromShutdownUntilRecoveryEnds() throws Exception {
        Path dataDir = TestGateway.tempDir("shutdown-ready-");
        int port = TestGateway.freePort();
        GatewayProcess crashing = GatewayProcess.start(dataDir, port, Map.of("TARAZ_FAILPOINTS", "trip.settle.before-commit=crash"));
        GatewayProcess second = null;
        try {
            ApiClient api = crashing.api();
            String passenger = api.openWallet("passenger");
            api.fund(passenger, FUNDS_RIALS);
            String driver = api.openWallet("driver");
            String tripId = ApiClient.newId("ready");
            assertThrows(UncheckedIOException.class, () -> api.post("/v1/trips/" + tripId + "/settle", ApiClient.newKey(),
                    settleBody(passenger, driver)), "the process dies mid-settle");
            assertEquals(Failpoints.CRASH_EXIT_STATUS, crashing.awaitExit(EXIT_TIMEOUT_MILLIS), crashing.output());

            // The restart: recovery settles the trip, held a while by a delay so the boot can be watched.
            Map<String, String> env = new HashMap<>();
            env.put("TARAZ_FAILPOINTS", "trip.settle.before-commit=delay(" + RECOVERY_HOLD_MILLIS + ")");
            env.put("TARAZ_READINESS_GRACE_MS", "2000");
            second = GatewayProcess.spawn(dataDir, port, env);
            AtomicInteger downWhileUnsettled = new AtomicInteger();
            AtomicInteger polls = new AtomicInteger();
            List<String> phases = new CopyOnWriteArrayList<>();
            GatewayProcess booting = second;
            Wait.until("the restart ready", READY_TIMEOUT_MILLIS, BOOT_POLL, () -> {
                assertTrue(booting.isAlive(), "the restart died:\n" + booting.output());
                NewRequest ready = get(booting.baseUrl(), "/health/ready");
                polls.incrementAndGet();
                if (ready.status() == 200) {
                    // The first 200: recovery must be over, the trip SETTLED in the database.
                    assertEquals("SETTLED", tripState(dataDir, tripId), "readiness UP before recovery settled the trip");
                    return true;
                }
                if (ready.status() == 503) {
                    String phase = ready.body() == null ? "" : ready.body().replaceAll("(?s).*\"phase\"\\s*:\\s*\"([A-Z]+)\".*", "$1");
                    if (phases.isEmpty() || !phases.get(phases.size() - 1).equals(phase)) {
                        phases.add(phase);
                    }
                    if (!"SETTLED".equals(tripState(dataDir, tripId))) {
                        downWhileUnsettled.incrementAndGet();
                    }
                }
                return false;
            }, Boolean.TRUE::equals);
            System.out.printf("readiness on boot: %d polls, %d answered 503 while the trip was not yet settled; phases seen %s%n",
                    polls.get(), downWhileUnsettled.get(), phases);
            assertTrue(downWhileUnsettled.get() > 0, "readiness was watched DOWN during recovery: phases " + phases);
            assertTrue(phases.contains("RECOVERING"), "phases seen: " + phases);
            assertEquals(FUNDS_RIALS - FARE_RIALS, second.api().balance(passenger));

            long signalled = System.nanoTime();
            second.terminate();
            // DOWN from the first moment: the node still serves (grace 2 s), and says 503 as soon
            // as the signal has reached it.
            assertEquals(503, awaitReadyDown(second, signalled), "readiness right after SIGTERM");
            assertEquals(0, second.awaitExit(EXIT_TIMEOUT_MILLIS), tail(second.output(), 40));
        } finally {
            GatewayProcess.stop(crashing, second);
        }
    }

    // ---- helpers ----------------------------------------------------------------------------

    private static JsonObject settleBody(String passenger, String driver) {
        return new JsonObject().put("passengerWalletId", passenger).put("driverWalletId", driver)
                .put("fare", FARE_RIALS).put("commission", 0);
    }

    /** A request on a fresh connection: its status and headers, or refused (an I/O error). */
    /** What was in flight on a node: the gauge, and the top-ups waiting VERIFIED in their callbacks. */
    private record InFlight(double inflight, long verified) {}

    record NewRequest(int status, String retryAfter, String body, String error) {
        boolean refused() {
            return error != null;
        }
    }

    private static NewRequest newRequest(String baseUrl) {
        String body = new JsonObject().put("ownerId", ApiClient.newId("late")).put("kind", "passenger").encode();
        return answer(ApiClient.http11(baseUrl).trySend("POST", "/v1/wallets", Map.of("Content-Type", "application/json",
                "Idempotency-Key", ApiClient.newKey()), body, NEW_REQUEST_TIMEOUT));
    }

    private static NewRequest get(String baseUrl, String path) {
        return answer(ApiClient.http11(baseUrl).tryGet(path, PROBE_TIMEOUT));
    }

    private static NewRequest answer(Optional<ApiClient.Response> response) {
        return response.map(r -> new NewRequest(r.status(), r.header("Retry-After"), r.text(), null))
                .orElseGet(() -> new NewRequest(-1, null, null, "no answer (connection refused, reset or timed out)"));
    }

    /**
     * Polls /health/ready from the signal until it answers anything but 200, for at most 400 ms
     * (under the 500 ms grace, so a 503 is still served rather than the port closed); returns that status.
     */
    private static int awaitReadyDown(GatewayProcess child, long signalledNanos) throws InterruptedException {
        int status;
        int polls = 0;
        do {
            status = child.readyStatus();
            polls++;
        } while (status == 200 && System.nanoTime() - signalledNanos < 400_000_000L);
        System.out.printf("readiness after SIGTERM: %d after %d poll(s), %d ms%n", status, polls,
                (System.nanoTime() - signalledNanos) / 1_000_000);
        return status;
    }


    /** The trip's state in the child's embedded PostgreSQL, or null (no row, or the database not up yet). */
    private static String tripState(Path dataDir, String tripId) {
        try (Connection c = GatewayProcess.connectToDatabase(dataDir);
             PreparedStatement s = c.prepareStatement("SELECT state FROM trips WHERE trip_id = ?")) {
            s.setString(1, tripId);
            try (ResultSet rs = s.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        } catch (Exception e) {
            return null;
        }
    }

    static long countRows(Path dataDir, String sql, Object... args) throws Exception {
        try (Connection c = GatewayProcess.connectToDatabase(dataDir)) {
            return Sql.count(c, sql, args);
        }
    }

    private static Map<String, List<JournalRecord>> journal(Path dataDir, List<String> paymentIds) {
        Map<String, List<JournalRecord>> records = new HashMap<>();
        for (String id : paymentIds) {
            records.put(id, new ArrayList<>());
        }
        JournalReader.read(dataDir.resolve("journal"), 0, (record, index) -> {
            List<JournalRecord> list = records.get(record.paymentId());
            if (list != null) {
                list.add(record);
            }
        });
        for (String id : paymentIds) {
            assertFalse(records.get(id).isEmpty(), "no journal record for " + id);
        }
        return records;
    }

    static String tail(String text, int lines) {
        String[] all = text.split("\n");
        return String.join("\n", java.util.Arrays.copyOfRange(all, Math.max(0, all.length - lines), all.length));
    }
}
