-- Several replicas share one database: the node working on a top-up holds a lease on its row,
-- renewed at every transition; another node's completer takes over only an open top-up whose
-- lease has expired (its node died or stalled), claiming it with FOR UPDATE SKIP LOCKED.
ALTER TABLE topups ADD COLUMN owner text;
ALTER TABLE topups ADD COLUMN lease_until timestamptz;
