package taraz.cluster;

import org.junit.jupiter.api.Test;
import taraz.db.EmbeddedDatabase;
import taraz.support.GatewayProcess;
import taraz.support.Sql;
import taraz.support.TestGateway;
import taraz.support.Wait;

import java.nio.file.Path;
import java.sql.Connection;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Two replicas (child JVMs) on one PostgreSQL: only one runs the checks and exports their gauges; when it is killed
 * (kill -9, its database session ends with it), the other takes the checks over and exports them, a planted imbalance
 * included.
 */
class ChecksTakeoverTest {

    private static final long CHECK_INTERVAL_MILLIS = 1000;
    private static final long WAIT_MILLIS = 60_000;
    private static final String IMBALANCE = "taraz_ledger_imbalance_rials";
    private static final String CHECKED_AT = "taraz_checks_last_success_timestamp_seconds";

    @Test
    void oneReplicaRunsTheChecksAndTheOtherTakesOverWhenItDies() throws Exception {
        Path base = TestGateway.tempDir("checks-takeover-");
        EmbeddedDatabase database = EmbeddedDatabase.start(base.resolve("shared-postgres"));
        GatewayProcess a = null;
        GatewayProcess b = null;
        try {
            Map<String, Object> settings = Map.of("checkIntervalMillis", CHECK_INTERVAL_MILLIS);
            a = GatewayProcess.start(base.resolve("node-a"), TestGateway.freePort(), env(base.resolve("node-a"), settings, database, "a"));
            b = GatewayProcess.start(base.resolve("node-b"), TestGateway.freePort(), env(base.resolve("node-b"), settings, database, "b"));
            GatewayProcess[] nodes = {a, b};
            int leader = Wait.until("one replica runs the checks", WAIT_MILLIS,
                    () -> !Double.isNaN(nodes[0].metric(CHECKED_AT)) ? 0 : !Double.isNaN(nodes[1].metric(CHECKED_AT)) ? 1 : -1,
                    index -> index >= 0);
            GatewayProcess checking = nodes[leader];
            GatewayProcess other = nodes[1 - leader];

            String wallet = other.api().openWallet("passenger");
            try (Connection c = Sql.connect(database.pgUrl())) {
                Sql.update(c, "UPDATE accounts SET balance_rials = balance_rials + 7 WHERE id = ?", wallet);
            }
            checking.awaitMetric(IMBALANCE, value -> value == 7, WAIT_MILLIS);
            double seen = checking.metric(CHECKED_AT);
            checking.awaitMetric(CHECKED_AT, at -> at >= seen + 2, WAIT_MILLIS);
            assertTrue(Double.isNaN(other.metric(CHECKED_AT)), "two rounds later the other replica still exports no checks");
            assertTrue(Double.isNaN(other.metric(IMBALANCE)));

            checking.kill();
            long killed = System.nanoTime();
            other.awaitMetric(IMBALANCE, value -> value == 7, WAIT_MILLIS);
            System.out.printf("checks takeover: the surviving replica exported the imbalance %d ms after kill -9%n",
                    (System.nanoTime() - killed) / 1_000_000);
            assertEquals(200, other.readyStatus());
        } finally {
            GatewayProcess.stop(a, b);
            database.close();
        }
    }

    private static Map<String, String> env(Path dir, Map<String, Object> settings, EmbeddedDatabase database, String node)
            throws Exception {
        Map<String, String> env = new HashMap<>(GatewayProcess.config(dir, settings));
        env.put("TARAZ_PG_URL", database.pgUrl());
        // No top-up is made; the sweeper never calls the bank, a closed port is enough.
        env.put("TARAZ_PSP_URL", "http://127.0.0.1:9");
        env.put("TARAZ_NODE_ID", node);
        return env;
    }
}
