package taraz.journal;

import java.util.ArrayList;
import java.util.List;
import net.openhft.chronicle.wire.ValueIn;
import net.openhft.chronicle.wire.WireIn;
import net.openhft.chronicle.wire.WireOut;

/**
 * The journal's record format: field names are the format; a change of meaning needs a new
 * {@link JournalRecord#FORMAT_VERSION}. A decoded record is checked again, as it was before append.
 */
final class JournalCodec {
    private JournalCodec() {
    }

    static void encode(WireOut w, JournalRecord r) {
        w.write("version").int32(r.version())
                .write("timeMillis").int64(r.timeMillis())
                .write("node").text(r.node())
                .write("flow").text(r.flow())
                .write("paymentId").text(r.paymentId())
                .write("state").text(r.state())
                .write("status").text(r.status().name())
                .write("attempt").int32(r.attempt())
                .write("amountRials").int64(r.amountRials())
                .write("accounts").sequence(r.accounts(), (accounts, out) -> accounts.forEach(out::text))
                .write("cause").text(r.cause())
                .write("data").text(r.data());
    }

    static JournalRecord decode(WireIn w, long index) {
        int version = w.read("version").int32();
        if (version != JournalRecord.FORMAT_VERSION) {
            throw new IllegalStateException("journal record at index " + index + " has unknown format version " + version);
        }
        try {
            long timeMillis = w.read("timeMillis").int64();
            String node = w.read("node").text();
            String flow = w.read("flow").text();
            String paymentId = w.read("paymentId").text();
            String state = w.read("state").text();
            String status = w.read("status").text();
            int attempt = w.read("attempt").int32();
            long amountRials = w.read("amountRials").int64();
            List<String> accounts = new ArrayList<>();
            w.read("accounts").sequence(accounts, JournalCodec::readAccounts);
            JournalRecord record = new JournalRecord(version, timeMillis, node, flow, paymentId, state,
                    status == null ? null : JournalRecord.Status.valueOf(status), attempt, amountRials, accounts,
                    w.read("cause").text(), w.read("data").text());
            record.check();
            return record;
        } catch (RuntimeException e) {
            throw new IllegalStateException("journal record at index " + index + " is invalid: " + e.getMessage(), e);
        }
    }

    private static void readAccounts(List<String> accounts, ValueIn in) {
        while (in.hasNextSequenceItem()) {
            accounts.add(in.text());
        }
    }
}
