package taraz.recovery;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import taraz.failpoint.Failpoints;
import taraz.support.ApiClient;
import taraz.support.GatewayProcess;
import taraz.support.Sql;
import taraz.support.TestGateway;

import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * A real gateway process halts at a trip refund's failpoint, inside the ledger transaction or
 * just after its commit, then starts again on the same data directory. The refund's PENDING
 * record was on disk before its batch could commit, so recovery finishes it: the refund is posted
 * exactly once, support's retry with the same key finds it and moves nothing more, and reconcile
 * finds the refunded trip's money as it should be.
 */
class TripRefundCrashTest {

    private static final long FUNDS_RIALS = 100_000;
    private static final long FARE_RIALS = 50_000;
    private static final long COMMISSION_RIALS = 10_000;
    private static final long REFUND_RIALS = 20_000;
    /** floor(20,000 × 40,000 / 50,000) from the driver, the rest from the platform. */
    private static final long DRIVER_RIALS = 16_000;
    private static final long EXIT_TIMEOUT_MILLIS = 60_000;
    /** Bound on a retry that meets the crashed process's claim on its key (409 request_in_progress). */
    private static final long RETRY_TIMEOUT_MILLIS = 30_000;

    @ParameterizedTest
    @ValueSource(strings = {"refund.trip.before-commit", "refund.trip.after-commit"})
    void crashThenRestartPostsTheRefundOnce(String failpoint) throws Exception {
        Path dataDir = TestGateway.tempDir("refund-crash-");
        int port = TestGateway.freePort();
        List<GatewayProcess> started = new ArrayList<>();
        try {
            // The points are a refund's own: the setup's funding and settlement pass them by.
            GatewayProcess first = GatewayProcess.start(dataDir, port, Map.of("TARAZ_FAILPOINTS", failpoint + "=crash"));
            started.add(first);
            ApiClient api = first.api();
            String passenger = api.openWallet("passenger");
            String driver = api.openWallet("driver");
            api.fund(passenger, FUNDS_RIALS);
            String tripId = ApiClient.newId("trip");
            api.settle(tripId, passenger, driver, FARE_RIALS, COMMISSION_RIALS);

            String path = "/v1/admin/trips/" + tripId + "/refund";
            String key = ApiClient.newKey();
            JsonObject body = new JsonObject().put("amount", REFUND_RIALS).put("reason", "no-show fee charged by mistake")
                    .put("ticket", "SUP-77");
            assertThrows(UncheckedIOException.class, () -> api.postAdmin(path, key, body), "the process dies mid-request");
            assertEquals(Failpoints.CRASH_EXIT_STATUS, first.awaitExit(EXIT_TIMEOUT_MILLIS), first.output());

            GatewayProcess second = GatewayProcess.start(dataDir, port, Map.of());
            started.add(second);
            ApiClient again = second.api();
            JsonObject trip = again.get("/v1/trips/" + tripId).json();
            assertEquals(REFUND_RIALS, trip.getLong("refunded"), second.output());
            assertEquals(1, trip.getJsonArray("refunds").size());
            String refundId = trip.getJsonArray("refunds").getJsonObject(0).getString("refundId");
            assertBalances(again, passenger, driver);
            assertEquals("REFUNDED", TripCrashTest.lastJournalState(dataDir, refundId), "the journal shows the refund finished");

            ApiClient.Response retry = again.postAdminPastClaim(path, key, body, RETRY_TIMEOUT_MILLIS);
            if (failpoint.endsWith("after-commit")) {
                // The batch committed the refund and its key's answer together: the retry replays it.
                assertEquals(201, retry.status(), retry.text());
                assertEquals("true", retry.header("Idempotent-Replayed"), retry.text());
            } else {
                // Recovery posted it without the key: the retry finds the refund made under the key's id.
                assertEquals(200, retry.status(), retry.text());
            }
            assertEquals(refundId, retry.json().getString("refundId"));
            assertEquals(DRIVER_RIALS, retry.json().getLong("driverRials"));
            assertBalances(again, passenger, driver);
            try (Connection c = GatewayProcess.connectToDatabase(dataDir)) {
                assertEquals(1, Sql.count(c, "SELECT count(*) FROM transfers WHERE kind = 'trip_refund' AND payment_id = ?",
                        tripId), "one refund transfer");
                assertEquals(REFUND_RIALS, Sql.count(c, "SELECT refunded_rials FROM trips WHERE trip_id = ?", tripId));
            }
            Sql.assertLedgerAddsUp(dataDir);

            // Reconcile judges the trip's money net of its refund: nothing to find (exit status 0), nothing to undo.
            second.terminate();
            assertEquals(0, second.awaitExit(EXIT_TIMEOUT_MILLIS), second.output());
            Path rules = dataDir.resolve("rules.json");
            Files.writeString(rules, new JsonObject(Files.readString(Path.of("conf", "reconcile.json")))
                    .put("minAgeSeconds", 0).encode());
            GatewayProcess.Result reconciled = GatewayProcess.run(List.of("reconcile", "--offline", "--no-settlement", "--rules", rules.toString()),
                    dataDir, EXIT_TIMEOUT_MILLIS);
            assertEquals(0, reconciled.status(), reconciled.output());
        } finally {
            GatewayProcess.stop(started.toArray(GatewayProcess[]::new));
        }
    }

    private static void assertBalances(ApiClient api, String passenger, String driver) {
        assertEquals(FUNDS_RIALS - FARE_RIALS + REFUND_RIALS, api.balance(passenger), "refunded once");
        assertEquals(FARE_RIALS - COMMISSION_RIALS - DRIVER_RIALS, api.balance(driver), "taken from the driver once");
    }
}
