package taraz.payout;

import io.vertx.core.Future;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import taraz.async.Lanes;
import taraz.ops.LogContext;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

/**
 * One round of the payout sweeper, on the node's own schedule: claims open payouts no live node is driving (a SENT
 * one waiting for the provider, or one whose node died mid-step and whose lease ran out), least recently checked
 * first, at most {@code batchMax}, and drives each on through the flow, {@code concurrency} at a time. A lost callback
 * or a send with no answer is so resolved by the provider's status.
 */
public final class PayoutSweeper {

    private static final Logger LOG = LoggerFactory.getLogger(PayoutSweeper.class);

    private final PayoutService payouts;
    private final int batchMax;
    private final int concurrency;

    public PayoutSweeper(PayoutService payouts, int batchMax, int concurrency) {
        this.payouts = payouts;
        this.batchMax = batchMax;
        this.concurrency = concurrency;
    }

    /** A round; {@code stopped} ends it early (shutdown), {@code inflight} counts each payout's step. */
    public Future<Void> round(BooleanSupplier stopped, AtomicInteger inflight) {
        return payouts.claimOpen(batchMax).compose(claimed -> Lanes.each(claimed, concurrency, stopped, (payout, index) -> {
            inflight.incrementAndGet();
            return payouts.sweep(payout).transform(result -> {
                inflight.decrementAndGet();
                // A change of state is logged once, by the flow's own step; the sweeper adds only its failures.
                if (result.failed()) {
                    LogContext.warn(LOG, payout.payoutId(), PayoutService.FLOW, payout.state().name(),
                            "sweep failed; next round retries: {}", result.cause().toString());
                }
                return Future.succeededFuture();
            });
        }));
    }
}
