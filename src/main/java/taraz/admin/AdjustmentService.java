package taraz.admin;

import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import taraz.app.Failure;
import taraz.failpoint.Failpoints;
import taraz.journal.Journal;
import taraz.journal.JournalRecord;
import taraz.ledger.AccountKind;
import taraz.ledger.Ledger;
import taraz.ledger.Leg;
import taraz.ledger.Transfer;
import taraz.ledger.Tx;
import taraz.ops.Inflight;
import taraz.trip.TripService;

import java.time.Duration;
import java.util.List;

/**
 * Support's tools: a manual credit or debit of a wallet against the corrections account, and
 * the list of payments by state and age. An adjustment is one atomic phase between two journal
 * records; its transfer id comes from the request's idempotency key, so a retry posts once.
 */
public final class AdjustmentService {

    public static final String FLOW = "adjustment";

    private final Pool pool;
    private final Ledger ledger;
    private final Journal journal;
    private final Failpoints failpoints;
    private final String node;
    private final Inflight inflight;

    public AdjustmentService(Pool pool, Ledger ledger, Journal journal, Failpoints failpoints, String node,
                             Inflight inflight) {
        this.inflight = inflight;
        this.pool = pool;
        this.ledger = ledger;
        this.journal = journal;
        this.failpoints = failpoints;
        this.node = node;
    }

    public Future<JsonObject> adjust(String adjustmentId, String walletId, long amountRials, String reason,
                                     String ticket, int attempt) {
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
        long step = inflight.begin(intent.interrupted(TripService.INTERRUPTED));
        return journal.append(intent)
                .compose(i -> Tx.run(pool, tx -> ledger.wallet(tx, walletId)
                        .compose(wallet -> ledger.post(tx, transfer))
                        .compose(posted -> failpoints.at("adjustment.before-commit"))
                        .compose(v -> ledger.wallet(tx, walletId))))
                .compose(wallet -> failpoints.at("adjustment.after-commit").map(wallet))
                .compose(wallet -> journal.append(JournalRecord.of(node, FLOW, adjustmentId, "APPLIED",
                                JournalRecord.Status.TERMINAL, attempt, magnitudeRials, accounts, null, data.encode()))
                        .map(i -> new JsonObject().put("adjustmentId", adjustmentId).put("walletId", walletId)
                                .put("amount", amountRials).put("reason", reason).put("ticket", ticket)
                                .put("balance", wallet.balanceRials()).put("available", wallet.availableRials())))
                .recover(err -> err instanceof Failure failure
                        ? journal.append(JournalRecord.of(node, FLOW, adjustmentId, "REJECTED", JournalRecord.Status.TERMINAL,
                                attempt, magnitudeRials, accounts, failure.code(), data.encode()))
                        .transform(x -> Future.failedFuture(failure))
                        : Future.failedFuture(err))
                .onComplete(done -> inflight.end(step));
    }

    /** Recovery: the same adjustment again; its transfer id makes it post at most once. */
    public Future<JsonObject> resume(JournalRecord pending) {
        JsonObject data = new JsonObject(pending.data());
        return adjust(pending.paymentId(), data.getString("walletId"), data.getLong("amount"), data.getString("reason"),
                data.getString("ticket"), pending.attempt() + 1);
    }

    /** Payments of every flow, filtered by state and minimum age, oldest first. */
    public Future<JsonArray> payments(String state, Duration olderThan, int limit) {
        return pool.preparedQuery("SELECT flow, payment_id, state, amount_rials, wallet_id, created_at, updated_at, "
                        + "extract(epoch FROM now() - updated_at)::bigint AS age_seconds FROM payments "
                        + "WHERE ($1::text IS NULL OR state = $1) AND updated_at <= now() - $2 * interval '1 second' "
                        + "ORDER BY updated_at LIMIT $3")
                .execute(Tuple.of(state, olderThan.toSeconds(), limit))
                .map(rows -> {
                    JsonArray payments = new JsonArray();
                    rows.forEach(row -> payments.add(new JsonObject()
                            .put("flow", row.getString("flow"))
                            .put("paymentId", row.getString("payment_id"))
                            .put("state", row.getString("state"))
                            .put("amount", row.getLong("amount_rials"))
                            .put("walletId", row.getString("wallet_id"))
                            .put("createdAt", row.getOffsetDateTime("created_at").toInstant().toString())
                            .put("updatedAt", row.getOffsetDateTime("updated_at").toInstant().toString())
                            .put("ageSeconds", row.getLong("age_seconds"))));
                    return payments;
                });
    }
}
