package taraz.bench;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpRequest;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;

import java.net.URI;
import java.util.UUID;

/**
 * The harness's HTTP client of one gateway: HTTP/1.1 (all the gateway serves), a bounded pool
 * and wait queue, a bounded time per request, the API key on every request and a fresh
 * Idempotency-Key on each (a retried operation would reuse its key; the harness never retries).
 */
final class BenchClient implements AutoCloseable {

    static final long REQUEST_TIMEOUT_MILLIS = 30_000;
    static final int CONNECT_TIMEOUT_MILLIS = 5_000;
    /** Requests waiting for a pooled connection; past it a request fails at once instead of queueing without limit. */
    static final int WAIT_QUEUE_MAX = 100_000;

    /** An answer: its status and its body when the body is a JSON object (else null). */
    record Reply(int status, JsonObject body) {
        boolean ok() {
            return status / 100 == 2;
        }
    }

    private final WebClient client;
    private final String baseUrl;
    private final String authorization;
    private final String adminAuthorization;

    BenchClient(Vertx vertx, String baseUrl, String apiKey, String adminToken, int connections) {
        URI uri = URI.create(baseUrl);
        WebClientOptions options = new WebClientOptions().setProtocolVersion(HttpVersion.HTTP_1_1).setKeepAlive(true)
                .setConnectTimeout(CONNECT_TIMEOUT_MILLIS).setDefaultHost(uri.getHost())
                .setDefaultPort(uri.getPort() > 0 ? uri.getPort() : 80).setUserAgent("taraz-bench")
                .setFollowRedirects(false);
        this.client = WebClient.create(vertx, options,
                new PoolOptions().setHttp1MaxSize(connections).setMaxWaitQueueSize(WAIT_QUEUE_MAX));
        this.baseUrl = baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl;
        this.authorization = "Bearer " + apiKey;
        this.adminAuthorization = adminToken == null ? null : "Bearer " + adminToken;
    }

    Future<Reply> get(String path) {
        return send(client.getAbs(baseUrl + path), authorization, null);
    }

    Future<Reply> post(String path, JsonObject body) {
        return send(client.postAbs(baseUrl + path), authorization, body);
    }

    Future<Reply> postAdmin(String path, JsonObject body) {
        if (adminAuthorization == null) {
            return Future.failedFuture(new IllegalStateException("no admin token (--admin-token or TARAZ_ADMIN_TOKEN)"));
        }
        return send(client.postAbs(baseUrl + path), adminAuthorization, body);
    }

    /** A POST to another service (the PSP simulator): it gets neither the API key nor an idempotency key. */
    Future<Reply> postElsewhere(String absoluteUrl) {
        return send(client.postAbs(absoluteUrl), null, null);
    }

    private Future<Reply> send(HttpRequest<Buffer> request, String credential, JsonObject body) {
        request.timeout(REQUEST_TIMEOUT_MILLIS);
        if (credential != null) {
            request.putHeader("Authorization", credential).putHeader("Idempotency-Key", "bench-" + UUID.randomUUID());
        }
        Future<HttpResponse<Buffer>> sent = body == null ? request.send() : request.sendJsonObject(body);
        return sent.map(BenchClient::reply);
    }

    private static Reply reply(HttpResponse<Buffer> response) {
        Buffer buffer = response.body();
        JsonObject json = null;
        if (buffer != null && buffer.length() > 0 && buffer.getByte(0) == '{') {
            json = buffer.toJsonObject();
        }
        return new Reply(response.statusCode(), json);
    }

    @Override
    public void close() {
        client.close();
    }
}
