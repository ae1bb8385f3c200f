package taraz.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;
import taraz.psp.ZarinpalPsp;

/** Limits that bound one another are checked against each other once, at start. */
class SettingsLimitsTest {

    @Test
    void theWorstRetriedPspCallIsEveryAttemptToItsTimeoutPlusTheBackoffs() {
        // An attempt is the connection and then the answer, each up to the timeout.
        assertEquals(4_000, ZarinpalPsp.retriedCallMillisMax(2_000, 0));
        assertEquals(10_000 + 200 + 10_000 + 400 + 10_000, ZarinpalPsp.retriedCallMillisMax(5_000, 2));
    }

    @Test
    void theDefaultRecoveryStepOutlastsTheDefaultWorstVerify() {
        Settings settings = Settings.defaults();
        assertTrue(settings.recovery().stepTimeoutMillis() > ZarinpalPsp.retriedCallMillisMax(
                settings.psp().timeoutMillis(), settings.psp().retriesMax()));
    }

    @Test
    void aRecoveryStepShorterThanTheWorstVerifyFailsTheStartNamingTheSettings() {
        Settings defaults = Settings.defaults();
        IllegalArgumentException shorter = assertThrows(IllegalArgumentException.class,
                () -> defaults.with(Map.of("recoveryStepTimeoutMillis", 10_000)));
        assertEquals("recoveryStepTimeoutMillis (10000) must be longer than the PSP's worst verify, 30600 ms: "
                + "(pspRetriesMax + 1) x 2 x pspTimeoutMillis (connect, then answer) plus the backoffs, "
                + "with pspTimeoutMillis 5000 and pspRetriesMax 2", shorter.getMessage());
        // Equal is not enough: the step also journals and credits after the verify answers.
        assertThrows(IllegalArgumentException.class, () -> defaults.with(Map.of("recoveryStepTimeoutMillis", 30_600)));
        // Raising the PSP's bounds alone can break the pair too.
        IllegalArgumentException retries = assertThrows(IllegalArgumentException.class,
                () -> defaults.with(Map.of("pspRetriesMax", 5)));
        assertTrue(retries.getMessage().startsWith("recoveryStepTimeoutMillis (40000) must be longer"), retries.getMessage());
        assertEquals(30_601, defaults.with(Map.of("recoveryStepTimeoutMillis", 30_601)).recovery().stepTimeoutMillis());
    }
}
