package taraz.ledger;

import java.util.function.Function;

/**
 * A command that posts one transfer, once: run again (recovery, a retry under another key)
 * it finds its transfer and moves nothing; a transfer id posted before with other legs is a
 * transfer_conflict. It answers with the balance of one wallet it names, after the post.
 */
public final class TransferCommand implements LedgerCommand<TransferCommand.Result> {

    /** Whether the transfer was posted now or found, and the named wallet's balance and held amount after. */
    public record Result(Ledger.Posted posted, long walletBalanceRials, long walletHeldRials) {}

    private final Transfer transfer;
    private final String walletId;
    private final Idem idem;
    private final String beforeCommitPoint;
    private final Function<Result, Answer> render;

    /**
     * @param walletId a wallet the transfer names, which must exist (wallet_not_found otherwise), and whose balance the result gives
     * @param render the answer for a success
     */
    public TransferCommand(Transfer transfer, String walletId, Idem idem, String beforeCommitPoint,
                           Function<Result, Answer> render) {
        this.transfer = transfer;
        this.walletId = walletId;
        this.idem = idem;
        this.beforeCommitPoint = beforeCommitPoint;
        this.render = render;
    }

    @Override
    public Idem idem() {
        return idem;
    }

    @Override
    public void prepare(Batch batch) {
        batch.lockAccounts(LedgerCommand.accountsOf(transfer));
        batch.wantTransfer(transfer.id());
    }

    @Override
    public Result apply(Batch batch) {
        batch.walletKind(walletId);
        Ledger.Posted posted = batch.postOnce(transfer);
        long[] wallet = batch.balanceAndHeld(walletId);
        return new Result(posted, wallet[0], wallet[1]);
    }

    @Override
    public Answer render(Result result, Batch batch) {
        return render.apply(result);
    }

    @Override
    public Result current(Batch batch) {
        return null;
    }

    @Override
    public String beforeCommitPoint() {
        return beforeCommitPoint;
    }

    @Override
    public String toString() {
        return "transfer " + transfer.id();
    }
}
