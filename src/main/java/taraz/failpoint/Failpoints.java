package taraz.failpoint;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Named points at the step boundaries of every flow, for crash testing. Configured by
 * {@code TARAZ_FAILPOINTS="trip.settle.after-commit=crash,topup.after-verify=delay(2000)"}:
 * {@code crash} halts the JVM at once (no shutdown hooks, like kill -9), {@code delay(ms)}
 * holds that flow on a timer (the event loop keeps running), {@code error} fails the step.
 * Off, a point is one map lookup on an empty map and an already-completed future.
 */
public final class Failpoints {

    /** Every point that exists, in flow order; a configured name outside this list is a typo. */
    public static final List<String> KNOWN = List.of(
            "topup.after-request",
            "topup.after-callback",
            "topup.after-verify",
            "topup.after-credit",
            "trip.hold.after-commit",
            "trip.settle.before-commit",
            "trip.settle.after-commit",
            "trip.cancel.after-commit",
            "refund.trip.before-commit",
            "refund.trip.after-commit",
            "ledger.batch.before-commit",
            "ledger.batch.after-commit",
            "payout.after-hold",
            "payout.after-psp",
            "payout.after-post",
            "adjustment.before-commit",
            "adjustment.after-commit",
            "reconcile.after-reverse",
            "refund.after-hold",
            "refund.after-bank",
            "refund.after-post");

    /** The exit status of a {@code crash}, so a test can tell it from any other death. */
    public static final int CRASH_EXIT_STATUS = 86;

    private static final Logger LOG = LoggerFactory.getLogger(Failpoints.class);
    private static final Pattern ACTION = Pattern.compile("crash|error|delay\\((\\d{1,7})\\)");
    private static final Future<Void> PASS = Future.succeededFuture();

    private final Vertx vertx;
    private final Map<String, String> actions;

    private Failpoints(Vertx vertx, Map<String, String> actions) {
        this.vertx = vertx;
        this.actions = actions;
    }

    public static Failpoints none(Vertx vertx) {
        return new Failpoints(vertx, Map.of());
    }

    /** Parses the setting; an unknown point or action stops the start, loudly. */
    public static Failpoints parse(Vertx vertx, String spec) {
        Map<String, String> actions = new HashMap<>();
        if (spec != null) {
            for (String item : spec.split(",")) {
                if (item.isBlank()) {
                    continue;
                }
                String[] parts = item.trim().split("=", 2);
                if (parts.length != 2 || !KNOWN.contains(parts[0].trim())) {
                    throw new IllegalArgumentException("unknown failpoint '" + item.trim() + "'; known: " + KNOWN);
                }
                String action = parts[1].trim();
                if (!ACTION.matcher(action).matches()) {
                    throw new IllegalArgumentException("failpoint " + parts[0] + ": action must be crash, error or delay(ms), got " + action);
                }
                actions.put(parts[0].trim(), action);
            }
        }
        if (!actions.isEmpty()) {
            LOG.warn("failpoints armed: {}", actions);
        }
        return new Failpoints(vertx, Map.copyOf(actions));
    }

    public Future<Void> at(String point) {
        String action = actions.get(point);
        if (action == null) {
            return PASS;
        }
        if (action.equals("crash")) {
            LOG.warn("failpoint {}: crash", point);
            System.err.println("failpoint " + point + ": crash");
            System.err.flush();
            Runtime.getRuntime().halt(CRASH_EXIT_STATUS);
        }
        if (action.equals("error")) {
            return Future.failedFuture(new FailpointException(point));
        }
        Matcher delay = ACTION.matcher(action);
        if (!delay.matches()) {
            throw new IllegalStateException("failpoint action " + action + " passed parse but not use");
        }
        long delayMillis = Long.parseLong(delay.group(1));
        // Logged, so that a test reading the log can tell a point that held its flow from one that
        // never ran (a delay alone only shows as time, which a loaded machine blurs).
        LOG.info("failpoint {}: delay {} ms", point, delayMillis);
        return vertx.timer(delayMillis).mapEmpty();
    }

    /** The failure an {@code error} failpoint injects. */
    public static final class FailpointException extends RuntimeException {
        public FailpointException(String point) {
            super("failpoint " + point + " injected an error", null, false, false);
        }
    }
}
