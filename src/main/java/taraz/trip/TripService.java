package taraz.trip;

import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import taraz.domain.DomainError;
import taraz.domain.ErrorCode;
import taraz.failpoint.Failpoints;
import taraz.journal.Inflight;
import taraz.journal.Journal;
import taraz.journal.JournalRecord;
import taraz.ledger.AccountKind;
import taraz.ledger.Batch;
import taraz.ledger.BatchWriter;
import taraz.ledger.Hold;
import taraz.ledger.Ledger;
import taraz.ledger.LedgerCommand;
import taraz.ledger.LedgerCommand.Answer;
import taraz.ledger.LedgerCommand.Idem;
import taraz.ledger.LedgerCommand.Outcome;
import taraz.ledger.Leg;
import taraz.ledger.Transfer;
import taraz.ops.LogContext;
import taraz.ops.Metrics;

import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Trip payments: hold, settle, cancel and expire, each one atomic phase between two journal
 * records. The whole flow, every state and transition, is in this file:
 *
 * <pre>
 *   (none) --hold--> HELD --settle--> SETTLED
 *   (none) --settle (no hold)-------> SETTLED
 *   HELD --cancel--> VOIDED      HELD --sweeper, past its expiry--> EXPIRED
 *   SETTLED --refund (support; any number, together at most the fare)--> SETTLED
 * </pre>
 *
 * Each step: journal the intent (PENDING), hand the step to the ledger writer as a command
 * that, inside its batch's transaction, finds the trip row locked and moves money through the
 * ledger with a transfer id derived from the trip (and stores the request's answer under its
 * idempotency key), then journal the outcome. A step that runs twice (a retry with another key, a concurrent request, recovery
 * replaying the journal) finds the trip already in its target state and moves nothing, so a
 * trip is settled at most once and a settlement is never half-posted: the passenger debit, the
 * driver credit and the commission are legs of one transfer.
 */
public final class TripService {

    public static final String FLOW = "trip";
    /** The journal's flow of a refund: one payment per refund (its id), so refunds of one trip never hide each other's PENDING record. */
    public static final String REFUND_FLOW = "trip_refund";
    private static final int REFUNDS_SHOWN_MAX = 100;
    private static final Logger LOG = LoggerFactory.getLogger(TripService.class);

    private final Pool pool;
    private final Ledger ledger;
    private final BatchWriter writer;
    private final Journal journal;
    private final Failpoints failpoints;
    private final String node;
    private final long holdTtlSeconds;
    private final Inflight inflight;

    public TripService(Pool pool, Ledger ledger, BatchWriter writer, Journal journal, Failpoints failpoints, String node,
                       long holdTtlSeconds, Inflight inflight) {
        this.writer = writer;
        this.inflight = inflight;
        this.pool = pool;
        this.ledger = ledger;
        this.journal = journal;
        this.failpoints = failpoints;
        this.node = node;
        this.holdTtlSeconds = holdTtlSeconds;
    }

    // ---- the steps -------------------------------------------------------------------------

    /** Places the trip's hold on the passenger's wallet. {@code idem} is the request's key, or null. */
    public Future<Outcome<Trip>> hold(String tripId, String passengerWalletId, long amountRials, int attempt, Idem idem) {
        JsonObject data = new JsonObject().put("op", "hold").put("passengerWalletId", passengerWalletId)
                .put("amount", amountRials);
        return step(tripId, Trip.Step.HOLDING, amountRials, List.of(passengerWalletId), data, attempt, "trip.hold.after-commit",
                new HoldCommand(tripId, passengerWalletId, amountRials, holdTtlSeconds, idem));
    }

