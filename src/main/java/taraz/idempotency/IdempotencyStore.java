package taraz.idempotency;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Idempotency keys in PostgreSQL, so they hold across replicas (Stripe's semantics, Brandur's
 * "atomic phases"). A key is claimed with a lease; the same key and body replays the stored
 * response; another body under the same key is refused; a live claim answers "in progress";
 * a claim whose lease expired (its process died) is taken over and the request runs again,
 * which is safe because every operation behind a key is itself idempotent. A key is kept, with
 * its request's fingerprint, for the whole retention, whatever became of its request.
 */
public final class IdempotencyStore {

    private static final Logger LOG = LoggerFactory.getLogger(IdempotencyStore.class);
    /** Day partitions kept ready ahead of today, so a node down for a while still finds one. */
    public static final int DAYS_AHEAD = 3;

    private final Pool pool;
    private final String owner;
    private final long leaseMillis;

    public IdempotencyStore(Pool pool, String owner, long leaseMillis) {
        this.pool = pool;
        this.owner = owner;
        this.leaseMillis = leaseMillis;
    }

    public sealed interface Begin permits Started, Replay, Mismatch, InProgress {}
    public record Started() implements Begin {}
    public record Replay(int status, String body) implements Begin {}
    public record Mismatch() implements Begin {}
    public record InProgress() implements Begin {}

    /**
     * Claims the key for this request, or says what it holds: one round trip to
     * {@code idempotency_claim}, which serializes the claimers of one key (see V5).
     */
    public Future<Begin> begin(String key, String requestHash, String method, String path) {
        return pool.preparedQuery("SELECT * FROM idempotency_claim($1, $2, $3, $4, $5, $6)")
                .execute(Tuple.of(key, requestHash, method, path, owner, leaseMillis))
                .compose(rows -> {
                    Row row = rows.iterator().next();
                    return row.getBoolean("inserted") ? Future.succeededFuture(new Started()) : decide(key, requestHash, row);
                });
    }

    private Future<Begin> decide(String key, String requestHash, Row row) {
        if (!row.getString("request_hash").equals(requestHash)) {
            return Future.succeededFuture(new Mismatch());
        }
        if ("done".equals(row.getString("state"))) {
            return Future.succeededFuture(new Replay(row.getInteger("response_status"), row.getString("response_body")));
        }
        if (!row.getBoolean("expired")) {
            return Future.succeededFuture(new InProgress());
        }
        return pool.preparedQuery("UPDATE idempotency_keys SET owner = $2, locked_until = now() + $3 * interval '1 millisecond', "
                        + "updated_at = now() WHERE key = $1 AND state = 'in_progress' AND locked_until < now()")
                .execute(Tuple.of(key, owner, leaseMillis))
                .map(updated -> updated.rowCount() == 1 ? new Started() : new InProgress());
    }

    // ---- inside a ledger batch's transaction -------------------------------------------------

    /** A key as the batch found it: its fingerprint, whether it is done (with its answer), and whether its lease ran out. */
    public record Stored(String requestHash, boolean done, boolean expired, Integer status, String body) {}

    /**
     * Locks the keys of a batch (the advisory lock {@code idempotency_claim} takes for one key,
     * here for all of them in the order given, which the caller sorts) and reads the ones that
     * exist. Until the batch's transaction ends, no other claimer or batch can take these keys.
     */
    public static Future<Map<String, Stored>> lockAndRead(SqlConnection tx, String[] sortedKeys) {
        Future<?> locked = tx.preparedQuery("SELECT count(pg_advisory_xact_lock(hashtextextended('taraz:idempotency:' || k, 0))) "
                        + "FROM unnest($1::text[]) WITH ORDINALITY AS u(k, n)")
                .execute(Tuple.of((Object) sortedKeys));
        Future<Map<String, Stored>> read = tx.preparedQuery("SELECT key, request_hash, state, locked_until < now() AS expired, "
                        + "response_status, response_body FROM idempotency_keys WHERE key = ANY($1)")
                .execute(Tuple.of((Object) sortedKeys))
                .map(rows -> {
                    Map<String, Stored> stored = new HashMap<>();
                    for (Row row : rows) {
                        stored.put(row.getString("key"), new Stored(row.getString("request_hash"),
                                "done".equals(row.getString("state")), row.getBoolean("expired"),
                                row.getInteger("response_status"), row.getString("response_body")));
                    }
                    return stored;
                });
        return locked.compose(l -> read);
    }

    /** A key and its answer, written done by a batch. */
    public record Done(String key, String requestHash, String method, String path, int status, String body) {}

