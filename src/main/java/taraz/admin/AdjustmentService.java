package taraz.admin;

import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import taraz.failpoint.Failpoints;
import taraz.journal.Inflight;
import taraz.journal.Journal;
import taraz.journal.JournalRecord;
import taraz.ledger.AccountKind;
import taraz.ledger.BatchWriter;
import taraz.ledger.LedgerCommand.Answer;
import taraz.ledger.LedgerCommand.Idem;
import taraz.ledger.LedgerCommand.Outcome;
import taraz.ledger.Leg;
import taraz.ledger.Transfer;
import taraz.ledger.TransferCommand;
import taraz.ops.LogContext;

import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.List;

/**
 * Support's tools: a manual credit or debit of a wallet against the corrections account, and
 * the list of payments by state, wallet and age, a page at a time. An adjustment is one ledger command between two journal
 * records; its transfer id comes from the request's idempotency key, so a retry posts once.
 */
public final class AdjustmentService {

    public static final String FLOW = "adjustment";
    /** An adjustment's journal states: PENDING ADJUSTING, then TERMINAL APPLIED or REJECTED (with its cause). */
    public static final String APPLIED = "APPLIED";
    public static final String REJECTED = "REJECTED";
    /**
     * A trip refund as the payments listing shows it: posted in one ledger step, so REFUNDED from its row on. The trip
     * flow owns these names; they are repeated here because admin may not depend on trip (one layer).
     */
    public static final String TRIP_REFUND_FLOW = "trip_refund";
    public static final String REFUNDED = "REFUNDED";
    private static final Logger LOG = LoggerFactory.getLogger(AdjustmentService.class);

    private final Pool pool;
    private final BatchWriter writer;
    private final Journal journal;
    private final Failpoints failpoints;
    private final String node;
    private final Inflight inflight;

    public AdjustmentService(Pool pool, BatchWriter writer, Journal journal, Failpoints failpoints, String node,
                             Inflight inflight) {
        this.inflight = inflight;
        this.pool = pool;
        this.writer = writer;
        this.journal = journal;
        this.failpoints = failpoints;
        this.node = node;
    }

    /**
     * One adjustment: journal PENDING, its transfer through the ledger writer (the key's answer
     * stored in the same transaction), the after-commit failpoint, the outcome journaled.
     * {@code idem} is the request's key, or null (recovery).
     */
    public Future<Outcome<TransferCommand.Result>> adjust(String adjustmentId, String walletId, long amountRials,
                                                          String reason, String ticket, int attempt, Idem idem) {
        JsonObject data = new JsonObject().put("walletId", walletId).put("amount", amountRials)
                .put("reason", reason).put("ticket", ticket);
        List<String> accounts = List.of(walletId, AccountKind.CORRECTIONS_ID);
        long magnitudeRials = Math.abs(amountRials);
        Transfer transfer = new Transfer(adjustmentId, "adjustment", adjustmentId, reason + " (ticket " + ticket + ")",
                amountRials > 0
                        ? List.of(Leg.debit(AccountKind.CORRECTIONS_ID, magnitudeRials), Leg.credit(walletId, magnitudeRials))
                        : List.of(Leg.debit(walletId, magnitudeRials), Leg.credit(AccountKind.CORRECTIONS_ID, magnitudeRials)));
        JournalRecord intent = JournalRecord.of(node, FLOW, adjustmentId, "ADJUSTING", JournalRecord.Status.PENDING,
                attempt, magnitudeRials, accounts, null, data.encode());
        Future<Long> announced = journal.append(intent);
        long step = inflight.begin(intent.interrupted(Inflight.INTERRUPTED));
        TransferCommand command = new TransferCommand(transfer, walletId, idem, "adjustment.before-commit",
                result -> new Answer(201, new JsonObject().put("adjustmentId", adjustmentId).put("walletId", walletId)
                        .put("amount", amountRials).put("reason", reason).put("ticket", ticket)
                        .put("balance", result.walletBalanceRials())
                        .put("available", result.walletBalanceRials() - result.walletHeldRials()).encode(), false));
        return writer.submit(command, announced)
                .compose(outcome -> outcome.failure() != null || outcome.answer().replayed() ? Future.succeededFuture(outcome)
                        : failpoints.at("adjustment.after-commit").map(outcome))
                .compose(outcome -> {
                    String state = outcome.failure() == null ? APPLIED : REJECTED;
                    LogContext.info(LOG, adjustmentId, FLOW, state, "adjustment of wallet {} attempt {}: {}{}", walletId, attempt,
                            outcome.failure() == null ? state : "refused, " + outcome.failure().code().apiName(),
                            outcome.answer() != null && outcome.answer().replayed() ? " (replayed)" : "");
                    return Future.succeededFuture(outcome);
                })
                .compose(outcome -> journal.append(outcome.failure() == null
                                ? JournalRecord.of(node, FLOW, adjustmentId, APPLIED, JournalRecord.Status.TERMINAL, attempt,
                                magnitudeRials, accounts, null, data.encode())
                                : JournalRecord.of(node, FLOW, adjustmentId, REJECTED, JournalRecord.Status.TERMINAL, attempt,
                                magnitudeRials, accounts, outcome.failure().code().apiName(), data.encode()))
                        .map(outcome))
                .onComplete(done -> inflight.end(step));
    }

