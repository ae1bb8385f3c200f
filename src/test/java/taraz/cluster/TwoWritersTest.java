package taraz.cluster;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import taraz.db.EmbeddedDatabase;
import taraz.support.ApiClient;
import taraz.support.GatewayProcess;
import taraz.support.Sql;
import taraz.support.TestGateway;

import java.nio.file.Path;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 11, point 4: two nodes' writers on one PostgreSQL never deadlock. Two gateway processes
 * (a, b) share one database and a few passengers and drivers; each gets 300 requests from 8
 * clients at once, settles without a hold and holds then settles, and they walk the shared
 * wallets in opposite orders, so that their transactions lock the same accounts (and the
 * platform-commission row) in both orders unless the writer sorts its locks. Some trips are
 * settled through both nodes at once, with the same body and each node's own key. One passenger
 * is funded for a few fares only, so some commands fail alone with insufficient_funds.
 *
 * <p>Every answer is a 2xx or 402 insufficient_funds (no 5xx: a deadlock, 40P01, would surface
 * as one, and neither log may name it); every trip answered SETTLED is charged exactly once and
 * no other trip at all; every wallet holds exactly what the answers say; the ledger adds up.
 */
class TwoWritersTest {

    private static final int REQUESTS_PER_NODE = 300;
    private static final int CLIENTS_PER_NODE = 8;
    private static final int RICH_PASSENGERS = 3;
    private static final int DRIVERS = 3;
    /** Every fifth operation of a node settles a trip the other node settles at the same position. */
    private static final int SHARED_EVERY = 5;
    private static final long RICH_FUNDS_RIALS = 1_000_000_000L;
    /** The poor passenger affords about four fares. */
    private static final long POOR_FUNDS_RIALS = 400_000;
    private static final long FARE_MIN_RIALS = 10_000;
    private static final long FARE_SPREAD_RIALS = 190_000;
    /** A hold reserves more than the fare; the settle posts the fare and releases the rest. */
    private static final long HOLD_EXTRA_RIALS = 10_000;
    private static final long SEED = 11;
    private static final long LOAD_TIMEOUT_SECONDS = 100;

    /** One trip payment: its wallets and amounts, and whether it is held first. */
    private record Trip(String tripId, String passenger, String driver, long fareRials, long commissionRials, boolean held) {
        JsonObject settleBody() {
            return new JsonObject().put("passengerWalletId", passenger).put("driverWalletId", driver)
                    .put("fare", fareRials).put("commission", commissionRials);
        }

        JsonObject holdBody() {
            return new JsonObject().put("passengerWalletId", passenger).put("amount", fareRials + HOLD_EXTRA_RIALS);
        }

        int requests() {
            return held ? 2 : 1;
        }
    }

    /** One answer a node gave. */
    private record Answer(String node, String op, String tripId, int status, String code, String state, String text) {}

