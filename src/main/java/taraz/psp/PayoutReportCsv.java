package taraz.psp;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.dataformat.csv.CsvGenerator;
import com.fasterxml.jackson.dataformat.csv.CsvMapper;
import com.fasterxml.jackson.dataformat.csv.CsvSchema;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;
import taraz.psp.PayoutProvider.State;

/**
 * The payout provider's daily report ({@code GET /payout/v1/report?date=}), a CSV file: one row per transfer completed
 * that UTC day, {@code PAID} or {@code FAILED}. Written by the simulator and read by reconcile, with the one CSV codec
 * (Jackson's) {@link SettlementCsv} uses. Reading checks every row and names the line of the first bad one.
 */
public final class PayoutReportCsv {

    public static final List<String> COLUMNS = List.of("reference_id", "transfer_id", "iban", "amount_rials", "state",
            "completed_at");
    public static final String HEADER = String.join(",", COLUMNS);
    /** A row is under 200 characters; the bound keeps a damaged report (no line ends) from being read as one line. */
    public static final int LINE_CHARS_MAX = 1024;
    private static final Pattern IBAN = Pattern.compile("IR[0-9]{24}");

    private static final CsvMapper MAPPER = new CsvMapper();
    private static final ObjectReader LINE = MAPPER.readerForArrayOf(String.class);
    private static final ObjectWriter REPORT = MAPPER.writer(CsvSchema.builder()
                    .addColumns(COLUMNS, CsvSchema.ColumnType.STRING).setUseHeader(true).build())
            .with(CsvGenerator.Feature.STRICT_CHECK_FOR_QUOTING);

    /** One completed transfer, checked where it is made: so a row written and a row read obey the same rules. */
    public record Row(String referenceId, String transferId, String iban, long amountRials, State state,
                      Instant completedAt) {
        public Row {
            if (referenceId == null || referenceId.isEmpty() || transferId == null || transferId.isEmpty()) {
                throw new IllegalArgumentException("reference_id and transfer_id must not be empty");
            }
            if (iban == null || !IBAN.matcher(iban).matches()) {
                throw new IllegalArgumentException("iban must be IR and 24 digits");
            }
            if (amountRials <= 0) {
                throw new IllegalArgumentException("amount_rials must be positive");
            }
            if (state != State.PAID && state != State.FAILED) {
                throw new IllegalArgumentException("state must be PAID or FAILED, a completed transfer's");
            }
            Objects.requireNonNull(completedAt, "completed_at");
        }
    }

    /** A report that is not one: the line (1 is the header) and what is wrong with it. */
    public static final class MalformedReport extends IllegalArgumentException {
        private final int line;

        MalformedReport(int line, String problem) {
            super("payout report line " + line + ": " + problem);
            this.line = line;
        }

        public int line() {
            return line;
        }
    }

    private PayoutReportCsv() {
    }

    /** A whole report: the header, then each row in the order given, a line each. */
    public static String write(List<Row> rows) {
        List<String[]> cells = rows.stream().map(r -> new String[] {r.referenceId(), r.transferId(), r.iban(),
                Long.toString(r.amountRials()), r.state().name(), r.completedAt().toString()}).toList();
        try {
            return REPORT.writeValueAsString(cells);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write a payout report in memory", e);
        }
    }

    /** Reads a whole report; the first malformed line throws {@link MalformedReport} naming it. */
    public static List<Row> parse(String text) {
        String[] lines = text.split("\n", -1);
        int last = lines.length;
        // The writer ends every line, so the text ends with one empty piece; any other empty line is malformed.
        if (lines[last - 1].isEmpty()) {
            last--;
        }
        if (last == 0 || !stripCr(lines[0]).equals(HEADER)) {
            throw new MalformedReport(1, "expected the header " + HEADER);
        }
        List<Row> rows = new ArrayList<>();
        for (int i = 1; i < last; i++) {
            rows.add(row(i + 1, stripCr(lines[i])));
        }
        return rows;
    }

    private static Row row(int line, String text) {
        if (text.length() > LINE_CHARS_MAX) {
            throw new MalformedReport(line, "longer than " + LINE_CHARS_MAX + " characters");
        }
        if (text.isEmpty()) {
            throw new MalformedReport(line, "an empty line");
        }
        String[] f;
        try {
            f = LINE.readValue(text);
        } catch (JsonProcessingException e) {
            throw new MalformedReport(line, "not a CSV row (" + e.getOriginalMessage() + ")");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read a string", e);
        }
        if (f.length != COLUMNS.size()) {
            throw new MalformedReport(line, "expected " + COLUMNS.size() + " columns, found " + f.length);
        }
        if (!f[4].equals(State.PAID.name()) && !f[4].equals(State.FAILED.name())) {
            throw new MalformedReport(line, "state '" + f[4] + "' is not PAID or FAILED");
        }
        try {
            return new Row(f[0], f[1], f[2], Long.parseLong(f[3]), State.valueOf(f[4]), Instant.parse(f[5]));
        } catch (NumberFormatException e) {
            throw new MalformedReport(line, "amount_rials '" + f[3] + "' is not an integer");
        } catch (DateTimeParseException e) {
            throw new MalformedReport(line, "completed_at '" + f[5] + "' is not an ISO-8601 instant");
        } catch (IllegalArgumentException e) {
            throw new MalformedReport(line, e.getMessage());
        }
    }

    private static String stripCr(String line) {
        return line.endsWith("\r") ? line.substring(0, line.length() - 1) : line;
    }
}
