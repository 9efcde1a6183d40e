-- Each balance row carries the time moment of its changes in the open period
-- (issue 17), so a distribution weighs a million users by reading their
-- million balance rows instead of aggregating every change of the period.
--
-- acc = Σ delta·(at − acc_since) over the user's changes stamped after
-- acc_since. Once the asset has closed a period, acc_since is that period's
-- end at the import that wrote the row: a row whose acc_since is not the
-- asset's last closed period end holds no change of the open period (an
-- import of the user starts it again from 0). Before the first distribution
-- it is the user's first change, and acc covers every change. NULL: the row
-- was never written by an import (a balance with no history).
--
-- The integral over (s, e] is then amount·T − acc (less the changes stamped
-- after e, which a distribution takes out first): see allocate.ts.
ALTER TABLE balances ADD COLUMN acc numeric(78, 0) NOT NULL DEFAULT 0, ADD COLUMN acc_since bigint;

-- Stored books: the moment of every change since the asset's last closed
-- period end, or of all of them before the first distribution.
UPDATE balances b
   SET acc_since = m.since, acc = m.acc
  FROM (SELECT c.asset, c.user_id, x.since, sum(c.delta * (c.at - x.since)) AS acc
          FROM balance_changes c
          JOIN ledger_assets a ON a.symbol = c.asset
          JOIN (SELECT c2.asset, c2.user_id, coalesce(a2.last_period_end, min(c2.at)) AS since
                  FROM balance_changes c2 JOIN ledger_assets a2 ON a2.symbol = c2.asset
                 GROUP BY c2.asset, c2.user_id, a2.last_period_end) x
            ON x.asset = c.asset AND x.user_id = c.user_id
         WHERE a.last_period_end IS NULL OR c.at > a.last_period_end
         GROUP BY c.asset, c.user_id, x.since) m
 WHERE b.asset = m.asset AND b.user_id = m.user_id;

-- The weights no longer sum the period's changes: migration 005's checked
-- 64-bit sum has no caller.
DROP AGGREGATE ledger_sum_int8 (bigint);