    public Future<Outcome<Trip>> settle(String tripId, String passengerWalletId, String driverWalletId, long fareRials,
                                        long commissionRials, int attempt, Idem idem) {
        if (commissionRials < 0 || commissionRials > fareRials) {
            return Future.failedFuture(new DomainError(ErrorCode.INVALID_COMMISSION,
                    "commission must be between 0 and the fare (" + fareRials + "), got " + commissionRials));
        }
        if (passengerWalletId.equals(driverWalletId)) {
            return Future.failedFuture(new DomainError(ErrorCode.SAME_WALLET, "passenger and driver wallets are the same"));
        }
        JsonObject data = new JsonObject().put("op", "settle").put("passengerWalletId", passengerWalletId)
                .put("driverWalletId", driverWalletId).put("fare", fareRials).put("commission", commissionRials);
        return step(tripId, Trip.Step.SETTLING, fareRials, List.of(passengerWalletId, driverWalletId,
                        AccountKind.PLATFORM_COMMISSION_ID), data, attempt, "trip.settle.after-commit",
                new SettleCommand(tripId, passengerWalletId, driverWalletId, fareRials, commissionRials, idem));
    }

    public Future<Outcome<Trip>> cancel(String tripId, int attempt, Idem idem) {
        return end(tripId, Hold.State.VOIDED, attempt, idem);
    }

    /** The hold sweeper's step: expires the trip's hold if it is still active and past due. */
    public Future<Trip> expire(String tripId, int attempt) {
        return end(tripId, Hold.State.EXPIRED, attempt, null).compose(TripService::valueOrFailure);
    }

    private Future<Outcome<Trip>> end(String tripId, Hold.State endState, int attempt, Idem idem) {
        boolean voiding = endState == Hold.State.VOIDED;
        JsonObject data = new JsonObject().put("op", voiding ? "cancel" : "expire");
        return step(tripId, voiding ? Trip.Step.VOIDING : Trip.Step.EXPIRING, 0, List.of(), data, attempt,
                voiding ? "trip.cancel.after-commit" : null, new EndCommand(tripId, endState, idem));
    }

    /**
     * Refunds {@code amountRials} of a settled trip's fare to its passenger, taken from the driver and the platform in
     * the fare's proportions ({@link TripRefund#driverPart}); the driver may go below zero by their part (reported as
     * the refund's shortfall). {@code refundId} names the refund: run again (a retry, recovery) it posts once. Journaled
     * as its own payment: PENDING {@code REFUNDING}, then {@code REFUNDED} or {@code REJECTED}.
     */
    public Future<Outcome<Refunded>> refund(String tripId, String refundId, long amountRials, String reason, String ticket,
                                            int attempt, Idem idem) {
        JsonObject data = new JsonObject().put("tripId", tripId).put("amount", amountRials).put("reason", reason)
                .put("ticket", ticket);
        JournalRecord intent = JournalRecord.of(node, REFUND_FLOW, refundId, TripRefund.Step.REFUNDING.name(), JournalRecord.Status.PENDING,
                attempt, amountRials, List.of(), null, data.encode());
        Future<Long> announced = journal.append(intent);
        long step = inflight.begin(intent.interrupted(Inflight.INTERRUPTED));
        return writer.submit(new RefundCommand(tripId, refundId, amountRials, reason, ticket, idem), announced)
                .compose(outcome -> outcome.failure() != null || outcome.answer().replayed() ? Future.succeededFuture(outcome)
                        : failpoints.at("refund.trip.after-commit").map(outcome))
                .map(outcome -> {
                    String cause = outcome.failure() == null ? null : outcome.failure().code().apiName();
                    String state = (cause == null ? TripRefund.Step.REFUNDED : TripRefund.Step.REJECTED).name();
                    TripRefund refund = outcome.value() == null ? null : outcome.value().refund();
                    if (cause == null && refund != null && refund.driverShortfallRials() > 0
                            && outcome.value().posted() == Ledger.Posted.NEW) {
                        LogContext.warn(LOG, refundId, REFUND_FLOW, state, "refund of trip {} took the driver's wallet below "
                                + "zero: {} rials of the driver's {} were not covered", tripId, refund.driverShortfallRials(),
                                refund.driverRials());
                    } else {
                        LogContext.info(LOG, refundId, REFUND_FLOW, state, "refund of trip {} attempt {}: {}{}", tripId, attempt,
                                cause == null ? state : "refused, " + cause,
                                outcome.answer() != null && outcome.answer().replayed() ? " (replayed)" : "");
                    }
                    journal.append(JournalRecord.of(node, REFUND_FLOW, refundId, state, JournalRecord.Status.TERMINAL, attempt,
                                    amountRials, List.of(), cause, data.encode()))
                            .onFailure(err -> LogContext.warn(LOG, refundId, REFUND_FLOW, state, "refund outcome not "
                                    + "journaled; recovery will journal it: {}", err.toString()));
                    return outcome;
                })
                .onFailure(err -> LogContext.error(LOG, refundId, REFUND_FLOW, TripRefund.Step.REFUNDING.name(), "refund of trip {} attempt {} "
                        + "failed, left for recovery", tripId, attempt, err))
                .onComplete(done -> inflight.end(step));
    }

