package taraz.trip;

import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import taraz.app.Failure;
import taraz.failpoint.Failpoints;
import taraz.journal.Journal;
import taraz.journal.JournalRecord;
import taraz.ledger.AccountKind;
import taraz.ledger.Account;
import taraz.ledger.Hold;
import taraz.ledger.Ledger;
import taraz.ledger.Leg;
import taraz.ledger.Transfer;
import taraz.ledger.Tx;
import taraz.ops.Inflight;

import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * Trip payments: hold, settle, cancel and expire, each one atomic phase between two journal
 * records. The whole flow, every state and transition, is in this file:
 *
 * <pre>
 *   (none) --hold--> HELD --settle--> SETTLED
 *   (none) --settle (no hold)-------> SETTLED
 *   HELD --cancel--> VOIDED      HELD --sweeper, past its expiry--> EXPIRED
 * </pre>
 *
 * Each step: journal the intent (PENDING), run one database transaction that locks the trip
 * row and moves money through the ledger with a transfer id derived from the trip, journal the
 * outcome. A step that runs twice (a retry with another key, a concurrent request, recovery
 * replaying the journal) finds the trip already in its target state and moves nothing, so a
 * trip is settled at most once and a settlement is never half-posted: the passenger debit, the
 * driver credit and the commission are legs of one transfer.
 */
public final class TripService {

    public static final String FLOW = "trip";
    /** The cause journaled for a step this node let go of at its drain deadline. */
    public static final String INTERRUPTED = "interrupted: node stopped before the step ended";
    private static final Logger LOG = LoggerFactory.getLogger(TripService.class);

    private final Pool pool;
    private final Ledger ledger;
    private final Journal journal;
    private final Failpoints failpoints;
    private final String node;
    private final long holdTtlSeconds;
    private final Inflight inflight;

    public TripService(Pool pool, Ledger ledger, Journal journal, Failpoints failpoints, String node,
                       long holdTtlSeconds, Inflight inflight) {
        this.inflight = inflight;
        this.pool = pool;
        this.ledger = ledger;
        this.journal = journal;
        this.failpoints = failpoints;
        this.node = node;
        this.holdTtlSeconds = holdTtlSeconds;
    }

    // ---- the steps -------------------------------------------------------------------------

    public Future<Trip> hold(String tripId, String passengerWalletId, long amountRials, int attempt) {
        JsonObject data = new JsonObject().put("op", "hold").put("passengerWalletId", passengerWalletId)
                .put("amount", amountRials);
        return step(tripId, "HOLDING", amountRials, List.of(passengerWalletId), data, attempt,
                "trip.hold.after-commit", tx -> requireWallet(tx, passengerWalletId, AccountKind.PASSENGER)
                        .compose(p -> lockOrCreate(tx, tripId, passengerWalletId))
                        .compose(trip -> switch (trip.state()) {
                            case NEW -> {
                                OffsetDateTime expiresAt = OffsetDateTime.now(ZoneOffset.UTC).plusSeconds(holdTtlSeconds);
                                yield ledger.placeHold(tx, Trip.holdId(tripId), passengerWalletId, amountRials, expiresAt)
                                        .compose(hold -> update(tx, "UPDATE trips SET state = 'HELD', hold_id = $2, hold_rials = $3, "
                                                + "hold_expires_at = $4, updated_at = now() WHERE trip_id = $1",
                                                Tuple.of(tripId, hold.id(), amountRials, hold.expiresAt())));
                            }
                            case HELD -> trip.passengerWalletId().equals(passengerWalletId) && trip.holdRials() == amountRials
                                    ? Future.succeededFuture(trip)
                                    : Future.failedFuture(Failure.conflict("trip_already_held",
                                    "trip " + tripId + " already holds " + trip.holdRials() + " rials of wallet " + trip.passengerWalletId()));
                            case SETTLED -> Future.failedFuture(alreadySettled(tripId));
                            case VOIDED, EXPIRED -> Future.failedFuture(closed(trip));
                        }));
    }

