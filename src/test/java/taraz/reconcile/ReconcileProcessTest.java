package taraz.reconcile;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import taraz.failpoint.Failpoints;
import taraz.journal.JournalReader;
import taraz.journal.JournalRecord;
import taraz.support.ApiClient;
import taraz.support.BrokenHistory;
import taraz.support.GatewayProcess;
import taraz.support.ReconcileDb;
import taraz.support.TestGateway;
import taraz.support.TestPsp;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Reconcile as its own process: beside a crashed gateway, and two runs at once. */
class ReconcileProcessTest {

    private static final long AMOUNT_RIALS = 3_000_000;
    private static final long EXIT_TIMEOUT_MILLIS = 120_000;
    private static TestPsp psp;

    @BeforeAll
    static void startPsp() {
        psp = TestPsp.start(TestGateway.tempDir("psp-"));
    }

    @AfterAll
    static void stopPsp() {
        psp.stop();
    }

    /**
     * The gateway dies after the bank verified a top-up and before the wallet was credited.
     * Reconcile runs with the gateway down (it starts the embedded PostgreSQL the dead gateway
     * left), credits through the top-up's own credit phase; then the gateway starts and its
     * recovery replays that top-up: one credit, one successful verify at the bank.
     */
    @Test
    void crashedTopupReconciledWhileTheGatewayIsDownIsCreditedOnce() throws Exception {
        Path dataDir = TestGateway.tempDir("recon-crash-");
        int port = TestGateway.freePort();
        Map<String, String> env = new HashMap<>(GatewayProcess.config(dataDir, Map.of("topupCallbackGraceSeconds", 600)));
        env.put("TARAZ_PSP_URL", psp.baseUrl());
        Map<String, String> crashing = new HashMap<>(env);
        crashing.put("TARAZ_FAILPOINTS", "topup.after-verify=crash");

        GatewayProcess gateway = GatewayProcess.start(dataDir, port, crashing);
        ApiClient api = gateway.api();
        String wallet = api.openWallet("passenger");
        ApiClient.Response created = api.post("/v1/topups", ApiClient.newKey(), new JsonObject().put("walletId", wallet).put("amount", AMOUNT_RIALS));
        assertEquals(201, created.status(), created.text());
        String topupId = created.json().getString("topupId");
        String authority = created.json().getString("authority");
        psp.pay(authority, "OK");
        assertEquals(Failpoints.CRASH_EXIT_STATUS, gateway.awaitExit(EXIT_TIMEOUT_MILLIS), gateway.output());
        assertEquals("VERIFIED", lastJournalRecord(dataDir, topupId).state(), "the journal stops at the verify");

        String today = LocalDate.now(ZoneOffset.UTC).toString();
        Path settlement = dataDir.resolve("settlement-" + today + ".csv");
        Files.writeString(settlement, psp.settlement(today));
        Path rules = dataDir.resolve("rules.json");
        Files.writeString(rules, new JsonObject(Files.readString(Path.of("conf", "reconcile.json"))).put("minAgeSeconds", 0).encode());

        GatewayProcess reconcile = GatewayProcess.command(List.of("reconcile", "--apply", "--settlement", settlement.toString(),
                "--rules", rules.toString(), "--report-dir", dataDir.resolve("report").toString()), dataDir, env);
        assertEquals(0, reconcile.awaitExit(EXIT_TIMEOUT_MILLIS), reconcile.output());
        assertTrue(reconcile.output().contains("paid_not_credited"), reconcile.output());

        GatewayProcess restarted = GatewayProcess.start(dataDir, port, env);
        try {
            ApiClient again = restarted.api();
            assertEquals(AMOUNT_RIALS, again.balance(wallet), "credited exactly once");
            assertEquals("CREDITED", again.get("/v1/topups/" + topupId).json().getString("state"));
            try (Connection c = GatewayProcess.connectToDatabase(dataDir);
                 PreparedStatement s = c.prepareStatement("SELECT count(*) FROM transfers WHERE payment_id = ?")) {
                s.setString(1, topupId);
                try (ResultSet r = s.executeQuery()) {
                    r.next();
                    assertEquals(1, r.getLong(1), "one transfer: the flow's own credit");
                }
            }
            JsonObject atBank = psp.payment(authority);
            assertEquals(1, atBank.getInteger("verifySuccesses"), atBank.encode());
            assertEquals(JournalRecord.Status.TERMINAL, lastJournalRecord(dataDir, topupId).status());
        } finally {
            restarted.kill();
        }
        GatewayProcess.Result rerun = GatewayProcess.run(List.of("reconcile", "--offline", "--settlement", settlement.toString(),
                "--rules", rules.toString()), dataDir, EXIT_TIMEOUT_MILLIS);
        assertEquals(0, rerun.status(), rerun.output());
    }

