package taraz.wiring;

import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.Pool;
import taraz.config.Settings;
import taraz.db.Database;
import taraz.failpoint.Failpoints;
import taraz.journal.Journal;
import taraz.ledger.BatchWriter;
import taraz.ledger.Ledger;
import taraz.journal.Inflight;
import taraz.payout.PayoutService;
import taraz.psp.PayoutProvider;
import taraz.psp.Psp;
import taraz.topup.TopupService;
import taraz.trip.TripService;

/**
 * The ledger writer and the money flows, wired from the settings the one way every process that moves money uses:
 * the gateway, and {@code reconcile --apply}, which finishes a payment through the same flow code.
 */
public record Flows(Ledger ledger, BatchWriter writer, TripService trips, TopupService topups, PayoutService payouts) {

    /** The writer is made, not started: its owner starts it before the first ledger command and closes it. */
    public static Flows wire(Vertx vertx, Settings settings, String pgUrl, Pool pool, Journal journal, Failpoints failpoints,
                             String node, Psp psp, PayoutProvider payoutProvider, Inflight steps,
                             MeterRegistry registry) {
        Ledger ledger = new Ledger(pool);
        BatchWriter writer = new BatchWriter(vertx, Database.connectOptions(pgUrl), failpoints, node,
                settings.ledger().batchMax(), settings.ledger().queueMax(), registry);
        TripService trips = new TripService(pool, ledger, writer, journal, failpoints, node,
                settings.holds().ttlSecondsDefault(), steps);
        TopupService topups = new TopupService(pool, ledger, writer, journal, failpoints, node, psp,
                settings.publicUrl(settings.httpPort()) + "/v1/psp/zarinpal/callback",
                settings.psp().windowSeconds(), settings.topups().createGraceSeconds(),
                settings.topups().leaseMillis(), steps);
        PayoutService payouts = new PayoutService(pool, ledger, writer, journal, failpoints, node, payoutProvider,
                settings.publicUrl(settings.httpPort()) + PayoutService.CALLBACK_PATH, settings.payouts().leaseMillis(),
                settings.payouts().slaSeconds(), registry, steps);
        return new Flows(ledger, writer, trips, topups, payouts);
    }
}
