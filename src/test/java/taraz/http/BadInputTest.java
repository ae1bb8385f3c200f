package taraz.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import taraz.support.ApiClient;
import taraz.support.Sql;
import taraz.support.TestGateway;

/**
 * Bad requests of every kind are answered with a 4xx, a stable code and the error shape, and
 * write nothing: after each of them the wallets, their ledger rows and the held trip are
 * exactly as before it.
 *
 * <p>The table uses placeholders, replaced at run time: {P} a funded passenger wallet, {P2} an
 * empty passenger wallet, {D} a driver wallet, {T} a trip held on P, {NEW} a fresh trip id,
 * {KEY} a fresh idempotency key, {ADMIN} the admin bearer token.
 */
class BadInputTest {

    static final long FUNDS = 1_000_000;
    static final long HELD = 100_000;

    /** Sends each row's request as it stands: HTTP/1.1, no credential but the row's own. */
    static ApiClient raw;

    /** Codes of rejections made before the idempotency key is claimed: never stored under the key. */
    static final Set<String> VALIDATION_CODES = Set.of("invalid_json", "unknown_field", "missing_field",
            "invalid_amount", "invalid_type", "invalid_field", "idempotency_key_missing", "idempotency_key_invalid",
            "invalid_id", "payload_too_large", "unsupported_media_type", "unauthorized");

    static ApiClient api;
    /** One connection for the snapshots the rows take before and after their requests. */
    static Connection sql;
    static String p;
    static String p2;
    static String d;
    static String t;

    record Snapshot(long pBalance, long pAvailable, long dBalance, long dAvailable, long p2Balance, long p2Available,
                    long entries, long transfers, long holds, long trips, Map<String, Object> trip,
                    Map<String, Object> hold) {}

    @BeforeAll
    static void setUp() throws Exception {
        TestGateway gateway = TestGateway.get();
        raw = ApiClient.http11(gateway.baseUrl()).withAuthorization(null);
        sql = Sql.connect();
        api = gateway.api();
        p = api.openWallet("passenger");
        p2 = api.openWallet("passenger");
        d = api.openWallet("driver");
        api.fund(p, FUNDS);
        t = ApiClient.newId("trip");
        ApiClient.Response held = api.post("/v1/trips/" + t + "/hold", ApiClient.newKey(),
                new JsonObject().put("passengerWalletId", p).put("amount", HELD));
        assertEquals(200, held.status(), held.text());
        assertEquals("HELD", held.json().getString("state"));
        Snapshot setUp = snapshot();
        assertEquals(FUNDS, setUp.pBalance());
        assertEquals(FUNDS - HELD, setUp.pAvailable());
        assertEquals(1, setUp.holds());
        assertEquals(1, setUp.trips());
    }

    @AfterAll
    static void closeConnection() throws SQLException {
        sql.close();
    }

    // ---- the table -------------------------------------------------------------------------

    static final Map<String, String> JSON_KEY = Map.of("Content-Type", "application/json", "Idempotency-Key", "{KEY}");
    static final Map<String, String> JSON_ONLY = Map.of("Content-Type", "application/json");
    static final Map<String, String> NONE = Map.of();
    static final Map<String, String> ADMIN_JSON_KEY = Map.of("Content-Type", "application/json",
            "Idempotency-Key", "{KEY}", "Authorization", "Bearer {ADMIN}");
    static final Map<String, String> ADMIN = Map.of("Authorization", "Bearer {ADMIN}");
    /** An Authorization value that {@link #send} drops: the request goes out with no credential. */
    static final String NONE_MARK = "{NONE}";
    static final Map<String, String> NO_CREDENTIAL = Map.of("Authorization", NONE_MARK);

    static final String HOLD_NEW = "/v1/trips/{NEW}/hold";
    static final String SETTLE_T = "/v1/trips/{T}/settle";
    static final String ADJUST = "/v1/admin/adjustments";

    static String hold(String amountLiteral) {
        return "{\"passengerWalletId\":\"{P}\",\"amount\":" + amountLiteral + "}";
    }

    static String settle(String passenger, String driver, String fare, String commission) {
        return "{\"passengerWalletId\":\"" + passenger + "\",\"driverWalletId\":\"" + driver + "\",\"fare\":" + fare
                + ",\"commission\":" + commission + "}";
    }

