package taraz.app;

import org.junit.jupiter.api.Test;
import taraz.support.GatewayProcess;
import taraz.support.TestGateway;

import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A start that cannot go on says why in one line and exits 1, with no stack trace, in a real child process: a bad
 * setting names the setting and what it may be; a port in use names the port, found before PostgreSQL is started
 * (FirstStartTest has the data directory in use).
 */
class StartErrorsTest {

    private static final long EXIT_TIMEOUT_MILLIS = 60_000;

    @Test
    void aBadSettingIsOneLineNamingItAndWhatItMayBe() throws Exception {
        assertRefused(Map.of("TARAZ_JOURNAL_SYNC", "always"), "taraz: journalSync must be every, batch or none, got 'always'");
        assertRefused(Map.of("TARAZ_HTTP_HOST", "localhost"), "taraz: httpHost (TARAZ_HTTP_HOST) must be an IP address to "
                + "listen on: 0.0.0.0 (every interface), 127.0.0.1 (this machine only) or another address of this machine, "
                + "got 'localhost'");
        assertRefused(Map.of("TARAZ_HTTP_PORT", "80a"), "taraz: TARAZ_HTTP_PORT must be an integer, got '80a'");
    }

    @Test
    void aPortInUseIsOneLineNamingItFoundBeforePostgresqlStarts() throws Exception {
        try (ServerSocket taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress("0.0.0.0", 0));
            int port = taken.getLocalPort();
            Path dataDir = assertRefused(Map.of("TARAZ_HTTP_PORT", Integer.toString(port)), null);
            String output = Files.readString(Files.list(dataDir).filter(f -> f.getFileName().toString().startsWith("child-"))
                    .findFirst().orElseThrow());
            assertOneLine(output, "taraz: port " + port + " on 0.0.0.0 is in use (");
            assertTrue(output.contains("): stop what listens there, or set another httpPort (TARAZ_HTTP_PORT, serve --port)"),
                    output);
            assertFalse(Files.exists(dataDir.resolve("postgres")), "PostgreSQL was started:\n" + output);
            assertFalse(output.contains("start: postgresql"), output);
        }
    }

    /** Starts {@code serve} with that environment on a fresh data directory, which it returns; it must exit 1 saying {@code line}. */
    private static Path assertRefused(Map<String, String> env, String line) throws Exception {
        Path dataDir = TestGateway.tempDir("start-error-");
        GatewayProcess child = GatewayProcess.command(List.of("serve"), dataDir, env);
        assertEquals(1, child.awaitExit(EXIT_TIMEOUT_MILLIS), child.output());
        if (line != null) {
            assertOneLine(child.output(), line);
        }
        return dataDir;
    }

    /** The output has the line that starts with {@code start} once, and no stack trace, as text or as a JSON log's. */
    static void assertOneLine(String output, String start) {
        long lines = output.lines().filter(l -> l.startsWith(start)).count();
        assertEquals(1, lines, "one line starting '" + start + "' in:\n" + output);
        assertFalse(output.contains("at taraz."), "a stack trace:\n" + output);
        assertFalse(output.contains("stepArray"), "a logged stack trace:\n" + output);
        assertFalse(output.contains("Exception"), "an exception:\n" + output);
    }
}
