package taraz.pspsim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import taraz.psp.PayoutProvider.State;
import taraz.psp.PayoutReportCsv;
import taraz.support.ApiClient;
import taraz.support.TestGateway;
import taraz.support.TestPsp;
import taraz.support.Wait;

/** The simulated payout provider over real HTTP, with a real sender's server receiving its callbacks. */
class PayoutSimTest {
    static final String IBAN = "IR" + "0".repeat(22) + "12";
    static final String CLOSED_IBAN = "IR" + "1".repeat(24);
    static final long AMOUNT_RIALS = 2_500_000;
    static final long WAIT_MILLIS = 15_000;
    /** Long enough that the status read right after the send comes before it, short enough for the suite. */
    static final long DELAY_MILLIS = 3_000;

    @TempDir
    Path dataDir;

    Vertx vertx;
    HttpServer sender;
    TestPsp sim;
    final ConcurrentLinkedQueue<JsonObject> callbacks = new ConcurrentLinkedQueue<>();

    @BeforeEach
    void start() {
        vertx = Vertx.vertx();
        sender = TestGateway.await(vertx.createHttpServer().requestHandler(req -> req.body().onSuccess(body -> {
            callbacks.add(body.toJsonObject().put("path", req.path()));
            req.response().end("ok");
        })).listen(0, "127.0.0.1"));
        sim = TestPsp.start(dataDir);
    }

    @AfterEach
    void stop() {
        if (sim != null) {
            sim.stop();
        }
        TestGateway.await(vertx.close());
    }

    @Test
    void aReferenceIsOneTransferHoweverOftenItIsSent() {
        ApiClient.Response first = send(body("P-1", IBAN, AMOUNT_RIALS));
        ApiClient.Response second = send(body("P-1", IBAN, AMOUNT_RIALS));
        assertEquals(200, first.status());
        assertEquals(200, second.status());
        assertEquals("P-1", first.json().getString("referenceId"));
        assertEquals(first.json().getString("transferId"), second.json().getString("transferId"));
        assertEquals(2, sim.payout("P-1").getLong("sends"));
        JsonObject stats = sim.stats();
        assertEquals(2, stats.getLong("payoutSends"));
        assertEquals(1, stats.getLong("payoutTransfers"));
    }

    @Test
    void anotherIbanOrAmountUnderAKnownReferenceIsAConflict() {
        assertEquals(200, send(body("P-2", IBAN, AMOUNT_RIALS)).status());
        ApiClient.Response otherAmount = send(body("P-2", IBAN, AMOUNT_RIALS + 1));
        assertEquals(409, otherAmount.status());
        assertEquals("reference_conflict", otherAmount.json().getString("error"));
        assertEquals(409, send(body("P-2", CLOSED_IBAN, AMOUNT_RIALS)).status());
        JsonObject transfer = sim.payout("P-2");
        assertEquals(IBAN, transfer.getString("iban"));
        assertEquals(AMOUNT_RIALS, transfer.getLong("amount"));
        assertEquals(3, transfer.getLong("sends"));
        assertEquals(1, sim.stats().getLong("payoutTransfers"));
    }

    @Test
    void aBadBodyIs400AndMakesNoTransfer() {
        List<String> bad = List.of(
                "not json",
                "[]",
                body("P-3", "IR12", AMOUNT_RIALS).encode(),
                body("P-3", "DE" + "0".repeat(24), AMOUNT_RIALS).encode(),
                body("P-3", "IR" + "0".repeat(23) + "X", AMOUNT_RIALS).encode(),
                body("P-3", "ir" + "0".repeat(24), AMOUNT_RIALS).encode(),
                body("P-3", IBAN + "0", AMOUNT_RIALS).encode(),
                body("P-3", IBAN, 0).encode(),
                body("P-3", IBAN, AMOUNT_RIALS).put("amount", "2500000").encode(),
                body("P-3", IBAN, AMOUNT_RIALS).put("callbackUrl", "ftp://127.0.0.1/x").encode(),
                body("P-3", IBAN, AMOUNT_RIALS).put("description", 7).encode(),
                body("", IBAN, AMOUNT_RIALS).encode(),
                body("P 3", IBAN, AMOUNT_RIALS).encode(),
                body("P-3", IBAN, AMOUNT_RIALS).put("referenceId", null).encode());
        for (String body : bad) {
            ApiClient.Response response = sim.call("POST", "/payout/v1/transfers", body);
            assertEquals(400, response.status(), body);
            assertTrue(response.json().getString("error").length() > 0, body);
        }
        assertEquals(0, sim.stats().getLong("payoutTransfers"));
        assertEquals(0, sim.stats().getLong("payoutSends"));
        ApiClient.Response unknown = sim.call("GET", "/payout/v1/transfers/P-3", null);
        assertEquals(404, unknown.status());
        assertEquals("unknown_reference", unknown.json().getString("error"));
        assertNull(sim.payout("P-3"));
    }

