-- The daemon's state beside the ledger: what each chain looked like when
-- polled, how far each harvest has read, and every transaction the daemon
-- signed. Redis holds only queue state; all of this can rebuild it.

-- One row per poll: the custody account's finalized position. The latest row
-- feeds /v1/assets and the metrics; the last 30 days give the realized APR.
CREATE TABLE chain_positions (
  id              bigserial PRIMARY KEY,
  chain           text COLLATE "C" NOT NULL,
  asset           text COLLATE "C" NOT NULL REFERENCES ledger_assets (symbol),
  height          numeric(78, 0) NOT NULL,
  at              bigint NOT NULL,
  liquid          numeric(78, 0) NOT NULL,
  staked          numeric(78, 0) NOT NULL,
  unbonding       numeric(78, 0) NOT NULL,
  pending_rewards numeric(78, 0) NOT NULL,
  -- Per-validator stake, unbonding entries and validator health, as polled.
  detail          jsonb NOT NULL,
  recorded_at     timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX chain_positions_latest ON chain_positions (chain, id DESC);
-- The realized APR reads an asset's snapshots of the last 30 days.
CREATE INDEX chain_positions_asset_at ON chain_positions (asset, at);

-- Where the next harvest starts. Written in the same transaction as the
-- reward events it follows, so a repeated harvest stores nothing twice.
CREATE TABLE chain_checkpoints (
  chain       text COLLATE "C" PRIMARY KEY,
  checkpoint  text NOT NULL,
  updated_at  timestamptz(3) NOT NULL DEFAULT now()
);

-- Transactions the daemon signs. A row is written with the signed bytes
-- before they are broadcast: a retry sends the same bytes (or finds them on
-- chain), so a crash between broadcast and bookkeeping never signs twice.
CREATE TABLE tx_intents (
  id          text COLLATE "C" PRIMARY KEY,
  chain       text COLLATE "C" NOT NULL,
  asset       text COLLATE "C" NOT NULL REFERENCES ledger_assets (symbol),
  kind        text NOT NULL CHECK (kind IN ('delegate', 'undelegate')),
  validator   text NOT NULL,
  amount      numeric(78, 0) NOT NULL CHECK (amount > 0),
  -- signed: stored, maybe broadcast, outcome unknown; confirmed: included and
  -- succeeded; failed: included and failed (fee paid); rejected: can never be
  -- included (nothing happened on chain).
  status      text NOT NULL CHECK (status IN ('signed', 'confirmed', 'failed', 'rejected')),
  tx_hash     text NOT NULL,
  tx_bytes    bytea NOT NULL,
  fee         numeric(78, 0),
  height      numeric(78, 0),
  error       text,
  created_at  timestamptz(3) NOT NULL DEFAULT now(),
  updated_at  timestamptz(3) NOT NULL DEFAULT now(),
  UNIQUE (chain, tx_hash)
);
-- The rebalancer finishes open intents before it plans anything new.
CREATE INDEX tx_intents_open ON tx_intents (chain, created_at) WHERE status = 'signed';

-- Fees the custody account paid, booked once per transaction hash.
CREATE TABLE chain_fees (
  chain    text COLLATE "C" NOT NULL,
  tx_hash  text NOT NULL,
  asset    text COLLATE "C" NOT NULL REFERENCES ledger_assets (symbol),
  fee      numeric(78, 0) NOT NULL CHECK (fee >= 0),
  at       bigint NOT NULL,
  PRIMARY KEY (chain, tx_hash)
);

-- How long each distribution took (for the metrics, not part of its result),
-- and how many users it credited: counting allocations would scan a table of
-- users × distributions on every listing and every scrape.
ALTER TABLE distributions ADD COLUMN duration_ms integer, ADD COLUMN credited_users integer;
UPDATE distributions d SET credited_users = (SELECT count(*) FROM allocations a WHERE a.distribution_id = d.id);
ALTER TABLE distributions ALTER COLUMN credited_users SET NOT NULL;
