package taraz.trip;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import taraz.support.ApiClient;
import taraz.support.Race;
import taraz.support.Sql;
import taraz.support.TestGateway;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Trip refunds through the admin API of the test gateway: the fare's proportions and their rounding, refunds that
 * never total more than the fare (one after the other, and racing), a driver taken below zero and paid again later,
 * and the requests refused with nothing moved. The ledger adds up after every test.
 */
class TripRefundTest {

    private static final int RACERS = 12;

    private static ApiClient api;
    private static Connection sql;

    @BeforeAll
    static void start() throws SQLException {
        api = TestGateway.get().api();
        sql = Sql.connect();
    }

    @AfterAll
    static void stop() throws SQLException {
        if (sql != null) {
            sql.close();
        }
    }

    @AfterEach
    void ledgerAddsUp() throws SQLException {
        Sql.assertLedgerAddsUp(sql, "after the test");
    }

    private record Settled(String tripId, String passenger, String driver) {}

    /** A trip settled for {@code fareRials} by a passenger funded with {@code fundsRials}. */
    private static Settled settled(long fundsRials, long fareRials, long commissionRials) {
        Settled t = new Settled(ApiClient.newId("trip"), api.openWallet("passenger"), api.openWallet("driver"));
        api.fund(t.passenger, fundsRials);
        api.settle(t.tripId, t.passenger, t.driver, fareRials, commissionRials);
        return t;
    }

    private static JsonObject body(long amountRials) {
        return new JsonObject().put("amount", amountRials).put("reason", "the driver took a longer route").put("ticket", "SUP-1402");
    }

    private static ApiClient.Response refund(String tripId, String key, long amountRials) {
        return api.postAdmin("/v1/admin/trips/" + tripId + "/refund", key, body(amountRials));
    }

    /** What a refund moved of an account: its entry in the refund's transfer, 0 when it has none. */
    private static long leg(String transferId, String accountId) throws SQLException {
        return Sql.count(sql, "SELECT coalesce(sum(amount_rials), 0) FROM entries WHERE transfer_id = ? AND account_id = ?",
                transferId, accountId);
    }

    /** Everything a refund of the trip could move, to compare before and after a refused one. */
    private static Map<String, Long> money(Settled t) throws SQLException {
        Map<String, Long> money = new HashMap<>();
        money.put("passenger", api.balance(t.passenger));
        money.put("driver", api.balance(t.driver));
        money.put("refunded", Sql.count(sql, "SELECT refunded_rials FROM trips WHERE trip_id = ?", t.tripId));
        money.put("refunds", Sql.count(sql, "SELECT count(*) FROM trip_refunds WHERE trip_id = ?", t.tripId));
        money.put("transfers", Sql.count(sql, "SELECT count(*) FROM transfers WHERE payment_id = ? AND kind = 'trip_refund'",
                t.tripId));
        return money;
    }

    @Test
    void takesFromDriverAndPlatformInTheFaresProportionsUpToTheFareAndRefusesMore() throws SQLException {
        long fare = 10_001;
        long commission = 1_500;
        Settled t = settled(20_000, fare, commission);

        ApiClient.Response first = refund(t.tripId, ApiClient.newKey(), 777);
        assertEquals(201, first.status(), first.text());
        JsonObject r = first.json();
        // floor(777 × 8,501 / 10,001) = floor(660.46) = 660 from the driver; the platform the rest, 117.
        assertEquals(660, r.getLong("driverRials"));
        assertEquals(117, r.getLong("platformRials"));
        assertEquals(0, r.getLong("driverShortfallRials"));
        assertEquals(777, r.getLong("amount"));
        assertEquals(t.tripId, r.getString("tripId"));
        assertEquals("SUP-1402", r.getString("ticket"));
        assertEquals("the driver took a longer route", r.getString("reason"));
        String transferId = r.getString("transferId");
        assertEquals("trip:" + t.tripId + ":refund:" + r.getString("refundId"), transferId);
        assertEquals(777, leg(transferId, t.passenger));
        assertEquals(-660, leg(transferId, t.driver));
        assertEquals(-117, leg(transferId, "platform-commission"));
        assertEquals(20_000 - fare + 777, api.balance(t.passenger));
        assertEquals(fare - commission - 660, api.balance(t.driver));

        // The rest of the fare in two parts: together, exactly the driver's share and the commission come back.
        ApiClient.Response second = refund(t.tripId, ApiClient.newKey(), 5_000);
        assertEquals(201, second.status(), second.text());
        ApiClient.Response third = refund(t.tripId, ApiClient.newKey(), fare - 777 - 5_000);
        assertEquals(201, third.status(), third.text());
        long driverTotal = r.getLong("driverRials") + second.json().getLong("driverRials") + third.json().getLong("driverRials");
        assertEquals(fare - commission, driverTotal);
        assertEquals(20_000, api.balance(t.passenger));
        assertEquals(0, api.balance(t.driver));
        assertEquals(fare, Sql.count(sql, "SELECT -coalesce(sum(e.amount_rials), 0) FROM entries e JOIN transfers tr "
                + "ON tr.id = e.transfer_id WHERE tr.payment_id = ? AND tr.kind = 'trip_refund' AND e.account_id <> ?",
                t.tripId, t.passenger));

        Map<String, Long> before = money(t);
        ApiClient.Response over = refund(t.tripId, ApiClient.newKey(), 1);
        assertEquals(409, over.status(), over.text());
        assertEquals("refund_exceeds_total", over.errorCode());
        assertEquals(before, money(t), "a refused refund moves nothing");

        JsonObject view = api.get("/v1/trips/" + t.tripId).json();
        assertEquals(fare, view.getLong("refunded"));
        JsonArray refunds = view.getJsonArray("refunds");
        assertEquals(3, refunds.size());
        assertEquals(r.getString("refundId"), refunds.getJsonObject(0).getString("refundId"));
        assertEquals("SETTLED", view.getString("state"));
    }

