package taraz.psp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import taraz.psp.HttpPayoutProvider.PayoutRefusedException;
import taraz.psp.PayoutProvider.State;
import taraz.psp.PayoutProvider.Transfer;
import taraz.support.ApiClient;
import taraz.support.TestGateway;
import taraz.support.TestPsp;
import taraz.support.Wait;

/** The payout provider adapter against the simulator's payout provider, over real HTTP on loopback. */
class HttpPayoutProviderTest {

    private static final String IBAN = "IR" + "0".repeat(22) + "12";
    private static final String CLOSED_IBAN = "IR" + "2".repeat(24);
    private static final long AMOUNT_RIALS = 3_000_000;
    /** Well under the simulator's 60 s hold, so a held call ends at the adapter's bound. */
    private static final long TIMEOUT_MILLIS = 500;
    private static final int RETRIES = 2;
    private static final long WAIT_MILLIS = 15_000;
    /** Long enough that the status read right after the send comes before it, short enough for the suite. */
    private static final long DELAY_MILLIS = 3_000;

    @TempDir
    static Path dataDir;

    private static Vertx vertx;
    private static TestPsp sim;
    private static SimpleMeterRegistry registry;
    private static HttpPayoutProvider provider;
    /** Nothing listens there: the adapter is tested alone, and the simulator's callback is best effort. */
    private static String callbackUrl;

    @BeforeAll
    static void start() {
        sim = TestPsp.start(dataDir.resolve("psp-sim"));
        vertx = Vertx.vertx();
        registry = new SimpleMeterRegistry();
        provider = new HttpPayoutProvider(vertx, sim.baseUrl(), TIMEOUT_MILLIS, RETRIES, registry);
        callbackUrl = "http://127.0.0.1:" + TestGateway.freePort() + "/v1/payouts/callback";
    }

    @AfterAll
    static void stop() {
        if (vertx != null) {
            await(vertx.close());
        }
        if (sim != null) {
            sim.stop();
        }
    }

    @AfterEach
    void healthy() {
        sim.resetFaults();
    }

    @Test
    void aSendIsOneTransferLearnedByStatus() {
        Transfer sent = await(provider.send("A-1", IBAN, AMOUNT_RIALS, callbackUrl));
        assertEquals("A-1", sent.referenceId());
        assertEquals(State.IN_PROGRESS, sent.state());
        assertNull(sent.failureReason());
        assertNotNull(sent.providerId());
        Transfer again = await(provider.send("A-1", IBAN, AMOUNT_RIALS, callbackUrl));
        assertEquals(sent.providerId(), again.providerId());
        assertEquals(2, sim.payout("A-1").getLong("sends"));
        Transfer paid = Wait.until("A-1 paid", WAIT_MILLIS, () -> await(provider.status("A-1")), t -> t.state() == State.PAID);
        assertEquals(new Transfer("A-1", State.PAID, null, sent.providerId()), paid);
        assertEquals(new Transfer("A-never", State.UNKNOWN, null, null), await(provider.status("A-never")));
        assertEquals("payout-v1", provider.name());
        assertTrue(timer("send", "ok").count() >= 2);
        assertTrue(timer("status", "ok").count() >= 2);
        assertEquals(2, timer("send", "ok").takeSnapshot().percentileValues().length, "p50 and p99 are published");
    }

    @Test
    void anotherAmountUnderOurReferenceIsRefusedNotUnavailable() {
        await(provider.send("A-2", IBAN, AMOUNT_RIALS, callbackUrl));
        Throwable e = failure(provider.send("A-2", IBAN, AMOUNT_RIALS + 1, callbackUrl));
        assertEquals("reference_conflict", assertInstanceOf(PayoutRefusedException.class, e).error());
        Throwable bad = failure(provider.send("A-3", "IR12", AMOUNT_RIALS, callbackUrl));
        assertInstanceOf(PayoutRefusedException.class, bad);
        assertEquals(State.UNKNOWN, await(provider.status("A-3")).state());
    }

    @Test
    void aRejectedIbanEndsFailedWithTheBanksReason() {
        sim.faults(TestPsp.defaultFaults().put("payoutRejections", new JsonObject().put(CLOSED_IBAN, "ACCOUNT_CLOSED")));
        assertEquals(State.IN_PROGRESS, await(provider.send("A-4", CLOSED_IBAN, AMOUNT_RIALS, callbackUrl)).state());
        Transfer failed = Wait.until("A-4 failed", WAIT_MILLIS, () -> await(provider.status("A-4")),
                t -> t.state() != State.IN_PROGRESS);
        assertEquals(State.FAILED, failed.state());
        assertEquals("ACCOUNT_CLOSED", failed.failureReason());
    }

    @Test
    void aDelayedTransferIsInProgressUntilTheProviderCompletesIt() {
        sim.faults(TestPsp.defaultFaults().put("payoutCompletionDelayMillis", DELAY_MILLIS));
        await(provider.send("A-5", IBAN, AMOUNT_RIALS, callbackUrl));
        assertEquals(State.IN_PROGRESS, await(provider.status("A-5")).state());
        Wait.until("A-5 paid", WAIT_MILLIS, () -> await(provider.status("A-5")).state(), State.PAID::equals);
    }

    @Test
    void aLostAnswerFailsTheSendButTheTransferWasMade() {
        sim.faults(TestPsp.defaultFaults().put("endpoints", new JsonObject().put("payout",
                new JsonObject().put("lostAnswerRate", 1.0))));
        double errorsBefore = timer("send", "error").count();
        assertInstanceOf(PspUnavailableException.class, failure(provider.send("A-6", IBAN, AMOUNT_RIALS, callbackUrl)));
        assertEquals(errorsBefore + 1, timer("send", "error").count());
        Transfer learned = await(provider.status("A-6"));
        assertTrue(learned.state() == State.IN_PROGRESS || learned.state() == State.PAID, learned.toString());
        assertEquals(1, sim.payout("A-6").getLong("sends"), "the adapter never sends twice");
    }

