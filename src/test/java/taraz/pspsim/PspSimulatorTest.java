package taraz.pspsim;

import taraz.support.Wait;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import taraz.psp.SettlementCsv;

/** Drives the simulator over real HTTP, with a real merchant server receiving the callbacks. */
class PspSimulatorTest {
    static final String MERCHANT_ID = "00000000-0000-0000-0000-000000000000";
    static final long AMOUNT_RIALS = 50_000;
    static final long AWAIT_SECONDS = 20;
    /** Longer than the 1 s auto-reverse window the test sets, short enough to keep the suite quick. */
    static final long WINDOW_TIMEOUT_MILLIS = 10_000;
    /** Well under the simulator's 60 s hold, so a held request is seen as a client timeout. */
    static final long CLIENT_TIMEOUT_MILLIS = 300;
    static final long CALLBACK_TIMEOUT_MILLIS = 10_000;

    @TempDir
    Path dataDir;

    Vertx vertx;
    WebClient http;
    PspSimulator sim;
    HttpServer merchant;
    final ConcurrentLinkedQueue<Map<String, String>> callbacks = new ConcurrentLinkedQueue<>();

    @BeforeEach
    void start() throws Exception {
        vertx = Vertx.vertx();
        http = WebClient.create(vertx);
        merchant = await(vertx.createHttpServer().requestHandler(req -> {
            callbacks.add(Map.of("Authority", String.valueOf(req.getParam("Authority")),
                    "Status", String.valueOf(req.getParam("Status"))));
            req.response().end("ok");
        }).listen(0, "127.0.0.1"));
        sim = await(PspSimulator.start(vertx, 0, dataDir));
    }

    @AfterEach
    void stop() throws Exception {
        await(sim.close());
        await(vertx.close());
    }

    @Test
    void payVerifyInquireSettle() throws Exception {
        String authority = request(AMOUNT_RIALS);
        assertEquals(36, authority.length());
        assertTrue(authority.matches("A[0-9A-Za-z]{35}"));

        JsonObject paid = pay(authority, "OK", 200);
        assertEquals("PAID", paid.getString("status"));
        assertEquals(new JsonArray().add(new JsonObject().put("status", 200)), paid.getJsonArray("callbacks"));
        assertEquals(List.of(Map.of("Authority", authority, "Status", "OK")), List.copyOf(callbacks));

        JsonObject first = verify(authority, AMOUNT_RIALS).getJsonObject("data");
        assertEquals(100, first.getInteger("code"));
        long refId = first.getLong("ref_id");
        assertTrue(first.getString("card_pan").matches("502229\\*{6}\\d{4}"));
        JsonObject again = verify(authority, AMOUNT_RIALS).getJsonObject("data");
        assertEquals(101, again.getInteger("code"));
        assertEquals(refId, again.getLong("ref_id"));
        assertEquals(first.getString("card_pan"), again.getString("card_pan"));
        assertEquals("VERIFIED", inquiry(authority));

        JsonObject state = simPayment(authority);
        assertEquals(2, state.getLong("verifyCalls"));
        assertEquals(1, state.getLong("verifySuccesses"));
        assertEquals(1, state.getLong("verifyAlready"));

        String today = LocalDate.now(ZoneOffset.UTC).toString();
        HttpResponse<Buffer> csv = await(http.get(sim.port(), "127.0.0.1", "/sim/settlement?date=" + today).send());
        assertEquals(200, csv.statusCode());
        String[] lines = csv.bodyAsString().split("\n");
        assertEquals(SettlementCsv.HEADER_PAID_AT, lines[0]);
        assertEquals(2, lines.length);
        assertEquals(today + ",T-SIM-0001," + authority + "," + refId + "," + first.getString("card_pan")
                + "," + AMOUNT_RIALS + ",SETTLED," + java.time.Instant.parse(lines[1].substring(lines[1].lastIndexOf(',') + 1)), lines[1]);
        assertEquals(400, await(http.get(sim.port(), "127.0.0.1", "/sim/settlement?date=yesterday").send()).statusCode());

        JsonObject stats = getJson("/sim/stats", 200);
        assertEquals(1, stats.getLong("requestCalls"));
        assertEquals(2, stats.getLong("verifyCalls"));
        assertEquals(1, stats.getLong("payments"));
    }

    @Test
    void cancelledPaymentFailsAndCallsBackNok() throws Exception {
        String authority = request(AMOUNT_RIALS);
        assertEquals("FAILED", pay(authority, "NOK", 200).getString("status"));
        assertEquals(List.of(Map.of("Authority", authority, "Status", "NOK")), List.copyOf(callbacks));
        assertEquals("FAILED", inquiry(authority));
        assertEquals(-51, errorCode(verify(authority, AMOUNT_RIALS)));
        pay(authority, "OK", 409);
        pay("A" + "x".repeat(35), "OK", 404);
    }

