package taraz.bench;

import io.vertx.core.Future;
import io.vertx.core.Promise;

import java.util.List;
import java.util.function.Function;

/** Runs an asynchronous step over a list with at most {@code concurrency} steps in flight. */
final class Bounded {

    private Bounded() {
    }

    /** Completes when every step has; fails with the first step that failed, after the others in flight end. */
    static <T> Future<Void> each(List<T> items, int concurrency, Function<T, Future<?>> step) {
        Promise<Void> done = Promise.promise();
        int[] next = {0};
        int[] running = {0};
        Throwable[] failure = {null};
        Runnable[] pump = new Runnable[1];
        pump[0] = () -> {
            while (failure[0] == null && running[0] < concurrency && next[0] < items.size()) {
                T item = items.get(next[0]++);
                running[0]++;
                Future<?> result;
                try {
                    result = step.apply(item);
                } catch (RuntimeException e) {
                    result = Future.failedFuture(e);
                }
                result.onComplete(r -> {
                    running[0]--;
                    if (r.failed() && failure[0] == null) {
                        failure[0] = r.cause();
                    }
                    pump[0].run();
                });
            }
            if (running[0] == 0 && (failure[0] != null || next[0] == items.size())) {
                if (failure[0] != null) {
                    done.tryFail(failure[0]);
                } else {
                    done.tryComplete();
                }
            }
        };
        pump[0].run();
        return done.future();
    }
}
