package taraz.payout;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import taraz.support.ApiClient;
import taraz.support.Payouts;
import taraz.support.Sql;
import taraz.support.TestGateway;
import taraz.support.TestPsp;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * Bad payout requests, each answered with its 4xx and a stable code, and nothing moved: the driver's balance and
 * available balance unchanged, no hold, no transfer, and nothing sent to the provider. A payout the wallet cannot
 * cover is refused (402) and recorded FAILED, with no hold and no send.
 */
class PayoutBadInputTest {

    private static final long FUNDS_RIALS = 500_000;
    private static final String IBAN = Payouts.newIban();
    /** The same IBAN with its check digits changed: the mod-97 checksum fails. */
    private static final String BAD_CHECKSUM = IBAN.substring(0, 2) + (IBAN.charAt(2) == '9' ? '1' : '9') + IBAN.substring(3);

    private static ApiClient api;
    private static ApiClient raw;
    private static TestPsp psp;
    private static Connection sql;
    private static String driver;
    private static String passenger;

    @BeforeAll
    static void setUp() throws SQLException {
        TestGateway gateway = TestGateway.get();
        api = gateway.api();
        raw = ApiClient.http11(gateway.baseUrl()).withAuthorization(null);
        psp = gateway.psp();
        sql = Sql.connect();
        driver = Payouts.fundedDriver(api, IBAN, FUNDS_RIALS);
        passenger = api.openWallet("passenger");
        api.fund(passenger, FUNDS_RIALS);
    }

    @AfterAll
    static void close() throws SQLException {
        sql.close();
    }

    static String body(String wallet, String amount, String iban) {
        return "{\"driverWalletId\":\"" + wallet + "\",\"amount\":" + amount + ",\"iban\":" + iban + "}";
    }

    static String q(String s) {
        return "\"" + s + "\"";
    }

