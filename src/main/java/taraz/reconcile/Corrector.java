package taraz.reconcile;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import taraz.app.Failure;
import taraz.journal.JournalRecord;
import taraz.ledger.Hold;
import taraz.ledger.Ledger;
import taraz.ledger.Leg;
import taraz.ledger.Transfer;
import taraz.ledger.Tx;
import taraz.psp.Psp;
import taraz.topup.Topup;
import taraz.topup.TopupService;
import taraz.trip.Trip;
import taraz.trip.TripService;

import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Carries out a finding's plan. A payment taraz knows is finished through its own flow (the
 * top-up's credit phase and transfer key, the trip's expiry), so the gateway's recovery, its
 * sweeper and this can never both move its money. Anything else is one ledger transfer against
 * the corrections account, {@code reconcile:<finding key>}, written in one transaction with its
 * row in {@code reconciliation_actions}: two runs at once, or one run twice, post it once.
 */
public final class Corrector {

    /** What became of a finding: {@code fixed}, {@code already_fixed} (by another run or flow), {@code failed}, {@code manual}. */
    public record Outcome(String status, String done) {}

    private final Pool pool;
    private final Ledger ledger;
    private final TopupService topups;
    private final TripService trips;
    private final Psp psp;
    private final Rules rules;
    private final String runId;

    public Corrector(Pool pool, Ledger ledger, TopupService topups, TripService trips, Psp psp, Rules rules, String runId) {
        this.pool = pool;
        this.ledger = ledger;
        this.topups = topups;
        this.trips = trips;
        this.psp = psp;
        this.rules = rules;
        this.runId = runId;
    }

    public Future<Outcome> apply(Finding f) {
        JsonObject plan = f.plan();
        Future<Outcome> outcome = switch (plan.getString("do")) {
            case "credit" -> credit(f, plan);
            case "advance" -> topups.advance(plan.getString("topup"), 1).map(t -> t.state().journalStatus()
                    == JournalRecord.Status.TERMINAL
                    ? new Outcome("fixed", "The top-up was finished through its flow: " + t.state() + ".")
                    : new Outcome("failed", "Still " + t.state() + ": the bank has not told us its outcome."));
            case "expire" -> expire(plan.getString("topup"));
            case "correction" -> correction(f, f.paymentId(), plan.getJsonObject("legs"));
            case "reverse" -> reverse(f, plan);
            case "repair_balance" -> repairBalance(f, plan.getString("account"));
            case "expire_trip" -> trips.expire(plan.getString("trip"), 1).compose(trip -> trip.state() == Trip.State.EXPIRED
                    ? Future.succeededFuture(new Outcome("fixed", "The trip's hold expired through the trip flow; the money is available again."))
                    : expireHold(f, trip.holdId(), trip.passengerWalletId()));
            case "expire_hold" -> expireHold(f, plan.getString("hold"), plan.getString("account"));
            case "recheck" -> ledger.checkInvariants(pool).map(inv -> inv.sumOfBalancesRials() == 0
                    ? new Outcome("fixed", "The balances sum to 0 again after the balance repairs.")
                    : new Outcome("failed", "The balances still sum to " + Finding.rials(inv.sumOfBalancesRials()) + "."));
            default -> Future.succeededFuture(new Outcome("manual", "Nothing done: support must trace this payment."));
        };
        return outcome.recover(e -> Future.succeededFuture(new Outcome("failed", "Not fixed: " + reason(e))));
    }

    private Future<Outcome> credit(Finding f, JsonObject plan) {
        String topupId = plan.getString("topup");
        Future<Topup> first = plan.getBoolean("verifyFirst", false)
                ? topups.advance(topupId, 1) : Future.succeededFuture(null);
        return first.compose(t -> t != null && t.state() == Topup.State.CREDITED ? Future.succeededFuture(t)
                        : plan.getBoolean("bankVerified", false) ? topups.creditSettled(topupId, "reconciled_settled")
                        : Future.succeededFuture(t))
                .map(t -> t != null && t.state() == Topup.State.CREDITED
                        ? new Outcome("fixed", "Credited " + Finding.rials(f.amountRials())
                        + " to the wallet by completing the top-up (transfer " + Topup.creditTransferId(topupId) + ").")
                        : new Outcome("failed", "Not credited: the bank has not verified the payment yet"
                        + (t == null ? "." : " (top-up " + t.state() + ")."))); 
    }

    private Future<Outcome> expire(String topupId) {
        return topups.advance(topupId, 1).compose(t -> t.state().journalStatus() == JournalRecord.Status.TERMINAL
                ? Future.succeededFuture(t) : topups.expireUnsettled(topupId, "not_in_settlement"))
                .map(t -> t.state().journalStatus() == JournalRecord.Status.TERMINAL
                        ? new Outcome("fixed", "The top-up was closed as " + t.state() + "; no money had moved.")
                        : new Outcome("failed", "Still " + t.state() + "."));
    }