    @Test
    void aTransferIsPaidAfterItsAnswerAndTheSenderIsCalledBack() {
        JsonObject answer = send(body("P-4", IBAN, AMOUNT_RIALS).put("callbackUrl", callbackUrl("/payout/callback"))).json();
        assertEquals("IN_PROGRESS", answer.getString("state"));
        assertTrue(answer.containsKey("failureReason"));
        assertNull(answer.getValue("failureReason"));
        JsonObject callback = Wait.until("the callback", WAIT_MILLIS, () -> callbacks.peek(), c -> c != null);
        assertEquals(new JsonObject().put("referenceId", "P-4").put("state", "PAID").put("path", "/payout/callback"), callback);
        JsonObject status = sim.call("GET", "/payout/v1/transfers/P-4", null).json();
        assertEquals(answer.put("state", "PAID"), status);
    }

    @Test
    void aDelayedTransferStaysInProgressUntilItsDelayPasses() {
        sim.faults(TestPsp.defaultFaults().put("payoutCompletionDelayMillis", DELAY_MILLIS));
        send(body("P-5", IBAN, AMOUNT_RIALS));
        assertEquals("IN_PROGRESS", state("P-5"));
        JsonObject transfer = sim.payout("P-5");
        assertEquals(Instant.parse(transfer.getString("createdAt")).plusMillis(DELAY_MILLIS),
                Instant.parse(transfer.getString("completeAt")));
        Wait.until("P-5 paid", WAIT_MILLIS, () -> state("P-5"), "PAID"::equals);
        assertTrue(!Instant.parse(sim.payout("P-5").getString("completedAt")).isBefore(Instant.parse(transfer.getString("completeAt"))));
    }

    @Test
    void aRejectedIbanIsAcceptedThenFails() {
        sim.faults(TestPsp.defaultFaults().put("payoutRejections", new JsonObject().put(CLOSED_IBAN, "ACCOUNT_CLOSED")));
        JsonObject answer = send(body("P-6", CLOSED_IBAN, AMOUNT_RIALS).put("callbackUrl", callbackUrl("/cb"))).json();
        assertEquals("IN_PROGRESS", answer.getString("state"));
        JsonObject callback = Wait.until("the callback", WAIT_MILLIS, () -> callbacks.peek(), c -> c != null);
        assertEquals("FAILED", callback.getString("state"));
        JsonObject status = sim.call("GET", "/payout/v1/transfers/P-6", null).json();
        assertEquals("FAILED", status.getString("state"));
        assertEquals("ACCOUNT_CLOSED", status.getString("failureReason"));
        // Another IBAN is paid as usual.
        send(body("P-7", IBAN, AMOUNT_RIALS));
        Wait.until("P-7 paid", WAIT_MILLIS, () -> state("P-7"), "PAID"::equals);
    }

    @Test
    void aLostCallbackLeavesTheStatusToTell() {
        sim.faults(TestPsp.defaultFaults().put("lostCallbackRate", 1.0));
        send(body("P-8", IBAN, AMOUNT_RIALS).put("callbackUrl", callbackUrl("/lost")));
        Wait.until("P-8 paid", WAIT_MILLIS, () -> state("P-8"), "PAID"::equals);
        // A transfer completed after it, with callbacks back on, is called back; P-8's would have gone first.
        sim.resetFaults();
        send(body("P-8b", IBAN, AMOUNT_RIALS).put("callbackUrl", callbackUrl("/kept")));
        Wait.until("P-8b's callback", WAIT_MILLIS, () -> callbacks.peek(), c -> c != null);
        assertEquals(List.of(new JsonObject().put("referenceId", "P-8b").put("state", "PAID").put("path", "/kept")),
                List.copyOf(callbacks));
    }

    @Test
    void theDailyReportListsTheCompletedTransfersOfThatDay() {
        sim.faults(TestPsp.defaultFaults().put("payoutRejections", new JsonObject().put(CLOSED_IBAN, "INVALID_IBAN")));
        send(body("P-9", IBAN, AMOUNT_RIALS));
        send(body("P-10", CLOSED_IBAN, AMOUNT_RIALS + 1));
        Wait.until("both complete", WAIT_MILLIS, () -> state("P-9") + state("P-10"), "PAIDFAILED"::equals);
        sim.faults(TestPsp.defaultFaults().put("payoutCompletionDelayMillis", 600_000));
        send(body("P-11", IBAN, AMOUNT_RIALS));

        String today = LocalDate.now(ZoneOffset.UTC).toString();
        String csv = sim.payoutReport(today);
        assertTrue(csv.startsWith(PayoutReportCsv.HEADER + "\n"), csv);
        List<PayoutReportCsv.Row> rows = PayoutReportCsv.parse(csv);
        assertEquals(2, rows.size(), csv);
        PayoutReportCsv.Row paid = rows.stream().filter(r -> r.referenceId().equals("P-9")).findFirst().orElseThrow();
        PayoutReportCsv.Row failed = rows.stream().filter(r -> r.referenceId().equals("P-10")).findFirst().orElseThrow();
        JsonObject p9 = sim.payout("P-9");
        assertEquals(new PayoutReportCsv.Row("P-9", p9.getString("transferId"), IBAN, AMOUNT_RIALS, State.PAID,
                Instant.parse(p9.getString("completedAt"))), paid);
        assertEquals(State.FAILED, failed.state());
        assertEquals(AMOUNT_RIALS + 1, failed.amountRials());
        assertEquals(csv, PayoutReportCsv.write(rows));

        String yesterday = LocalDate.now(ZoneOffset.UTC).minusDays(1).toString();
        assertEquals(List.of(), PayoutReportCsv.parse(sim.payoutReport(yesterday)));
        assertEquals(400, sim.call("GET", "/payout/v1/report?date=today", null).status());
    }

