package taraz.admin;

import io.vertx.core.json.JsonObject;

import java.util.Locale;

/** One English sentence per story item, for support to read out: what happened, to which payment, how much, and who did it. */
final class StoryText {

    private StoryText() {
    }

    static String sentence(String kind, String state, Long amount, String paymentId, String drivenBy, JsonObject detail) {
        String by = drivenBy == null ? "" : " (by the " + drivenBy + ")";
        return switch (kind) {
            case "entry" -> (amount >= 0 ? "Credit of " + rials(amount) : "Debit of " + rials(-amount)) + " by "
                    + detail.getString("transferKind") + " of " + detail.getString("paymentId") + "; balance after: "
                    + rials(detail.getLong("balanceAfter")) + ".";
            case "adjustment" -> "Support " + (amount >= 0 ? "credited " + rials(amount) : "debited " + rials(-amount))
                    + ": " + detail.getString("reason") + "; balance after: " + rials(detail.getLong("balanceAfter")) + ".";
            case "topup" -> "Top-up " + paymentId + " of " + rials(amount) + " became " + state
                    + (detail.getString("cause") == null ? "" : " (" + detail.getString("cause") + ")") + by + ".";
            case "bank_call" -> "The " + (drivenBy == null ? "gateway" : drivenBy) + " " + bankCall(detail.getString("call"))
                    + " top-up " + paymentId + ": " + ("NO_ANSWER".equals(state)
                    ? "no answer (" + detail.getString("error") + ")" : state
                    + (detail.getInteger("code") == null ? "" : ", code " + detail.getInteger("code"))) + ".";
            case "hold" -> "HELD".equals(state) ? "Trip " + paymentId + " held " + rials(amount) + " of the wallet."
                    : "Trip " + paymentId + "'s hold of " + rials(amount) + " was " + state.toLowerCase(Locale.ROOT) + ".";
            case "trip" -> "Trip " + paymentId + " settled: fare " + rials(amount) + ", commission "
                    + rials(detail.getLong("commission")) + "; this wallet is its " + detail.getString("role") + ".";
            case "trip_rejected" -> "A " + detail.getString("step") + " of trip " + paymentId
                    + (amount == null ? "" : " for " + rials(amount)) + " was refused: " + detail.getString("code") + ".";
            case "payout" -> "Payout " + paymentId + " of " + rials(amount) + " became " + state
                    + (detail.getString("cause") == null ? "" : " (" + detail.getString("cause") + ")") + ".";
            case "refund" -> detail.getString("topupId") != null
                    ? "Refund " + paymentId + " of " + rials(amount) + " of top-up " + detail.getString("topupId") + " to the card became "
                    + state + (detail.getString("cause") == null ? "" : " (" + detail.getString("cause") + ")") + "."
                    : "Refund " + paymentId + " of " + rials(amount) + " of trip " + detail.getString("tripId")
                    + " to the passenger (" + detail.getString("reason") + ", ticket " + detail.getString("ticket") + ").";
            case "finding" -> "Reconciliation found " + detail.getString("finding") + " on " + paymentId
                    + (amount == null ? "" : " (" + rials(amount) + ")") + " and acted: " + state + ".";
            default -> throw new IllegalStateException("a story item of unknown kind " + kind);
        };
    }

    private static String bankCall(String call) {
        return switch (call) {
            case "verify" -> "asked the bank to verify";
            case "inquiry" -> "asked the bank (inquiry) about";
            case "reverse" -> "asked the bank to reverse";
            case "unverified" -> "found in the bank's list of paid, unverified payments";
            default -> throw new IllegalStateException("a bank call of unknown kind " + call);
        };
    }

    private static String rials(long amount) {
        return String.format(Locale.ROOT, "%,d rials", amount);
    }
}
