package taraz.trip;

import io.vertx.core.Future;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import taraz.ledger.AccountKind;
import taraz.ledger.Batch;
import taraz.ledger.BatchPart;
import taraz.ledger.BatchWriter;

import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The trips of one ledger batch: locked (sorted by id) and read before the commands run, changed
 * by them in memory, written after: the new ones in one INSERT, the changed ones in one UPDATE.
 * A trip is created in its first committed state (HELD or SETTLED), never as NEW. Two nodes
 * creating one trip at once: the second INSERT finds the row, the batch rolls back and runs again,
 * and then sees the trip. The refunds of the batch's trips ride along ({@link RefundRows}).
 */
final class TripRows implements BatchPart {

    private final Set<String> wanted = new LinkedHashSet<>();
    private final Map<String, Trip> trips = new HashMap<>();
    private final Set<String> created = new LinkedHashSet<>();
    private final Set<String> changed = new LinkedHashSet<>();
    private final RefundRows refunds = new RefundRows();
    private final List<Rejection> rejections = new ArrayList<>();

    /** A refused step of a trip, for {@code trip_rejections}: what was asked, of which wallets, and the refusal's code. */
    record Rejection(String tripId, String step, String code, String passengerWalletId, String driverWalletId,
                     Long amountRials) {}

    static TripRows of(Batch batch) {
        return batch.part(TripRows.class, TripRows::new);
    }

    void want(String tripId) {
        wanted.add(tripId);
    }

    /** The refunds of this batch's trips, read under their lock. */
    RefundRows refunds() {
        return refunds;
    }

    /** The trip as the batch has it now, or null if there is none. */
    Trip get(String tripId) {
        return trips.get(tripId);
    }

    /** Puts the trip's new state; undone with the command if the command is refused later. */
    void put(Batch batch, Trip trip) {
        String id = trip.tripId();
        Trip before = trips.put(id, trip);
        boolean wasCreated = created.contains(id);
        boolean wasChanged = changed.contains(id);
        if (before == null) {
            created.add(id);
        } else if (!wasCreated) {
            changed.add(id);
        }
        batch.onUndo(() -> {
            if (before == null) {
                trips.remove(id);
            } else {
                trips.put(id, before);
            }
            if (!wasCreated) {
                created.remove(id);
            }
            if (!wasChanged) {
                changed.remove(id);
            }
        });
    }

    /**
     * Notes a refused step, written with the batch (a refusal commits like any answer). Not undone: the command that
     * was refused has nothing left to undo. A step that names no wallet (a cancel of a trip that does not exist)
     * belongs to no customer's story and is not noted.
     */
    void rejected(Rejection rejection) {
        if (rejection.passengerWalletId() != null || rejection.driverWalletId() != null) {
            rejections.add(rejection);
        }
    }

    @Override
    public Future<Void> load(SqlConnection tx) {
        String[] ids = wanted.stream().sorted().toArray(String[]::new);
        return tx.preparedQuery("SELECT " + Trip.COLUMNS + " FROM trips WHERE trip_id = ANY($1) "
                        + "ORDER BY array_position($1, trip_id) FOR UPDATE")
                .execute(Tuple.of((Object) ids))
                .compose(rows -> {
                    rows.forEach(row -> {
                        Trip trip = Trip.from(row);
                        trips.put(trip.tripId(), trip);
                    });
                    return refunds.load(tx);
                });
    }

    @Override
    public Collection<String> accounts() {
        List<String> accounts = new ArrayList<>();
        trips.values().forEach(trip -> accounts.add(trip.passengerWalletId()));
        // A refund moves money from the trip's driver and the platform back to its passenger.
        refunds.tripIds().stream().map(trips::get).filter(trip -> trip != null && trip.driverWalletId() != null)
                .forEach(trip -> {
                    accounts.add(trip.driverWalletId());
                    accounts.add(AccountKind.PLATFORM_COMMISSION_ID);
                });
        return accounts;
    }

