package taraz.topup;

import taraz.ledger.AccountKind;
import taraz.ledger.Batch;
import taraz.ledger.Ledger;
import taraz.ledger.LedgerCommand;
import taraz.ledger.Leg;
import taraz.ledger.Transfer;
import taraz.topup.Topup.State;

import java.util.List;
import java.util.Set;

/**
 * The credit as a command of the ledger writer: under the top-up's lock, from a state in
 * {@code from}, the credit transfer (keyed by the top-up) is posted once and the top-up
 * becomes CREDITED; a top-up in another state, or whose credit exists already, stays as it is.
 */
final class CreditCommand implements LedgerCommand<Topup> {
    private final String topupId;
    private final Set<State> from;
    private final String cause;
    private final String node;
    private final Driver driver;

    CreditCommand(String topupId, Set<State> from, String cause, String node, Driver driver) {
        this.topupId = topupId;
        this.from = from;
        this.cause = cause;
        this.node = node;
        this.driver = driver;
    }

    @Override
    public LedgerCommand.Idem idem() {
        return null;
    }

    @Override
    public void prepare(Batch batch) {
        TopupRows.of(batch, node).want(topupId);
        batch.lockAccounts(List.of(AccountKind.PSP_CLEARING_ID));
        batch.wantTransfer(Topup.creditTransferId(topupId));
    }

    @Override
    public Topup apply(Batch batch) {
        TopupRows rows = TopupRows.of(batch, node);
        Topup locked = rows.get(topupId);
        if (locked == null) {
            throw new IllegalStateException("top-up " + topupId + " to credit does not exist");
        }
        if (!from.contains(locked.state())) {
            return locked;
        }
        Transfer transfer = new Transfer(Topup.creditTransferId(topupId), "topup_credit", topupId, null,
                List.of(Leg.debit(AccountKind.PSP_CLEARING_ID, locked.amountRials()),
                        Leg.credit(locked.walletId(), locked.amountRials())));
        if (batch.postOnce(transfer) == Ledger.Posted.ALREADY_POSTED) {
            if (locked.state() == State.VERIFIED) {
                throw new IllegalStateException("top-up " + topupId
                        + " is VERIFIED under its lock but its credit transfer already exists");
            }
            return locked;
        }
        Topup credited = new Topup(locked.topupId(), locked.walletId(), locked.amountRials(), locked.gateway(),
                State.CREDITED, locked.authority(), locked.refId(), locked.cardPan(), locked.verifyAttempts(),
                cause != null ? cause : locked.lastError(), locked.createdAt(), locked.requestedAt(), batch.now());
        rows.credited(batch, credited, cause, transfer.id(), driver);
        return credited;
    }

    @Override
    public LedgerCommand.Answer render(Topup result, Batch batch) {
        return new LedgerCommand.Answer(200, "{}", false);
    }

    @Override
    public Topup current(Batch batch) {
        return TopupRows.of(batch, node).get(topupId);
    }

    @Override
    public String toString() {
        return "credit of top-up " + topupId;
    }
}
