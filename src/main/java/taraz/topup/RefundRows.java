package taraz.topup;

import io.vertx.core.Future;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import taraz.ledger.Batch;
import taraz.ledger.BatchPart;

import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The refunds of one ledger batch and the top-ups they refund: the top-ups named by a hold are locked (sorted by id)
 * with every refund of theirs, so the refunds of one top-up are summed under its lock however many race; a refund
 * named by its post or void is locked alone. New refunds are inserted, ended ones updated, each with its history rows,
 * after the commands ran. An ended refund's lease is released.
 */
final class RefundRows implements BatchPart {

    /** The refunded top-up as its lock reads it: what a hold checks, and when the bank verified it (for the window). */
    record TopupLock(String topupId, String walletId, long amountRials, Topup.State state, String authority,
                     OffsetDateTime verifiedAt) {}

    private final String node;
    private final long leaseMillis;
    private final Set<String> wantedTopups = new LinkedHashSet<>();
    private final Set<String> wantedRefunds = new LinkedHashSet<>();
    private final Map<String, TopupLock> topups = new HashMap<>();
    private final Map<String, Refund> refunds = new LinkedHashMap<>();
    private final Map<String, Refund> inserted = new LinkedHashMap<>();
    private final Map<String, Ended> ended = new LinkedHashMap<>();

    /** An ended refund: its end state, why, and the transfer that posted it (null when voided). */
    private record Ended(Refund refund, String cause, String transferId) {}

    private RefundRows(String node, long leaseMillis) {
        this.node = node;
        this.leaseMillis = leaseMillis;
    }

    /** The batch's refund rows; {@code leaseMillis} is how long this node leases a refund it has just held. */
    static RefundRows of(Batch batch, String node, long leaseMillis) {
        return batch.part(RefundRows.class, () -> new RefundRows(node, leaseMillis));
    }

    void wantTopup(String topupId) {
        wantedTopups.add(topupId);
    }

    void wantRefund(String refundId) {
        wantedRefunds.add(refundId);
    }

    TopupLock topup(String topupId) {
        return topups.get(topupId);
    }

    Refund refund(String refundId) {
        return refunds.get(refundId);
    }

    /** The refunds of a locked top-up that hold or took money: every one not FAILED. */
    long refundedRials(String topupId) {
        return refunds.values().stream().filter(r -> r.topupId().equals(topupId) && r.state() != Refund.State.FAILED)
                .mapToLong(Refund::amountRials).sum();
    }

    void insert(Batch batch, Refund refund) {
        String id = refund.refundId();
        refunds.put(id, refund);
        inserted.put(id, refund);
        batch.onUndo(() -> {
            refunds.remove(id);
            inserted.remove(id);
        });
    }

    void end(Batch batch, Refund now, String cause, String transferId) {
        String id = now.refundId();
        Refund before = refunds.put(id, now);
        ended.put(id, new Ended(now, cause, transferId));
        batch.onUndo(() -> {
            refunds.put(id, before);
            ended.remove(id);
        });
    }

    @Override
    public Future<Void> load(SqlConnection tx) {
        String[] topupIds = wantedTopups.stream().sorted().toArray(String[]::new);
        String[] refundIds = wantedRefunds.stream().sorted().toArray(String[]::new);
        Future<Void> lockedTopups = topupIds.length == 0 ? Future.succeededFuture()
                : tx.preparedQuery("SELECT topup_id, wallet_id, amount_rials, state, authority, "
                                + "coalesce(verified_at, updated_at) AS verified_at FROM topups WHERE topup_id = ANY($1) "
                                + "ORDER BY topup_id FOR UPDATE")
                .execute(Tuple.of((Object) topupIds))
                .map(rows -> {
                    rows.forEach(row -> topups.put(row.getString("topup_id"), new TopupLock(row.getString("topup_id"),
                            row.getString("wallet_id"), row.getLong("amount_rials"), Topup.State.valueOf(row.getString("state")),
                            row.getString("authority"), row.getOffsetDateTime("verified_at"))));
                    return null;
                });
        return lockedTopups.compose(v -> tx.preparedQuery("SELECT " + Refund.COLUMNS + " FROM topup_refunds "
                                + "WHERE refund_id = ANY($1) OR topup_id = ANY($2) ORDER BY refund_id FOR UPDATE")
                        .execute(Tuple.of(refundIds, (Object) topupIds)))
                .map(rows -> {
                    rows.forEach(row -> {
                        Refund refund = Refund.from(row);
                        refunds.put(refund.refundId(), refund);
                    });
                    return null;
                });
    }

