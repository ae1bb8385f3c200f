package taraz.ops;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.distribution.DistributionStatisticConfig;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * taraz's own meters on the one Prometheus registry that Vert.x also reports HTTP server and
 * pool metrics into. Names follow the brief's contract ({@code taraz_...}).
 */
public final class Metrics {

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final AtomicInteger inflight = new AtomicInteger();

    /**
     * The gauges of the checks (imbalance, stuck payments, discrepancies by kind, when they last succeeded): only the
     * node that runs the checks exports them, so they are registered at its first round and removed when it stops
     * running them. A replica that does not check exports nothing rather than a stale or zero value.
     */
    private final List<Meter> checkMeters = new ArrayList<>();
    private final AtomicLong ledgerImbalanceRials = new AtomicLong();
    private final AtomicLong stuckPayments = new AtomicLong();
    private final AtomicLong stuckOldestAgeSeconds = new AtomicLong();
    private final Map<String, AtomicLong> discrepancies = new ConcurrentHashMap<>();
    private final AtomicLong reconciledAtSeconds = new AtomicLong();
    private final AtomicLong checkedAtSeconds = new AtomicLong();
    private final AtomicLong recoveryUnresolved = new AtomicLong();
    private final AtomicLong drainCutOffAtSeconds = new AtomicLong();

    /** Vert.x's meter of the time to answer an HTTP request. */
    private static final String HTTP_SERVER_RESPONSE_TIME = "vertx.http.server.response.time";
    private static final double HTTP_LATENCY_MIN_NANOS = 1e6;
    private static final double HTTP_LATENCY_MAX_NANOS = 30e9;

    /** The methods of the HTTP contract; any other a client sends is counted as OTHER. */
    private static final Set<String> CONTRACT_METHODS = Set.of("GET", "POST");

    public Metrics() {
        // Vert.x labels its HTTP server meters with the request's method as sent. Left alone, a
        // client inventing methods (FOO, BAR1, BAR2, ...) would mint a new series with each one
        // and grow the registry without bound; so only the contract's methods keep their name.
        registry.config().meterFilter(MeterFilter.replaceTagValues("method",
                method -> CONTRACT_METHODS.contains(method) ? method : "OTHER"));
        // The dashboard's p50 and p99 need the answer time as a histogram, not only its count, sum and max;
        // bounded, so that its buckets stay a few dozen series per route's method and code.
        registry.config().meterFilter(new MeterFilter() {
            @Override
            public DistributionStatisticConfig configure(Meter.Id id, DistributionStatisticConfig config) {
                if (!HTTP_SERVER_RESPONSE_TIME.equals(id.getName())) {
                    return config;
                }
                return DistributionStatisticConfig.builder().percentilesHistogram(true)
                        .minimumExpectedValue(HTTP_LATENCY_MIN_NANOS).maximumExpectedValue(HTTP_LATENCY_MAX_NANOS).build()
                        .merge(config);
            }
        });
        Gauge.builder("taraz.inflight.transactions", inflight, AtomicInteger::get)
                .description("money-moving requests and background steps now running").register(registry);
        Gauge.builder("taraz.recovery.unresolved.payments", recoveryUnresolved, AtomicLong::get)
                .description("payments the start's recovery left unfinished (for the sweepers or the next start)")
                .register(registry);
        Gauge.builder("taraz.drain.deadline.last.timestamp.seconds", drainCutOffAtSeconds, AtomicLong::get)
                .description("when a stop on this data directory last reached its drain deadline with work running "
                        + "(epoch seconds, 0 never): read at start, since that stop's process exited")
                .register(registry);
    }

    /** {@code taraz_ready}: 1 while the node's phase is READY, else 0, for an alert that does not rest on {@code up}. */
    public void readiness(Readiness readiness) {
        Gauge.builder("taraz.ready", readiness, r -> r.ready() ? 1 : 0)
                .description("1 while the node is READY (takes payments, readiness UP), 0 starting, recovering or stopping")
                .register(registry);
    }

    public void recoveryUnresolved(long payments) {
        recoveryUnresolved.set(payments);
    }

    public void drainCutOff(long epochSeconds) {
        drainCutOffAtSeconds.set(epochSeconds);
    }

    public PrometheusMeterRegistry registry() {
        return registry;
    }

    public AtomicInteger inflight() {
        return inflight;
    }

    public void payment(String flow, String outcome) {
        payment(registry, flow, outcome);
    }

