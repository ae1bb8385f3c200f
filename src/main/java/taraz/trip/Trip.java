package taraz.trip;

import io.vertx.sqlclient.Row;
import taraz.journal.JournalRecord;

import java.time.OffsetDateTime;

/** A trip payment as stored: a hold, a settlement, or both. */
public record Trip(String tripId, State state, String passengerWalletId, String driverWalletId, String holdId,
                   Long holdRials, OffsetDateTime holdExpiresAt, Long fareRials, Long commissionRials,
                   String transferId, OffsetDateTime createdAt, OffsetDateTime updatedAt) {

    /** NEW exists only inside the transaction that creates the trip; it is never committed. */
    public enum State {
        NEW, HELD, SETTLED, VOIDED, EXPIRED;

        /** HELD waits for a settle, a cancel or the expiry sweeper; the others are final. */
        public JournalRecord.Status journalStatus() {
            return switch (this) {
                case NEW -> throw new IllegalStateException("a NEW trip is never journaled");
                case HELD -> JournalRecord.Status.RESTING;
                case SETTLED, VOIDED, EXPIRED -> JournalRecord.Status.TERMINAL;
            };
        }
    }

    /**
     * The trip's journal steps: a PENDING record names the step begun (HOLDING, SETTLING, VOIDING,
     * EXPIRING), a REJECTED one a step refused, with its cause (TERMINAL, or RESTING while the trip's hold waits).
     */
    public enum Step {
        HOLDING, SETTLING, VOIDING, EXPIRING, REJECTED
    }

    static final String COLUMNS = "trip_id, state, passenger_wallet_id, driver_wallet_id, hold_id, hold_rials, "
            + "hold_expires_at, fare_rials, commission_rials, transfer_id, created_at, updated_at";

    static Trip from(Row row) {
        return new Trip(row.getString("trip_id"), State.valueOf(row.getString("state")),
                row.getString("passenger_wallet_id"), row.getString("driver_wallet_id"), row.getString("hold_id"),
                row.getLong("hold_rials"), row.getOffsetDateTime("hold_expires_at"), row.getLong("fare_rials"),
                row.getLong("commission_rials"), row.getString("transfer_id"), row.getOffsetDateTime("created_at"),
                row.getOffsetDateTime("updated_at"));
    }

    public static String holdId(String tripId) {
        return "trip:" + tripId + ":hold";
    }

    public static String settleTransferId(String tripId) {
        return "trip:" + tripId + ":settle";
    }
}