    /** Recovery: the same adjustment again; its transfer id makes it post at most once. */
    public Future<TransferCommand.Result> resume(JournalRecord pending) {
        JsonObject data = new JsonObject(pending.data());
        return adjust(pending.paymentId(), data.getString("walletId"), data.getLong("amount"), data.getString("reason"),
                data.getString("ticket"), pending.attempt() + 1, null)
                .compose(outcome -> outcome.failure() != null ? Future.failedFuture(outcome.failure())
                        : Future.succeededFuture(outcome.value()));
    }

    /** Where a page of payments starts: after the payment of this position in the listing's order. */
    public record After(OffsetDateTime updatedAt, String flow, String paymentId) {}

    /** A page of payments, and where the next one starts (null after the last). */
    public record Page(JsonArray payments, After next) {}

    /**
     * Payments of every flow, the adjustments and trip refunds included (a ledger transfer each, listed from it), filtered
     * by state, wallet and minimum age, oldest first, {@code limit} a page after {@code after} (null: the first page).
     * The order is total (time, flow, id), so a page never repeats or skips a payment that keeps its place.
     */
    public Future<Page> payments(String state, String walletId, Duration olderThan, After after, int limit) {
        Tuple args = Tuple.of(state, walletId, olderThan.toSeconds(), after == null ? null : after.updatedAt(),
                after == null ? null : after.flow(), after == null ? null : after.paymentId()).addValue(limit + 1);
        return pool.preparedQuery("SELECT flow, payment_id, state, amount_rials, wallet_id, created_at, updated_at, "
                        + "extract(epoch FROM now() - updated_at)::bigint AS age_seconds FROM ("
                        + "SELECT flow, payment_id, state, amount_rials, wallet_id, created_at, updated_at FROM payments "
                        + "UNION ALL "
                        // An adjustment's amount is its wallet's leg: negative for a debit.
                        + "SELECT '" + FLOW + "', t.id, '" + APPLIED + "', e.amount_rials, e.account_id, t.created_at, t.created_at "
                        + "FROM transfers t JOIN entries e ON e.transfer_id = t.id AND e.account_id <> '" + AccountKind.CORRECTIONS_ID
                        + "' WHERE t.kind = '" + FLOW + "' "
                        + "UNION ALL "
                        + "SELECT '" + TRIP_REFUND_FLOW + "', r.refund_id, '" + REFUNDED + "', r.amount_rials, "
                        + "tr.passenger_wallet_id, r.created_at, r.created_at FROM trip_refunds r JOIN trips tr USING (trip_id)"
                        + ") p WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR wallet_id = $2) "
                        + "AND updated_at <= now() - $3 * interval '1 second' "
                        + "AND ($4::timestamptz IS NULL OR (updated_at, flow, payment_id) > ($4, $5::text, $6::text)) "
                        + "ORDER BY updated_at, flow, payment_id LIMIT $7")
                .execute(args)
                .map(rows -> {
                    JsonArray payments = new JsonArray();
                    After last = null;
                    for (Row row : rows) {
                        if (payments.size() == limit) {
                            return new Page(payments, last);
                        }
                        OffsetDateTime updatedAt = row.getOffsetDateTime("updated_at");
                        last = new After(updatedAt, row.getString("flow"), row.getString("payment_id"));
                        payments.add(new JsonObject()
                                .put("flow", row.getString("flow"))
                                .put("paymentId", row.getString("payment_id"))
                                .put("state", row.getString("state"))
                                .put("amount", row.getLong("amount_rials"))
                                .put("walletId", row.getString("wallet_id"))
                                .put("createdAt", row.getOffsetDateTime("created_at").toInstant().toString())
                                .put("updatedAt", updatedAt.toInstant().toString())
                                .put("ageSeconds", row.getLong("age_seconds")));
                    }
                    return new Page(payments, null);
                });
    }
}
