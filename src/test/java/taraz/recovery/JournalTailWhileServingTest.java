package taraz.recovery;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import taraz.support.ApiClient;
import taraz.support.GatewayProcess;
import taraz.support.TestGateway;

import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The ops tool, in its own process, reads the journal of a gateway that is writing it. */
class JournalTailWhileServingTest {

    private static final int SETTLES = 60;
    private static final long COMMAND_TIMEOUT_MILLIS = 60_000;

    @Test
    void tailIncompleteAndStatsReadALiveJournal() throws Exception {
        TestGateway gateway = TestGateway.get();
        ApiClient api = gateway.api();
        String passenger = api.openWallet("passenger");
        String driver = api.openWallet("driver");
        api.fund(passenger, 10_000_000);
        String lastTrip = ApiClient.newId("tail");
        ExecutorService load = Executors.newSingleThreadExecutor();
        Future<?> writing = load.submit(() -> {
            for (int i = 0; i < SETTLES; i++) {
                String tripId = i == SETTLES - 1 ? lastTrip : ApiClient.newId("tail");
                ApiClient.Response r = api.post("/v1/trips/" + tripId + "/settle", ApiClient.newKey(), new JsonObject()
                        .put("passengerWalletId", passenger).put("driverWalletId", driver).put("fare", 1000).put("commission", 100));
                assertEquals(200, r.status(), r.text());
            }
        });
        try {
            // While the gateway writes: each run must parse and exit 0.
            while (!writing.isDone()) {
                GatewayProcess.Result tail = GatewayProcess.run(List.of("journal", "tail", "--json"), gateway.dataDir(), COMMAND_TIMEOUT_MILLIS);
                assertEquals(0, tail.status(), tail.output());
                tail.output().lines().filter(l -> l.startsWith("{")).forEach(l -> assertTrue(new JsonObject(l).containsKey("state"), l));
            }
            writing.get(COMMAND_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
        } finally {
            load.shutdownNow();
        }
        GatewayProcess.Result trip = GatewayProcess.run(List.of("journal", "tail", "--txn", lastTrip), gateway.dataDir(), COMMAND_TIMEOUT_MILLIS);
        assertEquals(0, trip.status(), trip.output());
        assertTrue(trip.output().contains("SETTLING") && trip.output().contains("SETTLED"), trip.output());
        GatewayProcess.Result stats = GatewayProcess.run(List.of("journal", "stats", "--json"), gateway.dataDir(), COMMAND_TIMEOUT_MILLIS);
        assertEquals(0, stats.status(), stats.output());
        GatewayProcess.Result incomplete = GatewayProcess.run(List.of("journal", "incomplete"), gateway.dataDir(), COMMAND_TIMEOUT_MILLIS);
        assertEquals(0, incomplete.status(), incomplete.output());
        assertTrue(!incomplete.output().contains(lastTrip), "a finished trip is not incomplete");
    }
}
