package taraz.recovery;

import org.junit.jupiter.api.Test;
import taraz.journal.Checkpoint;
import taraz.support.ApiClient;
import taraz.support.GatewayProcess;
import taraz.support.TestGateway;

import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One gateway's data directory, restarted after a SIGTERM and after a kill -9: both boots log where recovery starts
 * in the same words, naming the checkpoint the previous run's recovery wrote.
 */
class RecoveryCheckpointLogTest {

    private static final Pattern FROM_CHECKPOINT =
            Pattern.compile("recovery: (\\d+) incomplete payment\\(s\\) in the journal from checkpoint (\\d+)");
    private static final long EXIT_TIMEOUT_MILLIS = 60_000;

    @Test
    void bothRestartsNameTheCheckpointInTheSameWords() throws Exception {
        Path dataDir = TestGateway.tempDir("checkpoint-log-");
        int port = TestGateway.freePort();
        // No bank behind it: only trips run here.
        Map<String, String> env = Map.of("TARAZ_PSP_URL", "http://127.0.0.1:" + TestGateway.freePort());
        GatewayProcess first = GatewayProcess.start(dataDir, port, env);
        GatewayProcess afterTerm = null;
        GatewayProcess afterKill = null;
        try {
            settleOne(first.api());
            first.terminate();
            assertEquals(0, first.awaitExit(EXIT_TIMEOUT_MILLIS), first.output());
            long written = Checkpoint.read(dataDir.resolve("journal"));

            afterTerm = GatewayProcess.start(dataDir, port, env);
            assertEquals(written, fromCheckpoint(afterTerm), "after SIGTERM");
            settleOne(afterTerm.api());
            afterTerm.kill();
            long writtenBeforeKill = Checkpoint.read(dataDir.resolve("journal"));

            afterKill = GatewayProcess.start(dataDir, port, env);
            assertEquals(writtenBeforeKill, fromCheckpoint(afterKill), "after kill -9");
        } finally {
            GatewayProcess.stop(afterKill, afterTerm, first);
        }
    }

    private static void settleOne(ApiClient api) {
        String passenger = api.openWallet("passenger");
        String driver = api.openWallet("driver");
        api.fund(passenger, 100_000);
        api.settle(ApiClient.newId("trip"), passenger, driver, 10_000, 1_000);
    }

    /** The checkpoint the boot's one "from checkpoint" line names. */
    private static long fromCheckpoint(GatewayProcess gateway) {
        Matcher m = FROM_CHECKPOINT.matcher(gateway.messages());
        assertTrue(m.find(), "no recovery line naming a checkpoint:\n" + gateway.messages());
        long checkpoint = Long.parseLong(m.group(2));
        assertTrue(!m.find(), "a second recovery line:\n" + gateway.messages());
        return checkpoint;
    }
}
