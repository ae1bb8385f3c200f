package taraz.cluster;

import taraz.support.Wait;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import taraz.db.Database;
import taraz.db.EmbeddedDatabase;
import taraz.support.ApiClient;
import taraz.support.GatewayProcess;
import taraz.support.Haproxy;
import taraz.support.TestGateway;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Two real gateway processes (a, b) on one external PostgreSQL, HAProxy in front of them with the
 * shipped {@code conf/haproxy.cfg}, a steady load of trip settlements through HAProxy, and a
 * rolling restart (SIGTERM a, wait for it to exit 0, start it again on the same data directory and
 * port, wait until HAProxy has it back in rotation; then the same for b). b is then restarted once
 * more after running without a readiness grace, so that HAProxy's own retries (retry-on 503 /
 * conn-failure, keyed POSTs only) are exercised too. Every client request must finally succeed, and every trip must be
 * settled exactly once: one {@code trip:<id>:settle} transfer each, each passenger's balance its
 * funding minus its fares, the sum of all balances 0.
 *
 * <p>The client retries (same Idempotency-Key, bounded attempts) on a 503/502/504, on 409
 * request_in_progress and on a connection error, like a real client would; HAProxy is expected to
 * absorb a restart by itself, so the printed number of client retries should be 0 or close to it.
 */
class RollingRestartTest {

    private static final int CLIENT_THREADS = 2;
    /** The load's bound; it normally stops earlier, when the rolling restart is done. */
    private static final int MAX_REQUESTS = 2000;
    /** Pace of each client thread: a steady load, not a benchmark. */
    private static final long PAUSE_BETWEEN_REQUESTS_MILLIS = 50;
    private static final int MAX_ATTEMPTS = 20;
    private static final long RETRY_PAUSE_MILLIS = 250;

    private static final int PASSENGERS = 4;
    private static final long FUNDING_RIALS = 1_000_000_000L;

    private static final long READINESS_GRACE_MILLIS = 2000;
    private static final long DRAIN_TIMEOUT_MILLIS = 15_000;
    private static final long EXIT_TIMEOUT_MILLIS = 90_000;
    private static final long HAPROXY_TIMEOUT_MILLIS = 60_000;
    private static final long WARM_UP_TIMEOUT_MILLIS = 60_000;
    private static final long LOAD_END_TIMEOUT_MILLIS = 180_000;
    private static final int WARM_UP_REQUESTS = 50;


