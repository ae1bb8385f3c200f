package taraz.topup;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import taraz.support.ApiClient;
import taraz.support.Concurrently;
import taraz.support.Refunds;
import taraz.support.Sql;
import taraz.support.TestGateway;
import taraz.support.TestPsp;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Top-up refunds against the in-process gateway and its PSP simulator: a full refund inside the bank's window is its
 * reverse, a partial one or one after the window its refund API; the wallet and PSP clearing move by the refund, the
 * bank shows it once; refunds never total more than the top-up, also when ten race. Every test uses its own wallet,
 * top-up and keys.
 */
class TopupRefundTest {

    private static final long AMOUNT_RIALS = 100_000;
    private static final long AWAIT_MILLIS = 15_000;
    private static final int RACERS = 10;

    private static ApiClient api;
    private static TestPsp psp;

    @BeforeAll
    static void gateway() {
        TestGateway gateway = TestGateway.get();
        api = gateway.api();
        psp = gateway.psp();
    }

    @Test
    void fullRefundInsideTheWindowIsTheBanksReverse() throws Exception {
        Refunds.Credited credited = Refunds.credited(api, psp, AMOUNT_RIALS, AWAIT_MILLIS);
        long clearingBefore = Refunds.pspClearingRials();

        String key = ApiClient.newKey();
        ApiClient.Response r = Refunds.refund(api, credited.topupId(), AMOUNT_RIALS, key);
        assertEquals(201, r.status(), r.text());
        JsonObject refund = r.json();
        assertEquals(Refunds.refundId(key), refund.getString("refundId"));
        assertEquals("REVERSE", refund.getString("method"), r.text());
        assertEquals("REFUNDED", refund.getString("state"), r.text());
        assertEquals(1, refund.getInteger("sends"), r.text());

        assertEquals(0, api.balance(credited.wallet()));
        assertEquals(0, api.available(credited.wallet()));
        assertEquals(clearingBefore + AMOUNT_RIALS, Refunds.pspClearingRials(), "the money went back to the bank");
        JsonObject atBank = psp.payment(credited.authority());
        assertEquals("REVERSED", atBank.getString("status"), atBank.encode());
        assertEquals(0, atBank.getJsonArray("refunds").size(), atBank.encode());
        assertEquals(1, Refunds.postTransfers(credited.topupId()));
        assertEquals(0, Sql.count("SELECT count(*) FROM holds WHERE id = ? AND state <> 'POSTED'", "refund:" + refund.getString("refundId") + ":hold"));
        assertEquals(List.of("CREATED", "HELD", "SENT", "REFUNDED"), Refunds.historyStates(Refunds.view(api, refund.getString("refundId"))));
        String metrics = api.get("/metrics").text();
        assertTrue(metrics.contains("taraz_payments_total{flow=\"refund\",outcome=\"refunded\"}"), "counted by outcome");
        JsonArray refunded = api.getAdmin("/v1/admin/payments?state=REFUNDED&limit=500").json().getJsonArray("payments");
        assertTrue(refunded.stream().map(JsonObject.class::cast).anyMatch(p -> p.getString("flow").equals("refund")
                && p.getString("paymentId").equals(refund.getString("refundId"))), "listed with the payments: " + refunded.encode());

        // The same request again is the same answer; a second refund of anything is over the top-up.
        ApiClient.Response replay = Refunds.refund(api, credited.topupId(), AMOUNT_RIALS, key);
        assertEquals(201, replay.status(), replay.text());
        assertEquals("true", replay.header("Idempotent-Replayed"));
        ApiClient.Response more = Refunds.refund(api, credited.topupId(), 1, ApiClient.newKey());
        assertEquals(409, more.status(), more.text());
        assertEquals("refund_exceeds_total", more.errorCode());
        assertEquals(0, api.balance(credited.wallet()));
        try (java.sql.Connection c = Sql.connect()) {
            Sql.assertLedgerAddsUp(c, "after a reverse");
        }
    }

