package taraz.psp;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.netty.channel.ConnectTimeoutException;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * The payout provider's HTTP protocol ({@code /payout/v1/*}, as psp-sim serves it): a transfer by our reference id,
 * and its status by the same id. Every call has a timeout. A send is never repeated here, so one call is at most one
 * request at the provider; what became of a send that got no answer is for the caller to learn by {@link #status},
 * which is read-only and so retried a bounded number of times with backoff.
 */
public final class HttpPayoutProvider implements PayoutProvider {

    private static final long BACKOFF_MILLIS_BASE = 200;
    private static final String TIMER = "taraz.payout.request";
    private static final String SEND = "send";
    private static final String STATUS = "status";
    private static final String ERROR = "error";

    private final Vertx vertx;
    private final WebClient client;
    private final String baseUrl;
    private final long timeoutMillis;
    private final int retriesMax;
    private final MeterRegistry registry;

    public HttpPayoutProvider(Vertx vertx, String baseUrl, long timeoutMillis, int retriesMax, MeterRegistry registry) {
        this.vertx = vertx;
        this.client = WebClient.create(vertx, new WebClientOptions().setConnectTimeout((int) timeoutMillis));
        this.baseUrl = baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl;
        this.timeoutMillis = timeoutMillis;
        this.retriesMax = retriesMax;
        this.registry = registry;
        // From the first scrape, at 0, so the provider's error rate starts from nothing happened rather than no series.
        for (String operation : List.of(SEND, STATUS)) {
            timer(operation, ERROR);
        }
    }

    private Timer timer(String operation, String outcome) {
        return Timer.builder(TIMER).tag("op", operation).tag("outcome", outcome).publishPercentiles(0.5, 0.99).register(registry);
    }

    @Override
    public String name() {
        return "payout-v1";
    }

    @Override
    public Future<Transfer> send(String referenceId, String iban, long amountRials, String callbackUrl) {
        JsonObject body = new JsonObject().put("referenceId", referenceId).put("iban", iban).put("amount", amountRials)
                .put("description", "payout " + referenceId).put("callbackUrl", callbackUrl);
        return call(SEND, referenceId, () -> client.postAbs(baseUrl + "/payout/v1/transfers").timeout(timeoutMillis)
                .putHeader("Accept", "application/json").sendJsonObject(body), 0);
    }

    @Override
    public Future<Transfer> status(String referenceId) {
        String url = baseUrl + "/payout/v1/transfers/"
                + URLEncoder.encode(referenceId, StandardCharsets.UTF_8).replace("+", "%20");
        return call(STATUS, referenceId, () -> client.getAbs(url).timeout(timeoutMillis)
                .putHeader("Accept", "application/json").send(), retriesMax);
    }

    /** The provider refused the request as asked (400 a bad request, 409 our reference already names another transfer). */
    public static final class PayoutRefusedException extends RuntimeException {
        private final String error;

        PayoutRefusedException(int status, String error) {
            super("payout provider refused the request: HTTP " + status + " " + error, null, false, false);
            this.error = error;
        }

        /** The provider's error word, {@code reference_conflict} for a 409. */
        public String error() {
            return error;
        }
    }

    private Future<Transfer> call(String operation, String referenceId, Supplier<Future<HttpResponse<Buffer>>> request,
                                  int retriesLeft) {
        Timer.Sample sample = Timer.start(registry);
        // The connect timeout and the request's own (an idle bound) allow an attempt up to twice timeoutMillis; this
        // bounds the whole attempt at that, as ZarinpalPsp does, so a provider trickling its answer cannot stretch it.
        return request.get().timeout(ZarinpalPsp.attemptMillisMax(timeoutMillis), TimeUnit.MILLISECONDS).transform(result -> {
            Transfer transfer = null;
            Throwable failure = result.cause();
            if (result.succeeded()) {
                try {
                    transfer = parse(referenceId, result.result());
                } catch (RuntimeException e) {
                    failure = e;
                }
            }
            boolean timedOut = failure instanceof TimeoutException || failure instanceof ConnectTimeoutException;
            sample.stop(timer(operation, transfer != null ? "ok" : timedOut ? "timeout" : ERROR));
            if (transfer != null) {
                return Future.succeededFuture(transfer);
            }
            if (failure instanceof PayoutRefusedException refused) {
                return Future.failedFuture(refused);
            }
            if (retriesLeft > 0) {
                long backoffMillis = BACKOFF_MILLIS_BASE << (retriesMax - retriesLeft);
                return vertx.timer(backoffMillis, TimeUnit.MILLISECONDS)
                        .compose(t -> call(operation, referenceId, request, retriesLeft - 1));
            }
            return Future.failedFuture(new PspUnavailableException("payout " + operation + " of " + referenceId
                    + " failed: " + failure, failure));
        });
    }

    /**
     * A transfer from a 200, UNKNOWN from the provider's own 404, a refusal from a 400 or 409; anything else (another
     * status, a body that is not the protocol's, another reference than ours) is no answer. A bare 404, from a wrong
     * URL or a proxy, must never read as "the provider never received it": the caller could then pay twice.
     */
    private static Transfer parse(String referenceId, HttpResponse<Buffer> response) {
        int status = response.statusCode();
        if (status != 200 && status != 404 && status != 400 && status != 409) {
            throw new IllegalStateException("HTTP " + status);
        }
        JsonObject json = response.bodyAsJsonObject();
        if (status != 200) {
            if (!(json.getValue("error") instanceof String error)) {
                throw new IllegalStateException("HTTP " + status + " without the protocol's error");
            }
            if (status == 404 && error.equals("unknown_reference")) {
                return new Transfer(referenceId, State.UNKNOWN, null, null);
            }
            if (status == 404) {
                throw new IllegalStateException("HTTP 404 " + error);
            }
            throw new PayoutRefusedException(status, error);
        }
        if (!referenceId.equals(json.getValue("referenceId"))) {
            throw new IllegalStateException("an answer about another reference: " + json.getValue("referenceId"));
        }
        State state = Arrays.stream(State.values()).filter(s -> s != State.UNKNOWN && s.name().equals(json.getValue("state")))
                .findFirst().orElseThrow(() -> new IllegalStateException("no transfer state in " + json.getValue("state")));
        Object reason = json.getValue("failureReason");
        if (!(json.getValue("transferId") instanceof String transferId) || (reason != null && !(reason instanceof String))
                || (state == State.FAILED) != (reason != null)) {
            throw new IllegalStateException("not a transfer: " + json.encode());
        }
        return new Transfer(referenceId, state, (String) reason, transferId);
    }
}
