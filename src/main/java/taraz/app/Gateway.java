package taraz.app;

import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.ext.healthchecks.HealthChecks;
import io.vertx.ext.healthchecks.Status;
import io.vertx.micrometer.MicrometerMetricsFactory;
import io.vertx.micrometer.MicrometerMetricsOptions;
import io.vertx.pgclient.PgBuilder;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;
import io.vertx.sqlclient.SqlConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import taraz.admin.AdjustmentService;
import taraz.admin.StoryService;
import taraz.config.Settings;
import taraz.db.Database;
import taraz.db.EmbeddedDatabase;
import taraz.failpoint.Failpoints;
import taraz.http.Api;
import taraz.http.ApiKeys;
import taraz.http.HttpVerticle;
import taraz.http.Contract;
import taraz.idempotency.IdempotencyStore;
import taraz.journal.Inflight;
import taraz.journal.Journal;
import taraz.ledger.BatchWriter;
import taraz.ledger.Ledger;
import taraz.journal.JournalRecord;
import taraz.ops.DrainCutOff;
import taraz.ops.LogContext;
import taraz.ops.Metrics;
import taraz.ops.Readiness;
import taraz.ops.Schedule;
import taraz.ops.Startup;
import taraz.psp.ZarinpalPsp;
import taraz.payout.PayoutService;
import taraz.payout.PayoutSweeper;
import taraz.psp.HttpPayoutProvider;
import taraz.topup.RefundService;
import taraz.topup.TopupService;
import taraz.topup.TopupSweeper;
import taraz.reconcile.Checks;
import taraz.reconcile.Rules;
import taraz.recovery.Recovery;
import taraz.trip.HoldSweeper;
import taraz.trip.TripService;
import taraz.wiring.Flows;
import taraz.wiring.StateColumns;

