package taraz.ops;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import taraz.app.Settings;
import taraz.idempotency.IdempotencyStore;
import taraz.ledger.Ledger;
import taraz.topup.TopupSweeper;
import taraz.trip.TripService;

import java.util.List;
import java.util.function.Supplier;

/**
 * The node's own schedule (it never waits for an outside event): the hold sweeper expires
 * holds past due; the top-up sweeper finishes top-ups whose callback was lost; a slower round keeps the idempotency keys' day partitions ready (dropping the expired days); one checks the ledger's
 * invariants and stuck payments for the metrics; the reconciliation round publishes its counts. Each job runs its next round only after the
 * last one ended, and each round's work is bounded.
 */
public final class Housekeeping {

    private static final Logger LOG = LoggerFactory.getLogger(Housekeeping.class);
    /** Day partitions kept ready ahead of today, so a node down for a while still finds one. */
    public static final int IDEMPOTENCY_DAYS_AHEAD = 3;

    private final Vertx vertx;
    private final Settings settings;
    private final Pool pool;
    private final Ledger ledger;
    private final TripService trips;
    private final TopupSweeper topupSweeper;
    private final IdempotencyStore idempotency;
    private final Metrics metrics;
    private final Supplier<Future<Void>> reconciliation;
    private volatile boolean stopped;

    public Housekeeping(Vertx vertx, Settings settings, Pool pool, Ledger ledger, TripService trips,
                        TopupSweeper topupSweeper, IdempotencyStore idempotency, Metrics metrics,
                        Supplier<Future<Void>> reconciliation) {
        this.reconciliation = reconciliation;
        this.topupSweeper = topupSweeper;
        this.vertx = vertx;
        this.settings = settings;
        this.pool = pool;
        this.ledger = ledger;
        this.trips = trips;
        this.idempotency = idempotency;
        this.metrics = metrics;
    }

    public void start() {
        every(settings.longValue("holdSweepIntervalMillis"), "hold sweeper", this::sweepHolds);
        every(settings.longValue("topupSweepIntervalMillis"), "top-up sweeper",
                () -> topupSweeper.round(() -> stopped, metrics.inflight()));
        every(settings.longValue("housekeepingIntervalMillis"), "idempotency retention",
                () -> idempotency.maintain(settings.longValue("idempotencyRetentionHours"), IDEMPOTENCY_DAYS_AHEAD)
                        .onSuccess(dropped -> {
                            if (dropped > 0) {
                                LOG.info("idempotency retention: dropped {} day(s) of keys older than {} h", dropped,
                                        settings.longValue("idempotencyRetentionHours"));
                            }
                        }).mapEmpty());
        every(settings.longValue("checkIntervalMillis"), "ledger check", this::checkLedger);
        every(settings.longValue("reconcileIntervalMillis"), "reconciliation", reconciliation);
    }

    /** Stops scheduling new rounds; a round already running finishes. */
    public void stop() {
        stopped = true;
    }

    public Future<Void> sweepHolds() {
        return trips.expiredHolds(settings.intValue("holdSweepBatchMax")).compose(ids -> expireEach(ids, 0));
    }

    private Future<Void> expireEach(List<String> tripIds, int index) {
        if (index == tripIds.size() || stopped) {
            return Future.succeededFuture();
        }
        metrics.inflight().incrementAndGet();
        return trips.expire(tripIds.get(index), 1)
                .onComplete(r -> metrics.inflight().decrementAndGet())
                .onComplete(r -> metrics.payment("trip", r.succeeded() ? "expired" : "error"))
                .transform(r -> {
                    if (r.failed()) {
                        LOG.warn("txn={} flow=trip hold expiry failed; next round retries", tripIds.get(index), r.cause());
                    }
                    return expireEach(tripIds, index + 1);
                });
    }

    public Future<Void> checkLedger() {
        return ledger.checkInvariants(pool).compose(invariants -> {
            metrics.ledgerImbalance(invariants.sumOfBalancesRials());
            if (!invariants.holds()) {
                LOG.error("ledger invariants broken: {}", invariants);
            }
            // Stuck: a hold past its expiry the sweeper did not end, a top-up open past the bank's window.
            return pool.preparedQuery("SELECT count(*) AS n, coalesce(max(age), 0)::bigint AS age FROM ("
                            + " SELECT extract(epoch FROM now() - hold_expires_at) AS age FROM trips"
                            + "  WHERE state = 'HELD' AND hold_expires_at < now() - $1 * interval '1 second'"
                            + " UNION ALL SELECT extract(epoch FROM now() - created_at) FROM topups"
                            + "  WHERE state NOT IN ('CREDITED', 'FAILED', 'EXPIRED', 'REVERSED')"
                            + "  AND created_at < now() - ($1 + $2) * interval '1 second') stuck")
                    .execute(Tuple.of(settings.longValue("stuckGraceSeconds"), settings.longValue("topupWindowSeconds")))
                    .map(rows -> {
                        Row row = rows.iterator().next();
                        metrics.stuck(row.getLong("n"), row.getLong("age"));
                        return null;
                    });
        });
    }

    private void every(long intervalMillis, String name, Supplier<Future<Void>> round) {
        vertx.setTimer(intervalMillis, id -> {
            if (stopped) {
                return;
            }
            Future<Void> result;
            try {
                result = round.get();
            } catch (RuntimeException e) {
                result = Future.failedFuture(e);
            }
            result.onFailure(e -> LOG.warn("{} round failed; the next round retries", name, e))
                    .onComplete(done -> every(intervalMillis, name, round));
        });
    }
}
