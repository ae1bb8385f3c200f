package taraz.bench;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.HdrHistogram.Histogram;

import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * What one measured period saw: latency from each operation's intended start in an HdrHistogram
 * (microseconds), one histogram per second of the period for the timeline, status counts and
 * failures. Operations intended before the period (the warm-up) are left out. Used from one
 * event loop only, so it needs no locks.
 */
final class Recorder {

    /** Longer than any request can take (the client's timeout bounds it); a longer latency is clamped, never dropped. */
    static final long LATENCY_MICROS_MAX = TimeUnit.MINUTES.toMicros(10);
    private static final int SIGNIFICANT_DIGITS = 3;

    private final long periodStartNanos;
    private final int periodSeconds;
    private final Histogram latency = histogram();
    private final Histogram[] perSecond;
    private final long[] okPerSecond;
    private final long[] errorsPerSecond;
    private final TreeMap<Integer, Long> statusCounts = new TreeMap<>();
    private long requests;
    private long ok;
    private long timeouts;
    private long connects;
    private long others;

    Recorder(long periodStartNanos, int periodSeconds) {
        this.periodStartNanos = periodStartNanos;
        this.periodSeconds = periodSeconds;
        this.perSecond = new Histogram[periodSeconds];
        this.okPerSecond = new long[periodSeconds];
        this.errorsPerSecond = new long[periodSeconds];
        for (int i = 0; i < periodSeconds; i++) {
            perSecond[i] = histogram();
        }
    }

    private static Histogram histogram() {
        return new Histogram(LATENCY_MICROS_MAX, SIGNIFICANT_DIGITS);
    }

    /** Records an operation that was meant to start at intendedNanos and ended at doneNanos. */
    void record(long intendedNanos, long doneNanos, Outcome outcome) {
        if (intendedNanos < periodStartNanos) {
            return;
        }
        int second = (int) Math.min(periodSeconds - 1, (intendedNanos - periodStartNanos) / 1_000_000_000L);
        long micros = Math.min(LATENCY_MICROS_MAX, Math.max(0, (doneNanos - intendedNanos) / 1_000));
        latency.recordValue(micros);
        perSecond[second].recordValue(micros);
        requests++;
        if (outcome.ok()) {
            ok++;
            okPerSecond[second]++;
        } else {
            errorsPerSecond[second]++;
        }
        if (outcome.status() != 0) {
            statusCounts.merge(outcome.status(), 1L, Long::sum);
        }
        switch (outcome.failure()) {
            case TIMEOUT -> timeouts++;
            case CONNECT -> connects++;
            case OTHER -> others++;
            case NONE -> { }
        }
    }

    long requests() {
        return requests;
    }

    long ok() {
        return ok;
    }

    long errors() {
        return requests - ok;
    }

    double p99Millis() {
        return millis(latency.getValueAtPercentile(99));
    }

    double throughputPerSecond() {
        return ok / (double) periodSeconds;
    }

    /** The second's p99 so far, for the progress line. */
    double p99MillisOfSecond(int second) {
        return second < 0 || second >= periodSeconds ? 0 : millis(perSecond[second].getValueAtPercentile(99));
    }

    /** result.json's {@code measured} object. */
    JsonObject toJson() {
        JsonArray timeline = new JsonArray();
        for (int i = 0; i < periodSeconds; i++) {
            timeline.add(new JsonObject().put("second", i).put("ok", okPerSecond[i]).put("errors", errorsPerSecond[i])
                    .put("p99Millis", millis(perSecond[i].getValueAtPercentile(99))));
        }
        JsonObject statuses = new JsonObject();
        statusCounts.forEach((status, count) -> statuses.put(Integer.toString(status), count));
        return new JsonObject()
                .put("seconds", (double) periodSeconds)
                .put("requests", requests)
                .put("throughputPerSecond", round(throughputPerSecond()))
                .put("timeline", timeline)
                .put("latencyMillis", new JsonObject()
                        .put("p50", millis(latency.getValueAtPercentile(50)))
                        .put("p90", millis(latency.getValueAtPercentile(90)))
                        .put("p99", millis(latency.getValueAtPercentile(99)))
                        .put("p999", millis(latency.getValueAtPercentile(99.9)))
                        .put("max", millis(latency.getMaxValue()))
                        .put("mean", round(latency.getMean() / 1000.0)))
                .put("statusCounts", statuses)
                .put("errors", new JsonObject().put("timeout", timeouts).put("connect", connects).put("other", others));
    }

    private static double millis(long micros) {
        return round(micros / 1000.0);
    }

    private static double round(double value) {
        return Math.round(value * 1000.0) / 1000.0;
    }
}
