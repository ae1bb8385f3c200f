package taraz.ops;

import io.vertx.core.Future;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import taraz.ledger.Ledger;

import java.util.List;
import java.util.function.Supplier;

/**
 * The ledger check's round, for the metrics: the ledger's invariants (the sum of balances as
 * {@code taraz_ledger_imbalance_rials}, a broken invariant logged as an error), then the stuck
 * payments each flow counts by its own states, added up into {@code taraz_stuck_payments} and the
 * oldest one's age.
 */
public final class LedgerWatch {

    private static final Logger LOG = LoggerFactory.getLogger(LedgerWatch.class);

    private final Ledger ledger;
    private final Metrics metrics;
    private final List<Supplier<Future<Metrics.Stuck>>> stuckByFlow;

    public LedgerWatch(Ledger ledger, Metrics metrics, List<Supplier<Future<Metrics.Stuck>>> stuckByFlow) {
        this.ledger = ledger;
        this.metrics = metrics;
        this.stuckByFlow = stuckByFlow;
    }

    public Future<Void> round() {
        return ledger.checkInvariants().compose(invariants -> {
            metrics.ledgerImbalance(invariants.sumOfBalancesRials());
            if (!invariants.holds()) {
                LOG.error("ledger invariants broken: {}", invariants);
            }
            List<Future<Metrics.Stuck>> counts = stuckByFlow.stream().map(Supplier::get).toList();
            return Future.all(counts).map(all -> {
                Metrics.Stuck total = Metrics.Stuck.NONE;
                for (Future<Metrics.Stuck> count : counts) {
                    total = total.plus(count.result());
                }
                metrics.stuck(total);
                return null;
            });
        });
    }
}
