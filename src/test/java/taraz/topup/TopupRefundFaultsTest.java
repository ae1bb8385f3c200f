package taraz.topup;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import taraz.support.ApiClient;
import taraz.support.Refunds;
import taraz.support.Sql;
import taraz.support.TestGateway;
import taraz.support.TestPsp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Top-up refunds while the bank misbehaves (the simulator's faults on its refund and reverse endpoints): a timeout or a
 * 5xx leaves the refund SENT and the sweeper sends it again once a lookup shows the bank never got it; a lost answer is
 * found by lookup at once; a refusal voids the hold. In every case the bank shows the refund once, and the wallet and
 * PSP clearing end right. Faults are restored after each test.
 */
class TopupRefundFaultsTest {

    private static final long AMOUNT_RIALS = 100_000;
    private static final long PART_RIALS = 30_000;
    private static final long AWAIT_MILLIS = 15_000;
    /** The sweeper takes a refund over once its send's lease (topupLeaseMillis, 15 s) has run out. */
    private static final long SWEEP_AWAIT_MILLIS = 60_000;

    private static ApiClient api;
    private static TestPsp psp;

    @BeforeAll
    static void gateway() {
        TestGateway gateway = TestGateway.get();
        api = gateway.api();
        psp = gateway.psp();
    }

    @AfterEach
    void healthyBank() {
        psp.resetFaults();
    }

    private static void fault(String endpoint, String kind) {
        psp.faults(TestPsp.defaultFaults().put("endpoints", new JsonObject().put(endpoint, new JsonObject().put(kind, 1.0))));
    }

    @Test
    void aRefundThatTimesOutIsSentAgainOnlyAfterALookupAndMadeOnce() throws Exception {
        assertSentAgainAfter("timeoutRate");
    }

    @Test
    void aRefundAnswered5xxIsSentAgainOnlyAfterALookupAndMadeOnce() throws Exception {
        assertSentAgainAfter("errorRate");
    }

    private static void assertSentAgainAfter(String fault) throws Exception {
        Refunds.Credited credited = Refunds.credited(api, psp, AMOUNT_RIALS, AWAIT_MILLIS);
        long clearingBefore = Refunds.pspClearingRials();
        fault("refund", fault);

        ApiClient.Response r = Refunds.refund(api, credited.topupId(), PART_RIALS, ApiClient.newKey());
        assertEquals(201, r.status(), r.text());
        assertEquals("SENT", r.json().getString("state"), "the bank did not answer: " + r.text());
        assertEquals(AMOUNT_RIALS, api.balance(credited.wallet()));
        assertEquals(AMOUNT_RIALS - PART_RIALS, api.available(credited.wallet()), "held while the bank decides");
        assertEquals(0, Refunds.atBank(psp, credited.authority()).size());
        psp.resetFaults();

        JsonObject done = Refunds.awaitState(api, r.json().getString("refundId"), "REFUNDED", SWEEP_AWAIT_MILLIS);
        assertTrue(done.getInteger("sends") >= 2, done.encode());
        assertTrue(Refunds.historyStates(done).contains("REFUNDED"), done.encode());
        assertEquals(1, Refunds.atBank(psp, credited.authority()).size(), "refunded once at the bank");
        assertEquals(AMOUNT_RIALS - PART_RIALS, api.balance(credited.wallet()));
        assertEquals(AMOUNT_RIALS - PART_RIALS, api.available(credited.wallet()));
        assertEquals(clearingBefore + PART_RIALS, Refunds.pspClearingRials());
        assertEquals(1, Refunds.postTransfers(credited.topupId()));
    }

    @Test
    void aLostAnswerIsFoundByLookupAndNeverSentAgain() throws Exception {
        Refunds.Credited credited = Refunds.credited(api, psp, AMOUNT_RIALS, AWAIT_MILLIS);
        fault("refund", "lostAnswerRate");

        ApiClient.Response r = Refunds.refund(api, credited.topupId(), PART_RIALS, ApiClient.newKey());
        assertEquals(201, r.status(), r.text());
        assertEquals("REFUNDED", r.json().getString("state"), r.text());
        assertEquals(1, r.json().getInteger("sends"), r.text());
        assertEquals(1, Refunds.atBank(psp, credited.authority()).size());
        assertEquals(Refunds.atBank(psp, credited.authority()).getJsonObject(0).getString("id"), r.json().getString("bankRefundId"));
        assertEquals(AMOUNT_RIALS - PART_RIALS, api.balance(credited.wallet()));
        assertEquals(1, Refunds.postTransfers(credited.topupId()));
    }

    @Test
    void aReverseWhoseAnswerIsLostIsFoundByInquiry() throws Exception {
        Refunds.Credited credited = Refunds.credited(api, psp, AMOUNT_RIALS, AWAIT_MILLIS);
        fault("reverse", "lostAnswerRate");

        ApiClient.Response r = Refunds.refund(api, credited.topupId(), AMOUNT_RIALS, ApiClient.newKey());
        assertEquals(201, r.status(), r.text());
        assertEquals("REVERSE", r.json().getString("method"), r.text());
        assertEquals("REFUNDED", r.json().getString("state"), r.text());
        assertEquals("REVERSED", psp.payment(credited.authority()).getString("status"));
        assertEquals(0, api.balance(credited.wallet()));
        assertEquals(1, Refunds.postTransfers(credited.topupId()));
    }

    @Test
    void aRefusedRefundVoidsTheHoldAndTheMoneyStaysInTheWallet() throws Exception {
        Refunds.Credited credited = Refunds.credited(api, psp, AMOUNT_RIALS, AWAIT_MILLIS);
        long clearingBefore = Refunds.pspClearingRials();

        // The bank's refund API refunds no less than 20,000 rials.
        ApiClient.Response r = Refunds.refund(api, credited.topupId(), 10_000, ApiClient.newKey());
        assertEquals(201, r.status(), r.text());
        JsonObject refund = r.json();
        assertEquals("FAILED", refund.getString("state"), r.text());
        assertEquals("bank_refused_AMOUNT_TOO_LOW", refund.getString("lastError"), r.text());
        assertEquals(AMOUNT_RIALS, api.balance(credited.wallet()));
        assertEquals(AMOUNT_RIALS, api.available(credited.wallet()), "the hold is voided");
        assertEquals(clearingBefore, Refunds.pspClearingRials());
        assertEquals(0, Refunds.atBank(psp, credited.authority()).size());
        assertEquals(0, Refunds.postTransfers(credited.topupId()));
        assertEquals(1, Sql.count("SELECT count(*) FROM holds WHERE id = ? AND state = 'VOIDED'",
                "refund:" + refund.getString("refundId") + ":hold"));

        // A failed refund counts for nothing: the whole top-up can still be refunded.
        ApiClient.Response whole = Refunds.refund(api, credited.topupId(), AMOUNT_RIALS, ApiClient.newKey());
        assertEquals(201, whole.status(), whole.text());
        assertEquals("REFUNDED", whole.json().getString("state"), whole.text());
        assertEquals(0, api.balance(credited.wallet()));
    }
}
