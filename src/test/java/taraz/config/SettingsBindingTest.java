package taraz.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import taraz.psp.Psp;

/** The settings are bound once into typed records: a key nobody reads, or a value of the wrong kind, stops the start. */
class SettingsBindingTest {

    @Test
    void aKeyNoRecordClaimsInTheSettingsFileStopsTheStartNamingIt(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("taraz.json");
        Files.writeString(file, new JsonObject().put("topupWindowSeconds", 600).put("pgPoolSise", 4).encode());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Settings.load(Map.of("TARAZ_CONFIG", file.toString()), Map.of()));
        assertEquals("unknown settings pgPoolSise, topupWindowSeconds; the settings are the keys of conf/taraz.json, "
                + "listed in the README", e.getMessage());
    }

    @Test
    void theBanksWindowHasOneNameAndTheBanksDefault() {
        assertEquals(Psp.WINDOW_SECONDS, Settings.defaults().psp().windowSeconds());
        assertEquals(600, Settings.defaults().with(Map.of("pspWindowSeconds", 600)).psp().windowSeconds());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Settings.defaults().with(Map.of("reverseWindowSeconds", 600)));
        assertEquals("unknown setting reverseWindowSeconds; the settings are the keys of conf/taraz.json, listed in the README",
                e.getMessage());
    }

    @Test
    void eachKeyIsReadIntoItsRecordTyped() {
        Settings settings = Settings.load(Map.of("TARAZ_HTTP_PORT", "18080", "TARAZ_PG_POOL_SIZE", "3",
                "TARAZ_JOURNAL_SYNC", "batch"), Map.of("topupSweepBatchMax", 7));
        assertEquals(18080, settings.http().port());
        assertEquals(3, settings.pg().poolSize());
        assertEquals("batch", settings.journal().syncPolicy());
        assertEquals(settings.dataDir().resolve("journal"), settings.journal().dir());
        assertEquals(7, settings.topups().sweepBatchMax());
        assertEquals(20_000, settings.ledger().queueMax());
    }

    @Test
    void aValueOfTheWrongKindIsRefusedNamingItsKey() {
        assertEquals("TARAZ_HTTP_PORT must be an integer, got '80a'", assertThrows(IllegalArgumentException.class,
                () -> Settings.load(Map.of("TARAZ_HTTP_PORT", "80a"), Map.of())).getMessage());
        assertEquals("pgPoolSize must be an integer, got 2.5", refused(Map.of("pgPoolSize", 2.5)));
        assertEquals("ledgerBatchMax must be in [1, 10000], got 0", refused(Map.of("ledgerBatchMax", 0)));
        assertEquals("journalSync must be every, batch or none, got 'always'", refused(Map.of("journalSync", "always")));
        String proxies = refused(Map.of("callbackTrustedProxies", "10.0.0.1"));
        assertEquals("callbackTrustedProxies: ", proxies.substring(0, proxies.indexOf(':') + 2), proxies);
        assertEquals("callbackTrustedProxies: 'proxy.example' is not an IP address",
                refused(Map.of("callbackTrustedProxies", new JsonArray().add("proxy.example"))));
        assertEquals("pageSizeDefault (600) must be at most pageSizeMax (500)", refused(Map.of("pageSizeDefault", 600)));
        assertEquals("pspMerchantId must be the 36-character merchant id the PSP issued", refused(Map.of("pspMerchantId", "m1")));
    }

    private static String refused(Map<String, Object> overrides) {
        return assertThrows(IllegalArgumentException.class, () -> Settings.defaults().with(overrides)).getMessage();
    }
}
