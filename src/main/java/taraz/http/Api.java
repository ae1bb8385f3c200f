package taraz.http;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.healthchecks.HealthChecks;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.ext.web.healthchecks.HealthCheckHandler;
import org.apache.commons.codec.digest.DigestUtils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import taraz.admin.AdjustmentService;
import taraz.admin.StoryService;
import taraz.config.Settings;
import taraz.domain.DomainError;
import taraz.domain.ErrorCode;
import taraz.http.Pipeline.LedgerStep;
import taraz.http.Pipeline.Reply;
import taraz.http.Pipeline.Request;
import taraz.idempotency.IdempotencyStore;
import taraz.ledger.AccountKind;
import taraz.ledger.Entry;
import taraz.ledger.Ledger;
import taraz.ops.LogContext;
import taraz.ops.Metrics;
import taraz.ops.Readiness;
import taraz.payout.Iban;
import taraz.payout.Payout;
import taraz.payout.PayoutService;
import taraz.topup.Driver;
import taraz.topup.RefundService;
import taraz.topup.TopupService;
import taraz.trip.TripService;

import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;
import java.util.function.Supplier;

/**
 * The HTTP contract of the brief, v1: the routes, each a line of the router and a method that turns a checked request
 * into a flow's step. What every request goes through lives beside it: {@link Guards} (who may call, whether this node
 * serves), {@link Pipeline} (the contract's checks, then the idempotency key claimed, the step run, its answer
 * stored), {@link RequestParams} (parameters and headers by {@code openapi.yaml}) and {@link Responses} (the error
 * mapping).
 */
public final class Api {

    private static final Logger LOG = LoggerFactory.getLogger(Api.class);
    private static final int WALLET_HOLDS_SHOWN_MAX = 100;

    private final Settings.Requests limits;
    private final Ledger ledger;
    private final TripService trips;
    private final TopupService topups;
    private final RefundService refunds;
    private final AdjustmentService adjustments;
    private final StoryService stories;
    private final PayoutService payouts;
    private final RequestBodies bodies;
    private final Metrics metrics;
    private final HealthChecks readyChecks;
    private final Guards guards;
    private final Pipeline pipeline;
    private final CallbackLimiter callbackLimiter;
    private final ConsolePage console;
    private final SecureRandom random = new SecureRandom();

    public Api(Settings settings, Ledger ledger, TripService trips, TopupService topups, RefundService refunds,
               AdjustmentService adjustments, StoryService stories, PayoutService payouts, IdempotencyStore idempotency, Contract contract,
               Metrics metrics, Readiness readiness,
               HealthChecks readyChecks, ApiKeys keys) {
        this.limits = settings.requests();
        this.ledger = ledger;
        this.trips = trips;
        this.topups = topups;
        this.refunds = refunds;
        this.adjustments = adjustments;
        this.stories = stories;
        this.payouts = payouts;
        this.bodies = contract.bodies();
        this.metrics = metrics;
        this.readyChecks = readyChecks;
        this.guards = new Guards(keys, readiness);
        this.pipeline = new Pipeline(contract, idempotency, metrics, settings.idempotency().retryAfterSeconds());
        this.callbackLimiter = CallbackLimiter.from(settings.callbacks());
        this.console = new ConsolePage(keys.adminConfigured());
    }

    public Router router(Vertx vertx) {
        Router router = Router.router(vertx);
        router.get("/health/live").handler(ctx -> ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, Responses.JSON)
                .end("{\"status\":\"UP\"}"));
        router.get("/health/ready").handler(HealthCheckHandler.createWithHealthChecks(readyChecks));
        router.get("/metrics").handler(ctx -> ctx.response()
                .putHeader(HttpHeaders.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")
                .end(metrics.registry().scrape()));
        router.get("/openapi.yaml").handler(ctx -> ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, "application/yaml")
                .sendFile("openapi.yaml"));
        console.route(router);

        // Before any guard, so a browser gets even a refusal of the callback as a page.
        router.get(Guards.CALLBACK_PATH).handler(CallbackPage::negotiate);
        // Who may call comes first: an unknown caller learns nothing, not even whether the node is ready.
        router.route("/v1/*").handler(guards::authorize);
        router.route("/v1/*").handler(guards::requireServing);
        // Method-less routes: a method-specific route on /v1/* would turn every unknown /v1 path into a 405.
        router.route("/v1/*").handler(Guards::requireJsonContent);
        router.route("/v1/*").handler(BodyHandler.create(false).setBodyLimit(limits.bodyLimitBytes()));

