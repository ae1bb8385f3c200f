package taraz.app;

import org.junit.jupiter.api.Test;
import taraz.support.ApiClient;
import taraz.support.GatewayProcess;
import taraz.support.TestGateway;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A new operator's first start on the embedded defaults, in a real child process: the admin token is generated into
 * the data directory (0600, its path logged, never the token) and a later start reuses it; the gateway listens on
 * httpHost and its ready line says so; every taraz_ metric the README lists is in the first scrape (the counters at
 * 0), but the checks' gauges, which the node exports from its first round of checks on, and then the last
 * reconciliation's time is never 0; a second gateway on the same data directory is refused in one line naming the
 * pid of the first.
 */
class FirstStartTest {

    private static final long EXIT_TIMEOUT_MILLIS = 60_000;
    private static final long CHECKS_TIMEOUT_MILLIS = 60_000;
    /** Names in the README that are HAProxy's frontends (conf/haproxy.cfg), not metrics. */
    private static final Set<String> NOT_METRICS = Set.of("taraz_in", "taraz_public");
    /**
     * The checks' gauges: exported only by the one replica that runs the checks, from its first round on (README, "In
     * the gateway: the checks"), so never a made-up 0 before anything was checked.
     */
    private static final Set<String> CHECK_GAUGES = Set.of("taraz_ledger_imbalance_rials", "taraz_stuck_payments",
            "taraz_stuck_payments_oldest_age_seconds", "taraz_reconciliation_discrepancies",
            "taraz_reconciliation_last_success_timestamp_seconds", "taraz_checks_last_success_timestamp_seconds");
    private static final String LAST_RECONCILIATION = "taraz_reconciliation_last_success_timestamp_seconds";

    @Test
    void aFreshGatewayGeneratesItsAdminTokenListensOnItsHostAndExportsEveryMetricTheReadmeLists() throws Exception {
        Path dataDir = TestGateway.tempDir("first-start-");
        Map<String, String> env = new HashMap<>(GatewayProcess.config(dataDir, Map.of("checkIntervalMillis", 1000)));
        env.put("TARAZ_ADMIN_TOKEN", "");
        env.put("TARAZ_HTTP_HOST", "127.0.0.1");
        long startedSeconds = System.currentTimeMillis() / 1000;
        int port = TestGateway.freePort();
        GatewayProcess first = GatewayProcess.start(dataDir, port, env);
        Path file = dataDir.resolve("admin-token");
        String token;
        try {
            String metrics = first.api().get("/metrics").text();
            assertEveryReadmeMetricIsThere(metrics);

            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
            token = Files.readString(file).strip();
            assertTrue(token.length() >= 32, token.length() + " characters");
            assertTrue(first.messages().contains("no admin token configured (TARAZ_ADMIN_TOKEN): generated one into " + file),
                    first.messages());
            assertFalse(first.output().contains(token), "the token is never logged");
            assertAdminApiAnswers(first, token);
            assertTrue(first.messages().contains("serving http://127.0.0.1:" + port), "the ready line names the host:\n"
                    + first.messages());

            double reconciled = first.awaitMetric(LAST_RECONCILIATION, value -> !Double.isNaN(value), CHECKS_TIMEOUT_MILLIS);
            assertTrue(reconciled >= startedSeconds, LAST_RECONCILIATION + " " + reconciled + ", the start at " + startedSeconds);

            GatewayProcess refused = GatewayProcess.spawn(dataDir, TestGateway.freePort(), env);
            assertEquals(1, refused.awaitExit(EXIT_TIMEOUT_MILLIS), refused.output());
            StartErrorsTest.assertOneLine(refused.output(), "taraz: data directory " + dataDir.resolve("postgres").toRealPath()
                    + " is in use by another taraz process (pid " + first.pid() + "): stop it, or give this one another dataDir "
                    + "(TARAZ_DATA_DIR, serve --data-dir)");
        } finally {
            GatewayProcess.stop(first);
        }

        GatewayProcess second = GatewayProcess.start(dataDir, TestGateway.freePort(), env);
        try {
            assertEquals(token, Files.readString(file).strip(), "a later start keeps the token");
            assertTrue(second.messages().contains("no admin token configured (TARAZ_ADMIN_TOKEN): using the one in " + file),
                    second.messages());
            assertAdminApiAnswers(second, token);
        } finally {
            GatewayProcess.stop(second);
        }
    }

    private static void assertAdminApiAnswers(GatewayProcess gateway, String token) {
        ApiClient.Response payments = new ApiClient(gateway.baseUrl(), TestGateway.API_KEY, token).getAdmin("/v1/admin/payments");
        assertEquals(200, payments.status(), payments.text());
    }

    /** Each name the README gives is in the scrape (its {@code # TYPE} line), and each counter's series are at 0. */
    private static void assertEveryReadmeMetricIsThere(String metrics) throws Exception {
        Set<String> listed = new TreeSet<>();
        Matcher names = Pattern.compile("taraz_[a-z0-9_]*[a-z0-9]").matcher(Files.readString(Path.of("README.md")));
        while (names.find()) {
            listed.add(names.group());
        }
        listed.removeAll(NOT_METRICS);
        assertTrue(listed.size() >= 20, "the README's metrics: " + listed);
        for (String name : listed) {
            boolean exported = Pattern.compile("(?m)^# TYPE " + name + " ").matcher(metrics).find();
            if (CHECK_GAUGES.contains(name)) {
                if (name.equals(LAST_RECONCILIATION) && exported) {
                    assertFalse(Pattern.compile("(?m)^" + name + " 0\\.0$").matcher(metrics).find(), name + " is 0");
                }
                continue;
            }
            assertTrue(exported, name + " is not in the first scrape:\n" + metrics);
            if (name.endsWith("_total")) {
                Matcher series = Pattern.compile("(?m)^" + name + "(\\{[^}]*\\})? (\\S+)$").matcher(metrics);
                assertTrue(series.find(), name + " has no series");
                do {
                    assertEquals(0.0, Double.parseDouble(series.group(2)), series.group());
                } while (series.find());
            }
        }
    }
}