    @Test
    void rollingRestartBehindHaproxyLosesNothing() throws Exception {
        Optional<Path> haproxyBinary = Haproxy.binary();
        assumeTrue(haproxyBinary.isPresent(), "haproxy is not installed (apt-get install -y haproxy)");

        Path base = TestGateway.tempDir("rolling-");
        EmbeddedDatabase database = EmbeddedDatabase.start(base.resolve("shared-postgres"));
        Node a = new Node("a", base.resolve("node-a"), TestGateway.freePort());
        Node b = new Node("b", base.resolve("node-b"), TestGateway.freePort());
        int lbPort = TestGateway.freePort();
        Path haproxyLog = base.resolve("haproxy.log");
        Haproxy haproxy = null;
        Load load = null;
        try {
            Map<String, String> common = new HashMap<>();
            common.put("TARAZ_PG_URL", database.pgUrl());
            common.put("TARAZ_READINESS_GRACE_MS", Long.toString(READINESS_GRACE_MILLIS));
            common.put("TARAZ_DRAIN_TIMEOUT_MS", Long.toString(DRAIN_TIMEOUT_MILLIS));
            // Trips never call the PSP; a closed port is enough.
            common.put("TARAZ_PSP_URL", "http://127.0.0.1:9");
            a.env = env(common, a);
            b.env = env(common, b);
            a.process = GatewayProcess.start(a.dataDir, a.port, a.env);
            b.process = GatewayProcess.start(b.dataDir, b.port, b.env);

            haproxy = Haproxy.start(haproxyBinary.get(), Map.of("TARAZ_LB_PORT", Integer.toString(lbPort),
                    "TARAZ_PUBLIC_PORT", Integer.toString(TestGateway.freePort()),
                    "TARAZ_A_PORT", Integer.toString(a.port), "TARAZ_B_PORT", Integer.toString(b.port)), haproxyLog);
            String lb = "http://127.0.0.1:" + lbPort;
            haproxy.awaitRouting(lb);

            ApiClient api = new ApiClient(lb);
            List<String> passengers = new ArrayList<>();
            for (int i = 0; i < PASSENGERS; i++) {
                String passenger = api.openWallet("passenger");
                api.fund(passenger, FUNDING_RIALS);
                passengers.add(passenger);
            }
            String driver = api.openWallet("driver");

            load = new Load(lb, passengers, driver);
            load.start();
            load.awaitCompleted(WARM_UP_REQUESTS, WARM_UP_TIMEOUT_MILLIS);

            // The rolling restart: a, then b. b comes back without a readiness grace and is restarted
            // once more: that stop turns requests away (503, then a closed port) before HAProxy's check
            // has noticed, so HAProxy's own retries (retry-on, redispatch) must hide it from clients.
            Map<String, String> noGrace = new HashMap<>(b.env);
            noGrace.put("TARAZ_READINESS_GRACE_MS", "0");
            List<Restart> restarts = List.of(new Restart(a, a.env), new Restart(b, noGrace), new Restart(b, b.env));
            List<Integer> exitStatuses = new ArrayList<>();
            for (Restart restart : restarts) {
                Node node = restart.node();
                int upBefore = count(haproxyLog, "Server taraz/" + node.name + " is UP");
                int retriedBefore = haproxyRetried(haproxyLog);
                long t = System.nanoTime();
                node.process.terminate();
                int status = node.process.awaitExit(EXIT_TIMEOUT_MILLIS);
                exitStatuses.add(status);
                System.out.printf("rolling restart: node %s (grace %s ms) exited with %d after %d ms (%d requests completed so far)%n",
                        node.name, node.grace, status, (System.nanoTime() - t) / 1_000_000, load.completed.get());
                if (status != 0) {
                    System.out.println("node " + node.name + " output:\n" + tail(node.process.output(), 60));
                }
                node.process = GatewayProcess.start(node.dataDir, node.port, restart.env());
                node.grace = restart.env().get("TARAZ_READINESS_GRACE_MS");
                awaitLogCount(haproxyLog, "Server taraz/" + node.name + " is UP", upBefore + 1, HAPROXY_TIMEOUT_MILLIS);
                System.out.printf("rolling restart: node %s back in rotation after %d ms; HAProxy retried %d request(s) meanwhile%n",
                        node.name, (System.nanoTime() - t) / 1_000_000, haproxyRetried(haproxyLog) - retriedBefore);
            }
            // Some load on the restarted pair, then stop it.
            load.awaitCompleted(load.completed.get() + WARM_UP_REQUESTS, WARM_UP_TIMEOUT_MILLIS);
            load.stopAndJoin(LOAD_END_TIMEOUT_MILLIS);

            Load l = load;
            System.out.printf("rolling restart load: %d requests sent%s, %d succeeded, %d failed, %d client retries %s, "
                            + "max latency %d ms, haproxy redispatched/retried %d request(s)%n",
                    l.sent.get(), l.sent.get() >= MAX_REQUESTS ? " (the cap; the load ended before the restart did)" : "",
                    l.succeeded.get(), l.failures.size(), l.retries.get(), l.retryCauses,
                    l.maxLatencyNanos.get() / 1_000_000, haproxyRetried(haproxyLog));

            List<Executable> checks = new ArrayList<>();
            checks.add(() -> assertEquals(List.of(0, 0, 0), exitStatuses,
                    "a graceful stop (SIGTERM) exits 0; a: " + tail(a.process.output(), 5)));
            checks.add(() -> assertEquals(List.of(), new ArrayList<>(l.failures), "client requests that never succeeded"));
            checks.add(() -> assertTrue(l.sent.get() > 2 * WARM_UP_REQUESTS, "the load ran"));
            checks.addAll(ledgerChecks(database.pgUrl(), l, passengers, driver));
            assertAll(checks);
        } finally {
            if (load != null) {
                load.stopAndJoin(LOAD_END_TIMEOUT_MILLIS);
            }
            if (haproxy != null) {
                haproxy.close();
            }
            for (Node node : List.of(a, b)) {
                if (node.process != null) {
                    node.process.close();
                }
            }
            database.close();
        }
    }