    @Test
    void unpaidPaymentDoesNotVerify() throws Exception {
        String authority = request(AMOUNT_RIALS);
        assertEquals("IN_BANK", inquiry(authority));
        assertEquals(-51, errorCode(verify(authority, AMOUNT_RIALS)));
    }

    @Test
    void amountMismatchLeavesPaymentUnchanged() throws Exception {
        String authority = request(AMOUNT_RIALS);
        pay(authority, "OK", 200);
        assertEquals(-50, errorCode(verify(authority, AMOUNT_RIALS + 1)));
        assertEquals("PAID", inquiry(authority));
        assertEquals(100, verify(authority, AMOUNT_RIALS).getJsonObject("data").getInteger("code"));
    }

    @Test
    void invalidRequestsAndUnknownAuthorities() throws Exception {
        String unknown = "A" + "0".repeat(35);
        assertEquals(-54, errorCode(verify(unknown, AMOUNT_RIALS)));
        assertEquals(-54, errorCode(zarinpal("inquiry", new JsonObject().put("authority", unknown))));
        assertEquals(-54, errorCode(zarinpal("reverse", new JsonObject().put("authority", unknown))));
        assertEquals(-9, errorCode(zarinpal("request", requestBody(999))));
        assertEquals(-9, errorCode(zarinpal("request", requestBody(AMOUNT_RIALS).put("merchant_id", "short"))));
        assertEquals(-9, errorCode(zarinpal("request", requestBody(AMOUNT_RIALS).put("amount", 1500.5))));
        assertEquals(404, await(http.get(sim.port(), "127.0.0.1", "/sim/payments/" + unknown).send()).statusCode());
    }

    @Test
    void unVerifiedListsOnlyPaidUnverified() throws Exception {
        String verified = request(AMOUNT_RIALS);
        String waiting = request(AMOUNT_RIALS + 1000);
        String unpaid = request(AMOUNT_RIALS);
        pay(verified, "OK", 200);
        pay(waiting, "OK", 200);
        verify(verified, AMOUNT_RIALS);
        JsonArray list = zarinpal("unVerified", new JsonObject()).getJsonObject("data").getJsonArray("authorities");
        assertEquals(1, list.size());
        JsonObject entry = list.getJsonObject(0);
        assertEquals(waiting, entry.getString("authority"));
        assertEquals(AMOUNT_RIALS + 1000, entry.getLong("amount"));
        assertFalse(list.encode().contains(unpaid));
    }

    @Test
    void reverseWithinWindow() throws Exception {
        String authority = request(AMOUNT_RIALS);
        assertEquals(-63, errorCode(zarinpal("reverse", new JsonObject().put("authority", authority))));
        pay(authority, "OK", 200);
        JsonObject reversed = zarinpal("reverse", new JsonObject().put("authority", authority));
        assertEquals(100, reversed.getJsonObject("data").getInteger("code"));
        assertEquals("REVERSED", inquiry(authority));
        assertEquals(-63, errorCode(zarinpal("reverse", new JsonObject().put("authority", authority))));
        assertEquals(-51, errorCode(verify(authority, AMOUNT_RIALS)));
    }

    @Test
    void bankReversesUnverifiedPaymentAfterWindow() throws Exception {
        postFaults(new JsonObject().put("pspWindowSeconds", 1), 200);
        String authority = request(AMOUNT_RIALS);
        pay(authority, "OK", 200);
        Wait.until("the bank reverses " + authority + " after its window", WINDOW_TIMEOUT_MILLIS,
                () -> inquiry(authority), "REVERSED"::equals);
        assertEquals(-51, errorCode(verify(authority, AMOUNT_RIALS)));
        String today = LocalDate.now(ZoneOffset.UTC).toString();
        String csv = await(http.get(sim.port(), "127.0.0.1", "/sim/settlement?date=" + today).send()).bodyAsString();
        assertTrue(csv.contains("," + authority + ",,"), csv);
        assertTrue(csv.trim().contains(",REVERSED,"), csv);
    }

    @Test
    void errorRateAnswers503() throws Exception {
        String authority = request(AMOUNT_RIALS);
        pay(authority, "OK", 200);
        postFaults(new JsonObject().put("endpoints", new JsonObject().put("verify", new JsonObject().put("errorRate", 1))), 200);
        assertEquals(503, rawZarinpal("verify", verifyBody(authority, AMOUNT_RIALS)).statusCode());
        assertEquals("PAID", inquiry(authority));
        request(AMOUNT_RIALS);

        postFaults(new JsonObject().put("errorRate", 1.0), 200);
        HttpResponse<Buffer> response = rawZarinpal("inquiry", new JsonObject().put("authority", authority));
        assertEquals(503, response.statusCode());
        assertTrue(response.getHeader("content-type").startsWith("text/html"));
        assertEquals(1.0, getJson("/sim/faults", 200).getDouble("errorRate"));
    }

