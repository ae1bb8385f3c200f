package taraz.support;

import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/** A small blocking client of the taraz HTTP API for tests (real HTTP on loopback). */
public final class ApiClient {

    private static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    private static final HttpClient HTTP_1_1 = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    private final String baseUrl;
    private final HttpClient client;
    /** The credential sent when a request names none itself; null sends none. */
    private final String authorization;
    private final String adminToken;

    /** A client of a test gateway: it sends the tests' API key and knows their admin token. */
    public ApiClient(String baseUrl) {
        this(baseUrl, TestGateway.API_KEY, TestGateway.ADMIN_TOKEN);
    }

    /** A client of any gateway (the bench's), with that gateway's API key and admin token. */
    public ApiClient(String baseUrl, String apiKey, String adminToken) {
        this(baseUrl, CLIENT, "Bearer " + apiKey, adminToken);
    }

    private ApiClient(String baseUrl, HttpClient client, String authorization, String adminToken) {
        this.baseUrl = baseUrl;
        this.client = client;
        this.authorization = authorization;
        this.adminToken = adminToken;
    }

    /** The same client sending another credential by default (null: none), for the tests of who may call. */
    public ApiClient withAuthorization(String authorization) {
        return new ApiClient(baseUrl, client, authorization, adminToken);
    }

    /**
     * The same client on HTTP/1.1 only (no h2c upgrade), as behind a load balancer: the JDK's
     * HTTP/2 client fails every open stream when the server sends GOAWAY on a graceful stop.
     */
    public static ApiClient http11(String baseUrl) {
        return new ApiClient(baseUrl, HTTP_1_1, "Bearer " + TestGateway.API_KEY, TestGateway.ADMIN_TOKEN);
    }

    /** A response: status, headers and the body as JSON (null when not JSON). */
    public record Response(int status, Map<String, java.util.List<String>> headers, String text) {
        public JsonObject json() {
            return text == null || text.isEmpty() || !text.startsWith("{") ? null : new JsonObject(text);
        }

        public String errorCode() {
            JsonObject json = json();
            return json == null || json.getJsonObject("error") == null ? null : json.getJsonObject("error").getString("code");
        }

        public String header(String name) {
            return headers.entrySet().stream().filter(e -> e.getKey().equalsIgnoreCase(name))
                    .flatMap(e -> e.getValue().stream()).findFirst().orElse(null);
        }
    }

    public static String newKey() {
        return "key-" + UUID.randomUUID();
    }

    public static String newId(String prefix) {
        return prefix + "-" + UUID.randomUUID().toString().substring(0, 18);
    }

    public Response get(String path) {
        return send(HttpRequest.newBuilder(URI.create(baseUrl + path)).GET());
    }

    /** A GET with extra headers (e.g. {@code Accept}). */
    public Response get(String path, Map<String, String> headers) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(baseUrl + path)).GET();
        headers.forEach(request::header);
        return send(request);
    }

    public Response getAdmin(String path) {
        return send(HttpRequest.newBuilder(URI.create(baseUrl + path)).GET()
                .header("Authorization", "Bearer " + adminToken));
    }

    public Response post(String path, String key, String body) {
        return post(path, key, body, Map.of("Content-Type", "application/json"));
    }

    public Response post(String path, String key, String body, Map<String, String> headers) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(baseUrl + path))
                .POST(body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        headers.forEach(request::header);
        if (key != null) {
            request.header("Idempotency-Key", key);
        }
        return send(request);
    }

    /** A keyed POST with the admin token (an admin route). */
    public Response postAdmin(String path, String key, JsonObject body) {
        return post(path, key, body.encode(), Map.of("Content-Type", "application/json", "Authorization", "Bearer " + adminToken));
    }

    public Response post(String path, String key, JsonObject body) {
        return post(path, key, body.encode());
    }

    /**
     * A keyed POST sent again while its key is claimed by a request still running (409
     * request_in_progress: a stopped or crashed node's claim, until its lease ends), the
     * Retry-After apart, as a client would; the first other answer, within {@code timeoutMillis}.
     */
    public Response postPastClaim(String path, String key, JsonObject body, long timeoutMillis) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMillis;
        while (true) {
            Response r = post(path, key, body);
            if (r.status() != 409 || !"request_in_progress".equals(r.errorCode())) {
                return r;
            }
            if (System.currentTimeMillis() >= deadline) {
                throw new AssertionError("key " + key + " still in progress after " + timeoutMillis + " ms: " + r.text());
            }
            String retryAfter = r.header("Retry-After");
            Thread.sleep(Math.max(100, retryAfter == null ? 1000 : Long.parseLong(retryAfter) * 1000));
        }
    }

    /**
     * Any request as given (method, headers, raw body): for the tests of what the API refuses.
     * The client's credential is added unless the headers name one.
     */
    public Response send(String method, String path, Map<String, String> headers, String body) {
        try {
            return exchange(request(method, path, headers, body), TIMEOUT);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * A request to a node that may not answer (booting, stopping, killed): its response, or
     * empty when the connection fails or nothing answers within {@code timeout}.
     */
    public Optional<Response> trySend(String method, String path, Map<String, String> headers, String body, Duration timeout) {
        try {
            return Optional.of(exchange(request(method, path, headers, body), timeout));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** {@link #trySend} of a GET. */
    public Optional<Response> tryGet(String path, Duration timeout) {
        return trySend("GET", path, Map.of(), null, timeout);
    }

    private HttpRequest.Builder request(String method, String path, Map<String, String> headers, String body) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(baseUrl + path))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        headers.forEach(request::header);
        return request;
    }

    private Response send(HttpRequest.Builder request) {
        try {
            return exchange(request, TIMEOUT);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private Response exchange(HttpRequest.Builder request, Duration timeout) throws IOException {
        if (authorization != null && request.copy().build().headers().firstValue("Authorization").isEmpty()) {
            request.header("Authorization", authorization);
        }
        try {
            HttpResponse<String> response = client.send(request.timeout(timeout).build(), HttpResponse.BodyHandlers.ofString());
            return new Response(response.statusCode(), response.headers().map(), response.body());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    // ---- the operations tests use most ------------------------------------------------------

    public String openWallet(String kind) {
        Response r = post("/v1/wallets", newKey(), new JsonObject().put("ownerId", newId("owner")).put("kind", kind));
        if (r.status() != 201) {
            throw new AssertionError("open wallet: " + r.status() + " " + r.text());
        }
        return r.json().getString("walletId");
    }

    /** Credits a wallet through the admin adjustment (the support tool), for test funding. */
    public void fund(String walletId, long amountRials) {
        Response r = post("/v1/admin/adjustments", newKey(), new JsonObject().put("walletId", walletId)
                .put("amount", amountRials).put("reason", "test funding").put("ticket", "T-1").encode(),
                Map.of("Content-Type", "application/json", "Authorization", "Bearer " + adminToken));
        if (r.status() != 201) {
            throw new AssertionError("fund: " + r.status() + " " + r.text());
        }
    }

    public JsonObject wallet(String walletId) {
        Response r = get("/v1/wallets/" + walletId);
        if (r.status() != 200) {
            throw new AssertionError("wallet: " + r.status() + " " + r.text());
        }
        return r.json();
    }

    public long balance(String walletId) {
        return wallet(walletId).getLong("balance");
    }

    public long available(String walletId) {
        return wallet(walletId).getLong("available");
    }
}