    static String adjust(String wallet, String amountLiteral) {
        return "{\"walletId\":\"" + wallet + "\",\"amount\":" + amountLiteral + ",\"reason\":\"test\",\"ticket\":\"T-9\"}";
    }

    /** Rows whose message is part of the contract too: an amount that is no JSON number is told so in words, not the schema's. */
    static final Map<String, String> MESSAGES = Map.of(
            "amount as a string \"5\"", "amount must be a JSON integer (rials)",
            "amount as a boolean", "amount must be a JSON integer (rials)",
            "amount null", "amount must be a JSON integer (rials)",
            "fare as a string", "fare must be a JSON integer (rials)",
            "admin adjustment amount as a string", "amount must be a JSON integer (rials)");

    static Arguments row(String description, String method, String path, Map<String, String> headers, String body,
                         int status, String code) {
        return Arguments.of(description, method, path, headers, body, status, code);
    }

    static Stream<Arguments> badRequests() {
        String validHold = hold("1000");
        String tooLongId = "t".repeat(65);
        return Stream.of(
                // -- the JSON itself
                row("malformed JSON", "POST", HOLD_NEW, JSON_KEY, "{\"passengerWalletId\":\"{P}\",\"amount\":", 400, "invalid_json"),
                row("a JSON array instead of an object", "POST", HOLD_NEW, JSON_KEY, "[" + validHold + "]", 400, "invalid_json"),
                row("trailing garbage after the object", "POST", HOLD_NEW, JSON_KEY, validHold + " x", 400, "invalid_json"),
                row("trailing {\"a\":1} x", "POST", HOLD_NEW, JSON_KEY, "{\"a\":1} x", 400, "invalid_json"),
                row("two objects back to back", "POST", HOLD_NEW, JSON_KEY, validHold + validHold, 400, "invalid_json"),
                row("duplicate keys", "POST", HOLD_NEW, JSON_KEY, "{\"passengerWalletId\":\"{P}\",\"amount\":1000,\"amount\":2000}", 400, "invalid_json"),
                row("JSON null as the body", "POST", HOLD_NEW, JSON_KEY, "null", 400, "invalid_json"),
                row("a JSON string as the body", "POST", HOLD_NEW, JSON_KEY, "\"hello\"", 400, "invalid_json"),
                row("empty body where one is required", "POST", HOLD_NEW, JSON_KEY, "", 400, "invalid_json"),
                // -- the schema
                row("unknown field", "POST", HOLD_NEW, JSON_KEY, "{\"passengerWalletId\":\"{P}\",\"amount\":1000,\"tip\":5}", 400, "unknown_field"),
                row("missing required field amount", "POST", HOLD_NEW, JSON_KEY, "{\"passengerWalletId\":\"{P}\"}", 400, "missing_field"),
                row("missing required field commission", "POST", SETTLE_T, JSON_KEY, "{\"passengerWalletId\":\"{P}\",\"driverWalletId\":\"{D}\",\"fare\":1000}", 400, "missing_field"),
                row("amount as a string \"5\"", "POST", HOLD_NEW, JSON_KEY, hold("\"5\""), 400, "invalid_amount"),
                row("amount as a boolean", "POST", HOLD_NEW, JSON_KEY, hold("true"), 400, "invalid_amount"),
                row("amount null", "POST", HOLD_NEW, JSON_KEY, hold("null"), 400, "invalid_amount"),
                row("fare as a string", "POST", SETTLE_T, JSON_KEY, settle("{P}", "{D}", "\"1000\"", "0"), 400, "invalid_amount"),
                row("wallet id as an object", "POST", HOLD_NEW, JSON_KEY, "{\"passengerWalletId\":{\"id\":\"{P}\"},\"amount\":1000}", 400, "invalid_type"),
                row("wallet id as a number", "POST", HOLD_NEW, JSON_KEY, "{\"passengerWalletId\":123,\"amount\":1000}", 400, "invalid_type"),
                row("wallet id with a bad character", "POST", HOLD_NEW, JSON_KEY, "{\"passengerWalletId\":\"w bad\",\"amount\":1000}", 400, "invalid_field"),
                // -- amounts
                row("negative amount", "POST", HOLD_NEW, JSON_KEY, hold("-5"), 400, "invalid_amount"),
                row("zero amount", "POST", HOLD_NEW, JSON_KEY, hold("0"), 400, "invalid_amount"),
                row("fractional amount 1.5", "POST", HOLD_NEW, JSON_KEY, hold("1.5"), 400, "invalid_amount"),
                row("exponent amount 1e3", "POST", HOLD_NEW, JSON_KEY, hold("1e3"), 400, "invalid_amount"),
                row("amount 1.0", "POST", HOLD_NEW, JSON_KEY, hold("1.0"), 400, "invalid_amount"),
                row("overflowing amount 2^63", "POST", HOLD_NEW, JSON_KEY, hold("9223372036854775808"), 400, "invalid_amount"),
                row("amount Long.MAX_VALUE", "POST", HOLD_NEW, JSON_KEY, hold("9223372036854775807"), 400, "invalid_amount"),
                row("amount above amountRialsMax", "POST", HOLD_NEW, JSON_KEY, hold("1000000000001"), 400, "invalid_amount"),
                row("fare above amountRialsMax", "POST", SETTLE_T, JSON_KEY, settle("{P}", "{D}", "1000000000001", "0"), 400, "invalid_amount"),
                row("commission greater than the fare", "POST", SETTLE_T, JSON_KEY, settle("{P}", "{D}", "1000", "1001"), 422, "invalid_commission"),
                row("negative commission", "POST", SETTLE_T, JSON_KEY, settle("{P}", "{D}", "1000", "-1"), 400, "invalid_amount"),
                row("fractional commission", "POST", SETTLE_T, JSON_KEY, settle("{P}", "{D}", "1000", "0.5"), 400, "invalid_amount"),
                // -- wallets and trips that do not fit
                row("unknown passenger wallet", "POST", HOLD_NEW, JSON_KEY, "{\"passengerWalletId\":\"w_doesnotexist0\",\"amount\":1000}", 404, "wallet_not_found"),
                row("a system account as the passenger wallet", "POST", HOLD_NEW, JSON_KEY, "{\"passengerWalletId\":\"platform-commission\",\"amount\":1000}", 404, "wallet_not_found"),
                row("driver wallet as the passenger's (hold)", "POST", HOLD_NEW, JSON_KEY, "{\"passengerWalletId\":\"{D}\",\"amount\":1000}", 422, "wallet_kind_mismatch"),
                row("driver wallet as the passenger's (settle)", "POST", SETTLE_T, JSON_KEY, settle("{D}", "{P}", "1000", "0"), 422, "wallet_kind_mismatch"),
                row("passenger wallet as the driver's", "POST", SETTLE_T, JSON_KEY, settle("{P}", "{P2}", "1000", "0"), 422, "wallet_kind_mismatch"),
                row("unknown driver wallet", "POST", SETTLE_T, JSON_KEY, settle("{P}", "w_doesnotexist0", "1000", "0"), 404, "wallet_not_found"),
                row("same wallet as passenger and driver", "POST", SETTLE_T, JSON_KEY, settle("{P}", "{P}", "1000", "0"), 422, "same_wallet"),
                row("settle the held trip with another passenger", "POST", SETTLE_T, JSON_KEY, settle("{P2}", "{D}", "1000", "0"), 409, "trip_passenger_mismatch"),
                row("hold the held trip again with another amount", "POST", "/v1/trips/{T}/hold", JSON_KEY, hold("2000"), 409, "trip_already_held"),
                row("settle more than available", "POST", "/v1/trips/{NEW}/settle", JSON_KEY, settle("{P}", "{D}", "5000000", "0"), 402, "insufficient_funds"),
                row("hold more than available", "POST", HOLD_NEW, JSON_KEY, hold("900001"), 402, "insufficient_funds"),
                row("cancel an unknown trip", "POST", "/v1/trips/{NEW}/cancel", JSON_KEY, null, 404, "trip_not_found"),
                row("cancel the held trip with an unknown field", "POST", "/v1/trips/{T}/cancel", JSON_KEY, "{\"why\":\"x\"}", 400, "unknown_field"),
                row("cancel the held trip with a malformed body", "POST", "/v1/trips/{T}/cancel", JSON_KEY, "{", 400, "invalid_json"),
                row("cancel the held trip without a key", "POST", "/v1/trips/{T}/cancel", JSON_ONLY, null, 400, "idempotency_key_missing"),
                // -- the idempotency key
                row("missing Idempotency-Key", "POST", HOLD_NEW, JSON_ONLY, validHold, 400, "idempotency_key_missing"),
                row("too short Idempotency-Key (7)", "POST", HOLD_NEW, Map.of("Content-Type", "application/json", "Idempotency-Key", "abcdefg"), validHold, 400, "idempotency_key_invalid"),
                row("too long Idempotency-Key (256)", "POST", HOLD_NEW, Map.of("Content-Type", "application/json", "Idempotency-Key", "k".repeat(256)), validHold, 400, "idempotency_key_invalid"),
                row("Idempotency-Key with a space", "POST", HOLD_NEW, Map.of("Content-Type", "application/json", "Idempotency-Key", "has a space"), validHold, 400, "idempotency_key_invalid"),
                // -- transport
                row("oversized body (> 16 KiB)", "POST", HOLD_NEW, JSON_KEY, "{\"passengerWalletId\":\"{P}\",\"amount\":1000,\"pad\":\"" + "x".repeat(17 * 1024) + "\"}", 413, "payload_too_large"),
                row("non-JSON content type", "POST", HOLD_NEW, Map.of("Content-Type", "text/plain", "Idempotency-Key", "{KEY}"), validHold, 415, "unsupported_media_type"),
                row("form content type", "POST", HOLD_NEW, Map.of("Content-Type", "application/x-www-form-urlencoded", "Idempotency-Key", "{KEY}"), "amount=1000", 415, "unsupported_media_type"),
                row("a body without a content type", "POST", HOLD_NEW, Map.of("Idempotency-Key", "{KEY}"), validHold, 415, "unsupported_media_type"),
                // -- ids in the path
                row("trip id of 65 characters", "POST", "/v1/trips/" + tooLongId + "/hold", JSON_KEY, validHold, 400, "invalid_id"),
                row("trip id with %20", "POST", "/v1/trips/trip%20one/hold", JSON_KEY, validHold, 400, "invalid_id"),
                row("trip id with !", "POST", "/v1/trips/trip!one/settle", JSON_KEY, settle("{P}", "{D}", "1000", "0"), 400, "invalid_id"),
                row("trip id starting with -", "POST", "/v1/trips/-trip/cancel", JSON_KEY, null, 400, "invalid_id"),
                row("GET a trip with a bad id", "GET", "/v1/trips/trip!one", NONE, null, 400, "invalid_id"),
                row("GET an unknown trip", "GET", "/v1/trips/{NEW}", NONE, null, 404, "trip_not_found"),
                row("GET a wallet with a bad id", "GET", "/v1/wallets/w!bad", NONE, null, 400, "invalid_id"),
                row("GET a wallet with a 65-character id", "GET", "/v1/wallets/" + "w".repeat(65), NONE, null, 400, "invalid_id"),
                row("GET an unknown wallet", "GET", "/v1/wallets/w_doesnotexist0", NONE, null, 404, "wallet_not_found"),
                row("GET a system account as a wallet", "GET", "/v1/wallets/corrections", NONE, null, 404, "wallet_not_found"),
                row("transactions of an unknown wallet", "GET", "/v1/wallets/w_doesnotexist0/transactions", NONE, null, 404, "wallet_not_found"),
                // -- query parameters
                row("transactions limit=0", "GET", "/v1/wallets/{P}/transactions?limit=0", NONE, null, 400, "invalid_query"),
                row("transactions limit=abc", "GET", "/v1/wallets/{P}/transactions?limit=abc", NONE, null, 400, "invalid_query"),
                row("transactions limit above the page maximum", "GET", "/v1/wallets/{P}/transactions?limit=501", NONE, null, 400, "invalid_query"),
                row("transactions cursor=abc", "GET", "/v1/wallets/{P}/transactions?cursor=abc", NONE, null, 400, "invalid_cursor"),
                row("transactions cursor=-1", "GET", "/v1/wallets/{P}/transactions?cursor=-1", NONE, null, 400, "invalid_cursor"),
                row("transactions cursor past a long", "GET", "/v1/wallets/{P}/transactions?cursor=9223372036854775808", NONE, null, 400, "invalid_cursor"),
                row("transactions cursor of 20 digits", "GET", "/v1/wallets/{P}/transactions?cursor=12345678901234567890", NONE, null, 400, "invalid_cursor"),
                // -- the admin API
                row("admin listing without a token", "GET", "/v1/admin/payments", NONE, null, 401, "unauthorized"),
                row("admin listing with a wrong token", "GET", "/v1/admin/payments", Map.of("Authorization", "Bearer wrong-token"), null, 401, "unauthorized"),
                row("admin adjustment without a token", "POST", ADJUST, JSON_KEY, adjust("{P}", "1000"), 401, "unauthorized"),
                row("admin adjustment with a wrong token", "POST", ADJUST, Map.of("Content-Type", "application/json", "Idempotency-Key", "{KEY}", "Authorization", "Bearer {ADMIN}x"), adjust("{P}", "1000"), 401, "unauthorized"),
                row("admin listing with a bad olderThan", "GET", "/v1/admin/payments?olderThan=ten", ADMIN, null, 400, "invalid_query"),
                row("admin listing with a state no flow has", "GET", "/v1/admin/payments?state=settledd", ADMIN, null, 400, "invalid_query"),
                row("admin listing with a state of digits", "GET", "/v1/admin/payments?state=H3LD", ADMIN, null, 400, "invalid_query"),
                row("admin listing with an unknown parameter", "GET", "/v1/admin/payments?status=HELD", ADMIN, null, 400, "invalid_query"),
                row("admin listing with a bad walletId", "GET", "/v1/admin/payments?walletId=a%20b", ADMIN, null, 400, "invalid_query"),
                row("admin listing with a cursor not from a page", "GET", "/v1/admin/payments?cursor=bm90LWEtY3Vyc29y", ADMIN, null, 400, "invalid_cursor"),
                row("admin listing with a cursor of other characters", "GET", "/v1/admin/payments?cursor=a.b", ADMIN, null, 400, "invalid_cursor"),
                row("admin listing with a negative ISO olderThan", "GET", "/v1/admin/payments?olderThan=P-1D", ADMIN, null, 400, "invalid_query"),
                row("admin listing with an ISO olderThan that does not parse", "GET", "/v1/admin/payments?olderThan=PXD", ADMIN, null, 400, "invalid_query"),
                row("admin listing limit above the page maximum", "GET", "/v1/admin/payments?limit=501", ADMIN, null, 400, "invalid_query"),
                row("admin adjustment of zero", "POST", ADJUST, ADMIN_JSON_KEY, adjust("{P}", "0"), 400, "invalid_amount"),
                row("admin debit above amountRialsMax", "POST", ADJUST, ADMIN_JSON_KEY, adjust("{P}", "-1000000000001"), 400, "invalid_amount"),
                row("admin debit of Long.MIN_VALUE", "POST", ADJUST, ADMIN_JSON_KEY, adjust("{P}", "-9223372036854775808"), 400, "invalid_amount"),
                row("admin adjustment amount as a string", "POST", ADJUST, ADMIN_JSON_KEY, adjust("{P}", "\"1000\""), 400, "invalid_amount"),
                row("admin adjustment of an unknown wallet", "POST", ADJUST, ADMIN_JSON_KEY, adjust("w_doesnotexist0", "1000"), 404, "wallet_not_found"),
                row("admin debit beyond the balance", "POST", ADJUST, ADMIN_JSON_KEY, adjust("{D}", "-1"), 402, "insufficient_funds"),
                // -- who may call (the API key; the callback alone needs none)
                row("a wallet read without a credential", "GET", "/v1/wallets/{P}", NO_CREDENTIAL, null, 401, "unauthorized"),
                row("a hold without a credential", "POST", HOLD_NEW, Map.of("Content-Type", "application/json", "Idempotency-Key", "{KEY}", "Authorization", NONE_MARK), validHold, 401, "unauthorized"),
                row("a hold with a wrong API key", "POST", HOLD_NEW, Map.of("Content-Type", "application/json", "Idempotency-Key", "{KEY}", "Authorization", "Bearer {APIKEY}x"), validHold, 401, "unauthorized"),
                row("an API key sent as Basic", "GET", "/v1/wallets/{P}", Map.of("Authorization", "Basic {APIKEY}"), null, 401, "unauthorized"),
                row("an API key on the admin API", "GET", "/v1/admin/payments", Map.of("Authorization", "Bearer {APIKEY}"), null, 401, "unauthorized"),
                row("a dot-segment path from the callback to a wallet", "GET", "/v1/psp/zarinpal/callback/../../../wallets/{P}", NO_CREDENTIAL, null, 401, "unauthorized"),
                row("an unknown /v1 route without a credential", "GET", "/v1/nope", NO_CREDENTIAL, null, 401, "unauthorized"),
                // -- opening wallets
                row("open a wallet of kind platform", "POST", "/v1/wallets", JSON_KEY, "{\"ownerId\":\"o-bad-1\",\"kind\":\"platform\"}", 400, "invalid_field"),
                row("open a wallet without a kind", "POST", "/v1/wallets", JSON_KEY, "{\"ownerId\":\"o-bad-2\"}", 400, "missing_field"),
                row("an owner id with a trailing line feed", "POST", "/v1/wallets", JSON_KEY, "{\"ownerId\":\"o-bad-nl\\n\",\"kind\":\"passenger\"}", 400, "invalid_field"),
                row("an owner id with a trailing U+2028", "POST", "/v1/wallets", JSON_KEY, "{\"ownerId\":\"o-bad-ls\\u2028\",\"kind\":\"passenger\"}", 400, "invalid_field"),
                row("a phone with a trailing line feed", "POST", "/v1/wallets", JSON_KEY, "{\"ownerId\":\"o-bad-4\",\"kind\":\"passenger\",\"phone\":\"+989121234567\\n\"}", 400, "invalid_field"),
                row("a name with a line break inside", "POST", "/v1/wallets", JSON_KEY, "{\"ownerId\":\"o-bad-5\",\"kind\":\"passenger\",\"name\":\"Sara\\r\\nX-Injected: 1\"}", 400, "invalid_field"),
                row("an adjustment reason ending in U+2029", "POST", ADJUST, ADMIN_JSON_KEY, "{\"walletId\":\"{P}\",\"amount\":1000,\"reason\":\"goodwill\\u2029\",\"ticket\":\"T-9\"}", 400, "invalid_field"),
                row("a trip id in the body with a trailing line feed", "POST", HOLD_NEW, JSON_KEY, "{\"passengerWalletId\":\"{P}\\n\",\"amount\":1000}", 400, "invalid_field"),
                row("open a wallet with a bad phone", "POST", "/v1/wallets", JSON_KEY, "{\"ownerId\":\"o-bad-3\",\"kind\":\"passenger\",\"phone\":\"call me\"}", 400, "invalid_field"),
                // -- routing
                row("unknown route", "GET", "/v1/nope", NONE, null, 404, "not_found"),
                row("unknown route, POST", "POST", "/v1/nope", JSON_KEY, "{}", 404, "not_found"),
                row("unknown route outside /v1", "GET", "/nope", NONE, null, 404, "not_found"),
                row("wrong method on a POST route", "GET", "/v1/trips/{T}/hold", NONE, null, 405, "method_not_allowed"),
                row("wrong method on a wallet", "DELETE", "/v1/wallets/{P}", NONE, null, 405, "method_not_allowed"));
    }

