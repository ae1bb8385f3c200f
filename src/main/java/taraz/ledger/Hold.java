package taraz.ledger;

import io.vertx.sqlclient.Row;

import java.time.OffsetDateTime;

/** A two-phase reservation on an account (TigerBeetle's pending transfer). */
public record Hold(String id, String accountId, long amountRials, State state, OffsetDateTime expiresAt) {

    public enum State { HELD, POSTED, VOIDED, EXPIRED }

    static final String COLUMNS = "id, account_id, amount_rials, state, expires_at";

    static Hold from(Row row) {
        return new Hold(row.getString("id"), row.getString("account_id"), row.getLong("amount_rials"),
                State.valueOf(row.getString("state")), row.getOffsetDateTime("expires_at"));
    }
}
