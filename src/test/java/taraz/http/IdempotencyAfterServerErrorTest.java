package taraz.http;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import taraz.support.ApiClient;
import taraz.support.GatewayProcess;
import taraz.support.TestGateway;
import taraz.support.TestPsp;

import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A key keeps its request's fingerprint after a 5xx: any other request under that key is
 * refused. A gateway whose steps fail after the money moved ({@code adjustment.after-commit=error},
 * {@code topup.after-request=error}) answers 500 with the work done, which is exactly when a
 * released key let a different retry claim success. A ledger step (the adjustment) stored its
 * answer in the transaction that moved the money, so the same request retried gets that answer,
 * replayed; a top-up's key (PSP calls outside any transaction) lets the same request run again.
 */
class IdempotencyAfterServerErrorTest {

    static TestPsp psp;
    static GatewayProcess gateway;
    static ApiClient api;
    static Path dataDir;

    @BeforeAll
    static void start() throws Exception {
        dataDir = TestGateway.tempDir("idem5xx-");
        psp = TestPsp.start(dataDir.resolve("psp-sim"));
        gateway = GatewayProcess.start(dataDir, TestGateway.freePort(), Map.of(
                "TARAZ_FAILPOINTS", "adjustment.after-commit=error,topup.after-request=error",
                "TARAZ_PSP_URL", psp.baseUrl()));
        api = gateway.api();
    }

    @AfterAll
    static void stop() throws Exception {
        GatewayProcess.stop(gateway);
        psp.stop();
    }

    @Test
    void anAdjustmentRetriedWithAnotherAmountIsRefusedNotReportedAsPosted() throws Exception {
        String wallet = api.openWallet("passenger");
        String key = ApiClient.newKey();
        ApiClient.Response first = adjust(key, wallet, 5_000);
        assertEquals(500, first.status(), first.text());
        assertEquals(5_000L, api.balance(wallet), "the first attempt posted before it failed");

        ApiClient.Response other = adjust(key, wallet, 9_000);
        assertEquals(422, other.status(), other.text());
        assertEquals("idempotency_key_reused", other.errorCode());

        // The same request again learns what the first one did: the answer committed with the money.
        ApiClient.Response same = adjust(key, wallet, 5_000);
        assertEquals(201, same.status(), same.text());
        assertEquals("true", same.header("Idempotent-Replayed"), same.text());
        assertEquals(5_000L, same.json().getLong("balance"));
        assertEquals(5_000L, api.balance(wallet), "posted once");
        assertEquals(1, api.get("/v1/wallets/" + wallet + "/transactions").json().getJsonArray("entries").size());
    }

    @Test
    void aTopupRetriedWithAnotherAmountIsRefusedAndTheBankAskedOnce() throws Exception {
        String wallet = api.openWallet("passenger");
        String key = ApiClient.newKey();
        long requestsBefore = psp.stats().getLong("requestCalls");
        ApiClient.Response first = api.post("/v1/topups", key, new JsonObject().put("walletId", wallet).put("amount", 100_000));
        assertEquals(500, first.status(), first.text());

        ApiClient.Response other = api.post("/v1/topups", key, new JsonObject().put("walletId", wallet).put("amount", 900_000));
        assertEquals(422, other.status(), other.text());
        assertEquals("idempotency_key_reused", other.errorCode());
        assertEquals(requestsBefore + 1, psp.stats().getLong("requestCalls"), "the bank was asked for one payment");
        // The top-up's id comes from the key: it is still the first request's, for the first amount.
        ApiClient.Response topup = api.get("/v1/topups/tp_" + org.apache.commons.codec.digest.DigestUtils.sha256Hex(key).substring(0, 32));
        assertEquals(200, topup.status(), topup.text());
        assertEquals(100_000L, topup.json().getLong("amount"));
    }

    private static ApiClient.Response adjust(String key, String wallet, long amountRials) {
        return api.post("/v1/admin/adjustments", key, new JsonObject().put("walletId", wallet).put("amount", amountRials)
                        .put("reason", "goodwill").put("ticket", "T-5XX").encode(),
                Map.of("Content-Type", "application/json", "Authorization", "Bearer " + TestGateway.ADMIN_TOKEN));
    }
}