    public Future<Trip> settle(String tripId, String passengerWalletId, String driverWalletId, long fareRials,
                               long commissionRials, int attempt) {
        if (commissionRials < 0 || commissionRials > fareRials) {
            return Future.failedFuture(Failure.unprocessable("invalid_commission",
                    "commission must be between 0 and the fare (" + fareRials + "), got " + commissionRials));
        }
        if (passengerWalletId.equals(driverWalletId)) {
            return Future.failedFuture(Failure.unprocessable("same_wallet", "passenger and driver wallets are the same"));
        }
        JsonObject data = new JsonObject().put("op", "settle").put("passengerWalletId", passengerWalletId)
                .put("driverWalletId", driverWalletId).put("fare", fareRials).put("commission", commissionRials);
        return step(tripId, "SETTLING", fareRials, List.of(passengerWalletId, driverWalletId,
                        AccountKind.PLATFORM_COMMISSION_ID), data, attempt, "trip.settle.after-commit",
                tx -> requireWallet(tx, passengerWalletId, AccountKind.PASSENGER)
                        .compose(p -> requireWallet(tx, driverWalletId, AccountKind.DRIVER))
                        .compose(d -> lockOrCreate(tx, tripId, passengerWalletId))
                        .compose(trip -> switch (trip.state()) {
                            case NEW, HELD -> {
                                if (!trip.passengerWalletId().equals(passengerWalletId)) {
                                    yield Future.failedFuture(Failure.conflict("trip_passenger_mismatch",
                                            "trip " + tripId + " holds funds of wallet " + trip.passengerWalletId()));
                                }
                                Future<Hold> released = trip.state() == Trip.State.HELD
                                        ? ledger.lockAccounts(tx, List.of(passengerWalletId, driverWalletId,
                                                AccountKind.PLATFORM_COMMISSION_ID))
                                        .compose(locked -> ledger.releaseHold(tx, trip.holdId(), Hold.State.POSTED))
                                        : Future.succeededFuture();
                                yield released
                                        .compose(h -> ledger.post(tx, settlement(tripId, passengerWalletId, driverWalletId,
                                                fareRials, commissionRials)))
                                        .compose(posted -> {
                                            if (posted != Ledger.Posted.NEW) {
                                                // The trip row said unsettled while its transfer exists: impossible.
                                                throw new IllegalStateException("trip " + tripId + " was " + trip.state()
                                                        + " but its settlement transfer already exists");
                                            }
                                            return update(tx, "UPDATE trips SET state = 'SETTLED', driver_wallet_id = $2, "
                                                    + "fare_rials = $3, commission_rials = $4, transfer_id = $5, updated_at = now() "
                                                    + "WHERE trip_id = $1", Tuple.of(tripId, driverWalletId, fareRials,
                                                    commissionRials, Trip.settleTransferId(tripId)));
                                        })
                                        .compose(settled -> failpoints.at("trip.settle.before-commit").map(settled));
                            }
                            case SETTLED -> sameSettlement(trip, passengerWalletId, driverWalletId, fareRials, commissionRials)
                                    ? Future.succeededFuture(trip)
                                    : Future.failedFuture(alreadySettled(tripId));
                            case VOIDED, EXPIRED -> Future.failedFuture(closed(trip));
                        }));
    }

    public Future<Trip> cancel(String tripId, int attempt) {
        return end(tripId, Hold.State.VOIDED, attempt);
    }

    /** The hold sweeper's step: expires the trip's hold if it is still active and past due. */
    public Future<Trip> expire(String tripId, int attempt) {
        return end(tripId, Hold.State.EXPIRED, attempt);
    }

    private Future<Trip> end(String tripId, Hold.State endState, int attempt) {
        boolean voiding = endState == Hold.State.VOIDED;
        JsonObject data = new JsonObject().put("op", voiding ? "cancel" : "expire");
        return step(tripId, voiding ? "VOIDING" : "EXPIRING", 0, List.of(), data, attempt,
                voiding ? "trip.cancel.after-commit" : null,
                tx -> lock(tx, tripId).compose(trip -> {
                    if (trip == null) {
                        return Future.failedFuture(Failure.notFound("trip_not_found", "no trip " + tripId));
                    }
                    if (trip.state() == Trip.State.SETTLED) {
                        return voiding ? Future.failedFuture(alreadySettled(tripId)) : Future.succeededFuture(trip);
                    }
                    boolean due = voiding || !trip.holdExpiresAt().isAfter(OffsetDateTime.now(ZoneOffset.UTC));
                    if (trip.state() != Trip.State.HELD || !due) {
                        return Future.succeededFuture(trip);
                    }
                    return ledger.releaseHold(tx, trip.holdId(), endState).compose(hold -> update(tx,
                            "UPDATE trips SET state = $2, updated_at = now() WHERE trip_id = $1",
                            Tuple.of(tripId, endState.name())));
                }));
    }

