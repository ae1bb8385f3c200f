package taraz.http;

import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.RoutingContext;
import taraz.ops.Readiness;
import taraz.payout.PayoutService;

import java.util.Locale;

/**
 * What every {@code /v1/*} request passes before its route: who is calling, whether this node serves, and whether a
 * POST body is JSON. Each guard answers the refusal itself, or lets the request through.
 */
final class Guards {

    /** The one route the internet reaches (through the public ingress); it needs no credential. */
    static final String CALLBACK_PATH = "/v1/psp/zarinpal/callback";
    private static final String ADMIN_PREFIX = "/v1/admin/";
    private static final String CALLER = "caller";

    private final ApiKeys keys;
    private final Readiness readiness;

    Guards(ApiKeys keys, Readiness readiness) {
        this.keys = keys;
        this.readiness = readiness;
    }

    /** The caller that {@link #authorize} found: a service's API key or the admin token. */
    static ApiKeys.Caller caller(RoutingContext ctx) {
        return ctx.get(CALLER);
    }

    /**
     * Every {@code /v1/*} route but the bank's callback needs a credential: an API key, or the
     * admin token (which also shows support what a service does not see, a wallet's phone and
     * name). Admin routes take only the admin token; with none configured they do not exist
     * (404). The routed path is the normalized one, so {@code /v1/psp/zarinpal/callback/../x}
     * is judged as {@code /v1/x}.
     */
    void authorize(RoutingContext ctx) {
        String path = ctx.normalizedPath();
        if (CALLBACK_PATH.equals(path) || PayoutService.CALLBACK_PATH.equals(path)) {
            ctx.next();
            return;
        }
        ApiKeys.Caller caller = keys.caller(ctx.request().getHeader(HttpHeaders.AUTHORIZATION));
        if (path.startsWith(ADMIN_PREFIX) && !keys.adminConfigured()) {
            Responses.error(ctx, Failure.notFound("not_found", "no such resource: " + path));
            return;
        }
        boolean allowed = path.startsWith(ADMIN_PREFIX) ? caller == ApiKeys.Caller.ADMIN : caller != ApiKeys.Caller.NONE;
        if (!allowed) {
            ctx.response().putHeader("WWW-Authenticate", "Bearer");
            Responses.error(ctx, new Failure(401, "unauthorized", path.startsWith(ADMIN_PREFIX)
                    ? "the admin API needs Authorization: Bearer <admin token>"
                    : "this API needs Authorization: Bearer <API key>"));
            return;
        }
        ctx.put(CALLER, caller);
        ctx.next();
    }

    /** An unknown caller learns nothing, not even whether the node is ready; so this runs after {@link #authorize}. */
    void requireServing(RoutingContext ctx) {
        if (readiness.accepting()) {
            ctx.next();
            return;
        }
        ctx.response().putHeader("Retry-After", "1");
        if (readiness.phase() == Readiness.Phase.CLOSING) {
            // This node is going away: the client (or the load balancer) retries elsewhere.
            ctx.response().putHeader(HttpHeaders.CONNECTION, "close");
        }
        Responses.error(ctx, new Failure(503, "not_ready", "this node is " + readiness.phase().name().toLowerCase(Locale.ROOT)
                + "; retry on another node or later"));
    }

    static void requireJsonContent(RoutingContext ctx) {
        if (ctx.request().method() != HttpMethod.POST) {
            ctx.next();
            return;
        }
        String type = ctx.request().getHeader(HttpHeaders.CONTENT_TYPE);
        String length = ctx.request().getHeader(HttpHeaders.CONTENT_LENGTH);
        boolean empty = type == null && (length == null || "0".equals(length))
                && ctx.request().getHeader(HttpHeaders.TRANSFER_ENCODING) == null;
        if (empty || (type != null && type.toLowerCase(Locale.ROOT).startsWith(Responses.JSON))) {
            ctx.next();
            return;
        }
        Responses.error(ctx, new Failure(415, "unsupported_media_type", "send the body as application/json"));
    }
}
