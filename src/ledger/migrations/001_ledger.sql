-- The ledger: the system of record for users' balances and the rewards
-- allocated to them. Amounts are NUMERIC(78,0) base units; times are integer
-- milliseconds since the Unix epoch (UTC). Ids compare in byte order ("C").

CREATE TABLE ledger_assets (
  symbol          text COLLATE "C" PRIMARY KEY,
  decimals        integer NOT NULL CHECK (decimals BETWEEN 0 AND 30),
  -- End of the last closed distribution period; balance changes stamped
  -- before it are refused.
  last_period_end bigint
);

-- The large tables (balance_changes, balances, allocations) carry no foreign
-- keys: a per-row RI check would cost more than the million-row statements
-- that write them. Their writers check the references set-based instead.
CREATE TABLE balance_changes (
  id          text COLLATE "C" PRIMARY KEY,
  asset       text COLLATE "C" NOT NULL,
  user_id     text COLLATE "C" NOT NULL,
  delta       numeric(78, 0) NOT NULL,
  at          bigint NOT NULL,
  recorded_at timestamptz(3) NOT NULL DEFAULT now()
);
-- A distribution reads the changes stamped after its period start.
CREATE INDEX balance_changes_asset_at ON balance_changes (asset, at);

-- Current balance per user and asset: every imported change plus every
-- allocation credited. The step function over time is rebuilt from
-- balance_changes; this row makes "current" and the negative-balance check O(1).
CREATE TABLE balances (
  asset          text COLLATE "C" NOT NULL,
  user_id        text COLLATE "C" NOT NULL,
  amount         numeric(78, 0) NOT NULL CHECK (amount >= 0),
  last_change_at bigint NOT NULL,
  PRIMARY KEY (asset, user_id)
) -- A distribution credits every row at once: half of each page stays free so
  -- the new versions fit beside the old (HOT updates, no index writes).
  WITH (fillfactor = 50);

CREATE TABLE distributions (
  id              text COLLATE "C" PRIMARY KEY,
  asset           text COLLATE "C" NOT NULL REFERENCES ledger_assets (symbol),
  period_start    bigint NOT NULL,
  period_end      bigint NOT NULL,
  -- R: the reward events allocated by this distribution (0 when carried).
  gross           numeric(78, 0) NOT NULL,
  commission      numeric(78, 0) NOT NULL,
  distributed     numeric(78, 0) NOT NULL,
  -- Undistributed rewards left for a later period (R <= 0 or nobody eligible).
  carried         numeric(78, 0) NOT NULL,
  eligible_users  integer NOT NULL,
  total_weight    numeric NOT NULL,
  -- The rules in force when it ran, for audit.
  commission_bps  integer NOT NULL,
  min_holding     numeric(78, 0) NOT NULL,
  cap             numeric(78, 0),
  created_at      timestamptz(3) NOT NULL DEFAULT now(),
  UNIQUE (asset, period_end),
  CHECK (period_end > period_start),
  CHECK (commission + distributed = gross)
);

CREATE TABLE reward_events (
  id              text COLLATE "C" PRIMARY KEY,
  asset           text COLLATE "C" NOT NULL REFERENCES ledger_assets (symbol),
  amount          numeric(78, 0) NOT NULL,
  at              bigint NOT NULL,
  source          text NOT NULL,
  distribution_id text COLLATE "C" REFERENCES distributions (id),
  recorded_at     timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX reward_events_pending ON reward_events (asset, at) WHERE distribution_id IS NULL;

-- The distribution history: one row per user credited by a distribution.
CREATE TABLE allocations (
  user_id         text COLLATE "C" NOT NULL,
  distribution_id text COLLATE "C" NOT NULL,
  amount          numeric(78, 0) NOT NULL CHECK (amount > 0),
  avg_balance     numeric(78, 0) NOT NULL,
  PRIMARY KEY (user_id, distribution_id)
);

-- Double-entry journal. Debits positive, credits negative; every entry sums
-- to 0. Accounts per asset: custody (held for users), users (owed to users),
-- operator (commission earned), rewards (realized, not yet distributed).
CREATE TABLE postings (
  id         bigserial PRIMARY KEY,
  entry      text COLLATE "C" NOT NULL,
  asset      text COLLATE "C" NOT NULL REFERENCES ledger_assets (symbol),
  account    text NOT NULL CHECK (account IN ('custody', 'users', 'operator', 'rewards')),
  amount     numeric(78, 0) NOT NULL,
  at         bigint NOT NULL,
  created_at timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX postings_entry ON postings (entry);
CREATE INDEX postings_asset_account ON postings (asset, account);

-- Ledger time as it is printed everywhere: 2026-01-01T00:00:00.000Z.
CREATE FUNCTION ledger_iso(ms bigint) RETURNS text
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN to_char(to_timestamp(ms / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');