        router.post("/v1/wallets").handler(ctx -> pipeline.idempotent(ctx, "openWallet", this::openWallet));
        router.get("/v1/wallets/:walletId").handler(ctx -> pipeline.read(ctx, "getWallet", this::getWallet));
        router.get("/v1/wallets/:walletId/transactions").handler(ctx -> pipeline.read(ctx, "listTransactions", this::listTransactions));
        router.post("/v1/trips/:tripId/hold").handler(ctx -> pipeline.ledger(ctx, "holdTrip", "trip", this::holdTrip));
        router.post("/v1/trips/:tripId/settle").handler(ctx -> pipeline.ledger(ctx, "settleTrip", "trip", this::settleTrip));
        router.post("/v1/trips/:tripId/cancel").handler(ctx -> pipeline.ledger(ctx, "cancelTrip", "trip", this::cancelTrip));
        router.get("/v1/trips/:tripId").handler(ctx -> pipeline.read(ctx, "getTrip",
                r -> trips.view(r.path("tripId")).map(Reply::ok)));
        router.post("/v1/topups").handler(ctx -> pipeline.idempotent(ctx, "createTopup", this::createTopup));
        router.get("/v1/topups/:topupId").handler(ctx -> pipeline.read(ctx, "getTopup",
                r -> topups.view(r.path("topupId")).map(Reply::ok)));
        router.get(Guards.CALLBACK_PATH).handler(this::pspCallback);
        router.post("/v1/payouts").handler(ctx -> pipeline.idempotent(ctx, "createPayout", this::createPayout));
        router.get("/v1/payouts/:payoutId").handler(ctx -> pipeline.read(ctx, "getPayout",
                r -> payouts.view(r.path("payoutId")).map(Reply::ok)));
        router.post(PayoutService.CALLBACK_PATH).handler(ctx -> pipeline.read(ctx, "payoutCallback",
                r -> payouts.callback(r.body().getString("referenceId")).map(p -> Reply.ok(new JsonObject()
                        .put("payoutId", p.payoutId()).put("state", p.state().name())))));
        router.post("/v1/admin/adjustments").handler(ctx -> pipeline.ledger(ctx, "adjust", "adjustment", this::adjust));
        router.post("/v1/admin/trips/:tripId/refund").handler(ctx -> pipeline.ledger(ctx, "refundTrip",
                TripService.REFUND_FLOW, this::refundTrip));
        router.post("/v1/admin/topups/:topupId/refund").handler(ctx -> pipeline.idempotent(ctx, "refundTopup", this::refundTopup));
        router.post("/v1/admin/topups/:topupId/ask").handler(ctx -> pipeline.idempotent(ctx, "askBank", this::askBank));
        router.get("/v1/admin/refunds/:refundId").handler(ctx -> pipeline.read(ctx, "getRefund",
                r -> refunds.view(r.path("refundId")).map(Reply::ok)));
        router.get("/v1/admin/payments").handler(ctx -> pipeline.read(ctx, "listPayments", this::listPayments));
        router.get("/v1/admin/customers").handler(ctx -> pipeline.read(ctx, "findCustomers", this::findCustomers));
        router.get("/v1/admin/wallets/:walletId/story").handler(ctx -> pipeline.read(ctx, "walletStory", this::walletStory));

