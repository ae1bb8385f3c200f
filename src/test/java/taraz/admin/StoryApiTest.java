package taraz.admin;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import taraz.support.ApiClient;
import taraz.support.Payouts;
import taraz.support.Refunds;
import taraz.support.Sql;
import taraz.support.Stories;
import taraz.support.TestGateway;
import taraz.support.TestPsp;
import taraz.support.Topups;
import taraz.support.Wait;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The customer's story for support (GET /v1/admin/customers, GET /v1/admin/wallets/{id}/story) against the test
 * gateway and its PSP simulator: an incident-1 customer's whole timeline with its bank calls and who drove them, a
 * refused settle, a payout and refunds, the lookup by every form of a phone, paging, and what the routes refuse.
 */
class StoryApiTest {

    private static final long AMOUNT_RIALS = 2_000_000;
    private static final long AWAIT_MILLIS = 15_000;
    /** A verify that times out takes three attempts of the PSP timeout each, then the sweeper's next round verifies. */
    private static final long VERIFY_TIMEOUT_AWAIT_MILLIS = 90_000;

    private static ApiClient api;
    private static TestPsp psp;

    @BeforeAll
    static void gateway() {
        TestGateway gateway = TestGateway.get();
        api = gateway.api();
        psp = gateway.psp();
    }

    /**
     * Incident 1: the cardholder paid, the bank's callback was lost, and the bank's first verify timed out. The
     * sweeper found the payment in the bank's unverified list, retried the verify and credited it; the story tells it
     * newest first, each step and bank call with who drove it.
     */
    @Test
    void anIncidentOneCustomerSeesTheWholeTimelineWithTheBankCallsAndWhoDroveThem() throws Exception {
        String wallet = walletWithPhone("passenger", randomMobile()).getString("walletId");
        JsonObject topup = Topups.createOk(api, wallet, AMOUNT_RIALS);
        String topupId = topup.getString("topupId");
        try {
            psp.faults(TestPsp.defaultFaults().put("lostCallbackRate", 1.0)
                    .put("endpoints", new JsonObject().put("verify", new JsonObject().put("timeoutRate", 1.0))));
            psp.pay(topup.getString("authority"), "OK");
            Wait.until("a verify that got no answer, in the story", VERIFY_TIMEOUT_AWAIT_MILLIS,
                    () -> Stories.items(api, wallet, i -> "bank_call".equals(i.getString("kind"))
                            && "NO_ANSWER".equals(i.getString("state"))), found -> !found.isEmpty());
        } finally {
            psp.resetFaults();
        }
        Topups.awaitState(api, topupId, "CREDITED", VERIFY_TIMEOUT_AWAIT_MILLIS);

        List<JsonObject> story = Stories.all(api, wallet, 500);
        assertNewestFirst(story);
        List<JsonObject> timeline = new ArrayList<>(story);
        java.util.Collections.reverse(timeline);
        List<String> steps = timeline.stream().filter(i -> !"entry".equals(i.getString("kind")))
                .map(i -> i.getString("kind") + ":" + i.getString("state") + ":" + i.getString("drivenBy")
                        + ("bank_call".equals(i.getString("kind")) ? ":" + i.getJsonObject("detail").getString("call") : ""))
                .toList();
        String seen = String.join("\n", steps);
        assertEquals("topup:CREATED:request", steps.get(0), seen);
        assertEquals("topup:REQUESTED:request", steps.get(1), seen);
        // The sweeper learns the payment from the bank's unVerified list, or (a round that began before the payment
        // was listed) from its inquiry; either way a bank call of its own, before it verifies.
        assertTrue(steps.contains("bank_call:PAID:sweeper:unverified") || steps.contains("bank_call:PAID:sweeper:inquiry"), seen);
        assertTrue(steps.contains("bank_call:NO_ANSWER:sweeper:verify"), seen);
        assertTrue(steps.contains("topup:VERIFYING:sweeper"), seen);
        int timedOut = steps.indexOf("bank_call:NO_ANSWER:sweeper:verify");
        int verified = steps.indexOf("bank_call:VERIFIED:sweeper:verify");
        assertTrue(timedOut >= 0 && verified > timedOut, "the verify that timed out, then the one that verified:\n" + seen);
        assertEquals(List.of("topup:VERIFIED:sweeper", "topup:CREDITED:sweeper"), steps.subList(steps.size() - 2, steps.size()), seen);
        assertFalse(seen.contains("CALLBACK_RECEIVED"), "the callback never came:\n" + seen);

        JsonObject timeout = timeline.stream().filter(i -> "NO_ANSWER".equals(i.getString("state"))).findFirst().orElseThrow();
        assertEquals(topupId, timeout.getString("paymentId"));
        assertEquals("topup", timeout.getString("flow"));
        assertTrue(timeout.getJsonObject("detail").getString("error").contains("verify"), timeout.encode());
        assertTrue(timeout.getString("text").startsWith("The sweeper asked the bank to verify top-up " + topupId + ": no answer"),
                timeout.encode());

        JsonObject credit = story.stream().filter(i -> "entry".equals(i.getString("kind"))).findFirst().orElseThrow();
        assertEquals(AMOUNT_RIALS, credit.getLong("amount"));
        assertEquals("topup", credit.getString("flow"));
        assertEquals("topup:" + topupId + ":credit", credit.getString("paymentId"));
        assertEquals(AMOUNT_RIALS, credit.getJsonObject("detail").getLong("balanceAfter"));
        assertEquals("topup:CREDITED:sweeper", steps.get(steps.size() - 1));
        for (JsonObject item : story) {
            for (String field : List.of("at", "kind", "flow", "paymentId", "state", "text")) {
                assertNotNull(item.getValue(field), field + " of " + item.encode());
            }
        }
    }

