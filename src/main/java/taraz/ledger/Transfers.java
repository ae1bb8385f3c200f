package taraz.ledger;

import io.vertx.core.Future;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;

import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Transfers of a batch that may exist already (a step run again): read before the commands
 * run, so that {@link TransferCommand} posts a transfer id once and refuses one posted before
 * with other legs. Transfers are immutable, so nothing is locked; two writers posting one new
 * id at once collide on its primary key, and the loser's batch runs again and finds it.
 */
final class Transfers implements BatchPart {

    private final Set<String> wanted = new LinkedHashSet<>();
    private final Map<String, Stored> stored = new HashMap<>();

    /** A transfer as stored: its kind, payment and legs. */
    record Stored(String kind, String paymentId, Set<Leg> legs) {
        boolean same(Transfer transfer) {
            return kind.equals(transfer.kind()) && Objects.equals(paymentId, transfer.paymentId())
                    && legs.equals(new HashSet<>(transfer.legs()));
        }
    }

    static Transfers of(Batch batch) {
        return batch.part(Transfers.class, Transfers::new);
    }

    void want(String transferId) {
        wanted.add(transferId);
    }

    Stored get(String transferId) {
        return stored.get(transferId);
    }

    /** A transfer the batch posts: later commands of the batch find it as if stored. */
    void posted(Batch batch, Transfer transfer) {
        stored.put(transfer.id(), new Stored(transfer.kind(), transfer.paymentId(), new HashSet<>(transfer.legs())));
        batch.onUndo(() -> stored.remove(transfer.id()));
    }

    @Override
    public Future<Void> load(SqlConnection tx) {
        return tx.preparedQuery("SELECT t.id, t.kind, t.payment_id, e.account_id, e.amount_rials FROM transfers t "
                        + "JOIN entries e ON e.transfer_id = t.id WHERE t.id = ANY($1)")
                .execute(Tuple.of((Object) wanted.toArray(String[]::new)))
                .map(rows -> {
                    for (Row row : rows) {
                        stored.computeIfAbsent(row.getString("id"), id -> new Stored(row.getString("kind"),
                                row.getString("payment_id"), new HashSet<>()))
                                .legs().add(new Leg(row.getString("account_id"), row.getLong("amount_rials")));
                    }
                    return null;
                });
    }
}
