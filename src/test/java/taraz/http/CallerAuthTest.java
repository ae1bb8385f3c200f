package taraz.http;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import taraz.config.Settings;
import taraz.support.ApiClient;
import taraz.support.GatewayProcess;
import taraz.support.TestGateway;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Who may call: API keys on /v1, the admin token on /v1/admin, nothing on the callback and health. */
class CallerAuthTest {

    static ApiClient api;
    static ApiClient anonymous;
    static ApiClient admin;

    @BeforeAll
    static void setUp() {
        api = TestGateway.get().api();
        anonymous = api.withAuthorization(null);
        admin = api.withAuthorization("Bearer " + TestGateway.ADMIN_TOKEN);
    }

    @Test
    void everyV1RouteButTheCallbackNeedsAKey() {
        String wallet = api.openWallet("passenger");
        List<ApiClient.Response> refused = List.of(
                anonymous.get("/v1/wallets/" + wallet),
                anonymous.get("/v1/wallets/" + wallet + "/transactions"),
                anonymous.get("/v1/trips/" + ApiClient.newId("trip")),
                anonymous.get("/v1/topups/tp_0000"),
                anonymous.post("/v1/wallets", ApiClient.newKey(), new JsonObject().put("ownerId", ApiClient.newId("o")).put("kind", "driver")),
                anonymous.post("/v1/topups", ApiClient.newKey(), new JsonObject().put("walletId", wallet).put("amount", 10_000)),
                anonymous.post("/v1/trips/" + ApiClient.newId("trip") + "/hold", ApiClient.newKey(),
                        new JsonObject().put("passengerWalletId", wallet).put("amount", 1000)),
                api.withAuthorization("Bearer " + TestGateway.API_KEY + "x").get("/v1/wallets/" + wallet),
                api.withAuthorization("Bearer " + TestGateway.API_KEY.substring(1)).get("/v1/wallets/" + wallet),
                api.withAuthorization(TestGateway.API_KEY).get("/v1/wallets/" + wallet));
        for (ApiClient.Response r : refused) {
            assertEquals(401, r.status(), r.text());
            assertEquals("unauthorized", r.errorCode());
            assertEquals("Bearer", r.header("WWW-Authenticate"));
        }
        assertEquals(200, api.get("/v1/wallets/" + wallet).status());
        // The callback faces the bank's cardholders: no credential, and an unknown authority is a plain 404.
        ApiClient.Response callback = anonymous.get("/v1/psp/zarinpal/callback?Authority=A000000000000000000000000000unknown&Status=OK",
                Map.of("Accept", "application/json"));
        assertEquals(404, callback.status(), callback.text());
        assertEquals("topup_not_found", callback.errorCode());
        assertEquals(200, anonymous.get("/health/live").status());
        assertEquals(200, anonymous.get("/metrics").status());
    }

    @Test
    void anApiKeyIsNotAnAdminToken() {
        String wallet = api.openWallet("passenger");
        ApiClient.Response listing = api.get("/v1/admin/payments");
        assertEquals(401, listing.status(), listing.text());
        assertEquals("Bearer", listing.header("WWW-Authenticate"));
        ApiClient.Response credit = api.post("/v1/admin/adjustments", ApiClient.newKey(), new JsonObject().put("walletId", wallet)
                .put("amount", 5000).put("reason", "goodwill").put("ticket", "T-1").encode(),
                Map.of("Content-Type", "application/json"));
        assertEquals(401, credit.status(), credit.text());
        assertEquals(0L, api.balance(wallet), "nothing credited");
        assertEquals(200, admin.get("/v1/admin/payments").status());
    }

    @Test
    void aWalletsPhoneAndNameAreForTheAdminTokenOnly() {
        ApiClient.Response opened = api.post("/v1/wallets", ApiClient.newKey(), new JsonObject().put("ownerId", ApiClient.newId("owner"))
                .put("kind", "passenger").put("phone", "+989121234567").put("name", "سارا"));
        assertEquals(201, opened.status(), opened.text());
        assertFalse(opened.json().containsKey("phone"), opened.text());
        assertFalse(opened.json().containsKey("name"), opened.text());
        String wallet = opened.json().getString("walletId");

        JsonObject seenByService = api.wallet(wallet);
        assertFalse(seenByService.containsKey("phone"), seenByService.encode());
        assertFalse(seenByService.containsKey("name"), seenByService.encode());
        JsonObject seenBySupport = admin.get("/v1/wallets/" + wallet).json();
        assertEquals("+989121234567", seenBySupport.getString("phone"));
        assertEquals("سارا", seenBySupport.getString("name"));
    }

    @Test
    void shortSecretsStopTheStart() {
        Settings defaults = Settings.defaults();
        assertThrows(IllegalArgumentException.class, () -> defaults.with(Map.of("adminToken", "a".repeat(31))));
        assertThrows(IllegalArgumentException.class, () -> defaults.with(Map.of("apiKeys", "k".repeat(32) + ",short-key")));
        assertThrows(IllegalArgumentException.class, () -> defaults.with(Map.of("apiKeys", "k".repeat(31) + " ")));
        assertThrows(IllegalArgumentException.class, () -> defaults.with(Map.of("apiKeys", "k".repeat(32) + ",")));
        assertEquals(List.of("k".repeat(32), "m".repeat(40)),
                defaults.with(Map.of("apiKeys", "k".repeat(32) + ", " + "m".repeat(40))).apiKeys());
    }

    /** With no key configured, the first start writes one (0600), logs where and never what; restarts keep it. */
    @Test
    void aGatewayWithNoKeyGeneratesOneIntoItsDataDirectory() throws Exception {
        Path dataDir = TestGateway.tempDir("apikey-");
        Map<String, String> env = new HashMap<>();
        env.put("TARAZ_API_KEYS", "");
        GatewayProcess first = GatewayProcess.start(dataDir, TestGateway.freePort(), env);
        String key;
        try {
            Path file = dataDir.resolve("api-key");
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
            key = Files.readString(file).strip();
            assertTrue(key.length() >= Settings.SECRET_LENGTH_MIN, key.length() + " characters");
            ApiClient generated = new ApiClient(first.baseUrl(), key, TestGateway.ADMIN_TOKEN);
            assertEquals(201, generated.post("/v1/wallets", ApiClient.newKey(),
                    new JsonObject().put("ownerId", ApiClient.newId("o")).put("kind", "driver")).status());
            assertEquals(401, first.api().get("/v1/wallets/w_none").status(), "the tests' key is not configured here");
            assertTrue(first.messages().contains(file.toString()), "the path is logged");
            assertFalse(first.output().contains(key), "the key is never logged");
        } finally {
            GatewayProcess.stop(first);
        }
        GatewayProcess second = GatewayProcess.start(dataDir, TestGateway.freePort(), env);
        try {
            assertEquals(key, Files.readString(dataDir.resolve("api-key")).strip());
            ApiClient.Response r = new ApiClient(second.baseUrl(), key, null).get("/v1/wallets/w_none");
            assertEquals(404, r.status(), r.text());
            assertNull(r.header("WWW-Authenticate"));
        } finally {
            GatewayProcess.stop(second);
        }
    }
}
