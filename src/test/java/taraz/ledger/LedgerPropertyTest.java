package taraz.ledger;

import taraz.support.Wait;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import taraz.support.Sql;
import taraz.support.ApiClient;
import taraz.support.TestGateway;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Random operations through the real HTTP API against a model of what the ledger should hold:
 * holds, settlements with and without a hold, repeated settlements, cancels, expiries, support
 * adjustments and idempotent replays. Every answer is checked against the model as it happens,
 * every wallet after every operation, and the ledger's global invariants at the end.
 * A failure names its seed and operation number; rerun that seed alone to reproduce.
 */
class LedgerPropertyTest {

    private static final int PASSENGERS = 6;
    private static final int DRIVERS = 3;
    private static final int OPERATIONS = 150;
    private static final long EXPIRY_WAIT_MILLIS = 10_000;
    private static final Map<String, String> ADMIN_HEADERS = Map.of("Content-Type", "application/json",
            "Authorization", "Bearer " + TestGateway.ADMIN_TOKEN);

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

    // ---- the model ---------------------------------------------------------------------------

    enum TripState { NONE, HELD, SETTLED, VOIDED, EXPIRED }

    /**
     * An amount around {@code available}: usually within it, sometimes exactly it, one over it,
     * or up to {@code overMax} over it (every amount when nothing is available).
     */
    static long amountAround(Random random, long available, int overMax) {
        int c = random.nextInt(10);
        if (available <= 0 || c < 2) {
            return Math.max(available, 0) + 1 + random.nextInt(overMax);
        }
        if (c == 2) {
            return available;
        }
        if (c == 3) {
            return available + 1;
        }
        return 1 + Math.floorMod(random.nextLong(), available);
    }

    static final class WalletModel {
        final String id;
        final boolean passenger;
        long balance;
        long held;

        WalletModel(String id, boolean passenger) {
            this.id = id;
            this.passenger = passenger;
        }

        long available() {
            return balance - held;
        }
    }

    static final class TripModel {
        final String id;
        TripState state = TripState.NONE;
        WalletModel passenger;
        long hold;
        boolean everHeld;
        WalletModel driver;
        long fare;
        long commission;

        TripModel(String id) {
            this.id = id;
        }
    }

    /** The last money-moving request, for an idempotent replay. */
    record Request(String path, String key, String body, boolean admin, int status, String text) {}

    private final class Run {
        final long seed;
        final Random random;
        final List<WalletModel> passengers = new ArrayList<>();
        final List<WalletModel> drivers = new ArrayList<>();
        final Map<String, WalletModel> wallets = new LinkedHashMap<>();
        final List<TripModel> trips = new ArrayList<>();
        long commissionRials;
        int op;
        String what = "setup";
        Request last;
        final Map<String, Integer> counts = new LinkedHashMap<>();

        Run(long seed) {
            this.seed = seed;
            this.random = new Random(seed);
        }

        String at() {
            return "seed=" + seed + " op#" + op + " (" + what + ")";
        }

        void count(String outcome) {
            counts.merge(what.split(" ")[0] + "->" + outcome, 1, Integer::sum);
        }

        <T> T pick(List<T> list) {
            return list.get(random.nextInt(list.size()));
        }

        long amountAround(long available) {
            return LedgerPropertyTest.amountAround(random, available, 300_000);
        }

        TripModel newTrip() {
            TripModel trip = new TripModel(ApiClient.newId("pt" + seed));
            trips.add(trip);
            return trip;
        }

        List<TripModel> tripsIn(TripState... states) {
            List<TripModel> found = new ArrayList<>();
            for (TripModel t : trips) {
                for (TripState s : states) {
                    if (t.state == s) {
                        found.add(t);
                    }
                }
            }
            return found;
        }
    }

