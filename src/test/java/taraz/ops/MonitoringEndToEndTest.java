package taraz.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import taraz.ledger.AccountKind;
import taraz.reconcile.Rules;
import taraz.support.ApiClient;
import taraz.support.Executables;
import taraz.support.GatewayProcess;
import taraz.support.Prometheus;
import taraz.support.TestGateway;
import taraz.support.TestPsp;
import taraz.support.Topups;
import taraz.support.Wait;
import taraz.trip.Trip;

/**
 * Issue 13's detection test: a real Prometheus (Debian's binary, scraping every 5 s, with the shipped rules) watches a
 * real gateway (a child JVM). Faults are planted behind the gateway's back, straight into its database, and each alert
 * must be firing in Prometheus's {@code /api/v1/alerts} within 3 minutes; the time from planting to firing is printed
 * for each. Then every panel query of the shipped dashboard must parse and return at least one series.
 */
class MonitoringEndToEndTest {

    private static final long FIRE_TIMEOUT_MILLIS = 180_000;
    private static final long FIRE_POLL_MILLIS = 1_000;
    private static final long FARE = 100_000;
    private static final long COMMISSION = 20_000;
    private static final long TOPUP = 60_000;
    /** The shipped alerts (conf/prometheus/alerts.yml) each planted fault must fire. */
    private static final String PAID_NOT_CREDITED = "TarazPaidNotCredited";
    private static final String DOUBLE_CREDIT = "TarazDoubleChargeOrCredit";
    private static final String DRIVER_NOT_CREDITED = "TarazDriverNotCredited";
    private static final String IMBALANCE = "TarazLedgerImbalance";
    private static final String STUCK = "TarazStuckPayments";
    /**
     * How old a planted payment looks: a second short of the checks' {@code minAgeSeconds} (younger payments are in
     * flight, not judged). Their fast rounds take up what changed up to that age, so the round after the next second
     * judges it; an older one would lie behind the rounds' mark, left to the hourly full scan.
     */
    /** Older than the bank's window (30 minutes) and the stuck grace together. */
    private static final Duration STUCK_AGE = Duration.ofHours(2);
    private static final int AGE_SECONDS = (int) Rules.load(null).minAgeSeconds() - 1;