    static Stream<Arguments> badRequests() {
        String iban = q(IBAN);
        return Stream.of(
                Arguments.of("IBAN checksum wrong", body("{D}", "1000", q(BAD_CHECKSUM)), 400, "invalid_iban"),
                Arguments.of("IBAN of another country", body("{D}", "1000", q("DE89370400440532013000")), 400, "invalid_iban"),
                Arguments.of("IBAN one digit short", body("{D}", "1000", q(IBAN.substring(0, 25))), 400, "invalid_iban"),
                Arguments.of("IBAN one digit long", body("{D}", "1000", q(IBAN + "0")), 400, "invalid_iban"),
                Arguments.of("IBAN in lower case", body("{D}", "1000", q("ir" + IBAN.substring(2))), 400, "invalid_iban"),
                Arguments.of("IBAN with spaces", body("{D}", "1000", q(IBAN.substring(0, 4) + " " + IBAN.substring(4))), 400, "invalid_iban"),
                Arguments.of("IBAN with a letter", body("{D}", "1000", q(IBAN.substring(0, 10) + "A" + IBAN.substring(11))), 400, "invalid_iban"),
                Arguments.of("IBAN empty", body("{D}", "1000", q("")), 400, "invalid_iban"),
                Arguments.of("IBAN a number", body("{D}", "1000", "123"), 400, "invalid_type"),
                Arguments.of("IBAN missing", "{\"driverWalletId\":\"{D}\",\"amount\":1000}", 400, "missing_field"),
                Arguments.of("amount missing", "{\"driverWalletId\":\"{D}\",\"iban\":" + iban + "}", 400, "missing_field"),
                Arguments.of("amount zero", body("{D}", "0", iban), 400, "invalid_amount"),
                Arguments.of("amount negative", body("{D}", "-5000", iban), 400, "invalid_amount"),
                Arguments.of("amount a string", body("{D}", "\"5000\"", iban), 400, "invalid_amount"),
                Arguments.of("amount a fraction", body("{D}", "1000.5", iban), 400, "invalid_amount"),
                Arguments.of("amount beyond a long", body("{D}", "99999999999999999999", iban), 400, "invalid_amount"),
                Arguments.of("amount over the balance", body("{D}", Long.toString(FUNDS_RIALS + 1), iban), 402, "insufficient_funds"),
                Arguments.of("wallet missing", "{\"amount\":1000,\"iban\":" + iban + "}", 400, "missing_field"),
                Arguments.of("wallet unknown", body("w_nosuchwallet", "1000", iban), 404, "wallet_not_found"),
                Arguments.of("wallet a passenger's", body("{P}", "1000", iban), 422, "wallet_kind_mismatch"),
                Arguments.of("wallet id malformed", body("bad id!", "1000", iban), 400, "invalid_field"),
                Arguments.of("an unknown field", "{\"driverWalletId\":\"{D}\",\"amount\":1000,\"iban\":" + iban + ",\"x\":1}", 400, "unknown_field"),
                Arguments.of("malformed JSON", "{\"driverWalletId\":", 400, "invalid_json"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badRequests")
    void refusedAndNothingMoved(String description, String body, int status, String code) throws SQLException {
        Snapshot before = snapshot();
        String key = ApiClient.newKey();
        ApiClient.Response r = api.post("/v1/payouts", key, body.replace("{D}", driver).replace("{P}", passenger),
                Map.of("Content-Type", "application/json"));
        assertEquals(status, r.status(), description + ": " + r.text());
        assertEquals(code, r.errorCode(), description + ": " + r.text());
        assertEquals(before, snapshot(), description + ": nothing moved");
        assertNull(psp.payout("po_" + org.apache.commons.codec.digest.DigestUtils.sha256Hex(key).substring(0, 32)),
                description + ": nothing sent");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("otherRequests")
    void otherBadRequests(String description, String method, String path, Map<String, String> headers, String body,
                          int status, String code) throws SQLException {
        Snapshot before = snapshot();
        Map<String, String> all = new HashMap<>(headers);
        all.putIfAbsent("Authorization", "Bearer " + TestGateway.API_KEY);
        all.values().removeIf(""::equals);
        ApiClient.Response r = raw.send(method, path, all, body == null ? null : body.replace("{D}", driver));
        assertEquals(status, r.status(), description + ": " + r.text());
        assertEquals(code, r.errorCode(), description + ": " + r.text());
        assertEquals(before, snapshot(), description + ": nothing moved");
    }

    static Stream<Arguments> otherRequests() {
        Map<String, String> json = Map.of("Content-Type", "application/json");
        String valid = body("{D}", "1000", q(IBAN));
        return Stream.of(
                Arguments.of("no Idempotency-Key", "POST", "/v1/payouts", json, valid, 400, "idempotency_key_missing"),
                Arguments.of("no API key", "POST", "/v1/payouts", Map.of("Content-Type", "application/json",
                        "Idempotency-Key", ApiClient.newKey(), "Authorization", ""), valid, 401, "unauthorized"),
                Arguments.of("an unknown payout", "GET", "/v1/payouts/po_nosuchpayout", Map.of(), null, 404, "payout_not_found"),
                Arguments.of("a malformed payout id", "GET", "/v1/payouts/bad%20id", Map.of(), null, 400, "invalid_id"),
                Arguments.of("a callback for an unknown payout", "POST", "/v1/psp/payouts/callback", Map.of("Content-Type",
                        "application/json", "Authorization", ""), "{\"referenceId\":\"po_nosuchpayout\"}", 404, "payout_not_found"),
                Arguments.of("a driver wallet with a bad IBAN", "POST", "/v1/wallets", Map.of("Content-Type", "application/json",
                        "Idempotency-Key", ApiClient.newKey()), "{\"ownerId\":\"" + ApiClient.newId("o") + "\",\"kind\":\"driver\","
                        + "\"iban\":\"" + BAD_CHECKSUM + "\"}", 400, "invalid_iban"),
                Arguments.of("a passenger wallet with an IBAN", "POST", "/v1/wallets", Map.of("Content-Type", "application/json",
                        "Idempotency-Key", ApiClient.newKey()), "{\"ownerId\":\"" + ApiClient.newId("o") + "\",\"kind\":\"passenger\","
                        + "\"iban\":\"" + IBAN + "\"}", 400, "invalid_iban"));
    }

    private record Snapshot(long balance, long available, long holds, long transfers, long sentOrPaid) {}

    private static Snapshot snapshot() throws SQLException {
        return new Snapshot(api.balance(driver), api.available(driver),
                Sql.count(sql, "SELECT count(*) FROM holds WHERE account_id = ?", driver),
                Sql.count(sql, "SELECT count(*) FROM entries WHERE account_id = ?", driver),
                Sql.count(sql, "SELECT count(*) FROM payouts WHERE wallet_id = ? AND state <> 'FAILED'", driver));
    }
}