    /** Recovery: the refund again, with what its journal record kept; its id makes it post at most once. */
    public Future<Refunded> resumeRefund(JournalRecord pending) {
        JsonObject data = new JsonObject(pending.data());
        return refund(data.getString("tripId"), pending.paymentId(), data.getLong("amount"), data.getString("reason"),
                data.getString("ticket"), pending.attempt() + 1, null)
                .compose(outcome -> outcome.failure() != null ? Future.failedFuture(outcome.failure())
                        : Future.succeededFuture(outcome.value()));
    }

    /** A refund, and whether this step posted it or found it posted before (a retry, recovery). */
    public record Refunded(TripRefund refund, Ledger.Posted posted) {}

    /** A step's trip, or its refusal as a failed future: for the callers that answer no client. */
    public static Future<Trip> valueOrFailure(Outcome<Trip> outcome) {
        return outcome.failure() != null ? Future.failedFuture(outcome.failure()) : Future.succeededFuture(outcome.value());
    }

    /**
     * Recovery: drives a step whose last journal record is PENDING to its end through the same
     * code the request used, with the parameters the journal kept.
     */
    public Future<Trip> resume(JournalRecord pending) {
        JsonObject data = new JsonObject(pending.data());
        int attempt = pending.attempt() + 1;
        String tripId = pending.paymentId();
        Future<Outcome<Trip>> step = switch (data.getString("op")) {
            case "hold" -> hold(tripId, data.getString("passengerWalletId"), data.getLong("amount"), attempt, null);
            case "settle" -> settle(tripId, data.getString("passengerWalletId"), data.getString("driverWalletId"),
                    data.getLong("fare"), data.getLong("commission"), attempt, null);
            case "cancel" -> cancel(tripId, attempt, null);
            case "expire" -> end(tripId, Hold.State.EXPIRED, attempt, null);
            default -> throw new IllegalStateException("journal record of trip " + tripId + " has unknown op " + data);
        };
        return step.compose(TripService::valueOrFailure);
    }

    // ---- reads -----------------------------------------------------------------------------

    public Future<Trip> find(SqlClient client, String tripId) {
        return client.preparedQuery("SELECT " + Trip.COLUMNS + " FROM trips WHERE trip_id = $1 AND state <> '" + Trip.State.NEW + "'")
                .execute(Tuple.of(tripId))
                .map(rows -> rows.rowCount() == 0 ? null : Trip.from(rows.iterator().next()));
    }

    /**
     * The trip and its settlement's transfer, as the API shows it; once refunded, also its refunded total and its refunds
     * (the first {@value #REFUNDS_SHOWN_MAX}).
     */
    public Future<JsonObject> view(String tripId) {
        return find(pool, tripId).compose(trip -> {
            if (trip == null) {
                return Future.failedFuture(notFound(tripId));
            }
            Future<JsonArray> transfers = trip.transferId() == null ? Future.succeededFuture(new JsonArray())
                    : ledger.transferEntries(trip.transferId()).map(entries -> {
                JsonArray legs = new JsonArray();
                entries.forEach(e -> legs.add(new JsonObject().put("accountId", e.accountId()).put("amount", e.amountRials())));
                return new JsonArray().add(new JsonObject().put("transferId", trip.transferId()).put("legs", legs));
            });
            Future<Long> refunded = pool.preparedQuery("SELECT refunded_rials FROM trips WHERE trip_id = $1")
                    .execute(Tuple.of(tripId)).map(rows -> rows.iterator().next().getLong(0));
            Future<JsonArray> refunds = pool.preparedQuery("SELECT " + TripRefund.COLUMNS + " FROM trip_refunds "
                            + "WHERE trip_id = $1 ORDER BY created_at, refund_id LIMIT $2")
                    .execute(Tuple.of(tripId, REFUNDS_SHOWN_MAX))
                    .map(rows -> {
                        JsonArray list = new JsonArray();
                        rows.forEach(row -> list.add(TripRefund.from(row).toJson()));
                        return list;
                    });
            return Future.all(transfers, refunded, refunds).map(all -> {
                JsonObject json = toJson(trip).put("transfers", transfers.result());
                // Only once refunded: before, the view is the one a trip step answers with.
                return refunded.result() == 0 ? json : json.put("refunded", refunded.result()).put("refunds", refunds.result());
            });
        });
    }