    /** A second settle with another fare is refused, and both the passenger's and the driver's stories show it. */
    @Test
    void aRefusedSettleAndARefusedHoldShowAsRejections() throws Exception {
        String passenger = api.openWallet("passenger");
        String driver = api.openWallet("driver");
        String poor = api.openWallet("passenger");
        api.fund(passenger, 100_000);
        String trip = ApiClient.newId("trip");
        api.settle(trip, passenger, driver, 40_000, 8_000);
        assertEquals(0, Sql.count("SELECT count(*) FROM trip_rejections WHERE trip_id = ?", trip), "an accepted settle writes no rejection");
        ApiClient.Response refused = api.post("/v1/trips/" + trip + "/settle", ApiClient.newKey(), new JsonObject()
                .put("passengerWalletId", passenger).put("driverWalletId", driver).put("fare", 45_000).put("commission", 8_000));
        assertEquals(409, refused.status(), refused.text());
        String poorTrip = ApiClient.newId("trip");
        ApiClient.Response shortHold = api.post("/v1/trips/" + poorTrip + "/hold", ApiClient.newKey(),
                new JsonObject().put("passengerWalletId", poor).put("amount", 10_000));
        assertEquals(402, shortHold.status(), shortHold.text());

        for (String wallet : List.of(passenger, driver)) {
            List<JsonObject> rejected = Stories.items(api, wallet, Stories.kind("trip_rejected"));
            assertEquals(1, rejected.size(), wallet + ": " + rejected);
            JsonObject item = rejected.get(0);
            assertEquals(trip, item.getString("paymentId"));
            assertEquals("REJECTED", item.getString("state"));
            assertEquals("trip", item.getString("flow"));
            assertEquals(45_000, item.getLong("amount"));
            assertEquals("settle", item.getJsonObject("detail").getString("step"));
            assertEquals("trip_already_settled", item.getJsonObject("detail").getString("code"));
            List<JsonObject> settled = Stories.items(api, wallet, Stories.kind("trip"));
            assertEquals(1, settled.size(), settled.toString());
            assertEquals("SETTLED", settled.get(0).getString("state"));
        }
        JsonObject hold = Stories.items(api, poor, Stories.kind("trip_rejected")).get(0);
        assertEquals(poorTrip, hold.getString("paymentId"));
        assertEquals("hold", hold.getJsonObject("detail").getString("step"));
        assertEquals("insufficient_funds", hold.getJsonObject("detail").getString("code"));
    }

