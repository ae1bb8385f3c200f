package taraz.topup;

import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import taraz.journal.JournalRecord;
import taraz.ledger.Tx;
import taraz.ops.Metrics;
import taraz.topup.Topup.State;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The top-ups' rows and their history, as {@link TopupService}'s phases read and move them. A
 * top-up mid-step carries this node's lease ({@code owner}, {@code lease_until}); one waiting for
 * the cardholder or done carries none, so the sweeper of any node may take it up at once. The
 * credit, which moves money, is written by the ledger writer's batch ({@link TopupRows}).
 */
final class TopupStore {

    /** The states a top-up can still leave, as SQL: every state but the terminal ones. */
    private static final String OPEN = "state NOT IN (" + Arrays.stream(State.values()).filter(State::terminal)
            .map(s -> "'" + s.name() + "'").collect(Collectors.joining(", ")) + ")";

    private final Pool pool;
    private final String node;
    private final long leaseMillis;

    TopupStore(Pool pool, String node, long leaseMillis) {
        this.pool = pool;
        this.node = node;
        this.leaseMillis = leaseMillis;
    }

    /**
     * A call of the completer to the bank about one top-up, as {@code topup_bank_calls.call} stores it; UNVERIFIED is
     * the sweeper finding the payment in the bank's list of paid, unverified ones. (A refund's reverse is the refund's
     * own history.)
     */
    enum BankCall { VERIFY, INQUIRY, UNVERIFIED }

    /** Columns a transition sets beside the state, and their values (numbered from $5). */
    record Columns(String set, List<Object> values) {
        static final Columns NONE = new Columns("", List.of());
        static final Columns CALLBACK = new Columns(", callback_at = now()", List.of());
        static final Columns VERIFY_ATTEMPT = new Columns(", verify_attempts = verify_attempts + 1", List.of());

        static Columns requested(String authority) {
            return new Columns(", authority = $5, requested_at = now()", List.of(authority));
        }

        static Columns verified(String refId, String cardPan) {
            return new Columns(", ref_id = $5, card_pan = $6, verified_at = now()", Arrays.asList(refId, cardPan));
        }
    }

    /** The top-up, or null. */
    Future<Topup> load(String topupId) {
        return load(pool, topupId);
    }

    Future<Topup> byAuthority(String authority) {
        return pool.preparedQuery("SELECT " + Topup.COLUMNS + " FROM topups WHERE authority = $1")
                .execute(Tuple.of(authority))
                .map(TopupStore::firstOrNull);
    }

    /** Stores a CREATED top-up unless one with this id exists; either way returns it as stored. */
    Future<Topup> insertCreated(String topupId, String walletId, long amountRials, String gateway, Driver driver) {
        return Tx.run(pool, tx -> tx.preparedQuery("INSERT INTO topups (topup_id, wallet_id, amount_rials, gateway, state) "
                        + "VALUES ($1, $2, $3, $4, '" + State.CREATED + "') ON CONFLICT (topup_id) DO NOTHING")
                .execute(Tuple.of(topupId, walletId, amountRials, gateway))
                .compose(inserted -> (inserted.rowCount() == 1 ? history(tx, topupId, State.CREATED, null, driver)
                        : Future.<Void>succeededFuture()).compose(h -> load(tx, topupId))));
    }

    /**
     * Moves the top-up from the state it was read in to {@code to}, in one transaction, only if it
     * is still in that state; otherwise another node or request moved it first, and it is returned
     * as it now is. Moving into a step renews this node's lease; a waiting or final state releases it.
     */
    Future<Topup> move(Topup from, State to, String cause, Columns columns, Driver driver) {
        return Tx.run(pool, tx -> {
            Tuple args = Tuple.of(from.topupId(), to.name(), cause, from.state().name());
            columns.values().forEach(args::addValue);
            args.addValue(node).addValue(to.journalStatus() == JournalRecord.Status.PENDING ? leaseMillis : null);
            int ownerParam = 5 + columns.values().size();
            return tx.preparedQuery("UPDATE topups SET state = $2, last_error = coalesce($3, last_error), updated_at = now(), "
                            + "owner = $" + ownerParam + ", lease_until = now() + $" + (ownerParam + 1) + "::bigint * interval '1 millisecond'"
                            + columns.set() + " WHERE topup_id = $1 AND state = $4 RETURNING " + Topup.COLUMNS)
                    .execute(args)
                    .compose(rows -> rows.rowCount() == 0 ? load(tx, from.topupId())
                            // A step that stays where it was (another verify attempt) is no change of state.
                            : from.state() == to ? Future.succeededFuture(Topup.from(rows.iterator().next()))
                            : history(tx, from.topupId(), to, cause, driver).map(Topup.from(rows.iterator().next())));
        });
    }

