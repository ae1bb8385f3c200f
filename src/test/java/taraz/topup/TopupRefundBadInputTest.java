package taraz.topup;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import taraz.support.ApiClient;
import taraz.support.Refunds;
import taraz.support.Sql;
import taraz.support.TestGateway;
import taraz.support.TestPsp;
import taraz.support.Topups;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Bad refund requests, a table of them: each is refused with its 4xx and code, and none moves money, holds any or
 * writes a refund: the wallet, PSP clearing and the refunds of the top-up are as they were.
 */
class TopupRefundBadInputTest {

    private static final long AMOUNT_RIALS = 100_000;
    private static final long AWAIT_MILLIS = 15_000;

    private static ApiClient api;
    private static TestPsp psp;

    @BeforeAll
    static void gateway() {
        TestGateway gateway = TestGateway.get();
        api = gateway.api();
        psp = gateway.psp();
    }

    private record Case(String name, int status, String code, ApiClient.Response response) {}

    @Test
    void eachBadRequestIsItsOwn4xxAndMovesNothing() throws Exception {
        String wallet = api.openWallet("passenger");
        String topupId = Topups.paidAndCredited(api, psp, wallet, AMOUNT_RIALS, AWAIT_MILLIS);
        String uncredited = Topups.createOk(api, api.openWallet("passenger"), AMOUNT_RIALS).getString("topupId");
        String path = Refunds.path(topupId);
        Map<String, String> admin = Map.of("Content-Type", "application/json", "Authorization", "Bearer " + TestGateway.ADMIN_TOKEN);
        long clearingBefore = Refunds.pspClearingRials();

        List<Case> cases = new ArrayList<>();
        cases.add(bad("missing ticket", 400, "missing_field", new JsonObject().put("amount", 1_000).put("reason", "r"), path));
        cases.add(bad("empty ticket", 400, "invalid_field", Refunds.body(1_000).put("ticket", ""), path));
        cases.add(bad("ticket of 65 characters", 400, "invalid_field", Refunds.body(1_000).put("ticket", "t".repeat(65)), path));
        cases.add(bad("missing reason", 400, "missing_field", new JsonObject().put("amount", 1_000).put("ticket", "T-1"), path));
        cases.add(bad("reason of 201 characters", 400, "invalid_field", Refunds.body(1_000).put("reason", "r".repeat(201)), path));
        cases.add(bad("missing amount", 400, "missing_field", new JsonObject().put("reason", "r").put("ticket", "T-1"), path));
        cases.add(bad("amount 0", 400, "invalid_amount", Refunds.body(0), path));
        cases.add(bad("amount negative", 400, "invalid_amount", Refunds.body(-1_000), path));
        cases.add(bad("amount a string", 400, "invalid_amount", Refunds.body(1_000).put("amount", "1000"), path));
        cases.add(bad("amount a fraction", 400, "invalid_amount", Refunds.body(1_000).put("amount", 1000.5), path));
        cases.add(bad("amount past amountRialsMax", 400, "invalid_amount", Refunds.body(1_000_000_000_001L), path));
        cases.add(bad("an unknown field", 400, "unknown_field", Refunds.body(1_000).put("walletId", wallet), path));
        cases.add(bad("amount over the top-up", 409, "refund_exceeds_total", Refunds.body(AMOUNT_RIALS + 1), path));
        cases.add(bad("unknown top-up", 404, "topup_not_found", Refunds.body(1_000), Refunds.path("tp_nosuchtopup")));
        cases.add(bad("top-up not credited", 409, "topup_not_refundable", Refunds.body(1_000), Refunds.path(uncredited)));
        cases.add(bad("a bad top-up id", 400, "invalid_id", Refunds.body(1_000), Refunds.path("bad!id")));
        cases.add(new Case("malformed JSON", 400, "invalid_json", api.post(path, ApiClient.newKey(), "{\"amount\": 1000,", admin)));
        cases.add(new Case("no Idempotency-Key", 400, "idempotency_key_missing", api.post(path, null, Refunds.body(1_000).encode(), admin)));
        cases.add(new Case("a service's API key, not the admin token", 401, "unauthorized",
                api.post(path, ApiClient.newKey(), Refunds.body(1_000))));
        cases.add(new Case("no credential", 401, "unauthorized",
                api.withAuthorization(null).post(path, ApiClient.newKey(), Refunds.body(1_000).encode())));
        cases.add(new Case("an unknown refund", 404, "refund_not_found", api.getAdmin("/v1/admin/refunds/rf_nosuchrefund")));

        List<String> wrong = new ArrayList<>();
        for (Case c : cases) {
            if (c.response().status() != c.status() || !c.code().equals(c.response().errorCode())) {
                wrong.add(c.name() + ": expected " + c.status() + " " + c.code() + ", got " + c.response().status() + " "
                        + c.response().text());
            }
        }
        assertTrue(wrong.isEmpty(), String.join("\n", wrong));
        assertTrue(cases.size() >= 20, "a table of at least 20 requests");

        assertEquals(AMOUNT_RIALS, api.balance(wallet));
        assertEquals(AMOUNT_RIALS, api.available(wallet));
        assertEquals(clearingBefore, Refunds.pspClearingRials());
        assertEquals(0, Sql.count("SELECT count(*) FROM topup_refunds WHERE topup_id IN (?, ?)", topupId, uncredited));
        assertEquals(0, Refunds.atBank(psp, Topups.view(api, topupId).getString("authority")).size());
    }

    private static Case bad(String name, int status, String code, JsonObject body, String path) {
        return new Case(name, status, code, api.postAdmin(path, ApiClient.newKey(), body));
    }
}