    // ---- the nodes --------------------------------------------------------------------------

    private static final class Node {
        final String name;
        final Path dataDir;
        final int port;
        Map<String, String> env;
        GatewayProcess process;
        /** The readiness grace of the running process (for the printout). */
        String grace = Long.toString(READINESS_GRACE_MILLIS);

        Node(String name, Path dataDir, int port) {
            this.name = name;
            this.dataDir = dataDir;
            this.port = port;
        }
    }

    /** Stop a node, then start it again with this environment. */
    private record Restart(Node node, Map<String, String> env) {}

    private static Map<String, String> env(Map<String, String> common, Node node) {
        Map<String, String> env = new HashMap<>(common);
        env.put("TARAZ_NODE_ID", node.name);
        return env;
    }

    // ---- the load ---------------------------------------------------------------------------

    private record Trip(String tripId, String passenger, long fare, long commission) {}

    /** Client threads settling fresh trips through the load balancer, each retried with its own key. */
    private static final class Load {
        final ApiClient client;
        final List<String> passengers;
        final String driver;
        final AtomicBoolean stop = new AtomicBoolean();
        final AtomicInteger sent = new AtomicInteger();
        final AtomicInteger completed = new AtomicInteger();
        final AtomicInteger succeeded = new AtomicInteger();
        final AtomicInteger retries = new AtomicInteger();
        final Map<String, AtomicInteger> retryCauses = new ConcurrentHashMap<>();
        final AtomicLong maxLatencyNanos = new AtomicLong();
        /** Every trip a client sent (added before its first attempt). */
        final ConcurrentLinkedQueue<Trip> trips = new ConcurrentLinkedQueue<>();
        final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        final List<Thread> threads = new ArrayList<>();

        Load(String lb, List<String> passengers, String driver) {
            this.client = ApiClient.http11(lb);
            this.passengers = passengers;
            this.driver = driver;
        }

        void start() {
            for (int t = 0; t < CLIENT_THREADS; t++) {
                Thread thread = new Thread(this::run, "rolling-load-" + t);
                thread.setDaemon(true);
                threads.add(thread);
                thread.start();
            }
        }

        private void run() {
            while (!stop.get()) {
                int n = sent.incrementAndGet();
                if (n > MAX_REQUESTS) {
                    sent.decrementAndGet();
                    return;
                }
                String passenger = passengers.get(n % passengers.size());
                long fare = 10_000 + (n % 13) * 1_000L;
                long commission = fare / 5;
                Trip trip = new Trip(ApiClient.newId("trip"), passenger, fare, commission);
                trips.add(trip);
                settle(trip);
                completed.incrementAndGet();
                pause(PAUSE_BETWEEN_REQUESTS_MILLIS);
            }
        }

