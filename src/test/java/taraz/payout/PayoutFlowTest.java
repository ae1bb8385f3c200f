package taraz.payout;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import taraz.support.ApiClient;
import taraz.support.Concurrently;
import taraz.support.Payouts;
import taraz.support.Sql;
import taraz.support.TestGateway;
import taraz.support.TestPsp;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The payout flow against the in-process gateway and the simulator's payout provider: paid once with the hold posted
 * to payout clearing; one payout for a replayed key; a refused IBAN ends FAILED with the money back; a lost answer, a
 * timeout and a 5xx each end PAID with one transfer at the provider, learned by its status; a delayed completion ends
 * PAID by the callback or the sweeper; 20 concurrent payouts never overdraw the wallet. Every test uses its own driver
 * and IBAN; a test that sets simulator faults restores the defaults in a finally block.
 */
class PayoutFlowTest {

    private static final long FUNDS_RIALS = 1_000_000;
    private static final long AMOUNT_RIALS = 200_000;
    private static final long AWAIT_MILLIS = 20_000;
    private static final int CONCURRENT_PAYOUTS = 20;
    private static final long CONCURRENT_AMOUNT_RIALS = 150_000;

    private static ApiClient api;
    private static TestPsp psp;
    private static Connection sql;

    @BeforeAll
    static void gateway() throws SQLException {
        TestGateway gateway = TestGateway.get();
        api = gateway.api();
        psp = gateway.psp();
        sql = Sql.connect();
    }

    @AfterAll
    static void close() throws SQLException {
        sql.close();
    }

    @Test
    void paidOnceWithTheHoldPostedToPayoutClearing() throws SQLException {
        String iban = Payouts.newIban();
        String driver = Payouts.fundedDriver(api, iban, FUNDS_RIALS);
        long clearingBefore = clearing();
        ApiClient.Response created = Payouts.create(api, driver, AMOUNT_RIALS, iban, ApiClient.newKey());
        assertEquals(201, created.status(), created.text());
        String payoutId = created.json().getString("payoutId");
        assertEquals(driver, created.json().getString("driverWalletId"));
        assertEquals(Iban.masked(iban), created.json().getString("iban"), "the IBAN is shown masked");

        JsonObject paid = Payouts.awaitState(api, payoutId, "PAID", AWAIT_MILLIS);
        assertEquals(List.of("CREATED", "HELD", "SENT", "PAID"), Payouts.historyStates(paid), paid.encode());
        assertNotNull(paid.getString("providerTransferId"), paid.encode());
        assertEquals(FUNDS_RIALS - AMOUNT_RIALS, api.balance(driver));
        assertEquals(FUNDS_RIALS - AMOUNT_RIALS, api.available(driver), "the hold is posted, not left active");
        assertEquals(AMOUNT_RIALS, clearing() - clearingBefore);
        assertEquals(1, Sql.count(sql, "SELECT count(*) FROM transfers WHERE payment_id = ? AND kind = 'payout_post'", payoutId));
        assertEquals("POSTED", Sql.text(sql, "SELECT state FROM holds WHERE id = ?", Payout.holdId(payoutId)));
        JsonObject atProvider = psp.payout(payoutId);
        assertEquals(1, atProvider.getInteger("sends"), atProvider.encode());
        assertEquals("PAID", atProvider.getString("state"), atProvider.encode());
        Sql.assertLedgerAddsUp(sql, "after a payout");
    }

    @Test
    void oneKeyIsOnePayoutAndOneSend() {
        String iban = Payouts.newIban();
        String driver = Payouts.fundedDriver(api, iban, FUNDS_RIALS);
        String key = ApiClient.newKey();
        ApiClient.Response first = Payouts.create(api, driver, AMOUNT_RIALS, iban, key);
        ApiClient.Response again = Payouts.create(api, driver, AMOUNT_RIALS, iban, key);
        assertEquals(201, first.status(), first.text());
        assertEquals(201, again.status(), again.text());
        assertEquals("true", again.header("Idempotent-Replayed"));
        String payoutId = first.json().getString("payoutId");
        assertEquals(payoutId, again.json().getString("payoutId"));
        Payouts.awaitState(api, payoutId, "PAID", AWAIT_MILLIS);
        assertEquals(1, psp.payout(payoutId).getInteger("sends"));
        assertEquals(FUNDS_RIALS - AMOUNT_RIALS, api.balance(driver));
    }

    @Test
    void aClosedAccountEndsFailedWithTheMoneyBack() {
        String iban = Payouts.newIban();
        String driver = Payouts.fundedDriver(api, iban, FUNDS_RIALS);
        try {
            psp.faults(TestPsp.defaultFaults().put("payoutRejections", new JsonObject().put(iban, "ACCOUNT_CLOSED")));
            ApiClient.Response created = Payouts.create(api, driver, AMOUNT_RIALS, iban, ApiClient.newKey());
            assertEquals(201, created.status(), created.text());
            JsonObject failed = Payouts.awaitState(api, created.json().getString("payoutId"), "FAILED", AWAIT_MILLIS);
            assertEquals("ACCOUNT_CLOSED", failed.getString("failureReason"), failed.encode());
            assertEquals(List.of("CREATED", "HELD", "SENT", "FAILED"), Payouts.historyStates(failed), failed.encode());
        } finally {
            psp.resetFaults();
        }
        assertEquals(FUNDS_RIALS, api.balance(driver));
        assertEquals(FUNDS_RIALS, api.available(driver), "the hold is voided");
    }

