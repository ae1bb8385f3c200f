package taraz.cluster;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import taraz.db.EmbeddedDatabase;
import taraz.support.ApiClient;
import taraz.support.GatewayProcess;
import taraz.support.Race;
import taraz.support.Sql;
import taraz.support.TestGateway;

import java.nio.file.Path;
import java.sql.Connection;
import java.util.List;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Refunds of one trip racing on two replicas (two gateway processes, one PostgreSQL): each
 * node's writer checks the trip's refunded total under the trip row's lock, so together they
 * never refund more than the fare. The driver has cashed out, so each refund takes the wallet
 * further below zero, and each says so.
 */
class TripRefundReplicasTest {

    private static final int RACERS = 12;
    private static final long FARE_RIALS = 10_000;
    private static final long PART_RIALS = 1_000;
    private static final long COMMISSION_RIALS = 2_000;
    private static final long DRIVER_SHARE_RIALS = FARE_RIALS - COMMISSION_RIALS;

    @Test
    void refundsRacingOnTwoNodesNeverTotalMoreThanTheFare() throws Exception {
        Path base = TestGateway.tempDir("refund-replicas-");
        EmbeddedDatabase database = EmbeddedDatabase.start(base.resolve("shared-postgres"));
        GatewayProcess a = null;
        GatewayProcess b = null;
        try {
            a = GatewayProcess.startNode(base, database.pgUrl(), "a");
            b = GatewayProcess.startNode(base, database.pgUrl(), "b");
            ApiClient onA = a.api();
            List<ApiClient> nodes = List.of(onA, b.api());

            String passenger = onA.openWallet("passenger");
            String driver = onA.openWallet("driver");
            onA.fund(passenger, FARE_RIALS);
            String tripId = ApiClient.newId("trip");
            onA.settle(tripId, passenger, driver, FARE_RIALS, COMMISSION_RIALS);
            // The driver cashed their share out: every refund's driver part takes the wallet further below zero.
            ApiClient.Response out = onA.postAdmin("/v1/admin/adjustments", ApiClient.newKey(), new JsonObject()
                    .put("walletId", driver).put("amount", -DRIVER_SHARE_RIALS).put("reason", "cash-out").put("ticket", "T-9"));
            assertEquals(201, out.status(), out.text());

            // Racers take turns between the nodes.
            List<ApiClient.Response> answers = Race.run(RACERS, racer -> nodes.get(racer % nodes.size())
                    .postAdmin("/v1/admin/trips/" + tripId + "/refund", ApiClient.newKey(), new JsonObject()
                            .put("amount", PART_RIALS).put("reason", "raced").put("ticket", "SUP-9")));
            assertEquals(FARE_RIALS / PART_RIALS, answers.stream().filter(r -> r.status() == 201).count(), answers.toString());
            answers.stream().filter(r -> r.status() != 201)
                    .forEach(r -> assertEquals("refund_exceeds_total", r.errorCode(), r.status() + " " + r.text()));
            try (Connection c = Sql.connect(database.pgUrl())) {
                assertEquals(FARE_RIALS, Sql.count(c, "SELECT coalesce(sum(e.amount_rials), 0) FROM entries e JOIN transfers tr "
                        + "ON tr.id = e.transfer_id WHERE tr.payment_id = ? AND tr.kind = 'trip_refund' AND e.account_id = ?",
                        tripId, passenger));
                assertEquals(FARE_RIALS, Sql.count(c, "SELECT sum(amount_rials) FROM trip_refunds WHERE trip_id = ?", tripId));
                assertEquals(FARE_RIALS, Sql.count(c, "SELECT refunded_rials FROM trips WHERE trip_id = ?", tripId));
                assertEquals(DRIVER_SHARE_RIALS, Sql.count(c, "SELECT sum(driver_shortfall_rials) FROM trip_refunds WHERE trip_id = ?",
                        tripId), "every driver part reported as not covered");
                assertEquals(DRIVER_SHARE_RIALS, Sql.count(c, "SELECT debt_allowed_rials FROM accounts WHERE id = ?", driver));
                Sql.assertLedgerAddsUp(c, "after refunds on two nodes");
            }
            assertEquals(FARE_RIALS, onA.balance(passenger));
            assertEquals(-DRIVER_SHARE_RIALS, onA.balance(driver));
            // Each refund that took the driver below zero says so in a WARN line of the node that made it.
            String logs = a.output() + b.output();
            assertEquals(FARE_RIALS / PART_RIALS, Pattern.compile("\"level\":\"WARN\".*took the driver's wallet below zero")
                    .matcher(logs).results().count(), "WARN lines of the refunds below zero");
        } finally {
            GatewayProcess.stop(a, b);
            database.close();
        }
    }
}
