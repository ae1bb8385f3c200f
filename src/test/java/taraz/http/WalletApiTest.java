package taraz.http;

import taraz.support.Wait;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import taraz.config.Settings;
import taraz.support.ApiClient;
import taraz.support.TestGateway;

import static taraz.support.Sql.update;

/** The wallet, trip-lifecycle, admin and operational endpoints, each on its own wallets. */
class WalletApiTest {

    static final Map<String, String> ADMIN_JSON = Map.of("Content-Type", "application/json",
            "Authorization", "Bearer " + TestGateway.ADMIN_TOKEN);
    static final long POLL_MILLIS_MAX = 10_000;

    static ApiClient api;

    @BeforeAll
    static void setUp() {
        TestGateway gateway = TestGateway.get();
        api = gateway.api();
    }

    @Test
    void opensAWalletOncePerOwnerAndKind() {
        String owner = ApiClient.newId("owner");
        ApiClient.Response opened = api.post("/v1/wallets", ApiClient.newKey(), new JsonObject().put("ownerId", owner)
                .put("kind", "passenger").put("phone", "+989121234567").put("name", "Sara"));
        assertEquals(201, opened.status(), opened.text());
        JsonObject wallet = opened.json();
        assertNotNull(wallet.getString("walletId"));
        assertEquals("passenger", wallet.getString("kind"));
        assertEquals(owner, wallet.getString("ownerId"));
        assertEquals(0L, wallet.getLong("balance"));
        assertEquals(0L, wallet.getLong("available"));

        JsonObject read = api.wallet(wallet.getString("walletId"));
        assertEquals(wallet.getString("walletId"), read.getString("walletId"));
        assertEquals(0L, read.getLong("balance"));
        assertEquals(0L, read.getLong("available"));
        assertTrue(read.getJsonArray("holds").isEmpty());

        ApiClient.Response duplicate = api.post("/v1/wallets", ApiClient.newKey(), new JsonObject().put("ownerId", owner)
                .put("kind", "passenger"));
        assertEquals(409, duplicate.status(), duplicate.text());
        assertEquals("wallet_already_exists", duplicate.errorCode());

        // Without a key too (opening a wallet moves no money): still one wallet per owner and kind.
        ApiClient.Response noKey = api.post("/v1/wallets", null, new JsonObject().put("ownerId", owner)
                .put("kind", "passenger").encode());
        assertEquals(409, noKey.status(), noKey.text());
        assertEquals("wallet_already_exists", noKey.errorCode());

        ApiClient.Response driver = api.post("/v1/wallets", ApiClient.newKey(), new JsonObject().put("ownerId", owner)
                .put("kind", "driver"));
        assertEquals(201, driver.status(), driver.text());
        assertEquals("driver", driver.json().getString("kind"));
        assertFalse(driver.json().getString("walletId").equals(wallet.getString("walletId")));
    }

    @Test
    void aWalletShowsItsActiveHolds() {
        String passenger = api.openWallet("passenger");
        api.fund(passenger, 50_000);
        String trip = ApiClient.newId("trip");
        ApiClient.Response held = api.post("/v1/trips/" + trip + "/hold", ApiClient.newKey(),
                new JsonObject().put("passengerWalletId", passenger).put("amount", 20_000L));
        assertEquals(200, held.status(), held.text());
        assertEquals("HELD", held.json().getString("state"));
        assertEquals(20_000L, held.json().getJsonObject("hold").getLong("amount"));

        JsonObject wallet = api.wallet(passenger);
        assertEquals(50_000L, wallet.getLong("balance"));
        assertEquals(30_000L, wallet.getLong("available"));
        JsonArray holds = wallet.getJsonArray("holds");
        assertEquals(1, holds.size(), holds.encode());
        assertEquals("trip:" + trip + ":hold", holds.getJsonObject(0).getString("holdId"));
        assertEquals(20_000L, holds.getJsonObject(0).getLong("amount"));
        assertNotNull(holds.getJsonObject(0).getString("expiresAt"));
    }