    @Test
    void aHeldSendTimesOutAtTheAdaptersBoundAndMakesNoTransfer() {
        sim.faults(TestPsp.defaultFaults().put("endpoints", new JsonObject().put("payout",
                new JsonObject().put("timeoutRate", 1.0))));
        double timeoutsBefore = timer("send", "timeout").count();
        assertInstanceOf(PspUnavailableException.class, failure(provider.send("A-7", IBAN, AMOUNT_RIALS, callbackUrl)));
        assertEquals(timeoutsBefore + 1, timer("send", "timeout").count());
        assertEquals(State.UNKNOWN, await(provider.status("A-7")).state());
        assertNull(sim.payout("A-7"));
    }

    @Test
    void aHeldStatusIsRetriedThenUnavailable() {
        await(provider.send("A-8", IBAN, AMOUNT_RIALS, callbackUrl));
        sim.faults(TestPsp.defaultFaults().put("endpoints", new JsonObject().put("payoutStatus",
                new JsonObject().put("timeoutRate", 1.0))));
        double timeoutsBefore = timer("status", "timeout").count();
        assertInstanceOf(PspUnavailableException.class, failure(provider.status("A-8")));
        assertEquals(timeoutsBefore + 1 + RETRIES, timer("status", "timeout").count());
    }

    @Test
    void a5xxIsUnavailableAndTheSendIsNotRepeated() {
        sim.faults(TestPsp.defaultFaults().put("endpoints", new JsonObject()
                .put("payout", new JsonObject().put("errorRate", 1.0))
                .put("payoutStatus", new JsonObject().put("errorRate", 1.0))));
        long sendsBefore = sim.stats().getLong("payoutSends");
        double errorsBefore = timer("send", "error").count();
        assertInstanceOf(PspUnavailableException.class, failure(provider.send("A-9", IBAN, AMOUNT_RIALS, callbackUrl)));
        assertEquals(errorsBefore + 1, timer("send", "error").count(), "one call, no retry");
        double statusErrorsBefore = timer("status", "error").count();
        assertInstanceOf(PspUnavailableException.class, failure(provider.status("A-9")));
        assertEquals(statusErrorsBefore + 1 + RETRIES, timer("status", "error").count());
        sim.resetFaults();
        assertEquals(sendsBefore, sim.stats().getLong("payoutSends"));
        assertEquals(State.UNKNOWN, await(provider.status("A-9")).state());
    }

    /** A bare 404 (a wrong URL, a proxy) or garbage is no answer: never UNKNOWN, which would invite a second send. */
    @Test
    void garbageAndABare404AreUnavailableNeverUnknown() {
        AtomicInteger calls = new AtomicInteger();
        HttpServer junk = await(vertx.createHttpServer().requestHandler(req -> {
            calls.incrementAndGet();
            if (req.path().endsWith("/B-404")) {
                req.response().setStatusCode(404).end("<html>Not Found</html>");
            } else if (req.path().endsWith("/B-other")) {
                req.response().putHeader("content-type", "application/json").end(new JsonObject()
                        .put("referenceId", "B-else").put("transferId", "T").put("state", "PAID").encode());
            } else {
                req.response().putHeader("content-type", "application/json").end("{\"state\":");
            }
        }).listen(0, "127.0.0.1"));
        try {
            HttpPayoutProvider toJunk = new HttpPayoutProvider(vertx, "http://127.0.0.1:" + junk.actualPort(), TIMEOUT_MILLIS,
                    0, registry);
            assertInstanceOf(PspUnavailableException.class, failure(toJunk.status("B-404")));
            assertInstanceOf(PspUnavailableException.class, failure(toJunk.status("B-other")));
            assertInstanceOf(PspUnavailableException.class, failure(toJunk.status("B-garbage")));
            assertInstanceOf(PspUnavailableException.class, failure(toJunk.send("B-send", IBAN, AMOUNT_RIALS, callbackUrl)));
            assertEquals(4, calls.get());
        } finally {
            await(junk.close());
        }
    }

    @Test
    void theProvidersReportReadsBack() {
        await(provider.send("A-10", IBAN, AMOUNT_RIALS, callbackUrl));
        Transfer paid = Wait.until("A-10 paid", WAIT_MILLIS, () -> await(provider.status("A-10")),
                t -> t.state() == State.PAID);
        String today = java.time.LocalDate.now(java.time.ZoneOffset.UTC).toString();
        ApiClient.Response report = sim.call("GET", "/payout/v1/report?date=" + today, null);
        assertEquals(200, report.status());
        assertTrue(report.header("content-type").startsWith("text/csv"), report.header("content-type"));
        PayoutReportCsv.Row row = PayoutReportCsv.parse(report.text()).stream()
                .filter(r -> r.referenceId().equals("A-10")).findFirst().orElseThrow();
        assertEquals(paid.providerId(), row.transferId());
        assertEquals(AMOUNT_RIALS, row.amountRials());
        assertEquals(State.PAID, row.state());
    }

    private static Timer timer(String op, String outcome) {
        Timer timer = registry.find("taraz.payout.request").tags("op", op, "outcome", outcome).timer();
        return timer != null ? timer : Timer.builder("taraz.payout.request").tags("op", op, "outcome", outcome)
                .publishPercentiles(0.5, 0.99).register(registry);
    }

    private static <T> T await(Future<T> future) {
        return TestGateway.await(future);
    }

    private static Throwable failure(Future<?> future) {
        return assertThrows(RuntimeException.class, () -> await(future));
    }
}
