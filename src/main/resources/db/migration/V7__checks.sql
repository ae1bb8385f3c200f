-- The fast checks (reconcile.Checks) read what changed since their last round, in order, a batch at a time:
-- trips and top-ups by (updated_at, id), and the active holds by expiry. Without these, each round would read
-- the whole table.
CREATE INDEX trips_changed ON trips (updated_at, trip_id);
CREATE INDEX topups_changed ON topups (updated_at, topup_id);
CREATE INDEX holds_held_expiry ON holds (expires_at) WHERE state = 'HELD';
