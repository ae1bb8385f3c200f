package taraz.reconcile;

import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.csv.CsvMapper;
import com.fasterxml.jackson.dataformat.csv.CsvSchema;
import org.junit.jupiter.api.Test;
import taraz.psp.SettlementCsv;
import taraz.support.GatewayProcess;
import taraz.support.ReconcileDb;
import taraz.support.TestGateway;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What an operator (or a cron job) meets running reconcile: no settlement file is an error unless said so, money at
 * the bank that matches no top-up reaches the support report as an unknown payer, and standard output carries the
 * summary alone.
 */
class ReconcileOperatorTest {

    private static final long UNKNOWN_RIALS = 730_000;
    private static final String UNKNOWN_CARD = "603799******5566";
    private static final long COMMAND_TIMEOUT_MILLIS = 120_000;

    @Test
    void withoutASettlementFileItWarnsAndExits2UnlessToldSo() throws Exception {
        ReconcileDb db = ReconcileDb.create();
        PrintStream saved = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        int missing;
        int both;
        try {
            missing = db.reconcile("--offline");
            both = db.reconcile("--offline", "--no-settlement", "--settlement", "x.csv");
        } finally {
            System.setErr(saved);
        }
        assertEquals(ReconcileCommand.ERROR, missing, err.toString(StandardCharsets.UTF_8));
        assertEquals(ReconcileCommand.ERROR, both, err.toString(StandardCharsets.UTF_8));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("no --settlement file given"), err.toString(StandardCharsets.UTF_8));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("--no-settlement"), err.toString(StandardCharsets.UTF_8));
        assertEquals(ReconcileCommand.CLEAN, db.reconcile("--offline", "--no-settlement"), "an empty ledger is clean");
    }

    @Test
    void moneyAtTheBankForNoTopupIsAnUnknownPayerInTheSupportReport() throws Exception {
        ReconcileDb db = ReconcileDb.create();
        Path dir = TestGateway.tempDir("recon-unknown-");
        String today = LocalDate.now(ZoneOffset.UTC).toString();
        Path settlement = dir.resolve("settlement-" + today + ".csv");
        Files.writeString(settlement, SettlementCsv.HEADER + "\n"
                + today + ",T1001,A00000000000000000000000000unknown1,9000042," + UNKNOWN_CARD + "," + UNKNOWN_RIALS + ",SETTLED\n");
        Path report = dir.resolve("report");
        assertEquals(ReconcileCommand.FINDINGS_REMAIN, db.reconcile("--offline", "--settlement", settlement.toString(),
                "--report-dir", report.toString()));

        List<Map<String, String>> cases = csv(report.resolve("support-cases.csv"));
        assertEquals(1, cases.size(), cases.toString());
        Map<String, String> unknown = cases.get(0);
        assertEquals(Reports.UNKNOWN_PAYER, unknown.get("customer"), unknown.toString());
        assertEquals(UNKNOWN_CARD, unknown.get("card"));
        assertEquals(Long.toString(UNKNOWN_RIALS), unknown.get("amount_rials"));
        assertEquals("A00000000000000000000000000unknown1", unknown.get("payment_ids"));
        assertEquals("no", unknown.get("resolved"));
    }

    /** A child process, as cron runs it: the summary on standard output, every log line on standard error. */
    @Test
    void logLinesGoToStandardErrorAndTheSummaryAloneToStandardOutput() throws Exception {
        ReconcileDb db = ReconcileDb.create();
        GatewayProcess.Apart run = GatewayProcess.runApart(List.of("reconcile", "--offline", "--no-settlement",
                "--pg-url", db.pgUrl()), db.dataDir(), COMMAND_TIMEOUT_MILLIS);
        assertEquals(ReconcileCommand.CLEAN, run.status(), run.stdout() + run.stderr());
        assertTrue(run.stdout().startsWith("taraz reconcile "), run.stdout());
        assertTrue(run.stdout().lines().skip(1).allMatch(line -> line.startsWith("  ")), "a summary line each:\n" + run.stdout());
        assertFalse(run.stdout().contains("\"level\""), "a log line on standard output:\n" + run.stdout());
        assertTrue(run.stderr().contains("\"level\":\"INFO\"") && run.stderr().contains("schema from"),
                "the start-up's log lines on standard error:\n" + run.stderr());
    }

    private static List<Map<String, String>> csv(Path file) throws Exception {
        String text = Files.readString(file, StandardCharsets.UTF_8).replace("\uFEFF", "");
        try (MappingIterator<Map<String, String>> rows = new CsvMapper().readerForMapOf(String.class)
                .with(CsvSchema.emptySchema().withHeader()).readValues(text)) {
            return rows.readAll();
        }
    }
}
