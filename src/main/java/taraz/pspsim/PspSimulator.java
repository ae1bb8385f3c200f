package taraz.pspsim;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.handler.BodyHandler;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;
import org.apache.commons.codec.digest.DigestUtils;
import taraz.psp.SettlementCsv;
import taraz.pspsim.SimPayment.Status;

/**
 * A Zarinpal REST v4 simulator over HTTP, plus {@code /sim/*} endpoints to pay, inspect, settle and inject faults;
 * the payout provider on the same port is {@link PayoutSim}.
 * All state lives on the server's single event-loop context, so handlers need no locks; every change is appended
 * to {@link SimStore} before it is answered, so a restart on the same directory keeps everything.
 */
public final class PspSimulator {
    static final String HOST = "127.0.0.1";
    static final int BODY_LIMIT_BYTES = 64 * 1024;
    static final long AMOUNT_MIN_RIALS = 1_000;
    /** Far above any real top-up; it only stops absurd values from reaching the arithmetic. */
    static final long AMOUNT_MAX_RIALS = 1_000_000_000_000L;
    static final int MERCHANT_ID_LENGTH = 36;
    static final int CALLBACK_URL_LENGTH_MAX = 2048;
    static final int AUTHORITY_RANDOM_LENGTH = 35;
    static final int PAYMENTS_MAX = 1_000_000;
    static final int UNVERIFIED_MAX = 100;
    static final long CALLBACK_TIMEOUT_MILLIS = 10_000;
    /** A "timed out" request is held this long and then its connection closed, as a dead bank would. */
    static final long HOLD_MILLIS = 60_000;
    static final long REF_ID_BASE = 100_000_000L;
    static final String TERMINAL = "T-SIM-0001";
    /** Zarinpal's floor for a refund through its refund API. */
    static final long REFUND_MIN_RIALS = 20_000;
    static final int REFUND_DESCRIPTION_LENGTH_MAX = 500;
    static final java.util.Set<String> REFUND_REASONS = java.util.Set.of("CUSTOMER_REQUEST", "DUPLICATE_TRANSACTION",
            "SUSPICIOUS_TRANSACTION", "OTHER");
    static final String CARD_BIN_MASKED = "502229******";
    static final int CARD_LAST_DIGITS_BOUND = 10_000;
    private static final String ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    private static final String JSON = "application/json";

    private final Vertx vertx;
    private final SimStore store;
    private final WebClient client;
    private final PayoutSim payouts;
    private final Map<String, SimPayment> payments = new HashMap<>();
    // Faults are rolled with a plain Random: nextDouble() is in [0, 1), so rates 0 and 1 are exact.
    private final Random random = new Random();
    private final SecureRandom authorityRandom = new SecureRandom();
    private SimFaults faults = SimFaults.DEFAULTS;
    private long requestCalls;
    private long verifyCalls;
    /** verify, inquiry and reverse calls naming an authority this bank never issued: a merchant guessing or forwarding junk. */
    private long unknownAuthorityCalls;
    private long refundCalls;
    private long lastRefId = REF_ID_BASE;
    private HttpServer server;

    private PspSimulator(Vertx vertx, SimStore store) {
        this.vertx = vertx;
        this.store = store;
        this.client = WebClient.create(vertx);
        this.payouts = new PayoutSim(vertx, client, () -> faults,
                transfer -> store.append(vertx.getOrCreateContext(), line("payout").put("payout", transfer)));
    }

    /** Replays {@code dataDir/psp-sim.jsonl} and listens on 127.0.0.1:port (0 picks a free port). */
    public static Future<PspSimulator> start(Vertx vertx, int port, Path dataDir) {
        return vertx.executeBlocking(() -> new PspSimulator(vertx, SimStore.open(dataDir))).compose(sim ->
                vertx.executeBlocking(() -> {
                    sim.store.replay(sim::replay);
                    return sim;
                }).compose(replayed -> replayed.listen(port))
                        .recover(e -> sim.close().transform(ignored -> Future.failedFuture(e))));
    }

    public int port() {
        return server.actualPort();
    }

    public Future<Void> close() {
        Future<Void> closed = server == null ? Future.succeededFuture() : server.close();
        return closed.eventually(() -> {
            client.close();
            return vertx.executeBlocking(() -> {
                store.close();
                return null;
            });
        });
    }

