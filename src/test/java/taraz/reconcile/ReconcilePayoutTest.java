package taraz.reconcile;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import taraz.psp.PayoutProvider;
import taraz.psp.PayoutReportCsv;
import taraz.support.Payouts;
import taraz.support.ReconcileDb;
import taraz.support.Sql;
import taraz.support.TestGateway;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The payout provider's report against our payouts, in a database of its own: a payout paid at the provider but
 * FAILED here (its money back in the wallet) is found and fixed by the payout flow's own post, once; a payout paid
 * twice at the provider is found and left to support; both reach the support report.
 */
class ReconcilePayoutTest {

    private static final long FUNDS_RIALS = 1_000_000;
    private static final long FAILED_RIALS = 300_000;
    private static final long PAID_RIALS = 200_000;

    @Test
    void paidButFailedHereIsPostedOnceAndPaidTwiceGoesToSupport() throws Exception {
        ReconcileDb db = ReconcileDb.create();
        Path dir = TestGateway.tempDir("recon-payout-");
        String driver = "w_driver_payout";
        String failed = "po_failed_here";
        String twice = "po_paid_twice";
        String iban = Payouts.newIban();
        try (Connection c = db.connect()) {
            Sql.update(c, "INSERT INTO accounts (id, kind, owner_id, phone, name, iban, balance_rials) "
                    + "VALUES (?, 'driver', 'owner-payout', '+989120000000', 'Driver One', ?, ?)", driver, iban, FUNDS_RIALS - PAID_RIALS);
            Sql.update(c, "UPDATE accounts SET balance_rials = balance_rials - ? WHERE id = 'corrections'", FUNDS_RIALS);
            Sql.update(c, "UPDATE accounts SET balance_rials = balance_rials + ? WHERE id = 'payout-clearing'", PAID_RIALS);
            Sql.update(c, "INSERT INTO transfers (id, kind, payment_id, amount_rials) VALUES ('fund-driver', 'adjustment_credit', 'adj-1', ?)", FUNDS_RIALS);
            Sql.update(c, "INSERT INTO entries (transfer_id, account_id, amount_rials, balance_after_rials) VALUES "
                    + "('fund-driver', 'corrections', ?, ?), ('fund-driver', ?, ?, ?)", -FUNDS_RIALS, -FUNDS_RIALS, driver, FUNDS_RIALS, FUNDS_RIALS);
            Sql.update(c, "INSERT INTO transfers (id, kind, payment_id, amount_rials) VALUES (?, 'payout_post', ?, ?)",
                    "payout:" + twice + ":post", twice, PAID_RIALS);
            Sql.update(c, "INSERT INTO entries (transfer_id, account_id, amount_rials, balance_after_rials) VALUES "
                    + "(?, ?, ?, ?), (?, 'payout-clearing', ?, ?)", "payout:" + twice + ":post", driver, -PAID_RIALS,
                    FUNDS_RIALS - PAID_RIALS, "payout:" + twice + ":post", PAID_RIALS, PAID_RIALS);
            Sql.update(c, "INSERT INTO payouts (payout_id, wallet_id, amount_rials, iban, provider, state, failure_reason, transfer_id) "
                    + "VALUES (?, ?, ?, ?, 'payout-sim', 'FAILED', 'no_answer', NULL), (?, ?, ?, ?, 'payout-sim', 'PAID', NULL, ?)",
                    failed, driver, FAILED_RIALS, iban, twice, driver, PAID_RIALS, iban, "payout:" + twice + ":post");
            Sql.assertLedgerAddsUp(c, "planted");
        }
        Instant now = Instant.now();
        Path report = dir.resolve("payouts.csv");
        Files.writeString(report, PayoutReportCsv.write(List.of(
                new PayoutReportCsv.Row(failed, "T-1", iban, FAILED_RIALS, PayoutProvider.State.PAID, now),
                new PayoutReportCsv.Row(twice, "T-2", iban, PAID_RIALS, PayoutProvider.State.PAID, now),
                new PayoutReportCsv.Row(twice, "T-3", iban, PAID_RIALS, PayoutProvider.State.PAID, now))));
        Path reports = dir.resolve("dry");

        assertEquals(1, db.reconcile("--offline", "--no-settlement", "--payout-report", report.toString(), "--report-dir", reports.toString()));
        Map<String, JsonObject> found = findings(reports);
        assertEquals(Map.of("payout_paid_not_recorded:payout:" + failed, "open", "payout_paid_twice:payout:" + twice, "open"),
                found.entrySet().stream().collect(Collectors.toMap(Map.Entry::getKey, e -> e.getValue().getString("status"))));
        assertEquals(PAID_RIALS, found.get("payout_paid_twice:payout:" + twice).getLong("amount"));
        String cases = Files.readString(reports.resolve("support-cases.csv"));
        assertTrue(cases.contains(driver) && cases.contains("payout_paid_not_recorded") && cases.contains("payout_paid_twice"), cases);
        assertEquals(FUNDS_RIALS - PAID_RIALS, db.count("SELECT balance_rials FROM accounts WHERE id = ?", driver), "a dry run moves nothing");

        Path applied = dir.resolve("apply");
        assertEquals(1, db.reconcile("--offline", "--no-settlement", "--apply", "--payout-report", report.toString(), "--report-dir", applied.toString()),
                "the double payment is left to support");
        Map<String, JsonObject> after = findings(applied);
        assertEquals("fixed", after.get("payout_paid_not_recorded:payout:" + failed).getString("status"));
        assertEquals("manual", after.get("payout_paid_twice:payout:" + twice).getString("status"));
        assertEquals(FUNDS_RIALS - PAID_RIALS - FAILED_RIALS, db.count("SELECT balance_rials FROM accounts WHERE id = ?", driver));
        assertEquals(1, db.count("SELECT count(*) FROM transfers WHERE id = ?", "payout:" + failed + ":post"));
        assertEquals(1, db.count("SELECT count(*) FROM payouts WHERE payout_id = ? AND state = 'PAID'", failed));

        assertEquals(1, db.reconcile("--offline", "--no-settlement", "--apply", "--payout-report", report.toString()));
        assertEquals(1, db.count("SELECT count(*) FROM transfers WHERE id = ?", "payout:" + failed + ":post"), "a second run posts nothing");
        assertEquals(FUNDS_RIALS - PAID_RIALS - FAILED_RIALS, db.count("SELECT balance_rials FROM accounts WHERE id = ?", driver));
        try (Connection c = db.connect()) {
            Sql.assertLedgerAddsUp(c, "after reconcile");
        }
    }

    private static Map<String, JsonObject> findings(Path reports) throws Exception {
        JsonArray all = new JsonObject(Files.readString(reports.resolve("findings.json"))).getJsonArray("findings");
        return all.stream().map(JsonObject.class::cast).collect(Collectors.toMap(f -> f.getString("key"), f -> f));
    }
}
