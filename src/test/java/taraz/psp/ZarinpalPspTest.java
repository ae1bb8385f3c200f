package taraz.psp;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import taraz.psp.Psp.Verification;
import taraz.psp.Psp.Verification.Outcome;
import taraz.support.TestGateway;
import taraz.support.TestPsp;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Zarinpal v4 adapter against the PSP simulator, over real HTTP on loopback. */
class ZarinpalPspTest {

    private static final String MERCHANT_ID = "00000000-0000-4000-8000-000000000000";
    private static final String ACCESS_TOKEN = "psp-sim-access-token";
    private static final long TIMEOUT_MILLIS = 2_000;
    private static final int RETRIES = 1;
    private static final long AMOUNT_RIALS = 120_000;
    private static final long AWAIT_SECONDS = 30;
    private static final long TRICKLE_MILLIS = 100;
    /** 6 s of trickle: past an attempt's 4 s bound, inside AWAIT_SECONDS, so only a bounded attempt fails. */
    private static final int TRICKLE_WRITES = 60;

    @TempDir
    static Path dataDir;

    private static Vertx vertx;
    private static TestPsp sim;
    private static SimpleMeterRegistry registry;
    private static ZarinpalPsp psp;
    /** Where the simulator sends its callbacks: nothing listens, the adapter is tested alone. */
    private static String callbackUrl;

    @BeforeAll
    static void start() {
        sim = TestPsp.start(dataDir.resolve("psp-sim"));
        vertx = Vertx.vertx();
        registry = new SimpleMeterRegistry();
        psp = new ZarinpalPsp(vertx, sim.baseUrl(), MERCHANT_ID, ACCESS_TOKEN, TIMEOUT_MILLIS, RETRIES, registry);
        callbackUrl = "http://127.0.0.1:" + TestGateway.freePort() + "/v1/psp/zarinpal/callback";
    }

    @AfterAll
    static void stop() throws Exception {
        if (vertx != null) {
            vertx.close().toCompletionStage().toCompletableFuture().get(AWAIT_SECONDS, TimeUnit.SECONDS);
        }
        if (sim != null) {
            sim.stop();
        }
    }

    @Test
    void requestReturnsAnAuthorityAndItsPaymentUrl() throws Exception {
        long before = sim.stats().getLong("requestCalls");
        String authority = await(psp.request(AMOUNT_RIALS, callbackUrl, "test"));
        assertNotNull(authority);
        assertTrue(authority.matches("A[0-9A-Za-z]{35}"), authority);
        assertEquals(sim.baseUrl() + "/pg/StartPay/" + authority, psp.paymentUrl(authority));
        assertEquals("zarinpal", psp.name());
        assertEquals(before + 1, sim.stats().getLong("requestCalls"));
        JsonObject atBank = sim.payment(authority);
        assertEquals(AMOUNT_RIALS, atBank.getLong("amount"));
        assertEquals(callbackUrl, atBank.getString("callbackUrl"));
        assertEquals("IN_BANK", atBank.getString("status"));
    }

    @Test
    void refundsOfAVerifiedPaymentAreMadeFoundAndBounded() throws Exception {
        String authority = await(psp.request(AMOUNT_RIALS, callbackUrl, "refund"));
        sim.pay(authority, "OK");
        Psp.RefundAnswer unverified = await(psp.refund(authority, 50_000, "taraz refund rf_early"));
        assertEquals("REFUND_NOT_ALLOWED", unverified.refusal(), unverified.toString());
        await(psp.verify(authority, AMOUNT_RIALS));

        Psp.RefundAnswer made = await(psp.refund(authority, 50_000, "taraz refund rf_1"));
        assertNull(made.refusal(), made.toString());
        assertEquals(authority + "-1", made.refund().id());
        assertEquals(50_000, made.refund().amountRials());
        assertEquals("COMPLETED", made.refund().status());
        assertEquals("AMOUNT_TOO_LOW", await(psp.refund(authority, 19_999, "taraz refund rf_2")).refusal());
        assertEquals("AMOUNT_EXCEEDS_PAYMENT", await(psp.refund(authority, AMOUNT_RIALS - 50_000 + 1, "taraz refund rf_3")).refusal());

        List<Psp.BankRefund> atBank = await(psp.refunds(authority));
        assertEquals(List.of(new Psp.BankRefund(authority + "-1", 50_000, "taraz refund rf_1", "COMPLETED")), atBank);
        assertEquals(-63, sim.zarinpal("reverse", new JsonObject().put("merchant_id", MERCHANT_ID).put("authority", authority))
                .getJsonObject("errors").getInteger("code"), "a refunded payment is not reversed");
        assertEquals(1, registry.timer("taraz.psp.request", "op", "refund", "outcome", "ok").count());
    }

