package taraz.psp;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * Zarinpal's REST API v4 ({@code /pg/v4/payment/*.json}): request, verify (100 verified, 101
 * already verified, -50 amount mismatch, -51 failed, -54 bad authority), inquiry, unVerified,
 * reverse; and its GraphQL API ({@code /api/v4/graphql}, a Bearer access token) for refunds: the
 * mutation {@code AddRefund} and the query of a session's refunds. Every call has a timeout; the
 * idempotent ones (verify, inquiry, unVerified, the refunds query) are retried a bounded number of
 * times with backoff; request, reverse and AddRefund are not, since a repeat could act twice at the bank.
 */
public final class ZarinpalPsp implements Psp {

    private static final Logger LOG = LoggerFactory.getLogger(ZarinpalPsp.class);
    private static final long BACKOFF_MILLIS_BASE = 200;

    private final Vertx vertx;
    private final WebClient client;
    private final String baseUrl;
    private final String merchantId;
    private final String accessToken;
    private final long timeoutMillis;
    private final int retriesMax;
    private final MeterRegistry registry;
    private static final String AMOUNT_MISMATCH = "taraz.psp.amount.mismatch";
    /** The outcome of a call the bank did not answer (after its retries): the PSP error alert's numerator. */
    private static final String UNAVAILABLE = "unavailable";
    private static final List<String> OPERATIONS = List.of("request", "verify", "inquiry", "unVerified", "reverse", "refund",
            "refundStatus");

    public ZarinpalPsp(Vertx vertx, String baseUrl, String merchantId, String accessToken, long timeoutMillis, int retriesMax,
                       MeterRegistry registry) {
        this.accessToken = accessToken;
        this.vertx = vertx;
        this.client = WebClient.create(vertx, new WebClientOptions().setConnectTimeout((int) timeoutMillis));
        this.baseUrl = baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl;
        this.merchantId = merchantId;
        this.timeoutMillis = timeoutMillis;
        this.retriesMax = retriesMax;
        this.registry = registry;
        // From the first scrape, at 0: a rate() of the bank's calls and of its failures, and the mismatch alert's
        // counter, start from nothing happened rather than from no series.
        registry.counter(AMOUNT_MISMATCH);
        for (String operation : OPERATIONS) {
            timer(operation, UNAVAILABLE);
        }
    }

    private Timer timer(String operation, String outcome) {
        return Timer.builder("taraz.psp.request").tag("op", operation).tag("outcome", outcome)
                .publishPercentiles(0.5, 0.99).register(registry);
    }

    @Override
    public String name() {
        return "zarinpal";
    }

    @Override
    public Future<String> request(long amountRials, String callbackUrl, String description) {
        JsonObject body = new JsonObject().put("merchant_id", merchantId).put("amount", amountRials)
                .put("currency", "IRR").put("callback_url", callbackUrl).put("description", description);
        return call("request", body, 0).map(data -> {
            if (data.code() != 100 || data.body().getString("authority") == null) {
                throw new PspRefusedException("request refused with code " + data.code());
            }
            return data.body().getString("authority");
        });
    }

    @Override
    public String paymentUrl(String authority) {
        return baseUrl + "/pg/StartPay/" + authority;
    }

    @Override
    public Future<Verification> verify(String authority, long amountRials) {
        JsonObject body = new JsonObject().put("merchant_id", merchantId).put("amount", amountRials).put("authority", authority);
        return call("verify", body, retriesMax).map(data -> switch (data.code()) {
            case 100, 101 -> new Verification(Verification.Outcome.VERIFIED, data.code(),
                    String.valueOf(data.body().getValue("ref_id")), data.body().getString("card_pan"));
            case -50 -> {
                registry.counter(AMOUNT_MISMATCH).increment();
                LOG.error("PSP amount mismatch on verify of authority {}: we expected {} rials", authority, amountRials);
                yield new Verification(Verification.Outcome.AMOUNT_MISMATCH, data.code(), null, null);
            }
            default -> new Verification(Verification.Outcome.FAILED, data.code(), null, null);
        });
    }

    @Override
    public Future<Inquiry> inquiry(String authority) {
        return call("inquiry", new JsonObject().put("merchant_id", merchantId).put("authority", authority), retriesMax)
                .map(data -> data.code() == 100 ? fromBank(data.body().getString("status")) : Inquiry.UNKNOWN);
    }

    /** The bank's status word: its names are ours; any other word (or none) is UNKNOWN. */
    private static Inquiry fromBank(String status) {
        return Arrays.stream(Inquiry.values()).filter(i -> i.name().equals(status)).findFirst().orElse(Inquiry.UNKNOWN);
    }

