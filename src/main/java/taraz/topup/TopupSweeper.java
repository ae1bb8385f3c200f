package taraz.topup;

import io.vertx.core.Future;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.BooleanSupplier;

/**
 * One round of the top-up sweeper, on the node's own schedule: asks the bank which payments
 * are paid but unverified, then drives on, one at a time and at most {@code batchMax} per round,
 * every open top-up whose callback is late or whose step was cut short. A lost callback is so
 * verified and credited inside the bank's window.
 */
public final class TopupSweeper {

    private static final Logger LOG = LoggerFactory.getLogger(TopupSweeper.class);

    private final TopupService topups;
    private final long callbackGraceSeconds;
    private final int batchMax;

    public TopupSweeper(TopupService topups, long callbackGraceSeconds, int batchMax) {
        this.topups = topups;
        this.callbackGraceSeconds = callbackGraceSeconds;
        this.batchMax = batchMax;
    }

    /** A round; {@code stopped} ends it early (shutdown), {@code inflight} counts each top-up's step. */
    public Future<Void> round(BooleanSupplier stopped, java.util.concurrent.atomic.AtomicInteger inflight) {
        return topups.open(callbackGraceSeconds, batchMax).compose(open -> {
            if (open.isEmpty()) {
                return Future.succeededFuture();
            }
            return topups.psp().unverified()
                    .<Set<String>>map(HashSet::new)
                    .otherwise(err -> Set.of())
                    .compose(paid -> each(open, 0, paid, stopped, inflight));
        });
    }

    private Future<Void> each(List<Topup> open, int index, Set<String> paid, BooleanSupplier stopped,
                              java.util.concurrent.atomic.AtomicInteger inflight) {
        if (index == open.size() || stopped.getAsBoolean()) {
            return Future.succeededFuture();
        }
        Topup topup = open.get(index);
        inflight.incrementAndGet();
        return topups.sweep(topup, paid).transform(result -> {
            inflight.decrementAndGet();
            if (result.failed()) {
                LOG.warn("txn={} flow=topup sweep failed; next round retries: {}", topup.topupId(), result.cause().toString());
            } else if (result.result().state() != topup.state()) {
                LOG.info("txn={} flow=topup sweeper moved {} -> {}", topup.topupId(), topup.state(), result.result().state());
            }
            return each(open, index + 1, paid, stopped, inflight);
        });
    }
}
