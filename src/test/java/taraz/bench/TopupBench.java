package taraz.bench;

import io.vertx.core.json.JsonObject;
import org.HdrHistogram.Histogram;
import taraz.support.Api;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Top-ups end to end through the PSP simulator, from a second process: POST /v1/topups, the
 * simulated cardholder pays (the simulator calls our callback, which verifies and credits),
 * with C at a time. Then the sweeper's latency for lost callbacks: the simulator drops every
 * callback, and the time from payment to CREDITED is measured. Not a test: bench/topup.sh runs it.
 * Arguments: gatewayUrl apiKey simUrl N C lostCallbacks.
 */
public final class TopupBench {

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static final long POLL_MILLIS = 20;
    private static final long LOST_CALLBACK_WAIT_MILLIS_MAX = 120_000;

    public static void main(String[] args) throws Exception {
        String gateway = args[0];
        String apiKey = args[1];
        String sim = args[2];
        int total = Integer.parseInt(args[3]);
        int concurrency = Integer.parseInt(args[4]);
        int lost = Integer.parseInt(args[5]);
        // The top-up bench needs no admin token: it funds nothing.
        Api api = new Api(gateway, apiKey, null);
        List<String> wallets = new ArrayList<>();
        for (int i = 0; i < concurrency; i++) {
            wallets.add(api.openWallet("passenger"));
        }
        Histogram latencyMicros = new Histogram(600_000_000L, 3);
        AtomicInteger failures = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(concurrency);
        List<Future<?>> done = new ArrayList<>();
        long started = System.nanoTime();
        for (int i = 0; i < total; i++) {
            String wallet = wallets.get(i % concurrency);
            done.add(pool.submit(() -> {
                long t0 = System.nanoTime();
                try {
                    String authority = create(api, wallet).getString("authority");
                    post(sim + "/sim/pay/" + authority + "?status=OK", null);
                    synchronized (latencyMicros) {
                        latencyMicros.recordValue((System.nanoTime() - t0) / 1000);
                    }
                } catch (RuntimeException e) {
                    failures.incrementAndGet();
                }
            }));
        }
        for (Future<?> f : done) {
            f.get();
        }
        pool.shutdown();
        double seconds = (System.nanoTime() - started) / 1e9;
        System.out.printf("topups=%d concurrency=%d failures=%d seconds=%.2f topups/s=%.1f latency_ms p50=%.1f p99=%.1f max=%.1f%n",
                total, concurrency, failures.get(), seconds, total / seconds, latencyMicros.getValueAtPercentile(50) / 1000.0,
                latencyMicros.getValueAtPercentile(99) / 1000.0, latencyMicros.getMaxValue() / 1000.0);

        post(sim + "/sim/faults", new JsonObject().put("lostCallbackRate", 1.0).encode());
        Histogram sweepMillis = new Histogram(LOST_CALLBACK_WAIT_MILLIS_MAX, 3);
        for (int i = 0; i < lost; i++) {
            JsonObject topup = create(api, wallets.get(0));
            post(sim + "/sim/pay/" + topup.getString("authority") + "?status=OK", null);
            long paid = System.nanoTime();
            while (true) {
                Api.Response r = api.get("/v1/topups/" + topup.getString("topupId"));
                if ("CREDITED".equals(r.json().getString("state"))) {
                    sweepMillis.recordValue((System.nanoTime() - paid) / 1_000_000);
                    break;
                }
                if ((System.nanoTime() - paid) / 1_000_000 > LOST_CALLBACK_WAIT_MILLIS_MAX) {
                    throw new IllegalStateException("lost callback never credited: " + r.text());
                }
                Thread.sleep(POLL_MILLIS);
            }
        }
        post(sim + "/sim/faults", "{}");
        System.out.printf("lost callbacks=%d paid->credited by the sweeper ms p50=%d max=%d%n", lost,
                sweepMillis.getValueAtPercentile(50), sweepMillis.getMaxValue());
    }

    private static JsonObject create(Api api, String wallet) {
        Api.Response r = api.post("/v1/topups", Api.newKey(), new JsonObject().put("walletId", wallet).put("amount", 500_000));
        if (r.status() != 201) {
            throw new IllegalStateException("top-up: " + r.status() + " " + r.text());
        }
        return r.json();
    }

    private static void post(String url, String json) {
        try {
            HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(60))
                    .POST(json == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(json));
            if (json != null) {
                request.header("Content-Type", "application/json");
            }
            HttpResponse<String> response = HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() / 100 != 2) {
                throw new IllegalStateException(url + ": " + response.statusCode() + " " + response.body());
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
