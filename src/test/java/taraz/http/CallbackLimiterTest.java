package taraz.http;

import org.junit.jupiter.api.Test;
import taraz.config.Settings;

import java.net.InetAddress;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The callback's token buckets on a clock the test moves: a burst per address and in total, then
 * a refusal with the wait until the next token; memory bounded while addresses cycle; the client
 * address read from X-Forwarded-For only behind a trusted proxy; bad limits refused at start.
 */
class CallbackLimiterTest {

    private static final long SECOND_NANOS = 1_000_000_000L;
    private static final String PROXY = "10.0.0.5";

    private final AtomicLong clock = new AtomicLong(42 * SECOND_NANOS);

    private CallbackLimiter limiter(long addressRate, long addressBurst, long totalRate, long totalBurst, int addressesMax,
                                    Set<InetAddress> proxies) {
        return new CallbackLimiter(addressRate, addressBurst, totalRate, totalBurst, addressesMax, proxies, clock::get);
    }

    @Test
    void anAddressGetsItsBurstThenWaitsForItsRate() {
        CallbackLimiter limiter = limiter(2, 3, 1_000, 1_000, 100, Set.of());
        for (int i = 0; i < 3; i++) {
            assertEquals(0, limiter.admit("198.51.100.1"), "request " + i);
        }
        assertEquals(1, limiter.admit("198.51.100.1"), "a token comes back within a second at 2/s");
        assertEquals(0, limiter.admit("198.51.100.2"), "another address has its own bucket");
        clock.addAndGet(SECOND_NANOS / 2);
        assertEquals(0, limiter.admit("198.51.100.1"), "half a second at 2/s is one token");
        assertEquals(1, limiter.admit("198.51.100.1"));
        clock.addAndGet(3600 * SECOND_NANOS);
        for (int i = 0; i < 3; i++) {
            assertEquals(0, limiter.admit("198.51.100.1"), "an hour refills the burst, no more: " + i);
        }
        assertEquals(1, limiter.admit("198.51.100.1"));
    }

    @Test
    void theTotalHoldsWhateverTheAddresses() {
        CallbackLimiter limiter = limiter(100, 100, 1, 5, 1_000, Set.of());
        for (int i = 0; i < 5; i++) {
            assertEquals(0, limiter.admit("203.0.113." + i));
        }
        assertEquals(1, limiter.admit("203.0.113.99"), "the sixth address finds the total spent");
        clock.addAndGet(SECOND_NANOS);
        assertEquals(0, limiter.admit("203.0.113.99"));
        assertEquals(1, limiter.admit("203.0.113.1"), "a refused request took nothing, and the total is spent again");
    }

    @Test
    void cyclingAddressesCannotGrowMemory() {
        int addressesMax = 1_000;
        CallbackLimiter limiter = limiter(1, 1, 1_000_000, 1_000_000, addressesMax, Set.of());
        for (int i = 0; i < 50 * addressesMax; i++) {
            limiter.admit("2001:db8::" + Integer.toHexString(i));
        }
        assertEquals(addressesMax, limiter.addressesTracked());
    }

    @Test
    void forwardedForIsReadOnlyBehindATrustedProxy() throws Exception {
        CallbackLimiter direct = limiter(1, 1, 1, 1, 10, Set.of());
        assertEquals("198.51.100.9", direct.clientAddress("198.51.100.9", List.of("203.0.113.1")),
                "with no trusted proxy the header is the client's own claim");

        CallbackLimiter behind = limiter(1, 1, 1, 1, 10, Set.of(InetAddress.getByName(PROXY)));
        assertEquals("203.0.113.1", behind.clientAddress(PROXY, List.of("203.0.113.1")));
        assertEquals("203.0.113.1", behind.clientAddress(PROXY, List.of("6.6.6.6, 203.0.113.1")),
                "entries left of the proxy's own are the client's and prove nothing");
        assertEquals("203.0.113.1", behind.clientAddress(PROXY, List.of("6.6.6.6", "203.0.113.1, " + PROXY)),
                "trusted hops are skipped, over several headers");
        assertEquals(PROXY, behind.clientAddress(PROXY, List.of("6.6.6.6, not-an-address")),
                "garbage where the proxy writes: the proxy is the client we know");
        assertEquals(PROXY, behind.clientAddress(PROXY, List.of()));
        assertEquals("198.51.100.9", behind.clientAddress("198.51.100.9", List.of("203.0.113.1")),
                "a peer that is not the proxy is read as it is");
        assertEquals(PROXY, behind.clientAddress(PROXY, List.of("localhost.example")), "a name is never resolved");
    }

    @Test
    void badLimitsAreRefusedAtStart() {
        for (Map<String, Object> bad : List.<Map<String, Object>>of(
                Map.of("callbackAddressRatePerSecond", 0),
                Map.of("callbackTotalBurstRequests", -1),
                Map.of("callbackAddressesMax", 0),
                Map.of("callbackTrustedProxies", "10.0.0.1"),
                Map.of("callbackTrustedProxies", new io.vertx.core.json.JsonArray().add("proxy.example")),
                Map.of("callbackTrustedProxies", new io.vertx.core.json.JsonArray().add("300.1.1.1")))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Settings.defaults().with(bad),
                    bad.toString());
            assertTrue(e.getMessage().contains(bad.keySet().iterator().next()), e.getMessage());
        }
        assertEquals(Set.of(), Settings.defaults().callbacks().trustedProxyAddresses(), "no trusted proxy unless named");
    }
}