    /** One line of the store, oldest first: the last line per payment, and the last counters, win. */
    private void replay(JsonObject line) {
        switch (line.getString("type", "")) {
            case "payment" -> {
                SimPayment p = SimPayment.fromJson(line.getJsonObject("payment"));
                payments.put(p.authority, p);
                if (p.refId != null) {
                    lastRefId = Math.max(lastRefId, p.refId);
                }
            }
            case "faults" -> faults = SimFaults.fromJson(line.getJsonObject("faults"));
            case "payout" -> payouts.replay(line.getJsonObject("payout"));
            case "counters" -> { }
            default -> throw new IllegalStateException("unknown psp-sim line: " + line.encode());
        }
        JsonObject counters = line.getJsonObject("counters");
        requestCalls = counters.getLong("requestCalls");
        verifyCalls = counters.getLong("verifyCalls");
        unknownAuthorityCalls = counters.getLong("unknownAuthorityCalls", 0L);
        refundCalls = counters.getLong("refundCalls", 0L);
        lastRefId = Math.max(lastRefId, counters.getLong("lastRefId"));
    }

    private Future<PspSimulator> listen(int port) {
        Router router = Router.router(vertx);
        router.route().handler(BodyHandler.create().setBodyLimit(BODY_LIMIT_BYTES));
        zarinpal(router, "request", this::request);
        zarinpal(router, "verify", this::verify);
        zarinpal(router, "inquiry", this::inquiry);
        zarinpal(router, "unVerified", this::unVerified);
        zarinpal(router, "reverse", this::reverse);
        router.post("/api/v4/graphql").handler(this::graphql);
        router.get("/pg/StartPay/:authority").handler(this::startPay);
        router.post("/sim/pay/:authority").handler(this::pay);
        router.get("/sim/payments/:authority").handler(ctx -> load(ctx.pathParam("authority")).onSuccess(p -> {
            if (p == null) {
                sendJson(ctx, 404, new JsonObject().put("error", "unknown authority"));
            } else {
                sendJson(ctx, 200, p.toJson());
            }
        }).onFailure(ctx::fail));
        router.get("/sim/stats").handler(ctx -> sendJson(ctx, 200, new JsonObject()
                .put("requestCalls", requestCalls).put("verifyCalls", verifyCalls)
                .put("unknownAuthorityCalls", unknownAuthorityCalls).put("payments", payments.size())
                .put("payoutSends", payouts.sends()).put("payoutTransfers", payouts.transfers())
                .put("refundCalls", refundCalls)
                .put("refunds", payments.values().stream().mapToLong(p -> p.refunds.size()).sum())));
        router.get("/sim/settlement").handler(this::settlement);
        router.get("/sim/faults").handler(ctx -> sendJson(ctx, 200, faults.toJson()));
        router.post("/sim/faults").handler(this::setFaults);
        payouts.start(router);
        router.route().failureHandler(ctx -> {
            int status = ctx.statusCode() > 0 ? ctx.statusCode() : 500;
            String message = ctx.failure() != null ? String.valueOf(ctx.failure().getMessage()) : "error";
            sendJson(ctx, status, new JsonObject().put("error", message));
        });
        server = vertx.createHttpServer().requestHandler(router);
        return server.listen(port, HOST).map(s -> this);
    }

    // ---- Zarinpal v4 ----

    /** Wraps one Zarinpal endpoint in its fault injection and the merchant_id check every call needs. */
    private void zarinpal(Router router, String endpoint, Function<JsonObject, Future<JsonObject>> handler) {
        router.post("/pg/v4/payment/" + endpoint + ".json").handler(ctx -> withFaults(ctx, endpoint, () -> {
            JsonObject body = jsonBody(ctx);
            boolean merchantOk = body != null && body.getValue("merchant_id") instanceof String m
                    && m.length() == MERCHANT_ID_LENGTH;
            return merchantOk ? handler.apply(body) : Future.succeededFuture(invalid());
        }));
    }

    /**
     * Answers one call of {@code endpoint} through its faults: held until the connection is closed (a timeout), a 503,
     * or the handler's answer, which is lost on the way back (the connection closed) at the lost-answer rate after
     * the handler has done its work.
     */
    private void withFaults(RoutingContext ctx, String endpoint, java.util.function.Supplier<Future<JsonObject>> handler) {
        SimFaults.Effective f = faults.forEndpoint(endpoint);
        boolean hold = roll(f.timeoutRate());
        boolean fail = !hold && roll(f.errorRate());
        boolean lose = !hold && !fail && roll(f.lostAnswerRate());
        Runnable answer = () -> {
            if (hold) {
                vertx.setTimer(HOLD_MILLIS, t -> ctx.request().connection().close());
            } else if (fail) {
                ctx.response().setStatusCode(503).putHeader("content-type", "text/html")
                        .end("<html><body><h1>503 Service Unavailable</h1></body></html>");
            } else {
                handler.get().onSuccess(json -> {
                    if (lose) {
                        // Done and saved at the bank; the merchant never hears of it.
                        ctx.request().connection().close();
                    } else {
                        sendJson(ctx, 200, json);
                    }
                }).onFailure(ctx::fail);
            }
        };
        if (f.latencyMillis() > 0) {
            vertx.setTimer(f.latencyMillis(), t -> answer.run());
        } else {
            answer.run();
        }
    }

