package taraz.ops;

import org.junit.jupiter.api.Test;
import taraz.support.GatewayProcess;
import taraz.support.TestGateway;

import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The start-up time by phase, on a real gateway process: the ready line names every phase with its
 * time, each phase but the JVM's is logged as it ends, and /metrics carries one
 * taraz_startup_phase_seconds series per phase; on a fresh data directory and again on the same
 * directory after kill -9. A second gateway on a directory in use is turned away before it opens
 * the journal, which the first one holds (the journal opens beside the database's start).
 */
class StartupPhasesTest {

    private static final long EXIT_TIMEOUT_MILLIS = 60_000;
    private static final Pattern READY_LINE = Pattern.compile("taraz ready in \\d+ ms \\((.*); (\\d+) ms since the JVM started\\)");

    @Test
    void everyPhaseIsReportedOnAFreshStartAndAfterACrash() throws Exception {
        Path dataDir = TestGateway.tempDir("phases-");
        int port = TestGateway.freePort();
        GatewayProcess first = GatewayProcess.start(dataDir, port, Map.of());
        GatewayProcess refused = null;
        try {
            assertEveryPhaseReported(first);

            refused = GatewayProcess.spawn(dataDir, TestGateway.freePort(), Map.of());
            assertEquals(1, refused.awaitExit(EXIT_TIMEOUT_MILLIS), refused.output());
            assertTrue(refused.output().contains("is in use by another taraz process (pid " + first.pid() + ")"),
                    refused.output());
            assertFalse(refused.output().contains("start: journal done"), "the refused start opened the journal:\n"
                    + refused.output());
            assertEquals(200, first.readyStatus(), "the gateway in place kept serving");
        } finally {
            first.kill();
        }

        GatewayProcess restarted = GatewayProcess.start(dataDir, port, Map.of());
        try {
            assertEveryPhaseReported(restarted);
        } finally {
            GatewayProcess.stop(restarted);
        }
    }

    private static void assertEveryPhaseReported(GatewayProcess gateway) {
        String output = gateway.output();
        Matcher ready = READY_LINE.matcher(output);
        assertTrue(ready.find(), "no ready line with the phases:\n" + output);
        String phases = ready.group(1);
        String metrics = gateway.api().get("/metrics").text();
        for (Startup.Phase phase : Startup.Phase.values()) {
            Matcher named = Pattern.compile("(^|, )" + phase.label() + " (\\d+) ms(,|$)").matcher(phases);
            assertTrue(named.find(), "the ready line does not name " + phase.label() + ": " + phases);
            assertTrue(Long.parseLong(named.group(2)) <= Long.parseLong(ready.group(2)),
                    phase.label() + " took longer than the whole start: " + ready.group());
            if (phase != Startup.Phase.JVM) {
                assertTrue(output.contains("start: " + phase.label() + " done in "), "no line as " + phase.label()
                        + " ended:\n" + output);
            }
            Matcher gauge = Pattern.compile("(?m)^taraz_startup_phase_seconds\\{[^}]*phase=\"" + phase.label()
                    + "\"[^}]*\\} ([0-9.eE+-]+)$").matcher(metrics);
            assertTrue(gauge.find(), "no taraz_startup_phase_seconds for " + phase.label());
            assertTrue(Double.parseDouble(gauge.group(1)) >= 0, gauge.group());
        }
    }
}