        private void settle(Trip trip) {
            String key = ApiClient.newKey();
            String body = new JsonObject().put("passengerWalletId", trip.passenger()).put("driverWalletId", driver)
                    .put("fare", trip.fare()).put("commission", trip.commission()).encode();
            Map<String, String> headers = Map.of("Content-Type", "application/json", "Idempotency-Key", key);
            long started = System.nanoTime();
            String last = null;
            for (int attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
                String cause;
                try {
                    ApiClient.Response response = client.send("POST", "/v1/trips/" + trip.tripId() + "/settle", headers, body);
                    int status = response.status();
                    if (status == 200) {
                        succeeded.incrementAndGet();
                        maxLatencyNanos.accumulateAndGet(System.nanoTime() - started, Math::max);
                        return;
                    }
                    last = status + " " + response.text();
                    if (status != 503 && status != 502 && status != 504 && status != 409) {
                        failures.add(trip.tripId() + ": " + last);
                        return;
                    }
                    cause = Integer.toString(status);
                } catch (UncheckedIOException e) {
                    last = e.getCause().toString();
                    cause = e.getCause().getClass().getSimpleName();
                }
                if (attempt < MAX_ATTEMPTS) {
                    retries.incrementAndGet();
                    retryCauses.computeIfAbsent(cause, c -> new AtomicInteger()).incrementAndGet();
                    pause(RETRY_PAUSE_MILLIS);
                }
            }
            failures.add(trip.tripId() + ": gave up after " + MAX_ATTEMPTS + " attempts, last " + last);
        }

        void awaitCompleted(int count, long timeoutMillis) {
            try {
                Wait.until("the load completes " + count + " requests", timeoutMillis,
                        () -> completed.get() >= count || sent.get() >= MAX_REQUESTS);
            } catch (AssertionError e) {
                throw new AssertionError("the load completed only " + completed.get() + " of " + count
                        + " requests within " + timeoutMillis + " ms; failures: " + failures, e);
            }
        }

        void stopAndJoin(long timeoutMillis) throws InterruptedException {
            stop.set(true);
            long deadline = System.currentTimeMillis() + timeoutMillis;
            for (Thread thread : threads) {
                thread.join(Math.max(1, deadline - System.currentTimeMillis()));
                if (thread.isAlive()) {
                    throw new AssertionError("a load thread did not end within " + timeoutMillis + " ms");
                }
            }
        }