    private Future<JsonObject> request(JsonObject body) {
        requestCalls++;
        Long amount = integer(body, "amount");
        String callbackUrl = body.getValue("callback_url") instanceof String s ? s : null;
        boolean valid = amount != null && amount >= AMOUNT_MIN_RIALS && amount <= AMOUNT_MAX_RIALS
                && callbackUrl != null && callbackUrl.length() <= CALLBACK_URL_LENGTH_MAX
                && (callbackUrl.startsWith("http://") || callbackUrl.startsWith("https://"))
                && (!body.containsKey("currency") || "IRR".equals(body.getValue("currency")));
        if (!valid) {
            return saveCounters().map(invalid());
        }
        if (payments.size() >= PAYMENTS_MAX) {
            return saveCounters().map(error(-12, "too many payments in the simulator"));
        }
        SimPayment p = new SimPayment(newAuthority(), amount, callbackUrl, Instant.now());
        payments.put(p.authority, p);
        return save(p).map(ok(new JsonObject().put("code", 100).put("message", "Success")
                .put("authority", p.authority).put("fee_type", "Merchant").put("fee", 0)));
    }

    private Future<JsonObject> verify(JsonObject body) {
        verifyCalls++;
        Long amount = integer(body, "amount");
        if (amount == null || !(body.getValue("authority") instanceof String authority)) {
            return saveCounters().map(invalid());
        }
        return load(authority).compose(p -> {
            if (p == null) {
                return unknownAuthority();
            }
            p.verifyCalls++;
            JsonObject answer;
            if (amount != p.amountRials) {
                answer = error(-50, "amount mismatch");
            } else if (p.status == Status.PAID) {
                p.status = Status.VERIFIED;
                p.verifiedAt = Instant.now();
                p.refId = ++lastRefId;
                p.verifySuccesses++;
                answer = verified(p, 100);
            } else if (p.status == Status.VERIFIED) {
                p.verifyAlready++;
                answer = verified(p, 101);
            } else {
                answer = error(-51, "payment failed");
            }
            return save(p).map(answer);
        });
    }

    private Future<JsonObject> inquiry(JsonObject body) {
        return load(body.getValue("authority") instanceof String a ? a : null).compose(p -> {
            if (p == null) {
                return unknownAuthority();
            }
            p.inquiryCalls++;
            return save(p).map(ok(new JsonObject().put("code", 100).put("message", "Success").put("status", p.status.name())));
        });
    }

    private Future<JsonObject> unknownAuthority() {
        unknownAuthorityCalls++;
        return saveCounters().map(error(-54, "invalid authority"));
    }

    private Future<JsonObject> unVerified(JsonObject body) {
        return applyAutoReverse().map(v -> {
            JsonArray list = new JsonArray();
            payments.values().stream().filter(p -> p.status == Status.PAID)
                    .sorted(Comparator.comparing((SimPayment p) -> p.paidAt).reversed())
                    .limit(UNVERIFIED_MAX)
                    .forEach(p -> list.add(new JsonObject().put("authority", p.authority).put("amount", p.amountRials)
                            .put("callback_url", p.callbackUrl).put("referer", "").put("date", p.paidAt.toString())));
            return ok(new JsonObject().put("code", 100).put("message", "Success").put("authorities", list));
        });
    }

    private Future<JsonObject> reverse(JsonObject body) {
        return load(body.getValue("authority") instanceof String a ? a : null).compose(p -> {
            if (p == null) {
                return unknownAuthority();
            }
            Instant now = Instant.now();
            Long window = faults.pspWindowSeconds();
            boolean allowed = (p.status == Status.PAID || p.status == Status.VERIFIED)
                    && (window == null || now.isBefore(p.paidAt.plusSeconds(window)));
            if (!allowed || !p.refunds.isEmpty()) {
                return Future.succeededFuture(error(-63, "reverse not allowed"));
            }
            p.status = Status.REVERSED;
            p.reversedAt = now;
            return save(p).map(ok(new JsonObject().put("code", 100).put("message", "Reversed")));
        });
    }