    @Test
    void concurrentRefundsOfOneTripNeverTotalMoreThanItsFare() throws Exception {
        long fare = 10_000;
        long part = 1_000;
        Settled t = settled(fare, fare, 2_000);
        List<ApiClient.Response> answers = Race.run(RACERS, racer -> refund(t.tripId, ApiClient.newKey(), part));
        assertEquals(fare / part, answers.stream().filter(a -> a.status() == 201).count(), answers.toString());
        answers.stream().filter(a -> a.status() != 201)
                .forEach(a -> assertEquals("refund_exceeds_total", a.errorCode(), a.status() + " " + a.text()));
        // What the ledger moved to the passenger, what the refunds say, and the trip's total all agree: the fare.
        assertEquals(fare, Sql.count(sql, "SELECT coalesce(sum(e.amount_rials), 0) FROM entries e JOIN transfers tr "
                + "ON tr.id = e.transfer_id WHERE tr.payment_id = ? AND tr.kind = 'trip_refund' AND e.account_id = ?",
                t.tripId, t.passenger));
        assertEquals(fare, Sql.count(sql, "SELECT sum(amount_rials) FROM trip_refunds WHERE trip_id = ?", t.tripId));
        assertEquals(fare, Sql.count(sql, "SELECT refunded_rials FROM trips WHERE trip_id = ?", t.tripId));
        assertEquals(fare, api.balance(t.passenger));
        assertEquals(0, api.balance(t.driver));
    }

    @Test
    void aDriverWhoCashedOutGoesBelowZeroIsReportedAndALaterSettlementPaysThem() throws SQLException {
        long fare = 10_000;
        long commission = 2_000;
        Settled t = settled(fare, fare, commission);
        // The driver's share leaves the wallet (a cash-out, here support's debit): the wallet is at 0.
        ApiClient.Response out = api.postAdmin("/v1/admin/adjustments", ApiClient.newKey(), new JsonObject()
                .put("walletId", t.driver).put("amount", -(fare - commission)).put("reason", "cash-out").put("ticket", "T-2"));
        assertEquals(201, out.status(), out.text());
        assertEquals(0, api.balance(t.driver));

        ApiClient.Response r = refund(t.tripId, ApiClient.newKey(), 5_000);
        assertEquals(201, r.status(), r.text());
        assertEquals(4_000, r.json().getLong("driverRials"));
        assertEquals(4_000, r.json().getLong("driverShortfallRials"), "the whole driver's part was not covered");
        assertEquals(-4_000, api.balance(t.driver));
        assertEquals(-4_000, api.available(t.driver));
        assertEquals(4_000, Sql.count(sql, "SELECT debt_allowed_rials FROM accounts WHERE id = ?", t.driver));

        // Already below zero, the next refund's driver part is all shortfall.
        ApiClient.Response again = refund(t.tripId, ApiClient.newKey(), 1_000);
        assertEquals(201, again.status(), again.text());
        assertEquals(800, again.json().getLong("driverShortfallRials"));
        assertEquals(-4_800, api.balance(t.driver));

        // Only a refund may take a driver below zero: any other debit is still refused.
        ApiClient.Response debit = api.postAdmin("/v1/admin/adjustments", ApiClient.newKey(), new JsonObject()
                .put("walletId", t.driver).put("amount", -1).put("reason", "test").put("ticket", "T-3"));
        assertEquals(402, debit.status(), debit.text());
        assertEquals("insufficient_funds", debit.errorCode());

        // A later trip pays the driver, whose wallet is below zero: the credit goes through.
        String passenger = api.openWallet("passenger");
        api.fund(passenger, fare);
        api.settle(ApiClient.newId("trip"), passenger, t.driver, fare, commission);
        assertEquals(fare - commission - 4_800, api.balance(t.driver));
    }

