package taraz.reconcile;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.SequenceWriter;
import com.fasterxml.jackson.dataformat.csv.CsvGenerator;
import com.fasterxml.jackson.dataformat.csv.CsvMapper;
import com.fasterxml.jackson.dataformat.csv.CsvSchema;
import io.vertx.core.json.JsonObject;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;

/**
 * The report files, streamed from the run's findings table: {@code findings.json} (the run, a
 * summary by kind, then every finding), {@code findings.csv} (the same, a row each) and
 * {@code support-cases.csv} (one row per affected customer, for the support team). The CSV files
 * are UTF-8 with a byte-order mark, so a spreadsheet shows Persian names as they are.
 */
final class Reports {

    private static final String BOM = "\uFEFF";
    private static final CsvMapper CSV = new CsvMapper();
    /** The first characters that make a spreadsheet evaluate a cell (OWASP's CSV injection list). */
    private static final String FORMULA_FIRST = "=+-@\t\r";
    private static final String FINDINGS = "SELECT seq, kind, finding_key, flow, payment_id, wallet_id, amount, story, plan, status, "
            + "done FROM findings ORDER BY seq";

    /** The customer of money at the bank that matches no top-up: someone paid, support finds out who from the card. */
    static final String UNKNOWN_PAYER = "unknown payer";
    /**
     * Bank rows settled for no top-up of ours ({@link Detector}'s finding of flow {@code bank} with no wallet), with the
     * card the bank names, read from the run's settlement table ({@code stl}, the same session's temp table).
     */
    private static final String UNKNOWN_PAYERS = "SELECT f.kind, f.story, f.amount, "
            + "coalesce(f.done, 'Nothing done yet (dry run).'), f.status IN ('fixed', 'already_fixed'), f.payment_id, "
            + "coalesce((SELECT s.masked_card FROM stl s WHERE s.authority = f.payment_id ORDER BY s.id LIMIT 1), '') "
            + "FROM findings f WHERE f.flow = '" + Finding.BANK + "' AND f.wallet_id IS NULL ORDER BY f.seq";

    private Reports() {
    }

    static void write(Connection db, Path dir, JsonObject run, Map<String, long[]> summary) throws IOException, SQLException {
        Files.createDirectories(dir);
        json(db, dir.resolve("findings.json"), run, summary);
        csv(db, dir.resolve("findings.csv"));
        support(db, dir.resolve("support-cases.csv"));
    }

    private static void json(Connection db, Path file, JsonObject run, Map<String, long[]> summary) throws IOException, SQLException {
        try (OutputStream out = Files.newOutputStream(file);
             JsonGenerator g = new JsonFactory().createGenerator(out, JsonEncoding.UTF8).useDefaultPrettyPrinter()) {
            g.writeStartObject();
            g.writeFieldName("run");
            g.writeRawValue(run.encode());
            g.writeObjectFieldStart("summary");
            for (Map.Entry<String, long[]> kind : summary.entrySet()) {
                g.writeObjectFieldStart(kind.getKey());
                g.writeNumberField("found", kind.getValue()[0]);
                g.writeNumberField("remaining", kind.getValue()[1]);
                g.writeEndObject();
            }
            g.writeEndObject();
            g.writeArrayFieldStart("findings");
            stream(db, FINDINGS, r -> {
                g.writeStartObject();
                g.writeStringField("kind", r.getString(2));
                g.writeStringField("key", r.getString(3));
                g.writeStringField("flow", r.getString(4));
                g.writeStringField("paymentId", r.getString(5));
                g.writeStringField("walletId", r.getString(6));
                g.writeNumberField("amount", r.getLong(7));
                g.writeStringField("whatHappened", r.getString(8));
                g.writeFieldName("plan");
                g.writeRawValue(r.getString(9));
                g.writeStringField("status", r.getString(10));
                g.writeStringField("whatWasDone", r.getString(11));
                g.writeEndObject();
            });
            g.writeEndArray();
            g.writeEndObject();
        }
    }

