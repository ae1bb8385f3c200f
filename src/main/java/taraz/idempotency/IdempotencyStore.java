package taraz.idempotency;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;

/**
 * Idempotency keys in PostgreSQL, so they hold across replicas (Stripe's semantics, Brandur's
 * "atomic phases"). A key is claimed with a lease; the same key and body replays the stored
 * response; another body under the same key is refused; a live claim answers "in progress";
 * a claim whose lease expired (its process died) is taken over and the request runs again,
 * which is safe because every operation behind a key is itself idempotent.
 */
public final class IdempotencyStore {

    /** How often {@link #begin} re-reads a key that changed under it before giving up. */
    private static final int BEGIN_ATTEMPTS_MAX = 3;

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

    public Future<Begin> begin(String key, String requestHash, String method, String path) {
        return begin(key, requestHash, method, path, 1);
    }

    private Future<Begin> begin(String key, String requestHash, String method, String path, int attempt) {
        return pool.preparedQuery("INSERT INTO idempotency_keys (key, request_hash, method, path, state, owner, locked_until) "
                        + "VALUES ($1, $2, $3, $4, 'in_progress', $5, now() + $6 * interval '1 millisecond') "
                        + "ON CONFLICT (key) DO NOTHING")
                .execute(Tuple.of(key, requestHash, method, path, owner, leaseMillis))
                .compose(inserted -> {
                    if (inserted.rowCount() == 1) {
                        return Future.succeededFuture(new Started());
                    }
                    return pool.preparedQuery("SELECT request_hash, state, locked_until < now() AS expired, "
                                    + "response_status, response_body FROM idempotency_keys WHERE key = $1")
                            .execute(Tuple.of(key))
                            .compose(rows -> {
                                if (rows.rowCount() == 0) {
                                    // Released by a failed first request between our insert and read.
                                    return attempt < BEGIN_ATTEMPTS_MAX ? begin(key, requestHash, method, path, attempt + 1)
                                            : Future.succeededFuture(new InProgress());
                                }
                                return decide(key, requestHash, rows.iterator().next());
                            });
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

    /** Stores the response, so that the same request under the same key replays it. */
    public Future<Void> finish(String key, int status, String body) {
        return pool.preparedQuery("UPDATE idempotency_keys SET state = 'done', response_status = $2, response_body = $3, "
                        + "updated_at = now() WHERE key = $1 AND state = 'in_progress'")
                .execute(Tuple.of(key, status, body))
                .mapEmpty();
    }

    /** Forgets a claim whose request failed with a server error, so that a retry runs it again. */
    public Future<Void> release(String key) {
        return pool.preparedQuery("DELETE FROM idempotency_keys WHERE key = $1 AND state = 'in_progress' AND owner = $2")
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

    /** Deletes finished keys older than the retention, at most {@code limit} per call. */
    public Future<Integer> purge(long retentionHours, int limit) {
        return pool.preparedQuery("DELETE FROM idempotency_keys WHERE key IN (SELECT key FROM idempotency_keys "
                        + "WHERE created_at < now() - $1 * interval '1 hour' AND state = 'done' LIMIT $2)")
                .execute(Tuple.of(retentionHours, limit))
                .map(rows -> rows.rowCount());
    }
}
