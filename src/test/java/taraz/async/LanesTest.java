package taraz.async;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** Steps here are promises the test completes by hand, so which step runs when is exact. */
class LanesTest {

    private static final List<Integer> ITEMS = IntStream.range(0, 10).boxed().toList();

    @Test
    void runsEveryItemWithAtMostConcurrencyStepsOpen() {
        List<Promise<Void>> open = new ArrayList<>();
        List<Integer> started = new ArrayList<>();
        Future<Void> all = Lanes.each(ITEMS, 3, () -> false, (item, index) -> {
            assertEquals(ITEMS.get(index), item);
            started.add(item);
            Promise<Void> step = Promise.promise();
            open.add(step);
            return step.future();
        });
        assertEquals(List.of(0, 1, 2), started);
        while (!open.isEmpty()) {
            assertTrue(open.size() <= 3, "open steps: " + open.size());
            assertFalse(all.isComplete());
            open.remove(0).complete();
        }
        assertEquals(ITEMS, started);
        assertTrue(all.succeeded());
    }

    @Test
    void takesNoMoreItemsOnceStopped() {
        AtomicBoolean stopped = new AtomicBoolean();
        List<Integer> started = new ArrayList<>();
        Future<Void> all = Lanes.each(ITEMS, 2, stopped::get, (item, index) -> {
            started.add(item);
            stopped.set(item == 3);
            return Future.succeededFuture();
        });
        assertEquals(List.of(0, 1, 2, 3), started);
        assertTrue(all.succeeded());
    }

    @Test
    void aFailedStepEndsItsLaneAndFailsTheRunOnceTheOthersAreDone() {
        List<Promise<Void>> open = new ArrayList<>();
        List<Integer> started = new ArrayList<>();
        Future<Void> all = Lanes.each(ITEMS, 2, () -> false, (item, index) -> {
            started.add(item);
            Promise<Void> step = Promise.promise();
            open.add(step);
            return step.future();
        });
        open.remove(0).fail("step 0 broke");
        assertFalse(all.isComplete(), "the other lane still runs");
        while (!open.isEmpty()) {
            open.remove(0).complete();
        }
        assertEquals(ITEMS, started, "the other lane takes the failed lane's share");
        assertEquals("step 0 broke", all.cause().getMessage());
    }

    @Test
    void anEmptyListSucceedsAndAConcurrencyBelowOneIsRefused() {
        assertTrue(Lanes.each(List.of(), 4, () -> false, (item, index) -> Future.failedFuture("never called")).succeeded());
        assertThrows(IllegalArgumentException.class,
                () -> Lanes.each(ITEMS, 0, () -> false, (item, index) -> Future.succeededFuture()));
    }
}
