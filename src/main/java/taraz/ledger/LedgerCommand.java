package taraz.ledger;

import taraz.domain.DomainError;

import java.util.List;
import java.util.function.Function;

/**
 * One ledger step for the {@link BatchWriter}: what it needs locked, and what it does to the
 * locked state, in Java. The writer applies the commands of a batch one after the other; a
 * command that throws a {@link DomainError} fails alone (its changes to the batch are undone) and
 * the others commit.
 *
 * @param <T> what the step returns to its caller (a trip, a transfer)
 */
public interface LedgerCommand<T> {

    /** The caller's idempotency key, stored with the answer in the batch's transaction; null for none. */
    Idem idem();

    /** Registers what the step needs: accounts to lock and read, rows of its flow's part. */
    void prepare(Batch batch);

    /** Applies the step to the locked state; throws a {@link DomainError} to refuse it. */
    T apply(Batch batch);

    /** The answer stored under the key and sent to the client when the step succeeded. */
    Answer render(T result, Batch batch);

    /** The step's row as it stands in the batch (for a refused or replayed step); may be null. */
    T current(Batch batch);

    /**
     * Called when the writer refused this command with {@code refusal}, after its changes were undone: a flow may
     * note the refusal in its batch part, to be written in the batch's transaction (the trips' rejections). Nothing by
     * default, so a batch without refusals writes nothing more.
     */
    default void refused(Batch batch, DomainError refusal) {
    }

    /** A failpoint that runs once, inside the transaction, before a batch holding this step commits; or null. */
    default String beforeCommitPoint() {
        return null;
    }

    /**
     * The idempotency key of a request: the key, the fingerprint of the request, where it was
     * sent, and how its client is answered when a rule refuses the command (the HTTP layer's
     * mapping, which the writer stores under the key in the batch's transaction).
     */
    record Idem(String key, String requestHash, String method, String path, Function<DomainError, Answer> refusal) {}

    /** What the client gets: a status and a JSON body; {@code replayed} when it comes from an earlier request. */
    record Answer(int status, String body, boolean replayed) {}

    /**
     * What became of a command: its result (or its row as it stands, when refused or replayed),
     * the refusal (null if it succeeded or was replayed), and the answer for its client, stored
     * under the key when the command had one; a command refused without a key has no answer here,
     * its caller answers from the refusal.
     */
    record Outcome<T>(T value, DomainError failure, Answer answer) {}

    /** The accounts a transfer names, for {@link #prepare}. */
    static List<String> accountsOf(Transfer transfer) {
        return transfer.legs().stream().map(Leg::accountId).toList();
    }
}
