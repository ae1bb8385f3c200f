package taraz.topup;

import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Row;
import taraz.journal.JournalRecord;

import java.time.OffsetDateTime;

/** A wallet top-up through a bank gateway, as stored. */
public record Topup(String topupId, String walletId, long amountRials, String gateway, State state, String authority,
                    String refId, String cardPan, int verifyAttempts, String lastError, OffsetDateTime createdAt,
                    OffsetDateTime requestedAt, OffsetDateTime updatedAt) {

    public enum State {
        CREATED, REQUESTED, CALLBACK_RECEIVED, VERIFYING, VERIFIED, CREDITED, FAILED, EXPIRED, REVERSED;

        public boolean terminal() {
            return this == CREDITED || this == FAILED || this == EXPIRED || this == REVERSED;
        }

        /**
         * REQUESTED waits for the cardholder (the callback or the sweeper moves it on); every other
         * non-terminal state is a step under way, which recovery must drive on.
         */
        public JournalRecord.Status journalStatus() {
            if (terminal()) {
                return JournalRecord.Status.TERMINAL;
            }
            return this == REQUESTED ? JournalRecord.Status.RESTING : JournalRecord.Status.PENDING;
        }
    }

    static final String COLUMNS = "topup_id, wallet_id, amount_rials, gateway, state, authority, ref_id, card_pan, "
            + "verify_attempts, last_error, created_at, requested_at, updated_at";

    static Topup from(Row row) {
        return new Topup(row.getString("topup_id"), row.getString("wallet_id"), row.getLong("amount_rials"),
                row.getString("gateway"), State.valueOf(row.getString("state")), row.getString("authority"),
                row.getString("ref_id"), row.getString("card_pan"), row.getInteger("verify_attempts"),
                row.getString("last_error"), row.getOffsetDateTime("created_at"), row.getOffsetDateTime("requested_at"),
                row.getOffsetDateTime("updated_at"));
    }

    public static String creditTransferId(String topupId) {
        return "topup:" + topupId + ":credit";
    }

    public JsonObject toJson() {
        return new JsonObject()
                .put("topupId", topupId)
                .put("walletId", walletId)
                .put("amount", amountRials)
                .put("gateway", gateway)
                .put("state", state.name())
                .put("authority", authority)
                .put("refId", refId)
                .put("cardPan", cardPan)
                .put("verifyAttempts", verifyAttempts)
                .put("lastError", lastError)
                .put("createdAt", createdAt.toInstant().toString())
                .put("updatedAt", updatedAt.toInstant().toString());
    }
}
