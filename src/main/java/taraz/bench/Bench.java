package taraz.bench;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;

import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * A Vert.x of the harness's own with one event loop for the whole run (setup, load, check), so
 * the book and the recorder are written by one thread; the calling thread (never an event loop)
 * waits for each phase, bounded.
 */
final class Bench implements AutoCloseable {

    /** No phase waits longer than this; a run longer than it is refused up front by the command. */
    static final Duration PHASE_TIMEOUT = Duration.ofHours(2);

    static final long CLOSE_TIMEOUT_SECONDS = 30;

    private final Vertx vertx;
    private final Context context;
    private final BenchClient client;

    Bench(String url, String apiKey, String adminToken, int connections) {
        // One event loop: the load of a payment gateway's clients is far below what one loop can drive.
        this.vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1));
        this.context = vertx.getOrCreateContext();
        this.client = new BenchClient(vertx, url, apiKey, adminToken, connections);
    }

    BenchClient client() {
        return client;
    }

    Workload setup(Scenario scenario, int wallets, String pspSimUrl) {
        return setup(scenario, wallets, pspSimUrl, Acks.NONE);
    }

    Workload setup(Scenario scenario, int wallets, String pspSimUrl, Acks acks) {
        return await(() -> Workload.setup(vertx, client, scenario, wallets, pspSimUrl, acks));
    }

    Recorder load(LoadGenerator.Load load, Supplier<Future<Outcome>> operation, String label, Consumer<String> progress) {
        return await(() -> LoadGenerator.run(vertx, context, load, operation, label, progress));
    }

    LedgerCheck.Result check(Book book) {
        return await(() -> LedgerCheck.run(client, book));
    }

    private <T> T await(Supplier<Future<T>> phase) {
        io.vertx.core.Promise<T> result = io.vertx.core.Promise.promise();
        context.runOnContext(v -> phase.get().onComplete(result));
        try {
            return result.future().toCompletionStage().toCompletableFuture().get(PHASE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof RuntimeException runtime ? runtime : new IllegalStateException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } catch (TimeoutException e) {
            throw new IllegalStateException("a bench phase took longer than " + PHASE_TIMEOUT, e);
        }
    }

    @Override
    public void close() {
        client.close();
        try {
            vertx.close().toCompletionStage().toCompletableFuture().get(CLOSE_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            System.err.println("bench: closing the client's Vert.x: " + e);
        }
    }
}
