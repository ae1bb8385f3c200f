package taraz.http;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import org.apache.commons.codec.digest.DigestUtils;
import taraz.domain.DomainError;
import taraz.domain.ErrorCode;
import taraz.idempotency.IdempotencyStore;
import taraz.ledger.LedgerCommand;
import taraz.ops.Metrics;

import java.util.TreeMap;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The request pipeline every route runs through. First the request is checked whole against the contract, its
 * parameters and headers ({@link RequestParams}) and its body ({@link RequestBodies}), then by the route's own rules:
 * a refusal there is a 4xx that writes nothing and is not stored under the key, so a corrected retry with the same key
 * runs. Then, for a money route, the key is claimed, the step runs, and its answer is stored under the key:
 * <ul>
 *   <li>{@link #ledger}: the step is a ledger command, and the writer claims the key, moves the money and stores the
 *       answer in one transaction, so a key and its effect commit together;
 *   <li>{@link #idempotent}: the step is a flow of its own (opening a wallet, a top-up); the key is claimed before it
 *       and answered after it in {@link IdempotencyStore}.
 * </ul>
 */
final class Pipeline {

    /** What a route answers: a status and a JSON body. */
    record Reply(int status, JsonObject body) {
        static Reply ok(JsonObject body) {
            return new Reply(200, body);
        }
    }

    /** A request that passed the contract: its parameters and its body, both checked. */
    record Request(RoutingContext ctx, RequestParams.Params params, JsonObject body) {
        String path(String name) {
            return params.text(name);
        }

        /** The Idempotency-Key, or null when the contract lets the route go without one. */
        String key() {
            return params.text("Idempotency-Key");
        }
    }

    @FunctionalInterface
    interface Read {
        Future<Reply> read(Request request);
    }

    @FunctionalInterface
    interface Prepare {
        /** Checks what the contract cannot (throwing a {@link Failure}) and returns the step to run. */
        Supplier<Future<Reply>> prepare(Request request);
    }

    /** A step of the ledger writer: its idempotency key (or null) is claimed, and answered, inside its batch. */
    @FunctionalInterface
    interface LedgerStep {
        Future<? extends LedgerCommand.Outcome<?>> run(LedgerCommand.Idem idem);
    }

    @FunctionalInterface
    interface PrepareLedgerStep {
        /** Checks what the contract cannot (throwing a {@link Failure}) and returns the step to run. */
        LedgerStep prepare(Request request);
    }

    private final RequestParams params;
    private final RequestBodies bodies;
    private final IdempotencyStore idempotency;
    private final Metrics metrics;
    private final String retryAfterSeconds;

    Pipeline(Contract contract, IdempotencyStore idempotency, Metrics metrics, int retryAfterSeconds) {
        this.params = contract.params();
        this.bodies = contract.bodies();
        this.idempotency = idempotency;
        this.metrics = metrics;
        this.retryAfterSeconds = Integer.toString(retryAfterSeconds);
    }

    /** The request of {@code operationId}, checked against the contract; a {@link Failure} when it breaks it. */
    Request request(RoutingContext ctx, String operationId) {
        RequestParams.Params checked = params.check(ctx, operationId);
        JsonObject body = bodies.parse(operationId, ctx.body().buffer());
        return new Request(ctx, checked, body);
    }

    void read(RoutingContext ctx, String operationId, Read route) {
        try {
            route.read(request(ctx, operationId))
                    .onSuccess(reply -> Responses.send(ctx, reply.status(), reply.body().encode(), false))
                    .onFailure(ctx::fail);
        } catch (Failure failure) {
            Responses.error(ctx, failure);
        }
    }

    /**
     * A money route whose step is a ledger command: check (a 4xx writes nothing), then the command claims the key,
     * moves the money and stores the answer in one transaction; the answer (or the stored one, replayed) goes out as
     * is. {@code flow} names it in {@code taraz_payments_total}.
     */
    void ledger(RoutingContext ctx, String operationId, String flow, PrepareLedgerStep route) {
        Prepared<LedgerStep> prepared = prepare(ctx, operationId, route::prepare);
        if (prepared == null) {
            return;
        }
        Request request = prepared.request();
        LedgerStep step = prepared.step();
        LedgerCommand.Idem idem = new LedgerCommand.Idem(request.key(), requestHash(ctx, request.body()),
                ctx.request().method().name(), ctx.request().path(), Failure::answer);
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
                        ctx.response().putHeader("Retry-After", retryAfterSeconds);
                    }
                    Responses.send(ctx, answer.status(), answer.body(), answer.replayed());
                })
                .onFailure(err -> {
                    Failure failure = Failure.from(err);
                    if (failure != null) {
                        metrics.payment(flow, failure.code());
                    }
                    ctx.fail(err);
                });
    }

    /** A money route whose step is a flow of its own: the key is claimed first and answered after the step. */
    void idempotent(RoutingContext ctx, String operationId, Prepare route) {
        Prepared<Supplier<Future<Reply>>> prepared = prepare(ctx, operationId, route::prepare);
        if (prepared == null) {
            return;
        }
        Request request = prepared.request();
        Supplier<Future<Reply>> step = prepared.step();
        String key = request.key();
        if (key == null) {
            start(step).onSuccess(reply -> Responses.send(ctx, reply.status(), reply.body().encode(), false))
                    .onFailure(ctx::fail);
            return;
        }
        metrics.inflight().incrementAndGet();
        idempotency.begin(key, requestHash(ctx, request.body()), ctx.request().method().name(), ctx.request().path())
                .compose(begin -> {
                    if (begin instanceof IdempotencyStore.Replay replay) {
                        Responses.send(ctx, replay.status(), replay.body(), true);
                        return Future.succeededFuture();
                    }
                    if (begin instanceof IdempotencyStore.Mismatch) {
                        Responses.error(ctx, Failure.of(DomainError.idempotencyKeyReused()));
                        return Future.succeededFuture();
                    }
                    if (begin instanceof IdempotencyStore.InProgress) {
                        ctx.response().putHeader("Retry-After", retryAfterSeconds);
                        Responses.error(ctx, Failure.of(DomainError.requestInProgress()));
                        return Future.succeededFuture();
                    }
                    return run(ctx, key, step);
                })
                .onFailure(ctx::fail)
                .onComplete(done -> metrics.inflight().decrementAndGet());
    }

    private record Prepared<S>(Request request, S step) { }

    /**
     * The request checked against the contract, and the step the route makes of it after its own rules; null when
     * either refused it, the refusal answered, nothing written.
     */
    private <S> Prepared<S> prepare(RoutingContext ctx, String operationId, Function<Request, S> route) {
        try {
            Request request = request(ctx, operationId);
            return new Prepared<>(request, route.apply(request));
        } catch (Failure failure) {
            Responses.error(ctx, failure);
            return null;
        }
    }

    private Future<Void> run(RoutingContext ctx, String key, Supplier<Future<Reply>> step) {
        return start(step).transform(result -> {
            if (result.succeeded()) {
                Reply reply = result.result();
                String encoded = reply.body().encode();
                return idempotency.finish(key, reply.status(), encoded)
                        .onSuccess(v -> Responses.send(ctx, reply.status(), encoded, false));
            }
            Failure failure = Failure.from(result.cause());
            if (failure != null) {
                String encoded = failure.body().encode();
                return idempotency.finish(key, failure.status(), encoded)
                        .onSuccess(v -> Responses.send(ctx, failure.status(), encoded, false));
            }
            // A server error: no response is stored, so the client's retry of this same request runs
            // the (idempotent) step again at once; the key still refuses any other request.
            return idempotency.abandon(key).transform(abandoned -> Future.failedFuture(result.cause()));
        });
    }

    /** Counts a flow's outcome in {@code taraz_payments_total}, for a step outside the ledger writer. */
    <T> Future<T> counted(String flow, Future<T> step) {
        return step.onComplete(result -> {
            Failure failure = result.succeeded() ? null : Failure.from(result.cause());
            metrics.payment(flow, result.succeeded() ? "ok" : failure != null ? failure.code() : "error");
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

    private static String requestHash(RoutingContext ctx, JsonObject body) {
        return DigestUtils.sha256Hex(ctx.request().method() + " " + ctx.request().path() + "\n"
                + new JsonObject(new TreeMap<>(body.getMap())).encode());
    }
}