    @Test
    void lostCallbackIsNeverSent() throws Exception {
        postFaults(new JsonObject().put("lostCallbackRate", 1.0), 200);
        String authority = request(AMOUNT_RIALS);
        JsonObject paid = pay(authority, "OK", 200);
        assertEquals(new JsonArray(), paid.getJsonArray("callbacks"));
        assertTrue(callbacks.isEmpty());
        assertEquals("PAID", inquiry(authority));
    }

    @Test
    void duplicateCallbacksAreAllSent() throws Exception {
        postFaults(new JsonObject().put("duplicateCallbacks", 3), 200);
        String authority = request(AMOUNT_RIALS);
        assertEquals(3, pay(authority, "OK", 200).getJsonArray("callbacks").size());
        assertEquals(3, callbacks.size());
        callbacks.forEach(c -> assertEquals(Map.of("Authority", authority, "Status", "OK"), c));
    }

    @Test
    void timeoutRateHoldsOnlyThatEndpoint() throws Exception {
        String authority = request(AMOUNT_RIALS);
        postFaults(new JsonObject().put("endpoints", new JsonObject().put("inquiry", new JsonObject().put("timeoutRate", 1))), 200);
        Future<HttpResponse<Buffer>> held = http.post(sim.port(), "127.0.0.1", "/pg/v4/payment/inquiry.json")
                .timeout(CLIENT_TIMEOUT_MILLIS)
                .sendJsonObject(new JsonObject().put("merchant_id", MERCHANT_ID).put("authority", authority));
        Exception failure = assertThrows(Exception.class, () -> await(held));
        assertTrue(String.valueOf(failure.getCause()).contains("imeout"), String.valueOf(failure.getCause()));
        assertEquals(-51, errorCode(verify(authority, AMOUNT_RIALS)));
    }

    @Test
    void delayedCallbackIsScheduled() throws Exception {
        postFaults(new JsonObject().put("callbackDelayMillis", 50), 200);
        String authority = request(AMOUNT_RIALS);
        assertEquals("scheduled", pay(authority, "OK", 200).getString("callbacks"));
        Wait.until("the delayed callback arrives", CALLBACK_TIMEOUT_MILLIS, () -> !callbacks.isEmpty());
        assertEquals(List.of(Map.of("Authority", authority, "Status", "OK")), List.copyOf(callbacks));
    }

    @Test
    void stateSurvivesRestart() throws Exception {
        String authority = request(AMOUNT_RIALS);
        pay(authority, "OK", 200);
        long refId = verify(authority, AMOUNT_RIALS).getJsonObject("data").getLong("ref_id");
        String waiting = request(AMOUNT_RIALS);
        pay(waiting, "OK", 200);
        JsonObject faults = new JsonObject().put("latencyMillis", 1).put("duplicateCallbacks", 2)
                .putNull("pspWindowSeconds")
                .put("endpoints", new JsonObject().put("reverse", new JsonObject().put("timeoutRate", 0.5)));
        postFaults(faults, 200);
        JsonObject before = simPayment(authority);
        JsonObject faultsBefore = getJson("/sim/faults", 200);

        await(sim.close());
        sim = await(PspSimulator.start(vertx, 0, dataDir));

        assertEquals(before, simPayment(authority));
        assertEquals(faultsBefore, getJson("/sim/faults", 200));
        assertTrue(getJson("/sim/faults", 200).containsKey("pspWindowSeconds"));
        assertEquals(null, getJson("/sim/faults", 200).getValue("pspWindowSeconds"));
        JsonObject stats = getJson("/sim/stats", 200);
        assertEquals(2, stats.getLong("requestCalls"));
        assertEquals(1, stats.getLong("verifyCalls"));
        assertEquals(2, stats.getLong("payments"));
        assertEquals(101, verify(authority, AMOUNT_RIALS).getJsonObject("data").getInteger("code"));
        JsonObject next = verify(waiting, AMOUNT_RIALS).getJsonObject("data");
        assertTrue(next.getLong("ref_id") > refId, "ref_id keeps increasing across restarts");
    }

