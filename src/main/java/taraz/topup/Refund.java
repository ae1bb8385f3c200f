package taraz.topup;

import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Row;
import taraz.journal.JournalRecord;

import java.time.OffsetDateTime;

/** A refund of a credited top-up to the card it came from, as stored ({@link RefundService} has the flow). */
public record Refund(String refundId, String topupId, String walletId, long amountRials, Method method, State state,
                     String reason, String ticket, String holdId, String bankRefundId, int sends, String lastError,
                     OffsetDateTime createdAt, OffsetDateTime sentAt, OffsetDateTime updatedAt) {

    public enum State {
        /** The journal's intent only: the row is written HELD, with its hold. */
        CREATED,
        /** The wallet's money is held; the bank has not been asked. */
        HELD,
        /** The bank may have our request: its fate is learned by lookup, never by sending again blindly. */
        SENT,
        /** The bank refunded; the hold is posted to PSP clearing. */
        REFUNDED,
        /** The bank refused (or the refund was refused before the bank); the hold is voided. */
        FAILED;

        public boolean terminal() {
            return this == REFUNDED || this == FAILED;
        }

        /** Every state but the terminal ones is a step under way, which recovery or the sweeper drives on. */
        public JournalRecord.Status journalStatus() {
            return terminal() ? JournalRecord.Status.TERMINAL : JournalRecord.Status.PENDING;
        }
    }

    /** How the money goes back: the bank's reverse (whole payment, inside its window) or its refund API. */
    public enum Method { REVERSE, REFUND }

    static final String COLUMNS = "refund_id, topup_id, wallet_id, amount_rials, method, state, reason, ticket, hold_id, "
            + "bank_refund_id, sends, last_error, created_at, sent_at, updated_at";

    static Refund from(Row row) {
        return new Refund(row.getString("refund_id"), row.getString("topup_id"), row.getString("wallet_id"),
                row.getLong("amount_rials"), Method.valueOf(row.getString("method")), State.valueOf(row.getString("state")),
                row.getString("reason"), row.getString("ticket"), row.getString("hold_id"), row.getString("bank_refund_id"),
                row.getInteger("sends"), row.getString("last_error"), row.getOffsetDateTime("created_at"),
                row.getOffsetDateTime("sent_at"), row.getOffsetDateTime("updated_at"));
    }

    /** The hold on the wallet, and the transfer that posts it: both keyed by the refund. */
    static String holdId(String refundId) {
        return "refund:" + refundId + ":hold";
    }

    public static String transferId(String refundId) {
        return "refund:" + refundId + ":post";
    }

    /** What the bank is told, so a lookup can find our refund among the payment's refunds. */
    public static String bankDescription(String refundId) {
        return "taraz refund " + refundId;
    }

    Refund with(State state, Method method, String bankRefundId, String lastError, OffsetDateTime updatedAt) {
        return new Refund(refundId, topupId, walletId, amountRials, method, state, reason, ticket, holdId, bankRefundId, sends,
                lastError, createdAt, sentAt, updatedAt);
    }

    public JsonObject toJson() {
        return new JsonObject()
                .put("refundId", refundId)
                .put("topupId", topupId)
                .put("walletId", walletId)
                .put("amount", amountRials)
                .put("method", method.name())
                .put("state", state.name())
                .put("reason", reason)
                .put("ticket", ticket)
                .put("bankRefundId", bankRefundId)
                .put("sends", sends)
                .put("lastError", lastError)
                .put("createdAt", createdAt.toInstant().toString())
                .put("updatedAt", updatedAt.toInstant().toString());
    }
}