    @Test
    void theRefundApiNeedsTheAccessTokenAndAnUnknownSessionIsNoAnswer() throws Exception {
        ZarinpalPsp anonymous = new ZarinpalPsp(vertx, sim.baseUrl(), MERCHANT_ID, " ", TIMEOUT_MILLIS, RETRIES,
                new SimpleMeterRegistry());
        assertEquals("UNAUTHENTICATED", await(anonymous.refund("A" + "5".repeat(35), 50_000, "taraz refund rf_x")).refusal());
        // The bank not knowing the session tells nothing about a refund's fate: no answer, never "not there".
        ExecutionException e = assertThrows(ExecutionException.class, () -> await(psp.refunds("A" + "5".repeat(35))));
        assertInstanceOf(PspUnavailableException.class, e.getCause(), e.toString());
    }

    @Test
    void aRefusedRequestFailsWithoutRetry() {
        // Below the bank's minimum amount: the simulator answers -9, a refusal, not an outage.
        ExecutionException e = assertThrows(ExecutionException.class,
                () -> await(psp.request(10, callbackUrl, "too small")));
        assertInstanceOf(ZarinpalPsp.PspRefusedException.class, e.getCause(), e.toString());
    }

    @Test
    void verifyFollowsThePayment() throws Exception {
        String authority = await(psp.request(AMOUNT_RIALS, callbackUrl, "verify"));

        Verification early = await(psp.verify(authority, AMOUNT_RIALS));
        assertEquals(Outcome.FAILED, early.outcome(), early.toString());
        assertEquals(-51, early.code());
        assertNull(early.refId());

        sim.pay(authority, "OK");
        Verification first = await(psp.verify(authority, AMOUNT_RIALS));
        assertEquals(Outcome.VERIFIED, first.outcome(), first.toString());
        assertEquals(100, first.code());
        assertNotNull(first.refId());
        assertFalse(first.refId().isBlank() || first.refId().equals("null"), first.toString());
        assertNotNull(first.cardPan());
        assertTrue(first.cardPan().startsWith("502229******"), first.cardPan());
        JsonObject atBank = sim.payment(authority);
        assertEquals(first.refId(), String.valueOf(atBank.getLong("refId")));
        assertEquals(first.cardPan(), atBank.getString("cardPan"));

        // Verified before: 101 is a success, the same reference.
        Verification again = await(psp.verify(authority, AMOUNT_RIALS));
        assertEquals(Outcome.VERIFIED, again.outcome(), again.toString());
        assertEquals(101, again.code());
        assertEquals(first.refId(), again.refId());

        double mismatchesBefore = registry.counter("taraz.psp.amount.mismatch").count();
        Verification wrongAmount = await(psp.verify(authority, AMOUNT_RIALS + 1));
        assertEquals(Outcome.AMOUNT_MISMATCH, wrongAmount.outcome(), wrongAmount.toString());
        assertEquals(-50, wrongAmount.code());
        assertEquals(mismatchesBefore + 1, registry.counter("taraz.psp.amount.mismatch").count());

        atBank = sim.payment(authority);
        assertEquals(1, atBank.getInteger("verifySuccesses"), atBank.encode());
        assertEquals(1, atBank.getInteger("verifyAlready"), atBank.encode());
    }

    @Test
    void verifyOfAnUnknownAuthorityFails() throws Exception {
        Verification unknown = await(psp.verify("A" + "0".repeat(35), AMOUNT_RIALS));
        assertEquals(Outcome.FAILED, unknown.outcome(), unknown.toString());
        assertEquals(-54, unknown.code());
    }

