package taraz.ledger;

import io.vertx.core.Future;
import io.vertx.pgclient.PgException;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.SqlConnection;

import java.util.function.Function;

/**
 * Runs one atomic phase: commit if the body's future succeeds, roll back if it fails. A
 * deadlock or serialization failure (the database aborted us, nothing was written) is retried
 * a bounded number of times; every other failure goes to the caller.
 */
public final class Tx {

    public static final int DEADLOCK_RETRIES_MAX = 3;

    private Tx() {
    }

    public static <T> Future<T> run(Pool pool, Function<SqlConnection, Future<T>> body) {
        return attempt(pool, body, 0);
    }

    private static <T> Future<T> attempt(Pool pool, Function<SqlConnection, Future<T>> body, int retries) {
        return pool.withTransaction(body).recover(err -> {
            if (retries < DEADLOCK_RETRIES_MAX && isRetryable(err)) {
                return attempt(pool, body, retries + 1);
            }
            return Future.failedFuture(err);
        });
    }

    private static boolean isRetryable(Throwable err) {
        return err instanceof PgException pg
                && ("40P01".equals(pg.getSqlState()) || "40001".equals(pg.getSqlState()));
    }
}
