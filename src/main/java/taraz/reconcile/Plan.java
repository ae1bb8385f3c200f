package taraz.reconcile;

import io.vertx.core.json.JsonObject;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A finding's fix: one record per kind, which the {@link Detector} chooses and the {@link Corrector}
 * carries out. Between the two it is stored, and reported, as JSON keyed by {@code "do"}, its fields
 * in the order of each record's components ({@link #toJson}, read back by {@link #fromJson}).
 */
public sealed interface Plan {

    /** The bank's authority whose inquiry must say VERIFIED before any money moves, or null. */
    default String confirmAtBank() {
        return null;
    }

    JsonObject toJson();

    /** Support must decide. */
    record Manual() implements Plan {
        public JsonObject toJson() {
            return named("manual");
        }
    }

    /** Fixed by the others: check that the balances sum to 0 again. */
    record Recheck() implements Plan {
        public JsonObject toJson() {
            return named("recheck");
        }
    }

    /** A payout the provider paid after we closed it FAILED: the payout flow's own post, from the wallet. */
    record PostPayout(String payout) implements Plan {
        public JsonObject toJson() {
            return named("post_payout").put("payout", payout);
        }
    }

    /** Set the account's stored balance to the sum of its entries. */
    record RepairBalance(String account) implements Plan {
        public JsonObject toJson() {
            return named("repair_balance").put("account", account);
        }
    }

    /** End the trip's hold through the trip flow. */
    record ExpireTrip(String trip) implements Plan {
        public JsonObject toJson() {
            return named("expire_trip").put("trip", trip);
        }
    }

    /** Release a hold no trip owns. */
    record ExpireHold(String hold, String account) implements Plan {
        public JsonObject toJson() {
            return named("expire_hold").put("hold", hold).put("account", account);
        }
    }

    /** Drive a top-up on through its flow. */
    record Advance(String topup) implements Plan {
        public JsonObject toJson() {
            return named("advance").put("topup", topup);
        }
    }

    /** End a top-up the bank does not know. */
    record Expire(String topup) implements Plan {
        public JsonObject toJson() {
            return named("expire").put("topup", topup);
        }
    }

    /** Finish a top-up through its own credit phase, verified first when {@code verifyFirst}. */
    record Credit(String topup, boolean verifyFirst, boolean bankVerified, String confirmAtBank) implements Plan {
        public JsonObject toJson() {
            return confirming(named("credit").put("topup", topup).put("verifyFirst", verifyFirst)
                    .put("bankVerified", bankVerified), confirmAtBank);
        }
    }

    /** A transfer of {@code legs} (account to Rials, in order) against the corrections account. */
    record Correction(Map<String, Long> legs, String confirmAtBank) implements Plan {
        public Correction {
            legs = Collections.unmodifiableMap(new LinkedHashMap<>(legs));
        }

        public JsonObject toJson() {
            return confirming(named("correction").put("legs", legsJson(legs)), confirmAtBank);
        }
    }

    /**
     * A duplicate payment: returned at the bank inside its window, which opened at {@code paidAt}
     * (null: unknown), else refunded to the wallet by {@code legs}.
     */
    record Reverse(Map<String, Long> legs, String authority, String paidAt) implements Plan {
        public Reverse {
            legs = Collections.unmodifiableMap(new LinkedHashMap<>(legs));
        }

        public JsonObject toJson() {
            return named("reverse").put("legs", legsJson(legs)).put("authority", authority).put("paidAt", paidAt);
        }
    }

    static Plan fromJson(JsonObject json) {
        return switch (json.getString("do")) {
            case "manual" -> new Manual();
            case "recheck" -> new Recheck();
            case "post_payout" -> new PostPayout(json.getString("payout"));
            case "repair_balance" -> new RepairBalance(json.getString("account"));
            case "expire_trip" -> new ExpireTrip(json.getString("trip"));
            case "expire_hold" -> new ExpireHold(json.getString("hold"), json.getString("account"));
            case "advance" -> new Advance(json.getString("topup"));
            case "expire" -> new Expire(json.getString("topup"));
            case "credit" -> new Credit(json.getString("topup"), json.getBoolean("verifyFirst"),
                    json.getBoolean("bankVerified"), json.getString("confirmAtBank"));
            case "correction" -> new Correction(legs(json.getJsonObject("legs")), json.getString("confirmAtBank"));
            case "reverse" -> new Reverse(legs(json.getJsonObject("legs")), json.getString("authority"), json.getString("paidAt"));
            default -> throw new IllegalArgumentException("unknown plan " + json.encode());
        };
    }

    private static JsonObject named(String name) {
        return new JsonObject().put("do", name);
    }

    private static JsonObject confirming(JsonObject plan, String confirmAtBank) {
        return confirmAtBank == null ? plan : plan.put("confirmAtBank", confirmAtBank);
    }

    private static JsonObject legsJson(Map<String, Long> legs) {
        JsonObject json = new JsonObject();
        legs.forEach(json::put);
        return json;
    }

    private static Map<String, Long> legs(JsonObject json) {
        Map<String, Long> legs = new LinkedHashMap<>();
        for (Map.Entry<String, Object> leg : json) {
            legs.put(leg.getKey(), ((Number) leg.getValue()).longValue());
        }
        return legs;
    }
}
