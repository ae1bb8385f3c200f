package taraz.psp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import taraz.psp.PayoutProvider.State;
import taraz.psp.PayoutReportCsv.MalformedReport;
import taraz.psp.PayoutReportCsv.Row;

/** The payout report's codec: what it writes it reads back, and a bad line is named by its number. */
class PayoutReportCsvTest {
    static final String IBAN = "IR" + "0".repeat(22) + "12";
    static final String GOOD = "P-1,TR700000001," + IBAN + ",2500000,PAID,2026-11-30T10:00:00.123Z";

    @Test
    void whatIsWrittenReadsBack() {
        List<Row> rows = List.of(
                new Row("P-1", "TR700000001", IBAN, 2_500_000, State.PAID, Instant.parse("2026-11-30T10:00:00.123Z")),
                new Row("P,2", "TR700000002", IBAN, 1, State.FAILED, Instant.parse("2026-11-30T23:59:59Z")));
        String csv = PayoutReportCsv.write(rows);
        assertTrue(csv.startsWith(PayoutReportCsv.HEADER + "\n" + GOOD + "\n"), csv);
        assertTrue(csv.contains("\"P,2\""), "a comma is quoted: " + csv);
        assertEquals(rows, PayoutReportCsv.parse(csv));
        assertEquals(rows, PayoutReportCsv.parse(csv.replace("\n", "\r\n")));
        assertEquals(List.of(), PayoutReportCsv.parse(PayoutReportCsv.write(List.of())));
    }

    @Test
    void aMalformedLineIsNamed() {
        String header = PayoutReportCsv.HEADER + "\n";
        Map<String, Integer> bad = Map.ofEntries(
                Map.entry("", 1),
                Map.entry("reference_id,transfer_id\n", 1),
                Map.entry(header + GOOD + "\n\n" + GOOD + "\n", 3),
                Map.entry(header + GOOD + "\nP-2,TR2," + IBAN + ",2500000,PAID\n", 3),
                Map.entry(header + "P-2,TR2,IR12,2500000,PAID,2026-11-30T10:00:00Z\n", 2),
                Map.entry(header + "P-2,TR2," + IBAN + ",lots,PAID,2026-11-30T10:00:00Z\n", 2),
                Map.entry(header + "P-2,TR2," + IBAN + ",0,PAID,2026-11-30T10:00:00Z\n", 2),
                Map.entry(header + "P-2,TR2," + IBAN + ",5,IN_PROGRESS,2026-11-30T10:00:00Z\n", 2),
                Map.entry(header + "P-2,TR2," + IBAN + ",5,UNKNOWN,2026-11-30T10:00:00Z\n", 2),
                Map.entry(header + "P-2,TR2," + IBAN + ",5,PAID,yesterday\n", 2),
                Map.entry(header + ",TR2," + IBAN + ",5,PAID,2026-11-30T10:00:00Z\n", 2),
                Map.entry(header + GOOD + "\n" + GOOD + "\n\"P-3,TR3\n", 4),
                Map.entry(header + "x".repeat(PayoutReportCsv.LINE_CHARS_MAX + 1) + "\n", 2));
        bad.forEach((text, line) -> {
            MalformedReport e = assertThrows(MalformedReport.class, () -> PayoutReportCsv.parse(text), text);
            assertEquals(line, e.line(), e.getMessage());
            assertTrue(e.getMessage().startsWith("payout report line " + line + ": "), e.getMessage());
        });
    }
}
