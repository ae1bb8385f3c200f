package taraz.reconcile;

import com.fasterxml.jackson.core.JsonProcessingException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.Arrays;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import taraz.psp.SettlementCsv;

/**
 * One day of the PSP's settlement report: a UTF-8 CSV with the header {@link SettlementCsv#HEADER}
 * ({@code date,terminal,authority,ref_id,masked_card,amount,status}) and optionally a last
 * {@code paid_at} column (ISO-8601 time of the payment), each row split by {@link SettlementCsv}.
 * Read as a stream, a row at a time, and checked strictly: any fault stops the whole run with the
 * file and line named, before anything is applied. A file covers one day: every row carries the
 * same date, and a date in the file's name ({@code settlement-2026-11-25.csv}) must be that day.
 */
public final class SettlementFile {

    /**
     * The longest line, in bytes without its end. A real row is under 200; the bound keeps one
     * endless line (a broken export, a hostile file) from taking the reader's memory.
     */
    static final int LINE_BYTES_MAX = 4096;

    private static final Pattern DATE = Pattern.compile("\\d{4}-\\d{2}-\\d{2}");
    private static final Pattern NAME_DATE = Pattern.compile("(\\d{4}-\\d{2}-\\d{2})");
    private static final Pattern TERMINAL = Pattern.compile("[A-Za-z0-9_-]{1,64}");
    private static final Pattern AUTHORITY = Pattern.compile("[A-Za-z0-9_-]{1,64}");
    private static final Pattern REF_ID = Pattern.compile("[A-Za-z0-9]{0,64}");
    private static final Pattern CARD = Pattern.compile("[0-9*]{0,32}");
    private static final Pattern AMOUNT = Pattern.compile("[1-9][0-9]{0,18}");

    /** A settlement row as read; {@code paidAt} is null when the file has no such column. */
    public record Row(String file, int line, LocalDate day, String terminal, String authority, String refId,
                      String maskedCard, long amountRials, String status, OffsetDateTime paidAt) {}

    /** Receives each checked row. */
    public interface RowSink {
        void accept(Row row) throws Exception;
    }

    /** A fault in a settlement file: the message names the file and the line. */
    public static final class BadFile extends RuntimeException {
        BadFile(String message) {
            super(message, null, false, false);
        }
    }

    private SettlementFile() {
    }

    /**
     * Reads and checks one file, handing each row to {@code sink}; returns the day it covers.
     * {@code today} bounds the day (a report of a day to come is a mistake).
     */
    public static LocalDate read(Path file, long amountRialsMax, LocalDate today, RowSink sink) {
        String name = file.toString();
        Optional<LocalDate> named = dayInName(file);
        var decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        int line = 0;
        try (Utf8Lines in = new Utf8Lines(Files.newInputStream(file), decoder)) {
            String header = in.readLine();
            line = 1;
            if (header == null) {
                throw bad(name, 1, "the file is empty: expected the header " + SettlementCsv.HEADER);
            }
            if (header.startsWith("\uFEFF")) {
                header = header.substring(1);
            }
            boolean withPaidAt = header.equals(SettlementCsv.HEADER_PAID_AT);
            if (!withPaidAt && !header.equals(SettlementCsv.HEADER)) {
                throw bad(name, 1, "expected the header " + SettlementCsv.HEADER + "[," + SettlementCsv.PAID_AT
                        + "], found '" + abbreviate(header) + "'");
            }
            if (named.isPresent() && named.get().isAfter(today)) {
                throw bad(name, 1, "date " + named.get() + " in the file's name is in the future");
            }
            int columns = SettlementCsv.COLUMNS.size() + (withPaidAt ? 1 : 0);
            LocalDate day = named.orElse(null);
            String text;
            while ((text = in.readLine()) != null) {
                line++;
                if (text.isEmpty()) {
                    throw bad(name, line, "an empty line");
                }
                String[] f;
                try {
                    f = SettlementCsv.fields(text);
                } catch (JsonProcessingException e) {
                    throw bad(name, line, "not a CSV row (" + e.getOriginalMessage() + ")");
                }
                if (f.length != columns) {
                    throw bad(name, line, "expected " + columns + " columns, found " + f.length);
                }
                LocalDate date = date(name, line, f[0]);
                if (date.isAfter(today)) {
                    throw bad(name, line, "date " + date + " is in the future");
                }
                if (day == null) {
                    day = date;
                } else if (!date.equals(day)) {
                    throw bad(name, line, "date " + date + " is another day than the file's " + day
                            + (named.isPresent() ? " (in its name)" : " (its first row)"));
                }
                String status = f[6];
                if (!status.equals("SETTLED") && !status.equals("REVERSED")) {
                    throw bad(name, line, "status '" + abbreviate(status) + "' is not SETTLED or REVERSED");
                }
                sink.accept(new Row(name, line, date, check(name, line, "terminal", f[1], TERMINAL),
                        check(name, line, "authority", f[2], AUTHORITY), check(name, line, "ref_id", f[3], REF_ID),
                        check(name, line, "masked_card", f[4], CARD), amount(name, line, f[5], amountRialsMax), status,
                        withPaidAt ? paidAt(name, line, f[7]) : null));
            }
            if (day == null) {
                throw bad(name, line, "the file has a header but no rows and no date in its name: which day it covers is unknown");
            }
            return day;
        } catch (CharacterCodingException e) {
            throw bad(name, line + 1, "not UTF-8 text (" + e.getClass().getSimpleName() + ")");
        } catch (LineTooLong e) {
            throw bad(name, line + 1, "the line is longer than " + LINE_BYTES_MAX + " bytes");
        } catch (NoSuchFileException e) {
            throw new BadFile("settlement file " + name + ": no such file");
        } catch (IOException e) {
            throw new BadFile("settlement file " + name + (line > 0 ? " line " + line : "") + ": cannot be read (" + e + ")");
        } catch (BadFile e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException("settlement file " + name + " line " + line + ": " + e.getMessage(), e);
        }
    }

