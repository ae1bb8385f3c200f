package taraz.http;

import io.vertx.core.http.HttpHeaders;
import io.vertx.ext.web.RoutingContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import taraz.journal.JournalUnavailableException;
import taraz.ledger.WriterBusyException;
import taraz.ops.LogContext;

import java.util.Set;

/**
 * Writing an answer, and the error mapping: what escaped a route becomes its stable code and status here, whether a
 * {@link Failure}, a domain refusal, a passing condition (503 with Retry-After) or a bug (500, logged).
 */
final class Responses {

    private static final Logger LOG = LoggerFactory.getLogger(Responses.class);
    static final String JSON = "application/json";

    /**
     * PostgreSQL's "come back later" states: too many connections, starting or stopping,
     * serialization failure, deadlock (the victim rolled back whole), lock timeout.
     */
    private static final Set<String> BUSY_SQL_STATES = Set.of("53300", "57P03", "40001", "40P01", "55P03");

    private Responses() {
    }

    static void error(RoutingContext ctx, Failure failure) {
        if (CallbackPage.answersHtml(ctx)) {
            html(ctx, failure.status(), CallbackPage.error(failure));
        } else {
            send(ctx, failure.status(), failure.body().encode(), false);
        }
    }

    static void html(RoutingContext ctx, int status, String page) {
        if (!ctx.response().ended()) {
            ctx.response().setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, "text/html; charset=utf-8").end(page);
        }
    }

    static void send(RoutingContext ctx, int status, String body, boolean replayed) {
        if (ctx.response().ended()) {
            return;
        }
        if (replayed) {
            ctx.response().putHeader("Idempotent-Replayed", "true");
        }
        ctx.response().setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, JSON).end(body);
    }

    /** The router's failure handler: every failed route ends here. */
    static void failure(RoutingContext ctx, long bodyLimitBytes) {
        Throwable cause = ctx.failure();
        Failure failure = Failure.from(cause);
        if (failure != null) {
            error(ctx, failure);
        } else if (busy(cause)) {
            // The journal or the database failed or is saturated under the step; every step is
            // idempotent and its key keeps its fingerprint, so a retry is safe.
            LogContext.request(LOG, LogContext.Severity.WARN, "{} {} refused: {}", ctx.request().method(),
                    ctx.request().path(), cause.toString());
            ctx.response().putHeader("Retry-After", "1");
            error(ctx, new Failure(503, "service_unavailable", "the gateway is busy or a dependency is unavailable; retry shortly"));
        } else if (ctx.statusCode() == 413) {
            error(ctx, new Failure(413, "payload_too_large", "the body is larger than " + bodyLimitBytes + " bytes"));
        } else if (ctx.statusCode() >= 400 && ctx.statusCode() < 500 && cause == null) {
            error(ctx, new Failure(ctx.statusCode(), "bad_request", "the request was refused"));
        } else {
            LogContext.request(LOG, LogContext.Severity.ERROR, "{} {} failed", ctx.request().method(), ctx.request().path(),
                    cause);
            error(ctx, new Failure(500, "internal_error", "internal error; no money moved half-way, retry with the same Idempotency-Key"));
        }
    }

    /**
     * A condition that passes: the pool full (its wait queue at its bound) or timing out, the
     * journal's queue full or the journal down, the database unreachable or refusing for now.
     * Looked for along the cause chain, since futures wrap.
     */
    static boolean busy(Throwable cause) {
        for (Throwable t = cause; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof JournalUnavailableException || t instanceof WriterBusyException || t instanceof java.net.ConnectException
                    || t instanceof io.vertx.sqlclient.ClosedConnectionException
                    || t instanceof io.vertx.core.http.ConnectionPoolTooBusyException
                    || t instanceof java.util.concurrent.TimeoutException
                    || (t instanceof io.vertx.pgclient.PgException pg && BUSY_SQL_STATES.contains(pg.getSqlState()))) {
                return true;
            }
        }
        return false;
    }
}