    @Test
    void refusesBadRequestsWithTheirCodeAndMovesNothing() throws SQLException {
        long fare = 50_000;
        Settled t = settled(fare, fare, 10_000);
        String held = ApiClient.newId("trip");
        String heldPassenger = api.openWallet("passenger");
        api.fund(heldPassenger, 1_000);
        assertEquals(200, api.post("/v1/trips/" + held + "/hold", ApiClient.newKey(),
                new JsonObject().put("passengerWalletId", heldPassenger).put("amount", 1_000)).status());
        String path = "/v1/admin/trips/" + t.tripId + "/refund";
        String good = body(1_000).encode();
        Map<String, String> admin = Map.of("Content-Type", "application/json", "Authorization", "Bearer " + TestGateway.ADMIN_TOKEN);
        Map<String, String> service = Map.of("Content-Type", "application/json", "Authorization", "Bearer " + TestGateway.API_KEY);
        Map<String, String> nobody = Map.of("Content-Type", "application/json");
        record Row(String what, String path, Map<String, String> headers, boolean keyed, String body, int status, String code) {}
        List<Row> rows = List.of(
                new Row("missing ticket", path, admin, true, new JsonObject().put("amount", 1_000).put("reason", "r").encode(),
                        400, "missing_field"),
                new Row("empty ticket", path, admin, true, body(1_000).put("ticket", "").encode(), 400, "invalid_field"),
                new Row("ticket too long", path, admin, true, body(1_000).put("ticket", "T".repeat(65)).encode(), 400, "invalid_field"),
                new Row("missing reason", path, admin, true, new JsonObject().put("amount", 1_000).put("ticket", "T").encode(),
                        400, "missing_field"),
                new Row("reason too long", path, admin, true, body(1_000).put("reason", "r".repeat(201)).encode(), 400, "invalid_field"),
                new Row("amount 0", path, admin, true, body(0).encode(), 400, "invalid_amount"),
                new Row("negative amount", path, admin, true, body(-500).encode(), 400, "invalid_amount"),
                new Row("amount as a string", path, admin, true, body(1).put("amount", "1000").encode(), 400, "invalid_amount"),
                new Row("fractional amount", path, admin, true, good.replace("1000", "1000.5"), 400, "invalid_amount"),
                new Row("amount beyond the maximum", path, admin, true, body(Long.MAX_VALUE / 2).encode(), 400, "invalid_amount"),
                new Row("amount over the fare", path, admin, true, body(fare + 1).encode(), 409, "refund_exceeds_total"),
                new Row("unknown field", path, admin, true, body(1_000).put("walletId", t.driver).encode(), 400, "unknown_field"),
                new Row("unknown trip", "/v1/admin/trips/" + ApiClient.newId("trip") + "/refund", admin, true, good, 404,
                        "trip_not_found"),
                new Row("trip held, not settled", "/v1/admin/trips/" + held + "/refund", admin, true, good, 409, "trip_not_settled"),
                new Row("bad trip id", "/v1/admin/trips/bad%20id/refund", admin, true, good, 400, "invalid_id"),
                new Row("a service's API key", path, service, true, good, 401, "unauthorized"),
                new Row("no credential", path, nobody, true, good, 401, "unauthorized"),
                new Row("no Idempotency-Key", path, admin, false, good, 400, "idempotency_key_missing"),
                new Row("no body", path, admin, true, null, 400, "invalid_json"));
        Map<String, Long> before = money(t);
        long heldRefunds = Sql.count(sql, "SELECT count(*) FROM trip_refunds WHERE trip_id = ?", held);
        for (Row row : rows) {
            ApiClient.Response a = api.post(row.path, row.keyed ? ApiClient.newKey() : null, row.body, row.headers);
            assertEquals(row.status, a.status(), row.what + ": " + a.text());
            assertEquals(row.code, a.errorCode(), row.what + ": " + a.text());
            assertEquals(before, money(t), row.what + " moved money");
        }
        assertEquals(heldRefunds, Sql.count(sql, "SELECT count(*) FROM trip_refunds WHERE trip_id = ?", held));

        // The same key and body again replays the answer; the same key with another body is refused; one refund made.
        String key = ApiClient.newKey();
        ApiClient.Response made = refund(t.tripId, key, 1_000);
        assertEquals(201, made.status(), made.text());
        ApiClient.Response replay = refund(t.tripId, key, 1_000);
        assertEquals(201, replay.status(), replay.text());
        assertEquals("true", replay.header("Idempotent-Replayed"));
        assertEquals(made.json(), replay.json());
        ApiClient.Response reused = refund(t.tripId, key, 2_000);
        assertEquals(422, reused.status(), reused.text());
        assertEquals("idempotency_key_reused", reused.errorCode());
        assertEquals(before.get("passenger") + 1_000, api.balance(t.passenger));
        assertEquals(1, Sql.count(sql, "SELECT count(*) FROM trip_refunds WHERE trip_id = ?", t.tripId));
    }
}
