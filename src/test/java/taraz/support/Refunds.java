package taraz.support;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.apache.commons.codec.digest.DigestUtils;

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** Top-up refunds through the admin API for tests: ask for one, read it, wait for a state, count its money. */
public final class Refunds {

    private static final Set<String> TERMINAL = Set.of("REFUNDED", "FAILED");

    private Refunds() {
    }

    /** A passenger's credited top-up: its wallet, its id and its authority at the bank. */
    public record Credited(String wallet, String topupId, String authority) {}

    /** Opens a passenger wallet and tops it up by {@code amountRials} through the simulated bank, credited. */
    public static Credited credited(ApiClient api, TestPsp psp, long amountRials, long timeoutMillis) {
        String wallet = api.openWallet("passenger");
        String topupId = Topups.paidAndCredited(api, psp, wallet, amountRials, timeoutMillis);
        return new Credited(wallet, topupId, Topups.view(api, topupId).getString("authority"));
    }

    public static String path(String topupId) {
        return "/v1/admin/topups/" + topupId + "/refund";
    }

    public static JsonObject body(long amountRials) {
        return new JsonObject().put("amount", amountRials).put("reason", "customer asked").put("ticket", "SUP-" + amountRials);
    }

    public static ApiClient.Response refund(ApiClient api, String topupId, long amountRials, String key) {
        return api.postAdmin(path(topupId), key, body(amountRials));
    }

    /** The refund id the gateway gives the request of this Idempotency-Key. */
    public static String refundId(String key) {
        return "rf_" + DigestUtils.sha256Hex(key).substring(0, 32);
    }

    public static JsonObject view(ApiClient api, String refundId) {
        ApiClient.Response r = api.getAdmin("/v1/admin/refunds/" + refundId);
        if (r.status() != 200) {
            throw new AssertionError("refund " + refundId + ": " + r.status() + " " + r.text());
        }
        return r.json();
    }

    /** Polls the refund until it is in {@code state}; fails at once if it ends in the other final state. */
    public static JsonObject awaitState(ApiClient api, String refundId, String state, long timeoutMillis) {
        return Wait.until("refund " + refundId + " " + state, timeoutMillis, () -> {
            JsonObject now = view(api, refundId);
            String reached = now.getString("state");
            if (!state.equals(reached) && TERMINAL.contains(reached)) {
                throw new AssertionError("refund " + refundId + " ended " + reached + ", expected " + state + ": " + now.encode());
            }
            return now;
        }, now -> state.equals(now.getString("state")));
    }

    public static List<String> historyStates(JsonObject refund) {
        List<String> states = new ArrayList<>();
        JsonArray history = refund.getJsonArray("history");
        for (int i = 0; i < history.size(); i++) {
            states.add(history.getJsonObject(i).getString("state"));
        }
        return states;
    }

    /** The refunds the simulated bank made of a payment through its refund API. */
    public static JsonArray atBank(TestPsp psp, String authority) {
        return psp.payment(authority).getJsonArray("refunds");
    }

    /** The transfers that post refunds of a top-up (one per REFUNDED refund, never two). */
    public static long postTransfers(String topupId) throws SQLException {
        return Sql.count("SELECT count(*) FROM transfers t JOIN topup_refunds r ON t.id = 'refund:' || r.refund_id || ':post' "
                + "WHERE r.topup_id = ?", topupId);
    }

    public static long pspClearingRials() throws SQLException {
        return Sql.count("SELECT balance_rials FROM accounts WHERE id = 'psp-clearing'");
    }
}
