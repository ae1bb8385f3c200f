package taraz.pspsim;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.util.function.DoublePredicate;
import java.util.function.Supplier;

/**
 * One call to a simulated endpoint under its faults: latency, a 503, a hold then a closed connection (the provider
 * does nothing), or a lost answer (the provider does what was asked, then the connection closes instead of the
 * answer). The fault is decided when the call arrives.
 */
final class FaultedCall {

    /** A protocol answer: its HTTP status and JSON body. */
    record Reply(int status, JsonObject body) {
    }

    private FaultedCall() {
    }

    /** Answers {@code ctx} with what {@code handler} does, unless {@code f} (rolled with {@code roll}) fails it. */
    static void answer(Vertx vertx, SimFaults.Effective f, DoublePredicate roll, RoutingContext ctx,
                       Supplier<Future<Reply>> handler) {
        boolean hold = roll.test(f.timeoutRate());
        boolean fail = !hold && roll.test(f.errorRate());
        boolean lose = !hold && !fail && roll.test(f.lostAnswerRate());
        Runnable answer = () -> {
            if (hold) {
                vertx.setTimer(PspSimulator.HOLD_MILLIS, t -> ctx.request().connection().close());
            } else if (fail) {
                ctx.response().setStatusCode(503).putHeader("content-type", "text/html")
                        .end("<html><body><h1>503 Service Unavailable</h1></body></html>");
            } else {
                handler.get().onSuccess(reply -> {
                    if (lose) {
                        // Done and saved at the provider; the caller never hears of it.
                        ctx.request().connection().close();
                    } else {
                        PspSimulator.sendJson(ctx, reply.status(), reply.body());
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
}