    // ---- the property ------------------------------------------------------------------------

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1, 2, 3, 42, 1234})
    void randomOperationsAgreeWithTheModel(long seed) throws Exception {
        Run run = new Run(seed);
        for (int i = 0; i < PASSENGERS; i++) {
            WalletModel w = new WalletModel(api.openWallet("passenger"), true);
            run.passengers.add(w);
            run.wallets.put(w.id, w);
            if (run.random.nextInt(3) != 0) {
                long funding = 50_000 + run.random.nextInt(2_000_000);
                api.fund(w.id, funding);
                w.balance += funding;
            }
        }
        for (int i = 0; i < DRIVERS; i++) {
            WalletModel w = new WalletModel(api.openWallet("driver"), false);
            run.drivers.add(w);
            run.wallets.put(w.id, w);
        }
        checkWallets(run);

        for (run.op = 1; run.op <= OPERATIONS; run.op++) {
            int dice = run.random.nextInt(100);
            if (dice < 14) {
                hold(run, run.newTrip());
            } else if (dice < 20) {
                hold(run, run.trips.isEmpty() ? run.newTrip() : run.pick(run.trips));
            } else if (dice < 34) {
                settle(run, run.newTrip());
            } else if (dice < 50) {
                List<TripModel> held = run.tripsIn(TripState.HELD);
                settle(run, held.isEmpty() ? run.newTrip() : run.pick(held));
            } else if (dice < 58) {
                List<TripModel> closed = run.tripsIn(TripState.SETTLED, TripState.VOIDED, TripState.EXPIRED);
                settle(run, closed.isEmpty() ? run.newTrip() : run.pick(closed));
            } else if (dice < 68) {
                List<TripModel> held = run.tripsIn(TripState.HELD);
                int c = run.random.nextInt(10);
                cancel(run, c < 6 && !held.isEmpty() ? run.pick(held)
                        : c == 6 || run.trips.isEmpty() ? run.newTrip() : run.pick(run.trips));
            } else if (dice < 72) {
                List<TripModel> held = run.tripsIn(TripState.HELD);
                if (held.isEmpty()) {
                    hold(run, run.newTrip());
                } else {
                    expire(run, run.pick(held));
                }
            } else if (dice < 90) {
                adjust(run);
            } else {
                replay(run);
            }
            checkWallets(run);
        }
        run.what = "final checks";
        checkTrips(run);
        Sql.assertLedgerAddsUp(sql, "seed=" + seed + " after " + OPERATIONS + " operations");
        System.out.println("LedgerPropertyTest seed=" + seed + " outcomes " + run.counts);
    }

    // ---- operations --------------------------------------------------------------------------

    private void hold(Run run, TripModel trip) {
        boolean sameAsBefore = trip.state == TripState.HELD && run.random.nextBoolean();
        WalletModel passenger = sameAsBefore || (trip.passenger != null && run.random.nextBoolean())
                ? trip.passenger : run.pick(run.passengers);
        long amount = sameAsBefore ? trip.hold : run.amountAround(passenger.available());
        run.what = "hold " + trip.id + " state=" + trip.state + " passenger=" + passenger.id + " amount=" + amount
                + " available=" + passenger.available();
        ApiClient.Response r = send(run, "/v1/trips/" + trip.id + "/hold",
                new JsonObject().put("passengerWalletId", passenger.id).put("amount", amount), false);
        switch (trip.state) {
            case NONE -> {
                if (amount > passenger.available()) {
                    expectError(run, r, 402, "insufficient_funds");
                    assertEquals(404, api.get("/v1/trips/" + trip.id).status(), run.at() + ": a refused hold creates no trip");
                    return;
                }
                expectTrip(run, r, 200, "HELD");
                trip.state = TripState.HELD;
                trip.passenger = passenger;
                trip.hold = amount;
                trip.everHeld = true;
                passenger.held += amount;
                assertEquals(amount, r.json().getJsonObject("hold").getLong("amount"), run.at());
                assertEquals(passenger.id, r.json().getString("passengerWalletId"), run.at());
            }
            case HELD -> {
                if (passenger == trip.passenger && amount == trip.hold) {
                    expectTrip(run, r, 200, "HELD");
                    assertEquals(amount, r.json().getJsonObject("hold").getLong("amount"), run.at());
                } else {
                    expectError(run, r, 409, "trip_already_held");
                }
            }
            case SETTLED -> expectError(run, r, 409, "trip_already_settled");
            case VOIDED -> expectError(run, r, 409, "trip_voided");
            case EXPIRED -> expectError(run, r, 409, "trip_expired");
        }
    }

    private void settle(Run run, TripModel trip) {
        WalletModel passenger;
        WalletModel driver;
        long fare;
        long commission;
        boolean same = false;
        if (trip.state == TripState.SETTLED && run.random.nextBoolean()) {
            same = true;
            passenger = trip.passenger;
            driver = trip.driver;
            fare = trip.fare;
            commission = trip.commission;
        } else {
            passenger = trip.passenger != null && run.random.nextInt(10) != 0 ? trip.passenger : run.pick(run.passengers);
            driver = trip.driver != null && run.random.nextBoolean() ? trip.driver : run.pick(run.drivers);
            long room = passenger.available() + (trip.state == TripState.HELD && passenger == trip.passenger ? trip.hold : 0);
            if (trip.state == TripState.HELD && run.random.nextInt(3) == 0) {
                // Around the hold: a fare below, at or above what was reserved.
                fare = Math.max(1, trip.hold + run.random.nextInt(60_001) - 30_000);
            } else {
                fare = run.amountAround(room);
            }
            commission = switch (run.random.nextInt(5)) {
                case 0 -> 0;
                case 1 -> fare;
                default -> Math.floorMod(run.random.nextLong(), fare + 1);
            };
            if (trip.state == TripState.SETTLED) {
                same = passenger == trip.passenger && driver == trip.driver && fare == trip.fare
                        && commission == trip.commission;
            }
        }
        run.what = "settle " + trip.id + " state=" + trip.state + " passenger=" + passenger.id + " driver=" + driver.id
                + " fare=" + fare + " commission=" + commission + " available=" + passenger.available()
                + " hold=" + trip.hold;
        ApiClient.Response r = send(run, "/v1/trips/" + trip.id + "/settle", new JsonObject()
                .put("passengerWalletId", passenger.id).put("driverWalletId", driver.id)
                .put("fare", fare).put("commission", commission), false);
        switch (trip.state) {
            case NONE, HELD -> {
                if (trip.state == TripState.HELD && passenger != trip.passenger) {
                    expectError(run, r, 409, "trip_passenger_mismatch");
                    return;
                }
                long released = trip.state == TripState.HELD ? trip.hold : 0;
                if (fare > passenger.available() + released) {
                    expectError(run, r, 402, "insufficient_funds");
                    if (trip.state == TripState.NONE) {
                        assertEquals(404, api.get("/v1/trips/" + trip.id).status(), run.at() + ": a refused settle creates no trip");
                    }
                    return;
                }
                expectTrip(run, r, 200, "SETTLED");
                passenger.held -= released;
                passenger.balance -= fare;
                driver.balance += fare - commission;
                run.commissionRials += commission;
                trip.state = TripState.SETTLED;
                trip.passenger = passenger;
                trip.driver = driver;
                trip.fare = fare;
                trip.commission = commission;
                checkSettledView(run, trip, r.json());
            }
            case SETTLED -> {
                if (same) {
                    expectTrip(run, r, 200, "SETTLED");
                    checkSettledView(run, trip, r.json());
                } else {
                    expectError(run, r, 409, "trip_already_settled");
                }
            }
            case VOIDED -> expectError(run, r, 409, "trip_voided");
            case EXPIRED -> expectError(run, r, 409, "trip_expired");
        }
    }

    private void cancel(Run run, TripModel trip) {
        run.what = "cancel " + trip.id + " state=" + trip.state;
        ApiClient.Response r = send(run, "/v1/trips/" + trip.id + "/cancel",
                run.random.nextBoolean() ? new JsonObject() : new JsonObject().put("reason", "rider cancelled"), false);
        switch (trip.state) {
            case NONE -> expectError(run, r, 404, "trip_not_found");
            case HELD -> {
                expectTrip(run, r, 200, "VOIDED");
                trip.state = TripState.VOIDED;
                trip.passenger.held -= trip.hold;
            }
            case SETTLED -> expectError(run, r, 409, "trip_already_settled");
            case VOIDED -> expectTrip(run, r, 200, "VOIDED");
            case EXPIRED -> expectTrip(run, r, 200, "EXPIRED");
        }
    }

    private void expire(Run run, TripModel trip) throws SQLException, InterruptedException {
        run.what = "expire " + trip.id + " hold=" + trip.hold;
        run.count("forced");
        update("UPDATE trips SET hold_expires_at = now() - interval '1 second' WHERE trip_id = ?", trip.id);
        update("UPDATE holds SET expires_at = now() - interval '1 second' WHERE id = 'trip:' || ? || ':hold'", trip.id);
        String state = Wait.until(run.at() + ": the sweeper ends the hold", EXPIRY_WAIT_MILLIS, () -> {
            ApiClient.Response r = api.get("/v1/trips/" + trip.id);
            assertEquals(200, r.status(), run.at() + ": " + r.text());
            return r.json().getString("state");
        }, now -> !"HELD".equals(now));
        assertEquals("EXPIRED", state, run.at() + ": the sweeper expired the hold");
        trip.state = TripState.EXPIRED;
        trip.passenger.held -= trip.hold;
    }

    private void adjust(Run run) {
        WalletModel wallet = run.random.nextInt(4) == 0 ? run.pick(run.drivers) : run.pick(run.passengers);
        boolean credit = run.random.nextBoolean();
        long magnitude = credit ? 1 + run.random.nextInt(500_000) : run.amountAround(wallet.available());
        long amount = credit ? magnitude : -magnitude;
        run.what = "adjust " + wallet.id + " amount=" + amount + " available=" + wallet.available();
        ApiClient.Response r = send(run, "/v1/admin/adjustments", new JsonObject().put("walletId", wallet.id)
                .put("amount", amount).put("reason", "property test").put("ticket", "PT-" + run.seed), true);
        if (!credit && magnitude > wallet.available()) {
            expectError(run, r, 402, "insufficient_funds");
            return;
        }
        assertEquals(201, r.status(), run.at() + ": " + r.text());
        run.count("201");
        wallet.balance += amount;
        assertEquals(wallet.balance, r.json().getLong("balance"), run.at() + ": balance in the answer");
        assertEquals(wallet.available(), r.json().getLong("available"), run.at() + ": available in the answer");
        assertEquals(amount, r.json().getLong("amount"), run.at());
    }

    /** The last request again under its key: the same answer, marked replayed, and nothing moves. */
    private void replay(Run run) {
        Request last = run.last;
        if (last == null) {
            adjust(run);
            return;
        }
        boolean otherBody = run.random.nextInt(4) == 0;
        run.what = "replay " + last.path + (otherBody ? " with another body" : "") + " (first answer " + last.status + ")";
        String body = otherBody ? new JsonObject(last.body).put(last.path.endsWith("/cancel") ? "reason" : "ticket",
                "changed-" + run.op).encode() : last.body;
        if (otherBody && last.path.endsWith("/hold")) {
            body = new JsonObject(last.body).put("amount", new JsonObject(last.body).getLong("amount") + 1).encode();
        } else if (otherBody && last.path.endsWith("/settle")) {
            JsonObject b = new JsonObject(last.body);
            body = b.put("commission", b.getLong("commission") == 0 ? 1 : 0).encode();
        }
        ApiClient.Response r = last.admin ? api.post(last.path, last.key, body, ADMIN_HEADERS) : api.post(last.path, last.key, body);
        if (otherBody) {
            expectError(run, r, 422, "idempotency_key_reused");
            return;
        }
        assertEquals(last.status, r.status(), run.at() + ": " + r.text());
        assertEquals(last.text, r.text(), run.at() + ": a replay answers the stored response");
        assertEquals("true", r.header("Idempotent-Replayed"), run.at());
        run.count("replayed");
    }

    // ---- checks ------------------------------------------------------------------------------

    private ApiClient.Response send(Run run, String path, JsonObject body, boolean admin) {
        String key = ApiClient.newKey();
        ApiClient.Response r = admin ? api.post(path, key, body.encode(), ADMIN_HEADERS) : api.post(path, key, body);
        assertTrue(r.status() < 500, run.at() + ": server error " + r.status() + " " + r.text());
        assertEquals(null, r.header("Idempotent-Replayed"), run.at() + ": a fresh key is not a replay");
        run.last = new Request(path, key, body.encode(), admin, r.status(), r.text());
        return r;
    }

    private static void expectError(Run run, ApiClient.Response r, int status, String code) {
        assertEquals(status + " " + code, r.status() + " " + r.errorCode(), run.at() + ": " + r.text());
        run.count(String.valueOf(status));
    }

    private static void expectTrip(Run run, ApiClient.Response r, int status, String state) {
        assertEquals(status, r.status(), run.at() + ": " + r.text());
        assertEquals(state, r.json().getString("state"), run.at() + ": " + r.text());
        run.count(state);
    }

    private static void checkSettledView(Run run, TripModel trip, JsonObject view) {
        String at = run.at() + ": " + view.encode();
        assertEquals(trip.passenger.id, view.getString("passengerWalletId"), at);
        assertEquals(trip.driver.id, view.getString("driverWalletId"), at);
        assertEquals(trip.fare, view.getLong("fare"), at);
        assertEquals(trip.commission, view.getLong("commission"), at);
        assertEquals(trip.fare - trip.commission, view.getLong("driverShare"), at);
        JsonArray transfers = view.getJsonArray("transfers");
        assertEquals(1, transfers.size(), at);
        Map<String, Long> legs = new LinkedHashMap<>();
        JsonArray legArray = transfers.getJsonObject(0).getJsonArray("legs");
        long sum = 0;
        for (int i = 0; i < legArray.size(); i++) {
            JsonObject leg = legArray.getJsonObject(i);
            legs.put(leg.getString("accountId"), leg.getLong("amount"));
            sum += leg.getLong("amount");
        }
        assertEquals(0, sum, at + ": the legs balance");
        assertEquals(-trip.fare, legs.get(trip.passenger.id), at);
        assertEquals(trip.fare - trip.commission == 0 ? null : trip.fare - trip.commission, legs.get(trip.driver.id), at);
        assertEquals(trip.commission == 0 ? null : trip.commission, legs.get(AccountKind.PLATFORM_COMMISSION_ID), at);
        assertEquals(1 + (trip.commission > 0 ? 1 : 0) + (trip.fare > trip.commission ? 1 : 0), legs.size(), at);
    }

    private static void checkWallets(Run run) {
        for (WalletModel w : run.wallets.values()) {
            JsonObject actual = api.wallet(w.id);
            String at = run.at() + ": wallet " + w.id + " " + actual.encode();
            assertEquals(w.balance, actual.getLong("balance"), at + " balance");
            assertEquals(w.held, actual.getLong("held"), at + " held");
            assertEquals(w.available(), actual.getLong("available"), at + " available");
            assertTrue(actual.getLong("available") >= 0, at + " went below 0 available");
            long activeHolds = 0;
            JsonArray holds = actual.getJsonArray("holds");
            for (int i = 0; i < holds.size(); i++) {
                activeHolds += holds.getJsonObject(i).getLong("amount");
            }
            assertEquals(w.held, activeHolds, at + " active holds listed");
        }
    }

    private void checkTrips(Run run) throws SQLException {
        long commission = 0;
        for (TripModel trip : run.trips) {
            String at = run.at() + ": trip " + trip.id + " " + trip.state;
            ApiClient.Response r = api.get("/v1/trips/" + trip.id);
            long transfers = Sql.count(sql, "SELECT count(*) FROM transfers WHERE payment_id = ?", trip.id);
            String holdState = Sql.text(sql, "SELECT state FROM holds WHERE id = 'trip:' || ? || ':hold'", trip.id);
            if (trip.state == TripState.NONE) {
                assertEquals(404, r.status(), at + ": " + r.text());
                assertEquals(0, transfers, at);
                assertEquals(null, holdState, at);
                continue;
            }
            assertEquals(200, r.status(), at + ": " + r.text());
            assertEquals(trip.state.name(), r.json().getString("state"), at + ": " + r.text());
            assertEquals(trip.state == TripState.SETTLED ? 1 : 0, transfers, at + ": transfers of the trip");
            String expectedHold = switch (trip.state) {
                case SETTLED -> trip.everHeld ? "POSTED" : null;
                case HELD -> "HELD";
                case VOIDED -> "VOIDED";
                case EXPIRED -> "EXPIRED";
                case NONE -> null;
            };
            assertEquals(expectedHold, holdState, at + ": hold state");
            if (trip.state == TripState.SETTLED) {
                checkSettledView(run, trip, r.json());
                commission += trip.commission;
            }
        }
        assertEquals(run.commissionRials, commission, run.at());
        // The platform's share of these trips, as the ledger recorded it.
        List<String> settled = run.tripsIn(TripState.SETTLED).stream().map(t -> "trip:" + t.id + ":settle").toList();
        long recorded = 0;
        for (String transferId : settled) {
            recorded += Sql.count(sql, "SELECT coalesce(sum(amount_rials), 0) FROM entries WHERE transfer_id = ? AND account_id = '"
                    + AccountKind.PLATFORM_COMMISSION_ID + "'", transferId);
        }
        assertEquals(run.commissionRials, recorded, run.at() + ": platform commission of this run's trips");
    }

    // ---- SQL ---------------------------------------------------------------------------------

    private static void update(String statement, String arg) throws SQLException {
        assertEquals(1, Sql.update(sql, statement, arg), statement + " " + arg);
    }
}
