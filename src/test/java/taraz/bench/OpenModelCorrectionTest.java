package taraz.bench;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Coordinated omission: a server that stalls every request for one second in the middle of a
 * run. The open model keeps its schedule, so every operation meant to start during the stall
 * is charged its wait and the p99 shows the stall; the closed model stops sending while its
 * few connections wait, records only those few slow answers, and its p99 hides the stall.
 */
class OpenModelCorrectionTest {

    private static final long STALL_AFTER_MILLIS = 1_000;
    private static final long STALL_MILLIS = 1_000;

    private final Vertx vertx = Vertx.vertx();

    @AfterEach
    void close() {
        vertx.close().toCompletionStage().toCompletableFuture().orTimeout(30, TimeUnit.SECONDS).join();
    }

    @Test
    void theOpenModelShowsAStallTheClosedModelHides() {
        LoadGenerator.Load open = new LoadGenerator.Load(8, 200.0, Duration.ZERO, Duration.ofSeconds(3));
        Recorder openRun = runAgainstStallingStub(open);
        LoadGenerator.Load closed = new LoadGenerator.Load(4, null, Duration.ZERO, Duration.ofSeconds(3));
        Recorder closedRun = runAgainstStallingStub(closed);

        assertTrue(openRun.p99Millis() >= 500, "open model p99 " + openRun.p99Millis() + " ms should show the 1 s stall");
        assertTrue(closedRun.p99Millis() * 5 < openRun.p99Millis(), "closed model p99 " + closedRun.p99Millis()
                + " ms should hide the stall the open model shows (" + openRun.p99Millis() + " ms)");
        assertTrue(closedRun.requests() > 0 && closedRun.errors() == 0 && openRun.errors() == 0);
    }

    private Recorder runAgainstStallingStub(LoadGenerator.Load load) {
        HttpServer stub = startStallingStub();
        try (Bench bench = new Bench("http://127.0.0.1:" + stub.actualPort(), "stub-api-key", null, load.connections())) {
            return bench.load(load, () -> bench.client().get("/").map(reply -> Outcome.answered(reply.status(), reply.ok())),
                    "stub", line -> { });
        } finally {
            stub.close().toCompletionStage().toCompletableFuture().orTimeout(30, TimeUnit.SECONDS).join();
        }
    }

    /**
     * Answers at once, except that the first request arriving {@link #STALL_AFTER_MILLIS} after
     * the first one starts a stall: every request that arrives during it is answered when it ends.
     */
    private HttpServer startStallingStub() {
        long[] firstMillis = {0};
        long[] stallUntilMillis = {0};
        Future<HttpServer> started = vertx.createHttpServer().requestHandler(request -> {
            long now = System.currentTimeMillis();
            if (firstMillis[0] == 0) {
                firstMillis[0] = now;
            }
            if (stallUntilMillis[0] == 0 && now - firstMillis[0] >= STALL_AFTER_MILLIS) {
                stallUntilMillis[0] = now + STALL_MILLIS;
            }
            if (now < stallUntilMillis[0]) {
                vertx.setTimer(stallUntilMillis[0] - now, id -> request.response().end("{}"));
            } else {
                request.response().end("{}");
            }
        }).listen(0, "127.0.0.1");
        return started.toCompletionStage().toCompletableFuture().orTimeout(30, TimeUnit.SECONDS).join();
    }
}