    // ---- Zarinpal's GraphQL API: refunds ----

    /**
     * {@code POST /api/v4/graphql} with a Bearer access token and {@code {query, variables}}: the operation is told by
     * its name in the query ({@code AddRefund}, {@code SessionRefunds}); the variables carry its arguments. Errors are
     * GraphQL's: 200 with {@code errors[0].extensions.code}. Each operation suffers the faults of its endpoint name
     * ({@code refund}, {@code refundStatus}).
     */
    private void graphql(RoutingContext ctx) {
        JsonObject body = jsonBody(ctx);
        String query = body != null && body.getValue("query") instanceof String q ? q : "";
        JsonObject variables = body != null && body.getValue("variables") instanceof JsonObject v ? v : new JsonObject();
        String endpoint = query.contains("AddRefund") ? "refund" : query.contains("SessionRefunds") ? "refundStatus" : null;
        if (endpoint == null) {
            sendJson(ctx, 200, graphqlError("GRAPHQL_VALIDATION_FAILED", "unknown operation"));
            return;
        }
        String authorization = ctx.request().getHeader("Authorization");
        if (authorization == null || !authorization.startsWith("Bearer ") || authorization.substring(7).isBlank()) {
            sendJson(ctx, 200, graphqlError("UNAUTHENTICATED", "an access token is required"));
            return;
        }
        withFaults(ctx, endpoint, () -> endpoint.equals("refund") ? addRefund(variables) : sessionRefunds(variables));
    }

    private Future<JsonObject> addRefund(JsonObject variables) {
        refundCalls++;
        Long amount = integer(variables, "amount");
        String description = variables.getValue("description") instanceof String d ? d : "";
        Object method = variables.getValue("method");
        Object reason = variables.getValue("reason");
        if (amount == null || description.length() > REFUND_DESCRIPTION_LENGTH_MAX
                || !("CARD".equals(method) || "PAYA".equals(method)) || !REFUND_REASONS.contains(reason)) {
            return saveCounters().map(graphqlError("VALIDATION_ERROR", "amount, description, method or reason is invalid"));
        }
        return load(variables.getValue("session_id") instanceof String s ? s : null).compose(p -> {
            if (p == null) {
                return saveCounters().map(graphqlError("SESSION_NOT_FOUND", "no such session"));
            }
            String refusal = amount < REFUND_MIN_RIALS ? "AMOUNT_TOO_LOW"
                    : p.status != Status.VERIFIED ? "REFUND_NOT_ALLOWED"
                    : p.refundedRials() + amount > p.amountRials ? "AMOUNT_EXCEEDS_PAYMENT" : null;
            if (refusal != null) {
                return saveCounters().map(graphqlError(refusal, "refund refused"));
            }
            // CARD goes back at once; PAYA waits for the next PAYA cycle, which the simulator does not run.
            SimPayment.Refund refund = new SimPayment.Refund(p.authority + "-" + (p.refunds.size() + 1), amount, description,
                    "CARD".equals(method) ? "COMPLETED" : "PENDING", Instant.now());
            p.refunds.add(refund);
            return save(p).map(ok(new JsonObject().put("resource", new JsonObject().put("terminal_id", TERMINAL)
                    .put("id", p.authority).put("amount", p.amountRials).put("timeline", new JsonObject()
                            .put("refund_id", refund.id()).put("refund_amount", refund.amountRials())
                            .put("refund_time", refund.at().toString()).put("refund_status", refund.status())))));
        });
    }

    private Future<JsonObject> sessionRefunds(JsonObject variables) {
        SimPayment p = variables.getValue("session_id") instanceof String s ? payments.get(s) : null;
        if (p == null) {
            return Future.succeededFuture(graphqlError("SESSION_NOT_FOUND", "no such session"));
        }
        return Future.succeededFuture(ok(new JsonObject().put("resource", new JsonObject().put("id", p.authority)
                .put("refunds", new JsonArray(p.refunds.stream().map(SimPayment.Refund::toJson).toList())))));
    }

    private static JsonObject graphqlError(String code, String message) {
        return new JsonObject().put("data", null).put("errors", new JsonArray().add(new JsonObject().put("message", message)
                .put("extensions", new JsonObject().put("code", code))));
    }

