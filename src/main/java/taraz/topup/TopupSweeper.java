package taraz.topup;

import io.vertx.core.Future;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import taraz.async.Lanes;
import taraz.ops.LogContext;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

/**
 * One round of the top-up sweeper, on the node's own schedule: asks the bank which payments
 * are paid but unverified and verifies those first, then drives on, a bounded number at a time
 * and at most {@code batchMax} per round, the open top-ups whose callback is late or whose step was cut
 * short, least recently checked first. A lost callback is so verified and credited inside the
 * bank's window.
 */
public final class TopupSweeper {

    private static final Logger LOG = LoggerFactory.getLogger(TopupSweeper.class);

    private final TopupService topups;
    private final long callbackGraceSeconds;
    private final int batchMax;
    private final int concurrency;

    public TopupSweeper(TopupService topups, long callbackGraceSeconds, int batchMax, int concurrency) {
        this.concurrency = concurrency;
        this.topups = topups;
        this.callbackGraceSeconds = callbackGraceSeconds;
        this.batchMax = batchMax;
    }

    /**
     * A round; {@code stopped} ends it early (shutdown), {@code inflight} counts each top-up's step.
     * Payments the bank lists as paid but unverified go first, whatever their age: they are the
     * lost callbacks, and the bank reverses them when its window ends.
     */
    public Future<Void> round(BooleanSupplier stopped, AtomicInteger inflight) {
        return topups.psp().unverified()
                .otherwise(err -> List.of())
                .compose(paid -> {
                    Set<String> paidSet = new HashSet<>(paid);
                    Future<List<Topup>> lost = paid.isEmpty() ? Future.succeededFuture(List.of())
                            : topups.claimPaid(paid, callbackGraceSeconds);
                    return lost.compose(first -> all(first, paidSet, stopped, inflight))
                            .compose(v -> topups.claimOpen(callbackGraceSeconds, batchMax))
                            .compose(open -> all(open, paidSet, stopped, inflight));
                });
    }

    /**
     * Drives the claimed top-ups on, {@code concurrency} at a time: one PSP call that hangs
     * until its timeout holds up one lane, not the whole round.
     */
    private Future<Void> all(List<Topup> claimed, Set<String> paid, BooleanSupplier stopped, AtomicInteger inflight) {
        return Lanes.each(claimed, concurrency, stopped, (topup, index) -> {
            inflight.incrementAndGet();
            return topups.sweep(topup, paid).transform(result -> {
                inflight.decrementAndGet();
                // A change of state is logged once, by the flow's own step; the sweeper adds only its failures.
                if (result.failed()) {
                    LogContext.warn(LOG, topup.topupId(), TopupService.FLOW, topup.state().name(),
                            "sweep failed; next round retries: {}", result.cause().toString());
                }
                return Future.succeededFuture();
            });
        });
    }
}
