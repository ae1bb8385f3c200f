package taraz.psp;

import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.dataformat.csv.CsvGenerator;
import com.fasterxml.jackson.dataformat.csv.CsvMapper;
import com.fasterxml.jackson.dataformat.csv.CsvSchema;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;

/**
 * The bank's daily settlement report, a CSV file: its header, written by the simulator and checked by reconcile, and
 * the one CSV codec (Jackson's) both use. A field is quoted only when it must be (a comma, a quote or a line break in
 * it), so a plain report reads as plain text.
 */
public final class SettlementCsv {

    /** The columns every report has, in order. */
    public static final List<String> COLUMNS = List.of("date", "terminal", "authority", "ref_id", "masked_card", "amount",
            "status");
    /** The optional last column: the ISO-8601 time the cardholder paid. */
    public static final String PAID_AT = "paid_at";
    /** The header without and with {@link #PAID_AT}. */
    public static final String HEADER = String.join(",", COLUMNS);
    public static final String HEADER_PAID_AT = HEADER + "," + PAID_AT;

    private static final CsvMapper MAPPER = new CsvMapper();
    private static final ObjectReader LINE = MAPPER.readerForArrayOf(String.class);
    private static final ObjectWriter REPORT = MAPPER.writer(CsvSchema.builder()
                    .addColumns(COLUMNS, CsvSchema.ColumnType.STRING).addColumn(PAID_AT).setUseHeader(true).build())
            .with(CsvGenerator.Feature.STRICT_CHECK_FOR_QUOTING);

    private SettlementCsv() {
    }

    /** The fields of one line of a report, its line end already removed. */
    public static String[] fields(String line) throws IOException {
        return LINE.readValue(line);
    }

    /** A whole report with {@link #PAID_AT}: the header, then each row's cells in column order, a line each. */
    public static String write(List<String[]> rows) {
        try {
            return REPORT.writeValueAsString(rows);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write a settlement report in memory", e);
        }
    }
}
