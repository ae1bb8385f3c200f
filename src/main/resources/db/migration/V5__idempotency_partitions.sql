-- Idempotency keys by day: retention drops a whole day's partition (no row-by-row DELETE, no
-- vacuum debt), so the purge keeps up with any request rate; and orphaned in_progress claims go
-- with their day like every other key. A partitioned table's unique index must include the
-- partition key, so a key is unique per day only: idempotency_claim() makes it unique across
-- days by serializing the claimers of one key on an advisory lock before it looks.

ALTER TABLE idempotency_keys RENAME TO idempotency_keys_v4;
ALTER INDEX idempotency_keys_created RENAME TO idempotency_keys_v4_created;

CREATE TABLE idempotency_keys (
    key              text NOT NULL,
    request_hash     text NOT NULL,
    method           text NOT NULL,
    path             text NOT NULL,
    state            text NOT NULL CHECK (state IN ('in_progress', 'done')),
    owner            text NOT NULL,
    locked_until     timestamptz NOT NULL,
    response_status  int,
    response_body    text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (key, created_at)
) PARTITION BY RANGE (created_at);

-- The partition of one UTC day, created if missing. Replicas call it at boot and on their
-- housekeeping round; the advisory lock keeps two of them from racing on the catalog.
CREATE FUNCTION idempotency_partition(day date) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('taraz:idempotency_partitions', 0));
    EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF idempotency_keys FOR VALUES FROM (%L) TO (%L)',
                   'idempotency_keys_' || to_char(day, 'YYYYMMDD'),
                   (day::timestamp AT TIME ZONE 'UTC'), ((day + 1)::timestamp AT TIME ZONE 'UTC'));
END $$;

-- Drops the day partitions whose every row is older than the retention; returns how many.
CREATE FUNCTION idempotency_drop_expired(retention interval) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    part record;
    dropped int := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('taraz:idempotency_partitions', 0));
    FOR part IN
        SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'idempotency_keys'::regclass AND c.relname ~ '^idempotency_keys_[0-9]{8}$'
          AND (to_date(substr(c.relname, 18), 'YYYYMMDD') + 1)::timestamp AT TIME ZONE 'UTC' <= now() - retention
    LOOP
        EXECUTE format('DROP TABLE %I', part.relname);
        dropped := dropped + 1;
    END LOOP;
    RETURN dropped;
END $$;

-- Claims a key, or reports what is stored under it. One round trip; the lock (held to the end
-- of the caller's transaction, which for a lone SELECT is this statement) means that of two
-- concurrent claims of one key, the second looks only after the first's row is committed, so
-- it finds it, on whichever day's partition it went.
CREATE FUNCTION idempotency_claim(p_key text, p_hash text, p_method text, p_path text, p_owner text, p_lease_ms bigint)
RETURNS TABLE (inserted boolean, request_hash text, state text, expired boolean, response_status int, response_body text)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('taraz:idempotency:' || p_key, 0));
    RETURN QUERY SELECT false, k.request_hash, k.state, k.locked_until < now(), k.response_status, k.response_body
                 FROM idempotency_keys k WHERE k.key = p_key;
    IF FOUND THEN
        RETURN;
    END IF;
    INSERT INTO idempotency_keys (key, request_hash, method, path, state, owner, locked_until)
    VALUES (p_key, p_hash, p_method, p_path, 'in_progress', p_owner, now() + p_lease_ms * interval '1 millisecond');
    RETURN QUERY SELECT true, p_hash, 'in_progress'::text, false, NULL::int, NULL::text;
END $$;

-- The days the existing keys span, and today and the next days, then the keys themselves.
SELECT idempotency_partition(d::date)
FROM generate_series(date_trunc('day', coalesce((SELECT min(created_at) FROM idempotency_keys_v4), now()) AT TIME ZONE 'UTC'),
                     (now() AT TIME ZONE 'UTC') + interval '3 days', interval '1 day') AS d;
INSERT INTO idempotency_keys SELECT * FROM idempotency_keys_v4;
DROP TABLE idempotency_keys_v4;
