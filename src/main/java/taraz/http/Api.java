package taraz.http;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.ext.web.healthchecks.HealthCheckHandler;
import io.vertx.ext.healthchecks.HealthChecks;
import org.apache.commons.codec.digest.DigestUtils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import taraz.admin.AdjustmentService;
import taraz.config.Settings;
import taraz.domain.DomainError;
import taraz.domain.ErrorCode;
import taraz.idempotency.IdempotencyStore;
import taraz.journal.JournalUnavailableException;
import taraz.ledger.AccountKind;
import taraz.ledger.Entry;
import taraz.ledger.Ledger;
import taraz.ledger.LedgerCommand;
import taraz.ledger.WriterBusyException;
import taraz.ops.Metrics;
import taraz.ops.Readiness;
import taraz.topup.TopupService;
import taraz.trip.TripService;

import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.TreeMap;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/**
 * The HTTP contract of the brief, v1. Each money-moving route reads as: validate everything
 * (a 4xx writes nothing), claim the idempotency key, run the flow's step, store the response
 * under the key, answer. Validation failures are not stored under the key, so a corrected
 * retry with the same key runs.
 */
public final class Api {

    private static final Logger LOG = LoggerFactory.getLogger(Api.class);
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}");
    private static final Pattern IDEMPOTENCY_KEY = Pattern.compile("[\\x21-\\x7E]{8,255}");
    private static final Pattern DURATION = Pattern.compile("(\\d{1,9})([smhd])");
    private static final int WALLET_HOLDS_SHOWN_MAX = 100;
    private static final String JSON = "application/json";
    /** The one route the internet reaches (through the public ingress); it needs no credential. */
    public static final String CALLBACK_PATH = "/v1/psp/zarinpal/callback";
    private static final String ADMIN_PREFIX = "/v1/admin/";
    private static final String CALLER = "caller";

    private final Settings settings;
    private final Ledger ledger;
    private final TripService trips;
    private final TopupService topups;
    private final AdjustmentService adjustments;
    private final IdempotencyStore idempotency;
    private final RequestBodies bodies;
    private final Metrics metrics;
    private final Readiness readiness;
    private final HealthChecks readyChecks;
    private final ApiKeys keys;
    private final SecureRandom random = new SecureRandom();
    private final CallbackLimiter callbackLimiter;

    public Api(Settings settings, Ledger ledger, TripService trips, TopupService topups, AdjustmentService adjustments,
               IdempotencyStore idempotency, RequestBodies bodies, Metrics metrics, Readiness readiness,
               HealthChecks readyChecks, ApiKeys keys) {
        this.keys = keys;
        this.settings = settings;
        this.ledger = ledger;
        this.trips = trips;
        this.topups = topups;
        this.adjustments = adjustments;
        this.idempotency = idempotency;
        this.bodies = bodies;
        this.metrics = metrics;
        this.readiness = readiness;
        this.readyChecks = readyChecks;
        this.callbackLimiter = CallbackLimiter.from(settings.callbacks());
    }

    public Router router(Vertx vertx) {
        Router router = Router.router(vertx);
        router.get("/health/live").handler(ctx -> ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, JSON)
                .end("{\"status\":\"UP\"}"));
        router.get("/health/ready").handler(HealthCheckHandler.createWithHealthChecks(readyChecks));
        router.get("/metrics").handler(ctx -> ctx.response()
                .putHeader(HttpHeaders.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")
                .end(metrics.registry().scrape()));
        router.get("/openapi.yaml").handler(ctx -> ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, "application/yaml")
                .sendFile("openapi.yaml"));

        // Who may call comes first: an unknown caller learns nothing, not even whether the node is ready.
        router.route("/v1/*").handler(this::authorize);
        router.route("/v1/*").handler(this::requireServing);
        // Method-less routes: a method-specific route on /v1/* would turn every unknown /v1 path into a 405.
        router.route("/v1/*").handler(this::requireJsonContent);
        router.route("/v1/*").handler(BodyHandler.create(false)
                .setBodyLimit(settings.requests().bodyLimitBytes()));

        router.post("/v1/wallets").handler(ctx -> money(ctx, "openWallet", true, false, this::openWallet));
        router.get("/v1/wallets/:walletId").handler(ctx -> read(ctx, this::getWallet));
        router.get("/v1/wallets/:walletId/transactions").handler(ctx -> read(ctx, this::listTransactions));
        router.post("/v1/trips/:tripId/hold").handler(ctx -> ledgerStep(ctx, "holdTrip", "trip", true, this::holdTrip));
        router.post("/v1/trips/:tripId/settle").handler(ctx -> ledgerStep(ctx, "settleTrip", "trip", true, this::settleTrip));
        router.post("/v1/trips/:tripId/cancel").handler(ctx -> ledgerStep(ctx, "cancelTrip", "trip", false, this::cancelTrip));
        router.get("/v1/trips/:tripId").handler(ctx -> read(ctx, c -> trips.view(pathId(c, "tripId")).map(Reply::ok)));
        router.post("/v1/topups").handler(ctx -> money(ctx, "createTopup", true, true, this::createTopup));
        router.get("/v1/topups/:topupId").handler(ctx -> read(ctx, c -> topups.view(pathId(c, "topupId")).map(Reply::ok)));
        router.get(CALLBACK_PATH).handler(this::pspCallback);
        router.post("/v1/admin/adjustments").handler(ctx -> ledgerStep(ctx, "adjust", "adjustment", true, this::adjust));
        router.get("/v1/admin/payments").handler(ctx -> read(ctx, this::listPayments));

        router.route().failureHandler(this::failure);
        router.errorHandler(404, ctx -> error(ctx, Failure.notFound("not_found", "no such resource: " + ctx.request().path())));
        router.errorHandler(405, ctx -> error(ctx, new Failure(405, "method_not_allowed",
                ctx.request().method() + " is not allowed on " + ctx.request().path())));
        return router;
    }

    // ---- routes ----------------------------------------------------------------------------

    private Supplier<Future<Reply>> openWallet(RoutingContext ctx, JsonObject body) {
        AccountKind kind = AccountKind.fromDb(body.getString("kind"));
        String walletId = "w_" + randomId();
        return () -> ledger.openWallet(walletId, kind, body.getString("ownerId"), body.getString("phone"),
                body.getString("name")).map(account -> new Reply(201, account.toWalletJson()));
    }

    private Future<Reply> getWallet(RoutingContext ctx) {
        String walletId = pathId(ctx, "walletId");
        boolean admin = ctx.get(CALLER) == ApiKeys.Caller.ADMIN;
        return ledger.wallet(walletId).compose(wallet -> ledger.activeHolds(walletId, WALLET_HOLDS_SHOWN_MAX)
                .map(holds -> {
                    JsonArray active = new JsonArray();
                    holds.forEach(h -> active.add(new JsonObject().put("holdId", h.id()).put("amount", h.amountRials())
                            .put("expiresAt", h.expiresAt().toInstant().toString())));
                    JsonObject json = wallet.toWalletJson().put("holds", active);
                    return Reply.ok(admin ? wallet.withContact(json) : json);
                }));
    }

    private Future<Reply> listTransactions(RoutingContext ctx) {
        String walletId = pathId(ctx, "walletId");
        int limit = limit(ctx);
        Long cursor = cursor(ctx);
        return ledger.wallet(walletId).compose(wallet -> ledger.entries(walletId, cursor, limit + 1))
                .map(entries -> {
                    List<Entry> page = entries.size() > limit ? entries.subList(0, limit) : entries;
                    JsonArray items = new JsonArray();
                    page.forEach(e -> items.add(e.toJson()));
                    String next = entries.size() > limit ? Long.toString(page.get(page.size() - 1).id()) : null;
                    return Reply.ok(new JsonObject().put("walletId", walletId).put("entries", items).put("nextCursor", next));
                });
    }

    private LedgerStep holdTrip(RoutingContext ctx, JsonObject body) {
        String tripId = pathId(ctx, "tripId");
        String passenger = body.getString("passengerWalletId");
        long amountRials = bodies.amount(body, "amount", 1);
        return idem -> trips.hold(tripId, passenger, amountRials, 1, idem);
    }

    private LedgerStep settleTrip(RoutingContext ctx, JsonObject body) {
        String tripId = pathId(ctx, "tripId");
        String passenger = body.getString("passengerWalletId");
        String driver = body.getString("driverWalletId");
        long fareRials = bodies.amount(body, "fare", 1);
        long commissionRials = bodies.amount(body, "commission", 0);
        return idem -> trips.settle(tripId, passenger, driver, fareRials, commissionRials, 1, idem);
    }

    private LedgerStep cancelTrip(RoutingContext ctx, JsonObject body) {
        String tripId = pathId(ctx, "tripId");
        return idem -> trips.cancel(tripId, 1, idem);
    }

    private Supplier<Future<Reply>> createTopup(RoutingContext ctx, JsonObject body) {
        long amountRials = bodies.amount(body, "amount", 1);
        // From the key: a retry after the first attempt died continues that top-up, never a second one.
        String topupId = "tp_" + DigestUtils.sha256Hex(ctx.request().getHeader("Idempotency-Key")).substring(0, 32);
        return () -> counted("topup", topups.create(topupId, body.getString("walletId"), amountRials))
                .map(topup -> new Reply(201, topups.withPaymentUrl(topup)));
    }

    /**
     * The cardholder's browser, back from the bank. Its query string is a hint only: the flow
     * finds the top-up by authority and verifies with the bank itself. The answer is a small
     * page, or JSON for {@code Accept: application/json}; a repeated callback gets the same answer.
     */
    private void pspCallback(RoutingContext ctx) {
        // First, before anything costs a read: the internet reaches this route.
        String client = callbackLimiter.clientAddress(ctx.request().remoteAddress().hostAddress(),
                ctx.request().headers().getAll("X-Forwarded-For"));
        long retryAfterSeconds = callbackLimiter.admit(client);
        if (retryAfterSeconds > 0) {
            ctx.response().putHeader("Retry-After", Long.toString(retryAfterSeconds));
            error(ctx, new Failure(429, "rate_limited", "too many callbacks; retry after " + retryAfterSeconds + " s"));
            return;
        }
        String authority = ctx.request().getParam("Authority");
        String status = ctx.request().getParam("Status");
        if (authority == null || !authority.matches("[A-Za-z0-9]{1,64}") || (!"OK".equals(status) && !"NOK".equals(status))) {
            error(ctx, Failure.badRequest("invalid_callback", "a callback needs Authority and Status=OK|NOK"));
            return;
        }
        metrics.inflight().incrementAndGet();
        topups.callback(authority, status)
                .onComplete(done -> metrics.inflight().decrementAndGet())
                .onSuccess(topup -> {
                    JsonObject json = CallbackPage.json(topup);
                    String accept = ctx.request().getHeader(HttpHeaders.ACCEPT);
                    if (accept != null && accept.contains(JSON)) {
                        send(ctx, 200, json.encode(), false);
                    } else {
                        ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, "text/html; charset=utf-8")
                                .end(CallbackPage.html(topup));
                    }
                })
                .onFailure(ctx::fail);
    }

    private LedgerStep adjust(RoutingContext ctx, JsonObject body) {
        long amountRials = body.getLong("amount");
        long maxRials = settings.requests().amountRialsMax();
        if (amountRials == 0 || amountRials > maxRials || amountRials < -maxRials) {
            throw Failure.badRequest("invalid_amount", "amount must be a non-zero integer number of Rials within ±"
                    + settings.requests().amountRialsMax() + ", got " + amountRials);
        }
        String adjustmentId = "adj_" + DigestUtils.sha256Hex(ctx.request().getHeader("Idempotency-Key")).substring(0, 32);
        return idem -> adjustments.adjust(adjustmentId, body.getString("walletId"), amountRials,
                body.getString("reason"), body.getString("ticket"), 1, idem);
    }

    private Future<Reply> listPayments(RoutingContext ctx) {
        String state = ctx.request().getParam("state");
        if (state != null && !state.matches("[A-Z_]{1,32}")) {
            throw Failure.badRequest("invalid_query", "state must be an upper-case state name like HELD");
        }
        Duration olderThan = duration(ctx.request().getParam("olderThan"));
        return adjustments.payments(state, olderThan, limit(ctx))
                .map(payments -> Reply.ok(new JsonObject().put("payments", payments)));
    }

    // ---- the request pipeline ------------------------------------------------------------------

    /** What a route answers: a status and a JSON body. */
    public record Reply(int status, JsonObject body) {
        static Reply ok(JsonObject body) {
            return new Reply(200, body);
        }
    }

    @FunctionalInterface
    private interface Prepare {
        /** Validates the request (throwing a {@link Failure}) and returns the step to run. */
        Supplier<Future<Reply>> prepare(RoutingContext ctx, JsonObject body);
    }

    @FunctionalInterface
    private interface Read {
        Future<Reply> read(RoutingContext ctx);
    }

    /** A step of the ledger writer: its idempotency key (or null) is claimed, and answered, inside its batch. */
    @FunctionalInterface
    private interface LedgerStep {
        Future<? extends LedgerCommand.Outcome<?>> run(LedgerCommand.Idem idem);
    }

    @FunctionalInterface
    private interface PrepareLedgerStep {
        /** Validates the request (throwing a {@link Failure}) and returns the step to run. */
        LedgerStep prepare(RoutingContext ctx, JsonObject body);
    }

    /**
     * A money route whose step is a ledger command: validate (a 4xx writes nothing), then the
     * command claims the key, moves the money and stores the answer in one transaction, so a key
     * and its effect commit together; the answer (or the stored one, replayed) goes out as is.
     */
    private void ledgerStep(RoutingContext ctx, String operationId, String flow, boolean bodyRequired, PrepareLedgerStep route) {
        LedgerStep step;
        String key = ctx.request().getHeader("Idempotency-Key");
        JsonObject body;
        try {
            checkKey(key, true);
            body = bodies.parse(operationId, ctx.body().buffer(), bodyRequired);
            step = route.prepare(ctx, body);
        } catch (Failure failure) {
            error(ctx, failure);
            return;
        }
        LedgerCommand.Idem idem = new LedgerCommand.Idem(key, requestHash(ctx, body), ctx.request().method().name(),
                ctx.request().path(), Failure::answer);
        metrics.inflight().incrementAndGet();
        Future<? extends LedgerCommand.Outcome<?>> outcome;
        try {
            outcome = step.run(idem);
        } catch (RuntimeException e) {
            outcome = Future.failedFuture(e);
        }
        outcome.onComplete(done -> metrics.inflight().decrementAndGet())
                .onSuccess(result -> {
                    LedgerCommand.Answer answer = result.answer();
                    if (!answer.replayed()) {
                        metrics.payment(flow, result.failure() == null ? "ok" : result.failure().code().apiName());
                    }
                    if (result.failure() != null && result.failure().code() == ErrorCode.REQUEST_IN_PROGRESS) {
                        ctx.response().putHeader("Retry-After", String.valueOf(settings.idempotency().retryAfterSeconds()));
                    }
                    send(ctx, answer.status(), answer.body(), answer.replayed());
                })
                .onFailure(err -> {
                    Failure failure = Failure.from(err);
                    if (failure != null) {
                        metrics.payment(flow, failure.code());
                    }
                    ctx.fail(err);
                });
    }

    private static void checkKey(String key, boolean keyRequired) {
        if (key == null && keyRequired) {
            throw Failure.badRequest("idempotency_key_missing", "this request moves money: send an Idempotency-Key header");
        }
        if (key != null && !IDEMPOTENCY_KEY.matcher(key).matches()) {
            throw Failure.badRequest("idempotency_key_invalid", "Idempotency-Key must be 8-255 printable ASCII characters");
        }
    }

    private static String requestHash(RoutingContext ctx, JsonObject body) {
        return DigestUtils.sha256Hex(ctx.request().method() + " " + ctx.request().path() + "\n"
                + new JsonObject(new TreeMap<>(body.getMap())).encode());
    }

    private void read(RoutingContext ctx, Read route) {
        try {
            route.read(ctx).onSuccess(reply -> send(ctx, reply.status(), reply.body().encode(), false))
                    .onFailure(ctx::fail);
        } catch (Failure failure) {
            error(ctx, failure);
        }
    }

    private void money(RoutingContext ctx, String operationId, boolean bodyRequired, boolean keyRequired, Prepare route) {
        Supplier<Future<Reply>> step;
        String key = ctx.request().getHeader("Idempotency-Key");
        JsonObject body;
        try {
            checkKey(key, keyRequired);
            body = bodies.parse(operationId, ctx.body().buffer(), bodyRequired);
            step = route.prepare(ctx, body);
        } catch (Failure failure) {
            error(ctx, failure);
            return;
        }
        if (key == null) {
            start(step).onSuccess(reply -> send(ctx, reply.status(), reply.body().encode(), false)).onFailure(ctx::fail);
            return;
        }
        String requestHash = requestHash(ctx, body);
        metrics.inflight().incrementAndGet();
        idempotency.begin(key, requestHash, ctx.request().method().name(), ctx.request().path())
                .compose(begin -> {
                    if (begin instanceof IdempotencyStore.Replay replay) {
                        send(ctx, replay.status(), replay.body(), true);
                        return Future.succeededFuture();
                    }
                    if (begin instanceof IdempotencyStore.Mismatch) {
                        error(ctx, Failure.of(DomainError.idempotencyKeyReused()));
                        return Future.succeededFuture();
                    }
                    if (begin instanceof IdempotencyStore.InProgress) {
                        ctx.response().putHeader("Retry-After", String.valueOf(settings.idempotency().retryAfterSeconds()));
                        error(ctx, Failure.of(DomainError.requestInProgress()));
                        return Future.succeededFuture();
                    }
                    return run(ctx, key, step);
                })
                .onFailure(ctx::fail)
                .onComplete(done -> metrics.inflight().decrementAndGet());
    }

    private Future<Void> run(RoutingContext ctx, String key, Supplier<Future<Reply>> step) {
        return start(step).transform(result -> {
            if (result.succeeded()) {
                Reply reply = result.result();
                String encoded = reply.body().encode();
                return idempotency.finish(key, reply.status(), encoded)
                        .onSuccess(v -> send(ctx, reply.status(), encoded, false));
            }
            Failure failure = Failure.from(result.cause());
            if (failure != null) {
                String encoded = errorBody(failure).encode();
                return idempotency.finish(key, failure.status(), encoded)
                        .onSuccess(v -> send(ctx, failure.status(), encoded, false));
            }
            // A server error: no response is stored, so the client's retry of this same request runs
            // the (idempotent) step again at once; the key still refuses any other request.
            return idempotency.abandon(key).transform(abandoned -> Future.failedFuture(result.cause()));
        });
    }

    /** Runs a step; one that throws instead of failing its future is a failed future all the same. */
    private static Future<Reply> start(Supplier<Future<Reply>> step) {
        try {
            return step.get();
        } catch (RuntimeException e) {
            return Future.failedFuture(e);
        }
    }

    private <T> Future<T> counted(String flow, Future<T> step) {
        return step.onComplete(result -> {
            Failure failure = result.succeeded() ? null : Failure.from(result.cause());
            metrics.payment(flow, result.succeeded() ? "ok" : failure != null ? failure.code() : "error");
        });
    }

    private void requireServing(RoutingContext ctx) {
        if (readiness.accepting()) {
            ctx.next();
            return;
        }
        ctx.response().putHeader("Retry-After", "1");
        if (readiness.phase() == Readiness.Phase.CLOSING) {
            // This node is going away: the client (or the load balancer) retries elsewhere.
            ctx.response().putHeader(HttpHeaders.CONNECTION, "close");
        }
        error(ctx, new Failure(503, "not_ready", "this node is " + readiness.phase().name().toLowerCase()
                + "; retry on another node or later"));
    }

    private void requireJsonContent(RoutingContext ctx) {
        if (ctx.request().method() != HttpMethod.POST) {
            ctx.next();
            return;
        }
        String type = ctx.request().getHeader(HttpHeaders.CONTENT_TYPE);
        String length = ctx.request().getHeader(HttpHeaders.CONTENT_LENGTH);
        boolean empty = type == null && (length == null || "0".equals(length))
                && ctx.request().getHeader(HttpHeaders.TRANSFER_ENCODING) == null;
        if (empty || (type != null && type.toLowerCase().startsWith(JSON))) {
            ctx.next();
            return;
        }
        error(ctx, new Failure(415, "unsupported_media_type", "send the body as application/json"));
    }

    /**
     * Every {@code /v1/*} route but the bank's callback needs a credential: an API key, or the
     * admin token (which also shows support what a service does not see, a wallet's phone and
     * name). Admin routes take only the admin token; with none configured they do not exist
     * (404). The routed path is the normalized one, so {@code /v1/psp/zarinpal/callback/../x}
     * is judged as {@code /v1/x}.
     */
    private void authorize(RoutingContext ctx) {
        String path = ctx.normalizedPath();
        if (CALLBACK_PATH.equals(path)) {
            ctx.next();
            return;
        }
        ApiKeys.Caller caller = keys.caller(ctx.request().getHeader(HttpHeaders.AUTHORIZATION));
        if (path.startsWith(ADMIN_PREFIX) && !keys.adminConfigured()) {
            error(ctx, Failure.notFound("not_found", "no such resource: " + path));
            return;
        }
        boolean allowed = path.startsWith(ADMIN_PREFIX) ? caller == ApiKeys.Caller.ADMIN : caller != ApiKeys.Caller.NONE;
        if (!allowed) {
            ctx.response().putHeader("WWW-Authenticate", "Bearer");
            error(ctx, new Failure(401, "unauthorized", path.startsWith(ADMIN_PREFIX)
                    ? "the admin API needs Authorization: Bearer <admin token>"
                    : "this API needs Authorization: Bearer <API key>"));
            return;
        }
        ctx.put(CALLER, caller);
        ctx.next();
    }

    private void failure(RoutingContext ctx) {
        Throwable cause = ctx.failure();
        Failure failure = Failure.from(cause);
        if (failure != null) {
            error(ctx, failure);
        } else if (busy(cause)) {
            // The journal or the database failed or is saturated under the step; every step is
            // idempotent and its key keeps its fingerprint, so a retry is safe.
            LOG.warn("{} {} refused: {}", ctx.request().method(), ctx.request().path(), cause.toString());
            ctx.response().putHeader("Retry-After", "1");
            error(ctx, new Failure(503, "service_unavailable", "the gateway is busy or a dependency is unavailable; retry shortly"));
        } else if (ctx.statusCode() == 413) {
            error(ctx, new Failure(413, "payload_too_large", "the body is larger than "
                    + settings.requests().bodyLimitBytes() + " bytes"));
        } else if (ctx.statusCode() >= 400 && ctx.statusCode() < 500 && cause == null) {
            error(ctx, new Failure(ctx.statusCode(), "bad_request", "the request was refused"));
        } else {
            LOG.error("{} {} failed", ctx.request().method(), ctx.request().path(), cause);
            error(ctx, new Failure(500, "internal_error", "internal error; no money moved half-way, retry with the same Idempotency-Key"));
        }
    }

    // ---- small parts -----------------------------------------------------------------------

    /**
     * PostgreSQL's "come back later" states: too many connections, starting or stopping,
     * serialization failure, deadlock (the victim rolled back whole), lock timeout.
     */
    private static final java.util.Set<String> BUSY_SQL_STATES = java.util.Set.of("53300", "57P03", "40001", "40P01", "55P03");

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

    private static String pathId(RoutingContext ctx, String name) {
        String id = ctx.pathParam(name);
        if (id == null || !ID.matcher(id).matches()) {
            throw Failure.badRequest("invalid_id", name + " must be 1-64 characters of letters, digits, _ . : -");
        }
        return id;
    }

    private int limit(RoutingContext ctx) {
        String value = ctx.request().getParam("limit");
        if (value == null) {
            return settings.requests().pageSizeDefault();
        }
        int max = settings.requests().pageSizeMax();
        try {
            int limit = Integer.parseInt(value);
            if (limit >= 1 && limit <= max) {
                return limit;
            }
        } catch (NumberFormatException ignored) {
            // Answered below with the rule, like any other out-of-range limit.
        }
        throw Failure.badRequest("invalid_query", "limit must be an integer in [1, " + max + "]");
    }

    private static Long cursor(RoutingContext ctx) {
        String value = ctx.request().getParam("cursor");
        if (value == null) {
            return null;
        }
        try {
            long cursor = Long.parseLong(value);
            if (cursor > 0) {
                return cursor;
            }
        } catch (NumberFormatException ignored) {
            // Answered below.
        }
        throw Failure.badRequest("invalid_cursor", "cursor must be a nextCursor value from an earlier page");
    }

    private static Duration duration(String value) {
        if (value == null) {
            return Duration.ZERO;
        }
        var m = DURATION.matcher(value);
        if (m.matches()) {
            long n = Long.parseLong(m.group(1));
            return switch (m.group(2)) {
                case "s" -> Duration.ofSeconds(n);
                case "m" -> Duration.ofMinutes(n);
                case "h" -> Duration.ofHours(n);
                default -> Duration.ofDays(n);
            };
        }
        try {
            Duration d = Duration.parse(value);
            if (!d.isNegative()) {
                return d;
            }
        } catch (RuntimeException ignored) {
            // Answered below.
        }
        throw Failure.badRequest("invalid_query", "olderThan must be a duration like 30s, 10m, 2h, 1d or PT10M");
    }

    private String randomId() {
        byte[] bytes = new byte[12];
        random.nextBytes(bytes);
        return HexFormat.of().formatHex(bytes);
    }

    private static JsonObject errorBody(Failure failure) {
        return failure.body();
    }

    private static void error(RoutingContext ctx, Failure failure) {
        send(ctx, failure.status(), errorBody(failure).encode(), false);
    }

    private static void send(RoutingContext ctx, int status, String body, boolean replayed) {
        if (ctx.response().ended()) {
            return;
        }
        if (replayed) {
            ctx.response().putHeader("Idempotent-Replayed", "true");
        }
        ctx.response().setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, JSON).end(body);
    }
}
