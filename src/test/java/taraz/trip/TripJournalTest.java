package taraz.trip;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import taraz.support.ApiClient;
import taraz.support.GatewayProcess;
import taraz.support.TestGateway;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What a trip leaves behind for an operator: a settle refused on a settled trip is journaled as a rejection with its
 * cause (its replay too), never as a second SETTLED record with the refused amounts, so {@code journal tail --state SETTLED} shows the
 * trip once; and the settled trip's view shows its hold as posted.
 */
class TripJournalTest {

    private static final long COMMAND_TIMEOUT_MILLIS = 60_000;
    private static final long HOLD_RIALS = 50_000;
    private static final long FARE_RIALS = 40_000;
    private static final long COMMISSION_RIALS = 6_000;

    @Test
    void aRefusedSettleIsJournaledAsRejectedAndTheHoldShowsPosted() throws Exception {
        TestGateway gateway = TestGateway.get();
        ApiClient api = gateway.api();
        String passenger = api.openWallet("passenger");
        String driver = api.openWallet("driver");
        api.fund(passenger, 1_000_000);
        String tripId = ApiClient.newId("rejected-settle");
        ApiClient.Response held = api.post("/v1/trips/" + tripId + "/hold", ApiClient.newKey(), new JsonObject()
                .put("passengerWalletId", passenger).put("amount", HOLD_RIALS));
        assertEquals(200, held.status(), held.text());
        assertEquals("HELD", held.json().getJsonObject("hold").getString("state"));
        JsonObject settle = new JsonObject().put("passengerWalletId", passenger).put("driverWalletId", driver)
                .put("fare", FARE_RIALS).put("commission", COMMISSION_RIALS);
        ApiClient.Response settled = api.post("/v1/trips/" + tripId + "/settle", ApiClient.newKey(), settle);
        assertEquals(200, settled.status(), settled.text());
        String otherKey = ApiClient.newKey();
        JsonObject otherSettle = settle.copy().put("fare", FARE_RIALS + 1);
        ApiClient.Response other = api.post("/v1/trips/" + tripId + "/settle", otherKey, otherSettle);
        assertEquals(409, other.status(), other.text());
        assertEquals("trip_already_settled", other.errorCode());
        ApiClient.Response replayed = api.post("/v1/trips/" + tripId + "/settle", otherKey, otherSettle);
        assertEquals(409, replayed.status(), replayed.text());
        assertEquals("true", replayed.header("Idempotent-Replayed"));

        JsonObject view = api.get("/v1/trips/" + tripId).json();
        assertEquals("SETTLED", view.getString("state"));
        assertEquals("POSTED", view.getJsonObject("hold").getString("state"), view.encode());
        assertEquals(HOLD_RIALS, view.getJsonObject("hold").getLong("amount"));

        List<JsonObject> settledRecords = tail(gateway, tripId, "SETTLED");
        assertEquals(1, settledRecords.size(), "one SETTLED record: " + settledRecords);
        assertEquals(FARE_RIALS, settledRecords.get(0).getJsonObject("data").getLong("fare"));
        List<JsonObject> rejected = tail(gateway, tripId, "REJECTED");
        assertEquals(2, rejected.size(), "the refusal and its replay: " + rejected);
        for (JsonObject record : rejected) {
            assertEquals("trip_already_settled", record.getString("cause"), record.encode());
            assertEquals(FARE_RIALS + 1, record.getJsonObject("data").getLong("fare"), "the refused amounts");
            assertEquals("TERMINAL", record.getString("status"));
        }
    }

    private static List<JsonObject> tail(TestGateway gateway, String tripId, String state) throws Exception {
        GatewayProcess.Result tail = GatewayProcess.run(List.of("journal", "tail", "--json", "--flow", TripService.FLOW,
                "--txn", tripId, "--state", state), gateway.dataDir(), COMMAND_TIMEOUT_MILLIS);
        assertEquals(0, tail.status(), tail.output());
        assertTrue(tail.output().lines().allMatch(line -> line.startsWith("{")), tail.output());
        return tail.output().lines().map(JsonObject::new).toList();
    }
}
