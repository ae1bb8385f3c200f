package taraz.ledger;

import taraz.app.Failure;

import java.util.List;

/**
 * One ledger step for the {@link BatchWriter}: what it needs locked, and what it does to the
 * locked state, in Java. The writer applies the commands of a batch one after the other; a
 * command that throws a {@link Failure} fails alone (its changes to the batch are undone) and
 * the others commit.
 *
 * @param <T> what the step returns to its caller (a trip, a transfer)
 */
public interface LedgerCommand<T> {

    /** The caller's idempotency key, stored with the answer in the batch's transaction; null for none. */
    Idem idem();

    /** Registers what the step needs: accounts to lock and read, rows of its flow's part. */
    void prepare(Batch batch);

    /** Applies the step to the locked state; throws a {@link Failure} to refuse it. */
    T apply(Batch batch);

    /** The answer stored under the key and sent to the client when the step succeeded. */
    Answer render(T result, Batch batch);

    /** The step's row as it stands in the batch (for a refused or replayed step); may be null. */
    T current(Batch batch);

    /** A failpoint that runs once, inside the transaction, before a batch holding this step commits; or null. */
    default String beforeCommitPoint() {
        return null;
    }

    /** The idempotency key of a request: the key, the fingerprint of the request, and where it was sent. */
    record Idem(String key, String requestHash, String method, String path) {}

    /** What the client gets: a status and a JSON body; {@code replayed} when it comes from an earlier request. */
    record Answer(int status, String body, boolean replayed) {}

    /**
     * What became of a command: its result (or its row as it stands, when refused or replayed),
     * the failure that refused it (null if it succeeded or was replayed), and the answer for its
     * client, always there (stored under the key when the command had one).
     */
    record Outcome<T>(T value, Failure failure, Answer answer) {}

    /** The accounts a transfer names, for {@link #prepare}. */
    static List<String> accountsOf(Transfer transfer) {
        return transfer.legs().stream().map(Leg::accountId).toList();
    }
}