    @Test
    void theFaultSettingsCheckThePayoutFields() {
        JsonObject faults = TestPsp.defaultFaults().put("payoutCompletionDelayMillis", 5)
                .put("payoutRejections", new JsonObject().put(CLOSED_IBAN, "ACCOUNT_CLOSED").put(IBAN, "INVALID_IBAN"))
                .put("endpoints", new JsonObject().put("payout", new JsonObject().put("errorRate", 0.5))
                        .put("payoutStatus", new JsonObject().put("latencyMillis", 3)));
        sim.faults(faults);
        assertEquals(faults, sim.call("GET", "/sim/faults", null).json());
        List<JsonObject> bad = List.of(
                TestPsp.defaultFaults().put("payoutCompletionDelayMillis", 600_001),
                TestPsp.defaultFaults().put("payoutCompletionDelayMillis", -1),
                TestPsp.defaultFaults().put("payoutRejections", new JsonObject().put(IBAN, "CLOSED")),
                TestPsp.defaultFaults().put("payoutRejections", new JsonObject().put("IR12", "ACCOUNT_CLOSED")),
                TestPsp.defaultFaults().put("payoutRejections", "all"),
                TestPsp.defaultFaults().put("endpoints", new JsonObject().put("payouts", new JsonObject())));
        for (JsonObject body : bad) {
            assertEquals(400, sim.call("POST", "/sim/faults", body.encode()).status(), body.encode());
        }
        assertEquals(faults, sim.call("GET", "/sim/faults", null).json());
    }

    @Test
    void aRestartKeepsTheTransfersAndCompletesThoseDueWhileDown() {
        send(body("P-12", IBAN, AMOUNT_RIALS));
        Wait.until("P-12 paid", WAIT_MILLIS, () -> state("P-12"), "PAID"::equals);
        send(body("P-12", IBAN, AMOUNT_RIALS));
        sim.faults(TestPsp.defaultFaults().put("payoutCompletionDelayMillis", DELAY_MILLIS));
        send(body("P-13", IBAN, AMOUNT_RIALS).put("callbackUrl", callbackUrl("/cb")));
        Instant due = Instant.parse(sim.payout("P-13").getString("completeAt"));
        JsonObject paid = sim.payout("P-12");
        sim.stop();
        sim = null;

        Wait.until("P-13 due while the simulator is down", WAIT_MILLIS, () -> Instant.now().isAfter(due));
        sim = TestPsp.start(dataDir);
        assertEquals(paid, sim.payout("P-12"));
        assertEquals(2, sim.payout("P-12").getLong("sends"));
        JsonObject callback = Wait.until("the callback of P-13", WAIT_MILLIS, () -> callbacks.peek(), c -> c != null);
        assertEquals("PAID", callback.getString("state"));
        assertEquals("P-13", callback.getString("referenceId"));
        assertEquals("PAID", state("P-13"));
        assertEquals(DELAY_MILLIS, sim.call("GET", "/sim/faults", null).json().getLong("payoutCompletionDelayMillis"));
        JsonObject stats = sim.stats();
        assertEquals(3, stats.getLong("payoutSends"));
        assertEquals(2, stats.getLong("payoutTransfers"));
    }

    @Test
    void aRestartBeforeTheDelayPassesCompletesWhenDue() {
        sim.faults(TestPsp.defaultFaults().put("payoutCompletionDelayMillis", DELAY_MILLIS));
        send(body("P-14", IBAN, AMOUNT_RIALS));
        sim.stop();
        sim = TestPsp.start(dataDir);
        Wait.until("P-14 paid", WAIT_MILLIS, () -> state("P-14"), "PAID"::equals);
        JsonObject transfer = sim.payout("P-14");
        assertTrue(!Instant.parse(transfer.getString("completedAt")).isBefore(Instant.parse(transfer.getString("completeAt"))),
                transfer.encode());
    }

    private static JsonObject body(String referenceId, String iban, long amountRials) {
        return new JsonObject().put("referenceId", referenceId).put("iban", iban).put("amount", amountRials)
                .put("description", "driver payout");
    }

    private ApiClient.Response send(JsonObject body) {
        return sim.call("POST", "/payout/v1/transfers", body.encode());
    }

    private String state(String referenceId) {
        return sim.call("GET", "/payout/v1/transfers/" + referenceId, null).json().getString("state");
    }

    private String callbackUrl(String path) {
        return "http://127.0.0.1:" + sender.actualPort() + path;
    }
}