    @Test
    void partialRefundsUseTheRefundApiUpToTheTopupAndNoFurther() throws Exception {
        Refunds.Credited credited = Refunds.credited(api, psp, AMOUNT_RIALS, AWAIT_MILLIS);
        long clearingBefore = Refunds.pspClearingRials();

        JsonObject first = Refunds.refund(api, credited.topupId(), 30_000, ApiClient.newKey()).json();
        assertEquals("REFUND", first.getString("method"), first.encode());
        assertEquals("REFUNDED", first.getString("state"), first.encode());
        assertNotNull(first.getString("bankRefundId"), first.encode());
        ApiClient.Response second = Refunds.refund(api, credited.topupId(), 70_000, ApiClient.newKey());
        assertEquals(201, second.status(), second.text());
        assertEquals("REFUND", second.json().getString("method"), "a full amount after a refund is no reverse");
        assertEquals("REFUNDED", second.json().getString("state"), second.text());
        ApiClient.Response third = Refunds.refund(api, credited.topupId(), 1_000, ApiClient.newKey());
        assertEquals(409, third.status(), third.text());
        assertEquals("refund_exceeds_total", third.errorCode());

        assertEquals(0, api.balance(credited.wallet()));
        assertEquals(clearingBefore + AMOUNT_RIALS, Refunds.pspClearingRials());
        JsonArray atBank = Refunds.atBank(psp, credited.authority());
        assertEquals(2, atBank.size(), atBank.encode());
        assertEquals("taraz refund " + first.getString("refundId"), atBank.getJsonObject(0).getString("description"));
        assertEquals(30_000, atBank.getJsonObject(0).getLong("amount"));
        assertEquals(70_000, atBank.getJsonObject(1).getLong("amount"));
        assertEquals("VERIFIED", psp.payment(credited.authority()).getString("status"));
        assertEquals(2, Refunds.postTransfers(credited.topupId()));
        assertEquals(2, Sql.count("SELECT count(*) FROM topup_refunds WHERE topup_id = ?", credited.topupId()), "the refused one left no row");
    }

    @Test
    void aFullRefundAfterTheWindowUsesTheRefundApi() throws Exception {
        Refunds.Credited credited = Refunds.credited(api, psp, AMOUNT_RIALS, AWAIT_MILLIS);
        // The bank verified it longer ago than its window (pspWindowSeconds, 30 minutes here).
        Sql.update("UPDATE topups SET verified_at = now() - interval '31 minutes' WHERE topup_id = ?", credited.topupId());

        ApiClient.Response r = Refunds.refund(api, credited.topupId(), AMOUNT_RIALS, ApiClient.newKey());
        assertEquals(201, r.status(), r.text());
        assertEquals("REFUND", r.json().getString("method"), r.text());
        assertEquals("REFUNDED", r.json().getString("state"), r.text());
        assertEquals(0, api.balance(credited.wallet()));
        assertEquals(1, Refunds.atBank(psp, credited.authority()).size());
        assertEquals("VERIFIED", psp.payment(credited.authority()).getString("status"), "not reversed");
    }

    @Test
    void tenRacingRefundsNeverExceedTheTopup() throws Exception {
        Refunds.Credited credited = Refunds.credited(api, psp, AMOUNT_RIALS, AWAIT_MILLIS);
        long clearingBefore = Refunds.pspClearingRials();
        // Ten of 30,000 race for 100,000: three fit, whatever the order.
        List<ApiClient.Response> answers = Concurrently.run(RACERS, i -> Refunds.refund(api, credited.topupId(), 30_000, ApiClient.newKey()));
        long refunded = answers.stream().filter(a -> a.status() == 201).count();
        long refused = answers.stream().filter(a -> a.status() == 409 && "refund_exceeds_total".equals(a.errorCode())).count();
        assertEquals(3, refunded, answers.toString());
        assertEquals(RACERS - 3, refused, answers.toString());
        answers.stream().filter(a -> a.status() == 201)
                .forEach(a -> assertEquals("REFUNDED", a.json().getString("state"), a.text()));
        assertEquals(AMOUNT_RIALS - 90_000, api.balance(credited.wallet()));
        assertEquals(AMOUNT_RIALS - 90_000, api.available(credited.wallet()));
        assertEquals(clearingBefore + 90_000, Refunds.pspClearingRials());
        assertEquals(3, Refunds.atBank(psp, credited.authority()).size());
        assertEquals(3, Refunds.postTransfers(credited.topupId()));
        assertTrue(Sql.count("SELECT coalesce(sum(amount_rials), 0) FROM topup_refunds WHERE topup_id = ? AND state <> 'FAILED'",
                credited.topupId()) <= AMOUNT_RIALS);
    }
}
