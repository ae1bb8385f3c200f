package taraz.reconcile;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import taraz.domain.DomainError;
import taraz.failpoint.Failpoints;
import taraz.journal.JournalRecord;
import taraz.ledger.Batch;
import taraz.ledger.BatchWriter;
import taraz.ledger.Hold;
import taraz.ledger.LedgerCommand;
import taraz.ledger.Ledger;
import taraz.ledger.Leg;
import taraz.ledger.Transfer;
import taraz.ledger.Tx;
import taraz.payout.Payout;
import taraz.payout.PayoutService;
import taraz.psp.Psp;
import taraz.topup.Driver;
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

    /**
     * A claim on a reverse lasts this many bank calls (the reverse, then the inquiry after a lost
     * answer, and one to spare): past it, the claimant's calls have surely ended.
     */
    private static final int CLAIM_LEASE_CALLS = 3;
    /** How often a run looks again at a claim another run holds. */
    private static final long CLAIM_POLL_MILLIS = 100;

    /** What became of a finding: {@code fixed}, {@code already_fixed} (by another run or flow), {@code failed}, {@code manual}. */
    public record Outcome(String status, String done) {}

    private final Vertx vertx;
    private final Pool pool;
    private final Ledger ledger;
    private final BatchWriter writer;
    private final TopupService topups;
    private final TripService trips;
    private final PayoutService payouts;
    private final Psp psp;
    private final Rules rules;
    /** The bank reverses a payment only this soon after it was made. */
    private final long pspWindowSeconds;
    private final String runId;
    private final Failpoints failpoints;
    private final boolean pspOffline;
    private final boolean trustSettlement;

    /**
     * {@code pspOffline}: the bank is not asked at all ({@code --offline}), so no reverse of this
     * run can have reached it. {@code trustSettlement}: a settlement row the bank cannot confirm
     * is credited all the same ({@code --trust-settlement}).
     */
    public Corrector(Vertx vertx, Pool pool, Ledger ledger, BatchWriter writer, TopupService topups, TripService trips,
                     PayoutService payouts, Psp psp, Rules rules,
                     long pspWindowSeconds, String runId,
                     Failpoints failpoints, boolean pspOffline, boolean trustSettlement) {
        this.vertx = vertx;
        this.pool = pool;
        this.ledger = ledger;
        this.writer = writer;
        this.topups = topups;
        this.trips = trips;
        this.payouts = payouts;
        this.psp = psp;
        this.rules = rules;
        this.pspWindowSeconds = pspWindowSeconds;
        this.runId = runId;
        this.failpoints = failpoints;
        this.pspOffline = pspOffline;
        this.trustSettlement = trustSettlement;
    }

    public Future<Outcome> apply(Finding f) {
        String confirm = f.plan().confirmAtBank();
        Future<Outcome> outcome = confirm == null ? carryOut(f) : confirmedAtBank(f, confirm);
        return outcome.recover(e -> Future.succeededFuture(new Outcome("failed", "Not fixed: " + reason(e))));
    }

    /**
     * A settlement row is evidence, not an order: for a top-up our flow closed as not paid, the
     * bank's inquiry must say VERIFIED before any money moves. When the bank cannot answer, support
     * decides, unless the operator vouched for the report ({@code --trust-settlement}).
     */
    private Future<Outcome> confirmedAtBank(Finding f, String authority) {
        return psp.inquiry(authority).transform(asked -> {
            if (asked.succeeded()) {
                return asked.result() == Psp.Inquiry.VERIFIED ? carryOut(f) : Future.succeededFuture(new Outcome("manual",
                        "Nothing done: the settlement report lists the payment as settled, but the bank's inquiry of "
                                + authority + " says " + asked.result() + "."));
            }
            return trustSettlement ? carryOut(f).map(o -> new Outcome(o.status(), o.done()
                    + " The bank could not confirm it; credited on the settlement report (--trust-settlement)."))
                    : Future.succeededFuture(new Outcome("manual", "Nothing done: the bank could not confirm the settled "
                    + "payment (" + reason(asked.cause()) + "). Run again when it answers, or with --trust-settlement."));
        });
    }

    private Future<Outcome> carryOut(Finding f) {
        Plan plan = f.plan();
        // Java 17 has no switch over a sealed type's records yet: one branch per record, Manual last.
        if (plan instanceof Plan.Credit credit) {
            return credit(f, credit);
        }
        if (plan instanceof Plan.Advance advance) {
            return topups.advance(advance.topup(), 1, Driver.RECONCILE).map(t -> t.state().journalStatus() == JournalRecord.Status.TERMINAL
                    ? new Outcome("fixed", "The top-up was finished through its flow: " + t.state() + ".")
                    : new Outcome("failed", "Still " + t.state() + ": the bank has not told us its outcome."));
        }
        if (plan instanceof Plan.Expire expire) {
            return expire(expire.topup());
        }
        if (plan instanceof Plan.Correction correction) {
            return correction(f, correction.legs());
        }
        if (plan instanceof Plan.Reverse reverse) {
            return reverse(f, reverse);
        }
        if (plan instanceof Plan.RepairBalance repair) {
            return repairBalance(f, repair.account());
        }
        if (plan instanceof Plan.ExpireTrip expireTrip) {
            return trips.expire(expireTrip.trip(), 1).compose(trip -> trip.state() == Trip.State.EXPIRED
                    ? Future.succeededFuture(new Outcome("fixed", "The trip's hold expired through the trip flow; the money is available again."))
                    : expireHold(f, trip.holdId(), trip.passengerWalletId()));
        }
        if (plan instanceof Plan.ExpireHold expireHold) {
            return expireHold(f, expireHold.hold(), expireHold.account());
        }
        if (plan instanceof Plan.PostPayout post) {
            return payouts.postPaidAtProvider(post.payout(), "paid_at_provider")
                    .map(p -> p.state() == Payout.State.PAID
                            ? new Outcome("fixed", "The payout's post was made through the payout flow: the wallet gave back "
                            + Finding.rials(p.amountRials()) + " it had been refunded while the provider paid it.")
                            : new Outcome("failed", "The payout is " + p.state() + ", not FAILED: nothing posted."))
                    .recover(e -> Future.succeededFuture(new Outcome("manual", "Nothing done: " + reason(e)
                            + "; support must recover the money from the driver.")));
        }
        if (plan instanceof Plan.Recheck) {
            return ledger.checkInvariants().map(inv -> inv.sumOfBalancesRials() == 0
                    ? new Outcome("fixed", "The balances sum to 0 again after the balance repairs.")
                    : new Outcome("failed", "The balances still sum to " + Finding.rials(inv.sumOfBalancesRials()) + "."));
        }
        return Future.succeededFuture(new Outcome("manual", "Nothing done: support must trace this payment."));
    }

    private Future<Outcome> credit(Finding f, Plan.Credit plan) {
        String topupId = plan.topup();
        Future<Topup> first = plan.verifyFirst() ? topups.advance(topupId, 1, Driver.RECONCILE) : Future.succeededFuture(null);
        return first.compose(t -> t != null && t.state() == Topup.State.CREDITED ? Future.succeededFuture(t)
                        : plan.bankVerified() ? topups.creditSettled(topupId, "reconciled_settled")
                        : Future.succeededFuture(t))
                .map(t -> t != null && t.state() == Topup.State.CREDITED
                        ? new Outcome("fixed", "Credited " + Finding.rials(f.amountRials())
                        + " to the wallet by completing the top-up (transfer " + Topup.creditTransferId(topupId) + ").")
                        : new Outcome("failed", "Not credited: the bank has not verified the payment yet"
                        + (t == null ? "." : " (top-up " + t.state() + ")."))); 
    }

    private Future<Outcome> expire(String topupId) {
        return topups.advance(topupId, 1, Driver.RECONCILE).compose(t -> t.state().journalStatus() == JournalRecord.Status.TERMINAL
                ? Future.succeededFuture(t) : topups.expireUnsettled(topupId, "not_in_settlement"))
                .map(t -> t.state().journalStatus() == JournalRecord.Status.TERMINAL
                        ? new Outcome("fixed", "The top-up was closed as " + t.state() + "; no money had moved.")
                        : new Outcome("failed", "Still " + t.state() + "."));
    }

    /**
     * A second payment at the bank, refunded exactly once: returned to the card while the bank
     * allows it, else to the wallet. The finding's action row is claimed as {@code reversing}
     * before the bank is asked, so a run that dies, or whose reverse times out or loses its answer,
     * leaves a trace. Whoever takes such a claim over asks the bank first (inquiry): reversed there,
     * it is recorded and nothing is posted; still paid, it is reversed again inside the window or
     * refunded to the wallet after it; no answer, nothing is done. The claim's lease keeps a second
     * run off while the first one's call may still be on its way; no call is made inside a
     * transaction.
     */
    private Future<Outcome> reverse(Finding f, Plan.Reverse plan) {
        return reverse(f, plan, System.currentTimeMillis() + 2 * leaseMillis());
    }

    /** {@code untilMillis}: how long to wait for another run's claim to end, two leases: it ends within one. */
    private Future<Outcome> reverse(Finding f, Plan.Reverse plan, long untilMillis) {
        return claim(f).compose(attempts -> {
            if (attempts == 0) {
                return action(f.key()).compose(action -> !"reversing".equals(action)
                        ? Future.succeededFuture(new Outcome("already_fixed", "Already refunded (" + action + ")."))
                        : System.currentTimeMillis() < untilMillis
                        ? vertx.timer(CLAIM_POLL_MILLIS).compose(v -> reverse(f, plan, untilMillis))
                        : Future.succeededFuture(new Outcome("failed", "Not fixed: another run holds the claim to reverse it.")));
            }
            if (attempts == 1) {
                // No reverse of ours has been sent for it: nothing to ask the bank first.
                return inWindow(plan) && !pspOffline ? reverseAtBank(f, plan) : refundToWallet(f, plan);
            }
            if (pspOffline) {
                return Future.succeededFuture(new Outcome("failed", "Not fixed: an earlier run asked the bank to reverse it and "
                        + "never learned the outcome; only the bank's inquiry can tell, so run without --offline."));
            }
            return psp.inquiry(f.paymentId()).transform(asked -> asked.failed()
                    ? unknown(f, asked.cause())
                    : afterInquiry(f, plan, asked.result(), true));
        });
    }

    private Future<Outcome> reverseAtBank(Finding f, Plan.Reverse plan) {
        return psp.reverse(f.paymentId()).transform(reversed -> reversed.succeeded() && reversed.result()
                ? failpoints.at("reconcile.after-reverse").compose(v -> reversedAtBank(f))
                // Refused, timed out, or the answer lost: the bank may have reversed it all the same.
                : psp.inquiry(f.paymentId()).transform(asked -> asked.failed()
                        ? unknown(f, asked.cause())
                        : afterInquiry(f, plan, asked.result(), false)));
    }

    /** What the bank says of the second payment decides; {@code mayReverse}: this run has not tried a reverse yet. */
    private Future<Outcome> afterInquiry(Finding f, Plan.Reverse plan, Psp.Inquiry atBank, boolean mayReverse) {
        if (atBank == Psp.Inquiry.REVERSED) {
            return reversedAtBank(f);
        }
        if (!atBank.paid()) {
            return release(f).map(v -> new Outcome("manual", "Nothing done: the bank's inquiry of " + f.paymentId()
                    + " says " + atBank + " for a payment its settlement report lists as settled."));
        }
        // A reverse was sent for it (by this run or an earlier one) and may still reach the bank: the
        // wallet is refunded only once the bank's window has closed by more than such a call can
        // take (the claim's lease), so a late reverse and a refund can never both happen.
        if (!inWindow(plan, -leaseMillis())) {
            return refundToWallet(f, plan);
        }
        return mayReverse && inWindow(plan, 0) ? reverseAtBank(f, plan) : release(f).map(v -> new Outcome("failed",
                "Not fixed: the bank did not reverse the second payment and still holds it (" + atBank
                        + "); the next run asks it again."));
    }

    /** The bank did not answer: the claim stays, so the next run asks it before anything is posted. */
    private Future<Outcome> unknown(Finding f, Throwable cause) {
        return Future.succeededFuture(new Outcome("failed", "Not fixed: whether the bank reversed " + f.paymentId()
                + " is unknown (" + reason(cause) + "); the next run asks the bank before refunding anything."));
    }

    private boolean inWindow(Plan.Reverse plan) {
        return inWindow(plan, 0);
    }

    /** Inside the bank's reverse window, moved by {@code shiftMillis} (negative: a window that ends later). */
    private boolean inWindow(Plan.Reverse plan, long shiftMillis) {
        String paidAt = plan.paidAt();
        return paidAt != null && OffsetDateTime.parse(paidAt).isAfter(OffsetDateTime.now()
                .minusSeconds(pspWindowSeconds).plusNanos(shiftMillis * 1_000_000));
    }

    /** Takes the finding's claim: the number of runs that have taken it, this one included, or 0 when it is not to be had. */
    private Future<Integer> claim(Finding f) {
        return pool.preparedQuery("INSERT INTO reconciliation_actions (finding_key, kind, payment_id, wallet_id, amount_rials, "
                        + "action, run_id, lease_until) VALUES ($1, $2, $3, $4, $5, 'reversing', $6, now() + $7 * interval '1 millisecond') "
                        + "ON CONFLICT (finding_key) DO UPDATE SET run_id = EXCLUDED.run_id, lease_until = EXCLUDED.lease_until, "
                        + "attempts = reconciliation_actions.attempts + 1 "
                        + "WHERE reconciliation_actions.action = 'reversing' AND reconciliation_actions.lease_until < now() "
                        + "RETURNING attempts")
                .execute(Tuple.of(f.key(), f.kind().apiName(), f.paymentId(), f.walletId(), f.amountRials(), runId)
                        .addValue(leaseMillis()))
                .map(rows -> rows.size() == 0 ? 0 : rows.iterator().next().getInteger(0));
    }

    private long leaseMillis() {
        return rules.pspTimeoutMillis() * CLAIM_LEASE_CALLS;
    }

    private Future<String> action(String key) {
        return pool.preparedQuery("SELECT action FROM reconciliation_actions WHERE finding_key = $1").execute(Tuple.of(key))
                .map(rows -> rows.size() == 0 ? null : rows.iterator().next().getString(0));
    }

    /** Lets the next run take the claim at once: this run is done with the bank. */
    private Future<Void> release(Finding f) {
        return pool.preparedQuery("UPDATE reconciliation_actions SET lease_until = now() "
                        + "WHERE finding_key = $1 AND action = 'reversing' AND run_id = $2")
                .execute(Tuple.of(f.key(), runId)).mapEmpty();
    }

    private Future<Outcome> reversedAtBank(Finding f) {
        return pool.preparedQuery("UPDATE reconciliation_actions SET action = 'psp_reverse', lease_until = NULL "
                        + "WHERE finding_key = $1 AND action = 'reversing'")
                .execute(Tuple.of(f.key()))
                .map(rows -> new Outcome(rows.rowCount() == 1 ? "fixed" : "already_fixed", "The bank returned the second payment of "
                        + Finding.rials(f.amountRials()) + " to the card (reverse of " + f.paymentId() + ")."));
    }

    /** The refund to the wallet, posted in one ledger batch with the claim turned into its record; only by the claim's holder. */
    private Future<Outcome> refundToWallet(Finding f, Plan.Reverse plan) {
        Transfer transfer = correctionTransfer(f, plan.legs());
        return post(new CorrectionCommand(f, transfer, runId, true), transfer);
    }

    private Future<Outcome> correction(Finding f, Map<String, Long> legs) {
        Transfer transfer = correctionTransfer(f, legs);
        return post(new CorrectionCommand(f, transfer, runId, false), transfer);
    }

    private Future<Outcome> post(CorrectionCommand command, Transfer transfer) {
        return writer.submit(command, Future.succeededFuture())
                .compose(outcome -> outcome.failure() != null ? Future.failedFuture(outcome.failure())
                        : Future.succeededFuture(new Outcome(outcome.value() == Ledger.Posted.NEW ? "fixed" : "already_fixed",
                        describe(command.finding, transfer))));
    }

    /**
     * A correction as a command of the ledger writer: its transfer and its finding's action row
     * in one transaction. A new correction posts only if the finding has no action yet; a refund
     * to the wallet only if this run still holds the finding's claim ({@code reversing}).
     * ALREADY_POSTED when another run or an earlier attempt did it.
     */
    private static final class CorrectionCommand implements LedgerCommand<Ledger.Posted> {
        private final Finding finding;
        private final Transfer transfer;
        private final String runId;
        private final boolean turnsClaim;

        CorrectionCommand(Finding finding, Transfer transfer, String runId, boolean turnsClaim) {
            this.finding = finding;
            this.transfer = transfer;
            this.runId = runId;
            this.turnsClaim = turnsClaim;
        }

        @Override
        public LedgerCommand.Idem idem() {
            return null;
        }

        @Override
        public void prepare(Batch batch) {
            ActionRows.of(batch).want(finding.key());
            batch.lockAccounts(LedgerCommand.accountsOf(transfer));
            batch.wantTransfer(transfer.id());
        }

        @Override
        public Ledger.Posted apply(Batch batch) {
            ActionRows rows = ActionRows.of(batch);
            ActionRows.Action action = rows.get(finding.key());
            boolean ours = turnsClaim ? action != null && "reversing".equals(action.action()) && runId.equals(action.runId())
                    : action == null;
            if (!ours) {
                return Ledger.Posted.ALREADY_POSTED;
            }
            if (batch.postOnce(transfer) != Ledger.Posted.NEW) {
                throw new IllegalStateException("a correction transfer exists without its action row: " + transfer.id());
            }
            if (turnsClaim) {
                rows.claimTurned(batch, finding.key(), transfer.id(), runId);
            } else {
                rows.insert(batch, finding, transfer.id(), runId);
            }
            return Ledger.Posted.NEW;
        }

        @Override
        public LedgerCommand.Answer render(Ledger.Posted result, Batch batch) {
            return new LedgerCommand.Answer(200, "{}", false);
        }

        @Override
        public Ledger.Posted current(Batch batch) {
            return null;
        }

        @Override
        public String toString() {
            return "correction " + transfer.id();
        }
    }

    /** The finding's correction: kind {@code <flow>_correction}, so it counts for its own flow's payment only. */
    private static Transfer correctionTransfer(Finding f, Map<String, Long> amounts) {
        List<Leg> legs = new ArrayList<>();
        amounts.forEach((account, amountRials) -> legs.add(new Leg(account, amountRials)));
        return new Transfer("reconcile:" + f.key(), f.flow() + "_correction", f.paymentId(), f.kind().apiName(), legs);
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
                                + "held_rials = (SELECT coalesce(sum(amount_rials), 0) FROM holds WHERE account_id = $1 AND state = '" + Hold.State.HELD + "') "
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
        if (e instanceof DomainError refusal) {
            return refusal.code().apiName() + ": " + refusal.getMessage();
        }
        return e.getMessage() == null ? e.toString() : e.getMessage();
    }

    static <T> T await(Future<T> future, long timeoutMillis) throws Exception {
        return future.toCompletionStage().toCompletableFuture().get(timeoutMillis, TimeUnit.MILLISECONDS);
    }
}