    private static void csv(Connection db, Path file) throws IOException, SQLException {
        try (BufferedWriter out = Files.newBufferedWriter(file, StandardCharsets.UTF_8);
             SequenceWriter rows = csvRows(out, List.of("kind", "key", "flow", "payment_id", "wallet_id", "amount_rials",
                     "status", "what_happened", "what_was_done"))) {
            stream(db, FINDINGS, r -> row(rows, r.getString(2), r.getString(3), r.getString(4), nz(r.getString(5)),
                    nz(r.getString(6)), r.getLong(7), r.getString(10), r.getString(8), nz(r.getString(11))));
        }
    }

    /** One row per affected customer: every finding about their wallet, in the order found. */
    private static void support(Connection db, Path file) throws IOException, SQLException {
        String sql = "SELECT f.wallet_id, coalesce(a.name, ''), coalesce(a.phone, ''), a.kind, "
                + "string_agg(DISTINCT f.kind, ' ') , string_agg(f.story, ' | ' ORDER BY f.seq), sum(f.amount), "
                + "string_agg(coalesce(f.done, 'Nothing done yet (dry run).'), ' | ' ORDER BY f.seq), "
                + "string_agg(coalesce(f.payment_id, ''), ' ' ORDER BY f.seq), "
                + "bool_and(f.status IN ('fixed', 'already_fixed')) "
                + "FROM findings f JOIN accounts a ON a.id = f.wallet_id WHERE a.kind IN ('passenger', 'driver') "
                + "GROUP BY f.wallet_id, a.name, a.phone, a.kind ORDER BY min(f.seq)";
        try (BufferedWriter out = Files.newBufferedWriter(file, StandardCharsets.UTF_8);
             SequenceWriter rows = csvRows(out, List.of("wallet_id", "customer", "name", "phone", "kinds", "what_happened",
                     "amount_rials", "what_was_done", "resolved", "payment_ids", "card"))) {
            stream(db, sql, r -> row(rows, r.getString(1), r.getString(4), r.getString(2), r.getString(3),
                    r.getString(5), r.getString(6), r.getLong(7), r.getString(8),
                    r.getBoolean(10) ? "yes" : "no", r.getString(9).trim(), ""));
            stream(db, UNKNOWN_PAYERS, r -> row(rows, "", UNKNOWN_PAYER, "", "", r.getString(1), r.getString(2), r.getLong(3),
                    r.getString(4), r.getBoolean(5) ? "yes" : "no", r.getString(6), r.getString(7)));
        }
    }

    /**
     * A CSV file after its byte-order mark: the header, then a row each, CRLF line ends (RFC 4180). A field with a
     * comma, quote or line break is quoted, its quotes doubled; others are written as they are.
     */
    private static SequenceWriter csvRows(BufferedWriter out, List<String> columns) throws IOException {
        out.write(BOM);
        CsvSchema schema = CsvSchema.builder().addColumns(columns, CsvSchema.ColumnType.STRING).setUseHeader(true)
                .setLineSeparator("\r\n").build();
        return CSV.writer(schema).with(CsvGenerator.Feature.STRICT_CHECK_FOR_QUOTING).writeValues(out);
    }

    private static String nz(String value) {
        return value == null ? "" : value;
    }

    /**
     * A text cell that a spreadsheet would read as a formula ({@code = + - @}, a tab or a CR first: a
     * customer named {@code =HYPERLINK(...)}) gets a leading single quote, so it shows as text.
     * Amounts are cells of their own type, {@code Long}, written as numbers: they come from the
     * ledger, not from a customer, and a negative amount must stay a number to add up.
     */
    private static void row(SequenceWriter rows, Object... cells) throws IOException {
        Object[] fields = new Object[cells.length];
        for (int i = 0; i < cells.length; i++) {
            fields[i] = cells[i] instanceof Long amount ? amount : neutralized((String) cells[i]);
        }
        rows.write(fields);
    }

    static String neutralized(String text) {
        if (!text.isEmpty() && FORMULA_FIRST.indexOf(text.charAt(0)) >= 0) {
            return "'" + text;
        }
        return text;
    }

    interface RowWriter {
        void accept(ResultSet row) throws IOException, SQLException;
    }

    private static void stream(Connection db, String sql, RowWriter writer) throws IOException, SQLException {
        try (PreparedStatement s = db.prepareStatement(sql)) {
            s.setFetchSize(1_000);
            try (ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    writer.accept(r);
                }
            }
        }
    }
}