    /** Active holds past their expiry, oldest first, at most {@code limit}: the sweeper's work. */
    public Future<List<String>> expiredHolds(int limit) {
        return pool.preparedQuery("SELECT trip_id FROM trips WHERE state = '" + Trip.State.HELD + "' AND hold_expires_at <= now() "
                        + "ORDER BY hold_expires_at LIMIT $1")
                .execute(Tuple.of(limit))
                .map(rows -> {
                    List<String> ids = new ArrayList<>();
                    rows.forEach(row -> ids.add(row.getString(0)));
                    return ids;
                });
    }

    /** Holds still active past their expiry by more than {@code graceSeconds}: ones the sweeper did not end. */
    public Future<Metrics.Stuck> stuck(long graceSeconds) {
        return pool.preparedQuery("SELECT count(*) AS n, coalesce(max(extract(epoch FROM now() - hold_expires_at)), 0)::bigint AS age "
                        + "FROM trips WHERE state = '" + Trip.State.HELD + "' AND hold_expires_at < now() - $1 * interval '1 second'")
                .execute(Tuple.of(graceSeconds))
                .map(Metrics.Stuck::from);
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
            json.put("hold", new JsonObject().put("amount", trip.holdRials()).put("state", holdState(trip.state()).name())
                    .put("expiresAt", trip.holdExpiresAt().toInstant().toString()));
        }
        return json;
    }

    /** The state of a trip's hold, which the trip's own state decides: a settle posts it, a cancel or the sweeper ends it. */
    private static Hold.State holdState(Trip.State state) {
        return switch (state) {
            case HELD -> Hold.State.HELD;
            case SETTLED -> Hold.State.POSTED;
            case VOIDED -> Hold.State.VOIDED;
            case EXPIRED -> Hold.State.EXPIRED;
            case NEW -> throw new IllegalStateException("a NEW trip is never shown");
        };
    }

    // ---- the machinery of a step -----------------------------------------------------------

    /**
     * One step: journal PENDING, the command through the ledger writer (one batch, one
     * transaction, which commits only once the PENDING record is on disk: the sync overlaps the
     * batch's work), an optional failpoint after the commit, then the outcome journaled. The
     * answer does not wait for the outcome's sync: if the node dies first, recovery finds the
     * PENDING record and runs the step again, which finds it done and journals it. A refused
     * command journals REJECTED with its cause. A failed batch leaves the PENDING record for
     * recovery, since its fate may be unknown (a lost commit acknowledgement).
     */
    private Future<Outcome<Trip>> step(String tripId, Trip.Step pendingStep, long amountRials, List<String> accounts,
                                       JsonObject data, int attempt, String afterCommitPoint, LedgerCommand<Trip> command) {
        JournalRecord intent = JournalRecord.of(node, FLOW, tripId, pendingStep.name(), JournalRecord.Status.PENDING,
                attempt, amountRials, accounts, null, data.encode());
        Future<Long> announced = journal.append(intent);
        long step = inflight.begin(intent.interrupted(Inflight.INTERRUPTED));
        return writer.submit(command, announced)
                .compose(outcome -> afterCommitPoint == null || outcome.failure() != null || outcome.answer().replayed()
                        ? Future.succeededFuture(outcome) : failpoints.at(afterCommitPoint).map(outcome))
                .map(outcome -> {
                    Trip trip = outcome.value();
                    String cause = cause(outcome);
                    boolean refused = cause != null || trip == null;
                    String state = refused ? Trip.Step.REJECTED.name() : trip.state().name();
                    LogContext.info(LOG, tripId, FLOW, state, "trip {} attempt {}: {}{}", pendingStep, attempt,
                            refused ? "refused, " + cause : state,
                            outcome.answer() != null && outcome.answer().replayed() ? " (replayed)" : "");
                    journal.append(refused ? rejection(tripId, trip, attempt, amountRials, accounts, cause, data)
                                    : outcome(trip, attempt, amountRials, accounts, null, data))
                            .onFailure(err -> LogContext.warn(LOG, tripId, FLOW, state, "trip {} outcome not journaled; "
                                    + "recovery will journal it: {}", pendingStep, err.toString()));
                    return outcome;
                })
                .onFailure(err -> LogContext.error(LOG, tripId, FLOW, pendingStep.name(), "trip {} attempt {} failed, "
                        + "left for recovery", pendingStep, attempt, err))
                .onComplete(done -> inflight.end(step));
    }

    private JournalRecord outcome(Trip trip, int attempt, long amountRials, List<String> accounts, String cause,
                                  JsonObject data) {
        return JournalRecord.of(node, FLOW, trip.tripId(), trip.state().name(), trip.state().journalStatus(), attempt,
                amountRials, accounts, cause, data.encode());
    }

    /**
     * Why a step was refused, null when it was not: its refusal's code, or for the replay of a refused request (its
     * answer stored under its key, no failure of its own) the code of the stored answer.
     */
    private static String cause(Outcome<Trip> outcome) {
        if (outcome.failure() != null) {
            return outcome.failure().code().apiName();
        }
        Answer answer = outcome.answer();
        if (answer != null && answer.replayed() && answer.status() >= 400) {
            JsonObject error = new JsonObject(answer.body()).getJsonObject("error");
            return error == null ? Integer.toString(answer.status()) : error.getString("code");
        }
        return null;
    }

    /**
     * A refused step, journaled as REJECTED with its cause and the refused parameters, never as the trip's own state:
     * a settle refused on a settled trip would otherwise be a second SETTLED record with other amounts. Its status is
     * the trip's (RESTING while a hold still waits), TERMINAL when the trip is not in the database.
     */
    private JournalRecord rejection(String tripId, Trip trip, int attempt, long amountRials, List<String> accounts,
                                    String cause, JsonObject data) {
        JournalRecord.Status status = trip == null ? JournalRecord.Status.TERMINAL : trip.state().journalStatus();
        return JournalRecord.of(node, FLOW, tripId, Trip.Step.REJECTED.name(), status, attempt, amountRials, accounts,
                cause, data.encode());
    }

    /** The answer for a trip step that succeeded: the trip as {@code GET /v1/trips/{id}} shows it. */
    private static Answer answer(Trip trip) {
        JsonArray transfers = new JsonArray();
        if (trip.transferId() != null) {
            JsonArray legs = new JsonArray();
            settlement(trip.tripId(), trip.passengerWalletId(), trip.driverWalletId(), trip.fareRials(), trip.commissionRials())
                    .legs().forEach(leg -> legs.add(new JsonObject().put("accountId", leg.accountId())
                            .put("amount", leg.amountRials())));
            transfers.add(new JsonObject().put("transferId", trip.transferId()).put("legs", legs));
        }
        return new Answer(200, toJson(trip).put("transfers", transfers).encode(), false);
    }

    /** The trip after a change, as the batch will write it ({@code updated_at = now()}). */
    private static Trip changed(Batch batch, Trip before, String tripId, Trip.State state, String passengerWalletId,
                                String driverWalletId, String holdId, Long holdRials, OffsetDateTime holdExpiresAt,
                                Long fareRials, Long commissionRials, String transferId) {
        return new Trip(tripId, state, passengerWalletId, driverWalletId, holdId, holdRials, holdExpiresAt, fareRials,
                commissionRials, transferId, before == null ? batch.now() : before.createdAt(), batch.now());
    }

    /** A ledger command about one trip, whose row the batch locks and reads; a refusal of it is noted for the story. */
    private abstract static class OfTrip<T> implements LedgerCommand<T> {
        final String tripId;
        final Idem idem;

        OfTrip(String tripId, Idem idem) {
            this.tripId = tripId;
            this.idem = idem;
        }

        @Override
        public Idem idem() {
            return idem;
        }

        @Override
        public void prepare(Batch batch) {
            TripRows.of(batch).want(tripId);
        }

        /** The step's refusal, with what it asked: its wallets and amount, or the trip's where it names none. */
        abstract TripRows.Rejection rejection(Trip trip, String code);

        @Override
        public void refused(Batch batch, DomainError refusal) {
            TripRows rows = TripRows.of(batch);
            rows.rejected(rejection(rows.get(tripId), refusal.code().apiName()));
        }

        @Override
        public String toString() {
            return getClass().getSimpleName() + " of trip " + tripId;
        }
    }

    /** The steps as ledger commands: each applies its trip's transition to the batch's locked state. */
    private abstract static class TripCommand extends OfTrip<Trip> {

        TripCommand(String tripId, Idem idem) {
            super(tripId, idem);
        }

        @Override
        public Answer render(Trip trip, Batch batch) {
            return answer(trip);
        }

        @Override
        public Trip current(Batch batch) {
            return TripRows.of(batch).get(tripId);
        }
    }

    private static final class HoldCommand extends TripCommand {
        private final String passengerWalletId;
        private final long amountRials;
        private final long ttlSeconds;

        HoldCommand(String tripId, String passengerWalletId, long amountRials, long ttlSeconds, Idem idem) {
            super(tripId, idem);
            this.passengerWalletId = passengerWalletId;
            this.amountRials = amountRials;
            this.ttlSeconds = ttlSeconds;
        }

        @Override
        public void prepare(Batch batch) {
            super.prepare(batch);
            batch.lockAccounts(List.of(passengerWalletId));
        }

        @Override
        TripRows.Rejection rejection(Trip trip, String code) {
            return new TripRows.Rejection(tripId, "hold", code, passengerWalletId, null, amountRials);
        }

        @Override
        public Trip apply(Batch batch) {
            batch.requireWallet(passengerWalletId, AccountKind.PASSENGER);
            TripRows rows = TripRows.of(batch);
            Trip trip = rows.get(tripId);
            if (trip == null) {
                OffsetDateTime expiresAt = batch.now().plusSeconds(ttlSeconds);
                batch.placeHold(Trip.holdId(tripId), passengerWalletId, amountRials, expiresAt);
                Trip held = changed(batch, null, tripId, Trip.State.HELD, passengerWalletId, null, Trip.holdId(tripId),
                        amountRials, expiresAt, null, null, null);
                rows.put(batch, held);
                return held;
            }
            return switch (trip.state()) {
                case HELD -> {
                    if (trip.passengerWalletId().equals(passengerWalletId) && trip.holdRials() == amountRials) {
                        yield trip;
                    }
                    throw new DomainError(ErrorCode.TRIP_ALREADY_HELD, "trip " + tripId + " already holds " + trip.holdRials()
                            + " rials of wallet " + trip.passengerWalletId());
                }
                case SETTLED -> throw alreadySettled(tripId);
                case VOIDED, EXPIRED -> throw closed(trip);
                case NEW -> throw new IllegalStateException("trip " + tripId + " was committed as NEW");
            };
        }
    }

    private static final class SettleCommand extends TripCommand {
        private final String passengerWalletId;
        private final String driverWalletId;
        private final long fareRials;
        private final long commissionRials;

        SettleCommand(String tripId, String passengerWalletId, String driverWalletId, long fareRials, long commissionRials,
                      Idem idem) {
            super(tripId, idem);
            this.passengerWalletId = passengerWalletId;
            this.driverWalletId = driverWalletId;
            this.fareRials = fareRials;
            this.commissionRials = commissionRials;
        }

        @Override
        public void prepare(Batch batch) {
            super.prepare(batch);
            batch.lockAccounts(List.of(passengerWalletId, driverWalletId, AccountKind.PLATFORM_COMMISSION_ID));
        }

        @Override
        public String beforeCommitPoint() {
            return "trip.settle.before-commit";
        }

        @Override
        TripRows.Rejection rejection(Trip trip, String code) {
            return new TripRows.Rejection(tripId, "settle", code, passengerWalletId, driverWalletId, fareRials);
        }

        @Override
        public Trip apply(Batch batch) {
            batch.requireWallet(passengerWalletId, AccountKind.PASSENGER);
            batch.requireWallet(driverWalletId, AccountKind.DRIVER);
            TripRows rows = TripRows.of(batch);
            Trip trip = rows.get(tripId);
            Trip.State state = trip == null ? Trip.State.NEW : trip.state();
            return switch (state) {
                case NEW, HELD -> {
                    if (trip != null && !trip.passengerWalletId().equals(passengerWalletId)) {
                        throw new DomainError(ErrorCode.TRIP_PASSENGER_MISMATCH,
                                "trip " + tripId + " holds funds of wallet " + trip.passengerWalletId());
                    }
                    if (trip != null) {
                        batch.releaseHold(trip.holdId(), trip.passengerWalletId(), trip.holdRials(), Hold.State.POSTED);
                    }
                    batch.post(settlement(tripId, passengerWalletId, driverWalletId, fareRials, commissionRials));
                    Trip settled = changed(batch, trip, tripId, Trip.State.SETTLED, passengerWalletId, driverWalletId,
                            trip == null ? null : trip.holdId(), trip == null ? null : trip.holdRials(),
                            trip == null ? null : trip.holdExpiresAt(), fareRials, commissionRials, Trip.settleTransferId(tripId));
                    rows.put(batch, settled);
                    yield settled;
                }
                case SETTLED -> {
                    if (sameSettlement(trip, passengerWalletId, driverWalletId, fareRials, commissionRials)) {
                        yield trip;
                    }
                    throw alreadySettled(tripId);
                }
                case VOIDED, EXPIRED -> throw closed(trip);
            };
        }
    }

    /** Cancel (VOIDED) or expire (EXPIRED): releases an active hold; a trip already ended stays as it is. */
    private static final class EndCommand extends TripCommand {
        private final Hold.State endState;

        EndCommand(String tripId, Hold.State endState, Idem idem) {
            super(tripId, idem);
            this.endState = endState;
        }

        @Override
        TripRows.Rejection rejection(Trip trip, String code) {
            String step = endState == Hold.State.VOIDED ? "cancel" : "expire";
            return trip == null ? new TripRows.Rejection(tripId, step, code, null, null, null)
                    : new TripRows.Rejection(tripId, step, code, trip.passengerWalletId(), trip.driverWalletId(), trip.holdRials());
        }

        @Override
        public Trip apply(Batch batch) {
            boolean voiding = endState == Hold.State.VOIDED;
            TripRows rows = TripRows.of(batch);
            Trip trip = rows.get(tripId);
            if (trip == null) {
                throw notFound(tripId);
            }
            if (trip.state() == Trip.State.SETTLED) {
                if (voiding) {
                    throw alreadySettled(tripId);
                }
                return trip;
            }
            boolean due = voiding || !trip.holdExpiresAt().isAfter(batch.now());
            if (trip.state() != Trip.State.HELD || !due) {
                return trip;
            }
            batch.releaseHold(trip.holdId(), trip.passengerWalletId(), trip.holdRials(), endState);
            Trip ended = changed(batch, trip, tripId, Trip.State.valueOf(endState.name()), trip.passengerWalletId(),
                    trip.driverWalletId(), trip.holdId(), trip.holdRials(), trip.holdExpiresAt(), trip.fareRials(),
                    trip.commissionRials(), trip.transferId());
            rows.put(batch, ended);
            return ended;
        }
    }

    /**
     * A refund of a settled trip: under the trip's lock, at most what is left of its fare; one transfer back to the
     * passenger from the driver (who may go below zero) and the platform. A refund id found posted before answers
     * with that refund, posting nothing (200); the same id with another trip or amount is a transfer_conflict.
     */
    private static final class RefundCommand extends OfTrip<Refunded> {
        private final String refundId;
        private final long amountRials;
        private final String reason;
        private final String ticket;

        RefundCommand(String tripId, String refundId, long amountRials, String reason, String ticket, Idem idem) {
            super(tripId, idem);
            this.refundId = refundId;
            this.amountRials = amountRials;
            this.reason = reason;
            this.ticket = ticket;
        }

        @Override
        public void prepare(Batch batch) {
            super.prepare(batch);
            TripRows.of(batch).refunds().want(tripId, refundId);
        }

        @Override
        public String beforeCommitPoint() {
            return "refund.trip.before-commit";
        }

        @Override
        TripRows.Rejection rejection(Trip trip, String code) {
            return new TripRows.Rejection(tripId, "refund", code, trip == null ? null : trip.passengerWalletId(),
                    trip == null ? null : trip.driverWalletId(), amountRials);
        }

        @Override
        public Refunded apply(Batch batch) {
            TripRows rows = TripRows.of(batch);
            RefundRows refunds = rows.refunds();
            TripRefund existing = refunds.get(refundId);
            if (existing != null) {
                if (existing.tripId().equals(tripId) && existing.amountRials() == amountRials) {
                    return new Refunded(existing, Ledger.Posted.ALREADY_POSTED);
                }
                throw new DomainError(ErrorCode.TRANSFER_CONFLICT, "refund " + refundId + " was made before: "
                        + existing.amountRials() + " rials of trip " + existing.tripId());
            }
            Trip trip = rows.get(tripId);
            if (trip == null) {
                throw notFound(tripId);
            }
            if (trip.state() != Trip.State.SETTLED) {
                throw new DomainError(ErrorCode.TRIP_NOT_SETTLED, "trip " + tripId + " is " + trip.state().name()
                        .toLowerCase(Locale.ROOT) + "; only a settled trip's fare can be refunded");
            }
            long fareRials = trip.fareRials();
            long commissionRials = trip.commissionRials();
            RefundRows.Totals before = refunds.totals(tripId);
            if (amountRials > fareRials - before.refundedRials()) {
                throw new DomainError(ErrorCode.REFUND_EXCEEDS_TOTAL, "trip " + tripId + " has " + before.refundedRials()
                        + " of its fare of " + fareRials + " rials refunded; " + amountRials + " more would exceed it");
            }
            long driverRials = TripRefund.driverPart(before.refundedRials() + amountRials, fareRials, commissionRials)
                    - before.driverRials();
            long platformRials = amountRials - driverRials;
            String transferId = TripRefund.transferId(tripId, refundId);
            List<Leg> legs = new ArrayList<>(3);
            legs.add(Leg.credit(trip.passengerWalletId(), amountRials));
            if (driverRials > 0) {
                legs.add(Leg.debit(trip.driverWalletId(), driverRials));
            }
            if (platformRials > 0) {
                legs.add(Leg.debit(AccountKind.PLATFORM_COMMISSION_ID, platformRials));
            }
            Transfer transfer = new Transfer(transferId, "trip_refund", tripId, reason + " (ticket " + ticket + ")", legs);
            long shortfallRials = batch.postAllowingDebt(transfer, trip.driverWalletId());
            TripRefund refund = new TripRefund(refundId, tripId, amountRials, driverRials, platformRials, shortfallRials,
                    reason, ticket, transferId, batch.now());
            refunds.add(batch, refund);
            return new Refunded(refund, Ledger.Posted.NEW);
        }

        @Override
        public Answer render(Refunded result, Batch batch) {
            return new Answer(result.posted() == Ledger.Posted.NEW ? 201 : 200, result.refund().toJson().encode(), false);
        }

        @Override
        public Refunded current(Batch batch) {
            TripRefund refund = TripRows.of(batch).refunds().get(refundId);
            return refund == null ? null : new Refunded(refund, Ledger.Posted.ALREADY_POSTED);
        }
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

    private static DomainError notFound(String tripId) {
        return new DomainError(ErrorCode.TRIP_NOT_FOUND, "no trip " + tripId);
    }

    private static DomainError alreadySettled(String tripId) {
        return new DomainError(ErrorCode.TRIP_ALREADY_SETTLED, "trip " + tripId + " is already settled with other amounts or wallets");
    }

    private static DomainError closed(Trip trip) {
        return new DomainError(trip.state() == Trip.State.VOIDED ? ErrorCode.TRIP_VOIDED : ErrorCode.TRIP_EXPIRED,
                "trip " + trip.tripId() + " is " + trip.state().name().toLowerCase() + "; its hold was released");
    }
}
