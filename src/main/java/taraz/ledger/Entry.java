package taraz.ledger;

import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Row;

import java.time.OffsetDateTime;

/** One line of an account's history: a credit (> 0) or debit (< 0) and the balance after it. */
public record Entry(long id, String transferId, String accountId, long amountRials, long balanceAfterRials,
                    OffsetDateTime createdAt, String kind, String paymentId, String reason) {

    static Entry from(Row row) {
        return new Entry(row.getLong("id"), row.getString("transfer_id"), row.getString("account_id"),
                row.getLong("amount_rials"), row.getLong("balance_after_rials"), row.getOffsetDateTime("created_at"),
                row.getString("kind"), row.getString("payment_id"), row.getString("reason"));
    }

    public JsonObject toJson() {
        return new JsonObject()
                .put("entryId", Long.toString(id))
                .put("transferId", transferId)
                .put("accountId", accountId)
                .put("amount", amountRials)
                .put("balanceAfter", balanceAfterRials)
                .put("kind", kind)
                .put("paymentId", paymentId)
                .put("reason", reason)
                .put("createdAt", createdAt.toInstant().toString());
    }
}
