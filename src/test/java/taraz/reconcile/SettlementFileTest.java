package taraz.reconcile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import taraz.psp.SettlementCsv;

/**
 * The settlement CSV reader on its own: good files hand every row to the sink with its values,
 * and every kind of bad file is refused with a message naming the file, the line and the fault.
 * Dates are fixed ({@link #TODAY} is passed in), so nothing here depends on the clock.
 */
class SettlementFileTest {

    static final long MAX = 1_000_000_000_000L;
    static final LocalDate TODAY = LocalDate.parse("2026-11-25");
    static final String HEADER = SettlementCsv.HEADER;
    static final String HEADER_PAID_AT = SettlementCsv.HEADER_PAID_AT;

    @TempDir
    Path dir;

    static String row(String date, String authority, String amount, String status) {
        return date + ",T1001," + authority + ",R" + authority + ",603799******1234," + amount + "," + status;
    }

    static String good(String authority) {
        return row("2026-11-20", authority, "250000", "SETTLED");
    }

    static String lines(String... lines) {
        return String.join("\n", lines) + "\n";
    }

    Path write(String name, String text) throws IOException {
        return write(name, text.getBytes(StandardCharsets.UTF_8));
    }

    Path write(String name, byte[] bytes) throws IOException {
        return Files.write(dir.resolve(name), bytes);
    }

    static LocalDate readInto(Path file, List<SettlementFile.Row> rows) {
        return SettlementFile.read(file, MAX, TODAY, rows::add);
    }

    // ---- good files ------------------------------------------------------------------------

    @Test
    void aGoodFileWithoutPaidAtIsReadRowByRow() throws IOException {
        Path file = write("settlement-2026-11-20.csv", lines(HEADER,
                "2026-11-20,T1001,A0001,R123,603799******1234,250000,SETTLED",
                "2026-11-20,T-2_b,A0002,,,1000000000000,REVERSED"));
        List<SettlementFile.Row> rows = new ArrayList<>();
        assertEquals(LocalDate.parse("2026-11-20"), readInto(file, rows));
        assertEquals(2, rows.size());
        SettlementFile.Row first = rows.get(0);
        assertEquals(file.toString(), first.file());
        assertEquals(2, first.line());
        assertEquals(LocalDate.parse("2026-11-20"), first.day());
        assertEquals("T1001", first.terminal());
        assertEquals("A0001", first.authority());
        assertEquals("R123", first.refId());
        assertEquals("603799******1234", first.maskedCard());
        assertEquals(250_000, first.amountRials());
        assertEquals("SETTLED", first.status());
        assertNull(first.paidAt());
        // Empty ref_id and masked_card are allowed; the largest amount taraz accepts is accepted.
        SettlementFile.Row second = rows.get(1);
        assertEquals(3, second.line());
        assertEquals("T-2_b", second.terminal());
        assertEquals("", second.refId());
        assertEquals("", second.maskedCard());
        assertEquals(MAX, second.amountRials());
        assertEquals("REVERSED", second.status());
    }

    @Test
    void goodFileWithPaidAtBomAndCrlf() throws IOException {
        // A BOM and Windows line ends are what a spreadsheet export looks like; both are tolerated.
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        bytes.writeBytes(new byte[] {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF});
        bytes.writeBytes((HEADER_PAID_AT + "\r\n"
                + "2026-11-20,T1001,A0001,R1,603799******1234,250000,SETTLED,2026-11-20T10:15:00Z\r\n"
                + "2026-11-20,T1001,A0002,R2,603799******1234,30000,SETTLED,2026-11-20T13:45:30+03:30\r\n"
                + "2026-11-20,T1001,A0003,R3,603799******1234,40000,REVERSED,\r\n").getBytes(StandardCharsets.UTF_8));
        Path file = write("export.csv", bytes.toByteArray());
        List<SettlementFile.Row> rows = new ArrayList<>();
        // No date in the name: the rows' date is the day.
        assertEquals(LocalDate.parse("2026-11-20"), readInto(file, rows));
        assertEquals(3, rows.size());
        assertEquals("A0001", rows.get(0).authority());
        assertEquals(OffsetDateTime.parse("2026-11-20T10:15:00Z"), rows.get(0).paidAt());
        assertEquals(OffsetDateTime.parse("2026-11-20T13:45:30+03:30"), rows.get(1).paidAt());
        assertEquals(30_000, rows.get(1).amountRials());
        assertEquals(4, rows.get(2).line());
        // An empty paid_at is "not known", not an error.
        assertNull(rows.get(2).paidAt());
    }

