package taraz.idempotency;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import taraz.support.ApiClient;
import taraz.support.TestGateway;

import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static taraz.support.Sql.count;
import static taraz.support.Sql.update;

/**
 * Keys live in day partitions: a day past the retention is dropped whole, orphaned claims with
 * it; a key stays unique across days; the partitions ahead are kept ready.
 */
class IdempotencyRetentionTest {

    private static final long RETENTION_HOURS = 48;

    private final IdempotencyStore store = new IdempotencyStore(TestGateway.get().pool(), "retention-test", 30_000);

    @Test
    void aDayPastTheRetentionIsDroppedWholeOrphansIncluded() throws Exception {
        LocalDate old = LocalDate.now(ZoneOffset.UTC).minusDays(5);
        String partition = "idempotency_keys_" + old.format(DateTimeFormatter.BASIC_ISO_DATE);
        count("SELECT count(idempotency_partition(?::date))", old.toString());
        String done = ApiClient.newKey();
        String orphan = ApiClient.newKey();
        insertAged(done, "done", 5 * 24);
        insertAged(orphan, "in_progress", 5 * 24);
        String young = ApiClient.newKey();
        insertAged(young, "done", 30);  // past a day, inside the 48 h retention: it must stay

        int dropped = TestGateway.await(store.maintain(RETENTION_HOURS, IdempotencyStore.DAYS_AHEAD));

        assertTrue(dropped >= 1, "dropped " + dropped);
        assertEquals(0L, count("SELECT count(*) FROM pg_class WHERE relname = ?", partition));
        assertEquals(0L, count("SELECT count(*) FROM idempotency_keys WHERE key IN (?, ?)", done, orphan));
        assertEquals(1L, count("SELECT count(*) FROM idempotency_keys WHERE key = ?", young));
        for (int d = 0; d <= IdempotencyStore.DAYS_AHEAD; d++) {
            String ahead = "idempotency_keys_" + LocalDate.now(ZoneOffset.UTC).plusDays(d).format(DateTimeFormatter.BASIC_ISO_DATE);
            assertEquals(1L, count("SELECT count(*) FROM pg_class WHERE relname = ?", ahead), ahead);
        }
        // And again: nothing more to drop, nothing to create.
        assertEquals(0, TestGateway.await(store.maintain(RETENTION_HOURS, IdempotencyStore.DAYS_AHEAD)));
    }

    /** Unique by day in the index, unique for good through the claim: yesterday's key is found today. */
    @Test
    void aKeyClaimedYesterdayIsStillItsRequestsToday() throws Exception {
        String key = ApiClient.newKey();
        insertAged(key, "done", 20);
        assertInstanceOf(IdempotencyStore.Mismatch.class,
                TestGateway.await(store.begin(key, "another-request", "POST", "/v1/wallets")));
        assertInstanceOf(IdempotencyStore.Replay.class,
                TestGateway.await(store.begin(key, "hash-" + key, "POST", "/v1/wallets")));
        assertEquals(1L, count("SELECT count(*) FROM idempotency_keys WHERE key = ?", key));
    }

    /** Through the API: a replay of a key from an earlier day, and no second row under it. */
    @Test
    void aReplayFindsTheKeyWhateverItsDay() throws Exception {
        ApiClient api = TestGateway.get().api();
        String key = ApiClient.newKey();
        JsonObject body = new JsonObject().put("ownerId", ApiClient.newId("owner")).put("kind", "driver");
        ApiClient.Response first = api.post("/v1/wallets", key, body);
        assertEquals(201, first.status(), first.text());
        // Move it to yesterday's partition, as if it had been made just before midnight.
        partitionOf(24);
        assertEquals(1, update("WITH moved AS (DELETE FROM idempotency_keys WHERE key = ? RETURNING *) "
                + "INSERT INTO idempotency_keys SELECT key, request_hash, method, path, state, owner, locked_until, "
                + "response_status, response_body, now() - interval '1 day', updated_at FROM moved", key));
        ApiClient.Response again = api.post("/v1/wallets", key, body);
        assertEquals(201, again.status(), again.text());
        assertEquals("true", again.header("Idempotent-Replayed"));
        assertEquals(first.text(), again.text());
        assertEquals(1L, count("SELECT count(*) FROM idempotency_keys WHERE key = ?", key));
    }

    private static void partitionOf(int ageHours) throws Exception {
        count("SELECT count(idempotency_partition(((now() - ? * interval '1 hour') AT TIME ZONE 'UTC')::date))", ageHours);
    }

    private static void insertAged(String key, String state, int ageHours) throws Exception {
        partitionOf(ageHours);
        update("INSERT INTO idempotency_keys (key, request_hash, method, path, state, owner, locked_until, "
                + "response_status, response_body, created_at) VALUES (?, ?, 'POST', '/v1/wallets', ?, 'old-node', "
                + "now() - ? * interval '1 hour', 201, '{}', now() - ? * interval '1 hour')",
                key, "hash-" + key, state, ageHours, ageHours);
    }
}
