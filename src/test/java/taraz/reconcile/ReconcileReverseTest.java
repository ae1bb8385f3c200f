package taraz.reconcile;

import taraz.support.Wait;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import taraz.failpoint.Failpoints;
import taraz.support.ApiClient;
import taraz.support.GatewayProcess;
import taraz.support.ReconcileDb;
import taraz.support.Sql;
import taraz.support.TestGateway;
import taraz.support.TestPsp;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A cardholder paid one top-up twice at the bank (the old server opened a second payment for a
 * retried request, and verified both): inside the bank's 30-minute window, reconcile returns the
 * second payment to the card with the bank's reverse, and the wallet is left alone; whatever
 * happens to the reverse call or to the run, the customer is refunded once, at the bank or in
 * the wallet, never both.
 */
class ReconcileReverseTest {

    private static final String MERCHANT = "00000000-0000-4000-8000-000000000000";
    private static final long AMOUNT_RIALS = 700_000;
    private static final long PSP_TIMEOUT_MILLIS = 1000;
    private static final long EXIT_TIMEOUT_MILLIS = 120_000;
    private static final long WINDOW_OVER_SECONDS = 1;

    @Test
    void aSecondPaymentInsideTheWindowIsReversedAtTheBank() throws Exception {
        Path dir = TestGateway.tempDir("recon-reverse-");
        TestPsp psp = TestPsp.start(dir.resolve("psp"));
        try {
            ReconcileDb db = ReconcileDb.create();
            Charged charged = chargedTwice(db, psp, dir);
            Path rules = rules(dir);
            Path report = dir.resolve("report");

            assertEquals(0, db.reconcile("--apply", "--psp-url", psp.baseUrl(), "--rules", rules.toString(),
                    "--settlement", charged.settlement().toString(), "--report-dir", report.toString()));
            JsonObject finding = new JsonObject(Files.readString(report.resolve("findings.json"))).getJsonArray("findings").getJsonObject(0);
            assertEquals("double_charge", finding.getString("kind"));
            assertEquals("double_charge:bank:" + charged.second(), finding.getString("key"));
            assertEquals("fixed", finding.getString("status"));
            assertTrue(finding.getString("whatWasDone").contains("returned the second payment"), finding.encode());
            assertEquals("REVERSED", psp.payment(charged.second()).getString("status"));
            assertEquals("VERIFIED", psp.payment(charged.first()).getString("status"));
            assertEquals(AMOUNT_RIALS, db.count("SELECT balance_rials FROM accounts WHERE id = ?", charged.wallet()), "the wallet is left alone");
            assertEquals(1, db.count("SELECT count(*) FROM reconciliation_actions WHERE action = 'psp_reverse'"));

            // The report still lists the second payment as settled; the run knows it was reversed.
            assertEquals(0, db.reconcile("--apply", "--psp-url", psp.baseUrl(), "--rules", rules.toString(),
                    "--settlement", charged.settlement().toString()));
            assertEquals(0, db.count("SELECT count(*) FROM transfers WHERE kind LIKE '%_correction'"));
        } finally {
            psp.stop();
        }
    }