    @Test
    void twoNodesBatchingOnSharedWalletsNeverDeadlock() throws Exception {
        Path base = TestGateway.tempDir("two-writers-");
        EmbeddedDatabase database = EmbeddedDatabase.start(base.resolve("shared-postgres"));
        GatewayProcess a = null;
        GatewayProcess b = null;
        ExecutorService clients = Executors.newFixedThreadPool(2 * CLIENTS_PER_NODE);
        try {
            a = GatewayProcess.startNode(base, database.pgUrl(), "a");
            b = GatewayProcess.startNode(base, database.pgUrl(), "b");

            ApiClient onA = a.api();
            List<String> passengers = new ArrayList<>();
            Map<String, Long> funding = new HashMap<>();
            for (int i = 0; i <= RICH_PASSENGERS; i++) {
                String passenger = onA.openWallet("passenger");
                long funds = i < RICH_PASSENGERS ? RICH_FUNDS_RIALS : POOR_FUNDS_RIALS;
                onA.fund(passenger, funds);
                passengers.add(passenger);
                funding.put(passenger, funds);
            }
            List<String> drivers = new ArrayList<>();
            for (int i = 0; i < DRIVERS; i++) {
                drivers.add(onA.openWallet("driver"));
            }

            String sharedPrefix = ApiClient.newId("shared");
            List<List<Trip>> aWork = work(passengers, drivers, sharedPrefix, false);
            List<List<Trip>> bWork = work(passengers, drivers, sharedPrefix, true);
            Map<String, Trip> trips = new HashMap<>();
            for (List<List<Trip>> node : List.of(aWork, bWork)) {
                node.forEach(client -> client.forEach(trip -> trips.put(trip.tripId(), trip)));
            }

            ConcurrentLinkedQueue<Answer> answers = new ConcurrentLinkedQueue<>();
            AtomicInteger refusedHolds = new AtomicInteger();
            List<Future<?>> running = new ArrayList<>();
            long started = System.nanoTime();
            for (int n = 0; n < 2; n++) {
                ApiClient api = n == 0 ? a.api() : b.api();
                String node = n == 0 ? "a" : "b";
                for (List<Trip> client : n == 0 ? aWork : bWork) {
                    running.add(clients.submit(() -> {
                        for (Trip trip : client) {
                            if (trip.held()) {
                                Answer hold = send(api, node, "hold", trip, trip.holdBody());
                                answers.add(hold);
                                if (hold.status() != 200) {
                                    refusedHolds.incrementAndGet();
                                    continue;
                                }
                            }
                            answers.add(send(api, node, "settle", trip, trip.settleBody()));
                        }
                        return null;
                    }));
                }
            }
            for (Future<?> client : running) {
                client.get(LOAD_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            }
            long elapsedMillis = (System.nanoTime() - started) / 1_000_000;

            Map<Integer, Integer> statuses = new HashMap<>();
            answers.forEach(answer -> statuses.merge(answer.status(), 1, Integer::sum));
            System.out.printf("two writers: %d answers in %d ms, by status %s; %d holds refused%n", answers.size(),
                    elapsedMillis, statuses, refusedHolds.get());

            String aLog = a.output();
            String bLog = b.output();
            for (String log : List.of(aLog, bLog)) {
                assertFalse(log.contains("40P01") || log.contains("deadlock detected"), "a deadlock in a log:\n"
                        + ShutdownTest.tail(log, 40));
            }
            Map<String, Boolean> settled = new HashMap<>();
            for (Answer answer : answers) {
                boolean ok = answer.status() == 200 && ("hold".equals(answer.op()) ? "HELD" : "SETTLED").equals(answer.state());
                boolean refused = answer.status() == 402 && "insufficient_funds".equals(answer.code());
                assertTrue(ok || refused, "node " + answer.node() + " " + answer.op() + " of " + answer.tripId() + ": "
                        + answer.status() + " " + answer.text());
                if ("settle".equals(answer.op())) {
                    settled.merge(answer.tripId(), ok, Boolean::logicalOr);
                }
            }

            // What the answers say is what the ledger holds: a trip answered SETTLED once by either
            // node is settled once; a trip never answered SETTLED moved nothing.
            Map<String, Long> expected = new HashMap<>(funding);
            drivers.forEach(driver -> expected.put(driver, 0L));
            long commissionRials = 0;
            int settledTrips = 0;
            try (Connection c = Sql.connect(database.pgUrl())) {
                for (Trip trip : trips.values()) {
                    boolean ok = settled.getOrDefault(trip.tripId(), false);
                    assertEquals(ok ? 1 : 0, Sql.count(c, "SELECT count(*) FROM transfers WHERE kind = 'trip_settle' "
                            + "AND payment_id = ?", trip.tripId()), "settlements of trip " + trip.tripId() + " (answered SETTLED: " + ok + ")");
                    if (ok) {
                        settledTrips++;
                        expected.merge(trip.passenger(), -trip.fareRials(), Long::sum);
                        expected.merge(trip.driver(), trip.fareRials() - trip.commissionRials(), Long::sum);
                        commissionRials += trip.commissionRials();
                    }
                }
                assertEquals(commissionRials, Sql.count(c, "SELECT balance_rials FROM accounts WHERE id = 'platform-commission'"),
                        "the platform's commission");
                assertEquals(0, Sql.count(c, "SELECT count(*) FROM holds WHERE state = 'HELD'"), "holds left active");
                Sql.assertLedgerAddsUp(c, "after two writers");
            }
            ApiClient onB = b.api();
            for (Map.Entry<String, Long> wallet : expected.entrySet()) {
                JsonObject seen = onB.wallet(wallet.getKey());
                assertEquals(wallet.getValue(), seen.getLong("balance"), "balance of " + wallet.getKey());
                assertEquals(wallet.getValue(), seen.getLong("available"), "available of " + wallet.getKey());
            }
            System.out.printf("two writers: %d of %d trips settled, commission %d rials%n", settledTrips, trips.size(),
                    commissionRials);
            assertTrue(settledTrips > trips.size() / 2, "most trips settle: " + settledTrips + " of " + trips.size());
        } finally {
            clients.shutdownNow();
            GatewayProcess.stop(a, b);
            database.close();
        }
    }

    /**
     * A node's work: {@link #REQUESTS_PER_NODE} requests dealt to its clients. Node a pairs
     * passenger i with driver i, walking up; node b walks both lists down, so the two lock the same
     * accounts in opposite orders. Every {@link #SHARED_EVERY}th operation is a shared trip, the
     * same for both nodes at the same position (a rich passenger, no hold, the same body).
     */
    private static List<List<Trip>> work(List<String> passengers, List<String> drivers, String sharedPrefix, boolean reversed) {
        Random random = new Random(SEED + (reversed ? 1 : 0));
        Random shared = new Random(SEED);
        List<List<Trip>> clients = new ArrayList<>();
        for (int i = 0; i < CLIENTS_PER_NODE; i++) {
            clients.add(new ArrayList<>());
        }
        int requests = 0;
        for (int op = 0; requests < REQUESTS_PER_NODE; op++) {
            Trip trip;
            if (op % SHARED_EVERY == 0) {
                long fare = FARE_MIN_RIALS + shared.nextInt((int) FARE_SPREAD_RIALS);
                trip = new Trip(sharedPrefix + "-" + op, passengers.get(op % RICH_PASSENGERS),
                        drivers.get(op % DRIVERS), fare, fare / 5, false);
            } else {
                int p = op % passengers.size();
                int d = (op / passengers.size()) % drivers.size();
                long fare = FARE_MIN_RIALS + random.nextInt((int) FARE_SPREAD_RIALS);
                trip = new Trip(ApiClient.newId(reversed ? "b" : "a"),
                        passengers.get(reversed ? passengers.size() - 1 - p : p),
                        drivers.get(reversed ? drivers.size() - 1 - d : d), fare, fare / 5, random.nextBoolean());
            }
            clients.get(op % CLIENTS_PER_NODE).add(trip);
            requests += trip.requests();
        }
        return clients;
    }

    private static Answer send(ApiClient api, String node, String op, Trip trip, JsonObject body) {
        ApiClient.Response r = api.post("/v1/trips/" + trip.tripId() + "/" + op, ApiClient.newKey(), body);
        JsonObject json = r.json();
        return new Answer(node, op, trip.tripId(), r.status(), r.errorCode(), json == null ? null : json.getString("state"), r.text());
    }
}
