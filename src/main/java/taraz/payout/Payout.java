package taraz.payout;

import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Row;
import taraz.journal.JournalRecord;

import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;

/** A driver's cash-out to an IBAN, as stored. */
public record Payout(String payoutId, String walletId, long amountRials, String iban, String provider, State state,
                     LocalDate batchDay, String providerTransferId, String failureReason, String lastError,
                     int sendAttempts, OffsetDateTime createdAt, OffsetDateTime sentAt, OffsetDateTime updatedAt) {

    /**
     * A payout's hold does not expire: it ends with the payout (posted or voided), never by a clock, since the
     * provider may pay at any time until it says otherwise.
     */
    static final OffsetDateTime HOLD_EXPIRES_NEVER = OffsetDateTime.of(9999, 12, 31, 0, 0, 0, 0, ZoneOffset.UTC);

    public enum State {
        CREATED, HELD, SENT, PAID, FAILED;

        public boolean terminal() {
            return this == PAID || this == FAILED;
        }

        /**
         * SENT waits for the provider (its callback or the sweeper's status call moves it on) once its answer to the
         * send is recorded; CREATED and HELD are steps under way, which recovery drives on.
         */
        public JournalRecord.Status journalStatus() {
            if (terminal()) {
                return JournalRecord.Status.TERMINAL;
            }
            return this == SENT ? JournalRecord.Status.RESTING : JournalRecord.Status.PENDING;
        }
    }

    static final String COLUMNS = "payout_id, wallet_id, amount_rials, iban, provider, state, batch_day, provider_transfer_id, "
            + "failure_reason, last_error, send_attempts, created_at, sent_at, updated_at";

    static Payout from(Row row) {
        return new Payout(row.getString("payout_id"), row.getString("wallet_id"), row.getLong("amount_rials"),
                row.getString("iban"), row.getString("provider"), State.valueOf(row.getString("state")),
                row.getLocalDate("batch_day"), row.getString("provider_transfer_id"), row.getString("failure_reason"),
                row.getString("last_error"), row.getInteger("send_attempts"), row.getOffsetDateTime("created_at"),
                row.getOffsetDateTime("sent_at"), row.getOffsetDateTime("updated_at"));
    }

    public static String holdId(String payoutId) {
        return "payout:" + payoutId + ":hold";
    }

    public static String postTransferId(String payoutId) {
        return "payout:" + payoutId + ":post";
    }

    Payout with(State to, String failure, OffsetDateTime at) {
        return new Payout(payoutId, walletId, amountRials, iban, provider, to, batchDay, providerTransferId,
                failure != null ? failure : failureReason, lastError, sendAttempts, createdAt, sentAt, at);
    }

    public JsonObject toJson() {
        return new JsonObject()
                .put("payoutId", payoutId)
                .put("driverWalletId", walletId)
                .put("amount", amountRials)
                .put("iban", Iban.masked(iban))
                .put("provider", provider)
                .put("state", state.name())
                .put("batchDay", batchDay == null ? null : batchDay.toString())
                .put("providerTransferId", providerTransferId)
                .put("failureReason", failureReason)
                .put("lastError", lastError)
                .put("sendAttempts", sendAttempts)
                .put("createdAt", createdAt.toInstant().toString())
                .put("sentAt", sentAt == null ? null : sentAt.toInstant().toString())
                .put("updatedAt", updatedAt.toInstant().toString());
    }
}