    /** A second payment at the bank: returned to the card while the bank allows it, else refunded to the wallet. */
    private Future<Outcome> reverse(Finding f, JsonObject plan) {
        String authority = plan.getString("authority");
        String paidAt = plan.getString("paidAt");
        boolean inWindow = paidAt != null
                && OffsetDateTime.parse(paidAt).isAfter(OffsetDateTime.now().minusSeconds(rules.reverseWindowSeconds()));
        if (!inWindow) {
            return correction(f, authority, plan.getJsonObject("legs"));
        }
        return psp.reverse(authority).recover(e -> Future.succeededFuture(false)).compose(reversed -> !reversed
                ? correction(f, authority, plan.getJsonObject("legs"))
                : record(pool, f, "psp_reverse", null).map(recorded -> new Outcome(recorded ? "fixed" : "already_fixed",
                "The bank returned the second payment of " + Finding.rials(f.amountRials()) + " to the card (reverse of "
                        + authority + ").")));
    }

    private Future<Outcome> correction(Finding f, String paymentId, JsonObject legsJson) {
        List<Leg> legs = new ArrayList<>();
        for (Map.Entry<String, Object> leg : legsJson) {
            legs.add(new Leg(leg.getKey(), ((Number) leg.getValue()).longValue()));
        }
        Transfer transfer = new Transfer("reconcile:" + f.key(), "correction", paymentId, f.kind().apiName(), legs);
        return Tx.run(pool, tx -> record(tx, f, "correction", transfer.id()).compose(first -> !first
                        ? Future.succeededFuture(Ledger.Posted.ALREADY_POSTED)
                        : ledger.post(tx, transfer).compose(posted -> posted == Ledger.Posted.NEW
                        ? Future.succeededFuture(posted)
                        : Future.failedFuture(new IllegalStateException("transfer " + transfer.id() + " exists without its action row")))))
                .map(posted -> new Outcome(posted == Ledger.Posted.NEW ? "fixed" : "already_fixed",
                        describe(f, transfer)));
    }

    private static String describe(Finding f, Transfer transfer) {
        StringBuilder done = new StringBuilder();
        for (Leg leg : transfer.legs()) {
            if (leg.accountId().equals(f.walletId())) {
                done.append(leg.amountRials() > 0 ? "Credited " : "Debited ").append(Finding.rials(Math.abs(leg.amountRials())))
                        .append(leg.amountRials() > 0 ? " to " : " from ").append("the wallet. ");
            }
        }
        return done.append("Correction transfer ").append(transfer.id()).append(": ")
                .append(String.join(", ", transfer.legs().stream()
                        .map(l -> l.accountId() + " " + (l.amountRials() > 0 ? "+" : "") + l.amountRials()).toList()))
                .append(".").toString();
    }

    private Future<Outcome> repairBalance(Finding f, String accountId) {
        return Tx.run(pool, tx -> ledger.lockAccounts(tx, List.of(accountId))
                .compose(v -> tx.preparedQuery("UPDATE accounts SET "
                                + "balance_rials = (SELECT coalesce(sum(amount_rials), 0) FROM entries WHERE account_id = $1), "
                                + "held_rials = (SELECT coalesce(sum(amount_rials), 0) FROM holds WHERE account_id = $1 AND state = 'HELD') "
                                + "WHERE id = $1 RETURNING balance_rials, held_rials")
                        .execute(Tuple.of(accountId)))
                .compose(rows -> record(tx, f, "repair_balance", null)
                        .map(first -> new Outcome(first ? "fixed" : "already_fixed", "The cached balance was set to the sum of the entries: "
                                + Finding.rials(rows.iterator().next().getLong(0)) + " (held " + Finding.rials(rows.iterator().next().getLong(1))
                                + "). No money moved."))));
    }

    private Future<Outcome> expireHold(Finding f, String holdId, String accountId) {
        return Tx.run(pool, tx -> ledger.lockAccounts(tx, List.of(accountId))
                .compose(v -> ledger.releaseHold(tx, holdId, Hold.State.EXPIRED)))
                .map(hold -> hold == null ? new Outcome("already_fixed", "The hold had already ended.")
                        : new Outcome("fixed", "The expired hold of " + Finding.rials(hold.amountRials())
                        + " was released; the money is available again."));
    }

    /** The finding's action row; false when another run wrote it first (it waits for that run's commit). */
    private Future<Boolean> record(io.vertx.sqlclient.SqlClient client, Finding f, String action, String transferId) {
        return client.preparedQuery("INSERT INTO reconciliation_actions (finding_key, kind, payment_id, wallet_id, amount_rials, "
                        + "action, transfer_id, run_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (finding_key) DO NOTHING")
                .execute(Tuple.of(f.key(), f.kind().apiName(), f.paymentId(), f.walletId(), f.amountRials(), action)
                        .addValue(transferId).addValue(runId))
                .map(rows -> rows.rowCount() == 1);
    }

    private static String reason(Throwable e) {
        if (e instanceof Failure failure) {
            return failure.code() + ": " + failure.getMessage();
        }
        return e.getMessage() == null ? e.toString() : e.getMessage();
    }

    static <T> T await(Future<T> future, long timeoutMillis) throws Exception {
        return future.toCompletionStage().toCompletableFuture().get(timeoutMillis, TimeUnit.MILLISECONDS);
    }
}
