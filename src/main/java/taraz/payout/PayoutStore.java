package taraz.payout;

import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import taraz.journal.JournalRecord;
import taraz.ledger.Tx;
import taraz.ops.Metrics;
import taraz.payout.Payout.State;

import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;

/**
 * The payouts' rows and their history, as {@link PayoutService}'s phases read and move them. A payout mid-step
 * carries this node's lease ({@code owner}, {@code lease_until}); one waiting for the provider or done carries none, so
 * the sweeper of any node may take it up. The hold, the post and the void, which move money, are written by the ledger
 * writer's batch ({@link PayoutRows}).
 */
final class PayoutStore {

    private static final String OPEN = "state NOT IN ('" + State.PAID + "', '" + State.FAILED + "')";

    private final Pool pool;
    private final String node;
    private final long leaseMillis;

    PayoutStore(Pool pool, String node, long leaseMillis) {
        this.pool = pool;
        this.node = node;
        this.leaseMillis = leaseMillis;
    }

    Future<Payout> load(String payoutId) {
        return load(pool, payoutId);
    }

    /**
     * Stores a CREATED payout (under this node's lease) unless one with this id exists, or the driver has the day's
     * batch payout already; returns the payout as stored under this id, or null when the day's batch had another.
     */
    Future<Payout> insertCreated(String payoutId, String walletId, long amountRials, String iban, String provider,
                                 LocalDate batchDay) {
        return Tx.run(pool, tx -> tx.preparedQuery("INSERT INTO payouts (payout_id, wallet_id, amount_rials, iban, provider, "
                        + "state, batch_day, owner, lease_until) VALUES ($1, $2, $3, $4, $5, '" + State.CREATED + "', $6, $7, "
                        + "now() + $8 * interval '1 millisecond') ON CONFLICT DO NOTHING")
                .execute(Tuple.of(payoutId, walletId, amountRials, iban, provider, batchDay).addValue(node).addValue(leaseMillis))
                .compose(inserted -> (inserted.rowCount() == 1 ? history(tx, payoutId, State.CREATED, null)
                        : Future.<Void>succeededFuture()).compose(h -> load(tx, payoutId))));
    }

    /**
     * Moves the payout from the state it was read in to {@code to}, in one transaction, only if it is still in that
     * state; otherwise another node or request moved it first, and it is returned as it now is. {@code leased} keeps
     * (or takes) this node's lease; otherwise it is released. Moving into SENT counts a send attempt.
     */
    Future<Payout> move(Payout from, State to, String cause, boolean leased) {
        return Tx.run(pool, tx -> tx.preparedQuery("UPDATE payouts SET state = $2, last_error = coalesce($3, last_error), "
                        + "updated_at = now(), owner = $5, lease_until = now() + $6::bigint * interval '1 millisecond'"
                        + (to == State.SENT ? ", send_attempts = send_attempts + 1, sent_at = coalesce(sent_at, now())" : "")
                        + " WHERE payout_id = $1 AND state = $4 RETURNING " + Payout.COLUMNS)
                .execute(Tuple.of(from.payoutId(), to.name(), cause, from.state().name(), node, leased ? leaseMillis : null))
                .compose(rows -> rows.rowCount() == 0 ? load(tx, from.payoutId())
                        : from.state() == to ? Future.succeededFuture(Payout.from(rows.iterator().next()))
                        : history(tx, from.payoutId(), to, cause).map(Payout.from(rows.iterator().next()))));
    }

    /** Records what the provider said about a SENT payout that stays SENT, and releases the lease. */
    Future<Payout> rest(Payout sent, String providerTransferId, String note) {
        return pool.preparedQuery("UPDATE payouts SET provider_transfer_id = coalesce($2, provider_transfer_id), "
                        + "last_error = coalesce($3, last_error), owner = NULL, lease_until = NULL, updated_at = now() "
                        + "WHERE payout_id = $1 AND state = '" + State.SENT + "' RETURNING " + Payout.COLUMNS)
                .execute(Tuple.of(sent.payoutId(), providerTransferId, note))
                .compose(rows -> rows.rowCount() == 0 ? load(sent.payoutId()) : Future.succeededFuture(Payout.from(rows.iterator().next())));
    }

    /** The payout's states, oldest first, at most {@code limit}, as the API shows them. */
    Future<JsonArray> history(String payoutId, int limit) {
        return pool.preparedQuery("SELECT state, cause, node, at FROM payout_history WHERE payout_id = $1 ORDER BY id LIMIT $2")
                .execute(Tuple.of(payoutId, limit))
                .map(rows -> {
                    JsonArray history = new JsonArray();
                    rows.forEach(row -> history.add(new JsonObject().put("state", row.getString("state"))
                            .put("cause", row.getString("cause")).put("node", row.getString("node"))
                            .put("at", row.getOffsetDateTime("at").toInstant().toString())));
                    return history;
                });
    }

    /**
     * Claims open payouts for the sweeper: not leased by a live node (one that died mid-step lets its lease run out),
     * least recently checked first, at most {@code limit}, skipping rows another node is claiming at the same moment.
     * A claim stamps the payout as checked, which moves it to the back.
     */
    Future<List<Payout>> claim(int limit) {
        return pool.preparedQuery("UPDATE payouts SET owner = $1, lease_until = now() + $2 * interval '1 millisecond', "
                        + "checked_at = now() WHERE payout_id IN (SELECT payout_id FROM payouts WHERE " + OPEN + " "
                        + "AND (lease_until IS NULL OR lease_until < now()) "
                        + "ORDER BY coalesce(checked_at, updated_at) LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING " + Payout.COLUMNS)
                .execute(Tuple.of(node, leaseMillis, limit))
                .map(PayoutStore::all);
    }

    /** Payouts still open {@code ageSeconds} after they were created. */
    Future<Metrics.Stuck> stuck(long ageSeconds) {
        return pool.preparedQuery("SELECT count(*) AS n, coalesce(max(extract(epoch FROM now() - created_at)), 0)::bigint AS age "
                        + "FROM payouts WHERE " + OPEN + " AND created_at < now() - $1 * interval '1 second'")
                .execute(Tuple.of(ageSeconds))
                .map(Metrics.Stuck::from);
    }

    private Future<Void> history(SqlConnection tx, String payoutId, State state, String cause) {
        return tx.preparedQuery("INSERT INTO payout_history (payout_id, state, cause, node) VALUES ($1, $2, $3, $4)")
                .execute(Tuple.of(payoutId, state.name(), cause, node)).mapEmpty();
    }

    static Future<Payout> load(SqlClient client, String payoutId) {
        return client.preparedQuery("SELECT " + Payout.COLUMNS + " FROM payouts WHERE payout_id = $1")
                .execute(Tuple.of(payoutId))
                .map(rows -> rows.rowCount() == 0 ? null : Payout.from(rows.iterator().next()));
    }

    private static List<Payout> all(RowSet<Row> rows) {
        List<Payout> payouts = new ArrayList<>();
        rows.forEach(row -> payouts.add(Payout.from(row)));
        return payouts;
    }
}
