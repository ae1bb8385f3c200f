-- Payment ids are namespaced by flow (issue 9): a trip's id is chosen by its caller and may equal a
-- top-up's. A transfer's kind is `<flow>_<step>`, so reconcile judges each flow on its own
-- transfers, and a finding's key is `<kind>:<flow>:<payment id>`.
--
-- Earlier runs of `taraz reconcile --apply` wrote correction transfers of kind `correction` and
-- action rows keyed `<kind>:<payment id>`. Both are rewritten here to the flow they were made
-- for, so their money still counts for that payment and a refund already made is not made again.
-- The transfer ids (`reconcile:<old key>`) stay as they are: a transfer is never renamed.

-- The flow of each earlier correction, from the finding it fixed:
--   a bank-side double charge was keyed by the second payment's authority, which is the
--   transfer's payment id and not the action row's (the top-up it doubled): flow `bank`;
--   kinds only a top-up has (paid_not_credited, credited_not_paid, double_credit): `topup`;
--   kinds only a trip has (driver_not_credited, commission_missing, double_charge of a trip): `trip`;
--   amount_mismatch, which both have: `trip` when the correction moved money between the trip's
--   own driver or platform accounts (a top-up's correction only ever touches its wallet and the
--   corrections account), or when no top-up of that id is the finding's wallet's (a top-up's row
--   names the top-up's own wallet; a trip's names its passenger, who need not own a top-up that
--   happens to carry the trip's id); else `topup`.
CREATE TEMP TABLE correction_flows ON COMMIT DROP AS
SELECT tr.id AS transfer_id,
       CASE
           WHEN a.kind = 'double_charge' AND tr.payment_id IS DISTINCT FROM a.payment_id THEN 'bank'
           WHEN a.kind IN ('paid_not_credited', 'credited_not_paid', 'double_credit') THEN 'topup'
           WHEN a.kind IN ('driver_not_credited', 'commission_missing', 'double_charge') THEN 'trip'
           WHEN EXISTS (SELECT 1 FROM entries e WHERE e.transfer_id = tr.id
                        AND e.account_id NOT IN ('corrections', coalesce(a.wallet_id, '')))
             OR NOT EXISTS (SELECT 1 FROM topups t WHERE t.topup_id = tr.payment_id AND t.wallet_id = a.wallet_id) THEN 'trip'
           ELSE 'topup'
       END AS flow
  FROM transfers tr JOIN reconciliation_actions a ON a.transfer_id = tr.id
 WHERE tr.kind = 'correction';

UPDATE transfers tr SET kind = c.flow || '_correction'
  FROM correction_flows c WHERE c.transfer_id = tr.id;

-- Action rows: a correction takes its transfer's flow; a reverse at the bank is a bank-side double
-- charge. Balance repairs are keyed by account, not by payment, and keep their keys.
UPDATE reconciliation_actions a
   SET finding_key = a.kind || ':' || split_part(tr.kind, '_', 1) || substr(a.finding_key, length(a.kind) + 1)
  FROM transfers tr
 WHERE a.action = 'correction' AND tr.id = a.transfer_id AND a.finding_key LIKE a.kind || ':%';
UPDATE reconciliation_actions a
   SET finding_key = 'double_charge:bank' || substr(a.finding_key, length('double_charge') + 1)
 WHERE a.action = 'psp_reverse' AND a.finding_key LIKE 'double_charge:%';

-- A reverse at the bank is claimed before the call ('reversing'), so a run that dies or loses the
-- bank's answer leaves a trace: its successor asks the bank (inquiry) before it refunds the wallet.
-- `attempts` counts the runs that took the claim; `lease_until` keeps a second run from acting
-- while the first one's call may still be on its way to the bank.
ALTER TABLE reconciliation_actions ADD COLUMN attempts int NOT NULL DEFAULT 1;
ALTER TABLE reconciliation_actions ADD COLUMN lease_until timestamptz;
