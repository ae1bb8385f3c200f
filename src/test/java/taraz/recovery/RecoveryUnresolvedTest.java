package taraz.recovery;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import taraz.journal.Checkpoint;
import taraz.journal.Journal;
import taraz.journal.JournalRecord;
import taraz.journal.JournalSettings;
import taraz.ops.Metrics;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Boot recovery over a real journal: a payment whose step does not end within the step's bound is left for
 * later, and the start exports how many were left ({@code taraz_recovery_unresolved_payments}, which the
 * TarazRecoveryUnresolved alert reads).
 */
class RecoveryUnresolvedTest {

    private static final long WAIT_SECONDS = 30;
    private static final long STEP_TIMEOUT_MILLIS = 200;

    @Test
    void aStepThatDoesNotEndIsLeftAndCounted(@TempDir Path dataDir) throws Exception {
        Path journalDir = dataDir.resolve("journal");
        Metrics metrics = new Metrics();
        try (Journal journal = Journal.open(new JournalSettings(journalDir, "every", 5, 16, 30), metrics.registry())) {
            for (String trip : List.of("t-finishes", "t-hangs")) {
                await(journal.append(JournalRecord.of("n1", "trip", trip, "SETTLING", JournalRecord.Status.PENDING, 1,
                        150_000, List.of("w1", "w2"), null, null)));
            }
        }
        assertEquals(0.0, unresolved(metrics), "nothing left before recovery ran");

        Vertx vertx = Vertx.vertx();
        try {
            // The trip flow's place: one step ends, the other never does (a bank that does not answer).
            Recovery.Resumer trips = record -> record.paymentId().equals("t-hangs")
                    ? Promise.promise().future() : Future.succeededFuture();
            Recovery recovery = new Recovery(vertx, journalDir, Map.of("trip", trips), metrics, STEP_TIMEOUT_MILLIS, 2);
            Recovery.Report report = await(recovery.run());
            assertEquals(List.of(2, 1, 1), List.of(report.found(), report.finished(), report.unresolved()), report.toString());
            assertEquals(Checkpoint.read(journalDir), report.checkpoint(), "the checkpoint written: the hanging step's first record");
            assertTrue(report.checkpoint() > 0, report.toString());
            assertEquals(1.0, unresolved(metrics));
        } finally {
            vertx.close().toCompletionStage().toCompletableFuture().get(WAIT_SECONDS, TimeUnit.SECONDS);
        }
    }

    private static double unresolved(Metrics metrics) {
        return metrics.registry().get("taraz.recovery.unresolved.payments").gauge().value();
    }

    private static <T> T await(Future<T> future) throws Exception {
        return future.toCompletionStage().toCompletableFuture().get(WAIT_SECONDS, TimeUnit.SECONDS);
    }
}