    @Test
    void transactionsPageNewestFirst() {
        String passenger = api.openWallet("passenger");
        for (int i = 1; i <= 5; i++) {
            api.fund(passenger, i * 1_000L);
        }
        List<JsonObject> seen = new ArrayList<>();
        List<Integer> pageSizes = new ArrayList<>();
        String cursor = null;
        for (int page = 0; page < 10; page++) {
            ApiClient.Response r = api.get("/v1/wallets/" + passenger + "/transactions?limit=2"
                    + (cursor == null ? "" : "&cursor=" + cursor));
            assertEquals(200, r.status(), r.text());
            assertEquals(passenger, r.json().getString("walletId"));
            JsonArray entries = r.json().getJsonArray("entries");
            pageSizes.add(entries.size());
            entries.forEach(e -> seen.add((JsonObject) e));
            cursor = r.json().getString("nextCursor");
            if (cursor == null) {
                break;
            }
        }
        assertNull(cursor, "paging ends with a null cursor");
        assertEquals(List.of(2, 2, 1), pageSizes);
        assertEquals(5, seen.size());
        Set<String> ids = new HashSet<>();
        seen.forEach(e -> assertTrue(ids.add(e.getString("entryId")), "duplicate " + e));
        List<Long> amounts = seen.stream().map(e -> e.getLong("amount")).toList();
        assertEquals(List.of(5_000L, 4_000L, 3_000L, 2_000L, 1_000L), amounts, "newest first");
        List<Long> balances = seen.stream().map(e -> e.getLong("balanceAfter")).toList();
        assertEquals(List.of(15_000L, 10_000L, 6_000L, 3_000L, 1_000L), balances);
        for (int i = 1; i < seen.size(); i++) {
            assertTrue(Long.parseLong(seen.get(i - 1).getString("entryId")) > Long.parseLong(seen.get(i).getString("entryId")));
        }
        seen.forEach(e -> assertEquals("adjustment", e.getString("kind")));

        // One page of everything, and the default page.
        ApiClient.Response all = api.get("/v1/wallets/" + passenger + "/transactions");
        assertEquals(200, all.status());
        assertEquals(5, all.json().getJsonArray("entries").size());
        assertNull(all.json().getString("nextCursor"));
    }

    @Test
    void adminAdjustmentsCreditAndDebit() {
        String passenger = api.openWallet("passenger");
        ApiClient.Response credit = adjust(passenger, 10_000, ApiClient.newKey());
        assertEquals(201, credit.status(), credit.text());
        assertEquals(passenger, credit.json().getString("walletId"));
        assertEquals(10_000L, credit.json().getLong("amount"));
        assertEquals(10_000L, credit.json().getLong("balance"));
        assertNotNull(credit.json().getString("adjustmentId"));

        ApiClient.Response debit = adjust(passenger, -4_000, ApiClient.newKey());
        assertEquals(201, debit.status(), debit.text());
        assertEquals(6_000L, debit.json().getLong("balance"));
        assertEquals(6_000L, api.balance(passenger));

        ApiClient.Response tooMuch = adjust(passenger, -6_001, ApiClient.newKey());
        assertEquals(402, tooMuch.status(), tooMuch.text());
        assertEquals("insufficient_funds", tooMuch.errorCode());
        assertEquals(6_000L, api.balance(passenger));
        assertEquals(6_000L, api.available(passenger));

        // A replayed adjustment credits once.
        String key = ApiClient.newKey();
        assertEquals(201, adjust(passenger, 1_000, key).status());
        ApiClient.Response replay = adjust(passenger, 1_000, key);
        assertEquals(201, replay.status());
        assertEquals("true", replay.header("Idempotent-Replayed"));
        assertEquals(7_000L, api.balance(passenger));

        // A debit cannot eat into held funds.
        String trip = ApiClient.newId("trip");
        assertEquals(200, api.post("/v1/trips/" + trip + "/hold", ApiClient.newKey(),
                new JsonObject().put("passengerWalletId", passenger).put("amount", 5_000L)).status());
        ApiClient.Response intoHold = adjust(passenger, -2_001, ApiClient.newKey());
        assertEquals(402, intoHold.status(), intoHold.text());
        assertEquals(7_000L, api.balance(passenger));
        assertEquals(2_000L, api.available(passenger));
    }

