package taraz.ops;

import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.internal.ContextInternal;
import org.slf4j.Logger;
import org.slf4j.MDC;

import java.util.UUID;

/**
 * The fields a log line about a payment carries ({@code txn}, {@code flow}, {@code state}, {@code node}) and the
 * request id of the HTTP request being handled, written into the line's MDC (the {@code mdc} object of a JSON line).
 * <p>
 * The request id lives on the request's Vert.x context, not in a thread-local: Vert.x runs each request on a
 * duplicated context of its own, and the callbacks of everything the request starts (the database, the PSP client,
 * the ledger writer, which answers on its caller's context, a failpoint's timer) run on that same context, on any
 * event-loop turn. A thread-local MDC would carry one request's id into the next request's lines on the same
 * event loop. So the MDC is filled only for the one synchronous call that writes a line, from the current context,
 * and emptied again after it.
 */
public final class LogContext {

    public static final String TXN = "txn";
    public static final String FLOW = "flow";
    public static final String STATE = "state";
    public static final String NODE = "node";
    public static final String REQUEST_ID = "requestId";
    /** The header a client sends its request id in, and every answer carries it back in. */
    public static final String REQUEST_ID_HEADER = "X-Request-Id";
    /** The longest request id accepted from a client; a longer one is replaced by a generated one. */
    public static final int REQUEST_ID_LENGTH_MAX = 128;

    /** The key of the request id in the context's local data; an object of our own, so nothing else can clash. */
    private static final Object REQUEST_ID_KEY = new Object();

    /** The node's id: one per process, set once at start before any payment runs. */
    private static volatile String node;

    private LogContext() {
    }

    /** Sets the node id every payment line carries. */
    public static void node(String nodeId) {
        node = nodeId;
    }

    /**
     * The request id for a request whose client sent {@code offered} (null when it sent none): the client's own when
     * it is printable ASCII without spaces and at most {@link #REQUEST_ID_LENGTH_MAX} characters, so an id can never
     * break a log line or smuggle a header; a new one otherwise.
     */
    public static String requestId(String offered) {
        return acceptable(offered) ? offered : UUID.randomUUID().toString();
    }

    private static boolean acceptable(String offered) {
        if (offered == null || offered.isEmpty() || offered.length() > REQUEST_ID_LENGTH_MAX) {
            return false;
        }
        return offered.chars().allMatch(c -> c > ' ' && c < 0x7f);
    }

    /**
     * Binds {@code requestId} to the current request's context, so the lines its flow writes, on whatever callback,
     * carry it. Must run on the request's own (duplicated) context, never on an event loop's shared one.
     */
    public static void bindRequest(String requestId) {
        ContextInternal context = (ContextInternal) Vertx.currentContext();
        if (context == null || !context.isDuplicate()) {
            throw new IllegalStateException("a request id binds only to a request's own context, not " + context);
        }
        context.localContextData().put(REQUEST_ID_KEY, requestId);
    }

    /** The request id bound to the current context, or null outside a request (a sweeper, recovery, reconcile). */
    public static String requestId() {
        Context context = Vertx.currentContext();
        if (!(context instanceof ContextInternal internal) || !internal.isDuplicate()) {
            return null;
        }
        Object id = internal.localContextData().get(REQUEST_ID_KEY);
        return id instanceof String text ? text : null;
    }

    /** A line about payment {@code txn} of {@code flow} in {@code state} (null when not known), at INFO. */
    public static void info(Logger log, String txn, String flow, String state, String format, Object... args) {
        write(log, Severity.INFO, txn, flow, state, format, args);
    }

    /** A line about payment {@code txn} of {@code flow} in {@code state} (null when not known), at WARN. */
    public static void warn(Logger log, String txn, String flow, String state, String format, Object... args) {
        write(log, Severity.WARN, txn, flow, state, format, args);
    }

    /** A line about payment {@code txn} of {@code flow} in {@code state} (null when not known), at ERROR. */
    public static void error(Logger log, String txn, String flow, String state, String format, Object... args) {
        write(log, Severity.ERROR, txn, flow, state, format, args);
    }

    /** A line about the request being handled, no payment named: it carries the node and the request id. */
    public static void request(Logger log, Severity severity, String format, Object... args) {
        write(log, severity, null, null, null, format, args);
    }

    /** The levels a line of ours is written at. */
    public enum Severity { INFO, WARN, ERROR }

    private static void write(Logger log, Severity severity, String txn, String flow, String state, String format,
                              Object... args) {
        // A settle writes a line per step: with its level off, the line costs this check and nothing more.
        boolean enabled = switch (severity) {
            case INFO -> log.isInfoEnabled();
            case WARN -> log.isWarnEnabled();
            case ERROR -> log.isErrorEnabled();
        };
        if (!enabled) {
            return;
        }
        put(TXN, txn);
        put(FLOW, flow);
        put(STATE, state);
        put(NODE, node);
        put(REQUEST_ID, requestId());
        try {
            switch (severity) {
                case INFO -> log.info(format, args);
                case WARN -> log.warn(format, args);
                case ERROR -> log.error(format, args);
            }
        } finally {
            MDC.remove(TXN);
            MDC.remove(FLOW);
            MDC.remove(STATE);
            MDC.remove(NODE);
            MDC.remove(REQUEST_ID);
        }
    }

    private static void put(String key, String value) {
        if (value != null) {
            MDC.put(key, value);
        }
    }
}