    /**
     * Recovery: drives a step whose last journal record is PENDING to its end through the same
     * code the request used, with the parameters the journal kept.
     */
    public Future<Trip> resume(JournalRecord pending) {
        JsonObject data = new JsonObject(pending.data());
        int attempt = pending.attempt() + 1;
        String tripId = pending.paymentId();
        return switch (data.getString("op")) {
            case "hold" -> hold(tripId, data.getString("passengerWalletId"), data.getLong("amount"), attempt);
            case "settle" -> settle(tripId, data.getString("passengerWalletId"), data.getString("driverWalletId"),
                    data.getLong("fare"), data.getLong("commission"), attempt);
            case "cancel" -> cancel(tripId, attempt);
            case "expire" -> expire(tripId, attempt);
            default -> throw new IllegalStateException("journal record of trip " + tripId + " has unknown op " + data);
        };
    }

    // ---- reads -----------------------------------------------------------------------------

    public Future<Trip> find(SqlClient client, String tripId) {
        return client.preparedQuery("SELECT " + Trip.COLUMNS + " FROM trips WHERE trip_id = $1 AND state <> 'NEW'")
                .execute(Tuple.of(tripId))
                .map(rows -> rows.rowCount() == 0 ? null : Trip.from(rows.iterator().next()));
    }

    /** The trip and its transfers, as the API shows it. */
    public Future<JsonObject> view(String tripId) {
        return find(pool, tripId).compose(trip -> {
            if (trip == null) {
                return Future.failedFuture(Failure.notFound("trip_not_found", "no trip " + tripId));
            }
            Future<JsonArray> transfers = trip.transferId() == null ? Future.succeededFuture(new JsonArray())
                    : ledger.transferEntries(pool, trip.transferId()).map(entries -> {
                JsonArray legs = new JsonArray();
                entries.forEach(e -> legs.add(new JsonObject().put("accountId", e.accountId()).put("amount", e.amountRials())));
                return new JsonArray().add(new JsonObject().put("transferId", trip.transferId()).put("legs", legs));
            });
            return transfers.map(t -> toJson(trip).put("transfers", t));
        });
    }

    /** Active holds past their expiry, oldest first, at most {@code limit}: the sweeper's work. */
    public Future<List<String>> expiredHolds(int limit) {
        return pool.preparedQuery("SELECT trip_id FROM trips WHERE state = 'HELD' AND hold_expires_at <= now() "
                        + "ORDER BY hold_expires_at LIMIT $1")
                .execute(Tuple.of(limit))
                .map(rows -> {
                    List<String> ids = new ArrayList<>();
                    rows.forEach(row -> ids.add(row.getString(0)));
                    return ids;
                });
    }

    static JsonObject toJson(Trip trip) {
        JsonObject json = new JsonObject()
                .put("tripId", trip.tripId())
                .put("state", trip.state().name())
                .put("passengerWalletId", trip.passengerWalletId())
                .put("driverWalletId", trip.driverWalletId())
                .put("fare", trip.fareRials())
                .put("commission", trip.commissionRials())
                .put("driverShare", trip.fareRials() == null ? null : trip.fareRials() - trip.commissionRials())
                .put("createdAt", trip.createdAt().toInstant().toString())
                .put("updatedAt", trip.updatedAt().toInstant().toString());
        if (trip.holdId() != null) {
            json.put("hold", new JsonObject().put("amount", trip.holdRials())
                    .put("expiresAt", trip.holdExpiresAt().toInstant().toString()));
        }
        return json;
    }

    // ---- the machinery of a step -----------------------------------------------------------

    /**
     * One step: journal PENDING, one transaction, an optional failpoint after the commit,
     * journal the outcome. A rule violation rolled the transaction back: the journal records
     * the trip as it still is. Any other failure leaves the PENDING record for recovery, since
     * the transaction's fate may be unknown (a lost commit acknowledgement).
     */
    private Future<Trip> step(String tripId, String pendingState, long amountRials, List<String> accounts,
                              JsonObject data, int attempt, String afterCommitPoint,
                              Function<SqlConnection, Future<Trip>> body) {
        JournalRecord intent = JournalRecord.of(node, FLOW, tripId, pendingState, JournalRecord.Status.PENDING,
                attempt, amountRials, accounts, null, data.encode());
        long[] step = {0};
        return journal.append(intent)
                .compose(index -> {
                    step[0] = inflight.begin(intent.interrupted(INTERRUPTED));
                    return Tx.run(pool, body);
                })
                .compose(trip -> afterCommitPoint == null ? Future.succeededFuture(trip)
                        : failpoints.at(afterCommitPoint).map(trip))
                .compose(trip -> journal.append(outcome(trip, attempt, amountRials, accounts, null, data)).map(trip))
                .recover(err -> {
                    if (!(err instanceof Failure failure)) {
                        LOG.error("txn={} flow=trip step={} attempt={} failed, left for recovery", tripId, pendingState, attempt, err);
                        return Future.failedFuture(err);
                    }
                    return find(pool, tripId)
                            .compose(trip -> journal.append(trip != null
                                    ? outcome(trip, attempt, amountRials, accounts, failure.code(), data)
                                    : JournalRecord.of(node, FLOW, tripId, "REJECTED", JournalRecord.Status.TERMINAL,
                                    attempt, amountRials, accounts, failure.code(), data.encode())))
                            .transform(journaled -> Future.failedFuture(failure));
                })
                .onComplete(done -> inflight.end(step[0]));
    }