    @Test
    void eachFaultPlantedBehindTheGatewaysBackFiresItsAlertAndEveryPanelAnswers() throws Exception {
        Optional<Path> binary = Executables.find("prometheus");
        assumeTrue(binary.isPresent(), "prometheus is not installed (apt-get install -y prometheus)");
        Path base = TestGateway.tempDir("monitoring-");
        TestPsp psp = TestPsp.start(base.resolve("psp"));
        Path dataDir = base.resolve("gateway");
        int port = TestGateway.freePort();
        Map<String, String> env = new HashMap<>(GatewayProcess.config(dataDir, Map.of(
                // The sweeper would mend a planted top-up before anyone saw it: here it waits an hour.
                "topupSweepIntervalMillis", 3_600_000,
                "stuckGraceSeconds", 1)));
        env.put("TARAZ_PSP_URL", psp.baseUrl());
        GatewayProcess gateway = GatewayProcess.start(dataDir, port, env);
        Prometheus prometheus = null;
        try {
            ApiClient api = gateway.api();
            Traffic traffic = traffic(api, psp);
            prometheus = Prometheus.start(binary.get(), base.resolve("prometheus"), TestGateway.freePort(),
                    "127.0.0.1:" + port, List.of(Path.of("conf", "prometheus", "recording.yml"),
                            Path.of("conf", "prometheus", "alerts.yml")));
            Prometheus watcher = prometheus;
            Wait.until("prometheus scrapes the gateway", FIRE_TIMEOUT_MILLIS,
                    () -> !watcher.query("up{job=\"taraz\"} == 1").getJsonArray("result").isEmpty());
            assertEquals(List.of(), prometheus.firing(), "nothing fires on a healthy gateway");

            Map<String, Long> plantedAt = new LinkedHashMap<>();
            try (Connection db = GatewayProcess.connectToDatabase(dataDir)) {
                plantedAt.put(PAID_NOT_CREDITED, plantPaidNotCredited(db, traffic.passenger()));
                plantedAt.put(DOUBLE_CREDIT, plantDoubleCredit(db, traffic.creditedTopup(), traffic.passenger()));
                plantedAt.put(DRIVER_NOT_CREDITED, plantUnpaidDriver(db, traffic.settledTrip(), traffic.driver()));
                plantedAt.put(IMBALANCE, plantImbalance(db, traffic.driver()));
                plantedAt.put(STUCK, plantStuck(db, traffic.passenger()));
            }
            Map<String, Long> firedAfter = new LinkedHashMap<>();
            Wait.until("every planted fault's alert fires", FIRE_TIMEOUT_MILLIS + 10_000, () -> {
                List<String> firing = watcher.firing();
                long now = System.currentTimeMillis();
                plantedAt.forEach((alert, at) -> {
                    if (firing.contains(alert) && !firedAfter.containsKey(alert)) {
                        firedAfter.put(alert, now - at);
                        System.out.printf("monitoring: %s fired %.1f s after its fault was planted%n", alert, (now - at) / 1000.0);
                    }
                });
                return firedAfter.keySet().containsAll(plantedAt.keySet());
            });
            firedAfter.forEach((alert, millis) -> assertTrue(millis <= FIRE_TIMEOUT_MILLIS, alert + " took " + millis + " ms"));

            List<String> empty = new ArrayList<>();
            JsonObject dashboard = new JsonObject(Files.readString(Path.of("conf", "grafana", "taraz.json")));
            JsonArray panels = dashboard.getJsonArray("panels");
            for (int i = 0; i < panels.size(); i++) {
                JsonObject panel = panels.getJsonObject(i);
                JsonArray targets = panel.getJsonArray("targets");
                for (int j = 0; j < targets.size(); j++) {
                    String expr = targets.getJsonObject(j).getString("expr");
                    if (prometheus.query(expr).getJsonArray("result").isEmpty()) {
                        empty.add(panel.getString("title") + ": " + expr);
                    }
                }
            }
            assertEquals(List.of(), empty, "dashboard queries with no series");
        } finally {
            if (prometheus != null) {
                prometheus.close();
            }
            GatewayProcess.stop(gateway);
            psp.stop();
        }
    }

    private record Traffic(String passenger, String driver, String settledTrip, String creditedTopup) { }

    /** Some of every flow, so that every meter the dashboard reads exists. */
    private static Traffic traffic(ApiClient api, TestPsp psp) {
        String passenger = api.openWallet("passenger");
        String driver = api.openWallet("driver");
        api.fund(passenger, 10 * FARE);
        String trip = ApiClient.newId("trip");
        assertEquals(200, api.post("/v1/trips/" + trip + "/hold", ApiClient.newKey(),
                new JsonObject().put("passengerWalletId", passenger).put("amount", FARE)).status());
        assertEquals(200, api.post("/v1/trips/" + trip + "/settle", ApiClient.newKey(), new JsonObject()
                .put("passengerWalletId", passenger).put("driverWalletId", driver).put("fare", FARE)
                .put("commission", COMMISSION)).status());
        return new Traffic(passenger, driver, trip, Topups.paidAndCredited(api, psp, passenger, TOPUP, FIRE_TIMEOUT_MILLIS));
    }

    /** A top-up the bank verified whose credit never happened. */
    private static long plantPaidNotCredited(Connection db, String wallet) throws SQLException {
        long now = System.currentTimeMillis();
        update(db, "INSERT INTO topups (topup_id, wallet_id, amount_rials, gateway, state, authority, ref_id, created_at, "
                + "requested_at, verified_at, updated_at) SELECT 'tp_planted_paid', ?, ?, 'zarinpal', 'VERIFIED', "
                + "'A00000000000000000000000000planted', '987654', t, t, t, t FROM (SELECT now() - make_interval(secs => ?) AS t) a",
                wallet, TOPUP, AGE_SECONDS);
        return now;
    }

