package taraz.support;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/** A wallet's story and a customer's wallets through the admin API, for tests. */
public final class Stories {

    /** More pages than any test's wallet has: a cursor that never ends fails the test instead of looping. */
    private static final int PAGES_MAX = 1_000;

    private Stories() {
    }

    public static String path(String walletId) {
        return "/v1/admin/wallets/" + walletId + "/story";
    }

    /** One page, by the query string given (empty for the first page of the default size). */
    public static JsonObject page(ApiClient api, String walletId, String query) {
        ApiClient.Response r = api.getAdmin(path(walletId) + (query.isEmpty() ? "" : "?" + query));
        if (r.status() != 200) {
            throw new AssertionError("story of " + walletId + ": " + r.status() + " " + r.text());
        }
        return r.json();
    }

    /** Every item of the story, page by page of {@code limit}, following nextCursor to its end. */
    public static List<JsonObject> all(ApiClient api, String walletId, int limit) {
        List<JsonObject> items = new ArrayList<>();
        String cursor = null;
        for (int pages = 0; pages < PAGES_MAX; pages++) {
            JsonObject page = page(api, walletId, "limit=" + limit + (cursor == null ? "" : "&cursor=" + encode(cursor)));
            page.getJsonArray("items").forEach(item -> items.add((JsonObject) item));
            cursor = page.getString("nextCursor");
            if (cursor == null) {
                return items;
            }
        }
        throw new AssertionError("story of " + walletId + " has more than " + PAGES_MAX + " pages");
    }

    /** The items of the story's first page (the default size is enough for a test's wallet) that match. */
    public static List<JsonObject> items(ApiClient api, String walletId, Predicate<JsonObject> which) {
        JsonArray items = page(api, walletId, "limit=500").getJsonArray("items");
        List<JsonObject> matching = new ArrayList<>();
        items.forEach(item -> {
            if (which.test((JsonObject) item)) {
                matching.add((JsonObject) item);
            }
        });
        return matching;
    }

    public static Predicate<JsonObject> kind(String kind) {
        return item -> kind.equals(item.getString("kind"));
    }

    /** {@code GET /v1/admin/customers?<name>=<value>} with the admin token, as it answers. */
    public static ApiClient.Response customers(ApiClient api, String name, String value) {
        return api.getAdmin("/v1/admin/customers?" + name + "=" + encode(value));
    }

    public static String encode(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8);
    }
}