    /** Holds placed and ended, a payout, a trip refund and a top-up refund, each where it belongs. */
    @Test
    void holdsPayoutsAndRefundsShowUp() throws Exception {
        String passenger = api.openWallet("passenger");
        String iban = Payouts.newIban();
        String driver = Payouts.fundedDriver(api, iban, 0);
        api.fund(passenger, 100_000);
        String trip = ApiClient.newId("trip");
        assertEquals(200, api.post("/v1/trips/" + trip + "/hold", ApiClient.newKey(),
                new JsonObject().put("passengerWalletId", passenger).put("amount", 60_000)).status());
        api.settle(trip, passenger, driver, 50_000, 10_000);
        String voided = ApiClient.newId("trip");
        assertEquals(200, api.post("/v1/trips/" + voided + "/hold", ApiClient.newKey(),
                new JsonObject().put("passengerWalletId", passenger).put("amount", 5_000)).status());
        assertEquals(200, api.post("/v1/trips/" + voided + "/cancel", ApiClient.newKey(), "{}").status());
        ApiClient.Response tripRefund = api.postAdmin("/v1/admin/trips/" + trip + "/refund", ApiClient.newKey(),
                new JsonObject().put("amount", 20_000).put("reason", "late driver").put("ticket", "SUP-7"));
        assertEquals(201, tripRefund.status(), tripRefund.text());
        ApiClient.Response payout = Payouts.create(api, driver, 10_000, iban, ApiClient.newKey());
        assertEquals(201, payout.status(), payout.text());
        String payoutId = payout.json().getString("payoutId");
        Payouts.awaitState(api, payoutId, "PAID", AWAIT_MILLIS);

        List<String> holds = Stories.items(api, passenger, Stories.kind("hold")).stream()
                .map(i -> i.getString("paymentId") + ":" + i.getString("state")).toList();
        assertEquals(Set.of(trip + ":HELD", trip + ":POSTED", voided + ":HELD", voided + ":VOIDED"), new HashSet<>(holds), holds.toString());
        for (String wallet : List.of(passenger, driver)) {
            List<JsonObject> refunds = Stories.items(api, wallet, Stories.kind("refund"));
            assertEquals(1, refunds.size(), refunds.toString());
            assertEquals("trip_refund", refunds.get(0).getString("flow"));
            assertEquals(tripRefund.json().getString("refundId"), refunds.get(0).getString("paymentId"));
            assertEquals("SUP-7", refunds.get(0).getJsonObject("detail").getString("ticket"));
        }
        List<String> payoutStates = Stories.items(api, driver, Stories.kind("payout")).stream()
                .filter(i -> payoutId.equals(i.getString("paymentId"))).map(i -> i.getString("state")).toList();
        assertEquals("PAID", payoutStates.get(0), payoutStates.toString());
        assertTrue(payoutStates.contains("HELD"), payoutStates.toString());
        JsonObject adjustment = Stories.items(api, passenger, Stories.kind("adjustment")).get(0);
        assertEquals(100_000, adjustment.getLong("amount"));
        assertEquals("adjustment", adjustment.getString("flow"));

        Refunds.Credited credited = Refunds.credited(api, psp, 30_000, AWAIT_MILLIS);
        String key = ApiClient.newKey();
        ApiClient.Response refund = Refunds.refund(api, credited.topupId(), 30_000, key);
        assertEquals(201, refund.status(), refund.text());
        Refunds.awaitState(api, Refunds.refundId(key), "REFUNDED", AWAIT_MILLIS);
        List<JsonObject> cardRefund = Stories.items(api, credited.wallet(), Stories.kind("refund"));
        assertEquals("REFUNDED", cardRefund.get(0).getString("state"), cardRefund.toString());
        assertEquals("refund", cardRefund.get(0).getString("flow"));
        assertEquals(credited.topupId(), cardRefund.get(0).getJsonObject("detail").getString("topupId"));
        List<String> callbackSteps = Stories.items(api, credited.wallet(), Stories.kind("topup")).stream()
                .filter(i -> "CALLBACK_RECEIVED".equals(i.getString("state"))).map(i -> i.getString("drivenBy")).toList();
        assertEquals(List.of("callback"), callbackSteps);
    }

    @Test
    void customersAreFoundByEveryFormOfTheirPhoneAndByOwnerId() {
        String mobile = randomMobile();
        JsonObject passenger = walletWithPhone("passenger", "0" + mobile);
        String ownerId = passenger.getString("ownerId");
        ApiClient.Response driverWallet = api.post("/v1/wallets", ApiClient.newKey(), new JsonObject().put("ownerId", ownerId)
                .put("kind", "driver").put("phone", "+98" + mobile).put("name", "Ali Mohammadi"));
        assertEquals(201, driverWallet.status(), driverWallet.text());

        for (String form : List.of("0" + mobile, "+98" + mobile, "0098" + mobile, mobile)) {
            ApiClient.Response found = Stories.customers(api, "phone", form);
            assertEquals(200, found.status(), form + ": " + found.text());
            assertEquals(1, found.json().getJsonArray("customers").size(), form + ": " + found.text());
            JsonObject customer = found.json().getJsonArray("customers").getJsonObject(0);
            assertEquals(ownerId, customer.getString("ownerId"));
            assertEquals(2, customer.getJsonArray("wallets").size(), found.text());
        }
        JsonObject byOwner = Stories.customers(api, "ownerId", ownerId).json().getJsonArray("customers").getJsonObject(0);
        assertEquals("0" + mobile, byOwner.getString("phone"));
        assertEquals("Ali Mohammadi", byOwner.getString("name"));
        JsonObject first = byOwner.getJsonArray("wallets").getJsonObject(0);
        assertEquals(passenger.getString("walletId"), first.getString("walletId"));
        assertEquals("passenger", first.getString("kind"));
        for (String field : List.of("balance", "available", "held", "createdAt")) {
            assertNotNull(first.getValue(field), field + " of " + first.encode());
        }
        ApiClient.Response none = Stories.customers(api, "phone", "0" + randomMobile());
        assertEquals(200, none.status());
        assertEquals(0, none.json().getJsonArray("customers").size(), none.text());
    }

