package taraz.pspsim;

import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.Objects;

/** One simulated payout transfer; mutable, and touched only on the simulator's event-loop context. */
final class SimTransfer {
    /** The protocol's states; a transfer never leaves PAID or FAILED. */
    enum State { IN_PROGRESS, PAID, FAILED }

    final String referenceId;
    final String transferId;
    final String iban;
    final long amountRials;
    final String description;
    /** Where the completion is announced; null when the sender gave none. */
    final String callbackUrl;
    final Instant createdAt;
    /** When the bank completes it: the arrival plus the completion delay in force then. */
    final Instant completeAt;
    /** The destination bank's refusal decided on arrival (the IBAN's rejection then), or null: it will be paid. */
    final String rejection;
    State state = State.IN_PROGRESS;
    String failureReason;
    Instant completedAt;
    /** How many POSTs named this reference, the first included (a 409 conflict counts too). */
    long sends = 1;

    SimTransfer(String referenceId, String transferId, String iban, long amountRials, String description,
                String callbackUrl, Instant createdAt, Instant completeAt, String rejection) {
        this.referenceId = Objects.requireNonNull(referenceId);
        this.transferId = Objects.requireNonNull(transferId);
        this.iban = Objects.requireNonNull(iban);
        this.amountRials = amountRials;
        this.description = description;
        this.callbackUrl = callbackUrl;
        this.createdAt = Objects.requireNonNull(createdAt);
        this.completeAt = Objects.requireNonNull(completeAt);
        this.rejection = rejection;
    }

    /** IN_PROGRESS → PAID, or FAILED with the rejection decided on arrival. */
    void complete(Instant now) {
        if (state != State.IN_PROGRESS) {
            throw new IllegalStateException("transfer " + referenceId + " is already " + state);
        }
        state = rejection == null ? State.PAID : State.FAILED;
        failureReason = rejection;
        completedAt = now;
    }

    /** The protocol's answer: {@code referenceId, transferId, state, failureReason}. */
    JsonObject answer() {
        return new JsonObject().put("referenceId", referenceId).put("transferId", transferId)
                .put("state", state.name()).put("failureReason", failureReason);
    }

    /** Everything, for the store and {@code GET /sim/payouts/{referenceId}}. */
    JsonObject toJson() {
        return answer()
                .put("iban", iban)
                .put("amount", amountRials)
                .put("description", description)
                .put("callbackUrl", callbackUrl)
                .put("createdAt", createdAt.toString())
                .put("completeAt", completeAt.toString())
                .put("rejection", rejection)
                .put("completedAt", completedAt == null ? null : completedAt.toString())
                .put("sends", sends);
    }

    static SimTransfer fromJson(JsonObject json) {
        SimTransfer t = new SimTransfer(json.getString("referenceId"), json.getString("transferId"), json.getString("iban"),
                json.getLong("amount"), json.getString("description"), json.getString("callbackUrl"),
                Instant.parse(json.getString("createdAt")), Instant.parse(json.getString("completeAt")),
                json.getString("rejection"));
        t.state = State.valueOf(json.getString("state"));
        t.failureReason = json.getString("failureReason");
        String completedAt = json.getString("completedAt");
        t.completedAt = completedAt == null ? null : Instant.parse(completedAt);
        t.sends = json.getLong("sends");
        t.checkInvariants();
        return t;
    }

    /** Checked where a transfer is written and where it is read back: an impossible transfer fails loudly. */
    void checkInvariants() {
        boolean ok = switch (state) {
            case IN_PROGRESS -> completedAt == null && failureReason == null;
            case PAID -> completedAt != null && failureReason == null && rejection == null;
            case FAILED -> completedAt != null && failureReason != null && failureReason.equals(rejection);
        };
        if (!ok || amountRials <= 0 || sends < 1 || completeAt.isBefore(createdAt)
                || (rejection != null && !PayoutFaults.REASONS.contains(rejection))) {
            throw new IllegalStateException("impossible simulated transfer: " + toJson().encode());
        }
    }
}