    private void startPay(RoutingContext ctx) {
        SimPayment p = payments.get(ctx.pathParam("authority"));
        if (p == null) {
            ctx.response().setStatusCode(404).end("unknown authority");
            return;
        }
        // The authority is [0-9A-Za-z] by construction, so it is safe to echo into HTML.
        ctx.response().putHeader("content-type", "text/html; charset=utf-8").end("<html><body><p>simulated bank page for "
                + p.authority + ", amount " + p.amountRials + " Rials</p><p>POST /sim/pay/" + p.authority
                + "?status=OK or NOK to pay or cancel.</p></body></html>");
    }

    // ---- simulator-only ----

    private void pay(RoutingContext ctx) {
        String status = ctx.queryParams().get("status");
        if (!"OK".equals(status) && !"NOK".equals(status)) {
            sendJson(ctx, 400, new JsonObject().put("error", "status must be OK or NOK"));
            return;
        }
        String card = ctx.queryParams().get("card");
        if (card != null && !card.matches("[0-9]{4}")) {
            sendJson(ctx, 400, new JsonObject().put("error", "card must be the card's last 4 digits"));
            return;
        }
        SimPayment p = payments.get(ctx.pathParam("authority"));
        if (p == null) {
            sendJson(ctx, 404, new JsonObject().put("error", "unknown authority"));
            return;
        }
        if (p.status != Status.IN_BANK) {
            sendJson(ctx, 409, new JsonObject().put("error", "payment is " + p.status));
            return;
        }
        if (status.equals("OK")) {
            p.status = Status.PAID;
            p.paidAt = Instant.now();
            p.cardPan = CARD_BIN_MASKED + (card != null ? card : String.format("%04d", random.nextInt(CARD_LAST_DIGITS_BOUND)));
        } else {
            p.status = Status.FAILED;
        }
        JsonObject answer = new JsonObject().put("authority", p.authority).put("status", p.status.name());
        save(p).onFailure(ctx::fail).onSuccess(v -> {
            SimFaults f = faults;
            if (roll(f.lostCallbackRate())) {
                sendJson(ctx, 200, answer.put("callbacks", new JsonArray()));
            } else if (f.callbackDelayMillis() > 0) {
                vertx.setTimer(f.callbackDelayMillis(), t -> callbacks(p, status, f.duplicateCallbacks()));
                sendJson(ctx, 200, answer.put("callbacks", "scheduled"));
            } else {
                callbacks(p, status, f.duplicateCallbacks())
                        .onSuccess(list -> sendJson(ctx, 200, answer.put("callbacks", list)));
            }
        });
    }

    /** Sends the merchant's callback {@code copies} times at once, as a bank retrying or a user double-loading would. */
    private Future<JsonArray> callbacks(SimPayment p, String status, int copies) {
        String url = p.callbackUrl + (p.callbackUrl.contains("?") ? "&" : "?")
                + "Authority=" + p.authority + "&Status=" + status;
        List<Future<Integer>> sent = new ArrayList<>();
        for (int i = 0; i < copies; i++) {
            Future<Integer> one;
            try {
                one = client.getAbs(url).timeout(CALLBACK_TIMEOUT_MILLIS).send().map(r -> r.statusCode());
            } catch (RuntimeException e) {
                one = Future.failedFuture(e);
            }
            sent.add(one.otherwise(-1));
        }
        return Future.all(sent).map(all -> {
            JsonArray list = new JsonArray();
            sent.forEach(s -> list.add(new JsonObject().put("status", s.result())));
            return list;
        });
    }

    private void settlement(RoutingContext ctx) {
        LocalDate date;
        try {
            date = LocalDate.parse(String.valueOf(ctx.queryParams().get("date")));
        } catch (DateTimeParseException e) {
            sendJson(ctx, 400, new JsonObject().put("error", "date must be YYYY-MM-DD"));
            return;
        }
        applyAutoReverse().onFailure(ctx::fail).onSuccess(v -> {
            List<String[]> rows = payments.values().stream()
                    .filter(p -> settledOn(p, date) != null)
                    .sorted(Comparator.comparing((SimPayment p) -> settledOn(p, date)))
                    .map(p -> new String[] {date.toString(), TERMINAL, p.authority, p.refId == null ? "" : p.refId.toString(),
                            p.cardPan, Long.toString(p.amountRials), p.status == Status.VERIFIED ? "SETTLED" : "REVERSED",
                            p.paidAt == null ? "" : p.paidAt.toString()})
                    .toList();
            ctx.response().putHeader("content-type", "text/csv; charset=utf-8").end(SettlementCsv.write(rows));
        });
    }