    @Test
    void aLostAnswerIsLearnedByStatusNeverBySendingAgain() {
        JsonObject paid = withSendFault(new JsonObject().put("lostAnswerRate", 1.0));
        assertEquals(1, psp.payout(paid.getString("payoutId")).getInteger("sends"), "the provider had it: no second send");
    }

    @Test
    void aTimedOutSendEndsPaidWithOneTransfer() {
        JsonObject paid = withSendFault(new JsonObject().put("timeoutRate", 1.0));
        assertEquals("PAID", psp.payout(paid.getString("payoutId")).getString("state"));
    }

    @Test
    void aServerErrorEndsPaidWithOneTransfer() {
        JsonObject paid = withSendFault(new JsonObject().put("errorRate", 1.0));
        assertEquals("PAID", psp.payout(paid.getString("payoutId")).getString("state"));
    }

    /**
     * The send suffers {@code fault}: the payout rests SENT with no answer; once the provider is healthy, the sweeper's
     * status call (then, for a provider that never got it, the one send again) ends it PAID, debited once.
     */
    private JsonObject withSendFault(JsonObject fault) {
        String iban = Payouts.newIban();
        String driver = Payouts.fundedDriver(api, iban, FUNDS_RIALS);
        String payoutId;
        try {
            psp.faults(TestPsp.defaultFaults().put("endpoints", new JsonObject().put("payout", fault)));
            ApiClient.Response created = Payouts.create(api, driver, AMOUNT_RIALS, iban, ApiClient.newKey());
            assertEquals(201, created.status(), created.text());
            assertEquals("SENT", created.json().getString("state"), created.text());
            assertEquals("no_answer_to_send", created.json().getString("lastError"), created.text());
            payoutId = created.json().getString("payoutId");
            assertEquals(FUNDS_RIALS - AMOUNT_RIALS, api.available(driver), "held while the provider's answer is unknown");
        } finally {
            psp.resetFaults();
        }
        JsonObject paid = Payouts.awaitState(api, payoutId, "PAID", AWAIT_MILLIS);
        assertEquals(FUNDS_RIALS - AMOUNT_RIALS, api.balance(driver), "debited once");
        assertEquals(FUNDS_RIALS - AMOUNT_RIALS, api.available(driver));
        return paid;
    }

    @Test
    void aDelayedCompletionRestsSentUntilTheProviderIsDone() {
        String iban = Payouts.newIban();
        String driver = Payouts.fundedDriver(api, iban, FUNDS_RIALS);
        String payoutId;
        try {
            psp.faults(TestPsp.defaultFaults().put("payoutCompletionDelayMillis", 3000));
            ApiClient.Response created = Payouts.create(api, driver, AMOUNT_RIALS, iban, ApiClient.newKey());
            assertEquals(201, created.status(), created.text());
            assertEquals("SENT", created.json().getString("state"), created.text());
            payoutId = created.json().getString("payoutId");
            assertEquals("SENT", Payouts.get(api, payoutId).getString("state"), "in progress at the provider");
            Payouts.awaitState(api, payoutId, "PAID", AWAIT_MILLIS);
        } finally {
            psp.resetFaults();
        }
        assertEquals(1, psp.payout(payoutId).getInteger("sends"));
        assertEquals(FUNDS_RIALS - AMOUNT_RIALS, api.balance(driver));
    }

    @Test
    void twentyConcurrentPayoutsNeverOverdrawTheWallet() throws Exception {
        String iban = Payouts.newIban();
        String driver = Payouts.fundedDriver(api, iban, FUNDS_RIALS);
        List<ApiClient.Response> responses = Concurrently.run(CONCURRENT_PAYOUTS,
                i -> Payouts.create(api, driver, CONCURRENT_AMOUNT_RIALS, iban, ApiClient.newKey()));
        long accepted = responses.stream().filter(r -> r.status() == 201).count();
        Set<String> refused = responses.stream().filter(r -> r.status() != 201).map(ApiClient.Response::errorCode)
                .collect(Collectors.toSet());
        assertEquals(FUNDS_RIALS / CONCURRENT_AMOUNT_RIALS, accepted, responses.toString());
        assertEquals(Set.of("insufficient_funds"), refused, responses.toString());
        for (ApiClient.Response r : responses) {
            if (r.status() == 201) {
                Payouts.awaitState(api, r.json().getString("payoutId"), "PAID", AWAIT_MILLIS);
            }
        }
        assertEquals(FUNDS_RIALS - accepted * CONCURRENT_AMOUNT_RIALS, api.balance(driver));
        assertTrue(api.available(driver) >= 0);
        Sql.assertLedgerAddsUp(sql, "after concurrent payouts");
    }

    private static long clearing() throws SQLException {
        return Sql.count(sql, "SELECT balance_rials FROM accounts WHERE id = 'payout-clearing'");
    }
}
