package taraz.pspsim;

import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code taraz psp-sim}: runs the Zarinpal simulator until the JVM is stopped. */
@Command(name = "psp-sim", mixinStandardHelpOptions = true,
        description = "Run the Zarinpal v4 PSP simulator (fake bank gateway for tests, the bench and demos).")
public final class PspSimCommand implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(PspSimCommand.class);
    static final long START_TIMEOUT_SECONDS = 30;
    static final long STOP_TIMEOUT_SECONDS = 15;

    @Option(names = "--port", paramLabel = "PORT", defaultValue = "${env:TARAZ_PSP_SIM_PORT:-9090}",
            description = "Port on 127.0.0.1 (default: $TARAZ_PSP_SIM_PORT, else 9090).")
    int port;

    @Option(names = "--data-dir", paramLabel = "DIR", defaultValue = "${env:TARAZ_PSP_SIM_DATA_DIR:-./data/psp-sim}",
            description = "Where the simulator keeps psp-sim.jsonl (default: $TARAZ_PSP_SIM_DATA_DIR, else ./data/psp-sim).")
    Path dataDir;

    public PspSimCommand() {
    }

    @Override
    public Integer call() throws Exception {
        Vertx vertx = Vertx.vertx();
        PspSimulator sim;
        try {
            sim = PspSimulator.start(vertx, port, dataDir).toCompletionStage().toCompletableFuture()
                    .get(START_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (Exception e) {
            vertx.close();
            throw e;
        }
        LOG.info("PSP simulator on http://127.0.0.1:{}, state in {}", sim.port(), dataDir.toAbsolutePath());
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                // Closing drains the store's pending writes, so every answered change is on disk.
                sim.close().toCompletionStage().toCompletableFuture().get(STOP_TIMEOUT_SECONDS, TimeUnit.SECONDS);
                // Closed from this plain thread, not chained on the simulator's context, whose event loop dies with it.
                vertx.close().toCompletionStage().toCompletableFuture().get(STOP_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            } catch (Exception e) {
                LOG.warn("PSP simulator did not stop cleanly", e);
            } finally {
                stopped.countDown();
            }
        }, "psp-sim-shutdown"));
        stopped.await();
        return 0;
    }
}
