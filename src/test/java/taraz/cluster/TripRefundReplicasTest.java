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
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Refunds of one trip racing on two replicas (two gateway processes, one PostgreSQL): each
 * node's writer checks the trip's refunded total under the trip row's lock, so together they
 * never refund more than the fare.
 */
class TripRefundReplicasTest {

    private static final int RACERS = 12;
    private static final long FARE_RIALS = 10_000;
    private static final long PART_RIALS = 1_000;
    private static final long GATE_TIMEOUT_SECONDS = 30;
    private static final long RUN_TIMEOUT_SECONDS = 120;

    @Test
    void refundsRacingOnTwoNodesNeverTotalMoreThanTheFare() throws Exception {
        Path base = TestGateway.tempDir("refund-replicas-");
        EmbeddedDatabase database = EmbeddedDatabase.start(base.resolve("shared-postgres"));
        GatewayProcess a = null;
        GatewayProcess b = null;
        ExecutorService clients = Executors.newFixedThreadPool(RACERS);
        try {
            Map<String, String> common = new HashMap<>();
            common.put("TARAZ_PG_URL", database.pgUrl());
            // Refunds never call the PSP; a closed port is enough.
            common.put("TARAZ_PSP_URL", "http://127.0.0.1:9");
            Map<String, String> aEnv = new HashMap<>(common);
            aEnv.put("TARAZ_NODE_ID", "a");
            Map<String, String> bEnv = new HashMap<>(common);
            bEnv.put("TARAZ_NODE_ID", "b");
            a = GatewayProcess.start(base.resolve("node-a"), TestGateway.freePort(), aEnv);
            b = GatewayProcess.start(base.resolve("node-b"), TestGateway.freePort(), bEnv);
            ApiClient onA = a.api();
            List<ApiClient> nodes = List.of(onA, b.api());

            String passenger = onA.openWallet("passenger");
            String driver = onA.openWallet("driver");
            onA.fund(passenger, FARE_RIALS);
            String tripId = ApiClient.newId("trip");
            ApiClient.Response settled = onA.post("/v1/trips/" + tripId + "/settle", ApiClient.newKey(), new JsonObject()
                    .put("passengerWalletId", passenger).put("driverWalletId", driver).put("fare", FARE_RIALS)
                    .put("commission", 2_000));
            assertEquals(200, settled.status(), settled.text());

            CountDownLatch gate = new CountDownLatch(1);
            List<Future<ApiClient.Response>> answers = new ArrayList<>();
            for (int i = 0; i < RACERS; i++) {
                ApiClient node = nodes.get(i % nodes.size());
                answers.add(clients.submit(() -> {
                    assertTrue(gate.await(GATE_TIMEOUT_SECONDS, TimeUnit.SECONDS));
                    return node.postAdmin("/v1/admin/trips/" + tripId + "/refund", ApiClient.newKey(), new JsonObject()
                            .put("amount", PART_RIALS).put("reason", "raced").put("ticket", "SUP-9"));
                }));
            }
            gate.countDown();
            int made = 0;
            for (Future<ApiClient.Response> answer : answers) {
                ApiClient.Response r = answer.get(RUN_TIMEOUT_SECONDS, TimeUnit.SECONDS);
                if (r.status() == 201) {
                    made++;
                } else {
                    assertEquals(409, r.status(), r.text());
                    assertEquals("refund_exceeds_total", r.errorCode());
                }
            }
            assertEquals(FARE_RIALS / PART_RIALS, made);
            try (Connection c = Sql.connect(database.pgUrl())) {
                assertEquals(FARE_RIALS, Sql.count(c, "SELECT coalesce(sum(e.amount_rials), 0) FROM entries e JOIN transfers tr "
                        + "ON tr.id = e.transfer_id WHERE tr.payment_id = ? AND tr.kind = 'trip_refund' AND e.account_id = ?",
                        tripId, passenger));
                assertEquals(FARE_RIALS, Sql.count(c, "SELECT sum(amount_rials) FROM trip_refunds WHERE trip_id = ?", tripId));
                assertEquals(FARE_RIALS, Sql.count(c, "SELECT refunded_rials FROM trips WHERE trip_id = ?", tripId));
                Sql.assertLedgerAddsUp(c, "after refunds on two nodes");
            }
            assertEquals(FARE_RIALS, onA.balance(passenger));
            assertEquals(0, onA.balance(driver));
        } finally {
            clients.shutdownNow();
            GatewayProcess.stop(a, b);
            database.close();
        }
    }
}