        private static void pause(long millis) {
            try {
                Thread.sleep(millis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    // ---- the ledger, read from the shared PostgreSQL ---------------------------------------

    private static List<Executable> ledgerChecks(String pgUrl, Load load, List<String> passengers, String driver) throws Exception {
        Database.Jdbc jdbc = Database.jdbc(pgUrl);
        Map<String, Integer> settleTransfers = new HashMap<>();
        Map<String, String> tripStates = new HashMap<>();
        Map<String, Long> balances = new HashMap<>();
        long sum;
        long mismatched;
        try (Connection c = DriverManager.getConnection(jdbc.url(), jdbc.user(), jdbc.password())) {
            try (ResultSet rs = c.createStatement().executeQuery(
                    "SELECT payment_id, count(*) FROM transfers WHERE kind = 'trip_settle' GROUP BY payment_id")) {
                while (rs.next()) {
                    settleTransfers.put(rs.getString(1), rs.getInt(2));
                }
            }
            try (ResultSet rs = c.createStatement().executeQuery("SELECT id FROM transfers WHERE kind = 'trip_settle'")) {
                while (rs.next()) {
                    Matcher m = Pattern.compile("trip:(.+):settle").matcher(rs.getString(1));
                    if (!m.matches()) {
                        settleTransfers.merge("(badly named " + rs.getString(1) + ")", 1, Integer::sum);
                    }
                }
            }
            try (ResultSet rs = c.createStatement().executeQuery("SELECT trip_id, state FROM trips")) {
                while (rs.next()) {
                    tripStates.put(rs.getString(1), rs.getString(2));
                }
            }
            try (ResultSet rs = c.createStatement().executeQuery("SELECT id, balance_rials FROM accounts")) {
                while (rs.next()) {
                    balances.put(rs.getString(1), rs.getLong(2));
                }
            }
            try (ResultSet rs = c.createStatement().executeQuery("SELECT (SELECT coalesce(sum(balance_rials), 0) FROM accounts), "
                    + "(SELECT count(*) FROM accounts a WHERE balance_rials <> coalesce((SELECT sum(amount_rials) "
                    + "FROM entries e WHERE e.account_id = a.id), 0))")) {
                rs.next();
                sum = rs.getLong(1);
                mismatched = rs.getLong(2);
            }
        }

        List<Trip> trips = new ArrayList<>(load.trips);
        List<String> notOnce = new ArrayList<>();
        List<String> notSettled = new ArrayList<>();
        Map<String, Long> expected = new HashMap<>();
        long driverExpected = 0;
        long commissionExpected = 0;
        for (String passenger : passengers) {
            expected.put(passenger, FUNDING_RIALS);
        }
        for (Trip trip : trips) {
            int n = settleTransfers.getOrDefault(trip.tripId(), 0);
            if (n != 1) {
                notOnce.add(trip.tripId() + " x" + n);
            }
            if (!"SETTLED".equals(tripStates.get(trip.tripId()))) {
                notSettled.add(trip.tripId() + " " + tripStates.get(trip.tripId()));
            }
            if (n > 0) {
                expected.merge(trip.passenger(), -n * trip.fare(), Long::sum);
                driverExpected += n * (trip.fare() - trip.commission());
                commissionExpected += n * trip.commission();
            }
        }
        Map<String, Long> actualPassengers = new HashMap<>();
        for (String passenger : passengers) {
            actualPassengers.put(passenger, balances.get(passenger));
        }
        long tripsSent = trips.size();
        long drivers = driverExpected;
        long commissions = commissionExpected;
        long settleTransferCount = settleTransfers.values().stream().mapToLong(Integer::longValue).sum();
        System.out.printf("rolling restart ledger: %d trips sent, %d settle transfers, sum of balances %d%n",
                tripsSent, settleTransferCount, sum);
        return List.of(
                () -> assertEquals(List.of(), notOnce, "trips not settled exactly once (one trip:<id>:settle transfer)"),
                () -> assertEquals(List.of(), notSettled, "trips not SETTLED"),
                () -> assertEquals(tripsSent, settleTransferCount, "settle transfers in the ledger vs trips the clients sent"),
                () -> assertEquals(expected, actualPassengers, "each passenger: funding minus the fares of its trips"),
                () -> assertEquals(drivers, balances.get(driver), "driver: fares minus commissions"),
                () -> assertEquals(commissions, balances.get("platform-commission"), "platform: the commissions"),
                () -> assertEquals(0, sum, "sum of all balances"),
                () -> assertEquals(0, mismatched, "accounts whose balance differs from their entries"));
    }

    // ---- HAProxy ----------------------------------------------------------------------------

    private static void awaitLogCount(Path log, String text, int count, long timeoutMillis) throws IOException {
        try {
            Wait.until("haproxy logs \"" + text + "\" " + count + " time(s)", timeoutMillis, () -> count(log, text) >= count);
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + ":\n" + tail(Files.readString(log), 40), e);
        }
    }

    private static int count(Path log, String text) throws IOException {
        if (!Files.exists(log)) {
            return 0;
        }
        String all = Files.readString(log);
        int n = 0;
        for (int i = all.indexOf(text); i >= 0; i = all.indexOf(text, i + text.length())) {
            n++;
        }
        return n;
    }

    /**
     * Requests HAProxy retried itself, from its httplog lines: the fifth number of the
     * "actconn/feconn/beconn/srv_conn/retries" field, with a '+' when it was redispatched.
     */
    private static int haproxyRetried(Path log) throws IOException {
        Pattern conns = Pattern.compile(" [-A-Za-z]{4} \\d+/\\d+/\\d+/\\d+/(\\+?)(\\d+) \\d+/\\d+ \"");
        int n = 0;
        for (String line : Files.readAllLines(log)) {
            if (!line.contains("/v1/trips/")) {
                continue;
            }
            Matcher m = conns.matcher(line);
            if (m.find() && (!m.group(1).isEmpty() || Integer.parseInt(m.group(2)) > 0)) {
                n++;
            }
        }
        return n;
    }

    private static String tail(String text, int lines) {
        String[] all = text.split("\n");
        return String.join("\n", java.util.Arrays.copyOfRange(all, Math.max(0, all.length - lines), all.length));
    }
}
