package taraz.http;

import taraz.config.Settings;

import java.net.InetAddress;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.LongSupplier;

/**
 * Rate limits of the bank callback, the one route the internet reaches: a token bucket per
 * client address and one for all addresses together. A request takes a token from both or from
 * neither, so a refused request costs its address nothing more. The per-address buckets live in
 * a map bounded by {@code callbackAddressesMax}, least recently seen evicted first: an attacker
 * cycling addresses can reset other addresses' buckets (to full, the lenient side) but cannot
 * grow memory, and the total bucket still holds.
 *
 * <p>The client address is the socket's peer. Behind a load balancer that is the balancer, so
 * when the peer is one of {@code callbackTrustedProxies} the address is read from
 * {@code X-Forwarded-For} instead: the right-most entry that is not itself a trusted proxy
 * (entries to its left were written by the client and prove nothing). With no trusted proxies
 * configured the header is ignored, so nobody can pick their own bucket.
 *
 * <p>One lock guards all buckets: the route is rate-limited and cheap, and every event loop
 * shares one limiter.
 */
final class CallbackLimiter {

    private static final long NANOS_PER_SECOND = 1_000_000_000L;
    private final long addressRatePerSecond;
    private final long addressBurstRequests;
    private final int addressesMax;
    private final Set<InetAddress> trustedProxies;
    private final LongSupplier nanoClock;
    private final Bucket total;
    private final LinkedHashMap<String, Bucket> addresses;

    CallbackLimiter(long addressRatePerSecond, long addressBurstRequests, long totalRatePerSecond,
                    long totalBurstRequests, int addressesMax, Set<InetAddress> trustedProxies, LongSupplier nanoClock) {
        this.addressRatePerSecond = addressRatePerSecond;
        this.addressBurstRequests = addressBurstRequests;
        this.addressesMax = addressesMax;
        this.trustedProxies = Set.copyOf(trustedProxies);
        this.nanoClock = nanoClock;
        long now = nanoClock.getAsLong();
        this.total = new Bucket(totalRatePerSecond, totalBurstRequests, now);
        this.addresses = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Bucket> eldest) {
                return size() > CallbackLimiter.this.addressesMax;
            }
        };
    }

    static CallbackLimiter from(Settings.Callbacks settings) {
        return new CallbackLimiter(settings.addressRatePerSecond(), settings.addressBurstRequests(),
                settings.totalRatePerSecond(), settings.totalBurstRequests(), settings.addressesMax(),
                settings.trustedProxyAddresses(), System::nanoTime);
    }

    /**
     * Takes a token for one callback from {@code client}: 0 when admitted, else the whole
     * seconds after which a retry can be admitted (at least 1), for {@code Retry-After}.
     */
    synchronized long admit(String client) {
        long now = nanoClock.getAsLong();
        Bucket own = addresses.get(client);
        if (own == null) {
            own = new Bucket(addressRatePerSecond, addressBurstRequests, now);
            addresses.put(client, own);
        }
        own.refill(now);
        total.refill(now);
        long waitNanos = Math.max(own.waitNanos(), total.waitNanos());
        if (waitNanos == 0) {
            own.take();
            total.take();
            return 0;
        }
        return Math.max(1, (waitNanos + NANOS_PER_SECOND - 1) / NANOS_PER_SECOND);
    }

    /** How many addresses have a bucket now; never more than {@code callbackAddressesMax}. */
    synchronized int addressesTracked() {
        return addresses.size();
    }

    /** The address whose bucket a request takes from: see the class comment. */
    String clientAddress(String peer, List<String> forwardedFor) {
        InetAddress peerAddress = Settings.ipLiteral(peer);
        if (peerAddress == null || !trustedProxies.contains(peerAddress) || forwardedFor.isEmpty()) {
            return peerAddress == null ? peer : peerAddress.getHostAddress();
        }
        List<String> hops = forwardedFor.stream().flatMap(h -> List.of(h.split(",")).stream()).map(String::trim).toList();
        for (int i = hops.size() - 1; i >= 0; i--) {
            InetAddress hop = Settings.ipLiteral(hops.get(i));
            if (hop == null) {
                // A trusted proxy writes well-formed entries; garbage here came from the client: the proxy is the client we know.
                return peerAddress.getHostAddress();
            }
            if (!trustedProxies.contains(hop)) {
                return hop.getHostAddress();
            }
        }
        return peerAddress.getHostAddress();
    }

    /** Tokens in nano-tokens (one request = one billion), so a refill is exact integer arithmetic. */
    private static final class Bucket {
        private final long ratePerSecond;
        private final long capacityNanoTokens;
        private long nanoTokens;
        private long refilledAt;

        Bucket(long ratePerSecond, long burstRequests, long now) {
            this.ratePerSecond = ratePerSecond;
            this.capacityNanoTokens = burstRequests * NANOS_PER_SECOND;
            this.nanoTokens = capacityNanoTokens;
            this.refilledAt = now;
        }

        void refill(long now) {
            long elapsed = now - refilledAt;
            if (elapsed <= 0) {
                return;
            }
            // elapsed * rate overflows only after ~292 years / rate of silence: cap first.
            long fullAfterNanos = (capacityNanoTokens - nanoTokens) / ratePerSecond + 1;
            nanoTokens = elapsed >= fullAfterNanos ? capacityNanoTokens
                    : Math.min(capacityNanoTokens, nanoTokens + elapsed * ratePerSecond);
            refilledAt = now;
        }

        long waitNanos() {
            long missing = NANOS_PER_SECOND - nanoTokens;
            return missing <= 0 ? 0 : (missing + ratePerSecond - 1) / ratePerSecond;
        }

        void take() {
            nanoTokens -= NANOS_PER_SECOND;
        }
    }
}
