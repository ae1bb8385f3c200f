package taraz.admin;

import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import taraz.ledger.Account;
import taraz.ledger.Hold;
import taraz.ledger.Ledger;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A customer's story, for support: their wallets by phone or owner id, and one wallet's timeline, newest first, merged
 * from what every flow stores. It reads the flows' tables with SQL and calls no flow (admin is a flow's peer and may not
 * use one): ledger entries (an adjustment's entry shown as the adjustment); each top-up's state changes and calls to the
 * bank, with who drove them; the trips of the wallet (as passenger or driver): holds placed and ended, settlements and
 * refused steps; payouts; top-up and trip refunds; reconciliation's actions on the wallet.
 *
 * <p>Paging is by the item's key (at, source, id), which no two items share and which never changes, so a page
 * boundary cannot skip or repeat an item while the wallet's story grows (new items are newer than any cursor).
 */
public final class StoryService {

    /** The most wallets one customer lookup answers with. */
    public static final int CUSTOMER_WALLETS_MAX = 100;

    /**
     * Every source as one row shape: at, source (which table), id (unique in the source), kind, flow, payment_id,
     * state, amount, driven_by, detail (a JSON object). {@code $1} is the wallet.
     */
    private static final List<String> SOURCES = List.of(
            // Ledger entries; an adjustment's is the adjustment itself.
            "SELECT e.created_at AS at, 'entry' AS source, e.id::text AS id, "
                    + "CASE WHEN t.kind = '" + AdjustmentService.FLOW + "' THEN 'adjustment' ELSE 'entry' END AS kind, "
                    + "CASE WHEN t.kind = '" + AdjustmentService.FLOW + "' THEN 'adjustment' "
                    + "WHEN t.kind LIKE '%correction' THEN 'reconcile' WHEN t.kind = 'trip_refund' THEN 'trip_refund' "
                    + "WHEN split_part(t.kind, '_', 1) IN ('topup', 'trip', 'payout', 'refund') THEN split_part(t.kind, '_', 1) "
                    + "ELSE 'ledger' END AS flow, "
                    + "t.id AS payment_id, CASE WHEN t.kind = '" + AdjustmentService.FLOW + "' THEN 'APPLIED' ELSE 'POSTED' END AS state, "
                    + "e.amount_rials AS amount, NULL::text AS driven_by, "
                    + "jsonb_build_object('transferId', t.id, 'transferKind', t.kind, 'paymentId', t.payment_id, "
                    + "'balanceAfter', e.balance_after_rials, 'reason', t.reason) AS detail "
                    + "FROM entries e JOIN transfers t ON t.id = e.transfer_id WHERE e.account_id = $1",
            // Every state change of the wallet's top-ups, with who drove it.
            "SELECT h.at, 'topup', h.id::text, 'topup', 'topup', t.topup_id, h.state, t.amount_rials, lower(h.driven_by), "
                    + "jsonb_build_object('cause', h.cause, 'node', h.node, 'authority', t.authority, "
                    + "'verifyAttempts', t.verify_attempts, 'lastError', t.last_error) "
                    + "FROM topup_history h JOIN topups t ON t.topup_id = h.topup_id WHERE t.wallet_id = $1",
            // Every call to the bank about them, with its answer.
            "SELECT c.at, 'bank_call', c.id::text, 'bank_call', 'topup', t.topup_id, c.answer, t.amount_rials, lower(c.driven_by), "
                    + "jsonb_build_object('call', lower(c.call), 'code', c.code, 'error', c.error, 'node', c.node, "
                    + "'authority', t.authority) "
                    + "FROM topup_bank_calls c JOIN topups t ON t.topup_id = c.topup_id WHERE t.wallet_id = $1",
            // A trip's hold placed on the passenger's wallet ...
            "SELECT h.created_at, 'hold', h.id || ':placed', 'hold', 'trip', tr.trip_id, '" + Hold.State.HELD + "', h.amount_rials, "
                    + "NULL, jsonb_build_object('holdId', h.id, 'expiresAt', h.expires_at) "
                    + "FROM trips tr JOIN holds h ON h.id = tr.hold_id WHERE tr.passenger_wallet_id = $1",
            // ... and ended: posted by the settle, voided by a cancel, expired by the sweeper.
            "SELECT h.updated_at, 'hold', h.id || ':ended', 'hold', 'trip', tr.trip_id, h.state, h.amount_rials, "
                    + "NULL, jsonb_build_object('holdId', h.id, 'expiresAt', h.expires_at) "
                    + "FROM trips tr JOIN holds h ON h.id = tr.hold_id "
                    + "WHERE tr.passenger_wallet_id = $1 AND h.state <> '" + Hold.State.HELD + "'",
            // A trip's settlement, for its passenger and its driver.
            "SELECT x.created_at, 'trip', tr.trip_id, 'trip', 'trip', tr.trip_id, tr.state, tr.fare_rials, NULL, "
                    + "jsonb_build_object('role', CASE WHEN tr.passenger_wallet_id = $1 THEN 'passenger' ELSE 'driver' END, "
                    + "'fare', tr.fare_rials, 'commission', tr.commission_rials, 'passengerWalletId', tr.passenger_wallet_id, "
                    + "'driverWalletId', tr.driver_wallet_id, 'transferId', tr.transfer_id) "
                    + "FROM trips tr JOIN transfers x ON x.id = tr.transfer_id "
                    + "WHERE tr.passenger_wallet_id = $1 OR tr.driver_wallet_id = $1",
            // A trip step the ledger writer refused.
            "SELECT r.at, 'trip_rejected', r.id::text, 'trip_rejected', "
                    + "CASE WHEN r.step = 'refund' THEN 'trip_refund' ELSE 'trip' END, r.trip_id, 'REJECTED', r.amount_rials, NULL, "
                    + "jsonb_build_object('step', r.step, 'code', r.code, 'passengerWalletId', r.passenger_wallet_id, "
                    + "'driverWalletId', r.driver_wallet_id) "
                    + "FROM trip_rejections r WHERE r.passenger_wallet_id = $1 OR r.driver_wallet_id = $1",
            // Payouts, every state change.
            "SELECT ph.at, 'payout', ph.id::text, 'payout', 'payout', p.payout_id, ph.state, p.amount_rials, NULL, "
                    + "jsonb_build_object('cause', ph.cause, 'node', ph.node, 'failureReason', p.failure_reason, "
                    + "'providerTransferId', p.provider_transfer_id) "
                    + "FROM payout_history ph JOIN payouts p ON p.payout_id = ph.payout_id WHERE p.wallet_id = $1",
            // Top-up refunds, every state change.
            "SELECT rh.at, 'refund', rh.id::text, 'refund', 'refund', r.refund_id, rh.state, r.amount_rials, NULL, "
                    + "jsonb_build_object('topupId', r.topup_id, 'method', r.method, 'cause', rh.cause, 'node', rh.node, "
                    + "'reason', r.reason, 'ticket', r.ticket, 'bankRefundId', r.bank_refund_id, 'lastError', r.last_error) "
                    + "FROM topup_refund_history rh JOIN topup_refunds r ON r.refund_id = rh.refund_id WHERE r.wallet_id = $1",
            // Trip refunds, for the passenger and the driver they were taken from.
            "SELECT f.created_at, 'trip_refund', f.refund_id, 'refund', 'trip_refund', f.refund_id, 'REFUNDED', f.amount_rials, NULL, "
                    + "jsonb_build_object('tripId', f.trip_id, "
                    + "'role', CASE WHEN tr.passenger_wallet_id = $1 THEN 'passenger' ELSE 'driver' END, "
                    + "'driverRials', f.driver_rials, 'platformRials', f.platform_rials, "
                    + "'driverShortfallRials', f.driver_shortfall_rials, 'reason', f.reason, 'ticket', f.ticket, "
                    + "'transferId', f.transfer_id) "
                    + "FROM trip_refunds f JOIN trips tr ON tr.trip_id = f.trip_id "
                    + "WHERE tr.passenger_wallet_id = $1 OR tr.driver_wallet_id = $1",
            // What reconciliation did about the wallet.
            "SELECT a.created_at, 'finding', a.finding_key, 'finding', 'reconcile', a.payment_id, a.action, a.amount_rials, "
                    + "'reconcile', jsonb_build_object('findingKey', a.finding_key, 'finding', a.kind, 'action', a.action, "
                    + "'transferId', a.transfer_id, 'runId', a.run_id, 'attempts', a.attempts) "
                    + "FROM reconciliation_actions a WHERE a.wallet_id IS NOT NULL AND a.wallet_id = $1");

    /**
     * Newest first by (at, source, id), from {@code since} ($2) on, after the cursor ($3, $4, $5), at most $6. Each
     * source is filtered by the wallet inside, by its own index; the order and the cursor apply to their union.
     */
    private static final String STORY = "SELECT at, source, id, kind, flow, payment_id, state, amount, driven_by, "
            + "jsonb_strip_nulls(detail)::text AS detail FROM (" + String.join(" UNION ALL ", SOURCES) + ") s "
            + "WHERE ($2::timestamptz IS NULL OR at >= $2) "
            + "AND ($3::timestamptz IS NULL OR (at, source, id) < ($3, $4::text, $5::text)) "
            + "ORDER BY at DESC, source DESC, id DESC LIMIT $6";

    private final Pool pool;
    private final Ledger ledger;

    public StoryService(Pool pool, Ledger ledger) {
        this.pool = pool;
        this.ledger = ledger;
    }

    /**
     * The customers with this phone (any of its forms) or owner id, exactly one of them not null: each with its
     * wallets. {@code {"customers": [{ownerId, phone, name, wallets: [...]}]}}; an empty list when none.
     */
    public Future<JsonObject> customers(String phone, String ownerId) {
        if ((phone == null) == (ownerId == null)) {
            throw new IllegalArgumentException("a customer is looked up by phone or by owner id");
        }
        return ledger.customerWallets(phone, ownerId, CUSTOMER_WALLETS_MAX).map(wallets -> {
            Map<String, JsonObject> byOwner = new LinkedHashMap<>();
            for (Account wallet : wallets) {
                JsonObject customer = byOwner.computeIfAbsent(wallet.ownerId(), owner -> new JsonObject()
                        .put("ownerId", owner).put("phone", null).put("name", null).put("wallets", new JsonArray()));
                if (customer.getString("phone") == null) {
                    customer.put("phone", wallet.phone());
                }
                if (customer.getString("name") == null) {
                    customer.put("name", wallet.name());
                }
                customer.getJsonArray("wallets").add(wallet.toWalletJson());
            }
            return new JsonObject().put("customers", new JsonArray(new ArrayList<>(byOwner.values())));
        });
    }

    /**
     * One page of the wallet's story: {@code {walletId, items, nextCursor}}, newest first, items at or after
     * {@code since} (null: all), after {@code cursor} (null: from the newest), at most {@code limit}. An unknown
     * wallet is wallet_not_found.
     */
    public Future<JsonObject> story(String walletId, OffsetDateTime since, Cursor cursor, int limit) {
        return ledger.wallet(walletId).compose(wallet -> pool.preparedQuery(STORY)
                        .execute(Tuple.of(walletId, since, cursor == null ? null : cursor.at(),
                                cursor == null ? null : cursor.source(), cursor == null ? null : cursor.id(), limit + 1)))
                .map(rows -> {
                    List<Row> all = new ArrayList<>();
                    rows.forEach(all::add);
                    List<Row> page = all.size() > limit ? all.subList(0, limit) : all;
                    JsonArray items = new JsonArray();
                    page.forEach(row -> items.add(item(row)));
                    Row last = page.isEmpty() ? null : page.get(page.size() - 1);
                    String next = all.size() > limit
                            ? new Cursor(last.getOffsetDateTime("at"), last.getString("source"), last.getString("id")).encode()
                            : null;
                    return new JsonObject().put("walletId", walletId).put("items", items).put("nextCursor", next);
                });
    }

    private static JsonObject item(Row row) {
        JsonObject detail = new JsonObject(row.getString("detail"));
        String kind = row.getString("kind");
        String state = row.getString("state");
        Long amount = row.getLong("amount");
        String drivenBy = row.getString("driven_by");
        String paymentId = row.getString("payment_id");
        return new JsonObject()
                .put("at", row.getOffsetDateTime("at").toInstant().toString())
                .put("kind", kind)
                .put("flow", row.getString("flow"))
                .put("paymentId", paymentId)
                .put("state", state)
                .put("amount", amount)
                .put("drivenBy", drivenBy)
                .put("text", StoryText.sentence(kind, state, amount, paymentId, drivenBy, detail))
                .put("detail", detail);
    }

    /**
     * Where a page ended: the key (at, source, id) of its last item, sent to the client as an opaque string
     * (base64url of {@code at|source|id}; at to the microsecond, as stored, so no item on the boundary is lost).
     */
    public record Cursor(OffsetDateTime at, String source, String id) {

        String encode() {
            String key = at.toInstant() + "|" + source + "|" + id;
            return Base64.getUrlEncoder().withoutPadding().encodeToString(key.getBytes(StandardCharsets.UTF_8));
        }

        /** The cursor a page gave; IllegalArgumentException for anything else. */
        public static Cursor decode(String cursor) {
            String key = new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.UTF_8);
            String[] parts = key.split("\\|", 3);
            if (parts.length != 3 || parts[1].isEmpty() || parts[2].isEmpty()) {
                throw new IllegalArgumentException("not a story cursor");
            }
            try {
                return new Cursor(Instant.parse(parts[0]).atOffset(ZoneOffset.UTC), parts[1], parts[2]);
            } catch (java.time.format.DateTimeParseException e) {
                throw new IllegalArgumentException("not a story cursor", e);
            }
        }
    }
}