    @Override
    public List<Future<?>> write(SqlConnection tx) {
        List<Future<?>> writes = new ArrayList<>(4);
        if (!created.isEmpty()) {
            Columns c = new Columns(created);
            int expected = created.size();
            writes.add(tx.preparedQuery("INSERT INTO trips (trip_id, state, passenger_wallet_id, driver_wallet_id, hold_id, "
                            + "hold_rials, hold_expires_at, fare_rials, commission_rials, transfer_id) "
                            + "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], "
                            + "$7::timestamptz[], $8::bigint[], $9::bigint[], $10::text[]) ON CONFLICT (trip_id) DO NOTHING")
                    .execute(c.tuple())
                    .map(rows -> {
                        if (rows.rowCount() != expected) {
                            throw new BatchWriter.RaceException((expected - rows.rowCount())
                                    + " trip(s) of this batch were created by another writer meanwhile");
                        }
                        return rows;
                    }));
        }
        if (!changed.isEmpty()) {
            Columns c = new Columns(changed);
            writes.add(Batch.expect(tx.preparedQuery("UPDATE trips SET state = u.state, driver_wallet_id = u.driver, "
                            + "hold_id = u.hold_id, hold_rials = u.hold_rials, hold_expires_at = u.hold_expires_at, "
                            + "fare_rials = u.fare, commission_rials = u.commission, transfer_id = u.transfer_id, "
                            + "updated_at = now() FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], "
                            + "$6::bigint[], $7::timestamptz[], $8::bigint[], $9::bigint[], $10::text[]) "
                            + "AS u(trip_id, state, passenger, driver, hold_id, hold_rials, hold_expires_at, fare, commission, "
                            + "transfer_id) WHERE trips.trip_id = u.trip_id")
                    .execute(c.tuple()), changed.size(), "trips updated"));
        }
        writes.addAll(refunds.write(tx));
        // Only when a command was refused: a batch of accepted steps (the settle hot path) sends nothing more.
        if (!rejections.isEmpty()) {
            int n = rejections.size();
            writes.add(Batch.expect(tx.preparedQuery("INSERT INTO trip_rejections (trip_id, step, code, passenger_wallet_id, "
                            + "driver_wallet_id, amount_rials) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], "
                            + "$4::text[], $5::text[], $6::bigint[])")
                    .execute(Tuple.tuple(List.of(
                            rejections.stream().map(Rejection::tripId).toArray(String[]::new),
                            rejections.stream().map(Rejection::step).toArray(String[]::new),
                            rejections.stream().map(Rejection::code).toArray(String[]::new),
                            rejections.stream().map(Rejection::passengerWalletId).toArray(String[]::new),
                            rejections.stream().map(Rejection::driverWalletId).toArray(String[]::new),
                            rejections.stream().map(Rejection::amountRials).toArray(Long[]::new)))), n, "trip rejections"));
        }
        return writes;
    }

    /** The trips' columns as arrays, for unnest. */
    private final class Columns {
        final String[] ids;
        final String[] states;
        final String[] passengers;
        final String[] drivers;
        final String[] holdIds;
        final Long[] holdRials;
        final OffsetDateTime[] holdExpiries;
        final Long[] fares;
        final Long[] commissions;
        final String[] transferIds;

        Columns(Set<String> which) {
            int n = which.size();
            ids = new String[n];
            states = new String[n];
            passengers = new String[n];
            drivers = new String[n];
            holdIds = new String[n];
            holdRials = new Long[n];
            holdExpiries = new OffsetDateTime[n];
            fares = new Long[n];
            commissions = new Long[n];
            transferIds = new String[n];
            int i = 0;
            for (String id : which) {
                Trip trip = trips.get(id);
                ids[i] = id;
                states[i] = trip.state().name();
                passengers[i] = trip.passengerWalletId();
                drivers[i] = trip.driverWalletId();
                holdIds[i] = trip.holdId();
                holdRials[i] = trip.holdRials();
                holdExpiries[i] = trip.holdExpiresAt();
                fares[i] = trip.fareRials();
                commissions[i] = trip.commissionRials();
                transferIds[i] = trip.transferId();
                i++;
            }
        }

        Tuple tuple() {
            return Tuple.tuple(List.of(ids, states, passengers, drivers, holdIds, holdRials, holdExpiries, fares,
                    commissions, transferIds));
        }
    }
}
