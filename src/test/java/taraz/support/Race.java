package taraz.support;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;

/** Requests released together by a start gate, one thread each, so that they race; bounded in time. */
public final class Race {

    private static final long GATE_TIMEOUT_SECONDS = 30;
    private static final long RUN_TIMEOUT_SECONDS = 120;

    private Race() {
    }

    /** Runs {@code request(0..racers-1)} at once and returns the answers in that order. */
    public static List<ApiClient.Response> run(int racers, IntFunction<ApiClient.Response> request) throws Exception {
        ExecutorService threads = Executors.newFixedThreadPool(racers);
        CountDownLatch gate = new CountDownLatch(1);
        try {
            List<Future<ApiClient.Response>> running = new ArrayList<>(racers);
            for (int i = 0; i < racers; i++) {
                int racer = i;
                running.add(threads.submit(() -> {
                    if (!gate.await(GATE_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                        throw new IllegalStateException("the start gate did not open");
                    }
                    return request.apply(racer);
                }));
            }
            gate.countDown();
            List<ApiClient.Response> answers = new ArrayList<>(racers);
            for (Future<ApiClient.Response> answer : running) {
                answers.add(answer.get(RUN_TIMEOUT_SECONDS, TimeUnit.SECONDS));
            }
            return answers;
        } finally {
            threads.shutdownNow();
        }
    }
}
