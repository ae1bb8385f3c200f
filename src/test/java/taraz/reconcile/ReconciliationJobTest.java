package taraz.reconcile;

import org.junit.jupiter.api.Test;
import taraz.support.ApiClient;
import taraz.support.GatewayProcess;
import taraz.support.TestGateway;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The gateway's periodic reconciliation publishes what goes wrong behind its back within a
 * round; {@code reconcile --apply} run beside the live gateway (on the embedded PostgreSQL that
 * gateway serves) fixes it, and the next round reports 0 again.
 */
class ReconciliationJobTest {

    private static final long WAIT_MILLIS = 60_000;

    @Test
    void driftShowsInTheMetricsAndReconcileBesideTheLiveGatewayClearsIt() throws Exception {
        Path dataDir = TestGateway.tempDir("recon-job-");
        Map<String, String> env = GatewayProcess.config(dataDir, Map.of("reconcileIntervalMillis", 1000,
                "checkIntervalMillis", 1000, "holdSweepIntervalMillis", 3_600_000));
        GatewayProcess gateway = GatewayProcess.start(dataDir, TestGateway.freePort(), env);
        try {
            awaitMetric(gateway, "taraz_reconciliation_discrepancies{kind=\"balance_drift\"}", 0);
            ApiClient api = gateway.api();
            String wallet = api.openWallet("passenger");
            String other = api.openWallet("passenger");
            try (Connection c = GatewayProcess.connectToDatabase(dataDir);
                 Statement s = c.createStatement()) {
                // Money that arrived properly, then a hold the sweeper never ended, and a cached
                // balance edited behind the ledger's back.
                s.executeUpdate("INSERT INTO transfers (id, kind, amount_rials) VALUES ('t-" + wallet + "', 'test', 5000)");
                s.executeUpdate("INSERT INTO entries (transfer_id, account_id, amount_rials, balance_after_rials) VALUES "
                        + "('t-" + wallet + "', '" + wallet + "', 5000, 5000), ('t-" + wallet + "', 'psp-clearing', -5000, -5000)");
                s.executeUpdate("UPDATE accounts SET balance_rials = balance_rials + 5000 WHERE id = '" + wallet + "'");
                s.executeUpdate("UPDATE accounts SET balance_rials = balance_rials - 5000 WHERE id = 'psp-clearing'");
                s.executeUpdate("INSERT INTO holds (id, account_id, amount_rials, state, expires_at) VALUES "
                        + "('h-" + wallet + "', '" + wallet + "', 1000, 'HELD', now() - interval '1 day')");
                s.executeUpdate("UPDATE accounts SET held_rials = 1000 WHERE id = '" + wallet + "'");
                s.executeUpdate("UPDATE accounts SET balance_rials = balance_rials + 7 WHERE id = '" + other + "'");
            }
            awaitMetric(gateway, "taraz_reconciliation_discrepancies{kind=\"balance_drift\"}", 1);
            awaitMetric(gateway, "taraz_reconciliation_discrepancies{kind=\"ledger_imbalance\"}", 1);
            awaitMetric(gateway, "taraz_reconciliation_discrepancies{kind=\"hold_expired_not_voided\"}", 1);
            awaitMetric(gateway, "taraz_ledger_imbalance_rials", 7);
            assertTrue(gateway.metric("taraz_reconciliation_last_success_timestamp_seconds") > 0);

            GatewayProcess.Result fix = GatewayProcess.run(List.of("reconcile", "--apply", "--offline", "--no-settlement"), dataDir, WAIT_MILLIS);
            assertEquals(0, fix.status(), fix.output());
            awaitMetric(gateway, "taraz_reconciliation_discrepancies{kind=\"balance_drift\"}", 0);
            awaitMetric(gateway, "taraz_reconciliation_discrepancies{kind=\"hold_expired_not_voided\"}", 0);
            awaitMetric(gateway, "taraz_ledger_imbalance_rials", 0);
            assertEquals(5000, api.balance(wallet));
            assertEquals(200, gateway.readyStatus(), "the gateway kept serving");
        } finally {
            gateway.close();
        }
    }

    private static void awaitMetric(GatewayProcess gateway, String name, double value) {
        gateway.awaitMetric(name, last -> last == value, WAIT_MILLIS);
    }
}