    @Override
    public Collection<String> accounts() {
        List<String> accounts = new ArrayList<>();
        topups.values().forEach(t -> accounts.add(t.walletId()));
        refunds.values().forEach(r -> accounts.add(r.walletId()));
        return accounts;
    }

    @Override
    public List<Future<?>> write(SqlConnection tx) {
        List<Future<?>> writes = new ArrayList<>();
        if (!inserted.isEmpty()) {
            int n = inserted.size();
            List<Refund> rows = new ArrayList<>(inserted.values());
            writes.add(Batch.expect(tx.preparedQuery("INSERT INTO topup_refunds (refund_id, topup_id, wallet_id, amount_rials, "
                            + "method, state, reason, ticket, hold_id, owner, lease_until) "
                            + "SELECT id, topup, wallet, amount, method, '" + Refund.State.HELD + "', reason, ticket, hold, $9, "
                            // Held is a step under way: this node leases it while it goes on to the bank.
                            + "now() + $10 * interval '1 millisecond' FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], "
                            + "$5::text[], $6::text[], $7::text[], $8::text[]) "
                            + "AS u(id, topup, wallet, amount, method, reason, ticket, hold)")
                    .execute(Tuple.tuple(List.of(
                            rows.stream().map(Refund::refundId).toArray(String[]::new),
                            rows.stream().map(Refund::topupId).toArray(String[]::new),
                            rows.stream().map(Refund::walletId).toArray(String[]::new),
                            rows.stream().map(Refund::amountRials).toArray(Long[]::new),
                            rows.stream().map(r -> r.method().name()).toArray(String[]::new),
                            rows.stream().map(Refund::reason).toArray(String[]::new),
                            rows.stream().map(Refund::ticket).toArray(String[]::new),
                            rows.stream().map(Refund::holdId).toArray(String[]::new),
                            node, leaseMillis))), n, "refunds held"));
            writes.add(history(tx, rows.stream().map(Refund::refundId).toList(), Refund.State.CREATED, null));
            writes.add(history(tx, rows.stream().map(Refund::refundId).toList(), Refund.State.HELD, null));
        }
        if (!ended.isEmpty()) {
            int n = ended.size();
            List<Ended> rows = new ArrayList<>(ended.values());
            String[] ids = rows.stream().map(e -> e.refund().refundId()).toArray(String[]::new);
            String[] states = rows.stream().map(e -> e.refund().state().name()).toArray(String[]::new);
            String[] causes = rows.stream().map(Ended::cause).toArray(String[]::new);
            String[] transfers = rows.stream().map(Ended::transferId).toArray(String[]::new);
            String[] bankIds = rows.stream().map(e -> e.refund().bankRefundId()).toArray(String[]::new);
            writes.add(Batch.expect(tx.preparedQuery("UPDATE topup_refunds SET state = u.state, "
                            + "last_error = coalesce(u.cause, last_error), transfer_id = u.transfer, "
                            + "bank_refund_id = coalesce(u.bank_id, bank_refund_id), updated_at = now(), owner = $6, lease_until = NULL "
                            + "FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) "
                            + "AS u(id, state, cause, transfer, bank_id) WHERE refund_id = u.id")
                    .execute(Tuple.of(ids, states, causes, transfers, bankIds, node)), n, "refunds ended"));
            writes.add(Batch.expect(tx.preparedQuery("INSERT INTO topup_refund_history (refund_id, state, cause, node) "
                            + "SELECT id, state, cause, $4 FROM unnest($1::text[], $2::text[], $3::text[]) AS u(id, state, cause)")
                    .execute(Tuple.of(ids, states, causes, node)), n, "refund history"));
        }
        return writes;
    }

    private Future<?> history(SqlConnection tx, List<String> ids, Refund.State state, String cause) {
        return Batch.expect(tx.preparedQuery("INSERT INTO topup_refund_history (refund_id, state, cause, node) "
                        + "SELECT id, $2, $3, $4 FROM unnest($1::text[]) AS u(id)")
                .execute(Tuple.of(ids.toArray(String[]::new), state.name(), cause, node)), ids.size(), "refund history");
    }
}
