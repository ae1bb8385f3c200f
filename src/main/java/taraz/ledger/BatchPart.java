package taraz.ledger;

import io.vertx.core.Future;
import io.vertx.sqlclient.SqlConnection;

import java.util.Collection;
import java.util.List;

/**
 * A flow's own rows in a batch (the trips of the trip commands). The writer asks every part
 * to lock and read its rows, in the one order of {@link BatchWriter} (idempotency keys, then
 * the parts in the order they were registered, then the accounts), and then to write what its
 * commands changed.
 */
public interface BatchPart {

    /** Locks and reads the rows the batch's commands named, in a sorted order. */
    Future<Void> load(SqlConnection connection);

    /** Accounts the loaded rows need locked besides those the commands named (a trip's passenger wallet); none by default. */
    default Collection<String> accounts() {
        return List.of();
    }

    /** Sends the writes for what the commands changed, set-based; one future per statement. None by default (a part only read). */
    default List<Future<?>> write(SqlConnection connection) {
        return List.of();
    }
}
