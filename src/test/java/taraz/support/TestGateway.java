package taraz.support;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.pgclient.PgBuilder;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;
import taraz.app.Gateway;
import taraz.db.Database;
import taraz.config.Settings;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * The one gateway of a test run: started in this JVM on first use, on its own embedded
 * PostgreSQL under target/, and stopped when the JVM exits. Tests share it and stay
 * independent by using fresh wallets, trip ids and idempotency keys.
 */
public final class TestGateway {

    public static final String ADMIN_TOKEN = "test-admin-token-0123456789-abcdefghijklmnop";
    /** The API key every test client sends (support/ApiClient) and every test gateway accepts. */
    public static final String API_KEY = "test-api-key-0123456789-abcdefghijklmnopqrst";
    private static TestGateway instance;
    /** Stops the shared gateway when the JVM exits, unless {@link #stopShared} did it first. */
    private static Thread stopOnExit;

    private final Gateway gateway;
    private final Path dataDir;
    private final int port;
    private final TestPsp psp;
    private Pool pool;

    private TestGateway(Gateway gateway, Path dataDir, int port, TestPsp psp) {
        this.gateway = gateway;
        this.dataDir = dataDir;
        this.port = port;
        this.psp = psp;
    }

    public static synchronized TestGateway get() {
        if (instance == null) {
            try {
                Path dataDir = tempDir("gw-");
                int port = freePort();
                TestPsp psp = TestPsp.start(dataDir.resolve("psp-sim"));
                Map<String, Object> overrides = new HashMap<>();
                overrides.put("httpPort", port);
                overrides.put("dataDir", dataDir.toString());
                overrides.put("adminToken", ADMIN_TOKEN);
                overrides.put("apiKeys", API_KEY);
                // Every test's simulated cardholder calls back from loopback, one address for the
                // whole run: the per-address limit is for the internet, not for this suite.
                // CallbackRateLimitTest checks the limits on a child gateway of its own.
                overrides.put("callbackAddressRatePerSecond", 100_000);
                overrides.put("callbackAddressBurstRequests", 100_000);
                overrides.put("callbackTotalRatePerSecond", 100_000);
                overrides.put("callbackTotalBurstRequests", 100_000);
                overrides.put("holdSweepIntervalMillis", 200);
                overrides.put("nodeId", "test-node");
                overrides.put("pspUrl", psp.baseUrl());
                overrides.put("topupSweepIntervalMillis", 300);
                overrides.put("topupCallbackGraceSeconds", 1);
                overrides.put("payoutUrl", psp.baseUrl());
                overrides.put("payoutSweepIntervalMillis", 300);
                overrides.put("payoutTimeoutMillis", 2000);
                Settings settings = Settings.defaults().with(overrides);
                Gateway gateway = Gateway.start(settings);
                instance = new TestGateway(gateway, dataDir, port, psp);
                stopOnExit = new Thread(gateway::stop);
                Runtime.getRuntime().addShutdownHook(stopOnExit);
            } catch (Exception e) {
                throw new IllegalStateException("test gateway failed to start", e);
            }
        }
        return instance;
    }

    /**
     * Stops the run's shared gateway and its embedded PostgreSQL, if one was started: the end of
     * the run does it before {@link LeftoverProcessCheck} looks for processes left running.
     */
    public static synchronized void stopShared() {
        if (instance != null) {
            Runtime.getRuntime().removeShutdownHook(stopOnExit);
            instance.gateway.stop();
            instance = null;
        }
    }

    public String baseUrl() {
        return "http://127.0.0.1:" + port;
    }

    public ApiClient api() {
        return new ApiClient(baseUrl());
    }

    /** The PSP simulator this gateway talks to. */
    public TestPsp psp() {
        return psp;
    }

    public String pgUrl() {
        return gateway.pgUrl();
    }

    /**
     * A Vert.x pool on this gateway's database, for tests that call the ledger or a store
     * directly (behind the API); made once, closed with the JVM.
     */
    public synchronized Pool pool() {
        if (pool == null) {
            pool = PgBuilder.pool().with(new PoolOptions().setMaxSize(4)).connectingTo(Database.connectOptions(pgUrl()))
                    .using(Vertx.vertx()).build();
        }
        return pool;
    }

    /** Waits for a future of a test's own (never on an event loop). */
    public static <T> T await(Future<T> future) {
        try {
            return future.toCompletionStage().toCompletableFuture().get(60, java.util.concurrent.TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            throw e.getCause() instanceof RuntimeException runtime ? runtime : new IllegalStateException(e.getCause());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    public Path dataDir() {
        return dataDir;
    }

    /** A fresh directory under target/test-data, for a test's own data. */
    public static Path tempDir(String prefix) {
        try {
            Path root = Files.createDirectories(Path.of("target", "test-data").toAbsolutePath());
            return Files.createTempDirectory(root, prefix);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    public static int freePort() {
        try (ServerSocket socket = new ServerSocket(0)) {
            socket.setReuseAddress(true);
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