    @Test
    void replayRefusesALineOverItsBoundAndSkipsATornLastLine() throws Exception {
        String authority = request(AMOUNT_RIALS);
        JsonObject before = simPayment(authority);
        await(sim.close());
        Path file = dataDir.resolve(SimStore.FILE_NAME);
        String intact = Files.readString(file);

        Files.writeString(file, intact + "\n" + "x".repeat(SimStore.LINE_CHARS_MAX + 1));
        ExecutionException refused = assertThrows(ExecutionException.class,
                () -> await(PspSimulator.start(vertx, 0, dataDir)));
        assertTrue(refused.getCause().getMessage().endsWith(
                "line 3 is longer than " + SimStore.LINE_CHARS_MAX + " characters: not a line this simulator writes"),
                refused.getCause().getMessage());

        Files.writeString(file, intact + "\n{\"type\":\"payment\",\"paym");
        sim = await(PspSimulator.start(vertx, 0, dataDir));
        assertEquals(before, simPayment(authority));
    }

    @Test
    void badFaultsAreRejected() throws Exception {
        postFaults(new JsonObject().put("errorRate", 1.5), 400);
        postFaults(new JsonObject().put("duplicateCallbacks", 0), 400);
        postFaults(new JsonObject().put("duplicateCallbacks", 11), 400);
        postFaults(new JsonObject().put("latencyMillis", -1), 400);
        postFaults(new JsonObject().put("errorRat", 0.1), 400);
        postFaults(new JsonObject().put("endpoints", new JsonObject().put("pay", new JsonObject())), 400);
        HttpResponse<Buffer> notJson = await(http.post(sim.port(), "127.0.0.1", "/sim/faults")
                .sendBuffer(Buffer.buffer("{not json")));
        assertEquals(400, notJson.statusCode());
        assertEquals(SimFaults.DEFAULTS.toJson(), getJson("/sim/faults", 200));
    }

    // ---- helpers ----

    private String request(long amountRials) throws Exception {
        JsonObject data = zarinpal("request", requestBody(amountRials)).getJsonObject("data");
        assertEquals(100, data.getInteger("code"));
        return data.getString("authority");
    }

    private JsonObject requestBody(long amountRials) {
        return new JsonObject().put("amount", amountRials).put("description", "top-up")
                .put("callback_url", "http://127.0.0.1:" + merchant.actualPort() + "/callback?topup=7");
    }

    private JsonObject verify(String authority, long amountRials) throws Exception {
        return zarinpal("verify", verifyBody(authority, amountRials));
    }

    private static JsonObject verifyBody(String authority, long amountRials) {
        return new JsonObject().put("authority", authority).put("amount", amountRials);
    }

    private String inquiry(String authority) throws Exception {
        return zarinpal("inquiry", new JsonObject().put("authority", authority)).getJsonObject("data").getString("status");
    }

    private JsonObject zarinpal(String endpoint, JsonObject body) throws Exception {
        HttpResponse<Buffer> response = rawZarinpal(endpoint, body);
        assertEquals(200, response.statusCode());
        return response.bodyAsJsonObject();
    }

    private HttpResponse<Buffer> rawZarinpal(String endpoint, JsonObject body) throws Exception {
        JsonObject withMerchant = body.containsKey("merchant_id") ? body : body.copy().put("merchant_id", MERCHANT_ID);
        return await(http.post(sim.port(), "127.0.0.1", "/pg/v4/payment/" + endpoint + ".json")
                .sendJsonObject(withMerchant));
    }

    private static int errorCode(JsonObject body) {
        assertEquals(new JsonArray(), body.getJsonArray("data"));
        return body.getJsonObject("errors").getInteger("code");
    }

    private JsonObject pay(String authority, String status, int httpStatus) throws Exception {
        HttpResponse<Buffer> response = await(http.post(sim.port(), "127.0.0.1", "/sim/pay/" + authority + "?status=" + status).send());
        assertEquals(httpStatus, response.statusCode(), response.bodyAsString());
        return response.bodyAsJsonObject();
    }

    private JsonObject simPayment(String authority) throws Exception {
        return getJson("/sim/payments/" + authority, 200);
    }

    private JsonObject getJson(String path, int httpStatus) throws Exception {
        HttpResponse<Buffer> response = await(http.get(sim.port(), "127.0.0.1", path).send());
        assertEquals(httpStatus, response.statusCode(), response.bodyAsString());
        return response.bodyAsJsonObject();
    }

    private void postFaults(JsonObject faults, int httpStatus) throws Exception {
        HttpResponse<Buffer> response = await(http.post(sim.port(), "127.0.0.1", "/sim/faults").sendJsonObject(faults));
        assertEquals(httpStatus, response.statusCode(), response.bodyAsString());
    }

    private static <T> T await(Future<T> future) throws Exception {
        return future.toCompletionStage().toCompletableFuture().get(AWAIT_SECONDS, TimeUnit.SECONDS);
    }
}
