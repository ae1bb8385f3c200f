package taraz.support;

import org.awaitility.core.ConditionTimeoutException;

import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;

import static org.awaitility.Awaitility.await;

/**
 * Bounded waits for a condition, on Awaitility: the tests' one way to wait for something
 * another thread or process does. A wait that ends unmet fails with what was last seen.
 */
public final class Wait {

    /** How often a condition is probed: often enough for a test, rarely enough not to load the server. */
    public static final Duration POLL = Duration.ofMillis(100);

    private Wait() {
    }

    /**
     * Probes until {@code done} holds for what {@code probe} returns, at most {@code timeoutMillis};
     * returns that value. An exception of the probe ends the wait at once, as does an
     * AssertionError (a probe that sees the awaited state can no longer come).
     */
    public static <T> T until(String what, long timeoutMillis, Callable<T> probe, Predicate<T> done) {
        return until(what, timeoutMillis, POLL, probe, done);
    }

    /** The same, probing every {@code poll}: for a test that samples what it watches more often. */
    public static <T> T until(String what, long timeoutMillis, Duration poll, Callable<T> probe, Predicate<T> done) {
        AtomicReference<T> last = new AtomicReference<>();
        try {
            return probeUntil(timeoutMillis, poll, probe, done, last);
        } catch (ConditionTimeoutException e) {
            throw new AssertionError(what + ": not within " + timeoutMillis + " ms; last seen: " + last.get(), e);
        }
    }

    /** Probes until {@code condition} holds, at most {@code timeoutMillis}. */
    public static void until(String what, long timeoutMillis, Callable<Boolean> condition) {
        until(what, timeoutMillis, condition, Boolean.TRUE::equals);
    }

    /**
     * Probes until {@code done} holds or {@code timeoutMillis} is up, and returns the last value
     * either way, for a caller whose own assertions then say what was missing.
     */
    public static <T> T poll(long timeoutMillis, Callable<T> probe, Predicate<T> done) {
        AtomicReference<T> last = new AtomicReference<>();
        try {
            return probeUntil(timeoutMillis, POLL, probe, done, last);
        } catch (ConditionTimeoutException e) {
            return last.get();
        }
    }

    private static <T> T probeUntil(long timeoutMillis, Duration poll, Callable<T> probe, Predicate<T> done,
                                    AtomicReference<T> last) {
        await().atMost(Duration.ofMillis(timeoutMillis)).pollDelay(Duration.ZERO).pollInterval(poll)
                .until(() -> {
                    T value = probe.call();
                    last.set(value);
                    // The predicate itself, not a matcher of it: a matcher never matches a null value.
                    return done.test(value);
                });
        return last.get();
    }
}
