package taraz.support;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.security.SecureRandom;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Top-ups through the HTTP API for tests: open one, send its callback, wait for a state, count its credits. */
public final class Topups {

    public static final String CALLBACK = "/v1/psp/zarinpal/callback";
    private static final Set<String> TERMINAL = Set.of("CREDITED", "FAILED", "EXPIRED", "REVERSED");
    private static final String ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    private static final int AUTHORITY_RANDOM_LENGTH = 35;
    private static final SecureRandom RANDOM = new SecureRandom();

    private Topups() {
    }

    public static ApiClient.Response create(ApiClient api, String wallet, long amountRials, String key) {
        return api.post("/v1/topups", key, new JsonObject().put("walletId", wallet).put("amount", amountRials));
    }

    /** Opens a top-up, has the cardholder pay it at the simulator, and waits until the callback credited it; its id. */
    public static String paidAndCredited(ApiClient api, TestPsp psp, String wallet, long amountRials, long timeoutMillis) {
        JsonObject created = createOk(api, wallet, amountRials);
        psp.pay(created.getString("authority"), "OK");
        awaitState(api, created.getString("topupId"), "CREDITED", timeoutMillis);
        return created.getString("topupId");
    }

    /** Opens a top-up and checks it reached the bank: REQUESTED, with an authority. */
    public static JsonObject createOk(ApiClient api, String wallet, long amountRials) {
        ApiClient.Response r = create(api, wallet, amountRials, ApiClient.newKey());
        if (r.status() != 201 || !"REQUESTED".equals(r.json().getString("state")) || r.json().getString("authority") == null) {
            throw new AssertionError("top-up not opened: " + r.status() + " " + r.text());
        }
        return r.json();
    }

    public static String callbackPath(String authority, String status) {
        return CALLBACK + "?Authority=" + authority + "&Status=" + status;
    }

    /** The headers of a callback that asks for the JSON answer rather than the cardholder's page. */
    public static final Map<String, String> ACCEPT_JSON = Map.of("Accept", "application/json");

    /** The bank's callback as a browser coming back from the bank sends it, answered as JSON. */
    public static ApiClient.Response callback(ApiClient api, String authority, String status) {
        return api.get(callbackPath(authority, status), ACCEPT_JSON);
    }

    /** An authority as the bank writes them ({@code A} and 35 of [0-9A-Za-z]) that no top-up has. */
    public static String randomAuthority() {
        StringBuilder a = new StringBuilder("A");
        for (int i = 0; i < AUTHORITY_RANDOM_LENGTH; i++) {
            a.append(ALPHABET.charAt(RANDOM.nextInt(ALPHABET.length())));
        }
        return a.toString();
    }

    public static JsonObject view(ApiClient api, String topupId) {
        ApiClient.Response r = api.get("/v1/topups/" + topupId);
        if (r.status() != 200) {
            throw new AssertionError("top-up " + topupId + ": " + r.status() + " " + r.text());
        }
        return r.json();
    }

    /** Polls the top-up until it is in {@code state}; fails at once if it ends in another final state. */
    public static JsonObject awaitState(ApiClient api, String topupId, String state, long timeoutMillis) {
        return Wait.until("top-up " + topupId + " " + state, timeoutMillis, () -> {
            JsonObject now = view(api, topupId);
            String reached = now.getString("state");
            if (!state.equals(reached) && TERMINAL.contains(reached)) {
                throw new AssertionError("top-up " + topupId + " ended " + reached + ", expected " + state + ": " + now.encode());
            }
            return now;
        }, now -> state.equals(now.getString("state")));
    }

    public static List<String> historyStates(JsonObject topup) {
        List<String> states = new ArrayList<>();
        JsonArray history = topup.getJsonArray("history");
        for (int i = 0; i < history.size(); i++) {
            states.add(history.getJsonObject(i).getString("state"));
        }
        return states;
    }

    /** The ledger transfers that credit this top-up's wallet: one when credited, never two. */
    public static long creditTransfers(String topupId) throws SQLException {
        return Sql.count("SELECT count(*) FROM transfers WHERE id = ?", "topup:" + topupId + ":credit");
    }
}
