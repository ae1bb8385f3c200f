package taraz.app;

import picocli.CommandLine;
import sun.misc.Signal;
import sun.misc.SignalHandler;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import taraz.bench.BenchCommand;
import taraz.config.Settings;
import taraz.journal.JournalCommand;
import taraz.pspsim.PspSimCommand;
import taraz.ops.Startup;
import taraz.reconcile.ReconcileCommand;

import java.lang.management.ManagementFactory;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

/** The one executable: {@code serve} (the default), {@code psp-sim}, {@code journal}, {@code reconcile}, {@code bench}, {@code payouts}. */
@Command(name = "taraz", mixinStandardHelpOptions = true, version = "taraz 0.1",
        description = "taraz, the payment gateway", subcommands = {Main.Serve.class, PspSimCommand.class, JournalCommand.class, ReconcileCommand.class, BenchCommand.class,
                PayoutsCommand.class})
public final class Main implements Callable<Integer> {

    /** Main's class initialisation runs just before main: where the JVM's own start-up ends. */
    private static final long MAIN_MILLIS = System.currentTimeMillis();

    static {
        // Chronicle would otherwise phone home to an analytics host: a payment service never does.
        System.setProperty("chronicle.analytics.disable", "true");
    }

    public static void main(String[] args) {
        int status = new CommandLine(new Main()).execute(args);
        System.exit(status);
    }

    @Override
    public Integer call() throws Exception {
        return new Serve().call();
    }

    @Command(name = "serve", mixinStandardHelpOptions = true, description = "run the gateway (the default command)")
    public static final class Serve implements Callable<Integer> {

        /** The exit status when a second signal cuts the stop sequence short. */
        static final int FORCED_EXIT_STATUS = 130;

        @Option(names = "--port", description = "HTTP port (TARAZ_HTTP_PORT)")
        Integer port;
        @Option(names = "--data-dir", description = "data directory (TARAZ_DATA_DIR)")
        String dataDir;
        @Option(names = "--pg-url", description = "external PostgreSQL (TARAZ_PG_URL)")
        String pgUrl;

        @Override
        public Integer call() throws Exception {
            Map<String, Object> flags = new HashMap<>();
            flags.put("httpPort", port);
            flags.put("dataDir", dataDir);
            flags.put("pgUrl", pgUrl);
            Settings settings = Settings.load(System.getenv(), flags);
            Gateway gateway;
            try {
                gateway = Gateway.start(settings,
                        Startup.fromMain(ManagementFactory.getRuntimeMXBean().getStartTime(), MAIN_MILLIS));
            } catch (Exception e) {
                return 1;
            }
            CountDownLatch stopped = new CountDownLatch(1);
            AtomicInteger signals = new AtomicInteger();
            SignalHandler onSignal = signal -> {
                if (signals.incrementAndGet() == 1) {
                    // The stop sequence on its own thread: a signal handler must return at once.
                    new Thread(() -> {
                        try {
                            gateway.stop();
                        } finally {
                            stopped.countDown();
                        }
                    }, "taraz-stop").start();
                } else {
                    System.err.println("taraz: second " + signal.getName() + " signal, stopping now without draining");
                    Runtime.getRuntime().halt(FORCED_EXIT_STATUS);
                }
            };
            Signal.handle(new Signal("TERM"), onSignal);
            Signal.handle(new Signal("INT"), onSignal);
            stopped.await();
            return 0;
        }
    }
}
