package taraz.recovery;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import taraz.failpoint.Failpoints;
import taraz.journal.JournalReader;
import taraz.journal.JournalRecord;
import taraz.support.ApiClient;
import taraz.support.GatewayProcess;
import taraz.support.Sql;
import taraz.support.TestGateway;

import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A real gateway process halts at a trip failpoint (like kill -9: no shutdown hook, its
 * PostgreSQL left running), then starts again on the same data directory. Recovery must finish
 * the trip exactly once, the journal must show it finished, and the client's retry with the
 * same key must charge nothing more.
 */
class TripCrashTest {

    private static final long FUNDS_RIALS = 1_000_000;
    private static final long FARE_RIALS = 150_000;
    private static final long COMMISSION_RIALS = 30_000;
    private static final long EXIT_TIMEOUT_MILLIS = 60_000;
    /** Bound on a retry that meets the crashed process's claim on its key (409 request_in_progress). */
    private static final long RETRY_TIMEOUT_MILLIS = 30_000;

    @ParameterizedTest
    @ValueSource(strings = {"trip.settle.before-commit", "trip.settle.after-commit", "trip.hold.after-commit",
            "ledger.batch.before-commit", "ledger.batch.after-commit"})
    void crashThenRestartFinishesTheTripOnce(String failpoint) throws Exception {
        Path dataDir = TestGateway.tempDir("crash-");
        int port = TestGateway.freePort();
        Map<String, String> armed = Map.of("TARAZ_FAILPOINTS", failpoint + "=crash");
        // The batched writer's points run for every ledger write, the test's funding included: they
        // are armed only once the wallets are funded, on a restart.
        boolean writerPoint = failpoint.startsWith("ledger.batch.");
        // Every process this test starts, stopped at the end whatever became of it: a failed
        // assertion must not leave a gateway or its PostgreSQL running.
        List<GatewayProcess> started = new ArrayList<>();
        try {
            GatewayProcess setup = GatewayProcess.start(dataDir, port, writerPoint ? Map.of() : armed);
            started.add(setup);
            ApiClient setupApi = setup.api();
            String passenger = setupApi.openWallet("passenger");
            String driver = setupApi.openWallet("driver");
            setupApi.fund(passenger, FUNDS_RIALS);
            GatewayProcess first = setup;
            if (writerPoint) {
                setup.terminate();
                assertEquals(0, setup.awaitExit(EXIT_TIMEOUT_MILLIS), setup.output());
                first = GatewayProcess.start(dataDir, port, armed);
                started.add(first);
            }
            ApiClient api = first.api();
            String tripId = ApiClient.newId("trip");
            String key = ApiClient.newKey();
            boolean holdCrash = failpoint.startsWith("trip.hold");
            JsonObject settle = new JsonObject().put("passengerWalletId", passenger).put("driverWalletId", driver)
                    .put("fare", FARE_RIALS).put("commission", COMMISSION_RIALS);
            JsonObject hold = new JsonObject().put("passengerWalletId", passenger).put("amount", FARE_RIALS);
            String path = holdCrash ? "/v1/trips/" + tripId + "/hold" : "/v1/trips/" + tripId + "/settle";
            JsonObject body = holdCrash ? hold : settle;

            assertThrows(UncheckedIOException.class, () -> api.post(path, key, body), "the process dies mid-request");
            assertEquals(Failpoints.CRASH_EXIT_STATUS, first.awaitExit(EXIT_TIMEOUT_MILLIS), first.output());
            long orphan = GatewayProcess.postgresPid(dataDir);
            assertTrue(orphan > 0 && ProcessHandle.of(orphan).map(ProcessHandle::isAlive).orElse(false),
                    "the crashed gateway left its PostgreSQL running");

            GatewayProcess second = GatewayProcess.start(dataDir, port, Map.of());
            started.add(second);
            ApiClient again = second.api();
            String expectedState = holdCrash ? "HELD" : "SETTLED";
            assertEquals(expectedState, again.get("/v1/trips/" + tripId).json().getString("state"), second.output());
            assertBalances(again, passenger, driver, holdCrash);
            assertEquals(expectedState, lastJournalState(dataDir, tripId), "the journal shows the step finished");

            ApiClient.Response retry = again.postPastClaim(path, key, body, RETRY_TIMEOUT_MILLIS);
            assertEquals(200, retry.status(), retry.text());
            assertEquals(expectedState, retry.json().getString("state"));
            if (failpoint.equals("ledger.batch.after-commit")) {
                // The batch committed the settlement and its key's answer together: the retry replays it.
                assertEquals("true", retry.header("Idempotent-Replayed"), retry.text());
            }
            ApiClient.Response otherKey = again.post(path, ApiClient.newKey(), body);
            assertEquals(200, otherKey.status(), otherKey.text());
            assertBalances(again, passenger, driver, holdCrash);
            if (holdCrash) {
                ApiClient.Response settled = again.post("/v1/trips/" + tripId + "/settle", ApiClient.newKey(), settle);
                assertEquals(200, settled.status(), settled.text());
                assertBalances(again, passenger, driver, false);
            }
            try (Connection c = GatewayProcess.connectToDatabase(dataDir)) {
                assertEquals(1, Sql.count(c, "SELECT count(*) FROM transfers WHERE kind = 'trip_settle' AND payment_id = ?",
                        tripId), "one settlement transfer");
            }
            Sql.assertLedgerAddsUp(dataDir);
        } finally {
            GatewayProcess.stop(started.toArray(GatewayProcess[]::new));
        }
    }

    private static void assertBalances(ApiClient api, String passenger, String driver, boolean heldOnly) {
        if (heldOnly) {
            assertEquals(FUNDS_RIALS, api.balance(passenger));
            assertEquals(FUNDS_RIALS - FARE_RIALS, api.available(passenger), "held once");
            assertEquals(0, api.balance(driver));
        } else {
            assertEquals(FUNDS_RIALS - FARE_RIALS, api.balance(passenger), "charged once");
            assertEquals(FUNDS_RIALS - FARE_RIALS, api.available(passenger));
            assertEquals(FARE_RIALS - COMMISSION_RIALS, api.balance(driver), "driver credited once");
        }
    }

    static String lastJournalState(Path dataDir, String paymentId) {
        List<JournalRecord> records = new ArrayList<>();
        JournalReader.read(dataDir.resolve("journal"), 0, (record, index) -> {
            if (record.paymentId().equals(paymentId)) {
                records.add(record);
            }
        });
        return records.isEmpty() ? null : records.get(records.size() - 1).state();
    }

}
