package taraz.http;

import taraz.support.Wait;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import taraz.support.ApiClient;
import taraz.support.GatewayProcess;
import taraz.support.TestGateway;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A saturated ledger writer is a 503 with Retry-After, never a 500: a child gateway whose writer
 * takes one command per batch and queues at most two, each batch held inside its transaction
 * ({@code ledger.batch.before-commit=delay}), and more settles than fit. Every refused request,
 * retried with its key, settles once.
 */
class BusyWriterTest {

    private static final int SETTLES = 8;
    private static final long FARE = 10_000;
    private static final long COMMISSION = 2_000;
    /** Retries of the same key until the writer's queue has room again. */
    private static final long RETRY_TIMEOUT_MILLIS = 20_000;

    @Test
    void aFullWriterQueueAnswers503AndEveryRetrySettlesOnce() throws Exception {
        Path dataDir = TestGateway.tempDir("busy-");
        Map<String, Object> settings = new HashMap<>();
        settings.put("ledgerBatchMax", 1);
        settings.put("ledgerQueueMax", 2);
        Map<String, String> env = new HashMap<>(GatewayProcess.config(dataDir, settings));
        env.put("TARAZ_FAILPOINTS", "ledger.batch.before-commit=delay(1000)");
        GatewayProcess gateway = GatewayProcess.start(dataDir, TestGateway.freePort(), env);
        ExecutorService clients = Executors.newFixedThreadPool(SETTLES);
        try {
            ApiClient api = gateway.api();
            String passenger = api.openWallet("passenger");
            String driver = api.openWallet("driver");
            api.fund(passenger, FARE * SETTLES);
            List<String> trips = new ArrayList<>();
            List<String> keys = new ArrayList<>();
            List<CompletableFuture<ApiClient.Response>> first = new ArrayList<>();
            for (int i = 0; i < SETTLES; i++) {
                String trip = ApiClient.newId("busy");
                String key = ApiClient.newKey();
                trips.add(trip);
                keys.add(key);
                first.add(CompletableFuture.supplyAsync(() -> settle(api, trip, key, passenger, driver), clients));
            }
            int refused = 0;
            for (int i = 0; i < SETTLES; i++) {
                ApiClient.Response r = first.get(i).join();
                assertTrue(r.status() == 200 || r.status() == 503 || r.status() == 409, r.status() + " " + r.text());
                if (r.status() == 503) {
                    refused++;
                    assertEquals("service_unavailable", r.errorCode(), r.text());
                    assertNotNull(r.header("Retry-After"), "503 without Retry-After");
                }
            }
            assertTrue(refused > 0, "the writer's queue never filled up; the test proved nothing");
            for (int i = 0; i < SETTLES; i++) {
                int trip = i;
                ApiClient.Response r = Wait.until("trip " + trips.get(i) + " settled on a retry", RETRY_TIMEOUT_MILLIS, () -> {
                    ApiClient.Response retried = settle(api, trips.get(trip), keys.get(trip), passenger, driver);
                    assertTrue(retried.status() == 200 || retried.status() == 503 || retried.status() == 409,
                            retried.status() + " " + retried.text());
                    return retried;
                }, retried -> retried.status() == 200);
                assertEquals("SETTLED", r.json().getString("state"));
            }
            assertEquals(0L, api.balance(passenger), "each trip charged once");
            assertEquals((FARE - COMMISSION) * SETTLES, api.balance(driver), "each trip paid once");
            assertTrue(!gateway.output().contains("internal_error"), "a full writer queue was answered as an internal error");
        } finally {
            clients.shutdownNow();
            GatewayProcess.stop(gateway);
        }
    }

    private static ApiClient.Response settle(ApiClient api, String trip, String key, String passenger, String driver) {
        return api.post("/v1/trips/" + trip + "/settle", key, new JsonObject().put("passengerWalletId", passenger)
                .put("driverWalletId", driver).put("fare", FARE).put("commission", COMMISSION));
    }
}
