package taraz.http;

import io.vertx.core.json.JsonArray;
import org.junit.jupiter.api.Test;
import taraz.support.ApiClient;
import taraz.support.GatewayProcess;
import taraz.support.TestGateway;
import taraz.support.Topups;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The public callback of a real gateway process behind a trusted proxy (the test, on loopback,
 * plays the load balancer and names the client in X-Forwarded-For): each client address gets its
 * burst, then {@code 429 rate_limited} with Retry-After; the total holds across addresses.
 */
class CallbackRateLimitTest {

    private static final int ADDRESS_BURST = 3;
    private static final int TOTAL_BURST = 5;

    @Test
    void callbacksAreLimitedPerClientAndInTotal() throws Exception {
        Path dataDir = TestGateway.tempDir("callback-limit-");
        Map<String, Object> settings = new HashMap<>();
        // The slowest refill there is, so that the bursts below are all a test's quick requests can use.
        settings.put("callbackAddressRatePerSecond", 1);
        settings.put("callbackAddressBurstRequests", ADDRESS_BURST);
        settings.put("callbackTotalRatePerSecond", 1);
        settings.put("callbackTotalBurstRequests", TOTAL_BURST);
        settings.put("callbackTrustedProxies", new JsonArray().add("127.0.0.1"));
        Map<String, String> env = new HashMap<>(GatewayProcess.config(dataDir, settings));
        // No bank behind it: these callbacks name no top-up and must never reach one.
        env.put("TARAZ_PSP_URL", "http://127.0.0.1:" + TestGateway.freePort());
        GatewayProcess child = GatewayProcess.start(dataDir, TestGateway.freePort(), env);
        try {
            ApiClient api = child.api();
            for (int i = 0; i < ADDRESS_BURST; i++) {
                assertEquals(404, from(api, "203.0.113.7").status(), "within the burst, request " + i);
            }
            assertLimited(from(api, "203.0.113.7"));
            assertLimited(from(api, "203.0.113.7"));
            // The cardholder's browser, limited: a page, not JSON.
            ApiClient.Response page = api.get(Topups.callbackPath(Topups.randomAuthority(), "OK"),
                    Map.of("Accept", "text/html", "X-Forwarded-For", "203.0.113.7"));
            assertEquals(429, page.status(), page.text());
            assertTrue(page.header("Content-Type").startsWith("text/html"), page.header("Content-Type"));
            assertTrue(page.text().contains("error rate_limited"), page.text());
            assertTrue(Long.parseLong(page.header("Retry-After")) >= 1, page.header("Retry-After"));

            for (int i = ADDRESS_BURST; i < TOTAL_BURST; i++) {
                assertEquals(404, from(api, "203.0.113.8").status(), "another client, request " + i);
            }
            assertLimited(from(api, "203.0.113.9"));
        } finally {
            GatewayProcess.stop(child);
        }
    }

    private static ApiClient.Response from(ApiClient api, String client) {
        return api.get(Topups.callbackPath(Topups.randomAuthority(), "OK"),
                Map.of("Accept", "application/json", "X-Forwarded-For", client));
    }

    private static void assertLimited(ApiClient.Response r) {
        assertEquals(429, r.status(), r.text());
        assertEquals("rate_limited", r.errorCode(), r.text());
        assertTrue(Long.parseLong(r.header("Retry-After")) >= 1, r.header("Retry-After"));
    }
}
