package taraz.reconcile;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The rule set is checked when read: a typo must not silently fall back to a default. */
class RulesTest {

    @Test
    void theShippedRulesLoad() {
        Rules rules = Rules.load(Path.of("conf", "reconcile.json"));
        assertEquals(List.of("authority", "ref_id", "amount_card_time"), rules.match());
        assertEquals(900, rules.timeDriftSeconds());
    }

    @Test
    void anUnknownKeyIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Rules.from(new JsonObject().put("match", new JsonArray().add("authority")).put("timeDrift", 60)));
        assertTrue(e.getMessage().contains("unknown key 'timeDrift'"), e.getMessage());
    }

    @Test
    void aFileOverridesSomeRulesAndTheJarHoldsTheRest() {
        Rules shipped = Rules.load(Path.of("conf", "reconcile.json"));
        assertEquals(new Rules(shipped.match(), shipped.timeDriftSeconds(), 0, shipped.stuckAfterSeconds(),
                shipped.holdExpiryGraceSeconds(), shipped.pspTimeoutMillis()), Rules.from(new JsonObject().put("minAgeSeconds", 0)));
    }

    @Test
    void theBanksWindowIsASettingNotARule() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Rules.from(new JsonObject().put("reverseWindowSeconds", 1800)));
        assertTrue(e.getMessage().contains("unknown key 'reverseWindowSeconds'"), e.getMessage());
    }

    @Test
    void anUnknownOrRepeatedStageIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> Rules.from(new JsonObject().put("match", new JsonArray().add("iban"))));
        assertThrows(IllegalArgumentException.class,
                () -> Rules.from(new JsonObject().put("match", new JsonArray().add("authority").add("authority"))));
        assertThrows(IllegalArgumentException.class, () -> Rules.from(new JsonObject().put("match", new JsonArray())));
    }
}