    /**
     * Writes the batch's answers: new keys inserted done, and keys whose claim had run out
     * (their process died) taken over and made done. Two statements whatever the batch size.
     */
    public static List<Future<?>> writeDone(SqlConnection tx, String owner, List<Done> inserted, List<Done> takenOver) {
        List<Future<?>> writes = new java.util.ArrayList<>(2);
        if (!inserted.isEmpty()) {
            writes.add(tx.preparedQuery("INSERT INTO idempotency_keys (key, request_hash, method, path, state, owner, "
                            + "locked_until, response_status, response_body) "
                            + "SELECT k, h, m, p, 'done', $7, now(), s, b FROM unnest($1::text[], $2::text[], $3::text[], "
                            + "$4::text[], $5::int[], $6::text[]) AS u(k, h, m, p, s, b)")
                    .execute(Tuple.of(column(inserted, Done::key), column(inserted, Done::requestHash),
                            column(inserted, Done::method), column(inserted, Done::path),
                            inserted.stream().map(Done::status).toArray(Integer[]::new), column(inserted, Done::body), owner)));
        }
        if (!takenOver.isEmpty()) {
            writes.add(tx.preparedQuery("UPDATE idempotency_keys SET state = 'done', owner = $4, response_status = u.s, "
                            + "response_body = u.b, updated_at = now() FROM unnest($1::text[], $2::int[], $3::text[]) AS u(k, s, b) "
                            + "WHERE idempotency_keys.key = u.k AND idempotency_keys.state = 'in_progress'")
                    .execute(Tuple.of(column(takenOver, Done::key), takenOver.stream().map(Done::status).toArray(Integer[]::new),
                            column(takenOver, Done::body), owner)));
        }
        return writes;
    }

    private static String[] column(List<Done> rows, java.util.function.Function<Done, String> field) {
        return rows.stream().map(field).toArray(String[]::new);
    }

    /** Stores the response, so that the same request under the same key replays it. */
    public Future<Void> finish(String key, int status, String body) {
        return pool.preparedQuery("UPDATE idempotency_keys SET state = 'done', response_status = $2, response_body = $3, "
                        + "updated_at = now() WHERE key = $1 AND state = 'in_progress'")
                .execute(Tuple.of(key, status, body))
                .mapEmpty();
    }

    /**
     * A request that failed with a server error: its claim's lease ends now, so the same request
     * retried runs again at once; the key keeps its fingerprint for its whole retention, so a
     * retry with another body is refused. (Forgetting the key instead let a retry with another
     * body run against whatever the first attempt had done under the same key.)
     */
    public Future<Void> abandon(String key) {
        return pool.preparedQuery("UPDATE idempotency_keys SET locked_until = now(), updated_at = now() "
                        + "WHERE key = $1 AND state = 'in_progress' AND owner = $2")
                .execute(Tuple.of(key, owner))
                .mapEmpty();
    }

    /**
     * At boot, before serving: claims this node held are orphans of its previous life, so their
     * leases end now and a client's retry takes over at once instead of waiting out the lease.
     * With {@code allOwners} (the embedded database, which no other node can reach) every claim is.
     */
    public Future<Integer> expireOrphanedClaims(boolean allOwners) {
        return pool.preparedQuery("UPDATE idempotency_keys SET locked_until = now() "
                        + "WHERE state = 'in_progress' AND ($1 OR owner = $2)")
                .execute(Tuple.of(allOwners, owner))
                .map(rows -> rows.rowCount());
    }

    /**
     * Retention by day: makes sure the partitions of today and the next {@code daysAhead} days
     * exist (every node does this at boot and on each housekeeping round, so a key always has a
     * partition to go to), then drops the days whose every key is older than the retention,
     * orphaned claims included. Returns how many days were dropped.
     */
    public Future<Integer> maintain(long retentionHours, int daysAhead) {
        return pool.preparedQuery("SELECT count(idempotency_partition((now() AT TIME ZONE 'UTC')::date + d)) "
                        + "FROM generate_series(0, $1) AS d")
                .execute(Tuple.of(daysAhead))
                .compose(created -> pool.preparedQuery("SELECT idempotency_drop_expired($1 * interval '1 hour') AS dropped")
                        .execute(Tuple.of(retentionHours)))
                .map(rows -> rows.iterator().next().getInteger("dropped"));
    }

    /** The retention job's round: {@link #maintain} with {@link #DAYS_AHEAD}, what it dropped logged. */
    public Future<Void> retentionRound(long retentionHours) {
        return maintain(retentionHours, DAYS_AHEAD).onSuccess(dropped -> {
            if (dropped > 0) {
                LOG.info("idempotency retention: dropped {} day(s) of keys older than {} h", dropped, retentionHours);
            }
        }).mapEmpty();
    }
}