    @Test
    void inquiryReportsEachStatus() throws Exception {
        String paid = await(psp.request(AMOUNT_RIALS, callbackUrl, "inquiry paid"));
        assertEquals(Psp.Inquiry.IN_BANK, await(psp.inquiry(paid)));
        sim.pay(paid, "OK");
        assertEquals(Psp.Inquiry.PAID, await(psp.inquiry(paid)));
        await(psp.verify(paid, AMOUNT_RIALS));
        assertEquals(Psp.Inquiry.VERIFIED, await(psp.inquiry(paid)));

        String cancelled = await(psp.request(AMOUNT_RIALS, callbackUrl, "inquiry cancelled"));
        sim.pay(cancelled, "NOK");
        assertEquals(Psp.Inquiry.FAILED, await(psp.inquiry(cancelled)));

        String reversed = await(psp.request(AMOUNT_RIALS, callbackUrl, "inquiry reversed"));
        sim.pay(reversed, "OK");
        assertTrue(await(psp.reverse(reversed)));
        assertEquals(Psp.Inquiry.REVERSED, await(psp.inquiry(reversed)));

        assertEquals(Psp.Inquiry.UNKNOWN, await(psp.inquiry("A" + "1".repeat(35))));
    }

    @Test
    void unverifiedListsPaidButUnverifiedPayments() throws Exception {
        String paid = await(psp.request(AMOUNT_RIALS, callbackUrl, "unverified paid"));
        String verified = await(psp.request(AMOUNT_RIALS, callbackUrl, "unverified verified"));
        String unpaid = await(psp.request(AMOUNT_RIALS, callbackUrl, "unverified unpaid"));
        sim.pay(paid, "OK");
        sim.pay(verified, "OK");
        await(psp.verify(verified, AMOUNT_RIALS));

        List<String> list = await(psp.unverified());
        assertTrue(list.contains(paid), list.toString());
        assertFalse(list.contains(verified), list.toString());
        assertFalse(list.contains(unpaid), list.toString());

        await(psp.verify(paid, AMOUNT_RIALS));
        assertFalse(await(psp.unverified()).contains(paid));
    }

    @Test
    void reverseReturnsAPaidPaymentOnly() throws Exception {
        String unpaid = await(psp.request(AMOUNT_RIALS, callbackUrl, "reverse unpaid"));
        assertFalse(await(psp.reverse(unpaid)), "nothing to return before payment");
        assertEquals(Psp.Inquiry.IN_BANK, await(psp.inquiry(unpaid)));

        String paid = await(psp.request(AMOUNT_RIALS, callbackUrl, "reverse paid"));
        sim.pay(paid, "OK");
        assertTrue(await(psp.reverse(paid)));
        assertEquals(Psp.Inquiry.REVERSED, await(psp.inquiry(paid)));
        assertFalse(await(psp.reverse(paid)), "reversed once");
        Verification afterReverse = await(psp.verify(paid, AMOUNT_RIALS));
        assertEquals(Outcome.FAILED, afterReverse.outcome(), afterReverse.toString());
        assertFalse(await(psp.reverse("A" + "2".repeat(35))), "unknown authority");
    }

    @Test
    void serverErrorsOnVerifyFailAsUnavailableAfterTheRetries() throws Exception {
        String authority = await(psp.request(AMOUNT_RIALS, callbackUrl, "verify 503"));
        sim.pay(authority, "OK");
        long unavailableVerifiesBefore = unavailableVerifies();
        try {
            sim.faults(TestPsp.defaultFaults().put("endpoints",
                    new JsonObject().put("verify", new JsonObject().put("errorRate", 1.0))));
            ExecutionException e = assertThrows(ExecutionException.class, () -> await(psp.verify(authority, AMOUNT_RIALS)));
            assertInstanceOf(PspUnavailableException.class, e.getCause(), e.toString());
            assertTrue(e.getCause().getMessage().contains("503"), e.getCause().getMessage());
            // Every attempt was refused before the bank's handler: the payment is untouched.
            JsonObject atBank = sim.payment(authority);
            assertEquals("PAID", atBank.getString("status"), atBank.encode());
            assertEquals(0, atBank.getInteger("verifyCalls"), atBank.encode());
            // The attempts were timed: 1 + retries, all unavailable.
            assertEquals(unavailableVerifiesBefore + 1 + RETRIES, unavailableVerifies());
        } finally {
            sim.resetFaults();
        }
        Verification later = await(psp.verify(authority, AMOUNT_RIALS));
        assertEquals(Outcome.VERIFIED, later.outcome(), later.toString());
        assertEquals(100, later.code());
    }