    @Test
    void aFileOfTodayIsNotInTheFuture() throws IOException {
        Path file = write("settlement-2026-11-25.csv", lines(HEADER, row("2026-11-25", "A0001", "1", "SETTLED")));
        List<SettlementFile.Row> rows = new ArrayList<>();
        assertEquals(TODAY, readInto(file, rows));
        assertEquals(1, rows.get(0).amountRials());
    }

    @Test
    void headerOnlyWithDateInNameIsADayWithoutPayments() throws IOException {
        Path file = write("settlement-2026-11-20.csv", lines(HEADER));
        List<SettlementFile.Row> rows = new ArrayList<>();
        assertEquals(LocalDate.parse("2026-11-20"), readInto(file, rows));
        assertTrue(rows.isEmpty());
    }

    @Test
    void aMissingFileIsNamed() {
        Path missing = dir.resolve("settlement-2026-11-19.csv");
        SettlementFile.BadFile bad = org.junit.jupiter.api.Assertions.assertThrows(SettlementFile.BadFile.class,
                () -> SettlementFile.read(missing, MAX, TODAY, row -> { }));
        assertEquals("settlement file " + missing + ": no such file", bad.getMessage());
    }

    // ---- bad files -------------------------------------------------------------------------

    /** Each: a label, the file name, its bytes, the line the message must name, a fragment of the fault. */
    static Stream<Arguments> badFiles() {
        String name = "settlement-2026-11-20.csv";
        return Stream.of(
                // headers
                bad("header with a renamed column", name, lines(HEADER.replace("masked_card", "card"), good("A1")), 1, "expected the header"),
                bad("header with columns swapped", name, lines("date,terminal,ref_id,authority,masked_card,amount,status", good("A1")), 1, "expected the header"),
                bad("header with a column missing", name, lines("date,terminal,authority,ref_id,masked_card,amount", good("A1")), 1, "expected the header"),
                bad("header with an unknown extra column", name, lines(HEADER + ",note", good("A1") + ",x"), 1, "expected the header"),
                bad("header in upper case", name, lines(HEADER.toUpperCase(), good("A1")), 1, "expected the header"),
                bad("no header, rows only", name, lines(good("A1"), good("A2")), 1, "expected the header"),
                // columns per row
                bad("row with too few columns", name, lines(HEADER, good("A1"), "2026-11-20,T1001,A2,R2,603799******1234,250000"), 3, "expected 7 columns, found 6"),
                bad("row with too many columns", name, lines(HEADER, good("A1"), good("A2") + ",extra"), 3, "expected 7 columns, found 8"),
                bad("row without paid_at under a paid_at header", name, lines(HEADER_PAID_AT, good("A1") + ",2026-11-20T10:15:00Z", good("A2")), 3, "expected 8 columns, found 7"),
                // A quoted field is one field (RFC 4180), so the thousands comma stays in the amount, which is refused.
                bad("quoted amount with a thousands comma", name, lines(HEADER, good("A1"), row("2026-11-20", "A2", "\"250,000\"", "SETTLED")), 3, "amount '250,000' is not a positive whole number of rials"),
                bad("a quote left open", name, lines(HEADER, good("A1"), row("2026-11-20", "A2", "\"250000", "SETTLED")), 3, "not a CSV row"),
                // amounts
                bad("amount 12.5", name, lines(HEADER, good("A1"), row("2026-11-20", "A2", "12.5", "SETTLED")), 3, "amount '12.5' is not a positive whole number"),
                bad("amount -100", name, lines(HEADER, good("A1"), row("2026-11-20", "A2", "-100", "SETTLED")), 3, "amount '-100' is not a positive whole number"),
                bad("amount 0", name, lines(HEADER, good("A1"), row("2026-11-20", "A2", "0", "SETTLED")), 3, "amount '0' is not a positive whole number"),
                bad("amount 1e6", name, lines(HEADER, good("A1"), row("2026-11-20", "A2", "1e6", "SETTLED")), 3, "amount '1e6' is not a positive whole number"),
                bad("amount abc", name, lines(HEADER, good("A1"), row("2026-11-20", "A2", "abc", "SETTLED")), 3, "amount 'abc' is not a positive whole number"),
                bad("amount empty", name, lines(HEADER, good("A1"), row("2026-11-20", "A2", "", "SETTLED")), 3, "amount '' is not a positive whole number"),
                bad("amount with a space", name, lines(HEADER, good("A1"), row("2026-11-20", "A2", " 100", "SETTLED")), 3, "is not a positive whole number"),
                bad("amount of 20 digits", name, lines(HEADER, good("A1"), row("2026-11-20", "A2", "99999999999999999999", "SETTLED")), 3, "amount"),
                bad("amount of 19 digits above a long", name, lines(HEADER, good("A1"), row("2026-11-20", "A2", "9999999999999999999", "SETTLED")), 3, "is above the largest amount taraz accepts (1000000000000)"),
                bad("amount one above the max", name, lines(HEADER, good("A1"), row("2026-11-20", "A2", "1000000000001", "SETTLED")), 3, "amount 1000000000001 is above the largest amount taraz accepts (1000000000000)"),
                // status
                bad("status in lower case", name, lines(HEADER, good("A1"), row("2026-11-20", "A2", "100", "settled")), 3, "status 'settled' is not SETTLED or REVERSED"),
                bad("status PAID", name, lines(HEADER, good("A1"), row("2026-11-20", "A2", "100", "PAID")), 3, "status 'PAID' is not SETTLED or REVERSED"),
                bad("status empty", name, lines(HEADER, good("A1"), row("2026-11-20", "A2", "100", "")), 3, "status '' is not SETTLED or REVERSED"),
                // dates
                bad("date 2026-13-01", "export.csv", lines(HEADER, row("2026-13-01", "A1", "100", "SETTLED")), 2, "date '2026-13-01' is not a YYYY-MM-DD date"),
                bad("date 2026-02-30", "export.csv", lines(HEADER, row("2026-02-30", "A1", "100", "SETTLED")), 2, "date '2026-02-30' is not a YYYY-MM-DD date"),
                bad("date yesterday", name, lines(HEADER, good("A1"), row("yesterday", "A2", "100", "SETTLED")), 3, "date 'yesterday' is not a YYYY-MM-DD date"),
                bad("date 20261120", name, lines(HEADER, good("A1"), row("20261120", "A2", "100", "SETTLED")), 3, "date '20261120' is not a YYYY-MM-DD date"),
                bad("row of another day than the first row", "export.csv", lines(HEADER, good("A1"), good("A2"), row("2026-11-21", "A3", "100", "SETTLED")), 4, "date 2026-11-21 is another day than the file's 2026-11-20 (its first row)"),
                bad("name's date differs from the rows", "settlement-2026-11-19.csv", lines(HEADER, good("A1")), 2, "date 2026-11-20 is another day than the file's 2026-11-19 (in its name)"),
                bad("row dated tomorrow", "export.csv", lines(HEADER, row("2026-11-26", "A1", "100", "SETTLED")), 2, "date 2026-11-26 is in the future"),
                // A day to come is a mistake whether the rows or only the name say so.
                bad("header only, named a day to come", "settlement-2026-11-26.csv", lines(HEADER), 1, "in the future"),
                bad("paid_at without an offset", name, lines(HEADER_PAID_AT, good("A1") + ",2026-11-20T10:15:00Z", good("A2") + ",2026-11-20T10:15:00"), 3, "paid_at '2026-11-20T10:15:00' is not an ISO-8601 time with an offset"),
                bad("authority with a space", name, lines(HEADER, good("A1"), row("2026-11-20", "A 2", "100", "SETTLED")), 3, "authority 'A 2' is not valid"),
                bad("authority empty", name, lines(HEADER, good("A1"), row("2026-11-20", "", "100", "SETTLED")), 3, "authority '' is not valid"),
                // shape of the file
                bad("empty line in the middle", name, lines(HEADER, good("A1"), "", good("A2")), 3, "an empty line"),
                bad("zero-byte file", name, "", 1, "the file is empty"),
                bad("header only, no date in the name", "export.csv", lines(HEADER), 1, "no date in its name"),
                bad("BOM only", name, "\uFEFF", 1, "expected the header"));
    }