    /** The moment a payment enters the settlement of {@code date}, or null if it is not in it. */
    private static Instant settledOn(SimPayment p, LocalDate date) {
        Instant at = p.status == Status.VERIFIED ? p.verifiedAt
                : p.status == Status.REVERSED && p.paidAt != null ? p.reversedAt : null;
        return at != null && at.atZone(ZoneOffset.UTC).toLocalDate().equals(date) ? at : null;
    }

    private void setFaults(RoutingContext ctx) {
        JsonObject body = jsonBody(ctx);
        SimFaults parsed;
        try {
            if (body == null) {
                throw new IllegalArgumentException("body must be a JSON object");
            }
            parsed = SimFaults.fromJson(body);
        } catch (IllegalArgumentException e) {
            sendJson(ctx, 400, new JsonObject().put("error", e.getMessage()));
            return;
        }
        faults = parsed;
        store.append(vertx.getOrCreateContext(), line("faults").put("faults", parsed.toJson()))
                .onSuccess(v -> sendJson(ctx, 200, parsed.toJson())).onFailure(ctx::fail);
    }

    // ---- state ----

    /** The payment, with the bank's auto-reverse applied (and persisted) first; null if unknown. */
    private Future<SimPayment> load(String authority) {
        SimPayment p = authority == null ? null : payments.get(authority);
        if (p == null || !p.autoReverse(faults.pspWindowSeconds(), Instant.now())) {
            return Future.succeededFuture(p);
        }
        return save(p).map(p);
    }

    private Future<Void> applyAutoReverse() {
        Instant now = Instant.now();
        List<Future<Void>> saves = new ArrayList<>();
        for (SimPayment p : payments.values()) {
            if (p.autoReverse(faults.pspWindowSeconds(), now)) {
                saves.add(save(p));
            }
        }
        return Future.all(saves).mapEmpty();
    }

    private Future<Void> save(SimPayment p) {
        p.checkInvariants();
        return store.append(vertx.getOrCreateContext(), line("payment").put("payment", p.toJson()));
    }

    private Future<Void> saveCounters() {
        return store.append(vertx.getOrCreateContext(), line("counters"));
    }

    /** Every line carries the global counters, so the last line of the file restores them. */
    private JsonObject line(String type) {
        return new JsonObject().put("type", type).put("counters", new JsonObject()
                .put("requestCalls", requestCalls).put("verifyCalls", verifyCalls)
                .put("unknownAuthorityCalls", unknownAuthorityCalls).put("refundCalls", refundCalls).put("lastRefId", lastRefId));
    }

    private String newAuthority() {
        while (true) {
            StringBuilder a = new StringBuilder("A");
            for (int i = 0; i < AUTHORITY_RANDOM_LENGTH; i++) {
                a.append(ALPHABET.charAt(authorityRandom.nextInt(ALPHABET.length())));
            }
            if (!payments.containsKey(a.toString())) {
                return a.toString();
            }
        }
    }

    private boolean roll(double rate) {
        return random.nextDouble() < rate;
    }

    // ---- wire helpers ----

    private static JsonObject verified(SimPayment p, int code) {
        return ok(new JsonObject().put("code", code).put("message", "Verified")
                .put("card_hash", DigestUtils.sha256Hex(p.cardPan).toUpperCase(Locale.ROOT))
                .put("card_pan", p.cardPan).put("ref_id", p.refId).put("fee_type", "Merchant").put("fee", 0));
    }

    private static JsonObject ok(JsonObject data) {
        return new JsonObject().put("data", data).put("errors", new JsonArray());
    }

    private static JsonObject error(int code, String message) {
        return new JsonObject().put("data", new JsonArray()).put("errors", new JsonObject()
                .put("code", code).put("message", message).put("validations", new JsonArray()));
    }

    private static JsonObject invalid() {
        return error(-9, "validation error");
    }

    static Long integer(JsonObject body, String name) {
        Object value = body.getValue(name);
        return value instanceof Integer || value instanceof Long ? ((Number) value).longValue() : null;
    }

    static JsonObject jsonBody(RoutingContext ctx) {
        try {
            return ctx.body() == null || ctx.body().isEmpty() ? null : ctx.body().asJsonObject();
        } catch (RuntimeException e) {
            return null;
        }
    }

    static void sendJson(RoutingContext ctx, int status, JsonObject json) {
        ctx.response().setStatusCode(status).putHeader("content-type", JSON).end(json.encode());
    }
}