    @ParameterizedTest(name = "[{index}] {0} -> {5} {6}")
    @MethodSource("badRequests")
    void isRefusedWithAStableCode(String description, String method, String path, Map<String, String> headers,
                                  String body, int status, String code) throws Exception {
        String key = ApiClient.newKey();
        String tripId = ApiClient.newId("trip");
        String resolvedPath = fill(path, key, tripId);
        Map<String, String> resolvedHeaders = new LinkedHashMap<>();
        headers.forEach((name, value) -> resolvedHeaders.put(name, fill(value, key, tripId)));
        String resolvedBody = body == null ? null : fill(body, key, tripId);
        Snapshot before = snapshot();

        ApiClient.Response response = send(method, resolvedPath, resolvedHeaders, resolvedBody);

        assertTrue(response.status() >= 400 && response.status() < 500, description + ": " + response.status() + " " + response.text());
        JsonObject json = response.json();
        assertNotNull(json, description + ": not a JSON object: " + response.text());
        assertEquals(Set.of("error"), json.fieldNames(), description + ": " + response.text());
        JsonObject error = json.getJsonObject("error");
        assertNotNull(error.getString("code"), description + ": " + response.text());
        assertNotNull(error.getString("message"), description + ": " + response.text());
        assertFalse(error.getString("message").isBlank(), description);
        assertEquals(status, response.status(), description + ": " + response.text());
        assertEquals(code, response.errorCode(), description + ": " + response.text());
        if (MESSAGES.containsKey(description)) {
            assertEquals(MESSAGES.get(description), error.getString("message"), description);
        }

        if (VALIDATION_CODES.contains(code) && resolvedHeaders.containsValue(key)) {
            assertEquals(0, Sql.count(sql, "SELECT count(*) FROM idempotency_keys WHERE key = ?", key),
                    description + ": a rejected request was stored under its key");
        }
        if (resolvedPath.contains(tripId)) {
            assertEquals(0, Sql.count(sql, "SELECT count(*) FROM trips WHERE trip_id = ?", tripId),
                    description + ": a rejected request created its trip");
        }
        assertNothingWritten(before, description);
    }