    static Arguments bad(String label, String name, String text, int line, String fault) {
        return Arguments.of(label, name, text.getBytes(StandardCharsets.UTF_8), line, fault);
    }

    /** Files that are not UTF-8 text: the message must name the line of the bad bytes, not just the file. */
    static Stream<Arguments> notUtf8() {
        String name = "settlement-2026-11-20.csv";
        byte[] head = lines(HEADER, good("A1")).getBytes(StandardCharsets.UTF_8);
        // 0xC3 0x28: a two-byte sequence cut short; 0xE9: "é" in ISO-8859-1.
        byte[] c328 = concat(head, "2026-11-20,T".getBytes(StandardCharsets.UTF_8), new byte[] {(byte) 0xC3, 0x28},
                (",A2,R2,603799******1234,100,SETTLED\n" + good("A3") + "\n").getBytes(StandardCharsets.UTF_8));
        byte[] latin1 = concat(head, "2026-11-20,Caf".getBytes(StandardCharsets.UTF_8), new byte[] {(byte) 0xE9},
                (",A2,R2,603799******1234,100,SETTLED\n").getBytes(StandardCharsets.UTF_8));
        byte[] inHeader = concat("date,terminal,authority,ref_id,masked_card,amount,statu".getBytes(StandardCharsets.UTF_8),
                new byte[] {(byte) 0xE9}, "\n".getBytes(StandardCharsets.UTF_8), head);
        // Far into a file, past the reader's first buffer (8192 chars): line 600.
        StringBuilder many = new StringBuilder(HEADER).append('\n');
        for (int i = 2; i < 600; i++) {
            many.append(good("A" + i)).append('\n');
        }
        byte[] far = concat(many.toString().getBytes(StandardCharsets.UTF_8), "2026-11-20,Caf".getBytes(StandardCharsets.UTF_8),
                new byte[] {(byte) 0xE9}, ",A600,R600,603799******1234,100,SETTLED\n".getBytes(StandardCharsets.UTF_8));
        return Stream.of(
                Arguments.of("0xC3 0x28 on line 3", name, c328, 3, "not UTF-8"),
                Arguments.of("ISO-8859-1 é on line 3", name, latin1, 3, "not UTF-8"),
                Arguments.of("ISO-8859-1 é in the header", name, inHeader, 1, "not UTF-8"),
                Arguments.of("ISO-8859-1 é on line 600", name, far, 600, "not UTF-8"));
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] part : parts) {
            out.writeBytes(part);
        }
        return out.toByteArray();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource({"badFiles", "notUtf8"})
    void badFileNamesLineAndFault(String label, String name, byte[] bytes, int line, String fault) throws IOException {
        Path file = write(name, bytes);
        List<SettlementFile.Row> rows = new ArrayList<>();
        SettlementFile.BadFile e = assertThrows(SettlementFile.BadFile.class, () -> readInto(file, rows), label);
        String message = e.getMessage();
        assertTrue(message.startsWith("settlement file " + file + " line " + line + ": "),
                label + ": expected line " + line + " named first, got: " + message);
        assertTrue(message.contains(fault), label + ": expected '" + fault + "' in: " + message);
        // Rows before the bad line may have reached the sink (the caller discards them); none after it.
        assertTrue(rows.stream().allMatch(r -> r.line() < line), label + ": a row past the bad line was handed on");
    }
}
