package taraz.async;

import io.vertx.core.Future;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

/**
 * Runs a step for each item of a list, at most {@code concurrency} at a time: each lane takes the next item when its
 * previous step completes, so one step that hangs until its timeout holds up one lane, not the whole list. A step
 * handles its own outcome; a step whose future fails anyway ends its lane and fails the result, once every other
 * lane is done.
 */
public final class Lanes {

    /** One item's step; {@code index} is the item's place in the list. */
    public interface Step<T> {
        Future<?> apply(T item, int index);
    }

    private Lanes() {
    }

    /** {@code stopped} is asked before each item: once true, the lanes take no more (shutdown). */
    public static <T> Future<Void> each(List<T> items, int concurrency, BooleanSupplier stopped, Step<T> step) {
        if (concurrency < 1) {
            throw new IllegalArgumentException("concurrency must be >= 1, got " + concurrency);
        }
        AtomicInteger next = new AtomicInteger();
        List<Future<Void>> lanes = new ArrayList<>();
        for (int lane = 0; lane < Math.min(concurrency, items.size()); lane++) {
            lanes.add(lane(items, next, stopped, step));
        }
        return Future.join(lanes).mapEmpty();
    }

    private static <T> Future<Void> lane(List<T> items, AtomicInteger next, BooleanSupplier stopped, Step<T> step) {
        int index = next.getAndIncrement();
        if (index >= items.size() || stopped.getAsBoolean()) {
            return Future.succeededFuture();
        }
        return step.apply(items.get(index), index).compose(v -> lane(items, next, stopped, step));
    }
}
