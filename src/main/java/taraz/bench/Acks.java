package taraz.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.regex.Pattern;

/**
 * What the gateway acknowledged (answered 2xx), for a checker outside the harness
 * ({@code bench/chaos.sh}): one CSV line per acknowledged money request, appended and flushed as
 * its answer arrives, so a line in the file is a promise the gateway made before the line was
 * written, and a process that reads the file while the harness runs sees whole promises only
 * (a line is one write of at most a few hundred bytes; a reader counts only lines ended by a
 * line feed).
 *
 * <p>Columns, no header: {@code atMillis,op,id,walletId,driverWalletId,amountRials,commissionRials,authority},
 * the columns an op does not have left empty. Ops:
 * <ul>
 * <li>{@code fund}: an admin adjustment (id: the adjustmentId) credited {@code amountRials} to the wallet;</li>
 * <li>{@code hold}: the trip's hold of {@code amountRials} on the passenger's wallet;</li>
 * <li>{@code cancel}: the trip's hold voided;</li>
 * <li>{@code settle}: the trip settled for fare {@code amountRials} and {@code commissionRials};</li>
 * <li>{@code topup}: the top-up created (201), with its bank authority;</li>
 * <li>{@code paid}: the PSP simulator's cardholder paid it (the simulator answered PAID): the bank has the money;</li>
 * <li>{@code credited}: the gateway showed it CREDITED.</li>
 * </ul>
 * Written on the run's one event loop only (Workload's callbacks): the writes are a few hundred
 * bytes each at the bench's request rate, short enough not to stall that loop.
 */
final class Acks implements AutoCloseable {

    /** Ids, wallet ids and authorities are the gateway's and the simulator's, checked so a CSV line needs no quoting. */
    private static final Pattern PLAIN = Pattern.compile("[A-Za-z0-9_.:-]{1,255}");

    /** No file: the harness records nothing (the default). */
    static final Acks NONE = new Acks(null, null);

    private final Path file;
    private final Writer out;
    private long lines;
    private String failure;

    private Acks(Path file, Writer out) {
        this.file = file;
        this.out = out;
    }

    /** Appends to {@code file} (created if missing), so several harness runs can share one file. */
    static Acks append(Path file) {
        try {
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            return new Acks(file, Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND, StandardOpenOption.WRITE));
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot open --acks " + file + ": " + e.getMessage(), e);
        }
    }

    long lines() {
        return lines;
    }

    /** Why a line could not be written, or null while every promise is in the file. */
    String failure() {
        return failure;
    }

    void fund(String adjustmentId, String walletId, long amountRials) {
        line("fund", adjustmentId, walletId, null, amountRials, null, null);
    }

    void hold(String tripId, String passengerWalletId, long amountRials) {
        line("hold", tripId, passengerWalletId, null, amountRials, null, null);
    }

    void cancel(String tripId, String passengerWalletId) {
        line("cancel", tripId, passengerWalletId, null, null, null, null);
    }

    void settle(String tripId, String passengerWalletId, String driverWalletId, long fareRials, long commissionRials) {
        line("settle", tripId, passengerWalletId, driverWalletId, fareRials, commissionRials, null);
    }

    void topup(String topupId, String walletId, long amountRials, String authority) {
        line("topup", topupId, walletId, null, amountRials, null, authority);
    }

    void paid(String topupId, String walletId, long amountRials, String authority) {
        line("paid", topupId, walletId, null, amountRials, null, authority);
    }

    void credited(String topupId, String walletId, long amountRials) {
        line("credited", topupId, walletId, null, amountRials, null, null);
    }

    /**
     * One line, written and flushed at once. A failure to write throws: the operation that made
     * the promise then fails, and the command reports the file as incomplete, because a checker
     * reading a file with a promise missing would pass a gateway it should not.
     */
    private void line(String op, String id, String walletId, String driverWalletId, Long amountRials, Long commissionRials,
                      String authority) {
        if (out == null) {
            return;
        }
        String text = System.currentTimeMillis() + "," + op + "," + plain(id) + "," + plain(walletId) + ","
                + plain(driverWalletId) + "," + (amountRials == null ? "" : amountRials) + ","
                + (commissionRials == null ? "" : commissionRials) + "," + plain(authority) + "\n";
        try {
            out.write(text);
            out.flush();
        } catch (IOException e) {
            if (failure == null) {
                failure = "writing --acks " + file + ": " + e.getMessage();
            }
            throw new UncheckedIOException("writing --acks " + file, e);
        }
        lines++;
    }

    private static String plain(String value) {
        if (value == null) {
            return "";
        }
        if (!PLAIN.matcher(value).matches()) {
            throw new IllegalStateException("an id the acks file cannot hold unquoted: '" + value + "'");
        }
        return value;
    }

    @Override
    public void close() {
        if (out == null) {
            return;
        }
        try {
            out.close();
        } catch (IOException e) {
            throw new UncheckedIOException("closing --acks " + file, e);
        }
    }
}
