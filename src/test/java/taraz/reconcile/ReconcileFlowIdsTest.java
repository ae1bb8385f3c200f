package taraz.reconcile;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import taraz.failpoint.Failpoints;
import taraz.journal.JournalReader;
import taraz.journal.JournalRecord;
import taraz.support.ApiClient;
import taraz.support.GatewayProcess;
import taraz.support.ReconcileDb;
import taraz.support.TestGateway;
import taraz.support.TestPsp;
import taraz.support.Topups;
import taraz.support.Wait;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A trip's id is its caller's choice, so a trip can carry a top-up's id. Reconcile judges each
 * flow on its own transfers and keys each finding by flow, and the journal keys each payment by
 * flow, so such a pair is two payments, never one whose money looks wrong twice over.
 */
class ReconcileFlowIdsTest {

    private static final long AMOUNT_RIALS = 500_000;
    private static final long COMMISSION_RIALS = 50_000;
    private static final long WAIT_MILLIS = 60_000;
    private static final long FUNDS_RIALS = 1_000_000;
    private static final long FARE_RIALS = 150_000;

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
            ApiClient api = gateway.api();
            String passenger = api.openWallet("passenger");
            String driver = api.openWallet("driver");
            String topupId = Topups.paidAndCredited(api, psp, passenger, AMOUNT_RIALS, WAIT_MILLIS);

            ApiClient.Response settled = api.post("/v1/trips/" + topupId + "/settle", ApiClient.newKey(), new JsonObject()
                    .put("passengerWalletId", passenger).put("driverWalletId", driver)
                    .put("fare", AMOUNT_RIALS - 1).put("commission", COMMISSION_RIALS));
            assertEquals(2, settled.status() / 100, settled.text());
            assertEquals(1, api.balance(passenger));
            String before = balances(db);

            Path rules = dir.resolve("rules.json");
            Files.writeString(rules, new JsonObject(Files.readString(Path.of("conf", "reconcile.json"))).put("minAgeSeconds", 0).encode());
            Path report = dir.resolve("report");
            int status = db.reconcile("--apply", "--no-settlement", "--psp-url", psp.baseUrl(), "--rules", rules.toString(),
                    "--report-dir", report.toString());

            assertEquals(before, balances(db), "no wallet gained or lost: " + Files.readString(report.resolve("findings.json")));
            assertEquals(0, db.count("SELECT coalesce(sum(balance_rials), 0) FROM accounts"));
            assertEquals(0, db.count("SELECT count(*) FROM transfers WHERE id LIKE 'reconcile:%'"));
            assertEquals(0, status, "two healthy payments, nothing to find");
            assertTrue(new JsonObject(Files.readString(report.resolve("findings.json"))).getJsonArray("findings").isEmpty());
        } finally {
            gateway.close();
            psp.stop();
        }
    }

    /**
     * A top-up and a trip of one id both half-done when the gateway dies: the trip held inside its
     * settle, the top-up verified at the bank and not yet credited. The journal keys each by
     * flow and id, so recovery finishes each through its own flow: the top-up credited once, the
     * trip settled once.
     */
    @Test
    void aTripAndATopupOfOneIdInFlightAreEachRecoveredByTheirOwnFlow() throws Exception {
        Path dir = TestGateway.tempDir("recon-ids-journal-");
        TestPsp psp = TestPsp.start(dir.resolve("psp"));
        Path dataDir = dir.resolve("gateway");
        int port = TestGateway.freePort();
        Map<String, String> env = new HashMap<>(GatewayProcess.config(dataDir, Map.of("topupCallbackGraceSeconds", 600)));
        env.put("TARAZ_PSP_URL", psp.baseUrl());
        Map<String, String> crashing = new HashMap<>(env);
        crashing.put("TARAZ_FAILPOINTS", "trip.settle.before-commit=delay(600000),topup.after-verify=crash");
        GatewayProcess first = GatewayProcess.start(dataDir, port, crashing);
        ExecutorService settling = Executors.newSingleThreadExecutor();
        try {
            ApiClient api = first.api();
            String passenger = api.openWallet("passenger");
            String driver = api.openWallet("driver");
            api.fund(passenger, FUNDS_RIALS);
            ApiClient.Response created = api.post("/v1/topups", ApiClient.newKey(),
                    new JsonObject().put("walletId", passenger).put("amount", AMOUNT_RIALS));
            assertEquals(201, created.status(), created.text());
            String id = created.json().getString("topupId");
            JsonObject settle = new JsonObject().put("passengerWalletId", passenger).put("driverWalletId", driver)
                    .put("fare", FARE_RIALS).put("commission", COMMISSION_RIALS);
            settling.submit(() -> api.post("/v1/trips/" + id + "/settle", ApiClient.newKey(), settle));
            awaitJournal(dataDir, "trip", id, "SETTLING");
            psp.pay(created.json().getString("authority"), "OK");
            assertEquals(Failpoints.CRASH_EXIT_STATUS, first.awaitExit(WAIT_MILLIS), first.output());
            assertEquals(JournalRecord.Status.PENDING, last(dataDir, "trip", id).status());
            assertEquals(JournalRecord.Status.PENDING, last(dataDir, "topup", id).status());

            GatewayProcess second = GatewayProcess.start(dataDir, port, env);
            try {
                ApiClient again = second.api();
                assertEquals("CREDITED", again.get("/v1/topups/" + id).json().getString("state"), second.output());
                assertEquals("SETTLED", again.get("/v1/trips/" + id).json().getString("state"), second.output());
                assertEquals(FUNDS_RIALS + AMOUNT_RIALS - FARE_RIALS, again.balance(passenger));
                assertEquals(FARE_RIALS - COMMISSION_RIALS, again.balance(driver));
                assertEquals(JournalRecord.Status.TERMINAL, last(dataDir, "trip", id).status());
                assertEquals(JournalRecord.Status.TERMINAL, last(dataDir, "topup", id).status());
            } finally {
                second.close();
            }
        } finally {
            settling.shutdownNow();
            first.close();
            psp.stop();
        }
    }

    private static void awaitJournal(Path dataDir, String flow, String id, String state) {
        Wait.until(flow + "/" + id + " " + state + " in the journal", WAIT_MILLIS, () -> last(dataDir, flow, id),
                record -> record != null && record.state().equals(state));
    }

    /** The last journal record of one flow's payment, or null. */
    private static JournalRecord last(Path dataDir, String flow, String id) {
        List<JournalRecord> records = new ArrayList<>();
        JournalReader.read(dataDir.resolve("journal"), 0, (record, index) -> {
            if (record.flow().equals(flow) && record.paymentId().equals(id)) {
                records.add(record);
            }
        });
        return records.isEmpty() ? null : records.get(records.size() - 1);
    }

    private static String balances(ReconcileDb db) throws Exception {
        try (Connection c = db.connect();
             ResultSet r = c.createStatement().executeQuery("SELECT string_agg(id || '=' || balance_rials, ',' ORDER BY id) FROM accounts")) {
            r.next();
            return r.getString(1);
        }
    }
}