    /** Pages of 3 return every item of the story exactly once, in the order of one page of all of them. */
    @Test
    void pagingWithTheCursorReturnsEveryItemExactlyOnce() {
        String passenger = api.openWallet("passenger");
        String driver = api.openWallet("driver");
        for (int i = 0; i < 4; i++) {
            api.fund(passenger, 10_000);
            api.settle(ApiClient.newId("trip"), passenger, driver, 5_000, 1_000);
        }
        List<JsonObject> whole = Stories.page(api, passenger, "limit=500").getJsonArray("items").stream()
                .map(JsonObject.class::cast).toList();
        assertEquals(12, whole.size(), "4 adjustments, 4 settlements and their 4 entries, and nothing else: " + whole);
        List<JsonObject> paged = Stories.all(api, passenger, 3);
        assertEquals(whole, paged);
        assertNewestFirst(paged);

        String middle = whole.get(8).getString("at");
        List<JsonObject> since = Stories.page(api, passenger, "limit=500&since=" + Stories.encode(middle))
                .getJsonArray("items").stream().map(JsonObject.class::cast).toList();
        assertTrue(since.size() >= 9 && since.stream().allMatch(i -> i.getString("at").compareTo(middle) >= 0), since.toString());
        assertEquals(whole.subList(0, since.size()), since);
    }

    @Test
    void badParametersAre400AndAnUnknownWalletIs404() {
        String wallet = api.openWallet("passenger");
        Map<String, String> refused = Map.of(
                "since=yesterday", "invalid_query",
                "since=2026-13-45T99:00:00Z", "invalid_query",
                "cursor=not*a*cursor", "invalid_cursor",
                "cursor=" + java.util.Base64.getUrlEncoder().withoutPadding().encodeToString("garbage".getBytes()), "invalid_cursor",
                "limit=0", "invalid_query",
                "limit=100000", "invalid_query",
                "limit=ten", "invalid_query",
                "state=HELD", "invalid_query");
        refused.forEach((query, code) -> {
            ApiClient.Response r = api.getAdmin(Stories.path(wallet) + "?" + query);
            assertEquals(400, r.status(), query + ": " + r.text());
            assertEquals(code, r.errorCode(), query + ": " + r.text());
        });
        assertEquals(404, api.getAdmin(Stories.path("w_nobody")).status());
        for (String query : List.of("", "phone=0912&ownerId=x", "phone=abc", "name=Ali", "ownerId=a&wallet=b")) {
            ApiClient.Response r = api.getAdmin("/v1/admin/customers" + (query.isEmpty() ? "" : "?" + query));
            assertEquals(400, r.status(), query + ": " + r.text());
            assertEquals("invalid_query", r.errorCode(), query + ": " + r.text());
        }
    }

    @Test
    void anApiKeyIsNotTheAdminToken() {
        String wallet = api.openWallet("passenger");
        for (String path : List.of(Stories.path(wallet), "/v1/admin/customers?ownerId=x")) {
            ApiClient.Response r = api.get(path);
            assertEquals(401, r.status(), path + ": " + r.text());
            assertEquals("Bearer", r.header("WWW-Authenticate"));
            assertNull(r.json().getJsonArray("items"), r.text());
        }
    }

    private static void assertNewestFirst(List<JsonObject> items) {
        for (int i = 1; i < items.size(); i++) {
            Instant before = Instant.parse(items.get(i - 1).getString("at"));
            Instant after = Instant.parse(items.get(i).getString("at"));
            assertFalse(after.isAfter(before), "item " + i + " is newer than the one before it: " + items.get(i - 1) + " / " + items.get(i));
        }
    }

    /** An Iranian mobile number without its leading 0: 9 and 9 more digits, different each call. */
    private static String randomMobile() {
        return "91" + String.format("%08d", ThreadLocalRandom.current().nextInt(100_000_000));
    }

    private static JsonObject walletWithPhone(String kind, String phone) {
        ApiClient.Response r = api.post("/v1/wallets", ApiClient.newKey(), new JsonObject().put("ownerId", ApiClient.newId("owner"))
                .put("kind", kind).put("phone", phone));
        if (r.status() != 201) {
            throw new AssertionError("open wallet: " + r.status() + " " + r.text());
        }
        return r.json();
    }
}
