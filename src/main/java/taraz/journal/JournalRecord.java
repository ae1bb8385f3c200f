package taraz.journal;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * One payment state change. Checked with {@link #check()} before it is appended and again after it is
 * decoded, so a bad record can neither be written nor silently read back.
 *
 * @param data the step's parameters as a JSON string, opaque to the journal; may be null
 * @param cause why the step failed or was retried; may be null
 */
public record JournalRecord(int version, long timeMillis, String node, String flow, String paymentId, String state,
                            Status status, int attempt, long amountRials, List<String> accounts, String cause,
                            String data) {
    public static final int FORMAT_VERSION = 1;

    /** PENDING: announced, not yet known to have taken effect. RESTING: took effect, flow waits. TERMINAL: done. */
    public enum Status { PENDING, RESTING, TERMINAL }

    public JournalRecord {
        // A defensive copy that tolerates null so check() can report it instead of a bare NPE here.
        accounts = accounts == null ? null : Collections.unmodifiableList(new ArrayList<>(accounts));
    }

    public static JournalRecord of(String node, String flow, String paymentId, String state, Status status, int attempt,
                                   long amountRials, List<String> accounts, String cause, String data) {
        return new JournalRecord(FORMAT_VERSION, System.currentTimeMillis(), node, flow, paymentId, state, status,
                attempt, amountRials, accounts, cause, data);
    }

    /** The payment this record belongs to: {@code flow/paymentId}. */
    /**
     * This record again, now, with a cause: what a node journals for a step it lets go of at
     * its drain deadline. It stays PENDING and keeps the step's parameters, so recovery can run
     * the step from it.
     */
    public JournalRecord interrupted(String why) {
        return new JournalRecord(version, System.currentTimeMillis(), node, flow, paymentId, state, Status.PENDING,
                attempt, amountRials, accounts, why, data);
    }

    public String key() {
        return flow + "/" + paymentId;
    }

    /** @throws IllegalStateException naming the first broken invariant */
    public void check() {
        require(version == FORMAT_VERSION, "version must be " + FORMAT_VERSION + ", got " + version);
        require(timeMillis > 0, "timeMillis must be > 0, got " + timeMillis);
        require(!isBlank(node), "node must not be blank");
        require(!isBlank(flow), "flow must not be blank");
        require(!isBlank(paymentId), "paymentId must not be blank");
        require(!isBlank(state), "state must not be blank");
        require(status != null, "status must not be null");
        require(attempt >= 0, "attempt must be >= 0, got " + attempt);
        require(amountRials >= 0, "amountRials must be >= 0, got " + amountRials);
        require(accounts != null, "accounts must not be null");
        require(accounts.stream().noneMatch(JournalRecord::isBlank), "accounts must not hold blank ids");
    }

    public JsonObject toJson() {
        return new JsonObject()
                .put("version", version)
                .put("timeMillis", timeMillis)
                .put("node", node)
                .put("flow", flow)
                .put("paymentId", paymentId)
                .put("state", state)
                .put("status", status == null ? null : status.name())
                .put("attempt", attempt)
                .put("amountRials", amountRials)
                .put("accounts", accounts == null ? null : new JsonArray(new ArrayList<Object>(accounts)))
                .put("cause", cause)
                .put("data", data);
    }

    private void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalStateException("invalid journal record " + flow + "/" + paymentId + ": " + message);
        }
    }

    private static boolean isBlank(String s) {
        return s == null || s.isBlank();
    }
}
