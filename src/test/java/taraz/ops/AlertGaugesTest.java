package taraz.ops;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The gauges the alerts read that taraz sets itself: readiness as 1/0, and the last drain cut-off, kept in
 * the data directory from the stop that reached it to the next start.
 */
class AlertGaugesTest {

    @Test
    void theLastCutOffIsKeptInTheDataDirectory(@TempDir Path dataDir) throws Exception {
        assertEquals(0, DrainCutOff.lastEpochSeconds(dataDir), "no stop reached its deadline yet");
        DrainCutOff.record(dataDir, 1_764_500_000L);
        assertEquals(1_764_500_000L, DrainCutOff.lastEpochSeconds(dataDir));
        DrainCutOff.record(dataDir, 1_764_503_600L);
        assertEquals(1_764_503_600L, DrainCutOff.lastEpochSeconds(dataDir), "the later stop replaces the earlier");
        assertFalse(Files.exists(dataDir.resolve(DrainCutOff.FILE + ".tmp")), "the temporary file was moved over");

        // record() writes the file whole; anything else in it is damage, and the start stops on it.
        Files.writeString(dataDir.resolve(DrainCutOff.FILE), "not a time");
        assertThrows(NumberFormatException.class, () -> DrainCutOff.lastEpochSeconds(dataDir));
    }

    @Test
    void readinessIsOneOnlyWhileReady() {
        Metrics metrics = new Metrics();
        Readiness readiness = new Readiness();
        metrics.readiness(readiness);
        assertEquals(0.0, ready(metrics), "STARTING");
        readiness.advance(Readiness.Phase.RECOVERING);
        assertEquals(0.0, ready(metrics), "RECOVERING");
        readiness.advance(Readiness.Phase.READY);
        assertEquals(1.0, ready(metrics), "READY");
        readiness.advance(Readiness.Phase.DRAINING);
        assertEquals(0.0, ready(metrics), "DRAINING: the load balancer and the alert see it going");

        metrics.drainCutOff(1_764_500_000L);
        assertEquals(1_764_500_000.0, metrics.registry().get("taraz.drain.deadline.last.timestamp.seconds").gauge().value());
    }

    private static double ready(Metrics metrics) {
        return metrics.registry().get("taraz.ready").gauge().value();
    }
}
