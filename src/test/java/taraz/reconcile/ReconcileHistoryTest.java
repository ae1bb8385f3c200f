package taraz.reconcile;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import taraz.support.BrokenHistory;
import taraz.support.ReconcileDb;
import taraz.support.TestGateway;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The old server's broken history (the three incidents and every other kind, among tens of
 * thousands of healthy payments) through a dry run, an apply and a second run.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ReconcileHistoryTest {

    private ReconcileDb db;
    private BrokenHistory.Seeded history;
    private List<String> settlementArgs;

    @BeforeAll
    void seed() throws Exception {
        db = ReconcileDb.create();
        try (Connection c = db.connect()) {
            history = BrokenHistory.write(c, db.dataDir().resolve("settlement"), 200, 20_000, 20_000, 41);
        }
        settlementArgs = new ArrayList<>();
        for (Path file : history.settlementFiles()) {
            settlementArgs.add("--settlement");
            settlementArgs.add(file.toString());
        }
    }

    @Test
    void findsEveryKindForTheRightCustomersAndNothingElseThenFixesItOnce() throws Exception {
        Path dry = TestGateway.tempDir("recon-dry-");
        assertEquals(1, run(dry, false));
        JsonObject report = new JsonObject(Files.readString(dry.resolve("findings.json")));
        Set<String> found = new TreeSet<>();
        for (Object f : report.getJsonArray("findings")) {
            JsonObject finding = (JsonObject) f;
            found.add(finding.getString("kind") + " " + finding.getString("walletId") + " " + finding.getLong("amount"));
            assertEquals("open", finding.getString("status"));
        }
        Set<String> expected = new TreeSet<>();
        for (BrokenHistory.Expected e : history.expected()) {
            expected.add(e.kind() + " " + e.walletId() + " " + e.amountRials());
        }
        // Exactly the planted faults: every kind found, for the right customer and amount, and no healthy payment flagged.
        assertEquals(expected, found);
        assertEquals(Set.of(Finding.Kind.values()).size(), report.getJsonObject("summary").fieldNames().size());
        for (String kind : report.getJsonObject("summary").fieldNames()) {
            // The payout provider's kinds need its report, and the refund kinds refunds, which this history has none of:
            // ReconcilePayoutTest and ReconcileRefundTest plant them.
            if (!kind.startsWith("payout_") && !kind.startsWith("refund_")) {
                assertTrue(report.getJsonObject("summary").getJsonObject(kind).getLong("found") > 0, kind + " not found");
            }
        }
        // A dry run changes nothing.
        assertEquals(0, db.count("SELECT count(*) FROM reconciliation_actions"));
        assertEquals(0, db.count("SELECT count(*) FROM transfers WHERE kind LIKE '%_correction'"));

        supportReport(dry);

        Path applied = TestGateway.tempDir("recon-apply-");
        assertEquals(0, run(applied, true));
        JsonArray after = new JsonObject(Files.readString(applied.resolve("findings.json"))).getJsonArray("findings");
        for (Object f : after) {
            assertEquals("fixed", ((JsonObject) f).getString("status"), ((JsonObject) f).encode());
        }
        assertEquals(0, db.count("SELECT coalesce(sum(balance_rials), 0) FROM accounts"));
        assertEquals(0, db.count("SELECT count(*) FROM accounts a WHERE balance_rials <> "
                + "(SELECT coalesce(sum(amount_rials), 0) FROM entries e WHERE e.account_id = a.id)"));
        assertEquals(0, db.count("SELECT count(*) FROM accounts a WHERE held_rials <> "
                + "(SELECT coalesce(sum(amount_rials), 0) FROM holds h WHERE h.account_id = a.id AND h.state = 'HELD')"));

        // The second run finds nothing, and a second apply moves nothing.
        long transfers = db.count("SELECT count(*) FROM transfers");
        Path again = TestGateway.tempDir("recon-again-");
        assertEquals(0, run(again, true));
        assertEquals(0, new JsonObject(Files.readString(again.resolve("findings.json"))).getJsonArray("findings").size());
        assertEquals(transfers, db.count("SELECT count(*) FROM transfers"));
    }

    private void supportReport(Path dir) throws Exception {
        byte[] bytes = Files.readAllBytes(dir.resolve("support-cases.csv"));
        // A byte-order mark, so a spreadsheet reads the file as UTF-8.
        assertEquals((byte) 0xEF, bytes[0]);
        List<String> lines = Files.readAllLines(dir.resolve("support-cases.csv"), StandardCharsets.UTF_8);
        Set<String> customers = new HashSet<>();
        for (BrokenHistory.Expected e : history.expected()) {
            if (e.walletId() != null) {
                customers.add(e.walletId());
            }
        }
        assertEquals(customers.size() + 1, lines.size(), "one row per affected customer, after the header");
        Set<String> seen = new HashSet<>();
        for (String line : lines.subList(1, lines.size())) {
            String wallet = line.split(",", 2)[0];
            assertTrue(seen.add(wallet), "two rows for " + wallet);
            assertTrue(line.contains(history.customerNames().get(wallet)), "name of " + wallet + " in " + line);
        }
        assertEquals(customers, seen);
    }

    private int run(Path reportDir, boolean apply) {
        List<String> args = new ArrayList<>(settlementArgs);
        args.addAll(List.of("--offline", "--report-dir", reportDir.toString()));
        if (apply) {
            args.add("--apply");
        }
        return db.reconcile(args.toArray(String[]::new));
    }
}
