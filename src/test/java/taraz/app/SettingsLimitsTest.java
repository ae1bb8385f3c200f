package taraz.app;

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
        assertEquals(2_000, ZarinpalPsp.retriedCallMillisMax(2_000, 0));
        assertEquals(5_000 + 200 + 5_000 + 400 + 5_000, ZarinpalPsp.retriedCallMillisMax(5_000, 2));
    }

    @Test
    void theDefaultRecoveryStepOutlastsTheDefaultWorstVerify() {
        Settings settings = Settings.defaults();
        assertTrue(settings.longValue("recoveryStepTimeoutMillis") > ZarinpalPsp.retriedCallMillisMax(
                settings.longValue("pspTimeoutMillis"), settings.intValue("pspRetriesMax")));
    }

    @Test
    void aRecoveryStepShorterThanTheWorstVerifyFailsTheStartNamingTheSettings() {
        Settings defaults = Settings.defaults();
        IllegalArgumentException shorter = assertThrows(IllegalArgumentException.class,
                () -> defaults.with(Map.of("recoveryStepTimeoutMillis", 10_000)));
        assertEquals("recoveryStepTimeoutMillis (10000) must be longer than the PSP's worst verify, 15600 ms: "
                + "(pspRetriesMax + 1) x pspTimeoutMillis plus the backoffs, with pspTimeoutMillis 5000 and pspRetriesMax 2",
                shorter.getMessage());
        // Equal is not enough: the step also journals and credits after the verify answers.
        assertThrows(IllegalArgumentException.class, () -> defaults.with(Map.of("recoveryStepTimeoutMillis", 15_600)));
        // Raising the PSP's bounds alone can break the pair too.
        IllegalArgumentException retries = assertThrows(IllegalArgumentException.class,
                () -> defaults.with(Map.of("pspRetriesMax", 5)));
        assertTrue(retries.getMessage().startsWith("recoveryStepTimeoutMillis (30000) must be longer"), retries.getMessage());
        assertEquals(15_601, defaults.with(Map.of("recoveryStepTimeoutMillis", 15_601)).longValue("recoveryStepTimeoutMillis"));
    }
}