    /** The wallets, their ledger rows and the held trip are as they were before the request. */
    private static void assertNothingWritten(Snapshot before, String description) throws Exception {
        Snapshot after = snapshot();
        assertEquals(before, after, description);
        assertEquals("HELD", after.trip().get("state"), description);
        assertEquals("HELD", after.hold().get("state"), description);
        assertEquals("trip:" + t + ":hold", after.trip().get("hold_id"), description);
        assertEquals(Long.toString(HELD), after.trip().get("hold_rials"), description);
        assertEquals(null, after.trip().get("transfer_id"), description);
        assertEquals(0L, Sql.count(sql, "SELECT count(*) FROM transfers WHERE payment_id = ?", t), description);
        ApiClient.Response view = api.get("/v1/trips/" + t);
        assertEquals(200, view.status(), view.text());
        assertEquals("HELD", view.json().getString("state"), description);
        assertEquals(HELD, view.json().getJsonObject("hold").getLong("amount"), description);
        assertTrue(view.json().getJsonArray("transfers").isEmpty(), description);
        assertEquals(0L, Sql.count(sql, "SELECT coalesce(sum(balance_rials), 0) FROM accounts"), description + ": sum of balances");
    }

    // ---- helpers ---------------------------------------------------------------------------

    static String fill(String text, String key, String tripId) {
        return text.replace("{P2}", p2).replace("{P}", p).replace("{D}", d).replace("{T}", t).replace("{NEW}", tripId)
                .replace("{KEY}", key).replace("{ADMIN}", TestGateway.ADMIN_TOKEN)
                .replace("{APIKEY}", TestGateway.API_KEY);
    }