    /** {@code taraz_payments_total}, for a flow wired outside the gateway's {@link Metrics} too (reconcile, the payout batch). */
    public static void payment(MeterRegistry registry, String flow, String outcome) {
        payments(registry, flow, outcome).increment();
    }

    private static Counter payments(MeterRegistry registry, String flow, String outcome) {
        return Counter.builder("taraz.payments").tag("flow", flow).tag("outcome", outcome)
                .description("payment steps by flow and outcome").register(registry);
    }

    public void recoveryReplayed(String flow, String outcome) {
        replayed(flow, outcome).increment();
    }

    private Counter replayed(String flow, String outcome) {
        return Counter.builder("taraz.recovery.replayed").tag("flow", flow).tag("outcome", outcome)
                .description("incomplete payments replayed from the journal at boot").register(registry);
    }

    /**
     * Each flow's {@code taraz_payments_total{outcome="ok"}} and {@code taraz_recovery_replayed_total{outcome="finished"}}
     * at 0 from the start: the first scrape lists them, and a rate() over them starts from nothing happened rather
     * than from no series.
     */
    public void flows(Collection<String> flows) {
        for (String flow : flows) {
            payments(registry, flow, "ok");
            replayed(flow, "finished");
        }
    }

    /**
     * One successful round of the checks on this node: the sum of the balances, the stuck payments, the open
     * discrepancies by kind (every kind, 0 when clean), and whether the round was the full scan.
     */
    public synchronized void checked(long imbalanceRials, Stuck stuck, Map<String, Long> discrepanciesByKind, boolean fullScan) {
        if (checkMeters.isEmpty()) {
            registerCheckGauges();
        }
        ledgerImbalanceRials.set(imbalanceRials);
        stuckPayments.set(stuck.count());
        stuckOldestAgeSeconds.set(stuck.oldestAgeSeconds());
        discrepanciesByKind.forEach((kind, count) -> discrepancies.computeIfAbsent(kind, k -> {
            AtomicLong value = new AtomicLong();
            checkMeters.add(Gauge.builder("taraz.reconciliation.discrepancies", value, AtomicLong::get).tag("kind", k)
                    .description("open discrepancies the checks found, by kind").register(registry));
            return value;
        }).set(count));
        long nowSeconds = System.currentTimeMillis() / 1000;
        checkedAtSeconds.set(nowSeconds);
        if (fullScan) {
            reconciledAtSeconds.set(nowSeconds);
        }
    }

    /** This node no longer runs the checks: their gauges leave its registry. */
    public synchronized void notChecking() {
        checkMeters.forEach(registry::remove);
        checkMeters.clear();
        discrepancies.clear();
    }

    private void registerCheckGauges() {
        checkMeters.add(Gauge.builder("taraz.ledger.imbalance.rials", ledgerImbalanceRials, AtomicLong::get)
                .description("sum of all account balances; anything but 0 is a bug").register(registry));
        checkMeters.add(Gauge.builder("taraz.stuck.payments", stuckPayments, AtomicLong::get)
                .description("payments in a non-terminal state past their SLA").register(registry));
        checkMeters.add(Gauge.builder("taraz.stuck.payments.oldest.age.seconds", stuckOldestAgeSeconds, AtomicLong::get)
                .description("age of the oldest stuck payment").register(registry));
        checkMeters.add(Gauge.builder("taraz.reconciliation.last.success.timestamp.seconds", reconciledAtSeconds, AtomicLong::get)
                .description("when the full scan of the checks last succeeded (epoch seconds)").register(registry));
        checkMeters.add(Gauge.builder("taraz.checks.last.success.timestamp.seconds", checkedAtSeconds, AtomicLong::get)
                .description("when a round of the checks, fast or full, last succeeded on this node (epoch seconds)")
                .register(registry));
    }

    /** Payments of one or more flows in a non-terminal state past their SLA: how many, and the oldest one's age. */
    public record Stuck(long count, long oldestAgeSeconds) {

        public static final Stuck NONE = new Stuck(0, 0);

        /** From a flow's count query: one row with {@code n} and {@code age} (seconds). */
        public static Stuck from(RowSet<Row> rows) {
            Row row = rows.iterator().next();
            return new Stuck(row.getLong("n"), row.getLong("age"));
        }

        public Stuck plus(Stuck other) {
            return new Stuck(count + other.count, Math.max(oldestAgeSeconds, other.oldestAgeSeconds));
        }
    }
}
