package taraz.ledger;

import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Row;

import java.time.OffsetDateTime;

/** An account as stored; {@code availableRials} is the balance less active holds. */
public record Account(String id, AccountKind kind, String ownerId, String phone, String name,
                      boolean allowOverdraft, long balanceRials, long heldRials, OffsetDateTime createdAt) {

    static final String COLUMNS = "id, kind, owner_id, phone, name, allow_overdraft, balance_rials, held_rials, created_at";

    static Account from(Row row) {
        return new Account(row.getString("id"), AccountKind.fromDb(row.getString("kind")), row.getString("owner_id"),
                row.getString("phone"), row.getString("name"), row.getBoolean("allow_overdraft"),
                row.getLong("balance_rials"), row.getLong("held_rials"), row.getOffsetDateTime("created_at"));
    }

    public long availableRials() {
        return balanceRials - heldRials;
    }

    public boolean isWallet() {
        return kind.isWallet();
    }

    /**
     * The wallet as the API shows it; ids and amounts as the contract says (amounts integers).
     * No phone or name: those are for support ({@link #withContact}), not for every service.
     */
    public JsonObject toWalletJson() {
        return new JsonObject()
                .put("walletId", id)
                .put("kind", kind.apiName())
                .put("ownerId", ownerId)
                .put("balance", balanceRials)
                .put("available", availableRials())
                .put("held", heldRials)
                .put("createdAt", createdAt.toInstant().toString());
    }

    /** The wallet with the customer's phone and name, for the admin token only. */
    public JsonObject withContact(JsonObject walletJson) {
        return walletJson.put("phone", phone).put("name", name);
    }
}