    @Test
    void aHeldRequestTimesOutAsUnavailable() throws Exception {
        String authority = await(psp.request(AMOUNT_RIALS, callbackUrl, "inquiry timeout"));
        try {
            sim.faults(TestPsp.defaultFaults().put("endpoints",
                    new JsonObject().put("inquiry", new JsonObject().put("timeoutRate", 1.0))));
            ExecutionException e = assertThrows(ExecutionException.class, () -> await(psp.inquiry(authority)));
            assertInstanceOf(PspUnavailableException.class, e.getCause(), e.toString());
        } finally {
            sim.resetFaults();
        }
        assertEquals(Psp.Inquiry.IN_BANK, await(psp.inquiry(authority)));
    }

    @Test
    void anAnswerTrickledPastTheTimeoutIsUnavailable() throws Exception {
        // A byte every TRICKLE_MILLIS keeps the request's idle timeout from firing; the answer, a valid one, comes
        // only after TRICKLE_WRITES of them, past an attempt's bound (2 x TIMEOUT_MILLIS). Only that bound ends it.
        HttpServer trickle = await(vertx.createHttpServer().requestHandler(req -> {
            HttpServerResponse response = req.response().setChunked(true).putHeader("content-type", "application/json");
            response.write("{");
            int[] writes = {0};
            vertx.setPeriodic(TRICKLE_MILLIS, id -> {
                if (response.closed() || response.ended()) {
                    vertx.cancelTimer(id);
                } else if (++writes[0] < TRICKLE_WRITES) {
                    response.write(" ");
                } else {
                    vertx.cancelTimer(id);
                    response.end("\"data\":{\"code\":100,\"status\":\"PAID\"},\"errors\":[]}");
                }
            });
        }).listen(0, "127.0.0.1"));
        try {
            ZarinpalPsp slow = new ZarinpalPsp(vertx, "http://127.0.0.1:" + trickle.actualPort(), MERCHANT_ID, ACCESS_TOKEN,
                    TIMEOUT_MILLIS, RETRIES, new SimpleMeterRegistry());
            ExecutionException e = assertThrows(ExecutionException.class, () -> await(slow.inquiry("A" + "4".repeat(35))));
            assertInstanceOf(PspUnavailableException.class, e.getCause(), e.toString());
        } finally {
            await(trickle.close());
        }
    }

    @Test
    void nothingListeningIsUnavailable() throws Exception {
        ZarinpalPsp nowhere = new ZarinpalPsp(vertx, "http://127.0.0.1:" + TestGateway.freePort() + "/",
                MERCHANT_ID, ACCESS_TOKEN, TIMEOUT_MILLIS, RETRIES, new SimpleMeterRegistry());
        for (Future<?> call : List.of(nowhere.verify("A" + "3".repeat(35), AMOUNT_RIALS),
                nowhere.request(AMOUNT_RIALS, callbackUrl, "nowhere"), nowhere.inquiry("A" + "3".repeat(35)),
                nowhere.unverified(), nowhere.reverse("A" + "3".repeat(35)))) {
            ExecutionException e = assertThrows(ExecutionException.class, () -> await(call));
            assertInstanceOf(PspUnavailableException.class, e.getCause(), e.toString());
        }
    }

    private static long unavailableVerifies() {
        io.micrometer.core.instrument.Timer timer = registry.find("taraz.psp.request").tag("op", "verify")
                .tag("outcome", "unavailable").timer();
        return timer == null ? 0 : timer.count();
    }

    private static <T> T await(Future<T> future) throws Exception {
        return future.toCompletionStage().toCompletableFuture().get(AWAIT_SECONDS, TimeUnit.SECONDS);
    }
}