    /**
     * The reverse call fails and the bank cannot be asked either: it held the call (timeout, the
     * bank did nothing) or reversed and lost the answer. The run posts nothing. The next run, with
     * the bank healthy and the reverse window over by then, asks the bank first: it refunds the
     * wallet only when the bank still holds the money. Either way the customer gets it back once.
     */
    @ParameterizedTest
    @ValueSource(strings = {"timeoutRate", "lostAnswerRate"})
    void aReverseWhoseAnswerIsLostIsNeverRefundedTwice(String fault) throws Exception {
        Path dir = TestGateway.tempDir("recon-reverse-lost-");
        TestPsp psp = TestPsp.start(dir.resolve("psp"));
        try {
            ReconcileDb db = ReconcileDb.create();
            Charged charged = chargedTwice(db, psp, dir);
            psp.faults(TestPsp.defaultFaults().put("endpoints", new JsonObject()
                    .put("reverse", new JsonObject().put(fault, 1.0))
                    .put("inquiry", new JsonObject().put("timeoutRate", 1.0))));

            assertEquals(1, db.reconcile("--apply", "--psp-url", psp.baseUrl(), "--rules", rules(dir).toString(),
                    "--settlement", charged.settlement().toString()), "not fixed: the outcome at the bank is unknown");
            assertEquals(0, db.count("SELECT count(*) FROM transfers WHERE kind LIKE '%_correction'"), "nothing posted");
            assertEquals(fault.equals("lostAnswerRate") ? "REVERSED" : "VERIFIED", psp.payment(charged.second()).getString("status"));
            assertEquals(1, db.count("SELECT count(*) FROM reconciliation_actions WHERE action = 'reversing'"));

            psp.resetFaults();
            awaitClaimReleased(db);
            awaitWindowOver(charged);
            assertEquals(0, db.reconcile("--apply", "--psp-url", psp.baseUrl(), "--rules", rules(dir).toString(),
                    "--config", windowOver(dir).toString(),
                    "--settlement", charged.settlement().toString()));
            assertRefundedOnce(db, psp, charged);
        } finally {
            psp.stop();
        }
    }

    /** Reconcile dies after the bank reversed, before it recorded that; the next run asks the bank and posts nothing. */
    @Test
    void aRunCrashedAfterTheReverseIsNotFollowedByAWalletRefund() throws Exception {
        Path dir = TestGateway.tempDir("recon-reverse-crash-");
        TestPsp psp = TestPsp.start(dir.resolve("psp"));
        try {
            ReconcileDb db = ReconcileDb.create();
            Charged charged = chargedTwice(db, psp, dir);
            GatewayProcess run = GatewayProcess.command(List.of("reconcile", "--apply", "--pg-url", db.pgUrl(),
                    "--psp-url", psp.baseUrl(), "--rules", rules(dir).toString(),
                    "--settlement", charged.settlement().toString()), db.dataDir(), Map.of("TARAZ_FAILPOINTS", "reconcile.after-reverse=crash"));
            assertEquals(Failpoints.CRASH_EXIT_STATUS, run.awaitExit(EXIT_TIMEOUT_MILLIS), run.output());
            assertEquals("REVERSED", psp.payment(charged.second()).getString("status"));
            assertEquals(1, db.count("SELECT count(*) FROM reconciliation_actions WHERE action = 'reversing'"));

            awaitClaimReleased(db);
            awaitWindowOver(charged);
            // The window is over for the rerun: without the claim it would refund the wallet.
            assertEquals(0, db.reconcile("--apply", "--psp-url", psp.baseUrl(), "--rules", rules(dir).toString(),
                    "--config", windowOver(dir).toString(),
                    "--settlement", charged.settlement().toString()));
            assertRefundedOnce(db, psp, charged);
        } finally {
            psp.stop();
        }
    }

    private static void assertRefundedOnce(ReconcileDb db, TestPsp psp, Charged charged) throws Exception {
        boolean atBank = psp.payment(charged.second()).getString("status").equals("REVERSED");
        long inWallet = db.count("SELECT count(*) FROM transfers WHERE kind LIKE '%_correction'");
        assertEquals(1, (atBank ? 1 : 0) + inWallet, "refunded once: at the bank " + atBank + ", in the wallet " + inWallet);
        assertEquals(AMOUNT_RIALS * (atBank ? 1 : 2), db.count("SELECT balance_rials FROM accounts WHERE id = ?", charged.wallet()));
        assertEquals("VERIFIED", psp.payment(charged.first()).getString("status"));
        assertEquals(0, db.count("SELECT count(*) FROM reconciliation_actions WHERE action = 'reversing'"));
        assertEquals(0, db.count("SELECT coalesce(sum(balance_rials), 0) FROM accounts"));
    }

    /** A claim on a reverse holds a lease while its run's calls may still reach the bank; a successor waits it out. */
    private static void awaitClaimReleased(ReconcileDb db) {
        Wait.until("the reverse claim's lease ends", EXIT_TIMEOUT_MILLIS,
                () -> db.count("SELECT count(*) FROM reconciliation_actions WHERE lease_until > now()"), leased -> leased == 0);
    }

