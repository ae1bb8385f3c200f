package taraz.trip;

import io.vertx.core.Future;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import taraz.ledger.Batch;

import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The refunds of one ledger batch: each refunded trip's totals and the refunds asked for by id, read after
 * {@link TripRows} has locked the trips (so a total is read under its trip's lock, and two refunds of one trip,
 * in one batch or in two, see each other's), and the refunds the commands add, written after. Not a batch part of
 * its own: {@link TripRows} reads and writes it, which keeps the one lock order. Empty, it costs no statement.
 */
final class RefundRows {

    /** A trip's refunded total and the driver's part of it, as the batch has them. */
    record Totals(long refundedRials, long driverRials) {}

    private final Set<String> tripIds = new LinkedHashSet<>();
    private final Set<String> refundIds = new LinkedHashSet<>();
    private final Map<String, Totals> totals = new HashMap<>();
    private final Map<String, TripRefund> refunds = new HashMap<>();
    private final List<TripRefund> added = new ArrayList<>();

    void want(String tripId, String refundId) {
        tripIds.add(tripId);
        refundIds.add(refundId);
    }

    Set<String> tripIds() {
        return tripIds;
    }

    /** Reads the totals and the refunds asked for; call it once the trips are locked. */
    Future<Void> load(SqlConnection tx) {
        if (tripIds.isEmpty()) {
            return Future.succeededFuture();
        }
        Future<Void> read = tx.preparedQuery("SELECT trip_id, refunded_rials, refunded_driver_rials FROM trips WHERE trip_id = ANY($1)")
                .execute(Tuple.of((Object) tripIds.toArray(String[]::new)))
                .map(rows -> {
                    rows.forEach(row -> totals.put(row.getString(0), new Totals(row.getLong(1), row.getLong(2))));
                    return null;
                });
        Future<Void> stored = tx.preparedQuery("SELECT " + TripRefund.COLUMNS + " FROM trip_refunds WHERE refund_id = ANY($1)")
                .execute(Tuple.of((Object) refundIds.toArray(String[]::new)))
                .map(rows -> {
                    rows.forEach(row -> {
                        TripRefund refund = TripRefund.from(row);
                        refunds.put(refund.refundId(), refund);
                    });
                    return null;
                });
        return Future.all(read, stored).mapEmpty();
    }

    Totals totals(String tripId) {
        return totals.getOrDefault(tripId, new Totals(0, 0));
    }

    /** The refund of that id, stored or added by this batch; null when there is none. */
    TripRefund get(String refundId) {
        return refunds.get(refundId);
    }

    /** Adds a refund and its trip's new totals; undone with the command if the command is refused later. */
    void add(Batch batch, TripRefund refund) {
        Totals before = totals(refund.tripId());
        totals.put(refund.tripId(), new Totals(before.refundedRials() + refund.amountRials(),
                before.driverRials() + refund.driverRials()));
        refunds.put(refund.refundId(), refund);
        added.add(refund);
        batch.onUndo(() -> {
            totals.put(refund.tripId(), before);
            refunds.remove(refund.refundId());
            added.remove(added.size() - 1);
        });
    }

    /** The new refunds in one INSERT, each refunded trip's totals in one UPDATE. */
    List<Future<?>> write(SqlConnection tx) {
        if (added.isEmpty()) {
            return List.of();
        }
        int n = added.size();
        String[] ids = new String[n];
        String[] trips = new String[n];
        Long[] amounts = new Long[n];
        Long[] drivers = new Long[n];
        Long[] platforms = new Long[n];
        Long[] shortfalls = new Long[n];
        String[] reasons = new String[n];
        String[] tickets = new String[n];
        String[] transferIds = new String[n];
        OffsetDateTime[] times = new OffsetDateTime[n];
        Map<String, long[]> deltas = new LinkedHashMap<>();
        for (int i = 0; i < n; i++) {
            TripRefund r = added.get(i);
            ids[i] = r.refundId();
            trips[i] = r.tripId();
            amounts[i] = r.amountRials();
            drivers[i] = r.driverRials();
            platforms[i] = r.platformRials();
            shortfalls[i] = r.driverShortfallRials();
            reasons[i] = r.reason();
            tickets[i] = r.ticket();
            transferIds[i] = r.transferId();
            times[i] = r.createdAt();
            long[] delta = deltas.computeIfAbsent(r.tripId(), t -> new long[2]);
            delta[0] += r.amountRials();
            delta[1] += r.driverRials();
        }
        String[] deltaTrips = deltas.keySet().toArray(String[]::new);
        Long[] deltaRefunded = deltas.values().stream().map(d -> d[0]).toArray(Long[]::new);
        Long[] deltaDriver = deltas.values().stream().map(d -> d[1]).toArray(Long[]::new);
        return List.of(
                Batch.expect(tx.preparedQuery("INSERT INTO trip_refunds (" + TripRefund.COLUMNS + ") SELECT * FROM "
                                + "unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], "
                                + "$7::text[], $8::text[], $9::text[], $10::timestamptz[])")
                        .execute(Tuple.tuple(List.of(ids, trips, amounts, drivers, platforms, shortfalls, reasons, tickets,
                                transferIds, times))), n, "trip refunds"),
                // updated_at moves: the trip's money changed, and the checks read trips by it.
                Batch.expect(tx.preparedQuery("UPDATE trips SET refunded_rials = refunded_rials + d.refunded, "
                                + "refunded_driver_rials = refunded_driver_rials + d.driver, updated_at = now() "
                                + "FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS d(trip_id, refunded, driver) "
                                + "WHERE trips.trip_id = d.trip_id")
                        .execute(Tuple.of(deltaTrips, deltaRefunded, deltaDriver)), deltaTrips.length, "trips refunded"));
    }
}
