package taraz.topup;

import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.Tuple;
import taraz.ledger.Tx;
import taraz.ops.Metrics;
import taraz.topup.Refund.Method;
import taraz.topup.Refund.State;

import java.util.ArrayList;
import java.util.List;

/**
 * The refunds' rows and their history, as {@link RefundService}'s phases read and move them outside the ledger: the
 * send (HELD to SENT, or SENT again after a lookup showed the bank never got it), and the sweeper's claim. A refund
 * mid-step carries this node's lease; the hold and the end, which move money, are written by the ledger writer's
 * batch ({@link RefundRows}).
 */
final class RefundStore {

    private static final String OPEN = "state IN ('" + State.HELD + "', '" + State.SENT + "')";

    private final Pool pool;
    private final String node;
    private final long leaseMillis;

    RefundStore(Pool pool, String node, long leaseMillis) {
        this.pool = pool;
        this.node = node;
        this.leaseMillis = leaseMillis;
    }

    long leaseMillis() {
        return leaseMillis;
    }

    /** The refund, or null. */
    Future<Refund> load(String refundId) {
        return pool.preparedQuery("SELECT " + Refund.COLUMNS + " FROM topup_refunds WHERE refund_id = $1")
                .execute(Tuple.of(refundId))
                .map(RefundStore::firstOrNull);
    }

    /** The refunded top-up's authority at the bank (its session), and its state; null when there is no such top-up. */
    Future<Topup> topup(String topupId) {
        return pool.preparedQuery("SELECT " + Topup.COLUMNS + " FROM topups WHERE topup_id = $1")
                .execute(Tuple.of(topupId))
                .map(rows -> rows.rowCount() == 0 ? null : Topup.from(rows.iterator().next()));
    }

    /**
     * Marks a send about to go to the bank, in one transaction, only if the refund is still as it was read (state and
     * method and number of sends, so of two nodes sending at once one wins): it becomes SENT by {@code method}, one more send is counted, and this node's lease is renewed for the
     * call. Otherwise another node or run moved it first, and it is returned as it now is.
     */
    Future<Refund> send(Refund from, Method method, String cause) {
        return Tx.run(pool, tx -> tx.preparedQuery("UPDATE topup_refunds SET state = '" + State.SENT + "', method = $4, "
                                + "sends = sends + 1, sent_at = now(), updated_at = now(), last_error = coalesce($5, last_error), "
                                + "owner = $6, lease_until = now() + $7 * interval '1 millisecond' "
                                + "WHERE refund_id = $1 AND state = $2 AND method = $3 AND sends = $8 RETURNING " + Refund.COLUMNS)
                .execute(Tuple.of(from.refundId(), from.state().name(), from.method().name(), method.name(), cause, node,
                        leaseMillis, from.sends()))
                .compose(rows -> {
                    if (rows.rowCount() == 0) {
                        return tx.preparedQuery("SELECT " + Refund.COLUMNS + " FROM topup_refunds WHERE refund_id = $1")
                                .execute(Tuple.of(from.refundId())).map(RefundStore::firstOrNull);
                    }
                    Refund sent = Refund.from(rows.iterator().next());
                    return tx.preparedQuery("INSERT INTO topup_refund_history (refund_id, state, cause, node) VALUES ($1, $2, $3, $4)")
                            .execute(Tuple.of(sent.refundId(), State.SENT.name(), cause == null ? "sent by " + method : cause, node))
                            .map(sent);
                }));
    }

    /** The refund's states, oldest first, at most {@code limit}. */
    Future<JsonArray> history(String refundId, int limit) {
        return pool.preparedQuery("SELECT state, cause, node, at FROM topup_refund_history WHERE refund_id = $1 ORDER BY id LIMIT $2")
                .execute(Tuple.of(refundId, limit))
                .map(HistoryRows::toJson);
    }

    /**
     * Claims open refunds (HELD or SENT) that no live node leases, least recently checked first, at most {@code limit},
     * skipping rows another node claims at the same moment, as the top-up sweeper does: a node that died mid-step lets
     * its lease run out and any node takes the refund over.
     */
    Future<List<Refund>> claim(int limit) {
        return pool.preparedQuery("UPDATE topup_refunds SET owner = $1, lease_until = now() + $2 * interval '1 millisecond', "
                        + "checked_at = now() WHERE refund_id IN (SELECT refund_id FROM topup_refunds WHERE " + OPEN + " "
                        + "AND (lease_until IS NULL OR lease_until < now()) "
                        + "ORDER BY coalesce(checked_at, updated_at) LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING " + Refund.COLUMNS)
                .execute(Tuple.of(node, leaseMillis, limit))
                .map(rows -> {
                    List<Refund> refunds = new ArrayList<>();
                    rows.forEach(row -> refunds.add(Refund.from(row)));
                    return refunds;
                });
    }

    /** Refunds still open {@code ageSeconds} after they were made. */
    Future<Metrics.Stuck> stuck(long ageSeconds) {
        return pool.preparedQuery("SELECT count(*) AS n, coalesce(max(extract(epoch FROM now() - created_at)), 0)::bigint AS age "
                        + "FROM topup_refunds WHERE " + OPEN + " AND created_at < now() - $1 * interval '1 second'")
                .execute(Tuple.of(ageSeconds))
                .map(Metrics.Stuck::from);
    }

    private static Refund firstOrNull(RowSet<Row> rows) {
        return rows.rowCount() == 0 ? null : Refund.from(rows.iterator().next());
    }
}
