package taraz.ledger;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.vertx.core.AbstractVerticle;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.pgclient.PgConnection;
import io.vertx.pgclient.PgException;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import taraz.domain.DomainError;
import taraz.failpoint.Failpoints;
import taraz.idempotency.IdempotencyStore;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The node's one ledger writer: every ledger step of every flow is a {@link LedgerCommand}
 * queued here from any event loop. The writer takes whatever has queued (up to
 * {@code batchMax}) while the previous batch commits (group commit, no linger), and runs each
 * batch as one PostgreSQL transaction on its own connection:
 *
 * <ol>
 *   <li>lock, in one order: the batch's idempotency keys (sorted), its flows' rows (each part
 *       sorted), then its accounts ({@link Transfer#LOCK_ORDER}), all set-based, pipelined;</li>
 *   <li>apply every command in order, in Java, against the locked balances; a command that
 *       breaks a rule fails alone with its own error;</li>
 *   <li>write holds, transfers, entries, each account's balance once, the flows' rows and each
 *       keyed command's answer, one statement per table;</li>
 *   <li>commit, then answer every caller.</li>
 * </ol>
 *
 * Two writers (two nodes) never deadlock, since both lock in that order; a deadlock or
 * serialization failure anyway, or a race on a new row (two nodes creating one trip), rolls the
 * batch back and runs it again, a bounded number of times. The queue is bounded: a full queue
 * refuses at once ({@link WriterBusyException}, a 503).
 */
public final class BatchWriter {

    private static final Logger LOG = LoggerFactory.getLogger(BatchWriter.class);
    /** A batch rolled back by a deadlock, a serialization failure or a new-row race runs again up to this many times. */
    static final int RETRIES_MAX = 5;
    private static final Set<String> RETRYABLE_SQL_STATES = Set.of("40P01", "40001", "23505");

    private final Vertx vertx;
    private final PgConnectOptions connectOptions;
    private final Failpoints failpoints;
    private final String owner;
    private final int batchMax;
    private final int queueMax;
    private final ConcurrentLinkedQueue<Pending<?>> queue = new ConcurrentLinkedQueue<>();
    private final AtomicInteger depth = new AtomicInteger();
    private final AtomicBoolean scheduled = new AtomicBoolean();
    private final DistributionSummary batchSize;
    private final Timer batchDuration;
    private final Counter committed;
    private final Counter declined;
    private final Counter rejected;
    private final Counter failed;
    private Context context;
    private SqlConnection connection;
    private boolean running;
    private volatile boolean closed;

    public BatchWriter(Vertx vertx, PgConnectOptions connectOptions, Failpoints failpoints, String owner, int batchMax,
                       int queueMax, MeterRegistry registry) {
        this.vertx = vertx;
        this.connectOptions = new PgConnectOptions(connectOptions).setPipeliningLimit(Math.max(256, batchMax));
        this.failpoints = failpoints;
        this.owner = owner;
        this.batchMax = batchMax;
        this.queueMax = queueMax;
        this.batchSize = DistributionSummary.builder("taraz.ledger.batch.size").description("commands per ledger batch")
                .publishPercentileHistogram().minimumExpectedValue(1.0).maximumExpectedValue((double) batchMax)
                .register(registry);
        this.batchDuration = Timer.builder("taraz.ledger.batch.duration")
                .description("one ledger batch, first statement to commit").publishPercentileHistogram().register(registry);
        Gauge.builder("taraz.ledger.queue.depth", depth, AtomicInteger::get)
                .description("ledger commands queued or in the running batch").register(registry);
        // The bound beside the depth, so that an alert reads the queue's fill as depth / capacity.
        Gauge.builder("taraz.ledger.queue.capacity", () -> queueMax)
                .description("ledger commands queued before new ones are refused (503)").register(registry);
        this.committed = commands(registry, "committed");
        this.declined = commands(registry, "declined");
        this.rejected = commands(registry, "rejected");
        this.failed = commands(registry, "failed");
    }

    private static Counter commands(MeterRegistry registry, String outcome) {
        return Counter.builder("taraz.ledger.commands").tag("outcome", outcome)
                .description("ledger commands: committed, declined by a rule (committed with their refusal), "
                        + "rejected at a full queue, failed with their batch")
                .register(registry);
    }

    /** Starts the writer on a context of its own, connected to the database. */
    public Future<Void> start() {
        return vertx.deployVerticle(new AbstractVerticle() {
            @Override
            public void start(Promise<Void> started) {
                BatchWriter.this.context = context;
                connect().<Void>mapEmpty().onComplete(started);
            }
        }).mapEmpty();
    }

    /**
     * Stops taking commands and closes the connection now. The stop sequence calls this after
     * its drain: a batch still running then (held past the deadline) is cut off, and PostgreSQL
     * rolls it back, or commits it if its COMMIT was already on the way; either way its commands'
     * PENDING records lead recovery to them. Queued commands fail with a 503.
     */
    public Future<Void> close() {
        closed = true;
        if (context == null) {
            return Future.succeededFuture();
        }
        Promise<Void> done = Promise.promise();
        context.runOnContext(v -> {
            failQueued(new WriterBusyException("the ledger writer is closed"));
            SqlConnection open = connection;
            connection = null;
            if (open == null) {
                done.complete();
            } else {
                open.close().onComplete(c -> done.complete());
            }
        });
        return done.future();
    }

    /**
     * Queues a command. Its batch commits only after {@code announced} (the command's PENDING
     * journal record being synced) has succeeded, so the journal always knows of a committed
     * step; the sync runs while the batch locks and applies. The outcome comes back on the
     * caller's context once its batch has committed; the future fails when the batch could not
     * commit (nothing of it was written, or, on a lost commit acknowledgement, the journal's
     * PENDING record leads recovery to it).
     */
    public <T> Future<LedgerCommand.Outcome<T>> submit(LedgerCommand<T> command, Future<?> announced) {
        if (closed) {
            return Future.failedFuture(new WriterBusyException("the ledger writer is closed"));
        }
        if (depth.incrementAndGet() > queueMax) {
            depth.decrementAndGet();
            rejected.increment();
            return Future.failedFuture(new WriterBusyException("the ledger writer's queue is full (" + queueMax + ")"));
        }
        Promise<LedgerCommand.Outcome<T>> promise = Promise.promise();
        queue.add(new Pending<>(command, announced, promise, Vertx.currentContext()));
        if (scheduled.compareAndSet(false, true)) {
            context.runOnContext(v -> drain());
        }
        return promise.future();
    }

    private void drain() {
        scheduled.set(false);
        if (running || queue.isEmpty()) {
            return;
        }
        List<Pending<?>> batch = new ArrayList<>(Math.min(batchMax, queue.size()));
        for (Pending<?> next; batch.size() < batchMax && (next = queue.poll()) != null; ) {
            batch.add(next);
        }
        running = true;
        long started = System.nanoTime();
        run(batch, 0).onComplete(done -> {
            batchDuration.record(System.nanoTime() - started, TimeUnit.NANOSECONDS);
            batchSize.record(batch.size());
            depth.addAndGet(-batch.size());
            running = false;
            drain();
        });
    }

    private Future<Void> run(List<Pending<?>> pendings, int attempt) {
        Future<SqlConnection> connected = connection != null ? Future.succeededFuture(connection) : connect();
        return connected.compose(tx -> attempt(tx, pendings)).transform(result -> {
            if (result.succeeded()) {
                result.result().forEach(Runnable::run);
                return Future.succeededFuture();
            }
            Throwable cause = result.cause();
            if (attempt < RETRIES_MAX && retryable(cause) && !closed) {
                LOG.info("ledger batch of {} rolled back ({}), running it again", pendings.size(), cause.toString());
                return run(pendings, attempt + 1);
            }
            LOG.error("ledger batch of {} command(s) failed; nothing of it was committed", pendings.size(), cause);
            failed.increment(pendings.size());
            pendings.forEach(p -> p.fail(cause));
            return Future.succeededFuture();
        });
    }

    private Future<SqlConnection> connect() {
        return PgConnection.connect(vertx, connectOptions).map(c -> {
            c.closeHandler(v -> {
                if (connection == c) {
                    connection = null;
                }
            });
            connection = c;
            return (SqlConnection) c;
        });
    }

    /**
     * One transaction for the batch. Returns the completions to run once it committed; on any
     * failure the transaction is rolled back first.
     */
    private Future<List<Runnable>> attempt(SqlConnection tx, List<Pending<?>> pendings) {
        Batch batch = new Batch();
        List<Pending<?>> live = new ArrayList<>(pendings.size());
        List<Runnable> completions = new ArrayList<>(pendings.size());
        for (Pending<?> pending : pendings) {
            try {
                pending.command.prepare(batch);
                live.add(pending);
            } catch (RuntimeException e) {
                completions.add(() -> pending.fail(e));
            }
        }
        String[] keys = live.stream().map(p -> p.command.idem()).filter(java.util.Objects::nonNull)
                .map(LedgerCommand.Idem::key).distinct().sorted().toArray(String[]::new);
        List<Future<?>> locks = new ArrayList<>();
        locks.add(tx.query("BEGIN").execute());
        Future<RowSet<Row>> now = tx.query("SELECT now()").execute();
        locks.add(now);
        Future<Map<String, IdempotencyStore.Stored>> stored = keys.length == 0 ? Future.succeededFuture(Map.of())
                : IdempotencyStore.lockAndRead(tx, keys);
        locks.add(stored);
        List<BatchPart> parts = new ArrayList<>();
        batch.parts().forEach(parts::add);
        parts.sort(Comparator.comparing(part -> part.getClass().getName()));
        parts.forEach(part -> locks.add(part.load(tx)));
        Future<List<Runnable>> done = Future.all(locks)
                .compose(locked -> tx.preparedQuery("SELECT id, kind, allow_overdraft, balance_rials, held_rials, debt_allowed_rials FROM accounts "
                                + "WHERE id = ANY($1) ORDER BY array_position($1, id) FOR NO KEY UPDATE")
                        .execute(Tuple.of((Object) batch.accountsToLock())))
                .compose(accounts -> {
                    batch.loaded(now.result().iterator().next().getOffsetDateTime(0), accounts);
                    Applied applied = apply(batch, live, stored.result());
                    List<Future<?>> writes = new ArrayList<>(batch.write(tx));
                    parts.forEach(part -> writes.addAll(part.write(tx)));
                    writes.addAll(IdempotencyStore.writeDone(tx, owner, applied.inserted, applied.takenOver));
                    // The journal's PENDING records of the batch must be on disk before it commits.
                    live.forEach(p -> writes.add(p.announced));
                    return Future.all(writes).compose(written -> beforeCommit(applied.points))
                            .compose(v -> tx.query("COMMIT").execute())
                            .compose(v -> failpoints.at("ledger.batch.after-commit"))
                            .map(v -> {
                                committed.increment(applied.committed);
                                declined.increment(applied.declined);
                                completions.addAll(applied.completions);
                                return completions;
                            });
                });
        return done.recover(err -> {
            // Pipelined statements behind a failed one fail too; ROLLBACK queues after them all.
            Future<?> rolledBack = tx.query("ROLLBACK").execute();
            return rolledBack.transform(r -> {
                if (r.failed()) {
                    // The connection is broken or in an unknown state: the next batch opens a new one.
                    tx.close();
                }
                // Commands refused before the transaction (a bad command) are answered all the same.
                completions.forEach(Runnable::run);
                return Future.failedFuture(err);
            });
        });
    }

    private Future<Void> beforeCommit(Set<String> points) {
        Future<Void> chain = Future.succeededFuture();
        for (String point : points) {
            chain = chain.compose(v -> failpoints.at(point));
        }
        return chain.compose(v -> failpoints.at("ledger.batch.before-commit"));
    }

    /** What applying the commands gave: their completions, the keys to write, the failpoints to pass. */
    private static final class Applied {
        final List<Runnable> completions = new ArrayList<>();
        final List<IdempotencyStore.Done> inserted = new ArrayList<>();
        final List<IdempotencyStore.Done> takenOver = new ArrayList<>();
        final Set<String> points = new LinkedHashSet<>();
        int committed;
        int declined;
    }

    private static Applied apply(Batch batch, List<Pending<?>> pendings, Map<String, IdempotencyStore.Stored> stored) {
        Applied applied = new Applied();
        Map<String, IdempotencyStore.Stored> keys = new HashMap<>(stored);
        for (Pending<?> pending : pendings) {
            applied.completions.add(applyOne(batch, pending, keys, applied));
        }
        return applied;
    }

    private static <T> Runnable applyOne(Batch batch, Pending<T> pending, Map<String, IdempotencyStore.Stored> keys,
                                         Applied applied) {
        LedgerCommand<T> command = pending.command;
        LedgerCommand.Idem idem = command.idem();
        IdempotencyStore.Stored existing = idem == null ? null : keys.get(idem.key());
        if (existing != null) {
            if (!existing.requestHash().equals(idem.requestHash())) {
                DomainError reused = DomainError.idempotencyKeyReused();
                return pending.completion(new LedgerCommand.Outcome<>(command.current(batch), reused,
                        idem.refusal().apply(reused)));
            }
            if (existing.done()) {
                return pending.completion(new LedgerCommand.Outcome<>(command.current(batch), null,
                        new LedgerCommand.Answer(existing.status(), existing.body(), true)));
            }
            if (!existing.expired()) {
                DomainError running = DomainError.requestInProgress();
                return pending.completion(new LedgerCommand.Outcome<>(command.current(batch), running,
                        idem.refusal().apply(running)));
            }
        }
        int mark = batch.mark();
        LedgerCommand.Outcome<T> outcome;
        try {
            T result = command.apply(batch);
            LedgerCommand.Answer answer = command.render(result, batch);
            outcome = new LedgerCommand.Outcome<>(result, null, answer);
            if (command.beforeCommitPoint() != null) {
                applied.points.add(command.beforeCommitPoint());
            }
            applied.committed++;
        } catch (DomainError refusal) {
            batch.rollback(mark);
            command.refused(batch, refusal);
            outcome = new LedgerCommand.Outcome<>(command.current(batch), refusal,
                    idem == null ? null : idem.refusal().apply(refusal));
            applied.declined++;
        } catch (RuntimeException e) {
            // A broken invariant in this command: it fails alone, with no answer stored, and its client sees a 500.
            batch.rollback(mark);
            LOG.error("ledger command {} failed", command, e);
            return () -> pending.fail(e);
        }
        if (idem != null) {
            LedgerCommand.Answer answer = outcome.answer();
            IdempotencyStore.Done done = new IdempotencyStore.Done(idem.key(), idem.requestHash(), idem.method(), idem.path(),
                    answer.status(), answer.body());
            (existing == null ? applied.inserted : applied.takenOver).add(done);
            keys.put(idem.key(), new IdempotencyStore.Stored(idem.requestHash(), true, false, answer.status(), answer.body()));
        }
        return pending.completion(outcome);
    }

    private static boolean retryable(Throwable cause) {
        for (Throwable t = cause; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof PgException pg && RETRYABLE_SQL_STATES.contains(pg.getSqlState())) {
                return true;
            }
            if (t instanceof RaceException) {
                return true;
            }
        }
        return false;
    }

    private void failQueued(Throwable cause) {
        for (Pending<?> next; (next = queue.poll()) != null; ) {
            depth.decrementAndGet();
            next.fail(cause);
        }
    }

    /** A new row another node created at the same moment: the batch runs again and finds it. */
    public static final class RaceException extends RuntimeException {
        public RaceException(String message) {
            super(message, null, false, false);
        }
    }

    private record Pending<T>(LedgerCommand<T> command, Future<?> announced, Promise<LedgerCommand.Outcome<T>> promise,
                              Context caller) {

        Runnable completion(LedgerCommand.Outcome<T> outcome) {
            return () -> onCaller(() -> promise.tryComplete(outcome));
        }

        /** Fails the command; one refused before its batch's transaction may be failed again by a retry, harmlessly. */
        void fail(Throwable cause) {
            onCaller(() -> promise.tryFail(cause));
        }

        private void onCaller(Runnable action) {
            if (caller == null) {
                action.run();
            } else {
                caller.runOnContext(v -> action.run());
            }
        }
    }
}
