package taraz.support;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/** Runs tasks on their own threads, released together by a start gate, for races in tests. */
public final class Concurrently {

    private static final long GATE_SECONDS = 30;
    private static final long TASK_SECONDS = 90;

    private Concurrently() {
    }

    @FunctionalInterface
    public interface Task<T> {
        T run(int index) throws Exception;
    }

    /** Runs {@code n} tasks at once and returns their results in order; bounded waits. */
    public static <T> List<T> run(int n, Task<T> task) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(n);
        CountDownLatch ready = new CountDownLatch(n);
        CountDownLatch gate = new CountDownLatch(1);
        try {
            List<Future<T>> futures = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                int index = i;
                Callable<T> call = () -> {
                    ready.countDown();
                    if (!gate.await(GATE_SECONDS, TimeUnit.SECONDS)) {
                        throw new AssertionError("start gate never opened");
                    }
                    return task.run(index);
                };
                futures.add(pool.submit(call));
            }
            if (!ready.await(GATE_SECONDS, TimeUnit.SECONDS)) {
                throw new AssertionError("workers never started");
            }
            gate.countDown();
            List<T> results = new ArrayList<>();
            for (Future<T> f : futures) {
                results.add(f.get(TASK_SECONDS, TimeUnit.SECONDS));
            }
            return results;
        } finally {
            pool.shutdownNow();
            if (!pool.awaitTermination(GATE_SECONDS, TimeUnit.SECONDS)) {
                throw new AssertionError("workers did not stop");
            }
        }
    }
}
