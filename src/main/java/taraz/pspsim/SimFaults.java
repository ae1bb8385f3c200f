package taraz.pspsim;

import io.vertx.core.json.JsonObject;
import taraz.psp.Psp;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Fault settings of the simulator, replaced as a whole by {@code POST /sim/faults}. Absent fields take their defaults;
 * {@code pspWindowSeconds} is the bank's window, the gateway's setting of the same name: past it an unverified payment
 * goes back to the card and a verified one can no longer be reversed; {@code null} means the window never closes.
 */
record SimFaults(long latencyMillis, double errorRate, double timeoutRate, double lostAnswerRate, Map<String, EndpointFaults> endpoints,
                 double lostCallbackRate, int duplicateCallbacks, long callbackDelayMillis, Long pspWindowSeconds,
                 PayoutFaults payouts) {

    static final long WINDOW_SECONDS_DEFAULT = Psp.WINDOW_SECONDS;
    static final int DUPLICATE_CALLBACKS_MAX = 10;
    /** Bounds keep a typo from holding requests for hours. */
    static final long LATENCY_MILLIS_MAX = 120_000;
    static final long CALLBACK_DELAY_MILLIS_MAX = 600_000;
    static final long WINDOW_SECONDS_MAX = 30L * 24 * 3600;
    static final Set<String> ENDPOINTS = Set.of("request", "verify", "inquiry", "unVerified", "reverse",
            PayoutSim.SEND, PayoutSim.STATUS, "refund", "refundStatus");
    private static final Set<String> FIELDS = Set.of("latencyMillis", "errorRate", "timeoutRate", "lostAnswerRate", "endpoints",
            "lostCallbackRate", "duplicateCallbacks", "callbackDelayMillis", "pspWindowSeconds",
            PayoutFaults.COMPLETION_DELAY_MILLIS, PayoutFaults.REJECTIONS);
    private static final Set<String> ENDPOINT_FIELDS = Set.of("latencyMillis", "errorRate", "timeoutRate", "lostAnswerRate");

    static final SimFaults DEFAULTS = new SimFaults(0, 0.0, 0.0, 0.0, Map.of(), 0.0, 1, 0, WINDOW_SECONDS_DEFAULT,
            PayoutFaults.DEFAULTS);

    /** Per-endpoint overrides; a null field falls back to the global setting. */
    record EndpointFaults(Long latencyMillis, Double errorRate, Double timeoutRate, Double lostAnswerRate) {
    }

    /**
     * What one Zarinpal endpoint suffers, overrides applied. {@code lostAnswerRate}: the bank does
     * what was asked (a reverse reverses) and the answer is lost on the way back (the connection
     * closes): the case a timeout alone cannot show, since a held call never reaches the bank.
     */
    record Effective(long latencyMillis, double errorRate, double timeoutRate, double lostAnswerRate) {
    }

    Effective forEndpoint(String endpoint) {
        EndpointFaults o = endpoints.get(endpoint);
        if (o == null) {
            return new Effective(latencyMillis, errorRate, timeoutRate, lostAnswerRate);
        }
        return new Effective(o.latencyMillis() != null ? o.latencyMillis() : latencyMillis,
                o.errorRate() != null ? o.errorRate() : errorRate,
                o.timeoutRate() != null ? o.timeoutRate() : timeoutRate,
                o.lostAnswerRate() != null ? o.lostAnswerRate() : lostAnswerRate);
    }

    /** Parses and validates; throws IllegalArgumentException with a message fit for a 400 answer. */
    static SimFaults fromJson(JsonObject json) {
        checkKnown(json, FIELDS, "");
        Map<String, EndpointFaults> endpoints = new LinkedHashMap<>();
        JsonObject endpointsJson = optional(json, "endpoints", JsonObject.class, new JsonObject());
        for (String name : endpointsJson.fieldNames()) {
            if (!ENDPOINTS.contains(name)) {
                throw new IllegalArgumentException("unknown endpoint '" + name + "', expected one of " + ENDPOINTS);
            }
            Object value = endpointsJson.getValue(name);
            if (!(value instanceof JsonObject o)) {
                throw new IllegalArgumentException("endpoints." + name + " must be an object");
            }
            checkKnown(o, ENDPOINT_FIELDS, "endpoints." + name + ".");
            endpoints.put(name, new EndpointFaults(
                    o.containsKey("latencyMillis") ? millis(o, "latencyMillis", LATENCY_MILLIS_MAX) : null,
                    o.containsKey("errorRate") ? rate(o, "errorRate") : null,
                    o.containsKey("timeoutRate") ? rate(o, "timeoutRate") : null,
                    o.containsKey("lostAnswerRate") ? rate(o, "lostAnswerRate") : null));
        }
        Long pspWindowSeconds = WINDOW_SECONDS_DEFAULT;
        if (json.containsKey("pspWindowSeconds")) {
            pspWindowSeconds = json.getValue("pspWindowSeconds") == null
                    ? null : millis(json, "pspWindowSeconds", WINDOW_SECONDS_MAX);
        }
        long duplicates = json.containsKey("duplicateCallbacks") ? integer(json, "duplicateCallbacks") : 1;
        if (duplicates < 1 || duplicates > DUPLICATE_CALLBACKS_MAX) {
            throw new IllegalArgumentException("duplicateCallbacks must be in 1.." + DUPLICATE_CALLBACKS_MAX);
        }
        return new SimFaults(
                json.containsKey("latencyMillis") ? millis(json, "latencyMillis", LATENCY_MILLIS_MAX) : 0,
                json.containsKey("errorRate") ? rate(json, "errorRate") : 0.0,
                json.containsKey("timeoutRate") ? rate(json, "timeoutRate") : 0.0,
                json.containsKey("lostAnswerRate") ? rate(json, "lostAnswerRate") : 0.0,
                Map.copyOf(endpoints),
                json.containsKey("lostCallbackRate") ? rate(json, "lostCallbackRate") : 0.0,
                (int) duplicates,
                json.containsKey("callbackDelayMillis") ? millis(json, "callbackDelayMillis", CALLBACK_DELAY_MILLIS_MAX) : 0,
                pspWindowSeconds,
                PayoutFaults.fromJson(json));
    }

    JsonObject toJson() {
        JsonObject endpointsJson = new JsonObject();
        endpoints.forEach((name, o) -> {
            JsonObject e = new JsonObject();
            if (o.latencyMillis() != null) {
                e.put("latencyMillis", o.latencyMillis());
            }
            if (o.errorRate() != null) {
                e.put("errorRate", o.errorRate());
            }
            if (o.timeoutRate() != null) {
                e.put("timeoutRate", o.timeoutRate());
            }
            if (o.lostAnswerRate() != null) {
                e.put("lostAnswerRate", o.lostAnswerRate());
            }
            endpointsJson.put(name, e);
        });
        return payouts.addTo(new JsonObject()
                .put("latencyMillis", latencyMillis)
                .put("errorRate", errorRate)
                .put("timeoutRate", timeoutRate)
                .put("lostAnswerRate", lostAnswerRate)
                .put("endpoints", endpointsJson)
                .put("lostCallbackRate", lostCallbackRate)
                .put("duplicateCallbacks", duplicateCallbacks)
                .put("callbackDelayMillis", callbackDelayMillis)
                .put("pspWindowSeconds", pspWindowSeconds));
    }

    /** Unknown fields are rejected so a misspelt fault is an error, not a silently healthy simulator. */
    private static void checkKnown(JsonObject json, Set<String> known, String prefix) {
        for (String name : json.fieldNames()) {
            if (!known.contains(name)) {
                throw new IllegalArgumentException("unknown fault setting '" + prefix + name + "'");
            }
        }
    }

    private static <T> T optional(JsonObject json, String name, Class<T> type, T absent) {
        Object value = json.getValue(name);
        if (value == null) {
            return absent;
        }
        if (!type.isInstance(value)) {
            throw new IllegalArgumentException(name + " has the wrong type");
        }
        return type.cast(value);
    }

    private static double rate(JsonObject json, String name) {
        if (!(json.getValue(name) instanceof Number n)) {
            throw new IllegalArgumentException(name + " must be a number in [0, 1]");
        }
        double rate = n.doubleValue();
        if (!(rate >= 0.0 && rate <= 1.0)) {
            throw new IllegalArgumentException(name + " must be a number in [0, 1]");
        }
        return rate;
    }

    static long millis(JsonObject json, String name, long max) {
        long value = integer(json, name);
        if (value < 0 || value > max) {
            throw new IllegalArgumentException(name + " must be in 0.." + max);
        }
        return value;
    }

    private static long integer(JsonObject json, String name) {
        Object value = json.getValue(name);
        if (!(value instanceof Integer || value instanceof Long)) {
            throw new IllegalArgumentException(name + " must be an integer");
        }
        return ((Number) value).longValue();
    }
}
