package taraz.app;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import taraz.support.Payouts;
import taraz.support.ReconcileDb;
import taraz.support.Sql;
import taraz.support.TestGateway;
import taraz.support.TestPsp;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code taraz payouts run}, in a database of its own: the dry run lists who would be paid and changes nothing; the
 * batch pays each driver at or above the threshold with an IBAN once, skips the others, and a second run on the same
 * day pays no one again.
 */
class PayoutsRunTest {

    private static final long MIN_RIALS = 1_000_000;

    @Test
    void theDailyBatchPaysEachDriverOncePerDay() throws Exception {
        ReconcileDb db = ReconcileDb.create();
        TestPsp psp = TestGateway.get().psp();
        Path dir = TestGateway.tempDir("payouts-run-");
        Path config = dir.resolve("taraz.json");
        Files.writeString(config, "{\"payoutUrl\": \"" + psp.baseUrl() + "\"}");
        String iban = Payouts.newIban();
        try (Connection c = db.connect()) {
            driver(c, "w_batch_rich", iban, 2_500_000);
            driver(c, "w_batch_poor", Payouts.newIban(), 400_000);
            driver(c, "w_batch_noiban", null, 3_000_000);
            driver(c, "w_batch_debt", Payouts.newIban(), -50_000);
        }
        String day = LocalDate.now(ZoneOffset.UTC).format(DateTimeFormatter.BASIC_ISO_DATE);
        String payoutId = "pb_" + day + "_w_batch_rich";

        Run dry = run(db, dir, config);
        assertEquals(0, dry.status(), dry.output());
        assertTrue(dry.output().contains("would pay w_batch_rich 2500000 rials"), dry.output());
        assertTrue(dry.output().contains("skipped   w_batch_noiban 3000000 rials: no IBAN on record"), dry.output());
        assertTrue(dry.output().contains("skipped   w_batch_debt -50000 rials: in debt"), dry.output());
        assertFalse(dry.output().contains("w_batch_poor"), dry.output());
        assertEquals(0, db.count("SELECT count(*) FROM payouts"), "a dry run pays no one");

        Run paid = run(db, dir, config, "--apply");
        assertEquals(0, paid.status(), paid.output());
        assertTrue(paid.output().contains(payoutId), paid.output());
        assertEquals(0, db.count("SELECT balance_rials - held_rials FROM accounts WHERE id = 'w_batch_rich'"));
        assertEquals(1, db.count("SELECT count(*) FROM payouts"));
        assertEquals(1, psp.payout(payoutId).getInteger("sends"));

        Run again = run(db, dir, config, "--apply");
        assertEquals(0, again.status(), again.output());
        assertEquals(1, db.count("SELECT count(*) FROM payouts"), "one payout per driver and day");
        assertEquals(1, psp.payout(payoutId).getInteger("sends"), "nothing sent twice");
        try (Connection c = db.connect()) {
            Sql.assertLedgerAddsUp(c, "after the batch");
        }
    }

    private record Run(int status, String output) {}

    private static Run run(ReconcileDb db, Path dir, Path config, String... more) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream before = System.out;
        System.setOut(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        try {
            java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of("run", "--min", Long.toString(MIN_RIALS),
                    "--pg-url", db.pgUrl(), "--data-dir", dir.toString(), "--config", config.toString()));
            args.addAll(java.util.List.of(more));
            int status = new CommandLine(new PayoutsCommand()).execute(args.toArray(String[]::new));
            return new Run(status, bytes.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(before);
        }
    }

    /**
     * A driver wallet funded from the corrections account, as the ledger would record it; a negative amount is a driver
     * a trip refund took below zero (its debt allowed).
     */
    private static void driver(Connection c, String id, String iban, long rials) throws Exception {
        Sql.update(c, "INSERT INTO accounts (id, kind, owner_id, iban, balance_rials, debt_allowed_rials) VALUES (?, 'driver', ?, ?, ?, ?)",
                id, id, iban, rials, Math.max(0, -rials));
        Sql.update(c, "UPDATE accounts SET balance_rials = balance_rials - ? WHERE id = 'corrections'", rials);
        Sql.update(c, "INSERT INTO transfers (id, kind, payment_id, amount_rials) VALUES (?, 'adjustment_credit', ?, ?)", "fund-" + id, id,
                Math.abs(rials));
        long corrections = Sql.count(c, "SELECT balance_rials FROM accounts WHERE id = 'corrections'");
        Sql.update(c, "INSERT INTO entries (transfer_id, account_id, amount_rials, balance_after_rials) VALUES (?, 'corrections', ?, ?), "
                + "(?, ?, ?, ?)", "fund-" + id, -rials, corrections, "fund-" + id, id, rials, rials);
    }
}
