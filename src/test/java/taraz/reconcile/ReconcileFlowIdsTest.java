package taraz.reconcile;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import taraz.support.Api;
import taraz.support.GatewayProcess;
import taraz.support.ReconcileDb;
import taraz.support.TestGateway;
import taraz.support.TestPsp;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A trip's id is its caller's choice, so a trip can carry a top-up's id. Reconcile judges each
 * flow on its own transfers and keys each finding by flow, so such a pair is two healthy payments,
 * not one payment whose money looks wrong twice over.
 */
class ReconcileFlowIdsTest {

    private static final long AMOUNT_RIALS = 500_000;
    private static final long COMMISSION_RIALS = 50_000;
    private static final long WAIT_MILLIS = 60_000;

    /**
     * The attack: top up A, then settle a trip named like the top-up for a fare of A - 1 from the
     * same wallet. Judged by payment id alone, the top-up seems credited 1 instead of A and the
     * trip seems paid 1 instead of A - 1, and --apply credited the wallet A - 1 out of nothing.
     */
    @Test
    void aTripNamedLikeATopupIsNotReadAsItsMoney() throws Exception {
        Path dir = TestGateway.tempDir("recon-ids-");
        TestPsp psp = TestPsp.start(dir.resolve("psp"));
        ReconcileDb db = ReconcileDb.create();
        Map<String, String> env = new HashMap<>(GatewayProcess.config(dir.resolve("gateway"), Map.of()));
        env.put("TARAZ_PG_URL", db.pgUrl());
        env.put("TARAZ_PSP_URL", psp.baseUrl());
        GatewayProcess gateway = GatewayProcess.start(dir.resolve("gateway"), TestGateway.freePort(), env);
        try {
            Api api = gateway.api();
            String passenger = api.openWallet("passenger");
            String driver = api.openWallet("driver");
            Api.Response created = api.post("/v1/topups", Api.newKey(),
                    new JsonObject().put("walletId", passenger).put("amount", AMOUNT_RIALS));
            assertEquals(201, created.status(), created.text());
            String topupId = created.json().getString("topupId");
            psp.pay(created.json().getString("authority"), "OK");
            awaitState(api, "/v1/topups/" + topupId, "CREDITED");

            Api.Response settled = api.post("/v1/trips/" + topupId + "/settle", Api.newKey(), new JsonObject()
                    .put("passengerWalletId", passenger).put("driverWalletId", driver)
                    .put("fare", AMOUNT_RIALS - 1).put("commission", COMMISSION_RIALS));
            assertEquals(2, settled.status() / 100, settled.text());
            assertEquals(1, api.balance(passenger));
            String before = balances(db);

            Path rules = dir.resolve("rules.json");
            Files.writeString(rules, new JsonObject(Files.readString(Path.of("conf", "reconcile.json"))).put("minAgeSeconds", 0).encode());
            Path report = dir.resolve("report");
            int status = db.reconcile("--apply", "--psp-url", psp.baseUrl(), "--rules", rules.toString(),
                    "--report-dir", report.toString());

            assertEquals(before, balances(db), "no wallet gained or lost: " + Files.readString(report.resolve("findings.json")));
            assertEquals(0, db.count("SELECT coalesce(sum(balance_rials), 0) FROM accounts"));
            assertEquals(0, db.count("SELECT count(*) FROM transfers WHERE id LIKE 'reconcile:%'"));
            assertEquals(0, status, "two healthy payments, nothing to find");
            assertTrue(new JsonObject(Files.readString(report.resolve("findings.json"))).getJsonArray("findings").isEmpty());
        } finally {
            gateway.kill();
            psp.stop();
        }
    }

    private static void awaitState(Api api, String path, String state) throws InterruptedException {
        long deadline = System.currentTimeMillis() + WAIT_MILLIS;
        String last = null;
        while (System.currentTimeMillis() < deadline) {
            last = api.get(path).json().getString("state");
            if (state.equals(last)) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError(path + " is " + last + ", never " + state);
    }

    private static String balances(ReconcileDb db) throws Exception {
        try (Connection c = db.connect();
             ResultSet r = c.createStatement().executeQuery("SELECT string_agg(id || '=' || balance_rials, ',' ORDER BY id) FROM accounts")) {
            r.next();
            return r.getString(1);
        }
    }
}
