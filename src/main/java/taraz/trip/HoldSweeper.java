package taraz.trip;

import io.vertx.core.Future;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import taraz.ops.LogContext;
import taraz.ops.Metrics;

import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * The hold sweeper's round: trips whose hold is past its expiry are expired, one at a time, at
 * most {@code batchMax} per round, oldest first; one that fails is left for the next round.
 */
public final class HoldSweeper {

    private static final Logger LOG = LoggerFactory.getLogger(HoldSweeper.class);

    private final TripService trips;
    private final int batchMax;
    private final Metrics metrics;

    public HoldSweeper(TripService trips, int batchMax, Metrics metrics) {
        this.trips = trips;
        this.batchMax = batchMax;
        this.metrics = metrics;
    }

    /** A round; {@code stopped} ends it early (shutdown). */
    public Future<Void> round(BooleanSupplier stopped) {
        return trips.expiredHolds(batchMax).compose(ids -> expireEach(ids, 0, stopped));
    }

    private Future<Void> expireEach(List<String> tripIds, int index, BooleanSupplier stopped) {
        if (index == tripIds.size() || stopped.getAsBoolean()) {
            return Future.succeededFuture();
        }
        metrics.inflight().incrementAndGet();
        return trips.expire(tripIds.get(index), 1)
                .onComplete(r -> metrics.inflight().decrementAndGet())
                .onComplete(r -> metrics.payment(TripService.FLOW, r.succeeded() ? "expired" : "error"))
                .transform(r -> {
                    if (r.failed()) {
                        LogContext.warn(LOG, tripIds.get(index), TripService.FLOW, Trip.State.HELD.name(),
                                "hold expiry failed; next round retries", r.cause());
                    }
                    return expireEach(tripIds, index + 1, stopped);
                });
    }
}
