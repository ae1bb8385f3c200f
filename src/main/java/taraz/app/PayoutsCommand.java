package taraz.app;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.pgclient.PgBuilder;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import taraz.config.Settings;
import taraz.db.Database;
import taraz.failpoint.Failpoints;
import taraz.journal.Inflight;
import taraz.journal.Journal;
import taraz.ops.LogContext;
import taraz.payout.Iban;
import taraz.payout.Payout;
import taraz.psp.HttpPayoutProvider;
import taraz.psp.ZarinpalPsp;
import taraz.wiring.CommandDatabase;
import taraz.wiring.Flows;

import java.io.PrintStream;
import java.nio.file.Path;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/** {@code taraz payouts}: the driver payouts' commands. */
@Command(name = "payouts", mixinStandardHelpOptions = true, description = "driver payouts",
        subcommands = PayoutsCommand.Run.class)
public final class PayoutsCommand {

    /**
     * {@code taraz payouts run --min AMOUNT [--apply]}: the daily batch. Every driver wallet with an IBAN on record
     * and an available balance of at least {@code --min} gets one payout of that whole balance, with the id
     * {@code pb_<day>_<wallet>}: a second run on the same day (after a crash, or by mistake) continues those payouts
     * and makes no second one. Drivers below the threshold, in debt, or with no IBAN are listed, not paid. A dry run
     * by default. Runs against the gateway's database (the embedded one, served by a running gateway or started here,
     * or TARAZ_PG_URL), with the gateway running or not; payouts still waiting for the provider are finished by the
     * gateway's sweeper. Exit status: 0 done, 1 some payout failed, 2 error.
     */
    @Command(name = "run", mixinStandardHelpOptions = true,
            description = "the daily driver payout batch: one payout per driver whose available balance is at least --min")
    static final class Run implements Callable<Integer> {

        static final int DONE = 0;
        static final int SOME_FAILED = 1;
        static final int ERROR = 2;
        private static final long STEP_TIMEOUT_MILLIS = 120_000;

        @Option(names = "--min", required = true, paramLabel = "AMOUNT", description = "the least available balance paid out, in rials (> 0)")
        long minRials;
        @Option(names = "--apply", description = "make the payouts (default: a dry run that lists them)")
        boolean apply;
        @Option(names = "--day", paramLabel = "YYYY-MM-DD", description = "the batch's day (default: today, UTC)")
        LocalDate day;
        @Option(names = "--config", paramLabel = "FILE", description = "the settings file (TARAZ_CONFIG; default conf/taraz.json if present)")
        Path configFile;
        @Option(names = "--data-dir", description = "data directory (TARAZ_DATA_DIR)")
        String dataDir;
        @Option(names = "--pg-url", description = "external PostgreSQL (TARAZ_PG_URL)")
        String pgUrl;

        private final PrintStream out = System.out;

        /** A driver the batch pays, or lists with why not. */
        private record Driver(String walletId, String iban, long availableRials, String skipped) {}

        @Override
        public Integer call() {
            if (minRials <= 0) {
                System.err.println("taraz payouts run: --min must be a positive number of rials, got " + minRials);
                return ERROR;
            }
            try {
                return run();
            } catch (Exception e) {
                System.err.println("taraz payouts run: failed: " + e);
                return ERROR;
            }
        }

        private int run() throws Exception {
            Map<String, Object> flags = new HashMap<>();
            flags.put("dataDir", dataDir);
            flags.put("pgUrl", pgUrl);
            Map<String, String> env = new HashMap<>(System.getenv());
            if (configFile != null) {
                env.put("TARAZ_CONFIG", configFile.toString());
            }
            Settings settings = Settings.load(env, flags);
            LocalDate batchDay = day != null ? day : LocalDate.now(ZoneOffset.UTC);
            try (CommandDatabase database = CommandDatabase.open(settings)) {
                Vertx vertx = Vertx.vertx();
                try {
                    Pool pool = PgBuilder.pool().with(new PoolOptions().setMaxSize(4))
                            .connectingTo(Database.connectOptions(database.url())).using(vertx).build();
                    try {
                        List<Driver> drivers = await(drivers(pool, batchDay));
                        return apply ? pay(settings, vertx, database.url(), pool, batchDay, drivers) : list(batchDay, drivers);
                    } finally {
                        await(pool.close());
                    }
                } finally {
                    await(vertx.close());
                }
            }
        }