    static ApiClient.Response send(String method, String path, Map<String, String> headers, String body) {
        // Every request carries the tests' API key unless its row names another credential (or none).
        Map<String, String> withKey = new LinkedHashMap<>(headers);
        withKey.putIfAbsent("Authorization", "Bearer " + TestGateway.API_KEY);
        withKey.values().removeIf(NONE_MARK::equals);
        return raw.send(method, path, withKey, body);
    }

    static Snapshot snapshot() throws SQLException {
        List<String> mine = List.of(p, d, p2);
        String in = "(?, ?, ?)";
        ApiClient.Response pw = api.get("/v1/wallets/" + p);
        ApiClient.Response dw = api.get("/v1/wallets/" + d);
        ApiClient.Response p2w = api.get("/v1/wallets/" + p2);
        return new Snapshot(pw.json().getLong("balance"), pw.json().getLong("available"),
                dw.json().getLong("balance"), dw.json().getLong("available"),
                p2w.json().getLong("balance"), p2w.json().getLong("available"),
                Sql.count(sql, "SELECT count(*) FROM entries WHERE account_id IN " + in, mine.toArray()),
                Sql.count(sql, "SELECT count(DISTINCT transfer_id) FROM entries WHERE account_id IN " + in, mine.toArray()),
                Sql.count(sql, "SELECT count(*) FROM holds WHERE account_id IN " + in, mine.toArray()),
                Sql.count(sql, "SELECT count(*) FROM trips WHERE passenger_wallet_id IN " + in + " OR driver_wallet_id IN " + in,
                        p, d, p2, p, d, p2),
                Sql.row(sql, "SELECT state, hold_id, hold_rials, hold_expires_at, transfer_id, driver_wallet_id, fare_rials, updated_at "
                        + "FROM trips WHERE trip_id = ?", t),
                Sql.row(sql, "SELECT state, amount_rials, expires_at, updated_at FROM holds WHERE id = ?", "trip:" + t + ":hold"));
    }
}