    private JournalRecord outcome(Trip trip, int attempt, long amountRials, List<String> accounts, String cause,
                                  JsonObject data) {
        return JournalRecord.of(node, FLOW, trip.tripId(), trip.state().name(), trip.state().journalStatus(), attempt,
                amountRials, accounts, cause, data.encode());
    }

    private Future<Account> requireWallet(SqlConnection tx, String walletId, AccountKind kind) {
        return ledger.wallet(tx, walletId).compose(wallet -> wallet.kind() == kind ? Future.succeededFuture(wallet)
                : Future.failedFuture(Failure.unprocessable("wallet_kind_mismatch",
                "wallet " + walletId + " is a " + wallet.kind().apiName() + " wallet, not a " + kind.apiName() + " wallet")));
    }

    /**
     * Locks the trip row, creating it as NEW if absent. The insert comes first so that two
     * transactions creating the same trip serialize on its primary key instead of both
     * finding nothing to lock.
     */
    private Future<Trip> lockOrCreate(SqlConnection tx, String tripId, String passengerWalletId) {
        return tx.preparedQuery("INSERT INTO trips (trip_id, state, passenger_wallet_id) VALUES ($1, 'NEW', $2) "
                        + "ON CONFLICT (trip_id) DO NOTHING")
                .execute(Tuple.of(tripId, passengerWalletId))
                .compose(inserted -> lock(tx, tripId));
    }

    private Future<Trip> lock(SqlConnection tx, String tripId) {
        return tx.preparedQuery("SELECT " + Trip.COLUMNS + " FROM trips WHERE trip_id = $1 FOR UPDATE")
                .execute(Tuple.of(tripId))
                .map(rows -> rows.rowCount() == 0 ? null : Trip.from(rows.iterator().next()));
    }

    private Future<Trip> update(SqlConnection tx, String sql, Tuple args) {
        return tx.preparedQuery(sql + " RETURNING " + Trip.COLUMNS).execute(args).map(rows -> {
            Trip trip = Trip.from(rows.iterator().next());
            if (trip.state() == Trip.State.NEW) {
                throw new IllegalStateException("trip " + trip.tripId() + " about to commit in state NEW");
            }
            return trip;
        });
    }

    private static Transfer settlement(String tripId, String passengerWalletId, String driverWalletId, long fareRials,
                                       long commissionRials) {
        long driverShareRials = fareRials - commissionRials;
        List<Leg> legs = new ArrayList<>(3);
        legs.add(Leg.debit(passengerWalletId, fareRials));
        if (driverShareRials > 0) {
            legs.add(Leg.credit(driverWalletId, driverShareRials));
        }
        if (commissionRials > 0) {
            legs.add(Leg.credit(AccountKind.PLATFORM_COMMISSION_ID, commissionRials));
        }
        return new Transfer(Trip.settleTransferId(tripId), "trip_settle", tripId, null, legs);
    }

    private static boolean sameSettlement(Trip trip, String passengerWalletId, String driverWalletId, long fareRials,
                                          long commissionRials) {
        return trip.passengerWalletId().equals(passengerWalletId) && driverWalletId.equals(trip.driverWalletId())
                && trip.fareRials() == fareRials && trip.commissionRials() == commissionRials;
    }

    private static Failure alreadySettled(String tripId) {
        return Failure.conflict("trip_already_settled", "trip " + tripId + " is already settled with other amounts or wallets");
    }

    private static Failure closed(Trip trip) {
        return Failure.conflict(trip.state() == Trip.State.VOIDED ? "trip_voided" : "trip_expired",
                "trip " + trip.tripId() + " is " + trip.state().name().toLowerCase() + "; its hold was released");
    }
}
