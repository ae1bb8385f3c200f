package taraz.support;

import io.vertx.core.json.JsonObject;
import taraz.payout.Iban;

import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/** Payouts as tests make and watch them through the API. */
public final class Payouts {

    private Payouts() {
    }

    /** A valid Iranian IBAN, different each call. */
    public static String newIban() {
        StringBuilder body = new StringBuilder("0170000000");
        for (int i = 0; i < 12; i++) {
            body.append(ThreadLocalRandom.current().nextInt(10));
        }
        return Iban.of(body.toString());
    }

    /** A driver wallet with an IBAN on record, funded with {@code rials} (none when 0). */
    public static String fundedDriver(ApiClient api, String iban, long rials) {
        ApiClient.Response r = api.post("/v1/wallets", ApiClient.newKey(), new JsonObject().put("ownerId", ApiClient.newId("driver"))
                .put("kind", "driver").put("iban", iban));
        if (r.status() != 201) {
            throw new AssertionError("open driver wallet: " + r.status() + " " + r.text());
        }
        String wallet = r.json().getString("walletId");
        if (rials > 0) {
            api.fund(wallet, rials);
        }
        return wallet;
    }

    public static ApiClient.Response create(ApiClient api, String wallet, long amountRials, String iban, String key) {
        return api.post("/v1/payouts", key, new JsonObject().put("driverWalletId", wallet).put("amount", amountRials).put("iban", iban));
    }

    public static JsonObject get(ApiClient api, String payoutId) {
        ApiClient.Response r = api.get("/v1/payouts/" + payoutId);
        if (r.status() != 200) {
            throw new AssertionError("payout " + payoutId + ": " + r.status() + " " + r.text());
        }
        return r.json();
    }

    public static JsonObject awaitState(ApiClient api, String payoutId, String state, long timeoutMillis) {
        return Wait.until("payout " + payoutId + " " + state, timeoutMillis, () -> get(api, payoutId),
                p -> state.equals(p.getString("state")));
    }

    public static List<String> historyStates(JsonObject payout) {
        return payout.getJsonArray("history").stream().map(h -> ((JsonObject) h).getString("state")).toList();
    }
}
