package taraz.topup;

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
 * The top-ups of one ledger batch (their credits): locked (sorted by id) and read before the
 * commands run, moved to CREDITED by them in memory, written after in one UPDATE, with one
 * history row each. CREDITED is final, so the row's lease is released.
 */
final class TopupRows implements BatchPart {

    private final String node;
    private final Set<String> wanted = new LinkedHashSet<>();
    private final Map<String, Topup> topups = new HashMap<>();
    private final Map<String, Credit> credited = new LinkedHashMap<>();

    /** Why a top-up was credited (null from its own flow), by which transfer, and who drove the credit. */
    private record Credit(String cause, String transferId, Driver driver) {}

    private TopupRows(String node) {
        this.node = node;
    }

    static TopupRows of(Batch batch, String node) {
        return batch.part(TopupRows.class, () -> new TopupRows(node));
    }

    void want(String topupId) {
        wanted.add(topupId);
    }

    Topup get(String topupId) {
        return topups.get(topupId);
    }

    /** The top-up is CREDITED by {@code transferId}; undone with its command if that is refused later. */
    void credited(Batch batch, Topup topup, String cause, String transferId, Driver driver) {
        String id = topup.topupId();
        Topup before = topups.put(id, topup);
        credited.put(id, new Credit(cause, transferId, driver));
        batch.onUndo(() -> {
            topups.put(id, before);
            credited.remove(id);
        });
    }

    @Override
    public Future<Void> load(SqlConnection tx) {
        String[] ids = wanted.stream().sorted().toArray(String[]::new);
        return tx.preparedQuery("SELECT " + Topup.COLUMNS + " FROM topups WHERE topup_id = ANY($1) "
                        + "ORDER BY array_position($1, topup_id) FOR UPDATE")
                .execute(Tuple.of((Object) ids))
                .map(rows -> {
                    rows.forEach(row -> {
                        Topup topup = Topup.from(row);
                        topups.put(topup.topupId(), topup);
                    });
                    return null;
                });
    }

    @Override
    public Collection<String> accounts() {
        List<String> accounts = new ArrayList<>();
        topups.values().forEach(topup -> accounts.add(topup.walletId()));
        return accounts;
    }

    @Override
    public List<Future<?>> write(SqlConnection tx) {
        if (credited.isEmpty()) {
            return List.of();
        }
        int n = credited.size();
        String[] ids = credited.keySet().toArray(String[]::new);
        String[] causes = credited.values().stream().map(Credit::cause).toArray(String[]::new);
        String[] transferIds = credited.values().stream().map(Credit::transferId).toArray(String[]::new);
        String[] drivers = credited.values().stream().map(c -> c.driver().name()).toArray(String[]::new);
        List<Future<?>> writes = new ArrayList<>(2);
        writes.add(Batch.expect(tx.preparedQuery("UPDATE topups SET state = '" + Topup.State.CREDITED + "', last_error = coalesce(u.cause, last_error), "
                        + "updated_at = now(), owner = $4, lease_until = NULL, transfer_id = u.transfer_id "
                        + "FROM unnest($1::text[], $2::text[], $3::text[]) AS u(id, cause, transfer_id) WHERE topup_id = u.id")
                .execute(Tuple.of(ids, causes, transferIds, node)), n, "top-ups credited"));
        writes.add(Batch.expect(tx.preparedQuery("INSERT INTO topup_history (topup_id, state, cause, node, driven_by) "
                        + "SELECT id, '" + Topup.State.CREDITED + "', cause, $3, driven_by "
                        + "FROM unnest($1::text[], $2::text[], $4::text[]) AS u(id, cause, driven_by)")
                .execute(Tuple.of(ids, causes, node, drivers)), n, "top-up history"));
        return writes;
    }
}
