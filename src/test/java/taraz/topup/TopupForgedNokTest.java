package taraz.topup;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import taraz.support.ApiClient;
import taraz.support.Concurrently;
import taraz.support.TestGateway;
import taraz.support.TestPsp;
import taraz.support.Topups;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * Issue 9, item 1: the callback's {@code Status=NOK} is a hint, never the bank's word. A forged
 * NOK (sent straight to our callback URL while the bank still holds the payment IN_BANK) must
 * leave the top-up payable, so that the cardholder's real payment is verified and credited once,
 * by the real callback or, if that is lost, by the sweeper; and a forged NOK racing the real OK
 * never costs the credit. A genuine NOK (the cardholder cancelled at the bank) still fails it.
 */
class TopupForgedNokTest {

    private static final long AMOUNT_RIALS = 40_000;
    private static final long AWAIT_MILLIS = 15_000;
    private static final int RACE_ROUNDS = 20;
    private static final int PAY_LAG_STEPS = 5;
    private static final long PAY_LAG_STEP_MILLIS = 10;

    private static ApiClient api;
    private static TestPsp psp;

    @BeforeAll
    static void gateway() {
        TestGateway gateway = TestGateway.get();
        api = gateway.api();
        psp = gateway.psp();
    }

    @Test
    void forgedNokThenTheCardholderPaysCreditsOnce() throws Exception {
        String wallet = api.openWallet("passenger");
        JsonObject topup = Topups.createOk(api, wallet, AMOUNT_RIALS);
        String topupId = topup.getString("topupId");
        String authority = topup.getString("authority");

        assertForgedNokLeavesItPayable(topupId, authority);

        JsonObject paid = psp.pay(authority, "OK");
        assertEquals(new JsonArray().add(new JsonObject().put("status", 200)), paid.getJsonArray("callbacks"), paid.encode());
        Topups.awaitState(api, topupId, "CREDITED", AWAIT_MILLIS);
        assertCreditedOnce(wallet, topupId, authority, AMOUNT_RIALS);
    }

    @Test
    void forgedNokThenALostCallbackIsCreditedByTheSweeper() throws Exception {
        String wallet = api.openWallet("passenger");
        JsonObject topup = Topups.createOk(api, wallet, AMOUNT_RIALS);
        String topupId = topup.getString("topupId");
        String authority = topup.getString("authority");

        assertForgedNokLeavesItPayable(topupId, authority);
        try {
            psp.faults(TestPsp.defaultFaults().put("lostCallbackRate", 1.0));
            JsonObject paid = psp.pay(authority, "OK");
            assertEquals(new JsonArray(), paid.getJsonArray("callbacks"), "the real callback is lost: " + paid.encode());
        } finally {
            psp.resetFaults();
        }
        JsonObject credited = Topups.awaitState(api, topupId, "CREDITED", AWAIT_MILLIS);
        assertFalse(Topups.historyStates(credited).contains("CALLBACK_RECEIVED"), "no OK callback ever came: " + credited.encode());
        assertCreditedOnce(wallet, topupId, authority, AMOUNT_RIALS);
    }

    /** The forged NOK and the bank's real OK callback arrive together, round after round, on fresh top-ups. */
    @Test
    void forgedNokRacingTheRealOkNeverCostsTheCredit() throws Exception {
        String wallet = api.openWallet("passenger");
        List<JsonObject> topups = new ArrayList<>();
        for (int round = 0; round < RACE_ROUNDS; round++) {
            JsonObject topup = Topups.createOk(api, wallet, AMOUNT_RIALS);
            String authority = topup.getString("authority");
            // The cardholder's payment lands a little after the forgery is sent, by a different
            // margin each round, so the forgery's inquiry meets the payment before, during and after it lands.
            long payLagMillis = (round % PAY_LAG_STEPS) * PAY_LAG_STEP_MILLIS;
            List<Object> answers = Concurrently.run(2, i -> {
                if (i == 1) {
                    return Topups.callback(api, authority, "NOK");
                }
                Thread.sleep(payLagMillis);
                return psp.pay(authority, "OK");
            });
            JsonObject paid = (JsonObject) answers.get(0);
            assertEquals("PAID", paid.getString("status"), paid.encode());
            ApiClient.Response forged = (ApiClient.Response) answers.get(1);
            assertEquals(200, forged.status(), "round " + round + ": " + forged.text());
            topups.add(topup);
        }
        for (JsonObject topup : topups) {
            String topupId = topup.getString("topupId");
            Topups.awaitState(api, topupId, "CREDITED", AWAIT_MILLIS);
            assertEquals(1, Topups.creditTransfers(topupId), topupId);
            assertEquals(1, psp.payment(topup.getString("authority")).getInteger("verifySuccesses"), topupId);
        }
        assertEquals(RACE_ROUNDS * AMOUNT_RIALS, api.balance(wallet), "every top-up credited exactly once");
    }

    /** The cardholder cancels at the bank and the bank's NOK callback is lost: inquiry says FAILED, so it fails. */
    @Test
    void genuineNokStillFails() throws Exception {
        String wallet = api.openWallet("passenger");
        JsonObject topup = Topups.createOk(api, wallet, AMOUNT_RIALS);
        String topupId = topup.getString("topupId");
        String authority = topup.getString("authority");
        try {
            psp.faults(TestPsp.defaultFaults().put("lostCallbackRate", 1.0));
            assertEquals("FAILED", psp.pay(authority, "NOK").getString("status"));
        } finally {
            psp.resetFaults();
        }
        JsonObject failed = Topups.awaitState(api, topupId, "FAILED", AWAIT_MILLIS);
        assertEquals("failed_at_bank", failed.getString("lastError"), failed.encode());
        assertEquals("FAILED", psp.payment(authority).getString("status"));
        assertEquals(0, api.balance(wallet));
        assertEquals(0, Topups.creditTransfers(topupId));
    }

    private static void assertForgedNokLeavesItPayable(String topupId, String authority) {
        ApiClient.Response forged = Topups.callback(api, authority, "NOK");
        assertEquals(200, forged.status(), forged.text());
        assertEquals("REQUESTED", forged.json().getString("state"), "a forged NOK closes nothing: " + forged.text());
        assertEquals("REQUESTED", Topups.view(api, topupId).getString("state"));
        JsonObject atBank = psp.payment(authority);
        assertEquals("IN_BANK", atBank.getString("status"), "a forged NOK never reaches the bank: " + atBank.encode());
    }

    private static void assertCreditedOnce(String wallet, String topupId, String authority, long amountRials) throws Exception {
        assertEquals(amountRials, api.balance(wallet), "credited exactly once");
        assertEquals(1, Topups.creditTransfers(topupId));
        JsonObject atBank = psp.payment(authority);
        assertEquals(1, atBank.getInteger("verifySuccesses"), atBank.encode());
        assertEquals("VERIFIED", atBank.getString("status"), atBank.encode());
    }
}
