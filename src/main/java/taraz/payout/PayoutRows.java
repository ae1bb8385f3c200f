package taraz.payout;

import io.vertx.core.Future;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import taraz.ledger.Batch;
import taraz.ledger.BatchPart;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The payouts of one ledger batch (their holds, posts and voids): locked (sorted by id) and read before the commands
 * run, moved by them in memory, written after in one UPDATE, with one history row each. Each state a command moves a
 * payout to is either final or a step whose next move is this node's, so the row's lease is released or kept as the
 * state says.
 */
final class PayoutRows implements BatchPart {

    private final String node;
    private final Set<String> wanted = new LinkedHashSet<>();
    private final Map<String, Payout> payouts = new HashMap<>();
    private final Map<String, Change> changed = new LinkedHashMap<>();

    /** What a command did to a payout: its new state, why, and the hold or transfer it made. */
    private record Change(Payout payout, String cause, String holdId, String transferId) {}

    private PayoutRows(String node) {
        this.node = node;
    }

    static PayoutRows of(Batch batch, String node) {
        return batch.part(PayoutRows.class, () -> new PayoutRows(node));
    }

    void want(String payoutId) {
        wanted.add(payoutId);
    }

    Payout get(String payoutId) {
        return payouts.get(payoutId);
    }

    /** The payout as a command moved it; undone with its command if that is refused later. */
    void moved(Batch batch, Payout payout, String cause, String holdId, String transferId) {
        String id = payout.payoutId();
        Payout before = payouts.put(id, payout);
        Change earlier = changed.put(id, new Change(payout, cause, holdId, transferId));
        batch.onUndo(() -> {
            payouts.put(id, before);
            if (earlier == null) {
                changed.remove(id);
            } else {
                changed.put(id, earlier);
            }
        });
    }

    @Override
    public Future<Void> load(SqlConnection tx) {
        String[] ids = wanted.stream().sorted().toArray(String[]::new);
        return tx.preparedQuery("SELECT " + Payout.COLUMNS + " FROM payouts WHERE payout_id = ANY($1) "
                        + "ORDER BY array_position($1, payout_id) FOR UPDATE")
                .execute(Tuple.of((Object) ids))
                .map(rows -> {
                    rows.forEach(row -> {
                        Payout payout = Payout.from(row);
                        payouts.put(payout.payoutId(), payout);
                    });
                    return null;
                });
    }

    @Override
    public Collection<String> accounts() {
        List<String> accounts = new ArrayList<>();
        payouts.values().forEach(payout -> accounts.add(payout.walletId()));
        return accounts;
    }

    @Override
    public List<Future<?>> write(SqlConnection tx) {
        if (changed.isEmpty()) {
            return List.of();
        }
        int n = changed.size();
        String[] ids = new String[n];
        String[] states = new String[n];
        String[] causes = new String[n];
        String[] failures = new String[n];
        String[] holds = new String[n];
        String[] transfers = new String[n];
        String[] providerIds = new String[n];
        Boolean[] leased = new Boolean[n];
        int i = 0;
        for (Change c : changed.values()) {
            ids[i] = c.payout().payoutId();
            states[i] = c.payout().state().name();
            causes[i] = c.cause();
            failures[i] = c.payout().failureReason();
            holds[i] = c.holdId();
            transfers[i] = c.transferId();
            providerIds[i] = c.payout().providerTransferId();
            leased[i] = c.payout().state().journalStatus() == taraz.journal.JournalRecord.Status.PENDING;
            i++;
        }
        List<Future<?>> writes = new ArrayList<>(2);
        writes.add(Batch.expect(tx.preparedQuery("UPDATE payouts SET state = u.state, last_error = coalesce(u.cause, last_error), "
                        + "failure_reason = u.failure, hold_id = coalesce(u.hold, hold_id), transfer_id = coalesce(u.transfer, transfer_id), "
                        + "provider_transfer_id = u.provider_id, updated_at = now(), owner = $9, "
                        + "lease_until = CASE WHEN u.leased THEN lease_until ELSE NULL END "
                        + "FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::boolean[]) "
                        + "AS u(id, state, cause, failure, hold, transfer, provider_id, leased) WHERE payout_id = u.id")
                .execute(Tuple.of(ids, states, causes, failures, holds, transfers, providerIds, leased).addValue(node)),
                n, "payouts moved"));
        writes.add(Batch.expect(tx.preparedQuery("INSERT INTO payout_history (payout_id, state, cause, node) "
                        + "SELECT id, state, cause, $4 FROM unnest($1::text[], $2::text[], $3::text[]) AS u(id, state, cause)")
                .execute(Tuple.of(ids, states, causes, node)), n, "payout history"));
        return writes;
    }
}