        /**
         * The driver wallets at or above the threshold with no payout of the day's batch yet, and those the batch
         * skips: in debt (a trip refund took more than they had), or with no IBAN on record.
         */
        private Future<List<Driver>> drivers(Pool pool, LocalDate batchDay) {
            return pool.preparedQuery("SELECT a.id, a.iban, a.balance_rials - a.held_rials AS available FROM accounts a "
                            + "WHERE a.kind = 'driver' AND (a.balance_rials - a.held_rials >= $1 OR a.balance_rials < 0) "
                            + "AND NOT EXISTS (SELECT 1 FROM payouts p WHERE p.batch_day = $2 AND p.wallet_id = a.id) ORDER BY a.id")
                    .execute(Tuple.of(minRials, batchDay))
                    .map(rows -> {
                        List<Driver> drivers = new ArrayList<>();
                        for (Row row : rows) {
                            String iban = row.getString("iban");
                            long available = row.getLong("available");
                            String skipped = available < 0 ? "in debt" : iban == null || !Iban.valid(iban) ? "no IBAN on record" : null;
                            drivers.add(new Driver(row.getString("id"), iban, available, skipped));
                        }
                        return drivers;
                    });
        }

        private int list(LocalDate batchDay, List<Driver> drivers) {
            long total = 0;
            int paid = 0;
            out.println("payouts run " + batchDay + " (dry run; --apply pays), at least " + minRials + " rials:");
            for (Driver d : drivers) {
                if (d.skipped() == null) {
                    paid++;
                    total += d.availableRials();
                    out.println("  would pay " + d.walletId() + " " + d.availableRials() + " rials to " + Iban.masked(d.iban()));
                } else {
                    out.println("  skipped   " + d.walletId() + " " + d.availableRials() + " rials: " + d.skipped());
                }
            }
            out.println(paid + " payout(s), " + total + " rials; " + (drivers.size() - paid) + " driver(s) skipped");
            return DONE;
        }

        private int pay(Settings settings, Vertx vertx, String url, Pool pool, LocalDate batchDay, List<Driver> drivers)
                throws Exception {
            String node = "payouts-" + ProcessHandle.current().pid();
            LogContext.node(node);
            Journal journal = Journal.open(settings.journal(), new SimpleMeterRegistry());
            Failpoints failpoints = Failpoints.parse(vertx, settings.failpoints());
            SimpleMeterRegistry registry = new SimpleMeterRegistry();
            Flows flows = Flows.wire(vertx, settings, url, pool, journal, failpoints, node,
                    new ZarinpalPsp(vertx, settings.psp().url(), settings.psp().merchantId(), settings.psp().accessToken(),
                            settings.psp().timeoutMillis(),
                            settings.psp().retriesMax(), registry),
                    new HttpPayoutProvider(vertx, settings.payouts().url(), settings.payouts().timeoutMillis(),
                            settings.payouts().retriesMax(), registry), new Inflight(), registry);
            String dayId = batchDay.format(DateTimeFormatter.BASIC_ISO_DATE);
            int failed = 0;
            long total = 0;
            try {
                await(flows.writer().start());
                out.println("payouts run " + batchDay + ", at least " + minRials + " rials:");
                for (Driver d : drivers) {
                    if (d.skipped() != null) {
                        out.println("  skipped " + d.walletId() + " " + d.availableRials() + " rials: " + d.skipped());
                        continue;
                    }
                    Payout payout = await(flows.payouts().create("pb_" + dayId + "_" + d.walletId(), d.walletId(),
                            d.availableRials(), d.iban(), batchDay));
                    if (payout == null) {
                        out.println("  already " + d.walletId() + ": the day's batch paid it under another id");
                        continue;
                    }
                    if (payout.state() == Payout.State.FAILED) {
                        failed++;
                    } else {
                        total += payout.amountRials();
                    }
                    out.println("  " + payout.state() + " " + payout.payoutId() + " " + payout.amountRials() + " rials to "
                            + Iban.masked(payout.iban()) + (payout.failureReason() == null ? "" : " (" + payout.failureReason() + ")"));
                }
                out.println("done: " + total + " rials sent or paid, " + failed + " payout(s) failed");
                return failed == 0 ? DONE : SOME_FAILED;
            } finally {
                await(flows.writer().close());
                journal.close();
            }
        }

        private static <T> T await(Future<T> future) throws Exception {
            return future.toCompletionStage().toCompletableFuture().get(STEP_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
        }
    }
}
