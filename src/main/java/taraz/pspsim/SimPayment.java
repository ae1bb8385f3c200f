package taraz.pspsim;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/** One simulated bank payment; mutable, and touched only on the simulator's event-loop context. */
final class SimPayment {
    enum Status { IN_BANK, PAID, VERIFIED, FAILED, REVERSED }

    final String authority;
    final long amountRials;
    final String callbackUrl;
    final Instant createdAt;
    Status status = Status.IN_BANK;
    Instant paidAt;
    Instant verifiedAt;
    Instant reversedAt;
    Long refId;
    String cardPan;
    long verifyCalls;
    long verifySuccesses;
    long verifyAlready;
    long inquiryCalls;
    /** Refunds through the refund API (AddRefund), oldest first; each names its own description. */
    final List<Refund> refunds = new ArrayList<>();

    /** One refund of this payment at the bank: its id, amount, the merchant's description, status word and time. */
    record Refund(String id, long amountRials, String description, String status, Instant at) {
        JsonObject toJson() {
            return new JsonObject().put("id", id).put("amount", amountRials).put("description", description)
                    .put("refund_status", status).put("refund_time", at.toString());
        }

        static Refund fromJson(JsonObject json) {
            return new Refund(json.getString("id"), json.getLong("amount"), json.getString("description"),
                    json.getString("refund_status"), Instant.parse(json.getString("refund_time")));
        }
    }

    long refundedRials() {
        return refunds.stream().mapToLong(Refund::amountRials).sum();
    }

    SimPayment(String authority, long amountRials, String callbackUrl, Instant createdAt) {
        this.authority = Objects.requireNonNull(authority);
        this.amountRials = amountRials;
        this.callbackUrl = Objects.requireNonNull(callbackUrl);
        this.createdAt = Objects.requireNonNull(createdAt);
    }

    /**
     * The bank hands an unverified payment back to the cardholder once its window passes; applied lazily
     * on every read so no timer is needed. Returns whether the payment changed (and so must be persisted).
     */
    boolean autoReverse(Long pspWindowSeconds, Instant now) {
        if (status != Status.PAID || pspWindowSeconds == null) {
            return false;
        }
        Instant deadline = paidAt.plusSeconds(pspWindowSeconds);
        if (now.isBefore(deadline)) {
            return false;
        }
        status = Status.REVERSED;
        // The bank reversed it when the window closed, not when someone happened to look.
        reversedAt = deadline;
        return true;
    }

    JsonObject toJson() {
        return new JsonObject()
                .put("authority", authority)
                .put("amount", amountRials)
                .put("status", status.name())
                .put("callbackUrl", callbackUrl)
                .put("createdAt", createdAt.toString())
                .put("paidAt", text(paidAt))
                .put("verifiedAt", text(verifiedAt))
                .put("reversedAt", text(reversedAt))
                .put("refId", refId)
                .put("cardPan", cardPan)
                .put("verifyCalls", verifyCalls)
                .put("verifySuccesses", verifySuccesses)
                .put("verifyAlready", verifyAlready)
                .put("inquiryCalls", inquiryCalls)
                .put("refunds", new JsonArray(refunds.stream().map(Refund::toJson).toList()));
    }

    static SimPayment fromJson(JsonObject json) {
        SimPayment p = new SimPayment(json.getString("authority"), json.getLong("amount"),
                json.getString("callbackUrl"), Instant.parse(json.getString("createdAt")));
        p.status = Status.valueOf(json.getString("status"));
        p.paidAt = instant(json.getString("paidAt"));
        p.verifiedAt = instant(json.getString("verifiedAt"));
        p.reversedAt = instant(json.getString("reversedAt"));
        p.refId = json.getLong("refId");
        p.cardPan = json.getString("cardPan");
        p.verifyCalls = json.getLong("verifyCalls");
        p.verifySuccesses = json.getLong("verifySuccesses");
        p.verifyAlready = json.getLong("verifyAlready");
        // Absent from files written before inquiries were counted.
        p.inquiryCalls = json.getLong("inquiryCalls", 0L);
        // Absent from files written before refunds were simulated.
        JsonArray refunds = json.getJsonArray("refunds", new JsonArray());
        for (int i = 0; i < refunds.size(); i++) {
            p.refunds.add(Refund.fromJson(refunds.getJsonObject(i)));
        }
        p.checkInvariants();
        return p;
    }

    /** Checked where a payment is written and where it is read back: an impossible payment fails loudly. */
    void checkInvariants() {
        boolean ok = switch (status) {
            case IN_BANK, FAILED -> paidAt == null && refId == null;
            case PAID -> paidAt != null && cardPan != null && refId == null;
            case VERIFIED -> paidAt != null && verifiedAt != null && refId != null;
            case REVERSED -> reversedAt != null;
        };
        // A refund is made only of a verified payment, never of more than it; a reversed payment has none.
        boolean refundsOk = refunds.isEmpty() || (status == Status.VERIFIED && refundedRials() <= amountRials);
        if (!ok || !refundsOk || amountRials <= 0 || verifySuccesses + verifyAlready > verifyCalls) {
            throw new IllegalStateException("impossible simulated payment: " + toJson().encode());
        }
    }

    private static String text(Instant instant) {
        return instant == null ? null : instant.toString();
    }

    private static Instant instant(String text) {
        return text == null ? null : Instant.parse(text);
    }
}
