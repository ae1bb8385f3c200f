-- bench/chaos.sh's wait for convergence, before the full check (check.sql): how many top-ups paid at
-- the simulator after acks line :from (the previous check's cutoff: those before it were credited
-- then, or reported) and by line :cutoff are not CREDITED yet. Cheap, so it can be asked every 0.5 s.
\set ON_ERROR_STOP on
SELECT count(*)
  FROM chaos.acks a LEFT JOIN topups tp ON tp.topup_id = a.id
 WHERE a.op = 'paid' AND a.line > :from AND a.line <= :cutoff AND tp.state IS DISTINCT FROM 'CREDITED';