    @Test
    void adminPaymentsListsAJustSettledTrip() {
        String passenger = api.openWallet("passenger");
        String driver = api.openWallet("driver");
        api.fund(passenger, 100_000);
        String trip = ApiClient.newId("trip");
        ApiClient.Response settled = api.post("/v1/trips/" + trip + "/settle", ApiClient.newKey(), new JsonObject()
                .put("passengerWalletId", passenger).put("driverWalletId", driver).put("fare", 30_000L)
                .put("commission", 3_000L));
        assertEquals(200, settled.status(), settled.text());
        assertEquals("SETTLED", settled.json().getString("state"));
        assertEquals(27_000L, settled.json().getLong("driverShare"));
        assertEquals(70_000L, api.balance(passenger));
        assertEquals(27_000L, api.balance(driver));

        ApiClient.Response listed = api.getAdmin("/v1/admin/payments?state=SETTLED&olderThan=0s&limit=500");
        assertEquals(200, listed.status(), listed.text());
        JsonObject payment = null;
        for (Object o : listed.json().getJsonArray("payments")) {
            JsonObject p = (JsonObject) o;
            assertEquals("SETTLED", p.getString("state"));
            if (trip.equals(p.getString("paymentId"))) {
                payment = p;
            }
        }
        assertNotNull(payment, "the settled trip is listed: " + listed.text());
        assertEquals("trip", payment.getString("flow"));
        assertEquals(30_000L, payment.getLong("amount"));
        assertEquals(passenger, payment.getString("walletId"));

        ApiClient.Response held = api.getAdmin("/v1/admin/payments?state=HELD&olderThan=0s&limit=500");
        assertEquals(200, held.status());
        for (Object o : held.json().getJsonArray("payments")) {
            assertFalse(trip.equals(((JsonObject) o).getString("paymentId")));
        }
        ApiClient.Response old = api.getAdmin("/v1/admin/payments?state=SETTLED&olderThan=1d&limit=500");
        assertEquals(200, old.status());
        for (Object o : old.json().getJsonArray("payments")) {
            assertFalse(trip.equals(((JsonObject) o).getString("paymentId")), "not a day old");
        }
    }

    /**
     * One customer's payments, every flow: {@code walletId=} keeps to their wallet, a state matches in any case,
     * adjustments are listed from their transfers, and pages of one follow each other by cursor, none repeated.
     */
    @Test
    void adminPaymentsFiltersByWalletAndPagesByCursor() {
        String passenger = api.openWallet("passenger");
        String driver = api.openWallet("driver");
        api.fund(passenger, 100_000);
        List<String> trips = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            String trip = ApiClient.newId("paged");
            api.settle(trip, passenger, driver, 1_000, 100);
            trips.add(trip);
        }
        ApiClient.Response adjusted = api.postAdmin("/v1/admin/adjustments", ApiClient.newKey(), new JsonObject()
                .put("walletId", passenger).put("amount", -500).put("reason", "duplicate fare").put("ticket", "T-77"));
        assertEquals(201, adjusted.status(), adjusted.text());
        String adjustmentId = adjusted.json().getString("adjustmentId");

        List<JsonObject> all = new ArrayList<>();
        String cursor = null;
        int pages = 0;
        do {
            ApiClient.Response page = api.getAdmin("/v1/admin/payments?walletId=" + passenger + "&limit=2"
                    + (cursor == null ? "" : "&cursor=" + cursor));
            assertEquals(200, page.status(), page.text());
            page.json().getJsonArray("payments").forEach(o -> all.add((JsonObject) o));
            cursor = page.json().getString("nextCursor");
            assertTrue(++pages <= 4, "pages end: " + all);
        } while (cursor != null);
        for (JsonObject p : all) {
            assertEquals(passenger, p.getString("walletId"), p.encode());
        }
        List<String> ids = all.stream().map(p -> p.getString("flow") + "/" + p.getString("paymentId")).toList();
        List<String> expected = new ArrayList<>();
        trips.forEach(t -> expected.add("trip/" + t));
        expected.add("adjustment/" + adjustmentId);
        // The funding (ApiClient.fund) is an adjustment too: a credit.
        assertEquals(expected.size() + 1, ids.size(), "each once: " + ids);
        assertEquals(ids.size(), ids.stream().distinct().count(), "each once: " + ids);
        assertTrue(ids.containsAll(expected), ids.toString());
        assertTrue(all.stream().anyMatch(p -> "adjustment".equals(p.getString("flow")) && p.getLong("amount") == 100_000L),
                "the funding credit: " + all);
        JsonObject adjustment = all.stream().filter(p -> adjustmentId.equals(p.getString("paymentId"))).findFirst().orElseThrow();
        assertEquals("APPLIED", adjustment.getString("state"));
        assertEquals(-500L, adjustment.getLong("amount"), "a debit's leg: " + adjustment.encode());