    /**
     * Lines of UTF-8 text, each decoded on its own, so that bytes that are not UTF-8 are reported
     * on their own line (a Reader decodes a whole buffer ahead and fails before returning the
     * good lines in front of the bad bytes). A line ends at LF; a CR before it is dropped.
     */
    private static final class Utf8Lines implements AutoCloseable {
        private final InputStream in;
        private final CharsetDecoder decoder;
        private final byte[] buffer = new byte[1 << 16];
        private int position;
        private int limit;
        private byte[] line = new byte[256];

        Utf8Lines(InputStream in, CharsetDecoder decoder) {
            this.in = in;
            this.decoder = decoder;
        }

        /** The next line without its end, or null at the end of the file. */
        String readLine() throws IOException {
            int length = 0;
            while (true) {
                if (position == limit) {
                    int n = in.read(buffer, 0, buffer.length);
                    position = 0;
                    limit = Math.max(n, 0);
                    if (n <= 0) {
                        if (length == 0) {
                            return null;
                        }
                        break;
                    }
                }
                int start = position;
                while (position < limit && buffer[position] != '\n') {
                    position++;
                }
                int n = position - start;
                // One byte to spare for the CR of a CRLF line end.
                if (length + n > LINE_BYTES_MAX + 1) {
                    throw new LineTooLong();
                }
                if (length + n > line.length) {
                    line = Arrays.copyOf(line, Math.max(line.length * 2, length + n));
                }
                System.arraycopy(buffer, start, line, length, n);
                length += n;
                if (position < limit) {
                    position++;
                    break;
                }
            }
            if (length > 0 && line[length - 1] == '\r') {
                length--;
            }
            if (length > LINE_BYTES_MAX) {
                throw new LineTooLong();
            }
            return decoder.decode(ByteBuffer.wrap(line, 0, length)).toString();
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }

    /** A line over {@link #LINE_BYTES_MAX}; {@code read} names the file and the line. */
    private static final class LineTooLong extends IOException {
        LineTooLong() {
            super(null, null);
        }
    }

    static Optional<LocalDate> dayInName(Path file) {
        Matcher m = NAME_DATE.matcher(file.getFileName().toString());
        if (!m.find()) {
            return Optional.empty();
        }
        try {
            return Optional.of(LocalDate.parse(m.group(1)));
        } catch (DateTimeParseException e) {
            return Optional.empty();
        }
    }

    private static LocalDate date(String file, int line, String value) {
        if (DATE.matcher(value).matches()) {
            try {
                return LocalDate.parse(value);
            } catch (DateTimeParseException e) {
                // reported below
            }
        }
        throw bad(file, line, "date '" + abbreviate(value) + "' is not a YYYY-MM-DD date");
    }

    private static long amount(String file, int line, String value, long max) {
        if (!AMOUNT.matcher(value).matches()) {
            throw bad(file, line, "amount '" + abbreviate(value) + "' is not a positive whole number of rials");
        }
        long amount;
        try {
            amount = Long.parseLong(value);
        } catch (NumberFormatException e) {
            amount = Long.MAX_VALUE;
        }
        if (amount > max) {
            throw bad(file, line, "amount " + abbreviate(value) + " is above the largest amount taraz accepts (" + max + ")");
        }
        return amount;
    }

    private static OffsetDateTime paidAt(String file, int line, String value) {
        if (value.isEmpty()) {
            return null;
        }
        try {
            return OffsetDateTime.parse(value);
        } catch (DateTimeParseException e) {
            throw bad(file, line, "paid_at '" + abbreviate(value) + "' is not an ISO-8601 time with an offset");
        }
    }

    private static String check(String file, int line, String column, String value, Pattern pattern) {
        if (!pattern.matcher(value).matches()) {
            throw bad(file, line, column + " '" + abbreviate(value) + "' is not valid");
        }
        return value;
    }

    private static String abbreviate(String value) {
        return value.length() <= 40 ? value : value.substring(0, 40) + "...";
    }

    static BadFile bad(String file, int line, String message) {
        return new BadFile("settlement file " + file + " line " + line + ": " + message);
    }
}
