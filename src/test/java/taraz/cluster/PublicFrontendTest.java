package taraz.cluster;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import taraz.support.ApiClient;
import taraz.support.Haproxy;
import taraz.support.TestGateway;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The shipped {@code conf/haproxy.cfg}'s two sides, with the test gateway as both replicas: the public frontend
 * passes the bank callback and nothing else (no API, no /metrics, no /openapi.yaml), and slows a source address
 * that sends too much with 429 + Retry-After; the internal frontend still serves everything.
 */
class PublicFrontendTest {

    private static final String CALLBACK = "/v1/psp/zarinpal/callback";
    /** conf/haproxy.cfg: "sc_http_req_rate(0) gt 60" over 10 s per source address. */
    private static final int PER_SOURCE_LIMIT = 60;

    @Test
    void publicSidePassesOnlyTheCallbackAndRateLimitsIt() throws Exception {
        Optional<Path> binary = Haproxy.binary();
        assumeTrue(binary.isPresent(), "haproxy is not installed (apt-get install -y haproxy)");
        TestGateway gateway = TestGateway.get();
        String gatewayPort = Integer.toString(URI.create(gateway.baseUrl()).getPort());
        int internalPort = TestGateway.freePort();
        int publicPort = TestGateway.freePort();
        Path log = TestGateway.tempDir("haproxy-").resolve("haproxy.log");
        try (Haproxy haproxy = Haproxy.start(binary.get(), Map.of("TARAZ_LB_PORT", Integer.toString(internalPort),
                "TARAZ_PUBLIC_PORT", Integer.toString(publicPort), "TARAZ_A_PORT", gatewayPort, "TARAZ_B_PORT", gatewayPort), log)) {
            String internalUrl = "http://127.0.0.1:" + internalPort;
            ApiClient internal = ApiClient.http11(internalUrl);
            ApiClient outside = ApiClient.http11("http://127.0.0.1:" + publicPort);
            haproxy.awaitRouting(internalUrl);

            // The internal side: the whole API and the operational endpoints.
            String wallet = internal.openWallet("passenger");
            ApiClient.Response topup = internal.post("/v1/topups", ApiClient.newKey(), new JsonObject().put("walletId", wallet).put("amount", 10_000));
            assertEquals(201, topup.status(), topup.text());
            String authority = topup.json().getString("authority");
            assertEquals(200, internal.get("/metrics").status());
            assertEquals(200, internal.get("/openapi.yaml").status());
            ApiClient.Response settleInside = internal.post("/v1/trips/" + ApiClient.newId("trip") + "/settle", ApiClient.newKey(), "{}");
            assertNotEquals(403, settleInside.status(), "the internal side passes the API to taraz");
            assertNotNull(settleInside.errorCode(), "taraz itself answered: " + settleInside.text());

            // The public side: the callback reaches taraz, which finds the top-up by its authority.
            ApiClient.Response callback = outside.get(CALLBACK + "?Authority=" + authority + "&Status=NOK", Map.of("Accept", "application/json"));
            assertEquals(200, callback.status(), callback.text());
            assertNotNull(callback.json().getString("state"), callback.text());
            ApiClient.Response badCallback = outside.get(CALLBACK, Map.of("Accept", "application/json"));
            assertEquals("invalid_callback", badCallback.errorCode(), "taraz judges the callback's parameters: " + badCallback.text());

            // Everything else is refused by the proxy (403, HAProxy's page, not a taraz error).
            List<ApiClient.Response> refused = new ArrayList<>();
            refused.add(outside.post("/v1/trips/" + ApiClient.newId("trip") + "/settle", ApiClient.newKey(), "{}"));
            refused.add(outside.post(CALLBACK + "?Authority=" + authority + "&Status=OK", null, (String) null));
            refused.add(outside.get("/metrics"));
            refused.add(outside.get("/openapi.yaml"));
            refused.add(outside.get("/health/ready"));
            refused.add(outside.get("/v1/topups/" + topup.json().getString("topupId")));
            refused.add(outside.get(CALLBACK + "/"));
            for (ApiClient.Response response : refused) {
                assertEquals(403, response.status(), response.text());
                assertEquals(null, response.errorCode(), "never reached taraz: " + response.text());
            }

            // One source sending more than its share within the window is slowed down: 429 with Retry-After,
            // the callback included, while the other side is untouched.
            ApiClient.Response limited = null;
            for (int i = 0; i <= PER_SOURCE_LIMIT && limited == null; i++) {
                ApiClient.Response response = outside.get("/scan/" + i);
                if (response.status() == 429) {
                    limited = response;
                } else {
                    assertEquals(403, response.status(), response.text());
                }
            }
            assertNotNull(limited, "no 429 after " + (PER_SOURCE_LIMIT + 1) + " more requests from one address");
            assertEquals("10", limited.header("Retry-After"));
            ApiClient.Response callbackLimited = outside.get(CALLBACK + "?Authority=" + authority + "&Status=OK");
            assertEquals(429, callbackLimited.status());
            assertEquals(200, internal.get("/metrics").status(), "the internal side has no such limit");
            assertTrue(Files.readString(log).contains("taraz_public"), "the public frontend logged its requests");
        }
    }
}