        ApiClient.Response settled = api.getAdmin("/v1/admin/payments?walletId=" + passenger + "&state=settled");
        assertEquals(200, settled.status(), settled.text());
        assertEquals(3, settled.json().getJsonArray("payments").size(), settled.text());
        assertEquals(null, settled.json().getString("nextCursor"));
        ApiClient.Response applied = api.getAdmin("/v1/admin/payments?walletId=" + passenger + "&state=Applied");
        assertEquals(2, applied.json().getJsonArray("payments").size(), applied.text());
    }

    @Test
    void cancellingAHeldTripVoidsIt() {
        String passenger = api.openWallet("passenger");
        String driver = api.openWallet("driver");
        api.fund(passenger, 40_000);
        String trip = ApiClient.newId("trip");
        ApiClient.Response held = api.post("/v1/trips/" + trip + "/hold", ApiClient.newKey(),
                new JsonObject().put("passengerWalletId", passenger).put("amount", 25_000L));
        assertEquals(200, held.status(), held.text());
        assertEquals(15_000L, api.available(passenger));

        ApiClient.Response cancelled = api.post("/v1/trips/" + trip + "/cancel", ApiClient.newKey(), (String) null);
        assertEquals(200, cancelled.status(), cancelled.text());
        assertEquals("VOIDED", cancelled.json().getString("state"));
        assertEquals(40_000L, api.available(passenger));
        assertEquals(40_000L, api.balance(passenger));
        assertTrue(api.wallet(passenger).getJsonArray("holds").isEmpty());

        ApiClient.Response again = api.post("/v1/trips/" + trip + "/cancel", ApiClient.newKey(), "{\"reason\":\"rider left\"}");
        assertEquals(200, again.status(), again.text());
        assertEquals("VOIDED", again.json().getString("state"));
        assertNull(again.header("Idempotent-Replayed"));
        assertEquals(40_000L, api.available(passenger));

        ApiClient.Response settle = api.post("/v1/trips/" + trip + "/settle", ApiClient.newKey(), new JsonObject()
                .put("passengerWalletId", passenger).put("driverWalletId", driver).put("fare", 25_000L)
                .put("commission", 0L));
        assertEquals(409, settle.status(), settle.text());
        assertEquals("trip_voided", settle.errorCode());
        assertEquals(40_000L, api.balance(passenger));
        assertEquals(0L, api.balance(driver));

        ApiClient.Response hold = api.post("/v1/trips/" + trip + "/hold", ApiClient.newKey(),
                new JsonObject().put("passengerWalletId", passenger).put("amount", 25_000L));
        assertEquals(409, hold.status(), hold.text());
        assertEquals("trip_voided", hold.errorCode());
        assertEquals(40_000L, api.available(passenger));
    }

    @Test
    void settlingAHeldTripPostsTheHold() {
        String passenger = api.openWallet("passenger");
        String driver = api.openWallet("driver");
        api.fund(passenger, 40_000);
        String trip = ApiClient.newId("trip");
        assertEquals(200, api.post("/v1/trips/" + trip + "/hold", ApiClient.newKey(),
                new JsonObject().put("passengerWalletId", passenger).put("amount", 30_000L)).status());
        ApiClient.Response settled = api.post("/v1/trips/" + trip + "/settle", ApiClient.newKey(), new JsonObject()
                .put("passengerWalletId", passenger).put("driverWalletId", driver).put("fare", 28_000L)
                .put("commission", 4_000L));
        assertEquals(200, settled.status(), settled.text());
        assertEquals("SETTLED", settled.json().getString("state"));
        JsonArray transfers = settled.json().getJsonArray("transfers");
        assertEquals(1, transfers.size());
        long sum = 0;
        for (Object leg : transfers.getJsonObject(0).getJsonArray("legs")) {
            sum += ((JsonObject) leg).getLong("amount");
        }
        assertEquals(0, sum, "the legs balance");
        assertEquals(12_000L, api.balance(passenger));
        assertEquals(12_000L, api.available(passenger));
        assertEquals(24_000L, api.balance(driver));

        ApiClient.Response cancel = api.post("/v1/trips/" + trip + "/cancel", ApiClient.newKey(), (String) null);
        assertEquals(409, cancel.status(), cancel.text());
        assertEquals("trip_already_settled", cancel.errorCode());
        assertEquals(12_000L, api.balance(passenger));
    }

    @Test
    void anExpiredHoldIsSweptAndItsFundsReleased() throws Exception {
        String passenger = api.openWallet("passenger");
        api.fund(passenger, 60_000);
        String trip = ApiClient.newId("trip");
        ApiClient.Response held = api.post("/v1/trips/" + trip + "/hold", ApiClient.newKey(),
                new JsonObject().put("passengerWalletId", passenger).put("amount", 45_000L));
        assertEquals(200, held.status(), held.text());
        assertEquals(15_000L, api.available(passenger));

        assertEquals(1, update("UPDATE trips SET hold_expires_at = now() - interval '1 second' WHERE trip_id = ?", trip));
        assertEquals(1, update("UPDATE holds SET expires_at = now() - interval '1 second' WHERE id = ?",
                "trip:" + trip + ":hold"));

        Wait.until("the sweeper expires the hold", POLL_MILLIS_MAX, () -> {
            ApiClient.Response r = api.get("/v1/trips/" + trip);
            assertEquals(200, r.status(), r.text());
            return r.json().getString("state");
        }, "EXPIRED"::equals);
        assertEquals(60_000L, api.available(passenger));
        assertEquals(60_000L, api.balance(passenger));
        assertTrue(api.wallet(passenger).getJsonArray("holds").isEmpty());

        ApiClient.Response settle = api.post("/v1/trips/" + trip + "/settle", ApiClient.newKey(), new JsonObject()
                .put("passengerWalletId", passenger).put("driverWalletId", api.openWallet("driver"))
                .put("fare", 45_000L).put("commission", 0L));
        assertEquals(409, settle.status(), settle.text());
        assertEquals("trip_expired", settle.errorCode());
        assertEquals(60_000L, api.balance(passenger));
    }

    @Test
    void servesItsOpenApiContract() {
        ApiClient.Response r = api.get("/openapi.yaml");
        assertEquals(200, r.status());
        assertTrue(r.text().contains("openapi: 3.1.0"), r.text());
    }

    @Test
    void liveAndReadyAnswer200AndReadinessSaysUp() {
        ApiClient.Response live = api.get("/health/live");
        assertEquals(200, live.status());
        ApiClient.Response ready = api.get("/health/ready");
        assertEquals(200, ready.status(), ready.text());
        assertEquals("UP", ready.json().getString("outcome"), ready.text());
    }

    @Test
    void metricsListTheInflightGaugeAndThePaymentsCounter() {
        String passenger = api.openWallet("passenger");
        api.fund(passenger, 1_000);
        assertEquals(200, api.post("/v1/trips/" + ApiClient.newId("trip") + "/hold", ApiClient.newKey(),
                new JsonObject().put("passengerWalletId", passenger).put("amount", 500L)).status());
        ApiClient.Response r = api.get("/metrics");
        assertEquals(200, r.status());
        assertTrue(r.text().contains("taraz_inflight_transactions"), "taraz_inflight_transactions");
        assertTrue(r.text().contains("taraz_payments_total"), "taraz_payments_total");
    }

    @Test
    void metricsCarryWhatTheAlertsReadBesideTheirCounts() {
        // The gauges conf/prometheus/alerts.yml divides by or compares with, from this node's settings.
        String metrics = api.get("/metrics").text();
        Settings defaults = Settings.defaults();
        assertEquals(1.0, value(metrics, "taraz_ready"), "the node is READY");
        assertEquals(defaults.ledger().queueMax(), value(metrics, "taraz_ledger_queue_capacity"));
        assertEquals(defaults.journal().queueCapacity(), value(metrics, "taraz_journal_queue_capacity"));
        assertTrue(value(metrics, "taraz_journal_append_errors_total") >= 0, "the append errors counter is exported");
        assertEquals(0.0, value(metrics, "taraz_recovery_unresolved_payments"), "a fresh data directory: nothing to recover");
        assertEquals(0.0, value(metrics, "taraz_drain_deadline_last_timestamp_seconds"), "no stop ever reached its deadline");
    }

    // ---- helpers ---------------------------------------------------------------------------

    /** The value of the one series of {@code name} (no labels) in Prometheus text. */
    private static double value(String metrics, String name) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?m)^" + name + " (\\S+)$").matcher(metrics);
        assertTrue(m.find(), name + " in /metrics");
        return Double.parseDouble(m.group(1));
    }

    static ApiClient.Response adjust(String walletId, long amount, String key) {
        return api.post("/v1/admin/adjustments", key, new JsonObject().put("walletId", walletId).put("amount", amount)
                .put("reason", "support").put("ticket", "T-42").encode(), ADMIN_JSON);
    }

}
