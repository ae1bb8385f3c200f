package taraz.support;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import taraz.pspsim.PspSimulator;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** A PSP simulator on loopback in the test JVM, and a client of its /sim endpoints. */
public final class TestPsp {


    private final Vertx vertx;
    private final PspSimulator simulator;

    private TestPsp(Vertx vertx, PspSimulator simulator) {
        this.vertx = vertx;
        this.simulator = simulator;
    }

    public static TestPsp start(Path dataDir) {
        try {
            Files.createDirectories(dataDir);
            Vertx vertx = Vertx.vertx();
            PspSimulator simulator = PspSimulator.start(vertx, 0, dataDir).toCompletionStage().toCompletableFuture()
                    .get(60, TimeUnit.SECONDS);
            return new TestPsp(vertx, simulator);
        } catch (Exception e) {
            throw new IllegalStateException("PSP simulator failed to start", e);
        }
    }

    public String baseUrl() {
        return "http://127.0.0.1:" + simulator.port();
    }

    public void stop() {
        try {
            simulator.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
            vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** The cardholder pays (OK) or cancels (NOK); returns the simulator's answer (after the callbacks). */
    public JsonObject pay(String authority, String status) {
        return send("POST", "/sim/pay/" + authority + "?status=" + status, null);
    }

    /** The cardholder pays with the card ending in {@code lastFour}: the same card can pay twice. */
    public JsonObject pay(String authority, String status, String lastFour) {
        return send("POST", "/sim/pay/" + authority + "?status=" + status + "&card=" + lastFour, null);
    }

    /** A Zarinpal v4 call as a merchant makes it ({@code request}, {@code verify}, ...); returns the whole answer. */
    public JsonObject zarinpal(String endpoint, JsonObject body) {
        return send("POST", "/pg/v4/payment/" + endpoint + ".json", body.encode());
    }

    public JsonObject payment(String authority) {
        return send("GET", "/sim/payments/" + authority, null);
    }

    public JsonObject stats() {
        return send("GET", "/sim/stats", null);
    }

    public void faults(JsonObject faults) {
        send("POST", "/sim/faults", faults.encode());
    }

    /** The simulator's fault settings as it starts (SimFaults.DEFAULTS): healthy, the bank's 30-minute window. */
    public static JsonObject defaultFaults() {
        return new JsonObject().put("latencyMillis", 0).put("errorRate", 0.0).put("timeoutRate", 0.0).put("lostAnswerRate", 0.0)
                .put("endpoints", new JsonObject()).put("lostCallbackRate", 0.0).put("duplicateCallbacks", 1)
                .put("callbackDelayMillis", 0).put("pspWindowSeconds", 1800)
                .put("payoutCompletionDelayMillis", 0).put("payoutRejections", new JsonObject());
    }

    /** Restores {@link #defaultFaults()}. */
    public void resetFaults() {
        faults(defaultFaults());
    }

    public String settlement(String date) {
        return raw("GET", "/sim/settlement?date=" + date, null).text();
    }

    /** The payout transfer with its {@code sends}, or null when the simulator has none under this reference. */
    public JsonObject payout(String referenceId) {
        ApiClient.Response response = raw("GET", "/sim/payouts/" + referenceId, null);
        if (response.status() == 404) {
            return null;
        }
        if (response.status() != 200) {
            throw new AssertionError("GET /sim/payouts/" + referenceId + ": " + response.status() + " " + response.text());
        }
        return new JsonObject(response.text());
    }

    public String payoutReport(String date) {
        return raw("GET", "/payout/v1/report?date=" + date, null).text();
    }

    /** Any call, its status unchecked: for a test of the simulator's own answers. */
    public ApiClient.Response call(String method, String path, String body) {
        return raw(method, path, body);
    }

    private JsonObject send(String method, String path, String body) {
        ApiClient.Response response = raw(method, path, body);
        if (response.status() / 100 != 2) {
            throw new AssertionError(method + " " + path + ": " + response.status() + " " + response.text());
        }
        return new JsonObject(response.text());
    }

    private ApiClient.Response raw(String method, String path, String body) {
        return new ApiClient(baseUrl()).withAuthorization(null)
                .send(method, path, body == null ? Map.of() : Map.of("Content-Type", "application/json"), body);
    }
}
