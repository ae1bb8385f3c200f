package taraz.pspsim;

import io.vertx.core.json.JsonObject;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The payout provider's own fault settings, two top-level fields of {@code POST /sim/faults}: how long a transfer
 * stays {@code IN_PROGRESS}, and which IBANs the destination bank refuses. The per-call faults of its two endpoints
 * ({@code payout}, {@code payoutStatus}) are in {@link SimFaults#endpoints()} with the Zarinpal ones.
 */
record PayoutFaults(long completionDelayMillis, Map<String, String> rejections) {

    static final String COMPLETION_DELAY_MILLIS = "payoutCompletionDelayMillis";
    static final String REJECTIONS = "payoutRejections";
    static final long COMPLETION_DELAY_MILLIS_MAX = 600_000;
    /** A test plants a handful; the bound keeps the fault settings one small store line. */
    static final int REJECTIONS_MAX = 100;
    /** The destination bank's reasons for refusing a transfer, as the protocol names them. */
    static final Set<String> REASONS = Set.of("ACCOUNT_CLOSED", "INVALID_IBAN");

    static final PayoutFaults DEFAULTS = new PayoutFaults(0, Map.of());

    /** The reason this IBAN's transfers fail, or null when the bank pays it. */
    String rejection(String iban) {
        return rejections.get(iban);
    }

    /** Reads the two fields from the whole fault object; throws IllegalArgumentException fit for a 400 answer. */
    static PayoutFaults fromJson(JsonObject json) {
        long delayMillis = json.containsKey(COMPLETION_DELAY_MILLIS)
                ? SimFaults.millis(json, COMPLETION_DELAY_MILLIS, COMPLETION_DELAY_MILLIS_MAX) : 0;
        Object value = json.getValue(REJECTIONS);
        if (value == null) {
            return new PayoutFaults(delayMillis, Map.of());
        }
        if (!(value instanceof JsonObject object)) {
            throw new IllegalArgumentException(REJECTIONS + " must be an object of IBAN to reason");
        }
        if (object.size() > REJECTIONS_MAX) {
            throw new IllegalArgumentException(REJECTIONS + " holds at most " + REJECTIONS_MAX + " IBANs");
        }
        Map<String, String> rejections = new LinkedHashMap<>();
        for (String iban : object.fieldNames()) {
            if (!PayoutSim.IBAN.matcher(iban).matches()) {
                throw new IllegalArgumentException(REJECTIONS + ": '" + iban + "' is not IR and 24 digits");
            }
            if (!(object.getValue(iban) instanceof String reason) || !REASONS.contains(reason)) {
                throw new IllegalArgumentException(REJECTIONS + "." + iban + " must be one of " + REASONS);
            }
            rejections.put(iban, reason);
        }
        // Kept in the order given, so /sim/faults answers them as they were set.
        return new PayoutFaults(delayMillis, Collections.unmodifiableMap(rejections));
    }

    /** Puts the two fields into {@code json}, the whole fault object being written; returns it. */
    JsonObject addTo(JsonObject json) {
        return json.put(COMPLETION_DELAY_MILLIS, completionDelayMillis)
                .put(REJECTIONS, new JsonObject(new LinkedHashMap<>(rejections)));
    }
}
