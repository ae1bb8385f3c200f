package taraz.reconcile;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import taraz.psp.SettlementCsv;
import taraz.support.ReconcileDb;
import taraz.support.Sql;
import taraz.support.TestGateway;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Migration V6 on the rows earlier runs of {@code taraz reconcile --apply} left behind: a database
 * at V5 holds payments those runs had already corrected, written as the pre-V6 Corrector wrote
 * them (transfer {@code reconcile:<kind>:<payment id>} of kind {@code correction}, the finding's kind
 * as reason, and its {@code reconciliation_actions} row keyed {@code <kind>:<payment id>}); one
 * case for each branch of V6's CASE. After the migration each correction carries its flow, each
 * key names it, and today's reconcile finds every one of those payments clean: none is corrected
 * twice.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ReconcileMigrationTest {

    private static final String CORRECTIONS = "corrections";
    private static final String PLATFORM = "platform-commission";
    private static final String CLEARING = "psp-clearing";
    private static final String RUN = "run-before-v6";

    /** The settlement report's day; the top-ups of the day before are judged by their state alone. */
    private final LocalDate day = LocalDate.now(ZoneOffset.UTC).minusDays(3);
    private final OffsetDateTime covered = day.atTime(10, 0).atOffset(ZoneOffset.UTC);
    private final OffsetDateTime uncovered = covered.minusDays(1);

    private ReconcileDb db;
    private Path settlement;
    private final StringBuilder settlementRows = new StringBuilder();
    /** Each old correction transfer and the kind V6 must give it. */
    private final Map<String, String> expectedKinds = new TreeMap<>();
    /** The key V6 must give each old action row, and the row's transfer (its action when it has none). */
    private final Map<String, String> expectedRows = new TreeMap<>();
    private Map<String, String> balancesBefore;
    private Map<String, String> entriesBefore;
    private Map<String, String> transfersBefore;

    @BeforeAll
    void seedAtV5ThenMigrate() throws Exception {
        db = ReconcileDb.createAt("5");
        try (Connection c = db.connect()) {
            assertEquals(5, Sql.count(c, "SELECT max(version::int) FROM flyway_schema_history WHERE success"));
            c.setAutoCommit(false);
            seed(c);
            c.commit();
            balancesBefore = rows(c, "SELECT id, balance_rials || '/' || held_rials FROM accounts");
            entriesBefore = rows(c, "SELECT id::text, transfer_id || ' ' || account_id || ' ' || amount_rials || ' ' "
                    + "|| balance_after_rials FROM entries");
            transfersBefore = rows(c, "SELECT id, kind FROM transfers");
        }
        settlement = db.dataDir().resolve("settlement-" + day + ".csv");
        Files.writeString(settlement, SettlementCsv.HEADER_PAID_AT + "\n" + settlementRows,
                StandardCharsets.UTF_8);
        db.migrate();
    }

    @Test
    void eachEarlierCorrectionTakesItsFlowAndNoMoneyMoves() throws Exception {
        try (Connection c = db.connect()) {
            assertEquals(1, Sql.count(c, "SELECT count(*) FROM flyway_schema_history WHERE version = '6' AND success"));

            // The corrections have the kind of their flow; their ids, and every other transfer, are as they were.
            Map<String, String> transfersAfter = rows(c, "SELECT id, kind FROM transfers");
            assertEquals(transfersBefore.keySet(), transfersAfter.keySet());
            for (Map.Entry<String, String> t : transfersBefore.entrySet()) {
                String expected = expectedKinds.getOrDefault(t.getKey(), t.getValue());
                assertEquals(expected, transfersAfter.get(t.getKey()), "kind of " + t.getKey());
            }
            assertEquals(0, Sql.count(c, "SELECT count(*) FROM transfers WHERE kind = 'correction'"));

            // The action rows' keys name the flow; the balance repair keeps its account key.
            assertEquals(expectedRows, rows(c, "SELECT finding_key, coalesce(transfer_id, action) FROM reconciliation_actions"));

            // No money moved: the same entries, the same balances, still summing to 0 and matching the entries.
            assertEquals(entriesBefore, rows(c, "SELECT id::text, transfer_id || ' ' || account_id || ' ' || amount_rials || ' ' "
                    + "|| balance_after_rials FROM entries"));
            assertEquals(balancesBefore, rows(c, "SELECT id, balance_rials || '/' || held_rials FROM accounts"));
            assertEquals(0, Sql.count(c, "SELECT coalesce(sum(balance_rials), 0) FROM accounts"));
            assertEquals(0, Sql.count(c, "SELECT count(*) FROM accounts a WHERE balance_rials <> "
                    + "(SELECT coalesce(sum(amount_rials), 0) FROM entries e WHERE e.account_id = a.id)"));

            // The reverse claim's columns, with their defaults on the earlier rows.
            assertEquals(expectedRows.size(), Sql.count(c, "SELECT count(*) FROM reconciliation_actions "
                    + "WHERE attempts = 1 AND lease_until IS NULL"));
            try (PreparedStatement s = c.prepareStatement("SELECT column_name, data_type, is_nullable, column_default "
                    + "FROM information_schema.columns WHERE table_name = 'reconciliation_actions' "
                    + "AND column_name IN ('attempts', 'lease_until') ORDER BY column_name");
                 ResultSet r = s.executeQuery()) {
                assertTrue(r.next());
                assertEquals("attempts integer NO 1", r.getString(1) + " " + r.getString(2) + " " + r.getString(3) + " " + r.getString(4));
                assertTrue(r.next());
                assertEquals("lease_until timestamp with time zone YES", r.getString(1) + " " + r.getString(2) + " " + r.getString(3));
                assertNull(r.getString(4));
            }
        }
    }

    @Test
    void reconcileFindsTheCorrectedPaymentsCleanAndPlansNoSecondCorrection() throws Exception {
        long transfers = db.count("SELECT count(*) FROM transfers");
        Path report = TestGateway.tempDir("recon-v6-");
        int status = db.reconcile("--settlement", settlement.toString(), "--offline", "--report-dir", report.toString());
        JsonObject findings = new JsonObject(Files.readString(report.resolve("findings.json")));
        // Every payment here was corrected before V6 and is whole: a finding would be a second correction.
        assertEquals(0, findings.getJsonArray("findings").size(), findings.getJsonArray("findings").encodePrettily());
        assertEquals(0, status);
        assertEquals(transfers, db.count("SELECT count(*) FROM transfers"));
    }

    // ---- the rows the pre-V6 code left ---------------------------------------------------------

    private void seed(Connection c) throws SQLException {
        for (String p : List.of("p-a", "p-b", "p-c", "p-d", "p-e", "p-f", "p-g", "p-h", "p-i")) {
            wallet(c, p, "passenger");
        }
        wallet(c, "d-1", "driver");
        wallet(c, "d-2", "driver");

        // Top-up kinds. A repeated callback credited tp-dc twice; the run debited the extra credit back.
        topup(c, "tp-dc", "p-a", 1_500_000, uncovered, null);
        post(c, "legacy:topup:tp-dc:credit:2", "topup_credit", "tp-dc", null, legs(CLEARING, -1_500_000, "p-a", 1_500_000));
        oldCorrection(c, "double_credit", "tp-dc", "p-a", 1_500_000, "tp-dc", legs("p-a", -1_500_000, CORRECTIONS, 1_500_000),
                "topup_correction", "double_credit:topup:tp-dc");
        // Credited, but the bank's report of its day does not list it: the run took the credit back.
        topup(c, "tp-cnp", "p-b", 600_000, covered, null);
        oldCorrection(c, "credited_not_paid", "tp-cnp", "p-b", 600_000, "tp-cnp", legs("p-b", -600_000, CORRECTIONS, 600_000),
                "topup_correction", "credited_not_paid:topup:tp-cnp");

        // A card charged twice at the bank, past the reverse window: refunded to the wallet. The old
        // key and transfer name the second payment's authority; the action row names the top-up.
        topup(c, "tp-twin", "p-c", 900_000, covered, "AU-TWIN");
        bankRow("AU-DUP", "", card("p-c"), 900_000, covered.plusMinutes(2));
        oldCorrection(c, "double_charge", "AU-DUP", "p-c", 900_000, "tp-twin", legs("p-c", 900_000, CORRECTIONS, -900_000),
                "bank_correction", "double_charge:bank:AU-DUP");
        // Another one, returned to the card by the bank's reverse: an action row and no transfer.
        topup(c, "tp-twin2", "p-d", 400_000, covered, "AU-TWIN2");
        bankRow("AU-REV", "", card("p-d"), 400_000, covered.plusMinutes(3));
        action(c, "double_charge:AU-REV", "double_charge", "tp-twin2", "p-d", 400_000, "psp_reverse", null);
        expectedRows.put("double_charge:bank:AU-REV", "psp_reverse");

        // Toman taken for rials: the bank settled 500,000, the wallet got 50,000 (only the wallet and
        // the corrections account move, and the top-up exists: a top-up's amount_mismatch).
        topupSettled(c, "tp-toman", "p-e", 50_000, 500_000, covered, "AU-TOMAN");
        oldCorrection(c, "amount_mismatch", "tp-toman", "p-e", 450_000, "tp-toman", legs("p-e", 450_000, CORRECTIONS, -450_000),
                "topup_correction", "amount_mismatch:topup:tp-toman");

        // Trip kinds, on the old server's shapes; their passengers topped up first.
        topup(c, "tp-fund-f", "p-f", 1_000_000, uncovered, null);
        topup(c, "tp-fund-g", "p-g", 500_000, uncovered, null);
        topup(c, "tp-fund-h", "p-h", 500_000, uncovered, null);
        // The fare went to the platform; the driver's share never arrived.
        trip(c, "trip-dnc", "p-f", "d-1", 340_000, 68_000);
        post(c, "legacy:trip:trip-dnc:charge", "trip_charge", "trip-dnc", null, legs("p-f", -340_000, PLATFORM, 340_000));
        oldCorrection(c, "driver_not_credited", "trip-dnc", "d-1", 272_000, "trip-dnc", legs("d-1", 272_000, PLATFORM, -272_000),
                "trip_correction", "driver_not_credited:trip:trip-dnc");
        // The whole fare went to the driver.
        trip(c, "trip-cm", "p-f", "d-2", 200_000, 40_000);
        post(c, "legacy:trip:trip-cm:fare", "trip_fare", "trip-cm", null, legs("p-f", -200_000, "d-2", 200_000));
        oldCorrection(c, "commission_missing", "trip-cm", "d-2", 40_000, "trip-cm", legs("d-2", -40_000, PLATFORM, 40_000),
                "trip_correction", "commission_missing:trip:trip-cm");
        // Settled twice: a trip's double_charge names the trip in its transfer and in its row alike.
        trip(c, "trip-dup", "p-g", "d-1", 120_000, 24_000);
        post(c, "trip:trip-dup:settle", "trip_settle", "trip-dup", null, legs("p-g", -120_000, "d-1", 96_000, PLATFORM, 24_000));
        post(c, "legacy:trip:trip-dup:again", "trip_settle", "trip-dup", null, legs("p-g", -120_000, "d-1", 96_000, PLATFORM, 24_000));
        oldCorrection(c, "double_charge", "trip-dup", "p-g", 120_000, "trip-dup",
                legs("p-g", 120_000, "d-1", -96_000, PLATFORM, -24_000), "trip_correction", "double_charge:trip:trip-dup");
        // A trip's id is its caller's choice: these two carry the ids of top-ups, one of the trip's
        // own passenger, one of another customer.
        topup(c, "tp-shared-am", "p-h", 300_000, uncovered, null);
        topup(c, "tp-shared-short", "p-i", 200_000, uncovered, null);
        // The driver got 10,000 more than his share (out of the bank's clearing): a trip's
        // amount_mismatch, told from its passenger's top-up of the same id by its driver leg.
        trip(c, "tp-shared-am", "p-h", "d-2", 100_000, 20_000);
        post(c, "legacy:trip:tp-shared-am:settle", "trip_settle", "tp-shared-am", null,
                legs("p-h", -100_000, "d-2", 90_000, PLATFORM, 20_000, CLEARING, -10_000));
        oldCorrection(c, "amount_mismatch", "tp-shared-am", "p-h", 10_000, "tp-shared-am", legs("d-2", -10_000, CORRECTIONS, 10_000),
                "trip_correction", "amount_mismatch:trip:tp-shared-am");
        // The passenger paid 10,000 short: the correction moves only the passenger's wallet and the
        // corrections account, like a top-up's, but no top-up has this id.
        trip(c, "trip-short", "p-h", "d-1", 150_000, 30_000);
        post(c, "legacy:trip:trip-short:settle", "trip_settle", "trip-short", null,
                legs("p-h", -140_000, CLEARING, -10_000, "d-1", 120_000, PLATFORM, 30_000));
        oldCorrection(c, "amount_mismatch", "trip-short", "p-h", 10_000, "trip-short", legs("p-h", -10_000, CORRECTIONS, 10_000),
                "trip_correction", "amount_mismatch:trip:trip-short");
        // The same, on a trip whose id a top-up has: that top-up is another customer's, and a
        // top-up's amount_mismatch only ever corrects the top-up's own wallet.
        trip(c, "tp-shared-short", "p-h", "d-1", 80_000, 16_000);
        post(c, "legacy:trip:tp-shared-short:settle", "trip_settle", "tp-shared-short", null,
                legs("p-h", -75_000, CLEARING, -5_000, "d-1", 64_000, PLATFORM, 16_000));
        oldCorrection(c, "amount_mismatch", "tp-shared-short", "p-h", 5_000, "tp-shared-short",
                legs("p-h", -5_000, CORRECTIONS, 5_000), "trip_correction", "amount_mismatch:trip:tp-shared-short");

        // A balance repair, keyed by the account and the balance it found: no payment, no transfer.
        action(c, "balance_drift:p-i:301000:0", "balance_drift", null, "p-i", 1_000, "repair_balance", null);
        expectedRows.put("balance_drift:p-i:301000:0", "repair_balance");
    }

    /**
     * What the pre-V6 Corrector wrote for a ledger correction, in one transaction: the action row
     * (its key {@code <kind>:<id>}, the finding's payment id) and the transfer
     * {@code reconcile:<key>} of kind {@code correction} on {@code transferPaymentId}.
     */
    private void oldCorrection(Connection c, String kind, String transferPaymentId, String walletId, long amount,
                               String findingPaymentId, Map<String, Long> legs, String kindAfter, String keyAfter) throws SQLException {
        String key = kind + ":" + transferPaymentId;
        String transferId = "reconcile:" + key;
        action(c, key, kind, findingPaymentId, walletId, amount, "correction", transferId);
        post(c, transferId, "correction", transferPaymentId, kind, legs);
        expectedKinds.put(transferId, kindAfter);
        expectedRows.put(keyAfter, transferId);
    }

    private void action(Connection c, String key, String kind, String paymentId, String walletId, long amount, String action,
                        String transferId) throws SQLException {
        Sql.update(c, "INSERT INTO reconciliation_actions (finding_key, kind, payment_id, wallet_id, amount_rials, action, transfer_id, "
                + "run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", key, kind, paymentId, walletId, amount, action, transferId, RUN);
    }

    /** A transfer and its entries as the ledger posts them: each entry carries its account's balance after it. */
    private void post(Connection c, String id, String kind, String paymentId, String reason, Map<String, Long> legs)
            throws SQLException {
        long credits = legs.values().stream().filter(v -> v > 0).mapToLong(Long::longValue).sum();
        assertEquals(0, legs.values().stream().mapToLong(Long::longValue).sum(), "legs of " + id);
        Sql.update(c, "INSERT INTO transfers (id, kind, payment_id, amount_rials, reason) VALUES (?, ?, ?, ?, ?)",
                id, kind, paymentId, credits, reason);
        // Credits first, so no wallet dips below zero on the way (the no_overdraft check is per row).
        List<Map.Entry<String, Long>> ordered = new ArrayList<>(legs.entrySet());
        ordered.sort(Map.Entry.<String, Long>comparingByValue().reversed());
        for (Map.Entry<String, Long> leg : ordered) {
            long after = Sql.count(c, "UPDATE accounts SET balance_rials = balance_rials + ? WHERE id = ? RETURNING balance_rials",
                    leg.getValue(), leg.getKey());
            Sql.update(c, "INSERT INTO entries (transfer_id, account_id, amount_rials, balance_after_rials) VALUES (?, ?, ?, ?)",
                    id, leg.getKey(), leg.getValue(), after);
        }
    }

    private void wallet(Connection c, String id, String kind) throws SQLException {
        Sql.update(c, "INSERT INTO accounts (id, kind, owner_id, name) VALUES (?, ?, ?, ?)", id, kind, id, id);
    }

    private static String card(String wallet) {
        return "603799******" + String.format("%04d", Math.abs(wallet.hashCode()) % 10_000);
    }

    /** A top-up paid and credited its amount; on the settlement's day, the bank's report lists it when it has an authority. */
    private void topup(Connection c, String id, String wallet, long amount, OffsetDateTime at, String authority) throws SQLException {
        topupSettled(c, id, wallet, amount, authority == null ? 0 : amount, at, authority);
    }

    private void topupSettled(Connection c, String id, String wallet, long amount, long settledRials, OffsetDateTime at,
                              String authority) throws SQLException {
        String transferId = "topup:" + id + ":credit";
        post(c, transferId, "topup_credit", id, null, legs(CLEARING, -amount, wallet, amount));
        String ref = authority == null ? null : "R" + authority.replace("-", "");
        Sql.update(c, "INSERT INTO topups (topup_id, wallet_id, amount_rials, gateway, state, authority, ref_id, card_pan, transfer_id, "
                        + "created_at, requested_at, callback_at, verified_at, updated_at) "
                        + "VALUES (?, ?, ?, 'zarinpal', 'CREDITED', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                id, wallet, amount, authority == null ? "AU-" + id : authority, ref, card(wallet), transferId, at,
                at.plusSeconds(1), at.plusSeconds(15), at.plusSeconds(18), at.plusSeconds(20));
        if (authority != null) {
            bankRow(authority, ref, card(wallet), settledRials, at.plusSeconds(18));
        }
    }

    private void bankRow(String authority, String ref, String card, long amount, OffsetDateTime paidAt) {
        settlementRows.append(day).append(",T-0001,").append(authority).append(',').append(ref).append(',').append(card)
                .append(',').append(amount).append(",SETTLED,").append(paidAt.toInstant()).append('\n');
    }

    private void trip(Connection c, String id, String passenger, String driver, long fare, long commission) throws SQLException {
        Sql.update(c, "INSERT INTO trips (trip_id, state, passenger_wallet_id, driver_wallet_id, fare_rials, commission_rials, "
                + "created_at, updated_at) VALUES (?, 'SETTLED', ?, ?, ?, ?, ?, ?)", id, passenger, driver, fare, commission,
                uncovered, uncovered.plusMinutes(1));
    }

    private static Map<String, Long> legs(Object... accountAndAmount) {
        Map<String, Long> legs = new LinkedHashMap<>();
        for (int i = 0; i < accountAndAmount.length; i += 2) {
            legs.put((String) accountAndAmount[i], ((Number) accountAndAmount[i + 1]).longValue());
        }
        return legs;
    }

    /** Two columns, the first a key, in key order. */
    private static Map<String, String> rows(Connection c, String sql) throws SQLException {
        Map<String, String> rows = new TreeMap<>();
        try (PreparedStatement s = c.prepareStatement(sql); ResultSet r = s.executeQuery()) {
            while (r.next()) {
                rows.put(r.getString(1), r.getString(2));
            }
        }
        return rows;
    }
}