    /**
     * Until the 1 s window of {@link #windowOver} has been closed for longer than a reverse call may still take (the
     * claim's lease, 3 calls of {@code pspTimeoutMillis}): only then may a run refund the wallet instead, and the
     * test's rerun must not land just short of that.
     */
    private static void awaitWindowOver(Charged charged) {
        long over = charged.chargedAtMillis() + WINDOW_OVER_SECONDS * 1000 + 3 * PSP_TIMEOUT_MILLIS + 1000;
        Wait.until("the bank's window is over by more than a reverse call", EXIT_TIMEOUT_MILLIS,
                () -> System.currentTimeMillis() > over);
    }

    /** The wallet credited once for a top-up the cardholder paid twice at the bank; the settlement lists both. */
    private record Charged(String wallet, String first, String second, Path settlement, long chargedAtMillis) {}

    private static Charged chargedTwice(ReconcileDb db, TestPsp psp, Path dir) throws Exception {
        JsonObject first = paidAndVerified(psp);
        JsonObject second = paidAndVerified(psp);
        String wallet = ApiClient.newId("w-reverse");
        String topup = ApiClient.newId("tp-reverse");
        try (Connection c = db.connect()) {
            c.setAutoCommit(false);
            Sql.update(c, "INSERT INTO accounts (id, kind, owner_id, name, phone) VALUES (?, 'passenger', ?, 'سارا کریمی', '09120000001')",
                    wallet, wallet);
            Sql.update(c, "INSERT INTO transfers (id, kind, payment_id, amount_rials) VALUES (?, 'topup_credit', ?, ?)",
                    "topup:" + topup + ":credit", topup, AMOUNT_RIALS);
            Sql.update(c, "INSERT INTO entries (transfer_id, account_id, amount_rials, balance_after_rials) VALUES (?, 'psp-clearing', ?, ?), (?, ?, ?, ?)",
                    "topup:" + topup + ":credit", -AMOUNT_RIALS, -AMOUNT_RIALS, "topup:" + topup + ":credit", wallet, AMOUNT_RIALS, AMOUNT_RIALS);
            Sql.update(c, "UPDATE accounts SET balance_rials = balance_rials + ? WHERE id = ?", AMOUNT_RIALS, wallet);
            Sql.update(c, "UPDATE accounts SET balance_rials = balance_rials - ? WHERE id = 'psp-clearing'", AMOUNT_RIALS);
            Sql.update(c, "INSERT INTO topups (topup_id, wallet_id, amount_rials, gateway, state, authority, ref_id, card_pan, transfer_id, "
                            + "created_at, verified_at) VALUES (?, ?, ?, 'zarinpal', 'CREDITED', ?, ?, ?, ?, now() - interval '1 minute', now())",
                    topup, wallet, AMOUNT_RIALS, first.getString("authority"), first.getString("ref_id"), first.getString("card_pan"),
                    "topup:" + topup + ":credit");
            c.commit();
        }
        String today = LocalDate.now(ZoneOffset.UTC).toString();
        Path settlement = dir.resolve("settlement-" + today + ".csv");
        Files.writeString(settlement, psp.settlement(today));
        return new Charged(wallet, first.getString("authority"), second.getString("authority"), settlement,
                System.currentTimeMillis());
    }

    /** The rules for a run: every payment judged at once, and short bank calls. */
    private static Path rules(Path dir) throws Exception {
        Path rules = dir.resolve("rules.json");
        Files.writeString(rules, new JsonObject().put("minAgeSeconds", 0).put("pspTimeoutMillis", PSP_TIMEOUT_MILLIS).encode());
        return rules;
    }

    /**
     * Settings whose bank window is 1 s: over for both payments once {@link #awaitWindowOver} has waited.
     */
    private static Path windowOver(Path dir) throws Exception {
        Path config = dir.resolve("window-over.json");
        Files.writeString(config, new JsonObject().put("pspWindowSeconds", WINDOW_OVER_SECONDS).encode());
        return config;
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
}