    @Override
    public Future<List<String>> unverified() {
        return call("unVerified", new JsonObject().put("merchant_id", merchantId), retriesMax).map(data -> {
            List<String> authorities = new ArrayList<>();
            JsonArray list = data.body().getJsonArray("authorities", new JsonArray());
            for (int i = 0; i < list.size(); i++) {
                authorities.add(list.getJsonObject(i).getString("authority"));
            }
            return authorities;
        });
    }

    @Override
    public Future<Boolean> reverse(String authority) {
        return call("reverse", new JsonObject().put("merchant_id", merchantId).put("authority", authority), 0)
                .map(data -> data.code() == 100);
    }

    /** Refunds always go back to the card at once ({@code CARD}), never in the next PAYA cycle. */
    static final String REFUND_MUTATION = "mutation AddRefund($session_id: ID!, $amount: BigInteger!, $description: String, "
            + "$method: InstantPayoutActionTypeEnum, $reason: RefundReasonEnum) { resource: AddRefund(session_id: $session_id, "
            + "amount: $amount, description: $description, method: $method, reason: $reason) { terminal_id id amount "
            + "timeline { refund_id refund_amount refund_time refund_status } } }";
    static final String REFUNDS_QUERY = "query SessionRefunds($session_id: ID!) { resource: Session(id: $session_id) { id "
            + "refunds { id amount description refund_status refund_time } } }";

    /** The session is the payment's authority: the one id of it both sides hold before the bank's ref_id. */
    @Override
    public Future<RefundAnswer> refund(String authority, long amountRials, String description) {
        JsonObject variables = new JsonObject().put("session_id", authority).put("amount", amountRials)
                .put("description", description).put("method", "CARD").put("reason", "CUSTOMER_REQUEST");
        return graphql("refund", REFUND_MUTATION, variables, 0).map(answer -> {
            if (answer.refusal() != null) {
                return new RefundAnswer(null, answer.refusal());
            }
            JsonObject resource = answer.data().getJsonObject("resource");
            JsonObject timeline = resource == null ? null : resource.getJsonObject("timeline");
            if (timeline == null || timeline.getValue("refund_id") == null) {
                throw new PspUnavailableException("AddRefund answered without a refund", null);
            }
            return new RefundAnswer(new BankRefund(String.valueOf(timeline.getValue("refund_id")),
                    timeline.getLong("refund_amount", amountRials), description, timeline.getString("refund_status")), null);
        });
    }

    @Override
    public Future<List<BankRefund>> refunds(String authority) {
        return graphql("refundStatus", REFUNDS_QUERY, new JsonObject().put("session_id", authority), retriesMax).map(answer -> {
            if (answer.refusal() != null) {
                // A session the bank does not show cannot tell whether a refund reached it: no answer, never "not there".
                throw new PspUnavailableException("the refunds of session " + authority + " were refused: " + answer.refusal(), null);
            }
            JsonObject resource = answer.data().getJsonObject("resource");
            JsonArray list = resource == null ? null : resource.getJsonArray("refunds");
            if (list == null) {
                throw new PspUnavailableException("the refunds query answered without a list", null);
            }
            List<BankRefund> refunds = new ArrayList<>();
            for (int i = 0; i < list.size(); i++) {
                JsonObject r = list.getJsonObject(i);
                refunds.add(new BankRefund(String.valueOf(r.getValue("id")), r.getLong("amount"), r.getString("description"),
                        r.getString("refund_status")));
            }
            return refunds;
        });
    }

    /** A GraphQL answer: its data, or the first error's code (a refusal), never both. */
    private record GraphqlAnswer(JsonObject data, String refusal) {}

    private Future<GraphqlAnswer> graphql(String operation, String query, JsonObject variables, int retriesLeft) {
        Timer.Sample sample = Timer.start(registry);
        return client.postAbs(baseUrl + "/api/v4/graphql")
                .timeout(timeoutMillis)
                .putHeader("Accept", "application/json")
                .putHeader("Authorization", "Bearer " + accessToken)
                .sendJsonObject(new JsonObject().put("query", query).put("variables", variables))
                .timeout(attemptMillisMax(timeoutMillis), TimeUnit.MILLISECONDS)
                .transform(result -> {
                    GraphqlAnswer answer = null;
                    Throwable failure = result.cause();
                    if (result.succeeded()) {
                        try {
                            answer = parseGraphql(result.result());
                        } catch (RuntimeException e) {
                            failure = e;
                        }
                    }
                    sample.stop(timer(operation, answer == null ? UNAVAILABLE : answer.refusal() == null ? "ok" : answer.refusal()));
                    if (answer != null) {
                        return Future.succeededFuture(answer);
                    }
                    if (retriesLeft > 0) {
                        long backoffMillis = BACKOFF_MILLIS_BASE << (retriesMax - retriesLeft);
                        return vertx.timer(backoffMillis, TimeUnit.MILLISECONDS)
                                .compose(t -> graphql(operation, query, variables, retriesLeft - 1));
                    }
                    return Future.failedFuture(new PspUnavailableException("PSP " + operation + " failed: " + failure, failure));
                });
    }