    /**
     * A top-up left VERIFYING since before the bank's window: past {@code pspWindowSeconds} and the stuck grace, it is
     * stuck (the sweeper, which would finish it, waits an hour here).
     */
    private static long plantStuck(Connection db, String wallet) throws SQLException {
        long now = System.currentTimeMillis();
        update(db, "INSERT INTO topups (topup_id, wallet_id, amount_rials, gateway, state, authority, created_at, requested_at, "
                + "updated_at) SELECT 'tp_planted_stuck', ?, ?, 'zarinpal', 'VERIFYING', 'A000000000000000000000000000stuck', "
                + "c, c, now() - make_interval(secs => ?) FROM (SELECT now() - make_interval(secs => ?) AS c) a",
                wallet, TOPUP, AGE_SECONDS, (int) STUCK_AGE.toSeconds());
        return now;
    }

    /** The credited top-up credited a second time, balanced, so nothing but the count of credits is wrong. */
    private static long plantDoubleCredit(Connection db, String topupId, String wallet) throws SQLException {
        long now = System.currentTimeMillis();
        update(db, "UPDATE topups SET created_at = now() - make_interval(secs => ?), updated_at = now() - make_interval(secs => ?) "
                + "WHERE topup_id = ?", AGE_SECONDS, AGE_SECONDS, topupId);
        update(db, "INSERT INTO transfers (id, kind, payment_id, amount_rials) VALUES (?, 'topup_credit', ?, ?)",
                "topup:" + topupId + ":credit-again", topupId, TOPUP);
        move(db, "topup:" + topupId + ":credit-again", AccountKind.PSP_CLEARING_ID, wallet, TOPUP);
        return now;
    }

    /** The settled trip's driver share moved to the platform: balanced, and the driver unpaid. */
    private static long plantUnpaidDriver(Connection db, String tripId, String driver) throws SQLException {
        long now = System.currentTimeMillis();
        long share = FARE - COMMISSION;
        update(db, "UPDATE trips SET updated_at = now() - make_interval(secs => ?) WHERE trip_id = ?", AGE_SECONDS, tripId);
        update(db, "UPDATE entries SET account_id = ? WHERE transfer_id = ? AND account_id = ?",
                AccountKind.PLATFORM_COMMISSION_ID, Trip.settleTransferId(tripId), driver);
        update(db, "UPDATE accounts SET balance_rials = balance_rials - ? WHERE id = ?", share, driver);
        update(db, "UPDATE accounts SET balance_rials = balance_rials + ? WHERE id = ?", share, AccountKind.PLATFORM_COMMISSION_ID);
        return now;
    }

    /** Money out of nowhere: one wallet's balance raised with no entry. */
    private static long plantImbalance(Connection db, String wallet) throws SQLException {
        long now = System.currentTimeMillis();
        update(db, "UPDATE accounts SET balance_rials = balance_rials + 1000 WHERE id = ?", wallet);
        return now;
    }

    /** Two balanced entries of {@code transferId}: {@code rials} from one account to another, balances moved with them. */
    private static void move(Connection db, String transferId, String from, String to, long rials) throws SQLException {
        db.setAutoCommit(false);
        try {
            update(db, "UPDATE accounts SET balance_rials = balance_rials - ? WHERE id = ?", rials, from);
            update(db, "UPDATE accounts SET balance_rials = balance_rials + ? WHERE id = ?", rials, to);
            update(db, "INSERT INTO entries (transfer_id, account_id, amount_rials, balance_after_rials) "
                    + "SELECT ?, id, ?, balance_rials FROM accounts WHERE id = ?", transferId, -rials, from);
            update(db, "INSERT INTO entries (transfer_id, account_id, amount_rials, balance_after_rials) "
                    + "SELECT ?, id, ?, balance_rials FROM accounts WHERE id = ?", transferId, rials, to);
            db.commit();
        } finally {
            db.setAutoCommit(true);
        }
    }

    private static void update(Connection db, String sql, Object... args) throws SQLException {
        try (PreparedStatement s = db.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                s.setObject(i + 1, args[i]);
            }
            s.executeUpdate();
        }
    }
}