    /**
     * Records {@code error} as the top-up's last error while it stays in the state it was read in; nothing else about
     * it changes (state, lease, updated_at). Returns the top-up as it now is.
     */
    Future<Topup> lastError(Topup topup, String error) {
        return pool.preparedQuery("UPDATE topups SET last_error = $2 WHERE topup_id = $1 AND state = $3 RETURNING " + Topup.COLUMNS)
                .execute(Tuple.of(topup.topupId(), error, topup.state().name()))
                .compose(rows -> rows.rowCount() == 1 ? Future.succeededFuture(Topup.from(rows.iterator().next()))
                        : load(topup.topupId()));
    }

    /** The top-up's states, oldest first, at most {@code limit}, as the API shows them. */
    Future<JsonArray> history(String topupId, int limit) {
        return pool.preparedQuery("SELECT state, cause, node, at FROM topup_history WHERE topup_id = $1 ORDER BY id LIMIT $2")
                .execute(Tuple.of(topupId, limit))
                .map(HistoryRows::toJson);
    }

    /**
     * Claims open top-ups for the sweeper (the cluster completer): past the callback grace, or
     * mid-step, and not leased by a live node, least recently checked first, at most {@code limit};
     * with {@code authorities}, only the top-ups of those. A node that died mid-step lets its lease
     * run out and any other node takes the top-up over; the claim skips rows another node is
     * claiming at the same moment. Claiming one stamps it as checked, which moves it to the back,
     * so top-ups the cardholder abandoned cannot hold the front of every round.
     */
    Future<List<Topup>> claim(long callbackGraceSeconds, List<String> authorities, int limit) {
        Tuple args = Tuple.of(node, leaseMillis, callbackGraceSeconds, limit);
        String only = "";
        if (authorities != null) {
            args.addValue(authorities.toArray(String[]::new));
            only = "AND authority = ANY($5) ";
        }
        return pool.preparedQuery("UPDATE topups SET owner = $1, lease_until = now() + $2 * interval '1 millisecond', checked_at = now() "
                        + "WHERE topup_id IN (SELECT topup_id FROM topups WHERE " + OPEN + " " + only
                        + "AND (state <> '" + State.REQUESTED + "' OR requested_at < now() - $3 * interval '1 second') "
                        + "AND (lease_until IS NULL OR lease_until < now()) "
                        + "ORDER BY coalesce(checked_at, updated_at) LIMIT $4 FOR UPDATE SKIP LOCKED) RETURNING " + Topup.COLUMNS)
                .execute(args)
                .map(rows -> {
                    List<Topup> topups = new ArrayList<>();
                    rows.forEach(row -> topups.add(Topup.from(row)));
                    return topups;
                });
    }

    /** Top-ups still open {@code ageSeconds} after they were created. */
    Future<Metrics.Stuck> stuck(long ageSeconds) {
        return pool.preparedQuery("SELECT count(*) AS n, coalesce(max(extract(epoch FROM now() - created_at)), 0)::bigint AS age "
                        + "FROM topups WHERE " + OPEN + " AND created_at < now() - $1 * interval '1 second'")
                .execute(Tuple.of(ageSeconds))
                .map(Metrics.Stuck::from);
    }

    private Future<Void> history(SqlConnection tx, String topupId, State state, String cause, Driver driver) {
        return tx.preparedQuery("INSERT INTO topup_history (topup_id, state, cause, node, driven_by) VALUES ($1, $2, $3, $4, $5)")
                .execute(Tuple.of(topupId, state.name(), cause, node, driver.name())).mapEmpty();
    }

    /**
     * Records a call to the bank and its answer ({@code code} and {@code error} may be null): the story shows it, with
     * who drove it. One statement outside any transaction: the call has happened whatever becomes of the step.
     */
    Future<Void> bankCall(String topupId, BankCall call, String answer, Integer code, String error, Driver driver) {
        return pool.preparedQuery("INSERT INTO topup_bank_calls (topup_id, call, answer, code, error, driven_by, node) "
                        + "VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .execute(Tuple.of(topupId, call.name(), answer, code, error, driver.name(), node)).mapEmpty();
    }

    private static Future<Topup> load(SqlClient client, String topupId) {
        return client.preparedQuery("SELECT " + Topup.COLUMNS + " FROM topups WHERE topup_id = $1")
                .execute(Tuple.of(topupId))
                .map(TopupStore::firstOrNull);
    }

    private static Topup firstOrNull(RowSet<Row> rows) {
        return rows.rowCount() == 0 ? null : Topup.from(rows.iterator().next());
    }
}