import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The gateway process, wired in one place: the database (embedded unless TARAZ_PG_URL) and its
 * migrations, the journal and the request schemas, side by side; then the flows, one HTTP verticle
 * per event loop, boot recovery, then ready, each phase timed ({@link Startup}). {@link #stop}
 * undoes it in the order the brief gives.
 */
public final class Gateway {

    private static final Logger LOG = LoggerFactory.getLogger(Gateway.class);
    private static final long DB_CHECK_TIMEOUT_MILLIS = 2000;
    /** Start-up bound: the embedded database's first initdb plus recovery of a large journal. */
    private static final long BOOT_TIMEOUT_MILLIS = 600_000;
    /** The bound of each stop phase beyond its own configured deadline. */
    private static final long PHASE_MARGIN_MILLIS = 15_000;
    /** How often the drain looks at the in-flight counters. */
    private static final long DRAIN_POLL_MILLIS = 20;

    private final Settings settings;
    private final Vertx vertx;
    private final Metrics metrics;
    private final Readiness readiness = new Readiness();
    /** Set when the drain deadline cut off running work; written to the data directory before the process exits. */
    private volatile boolean drainCutOff;
    private final Inflight steps = new Inflight();
    private final Startup startup;
    private EmbeddedDatabase embedded;
    private Journal journal;
    private Pool pool;
    private BatchWriter writer;
    private Schedule schedule;
    private Checks checks;
    private String httpDeployment;
    private int httpPort;
    private String pgUrl;
    private ApiKeys keys;

    private Gateway(Settings settings, Metrics metrics, Vertx vertx, Startup startup) {
        this.settings = settings;
        this.metrics = metrics;
        this.vertx = vertx;
        this.startup = startup;
    }

    /** {@link #start(Settings, Startup)} inside a JVM that was running already (a test). */
    public static Gateway start(Settings settings) throws Exception {
        return start(settings, Startup.inProcess());
    }

    /**
     * Starts the gateway and waits until it is ready (recovery included). Blocking: call it from
     * a plain thread (main, a test), never from an event loop. On failure everything started so
     * far is stopped again and the cause is thrown. Each phase's time goes to {@code startup}.
     */
    public static Gateway start(Settings settings, Startup startup) throws Exception {
        Metrics metrics = new Metrics();
        startup.bind(metrics.registry());
        Vertx vertx = Vertx.builder()
                .with(new VertxOptions().setMetricsOptions(new MicrometerMetricsOptions().setEnabled(true)))
                .withMetrics(new MicrometerMetricsFactory(metrics.registry()))
                .build();
        Gateway gateway = new Gateway(settings, metrics, vertx, startup);
        metrics.readiness(gateway.readiness);
        startup.booting();
        try {
            gateway.boot().toCompletionStage().toCompletableFuture().get(BOOT_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
            return gateway;
        } catch (Exception e) {
            LOG.error("taraz failed to start", e instanceof java.util.concurrent.ExecutionException ? e.getCause() : e);
            gateway.stop();
            throw e;
        }
    }

    private Future<Void> boot() {
        long started = System.nanoTime();
        String node = settings.nodeId();
        LogContext.node(node);
        Failpoints failpoints = Failpoints.parse(vertx, settings.failpoints());
        return vertx.executeBlocking(() -> {
                    metrics.drainCutOff(DrainCutOff.lastEpochSeconds(settings.dataDir()));
                    List<String> configured = settings.apiKeys();
                    keys = new ApiKeys(configured.isEmpty() ? List.of(ApiKeys.loadOrGenerate(settings.dataDir())) : configured,
                            settings.adminToken());
                    if (settings.pgUrl() == null) {
                        // Before the journal opens below: a second taraz on this data directory touches nothing of it.
                        EmbeddedDatabase.refuseIfInUse(settings.postgresDir());
                    }
                    return null;
                }, false)
                // The database, the journal and the request schemas need nothing from one another, so they start side
                // by side, each on a thread of its own: much of the database's start is waiting for PostgreSQL.
                // join, not all: on a failure the others have finished too, so stop() closes whatever they opened.
                .compose(checked -> Future.join(startDatabase(), vertx.executeBlocking(this::openJournal, false),
                        startup.timeFuture(Startup.Phase.OPENAPI, () -> Contract.load(vertx, settings.requests().amountRialsMax()))))
                .compose(opened -> {
                    String pgUrl = opened.resultAt(0);
                    Contract contract = opened.resultAt(2);
                    ZarinpalPsp psp = new ZarinpalPsp(vertx, settings.psp().url(), settings.psp().merchantId(), settings.psp().accessToken(),
                            settings.psp().timeoutMillis(), settings.psp().retriesMax(), metrics.registry());
                    HttpPayoutProvider payoutProvider = new HttpPayoutProvider(vertx, settings.payouts().url(),
                            settings.payouts().timeoutMillis(), settings.payouts().retriesMax(), metrics.registry());
                    Flows flows = Flows.wire(vertx, settings, pgUrl, pool, journal, failpoints, node, psp, payoutProvider, steps,
                            metrics.registry());
                    Ledger ledger = flows.ledger();
                    writer = flows.writer();
                    TripService trips = flows.trips();
                    TopupService topups = flows.topups();
                    PayoutService payouts = flows.payouts();
                    PayoutSweeper payoutSweeper = new PayoutSweeper(payouts, settings.payouts().sweepBatchMax(),
                            settings.payouts().sweepConcurrency());
                    AdjustmentService adjustments = new AdjustmentService(pool, writer, journal, failpoints, node, steps);
                    RefundService refunds = new RefundService(pool, writer, journal, failpoints, node, psp,
                            settings.psp().windowSeconds(), settings.topups().leaseMillis(), steps, metrics);
                    TopupSweeper sweeper = new TopupSweeper(topups, settings.topups().callbackGraceSeconds(),
                            settings.topups().sweepBatchMax(), settings.topups().sweepConcurrency());
                    IdempotencyStore idempotency = new IdempotencyStore(pool, node, settings.idempotency().leaseMillis());
                    HoldSweeper holdSweeper = new HoldSweeper(trips, settings.holds().sweepBatchMax(), metrics);
                    long stuckGraceSeconds = settings.checks().stuckGraceSeconds();
                    checks = new Checks(vertx, pgUrl, Rules.load(null), settings.psp().windowSeconds(),
                            new Checks.Bounds(settings.reconciliation().intervalMillis(), settings.reconciliation().lookbackHours(),
                                    settings.reconciliation().timeoutMillis(), settings.checks().checkBatchMax()),
                            metrics, List.of(() -> trips.stuck(stuckGraceSeconds), () -> topups.stuck(stuckGraceSeconds),
                                    () -> payouts.stuck(stuckGraceSeconds),
                                    () -> refunds.stuck(stuckGraceSeconds)));
                    schedule = new Schedule(vertx)
                            .every(settings.holds().sweepIntervalMillis(), "hold sweeper", holdSweeper::round)
                            .every(settings.topups().sweepIntervalMillis(), "top-up sweeper",
                                    stopped -> sweeper.round(stopped, metrics.inflight()))
                            .every(settings.payouts().sweepIntervalMillis(), "payout sweeper",
                                    stopped -> payoutSweeper.round(stopped, metrics.inflight()))
                            .every(settings.topups().sweepIntervalMillis(), "refund sweeper",
                                    stopped -> refunds.sweep(stopped, metrics.inflight(), settings.topups().sweepBatchMax(),
                                            settings.topups().sweepConcurrency()))
                            .every(settings.checks().housekeepingIntervalMillis(), "idempotency retention",
                                    stopped -> idempotency.retentionRound(settings.idempotency().retentionHours()))
                            .every(settings.checks().checkIntervalMillis(), "checks", stopped -> checks.round().mapEmpty());
                    Recovery recovery = new Recovery(vertx, settings.journalDir(), Map.of(
                            TripService.FLOW, trips::resume,
                            TripService.REFUND_FLOW, trips::resumeRefund,
                            TopupService.FLOW, topups::resume,
                            PayoutService.FLOW, payouts::resume,
                            AdjustmentService.FLOW, adjustments::resume,
                            RefundService.FLOW, refunds::resume), metrics, settings.recovery().stepTimeoutMillis(),
                            settings.recovery().concurrency());
                    // The writer's connection first: recovery (and then the listeners' requests) queue ledger commands to it.
                    return writer.start().compose(writerStarted -> startup.timeFuture(Startup.Phase.HTTP, () -> {
                                Api api = new Api(settings, ledger, trips, topups, refunds, adjustments, new StoryService(pool, ledger), payouts,
                                        idempotency, contract, metrics,
                                        readiness, readyChecks(), keys);
                                HttpVerticle.Limits limits = new HttpVerticle.Limits(settings.http().idleTimeoutSeconds(),
                                        settings.http().headerSizeMaxBytes(), settings.http().connectionsMax(),
                                        settings.http().requestHeadTimeoutMillis(),
                                        settings.http().requestBodyTimeoutMillis(), new AtomicInteger());
                                return vertx.deployVerticle(() -> new HttpVerticle(settings.httpPort(),
                                        settings.shutdown().drainTimeoutMillis(), limits, api::router),
                                        new DeploymentOptions().setInstances(VertxOptions.DEFAULT_EVENT_LOOP_POOL_SIZE));
                            }))
                            .compose(id -> {
                                httpDeployment = id;
                                httpPort = settings.httpPort();
                                readiness.advance(Readiness.Phase.RECOVERING);
                                // Today's key partition must exist before the first request: made here, not left to the first round.
                                return startup.timeFuture(Startup.Phase.RECOVERY, () -> idempotency.maintain(
                                                settings.idempotency().retentionHours(), IdempotencyStore.DAYS_AHEAD)
                                        .compose(dropped -> idempotency.expireOrphanedClaims(embedded != null))
                                        .compose(released -> recovery.run()));
                            })
                            .map(report -> {
                                schedule.start();
                                readiness.advance(Readiness.Phase.READY);
                                LOG.info("taraz ready in {} ms ({}): node {}, data in {} (PostgreSQL {}, journal {}), serving http://0.0.0.0:{}",
                                        (System.nanoTime() - started) / 1_000_000, startup.summary(), node, settings.dataDir(),
                                        embedded != null ? "embedded at " + settings.postgresDir() : "external",
                                        settings.journalDir(), httpPort);
                                return null;
                            });
                });
    }

    /**
     * The embedded PostgreSQL started (or the external one reached), then migrated, while the request pool makes
     * its first connection (the Vert.x client's classes, the password login): nothing queries through the pool
     * before the migrations are done. Completes with the database's URL.
     */
    private Future<String> startDatabase() {
        return vertx.executeBlocking(() -> {
                    String url = settings.pgUrl();
                    if (url == null) {
                        embedded = startup.time(Startup.Phase.POSTGRESQL, () -> EmbeddedDatabase.start(settings.postgresDir()));
                        return embedded.pgUrl();
                    }
                    Database.Jdbc external = Database.jdbc(url);
                    startup.run(Startup.Phase.POSTGRESQL, () -> Database.connect(external));
                    return url;
                }, false)
                .compose(url -> {
                    pgUrl = url;
                    pool = PgBuilder.pool()
                            .with(new PoolOptions().setMaxSize(settings.pg().poolSize())
                                    .setMaxWaitQueueSize(settings.pg().poolQueueMax()))
                            .connectingTo(Database.connectOptions(url))
                            .using(vertx)
                            .build();
                    Database.Jdbc jdbc = Database.jdbc(url);
                    return Future.join(vertx.executeBlocking(() -> {
                                startup.run(Startup.Phase.MIGRATIONS, () -> {
                                    Database.migrate(jdbc.url(), jdbc.user(), jdbc.password());
                                    StateColumns.check(jdbc);
                                });
                                return null;
                            }, false),
                            pool.getConnection().compose(SqlConnection::close))
                            .map(url);
                });
    }

    /** Blocking: the journal's queue opened and its writer started. */
    private Journal openJournal() throws Exception {
        journal = startup.time(Startup.Phase.JOURNAL, () -> Journal.open(settings.journal(), metrics.registry()));
        return journal;
    }

    private HealthChecks readyChecks() {
        return HealthChecks.create(vertx)
                .register("phase", promise -> promise.complete(readiness.ready() ? Status.OK()
                        : Status.KO(new io.vertx.core.json.JsonObject().put("phase", readiness.phase().name()))))
                .register("journal", promise -> promise.complete(journal.healthy() ? Status.OK() : Status.KO()))
                .register("database", DB_CHECK_TIMEOUT_MILLIS, promise -> pool.query("SELECT 1").execute()
                        .onSuccess(rows -> promise.complete(Status.OK()))
                        .onFailure(err -> promise.complete(Status.KO())));
    }

    /** Where the database is, as a {@code postgresql://} URL (the embedded one's, by default). */
    public String pgUrl() {
        return pgUrl;
    }

    /**
     * The undeploy sequence: readiness DOWN at once while the node still serves for the
     * readiness grace (the load balancer notices); then new requests are turned away (503,
     * Connection: close) and the listeners shut down while running requests finish; the
     * in-flight requests and business steps (sweepers included) are awaited up to the drain
     * deadline; steps still running then are journaled as interrupted; the journal is synced and
     * closed, the pool and Vert.x closed, the embedded PostgreSQL stopped. Blocking: call it from
     * a plain thread (the signal handler, a test). Each phase is bounded and logged.
     */
    public void stop() {
        readiness.advance(Readiness.Phase.DRAINING);
        long started = System.nanoTime();
        long graceMillis = settings.shutdown().readinessGraceMillis();
        long drainMillis = settings.shutdown().drainTimeoutMillis();
        LOG.info("stop: readiness DOWN; serving {} ms more for the load balancer", graceMillis);
        phase("readiness grace", graceMillis + PHASE_MARGIN_MILLIS, () -> graceMillis > 0
                ? vertx.timer(graceMillis, TimeUnit.MILLISECONDS) : Future.succeededFuture());
        readiness.advance(Readiness.Phase.CLOSING);
        if (schedule != null) {
            schedule.stop();
        }
        // Another replica takes the checks over at its next round, not when this node's session times out.
        phase("checks handed over", PHASE_MARGIN_MILLIS, () -> checks == null ? Future.succeededFuture() : checks.close());
        long deadlineMillis = System.currentTimeMillis() + drainMillis;
        phase("listeners closed and in-flight work drained", drainMillis + PHASE_MARGIN_MILLIS, () -> {
            Future<?> listeners = httpDeployment == null ? Future.succeededFuture() : vertx.undeploy(httpDeployment);
            return Future.join(listeners, awaitIdle(deadlineMillis));
        });
        // The steps still running are taken before the writer closes: closing it fails their commands, and a failed
        // step leaves the in-flight set, but each is still interrupted and must be journaled as such. (One whose batch
        // commits in between is journaled both ways; recovery's replay finds it done and moves nothing.)
        List<JournalRecord> interrupted = steps.open();
        if (drainCutOff) {
            DrainCutOff.record(settings.dataDir(), System.currentTimeMillis() / 1000);
        }
        phase("ledger writer closed", PHASE_MARGIN_MILLIS, () -> writer == null ? Future.succeededFuture() : writer.close());
        if (journal != null) {
            long t = System.nanoTime();
            for (JournalRecord record : interrupted) {
                LogContext.warn(LOG, record.paymentId(), record.flow(), record.state(),
                        "stop: still running at the drain deadline; journaled as interrupted");
                journal.append(record);
            }
            journal.close();
            LOG.info("stop: {} interrupted step(s) journaled, journal synced and closed in {} ms", interrupted.size(),
                    (System.nanoTime() - t) / 1_000_000);
        }
        phase("database pool", PHASE_MARGIN_MILLIS, () -> pool == null ? Future.succeededFuture() : pool.close());
        phase("vert.x", PHASE_MARGIN_MILLIS, vertx::close);
        if (embedded != null) {
            long t = System.nanoTime();
            embedded.close();
            LOG.info("stop: embedded PostgreSQL stopped in {} ms", (System.nanoTime() - t) / 1_000_000);
        }
        LOG.info("taraz stopped in {} ms", (System.nanoTime() - started) / 1_000_000);
    }

    private static void phase(String name, long timeoutMillis, java.util.function.Supplier<Future<?>> step) {
        long t = System.nanoTime();
        try {
            step.get().toCompletionStage().toCompletableFuture().get(timeoutMillis, TimeUnit.MILLISECONDS);
            LOG.info("stop: {} done in {} ms", name, (System.nanoTime() - t) / 1_000_000);
        } catch (Exception e) {
            LOG.error("stop: {} did not finish cleanly after {} ms", name, (System.nanoTime() - t) / 1_000_000, e);
        }
    }

    private Future<Void> awaitIdle(long deadlineMillis) {
        int running = metrics.inflight().get() + steps.count();
        if (running == 0) {
            return Future.succeededFuture();
        }
        if (System.currentTimeMillis() >= deadlineMillis) {
            LOG.warn("stop: drain deadline reached with {} request(s) and {} step(s) in flight",
                    metrics.inflight().get(), steps.count());
            drainCutOff = true;
            return Future.succeededFuture();
        }
        return vertx.timer(DRAIN_POLL_MILLIS, TimeUnit.MILLISECONDS).compose(t -> awaitIdle(deadlineMillis));
    }
}
