package taraz.reconcile;

import io.vertx.core.Future;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import taraz.ledger.Batch;
import taraz.ledger.BatchPart;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The reconciliation actions of one ledger batch's corrections: read (locked, sorted by key)
 * before the commands run, so a correction posts only if its finding has no action yet, or a
 * refund only if this run still holds its claim; written after. Two runs correcting one finding
 * at once: the second INSERT collides on the key, its batch runs again and finds the action.
 */
final class ActionRows implements BatchPart {

    /** A finding's action row as read: its action and the run that wrote it. */
    record Action(String action, String runId) {}

    private final Set<String> wanted = new LinkedHashSet<>();
    private final Map<String, Action> actions = new HashMap<>();
    private final List<Inserted> inserted = new ArrayList<>();
    private final List<Claim> claimsTurned = new ArrayList<>();

    /** A new action row: the finding, its correction transfer, and this run. */
    private record Inserted(Finding finding, String transferId, String runId) {}

    /** A claim of this run turned into its correction. */
    private record Claim(String findingKey, String transferId, String runId) {}

    static ActionRows of(Batch batch) {
        return batch.part(ActionRows.class, ActionRows::new);
    }

    void want(String findingKey) {
        wanted.add(findingKey);
    }

    Action get(String findingKey) {
        return actions.get(findingKey);
    }

    /** A new action row for the finding (a correction posted by this run). */
    void insert(Batch batch, Finding f, String transferId, String runId) {
        Action before = actions.put(f.key(), new Action("correction", runId));
        inserted.add(new Inserted(f, transferId, runId));
        batch.onUndo(() -> {
            inserted.remove(inserted.size() - 1);
            restore(f.key(), before);
        });
    }

    /** This run's claim ({@code reversing}) turned into the correction that refunded the wallet. */
    void claimTurned(Batch batch, String findingKey, String transferId, String runId) {
        Action before = actions.put(findingKey, new Action("correction", runId));
        claimsTurned.add(new Claim(findingKey, transferId, runId));
        batch.onUndo(() -> {
            claimsTurned.remove(claimsTurned.size() - 1);
            restore(findingKey, before);
        });
    }

    private void restore(String findingKey, Action before) {
        if (before == null) {
            actions.remove(findingKey);
        } else {
            actions.put(findingKey, before);
        }
    }

    @Override
    public Future<Void> load(SqlConnection tx) {
        String[] keys = wanted.stream().sorted().toArray(String[]::new);
        return tx.preparedQuery("SELECT finding_key, action, run_id FROM reconciliation_actions WHERE finding_key = ANY($1) "
                        + "ORDER BY array_position($1, finding_key) FOR UPDATE")
                .execute(Tuple.of((Object) keys))
                .map(rows -> {
                    for (Row row : rows) {
                        actions.put(row.getString("finding_key"), new Action(row.getString("action"), row.getString("run_id")));
                    }
                    return null;
                });
    }

    @Override
    public List<Future<?>> write(SqlConnection tx) {
        List<Future<?>> writes = new ArrayList<>(2);
        if (!inserted.isEmpty()) {
            writes.add(Batch.expect(tx.preparedQuery("INSERT INTO reconciliation_actions (finding_key, kind, payment_id, wallet_id, "
                            + "amount_rials, action, transfer_id, run_id) SELECT k, kind, p, w, a, 'correction', t, r "
                            + "FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[]) "
                            + "AS u(k, kind, p, w, a, t, r)")
                    .execute(Tuple.tuple(List.of(
                            inserted.stream().map(i -> i.finding().key()).toArray(String[]::new),
                            inserted.stream().map(i -> i.finding().kind().apiName()).toArray(String[]::new),
                            inserted.stream().map(i -> i.finding().paymentId()).toArray(String[]::new),
                            inserted.stream().map(i -> i.finding().walletId()).toArray(String[]::new),
                            inserted.stream().map(i -> i.finding().amountRials()).toArray(Long[]::new),
                            inserted.stream().map(Inserted::transferId).toArray(String[]::new),
                            inserted.stream().map(Inserted::runId).toArray(String[]::new)))),
                    inserted.size(), "reconciliation actions"));
        }
        if (!claimsTurned.isEmpty()) {
            writes.add(Batch.expect(tx.preparedQuery("UPDATE reconciliation_actions SET action = 'correction', "
                            + "transfer_id = u.t, lease_until = NULL FROM unnest($1::text[], $2::text[], $3::text[]) AS u(k, t, r) "
                            + "WHERE finding_key = u.k AND action = 'reversing' AND run_id = u.r")
                    .execute(Tuple.of(claimsTurned.stream().map(Claim::findingKey).toArray(String[]::new),
                            claimsTurned.stream().map(Claim::transferId).toArray(String[]::new),
                            claimsTurned.stream().map(Claim::runId).toArray(String[]::new))),
                    claimsTurned.size(), "reconciliation claims"));
        }
        return writes;
    }
}
