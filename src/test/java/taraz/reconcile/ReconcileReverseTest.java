package taraz.reconcile;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import taraz.support.ReconcileDb;
import taraz.support.TestGateway;
import taraz.support.TestPsp;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.LocalDate;
import java.time.ZoneOffset;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A cardholder paid one top-up twice at the bank (the old server opened a second payment for a
 * retried request, and verified both): inside the bank's 30-minute window, reconcile returns the
 * second payment to the card with the bank's reverse, and the wallet is left alone.
 */
class ReconcileReverseTest {

    private static final String MERCHANT = "00000000-0000-4000-8000-000000000000";
    private static final long AMOUNT_RIALS = 700_000;

    @Test
    void aSecondPaymentInsideTheWindowIsReversedAtTheBank() throws Exception {
        Path dir = TestGateway.tempDir("recon-reverse-");
        TestPsp psp = TestPsp.start(dir.resolve("psp"));
        try {
            ReconcileDb db = ReconcileDb.create();
            JsonObject first = paidAndVerified(psp);
            JsonObject second = paidAndVerified(psp);
            String wallet = "w-reverse-1";
            String topup = "tp-reverse-1";
            try (Connection c = db.connect()) {
                c.setAutoCommit(false);
                exec(c, "INSERT INTO accounts (id, kind, owner_id, name, phone) VALUES (?, 'passenger', ?, 'سارا کریمی', '09120000001')",
                        wallet, wallet);
                exec(c, "INSERT INTO transfers (id, kind, payment_id, amount_rials) VALUES (?, 'topup_credit', ?, ?)",
                        "topup:" + topup + ":credit", topup, AMOUNT_RIALS);
                exec(c, "INSERT INTO entries (transfer_id, account_id, amount_rials, balance_after_rials) VALUES (?, 'psp-clearing', ?, ?), (?, ?, ?, ?)",
                        "topup:" + topup + ":credit", -AMOUNT_RIALS, -AMOUNT_RIALS, "topup:" + topup + ":credit", wallet, AMOUNT_RIALS, AMOUNT_RIALS);
                exec(c, "UPDATE accounts SET balance_rials = balance_rials + ? WHERE id = ?", AMOUNT_RIALS, wallet);
                exec(c, "UPDATE accounts SET balance_rials = balance_rials - ? WHERE id = 'psp-clearing'", AMOUNT_RIALS);
                exec(c, "INSERT INTO topups (topup_id, wallet_id, amount_rials, gateway, state, authority, ref_id, card_pan, transfer_id, "
                                + "created_at, verified_at) VALUES (?, ?, ?, 'zarinpal', 'CREDITED', ?, ?, ?, ?, now() - interval '1 minute', now())",
                        topup, wallet, AMOUNT_RIALS, first.getString("authority"), first.getString("ref_id"), first.getString("card_pan"),
                        "topup:" + topup + ":credit");
                c.commit();
            }
            String today = LocalDate.now(ZoneOffset.UTC).toString();
            Path settlement = dir.resolve("settlement-" + today + ".csv");
            Files.writeString(settlement, psp.settlement(today));
            Path rules = dir.resolve("rules.json");
            Files.writeString(rules, new JsonObject(Files.readString(Path.of("conf", "reconcile.json"))).put("minAgeSeconds", 0).encode());
            Path report = dir.resolve("report");

            assertEquals(0, db.reconcile("--apply", "--psp-url", psp.baseUrl(), "--rules", rules.toString(),
                    "--settlement", settlement.toString(), "--report-dir", report.toString()));
            JsonObject finding = new JsonObject(Files.readString(report.resolve("findings.json"))).getJsonArray("findings").getJsonObject(0);
            assertEquals("double_charge", finding.getString("kind"));
            assertEquals("double_charge:bank:" + second.getString("authority"), finding.getString("key"));
            assertEquals("fixed", finding.getString("status"));
            assertTrue(finding.getString("whatWasDone").contains("returned the second payment"), finding.encode());
            assertEquals("REVERSED", psp.payment(second.getString("authority")).getString("status"));
            assertEquals("VERIFIED", psp.payment(first.getString("authority")).getString("status"));
            assertEquals(AMOUNT_RIALS, db.count("SELECT balance_rials FROM accounts WHERE id = ?", wallet), "the wallet is left alone");
            assertEquals(1, db.count("SELECT count(*) FROM reconciliation_actions WHERE action = 'psp_reverse'"));

            // The report still lists the second payment as settled; the run knows it was reversed.
            assertEquals(0, db.reconcile("--apply", "--psp-url", psp.baseUrl(), "--rules", rules.toString(),
                    "--settlement", settlement.toString()));
            assertEquals(0, db.count("SELECT count(*) FROM transfers WHERE kind LIKE '%_correction'"));
        } finally {
            psp.stop();
        }
    }

    /** A payment the cardholder made with the card ending 4321 and the merchant verified: its authority, ref_id, card. */
    private static JsonObject paidAndVerified(TestPsp psp) {
        String authority = psp.zarinpal("request", new JsonObject().put("merchant_id", MERCHANT).put("amount", AMOUNT_RIALS)
                .put("callback_url", "http://127.0.0.1:9/none").put("description", "old server top-up"))
                .getJsonObject("data").getString("authority");
        psp.pay(authority, "OK", "4321");
        JsonObject verified = psp.zarinpal("verify", new JsonObject().put("merchant_id", MERCHANT).put("authority", authority)
                .put("amount", AMOUNT_RIALS)).getJsonObject("data");
        assertEquals(100, verified.getInteger("code"), verified.encode());
        return new JsonObject().put("authority", authority).put("ref_id", String.valueOf(verified.getValue("ref_id")))
                .put("card_pan", verified.getString("card_pan"));
    }

    private static void exec(Connection c, String sql, Object... args) throws Exception {
        try (PreparedStatement s = c.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                s.setObject(i + 1, args[i]);
            }
            s.executeUpdate();
        }
    }
}
