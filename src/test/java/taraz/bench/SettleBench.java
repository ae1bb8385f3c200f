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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Load from a second process: N trip settlements (each its own trip and Idempotency-Key, no
 * prior hold) with C in flight, against a running gateway. Prints throughput and latency.
 * Not a test: {@code bench/settle.sh} runs it. Arguments: baseUrl apiKey adminToken N C passengers.
 */
public final class SettleBench {

    public static void main(String[] args) throws Exception {
        String baseUrl = args[0];
        String apiKey = args[1];
        String adminToken = args[2];
        int total = Integer.parseInt(args[3]);
        int concurrency = Integer.parseInt(args[4]);
        int passengers = Integer.parseInt(args[5]);
        Api api = new Api(baseUrl, apiKey, adminToken);
        List<String> passengerWallets = new ArrayList<>();
        for (int i = 0; i < passengers; i++) {
            String wallet = api.openWallet("passenger");
            Api.Response funded = api.post("/v1/admin/adjustments", Api.newKey(), new JsonObject().put("walletId", wallet)
                    .put("amount", 100_000_000_000L).put("reason", "bench funding").put("ticket", "BENCH").encode(),
                    java.util.Map.of("Content-Type", "application/json", "Authorization", "Bearer " + adminToken));
            if (funded.status() != 201) {
                throw new IllegalStateException("funding failed: " + funded.text());
            }
            passengerWallets.add(wallet);
        }
        String driver = api.openWallet("driver");
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        Histogram latencyMicros = new Histogram(60_000_000L, 3);
        Semaphore window = new Semaphore(concurrency);
        AtomicInteger failures = new AtomicInteger();
        List<CompletableFuture<?>> all = new ArrayList<>(total);
        long started = System.nanoTime();
        for (int i = 0; i < total; i++) {
            window.acquire();
            String body = new JsonObject().put("passengerWalletId", passengerWallets.get(i % passengers))
                    .put("driverWalletId", driver).put("fare", 150_000).put("commission", 30_000).encode();
            HttpRequest request = HttpRequest.newBuilder(URI.create(baseUrl + "/v1/trips/" + Api.newId("bench") + "/settle"))
                    .header("Content-Type", "application/json").header("Idempotency-Key", Api.newKey())
                    .header("Authorization", "Bearer " + apiKey)
                    .timeout(Duration.ofSeconds(30)).POST(HttpRequest.BodyPublishers.ofString(body)).build();
            long sent = System.nanoTime();
            all.add(client.sendAsync(request, HttpResponse.BodyHandlers.discarding()).whenComplete((response, err) -> {
                synchronized (latencyMicros) {
                    latencyMicros.recordValue((System.nanoTime() - sent) / 1000);
                }
                if (err != null || response.statusCode() != 200) {
                    failures.incrementAndGet();
                }
                window.release();
            }));
        }
        CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).join();
        double seconds = (System.nanoTime() - started) / 1e9;
        System.out.printf("settles=%d concurrency=%d passengers=%d failures=%d seconds=%.2f settles/s=%.0f "
                        + "latency_ms p50=%.2f p99=%.2f max=%.2f%n", total, concurrency, passengers, failures.get(), seconds,
                total / seconds, latencyMicros.getValueAtPercentile(50) / 1000.0,
                latencyMicros.getValueAtPercentile(99) / 1000.0, latencyMicros.getMaxValue() / 1000.0);
    }
}