    /** GraphQL answers 200 with {data} or {errors:[{message, extensions:{code}}]}; anything else is no answer. */
    private static GraphqlAnswer parseGraphql(HttpResponse<Buffer> response) {
        if (response.statusCode() != 200) {
            throw new IllegalStateException("HTTP " + response.statusCode());
        }
        JsonObject json = response.bodyAsJsonObject();
        if (json.getValue("errors") instanceof JsonArray errors && !errors.isEmpty()
                && errors.getValue(0) instanceof JsonObject first
                && first.getValue("extensions") instanceof JsonObject extensions
                && extensions.getValue("code") instanceof String code) {
            return new GraphqlAnswer(null, code);
        }
        if (json.getValue("data") instanceof JsonObject data) {
            return new GraphqlAnswer(data, null);
        }
        throw new IllegalStateException("neither data nor an error code in the PSP's GraphQL answer");
    }

    /**
     * The longest a retried call (verify, inquiry, unVerified) can take: every attempt runs to its bound, with the
     * backoffs between them. A step that waits on such a call must be bounded by more than this; settings check it.
     */
    public static long retriedCallMillisMax(long timeoutMillis, int retriesMax) {
        long backoffMillis = 0;
        for (int retry = 0; retry < retriesMax; retry++) {
            backoffMillis += BACKOFF_MILLIS_BASE << retry;
        }
        return (retriesMax + 1) * attemptMillisMax(timeoutMillis) + backoffMillis;
    }

    /** One attempt: the connection (at most timeoutMillis), then the answer (at most timeoutMillis). */
    static long attemptMillisMax(long timeoutMillis) {
        return 2 * timeoutMillis;
    }

    /** A protocol answer: its code and its data object. */
    private record Answer(int code, JsonObject body) {}

    private Future<Answer> call(String operation, JsonObject body, int retriesLeft) {
        Timer.Sample sample = Timer.start(registry);
        return client.postAbs(baseUrl + "/pg/v4/payment/" + operation + ".json")
                .timeout(timeoutMillis)
                .putHeader("Accept", "application/json")
                .sendJsonObject(body)
                // The connect timeout and the request's own (an idle bound: no data for that long) allow an attempt
                // up to twice timeoutMillis; this bounds the whole attempt at that, so a PSP that trickles its answer
                // cannot stretch a call past retriedCallMillisMax.
                .timeout(attemptMillisMax(timeoutMillis), TimeUnit.MILLISECONDS)
                .transform(result -> {
                    Answer answer = null;
                    Throwable failure = result.cause();
                    if (result.succeeded()) {
                        try {
                            answer = parse(result.result());
                        } catch (RuntimeException e) {
                            failure = e;
                        }
                    }
                    sample.stop(timer(operation, answer != null ? Integer.toString(answer.code()) : UNAVAILABLE));
                    if (answer != null) {
                        return Future.succeededFuture(answer);
                    }
                    if (retriesLeft > 0) {
                        long backoffMillis = BACKOFF_MILLIS_BASE << (retriesMax - retriesLeft);
                        return vertx.timer(backoffMillis, TimeUnit.MILLISECONDS).compose(t -> call(operation, body, retriesLeft - 1));
                    }
                    return Future.failedFuture(new PspUnavailableException("PSP " + operation + " failed: " + failure, failure));
                });
    }

    /** Zarinpal answers {data:{code,...}, errors:[]} on success and {data:[], errors:{code,...}} on a refusal. */
    private static Answer parse(HttpResponse<Buffer> response) {
        if (response.statusCode() != 200) {
            throw new IllegalStateException("HTTP " + response.statusCode());
        }
        JsonObject json = response.bodyAsJsonObject();
        Function<Object, JsonObject> object = value -> value instanceof JsonObject o ? o : null;
        JsonObject data = object.apply(json.getValue("data"));
        if (data != null && data.getValue("code") instanceof Number code) {
            return new Answer(code.intValue(), data);
        }
        JsonObject errors = object.apply(json.getValue("errors"));
        if (errors != null && errors.getValue("code") instanceof Number code) {
            return new Answer(code.intValue(), errors);
        }
        throw new IllegalStateException("no code in the PSP's answer");
    }

    /** The PSP answered a request with a refusal code (not retryable as is). */
    public static final class PspRefusedException extends RuntimeException {
        public PspRefusedException(String message) {
            super(message, null, false, false);
        }
    }
}
