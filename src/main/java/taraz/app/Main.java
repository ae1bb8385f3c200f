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

import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The one executable: {@code serve} (the default), {@code psp-sim}, {@code journal}, {@code reconcile}, {@code bench},
 * {@code payouts}, {@code version} and {@code help}.
 */
@Command(name = "taraz", mixinStandardHelpOptions = true, versionProvider = BuildInfo.class,
        description = "taraz, the payment gateway; with no command, serve", subcommands = {Main.Serve.class, PspSimCommand.class,
                JournalCommand.class, ReconcileCommand.class, BenchCommand.class, PayoutsCommand.class, Main.Version.class,
                CommandLine.HelpCommand.class})
public final class Main implements Callable<Integer> {

    /** Main's class initialisation runs just before main: where the JVM's own start-up ends. */
    private static final long MAIN_MILLIS = System.currentTimeMillis();

    static {
        // Chronicle would otherwise phone home to an analytics host: a payment service never does.
        System.setProperty("chronicle.analytics.disable", "true");
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The command line, {@code serve --help} ending with every setting ({@link Serve#settingsHelp}). */
    static CommandLine commandLine() {
        CommandLine line = new CommandLine(new Main());
        line.getSubcommands().get("serve").getHelpSectionMap().put(CommandLine.Model.UsageMessageSpec.SECTION_KEY_FOOTER,
                help -> Serve.settingsHelp());
        return line;
    }

    @Command(name = "version", description = "print taraz's version and the git commit it was built from")
    static final class Version implements Callable<Integer> {
        @Override
        public Integer call() {
            System.out.println(BuildInfo.line());
            return 0;
        }
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

        /** Every key of conf/taraz.json with its environment variable, where it has one, and its default. */
        static String settingsHelp() {
            StringBuilder help = new StringBuilder(String.format("%nSettings: conf/taraz.json (in the jar), then ./conf/taraz.json "
                    + "or the file TARAZ_CONFIG names, then the environment, then the flags above.%n"));
            String row = "  %-30s %-24s %s%n";
            help.append(String.format(row, "setting", "environment", "default"));
            for (Settings.Described setting : Settings.described()) {
                help.append(String.format(row, setting.key(), setting.environment() == null ? "-" : setting.environment(),
                        setting.defaultValue() == null ? "none" : setting.defaultValue()));
            }
            help.append(String.format(row, "(the settings file)", "TARAZ_CONFIG", "./conf/taraz.json"));
            help.append(String.format(row, "(log format: json or text)", "TARAZ_LOG_FORMAT", "json"));
            return help.toString();
        }

        @Override
        public Integer call() throws Exception {
            Map<String, Object> flags = new HashMap<>();
            flags.put("httpPort", port);
            flags.put("dataDir", dataDir);
            flags.put("pgUrl", pgUrl);
            Gateway gateway;
            try {
                // A bad setting names itself and what it may be (Settings and its Binder say so): that line is all an
                // operator needs, not the stack under it.
                Settings settings = Settings.load(System.getenv(), flags);
                gateway = Gateway.start(settings,
                        Startup.fromMain(ManagementFactory.getRuntimeMXBean().getStartTime(), MAIN_MILLIS));
            } catch (IllegalArgumentException | UncheckedIOException | StartRefused e) {
                System.err.println("taraz: " + e.getMessage());
                return 1;
            } catch (Exception e) {
                // Logged with its cause by Gateway.start: not an operator's mistake, a failure to look into.
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
