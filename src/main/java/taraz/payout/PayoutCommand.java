package taraz.payout;

import taraz.ledger.AccountKind;
import taraz.ledger.Batch;
import taraz.ledger.Hold;
import taraz.ledger.Ledger;
import taraz.ledger.LedgerCommand;
import taraz.ledger.Leg;
import taraz.ledger.Transfer;
import taraz.payout.Payout.State;

import java.util.List;
import java.util.Set;

/**
 * A payout's money steps as commands of the ledger writer, each under the payout row's lock and only from the
 * states it names; a payout found in another state (another node or request moved it first) is returned as it is:
 * <ul>
 *   <li>{@link Step#HOLD}, from CREATED: the amount is held on the driver's wallet (HELD), or, when the wallet's
 *       available balance is short, the payout ends FAILED with {@code insufficient_funds} and nothing held;
 *   <li>{@link Step#POST}, from SENT: the hold is posted as a transfer, keyed by the payout, from the wallet to payout
 *       clearing (PAID);
 *   <li>{@link Step#VOID}, from HELD or SENT: the hold is voided, the money back in the wallet (FAILED);
 *   <li>{@link Step#POST_PAID_AT_PROVIDER}, from FAILED, for reconciliation: the provider's report shows the payout
 *       paid after all, so the post is made as the flow would have made it (the same transfer), from the wallet's
 *       balance since the hold is gone (PAID); refused with insufficient_funds when the wallet no longer has it.
 * </ul>
 */
final class PayoutCommand implements LedgerCommand<Payout> {

    enum Step {
        HOLD(Set.of(State.CREATED)),
        POST(Set.of(State.SENT)),
        VOID(Set.of(State.HELD, State.SENT)),
        POST_PAID_AT_PROVIDER(Set.of(State.FAILED));

        final Set<State> from;

        Step(Set<State> from) {
            this.from = from;
        }
    }

    private final Step step;
    private final String payoutId;
    private final String reason;
    private final String providerTransferId;
    private final String node;

    /**
     * @param reason why a VOID fails the payout (the provider's word), or the cause of a POST (null from the flow)
     * @param providerTransferId the provider's id of the transfer, when it gave one
     */
    PayoutCommand(Step step, String payoutId, String reason, String providerTransferId, String node) {
        this.step = step;
        this.payoutId = payoutId;
        this.reason = reason;
        this.providerTransferId = providerTransferId;
        this.node = node;
    }

    @Override
    public Idem idem() {
        return null;
    }

    @Override
    public void prepare(Batch batch) {
        PayoutRows.of(batch, node).want(payoutId);
        if (step == Step.POST || step == Step.POST_PAID_AT_PROVIDER) {
            batch.lockAccounts(List.of(AccountKind.PAYOUT_CLEARING_ID));
            batch.wantTransfer(Payout.postTransferId(payoutId));
        }
    }

    @Override
    public Payout apply(Batch batch) {
        PayoutRows rows = PayoutRows.of(batch, node);
        Payout locked = rows.get(payoutId);
        if (locked == null) {
            throw new IllegalStateException("payout " + payoutId + " does not exist");
        }
        if (!step.from.contains(locked.state())) {
            return locked;
        }
        String holdId = Payout.holdId(payoutId);
        return switch (step) {
            case HOLD -> {
                long[] wallet = batch.balanceAndHeld(locked.walletId());
                if (wallet[0] - wallet[1] < locked.amountRials()) {
                    Payout failed = locked.with(State.FAILED, PayoutService.INSUFFICIENT_FUNDS, batch.now());
                    rows.moved(batch, failed, PayoutService.INSUFFICIENT_FUNDS, null, null);
                    yield failed;
                }
                batch.placeHold(holdId, locked.walletId(), locked.amountRials(), Payout.HOLD_EXPIRES_NEVER);
                Payout held = locked.with(State.HELD, null, batch.now());
                rows.moved(batch, held, null, holdId, null);
                yield held;
            }
            case POST, POST_PAID_AT_PROVIDER -> {
                if (step == Step.POST) {
                    batch.releaseHold(holdId, locked.walletId(), locked.amountRials(), Hold.State.POSTED);
                }
                Transfer transfer = new Transfer(Payout.postTransferId(payoutId), "payout_post", payoutId, reason,
                        List.of(Leg.debit(locked.walletId(), locked.amountRials()),
                                Leg.credit(AccountKind.PAYOUT_CLEARING_ID, locked.amountRials())));
                if (batch.postOnce(transfer) == Ledger.Posted.ALREADY_POSTED) {
                    throw new IllegalStateException("payout " + payoutId + " is " + locked.state()
                            + " under its lock but its transfer already exists");
                }
                Payout paid = withProviderId(locked.with(State.PAID, null, batch.now()));
                rows.moved(batch, paid, reason, null, transfer.id());
                yield paid;
            }
            case VOID -> {
                batch.releaseHold(holdId, locked.walletId(), locked.amountRials(), Hold.State.VOIDED);
                Payout failed = withProviderId(locked.with(State.FAILED, reason, batch.now()));
                rows.moved(batch, failed, reason, null, null);
                yield failed;
            }
        };
    }

    private Payout withProviderId(Payout p) {
        return providerTransferId == null ? p : new Payout(p.payoutId(), p.walletId(), p.amountRials(), p.iban(), p.provider(),
                p.state(), p.batchDay(), providerTransferId, p.failureReason(), p.lastError(), p.sendAttempts(), p.createdAt(),
                p.sentAt(), p.updatedAt());
    }

    @Override
    public Answer render(Payout result, Batch batch) {
        return new Answer(200, "{}", false);
    }

    @Override
    public Payout current(Batch batch) {
        return PayoutRows.of(batch, node).get(payoutId);
    }

    @Override
    public String toString() {
        return step.name().toLowerCase(java.util.Locale.ROOT) + " of payout " + payoutId;
    }
}