    /** Two apply runs over the same broken history at once: every correction is made once. */
    @Test
    void twoConcurrentAppliesMoveMoneyOnce() throws Exception {
        ReconcileDb single = ReconcileDb.create();
        ReconcileDb racing = ReconcileDb.create();
        List<String> args = new ArrayList<>(List.of("reconcile", "--apply", "--offline"));
        BrokenHistory.Seeded seeded = null;
        for (ReconcileDb db : List.of(single, racing)) {
            try (Connection c = db.connect()) {
                seeded = BrokenHistory.write(c, db.dataDir().resolve("settlement"), 60, 3_000, 3_000, 7);
            }
        }
        for (Path file : seeded.settlementFiles()) {
            args.add("--settlement");
            args.add("settlement/" + file.getFileName());
        }
        // The same seed in both databases: one applied once, the other by two processes at once.
        assertEquals(0, runIn(single, args, 1).get(0).awaitExit(EXIT_TIMEOUT_MILLIS));
        List<GatewayProcess> two = runIn(racing, args, 2);
        for (GatewayProcess run : two) {
            assertEquals(0, run.awaitExit(EXIT_TIMEOUT_MILLIS), run.output());
        }
        String balances = "SELECT string_agg(id || '=' || balance_rials || '/' || held_rials, ',' ORDER BY id) FROM accounts";
        assertEquals(text(single, balances), text(racing, balances), "the same balances as one run");
        String moved = "SELECT count(*) FROM transfers";
        assertEquals(single.count(moved), racing.count(moved));
        assertEquals(single.count("SELECT count(*) FROM reconciliation_actions"), racing.count("SELECT count(*) FROM reconciliation_actions"));
        assertEquals(0, racing.count("SELECT coalesce(sum(balance_rials), 0) FROM accounts"));
        assertEquals(0, racing.reconcile(args.subList(1, args.size()).stream().map(a -> a.startsWith("settlement/")
                ? racing.dataDir().resolve(a).toString() : a).toArray(String[]::new)), "clean afterwards");
    }

    private static List<GatewayProcess> runIn(ReconcileDb db, List<String> args, int copies) throws Exception {
        List<String> all = new ArrayList<>(args);
        for (int i = 0; i < all.size(); i++) {
            if (all.get(i).startsWith("settlement/")) {
                all.set(i, db.dataDir().resolve(all.get(i)).toString());
            }
        }
        all.addAll(List.of("--pg-url", db.pgUrl()));
        List<GatewayProcess> runs = new ArrayList<>();
        for (int i = 0; i < copies; i++) {
            runs.add(GatewayProcess.command(all, db.dataDir(), Map.of()));
        }
        return runs;
    }

    private static String text(ReconcileDb db, String sql) throws Exception {
        try (Connection c = db.connect(); ResultSet r = c.createStatement().executeQuery(sql)) {
            r.next();
            return r.getString(1);
        }
    }

    private static JournalRecord lastJournalRecord(Path dataDir, String paymentId) {
        List<JournalRecord> records = new ArrayList<>();
        JournalReader.read(dataDir.resolve("journal"), 0, (record, index) -> {
            if (record.paymentId().equals(paymentId)) {
                records.add(record);
            }
        });
        return records.get(records.size() - 1);
    }
}