        router.route().failureHandler(ctx -> Responses.failure(ctx, limits.bodyLimitBytes()));
        router.errorHandler(404, ctx -> Responses.error(ctx, Failure.notFound("not_found",
                "no such resource: " + ctx.request().path())));
        router.errorHandler(405, ctx -> Responses.error(ctx, new Failure(405, "method_not_allowed",
                ctx.request().method() + " is not allowed on " + ctx.request().path())));
        return router;
    }

    private Supplier<Future<Reply>> openWallet(Request request) {
        JsonObject body = request.body();
        AccountKind kind = AccountKind.fromDb(body.getString("kind"));
        String iban = body.getString("iban");
        if (iban != null && (kind != AccountKind.DRIVER || !Iban.valid(iban))) {
            throw Failure.badRequest("invalid_iban", kind != AccountKind.DRIVER ? "only a driver's wallet has an IBAN"
                    : "iban must be IR and 24 digits with a valid ISO 13616 mod-97 checksum");
        }
        String walletId = "w_" + randomId();
        return () -> ledger.openWallet(walletId, kind, body.getString("ownerId"), body.getString("phone"),
                body.getString("name"), iban).map(account -> new Reply(201, account.toWalletJson()));
    }

    private Future<Reply> getWallet(Request request) {
        String walletId = request.path("walletId");
        boolean admin = Guards.caller(request.ctx()) == ApiKeys.Caller.ADMIN;
        return ledger.wallet(walletId).compose(wallet -> ledger.activeHolds(walletId, WALLET_HOLDS_SHOWN_MAX)
                .map(holds -> {
                    JsonArray active = new JsonArray();
                    holds.forEach(h -> active.add(new JsonObject().put("holdId", h.id()).put("amount", h.amountRials())
                            .put("expiresAt", h.expiresAt().toInstant().toString())));
                    JsonObject json = wallet.toWalletJson().put("holds", active);
                    return Reply.ok(admin ? wallet.withContact(json) : json);
                }));
    }

    private Future<Reply> listTransactions(Request request) {
        String walletId = request.path("walletId");
        int limit = request.params().limit(limits.pageSizeDefault(), limits.pageSizeMax());
        Long cursor = request.params().cursor();
        return ledger.wallet(walletId).compose(wallet -> ledger.entries(walletId, cursor, limit + 1))
                .map(entries -> {
                    List<Entry> page = entries.size() > limit ? entries.subList(0, limit) : entries;
                    JsonArray items = new JsonArray();
                    page.forEach(e -> items.add(e.toJson()));
                    String next = entries.size() > limit ? Long.toString(page.get(page.size() - 1).id()) : null;
                    return Reply.ok(new JsonObject().put("walletId", walletId).put("entries", items).put("nextCursor", next));
                });
    }

    private LedgerStep holdTrip(Request request) {
        String tripId = request.path("tripId");
        String passenger = request.body().getString("passengerWalletId");
        long amountRials = bodies.amount(request.body(), "amount", 1);
        return idem -> trips.hold(tripId, passenger, amountRials, 1, idem);
    }

    private LedgerStep settleTrip(Request request) {
        String tripId = request.path("tripId");
        JsonObject body = request.body();
        String passenger = body.getString("passengerWalletId");
        String driver = body.getString("driverWalletId");
        long fareRials = bodies.amount(body, "fare", 1);
        long commissionRials = bodies.amount(body, "commission", 0);
        return idem -> trips.settle(tripId, passenger, driver, fareRials, commissionRials, 1, idem);
    }

    private LedgerStep cancelTrip(Request request) {
        String tripId = request.path("tripId");
        return idem -> trips.cancel(tripId, 1, idem);
    }

    private Supplier<Future<Reply>> createTopup(Request request) {
        long amountRials = bodies.amount(request.body(), "amount", 1);
        // From the key: a retry after the first attempt died continues that top-up, never a second one.
        String topupId = idOfKey("tp_", request);
        return () -> pipeline.counted("topup", topups.create(topupId, request.body().getString("walletId"), amountRials))
                .map(topup -> new Reply(201, topups.withPaymentUrl(topup)));
    }

    /**
     * The cardholder's browser, back from the bank. Its query string is a hint only: the flow
     * finds the top-up by authority and verifies with the bank itself. The answer is a small
     * page, or JSON for {@code Accept: application/json}, a refusal too ({@link CallbackPage#negotiate}); a repeated
     * callback gets the same answer.
     */
    private void pspCallback(RoutingContext ctx) {
        // First, before anything costs a read: the internet reaches this route.
        String client = callbackLimiter.clientAddress(ctx.request().remoteAddress().hostAddress(),
                ctx.request().headers().getAll("X-Forwarded-For"));
        long retryAfterSeconds = callbackLimiter.admit(client);
        if (retryAfterSeconds > 0) {
            ctx.response().putHeader("Retry-After", Long.toString(retryAfterSeconds));
            Responses.error(ctx, new Failure(429, "rate_limited", "too many callbacks; retry after " + retryAfterSeconds + " s"));
            return;
        }
        Request request;
        try {
            request = pipeline.request(ctx, "zarinpalCallback");
        } catch (Failure failure) {
            Responses.error(ctx, failure);
            return;
        }
        metrics.inflight().incrementAndGet();
        topups.callback(request.params().text("Authority"), request.params().text("Status"))
                .onComplete(done -> metrics.inflight().decrementAndGet())
                .onSuccess(topup -> {
                    if (CallbackPage.answersHtml(ctx)) {
                        Responses.html(ctx, 200, CallbackPage.html(topup));
                    } else {
                        Responses.send(ctx, 200, CallbackPage.json(topup).encode(), false);
                    }
                })
                .onFailure(ctx::fail);
    }

    private Supplier<Future<Reply>> createPayout(Request request) {
        JsonObject body = request.body();
        long amountRials = bodies.amount(body, "amount", 1);
        String iban = body.getString("iban");
        if (!Iban.valid(iban)) {
            throw Failure.badRequest("invalid_iban", "iban must be IR and 24 digits with a valid ISO 13616 mod-97 checksum");
        }
        // From the key: a retry after the first attempt died continues that payout, never a second one.
        String payoutId = idOfKey("po_", request);
        return () -> payouts.create(payoutId, body.getString("driverWalletId"), amountRials, iban, null)
                .compose(payout -> payout.state() == Payout.State.FAILED
                        && PayoutService.INSUFFICIENT_FUNDS.equals(payout.failureReason())
                        ? Future.failedFuture(new DomainError(ErrorCode.INSUFFICIENT_FUNDS, "wallet " + payout.walletId()
                        + " has less than " + amountRials + " rials available; payout " + payoutId + " is FAILED"))
                        : Future.succeededFuture(new Reply(201, payout.toJson())));
    }

    private LedgerStep adjust(Request request) {
        long amountRials = request.body().getLong("amount");
        long maxRials = limits.amountRialsMax();
        if (amountRials == 0 || amountRials > maxRials || amountRials < -maxRials) {
            throw Failure.badRequest("invalid_amount", "amount must be a non-zero integer number of Rials within ±"
                    + maxRials + ", got " + amountRials);
        }
        String adjustmentId = idOfKey("adj_", request);
        JsonObject body = request.body();
        return idem -> adjustments.adjust(adjustmentId, body.getString("walletId"), amountRials,
                body.getString("reason"), body.getString("ticket"), 1, idem);
    }

    private LedgerStep refundTrip(Request request) {
        String tripId = request.path("tripId");
        JsonObject body = request.body();
        long amountRials = bodies.amount(body, "amount", 1);
        // From the key, like a top-up's: a retry or recovery of this refund finds it, never makes a second one.
        String refundId = idOfKey("trf_", request);
        return idem -> trips.refund(tripId, refundId, amountRials, body.getString("reason"), body.getString("ticket"), 1, idem);
    }

    /** The id of what a keyed request creates, derived from its Idempotency-Key. */
    private static String idOfKey(String prefix, Request request) {
        return prefix + DigestUtils.sha256Hex(request.key()).substring(0, 32);
    }

    private Supplier<Future<Reply>> refundTopup(Request request) {
        long amountRials = bodies.amount(request.body(), "amount", 1);
        JsonObject body = request.body();
        // From the key: a retry after the first attempt died continues that refund, never a second one.
        String refundId = idOfKey("rf_", request);
        return () -> pipeline.counted(RefundService.FLOW, refunds.create(refundId, request.path("topupId"), amountRials,
                        body.getString("reason"), body.getString("ticket")))
                .map(refund -> new Reply(201, refund.toJson()));
    }

    /**
     * Support's "ask the bank now" (the console's button, with a ticket): the top-up's own completer from its stored
     * state, whose step for a top-up waiting on the bank (REQUESTED) is the bank's inquiry; one the bank calls paid is
     * verified and credited under the flow's own transfer key, as its callback would have. Answers the top-up's view.
     */
    private Supplier<Future<Reply>> askBank(Request request) {
        String topupId = request.path("topupId");
        String ticket = request.body().getString("ticket");
        return () -> topups.advance(topupId, 1, Driver.CONSOLE)
                .onSuccess(topup -> LogContext.info(LOG, topupId, TopupService.FLOW, topup.state().name(),
                        "support asked the bank about top-up {} (ticket {}): {}", topupId, ticket, topup.state()))
                .compose(topup -> topups.view(topupId)).map(Reply::ok);
    }

    private Future<Reply> listPayments(Request request) {
        RequestParams.Params params = request.params();
        return adjustments.payments(PaymentStates.parse(params.text("state")), params.text("walletId"),
                        params.duration("olderThan"), PaymentsCursor.decode(params.text("cursor")),
                        params.limit(limits.pageSizeDefault(), limits.pageSizeMax()))
                .map(page -> Reply.ok(new JsonObject().put("payments", page.payments())
                        .put("nextCursor", page.next() == null ? null : PaymentsCursor.encode(page.next()))));
    }

    private Future<Reply> findCustomers(Request request) {
        String phone = request.params().text("phone");
        String ownerId = request.params().text("ownerId");
        if ((phone == null) == (ownerId == null)) {
            throw Failure.badRequest("invalid_query", "look a customer up by exactly one of phone or ownerId");
        }
        return stories.customers(phone, ownerId).map(Reply::ok);
    }

    private Future<Reply> walletStory(Request request) {
        RequestParams.Params params = request.params();
        int limit = params.limit(limits.pageSizeDefault(), limits.pageSizeMax());
        String cursor = params.text("cursor");
        StoryService.Cursor after;
        try {
            after = cursor == null ? null : StoryService.Cursor.decode(cursor);
        } catch (IllegalArgumentException e) {
            throw Failure.badRequest("invalid_cursor", "cursor must be a nextCursor value from an earlier page");
        }
        return stories.story(request.path("walletId"), params.instant("since"), after, limit).map(Reply::ok);
    }

    private String randomId() {
        byte[] bytes = new byte[12];
        random.nextBytes(bytes);
        return HexFormat.of().formatHex(bytes);
    }
}
