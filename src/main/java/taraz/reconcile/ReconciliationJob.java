package taraz.reconcile;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import taraz.db.Database;
import taraz.ops.Metrics;
import taraz.reconcile.Finding.Kind;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.OffsetDateTime;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The gateway's own reconciliation round: the checks of {@code taraz reconcile} that need
 * nothing but the database (ledger sum and balances, expired holds, each trip's and top-up's
 * money against its state, stuck top-ups), over the payments of the last
 * {@code reconcileLookbackHours}, published as {@code taraz_reconciliation_discrepancies{kind}}
 * so monitoring sees drift within minutes. It changes nothing: its transaction, which only fills
 * temporary tables, is rolled back, and a statement timeout bounds each round. Fixing is for
 * {@code taraz reconcile --apply}.
 */
public final class ReconciliationJob {

    private static final Logger LOG = LoggerFactory.getLogger(ReconciliationJob.class);

    private final Vertx vertx;
    private final String pgUrl;
    private final Rules rules;
    private final long pspWindowSeconds;
    private final long lookbackHours;
    private final long timeoutMillis;
    private final Metrics metrics;

    public ReconciliationJob(Vertx vertx, String pgUrl, Rules rules, long pspWindowSeconds, long lookbackHours,
                             long timeoutMillis, Metrics metrics) {
        this.vertx = vertx;
        this.pgUrl = pgUrl;
        this.rules = rules;
        this.pspWindowSeconds = pspWindowSeconds;
        this.lookbackHours = lookbackHours;
        this.timeoutMillis = timeoutMillis;
        this.metrics = metrics;
    }

    /** One round on a worker thread; its counts are published when it ends. */
    public Future<Void> round() {
        return vertx.executeBlocking(this::count, false).map(counts -> {
            metrics.discrepancies(counts);
            long total = counts.values().stream().mapToLong(Long::longValue).sum();
            if (total > 0) {
                LOG.warn("reconciliation: {} discrepancies in the last {} h: {}; run taraz reconcile for details",
                        total, lookbackHours, counts);
            }
            return null;
        });
    }

    private Map<String, Long> count() throws Exception {
        Database.Jdbc jdbc = Database.jdbc(pgUrl);
        try (Connection db = DriverManager.getConnection(jdbc.url(), jdbc.user(), jdbc.password())) {
            db.setAutoCommit(false);
            db.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            try (Statement s = db.createStatement()) {
                s.execute("SET LOCAL statement_timeout = " + timeoutMillis);
            }
            Detector detector = new Detector(db, rules, pspWindowSeconds, finding -> { });
            detector.detect(OffsetDateTime.now().minusHours(lookbackHours), List.of());
            db.rollback();
            Map<String, Long> counts = new LinkedHashMap<>();
            for (Kind kind : Kind.values()) {
                counts.put(kind.apiName(), detector.counts().getOrDefault(kind, 0L));
            }
            return counts;
        }
    }
}
