-- Every transaction the daemon signs is an intent (issue 9): claims and
-- withdrawals join delegate and undelegate; one action may take several
-- transactions in order (one intent each, `step` within `action_id`); signed
-- bytes may expire, after which (and only once the chain says they were not
-- included) the intent is signed again under a new hash; a receipt says what
-- moved besides the fee.

ALTER TABLE tx_intents DROP CONSTRAINT tx_intents_kind_check;
ALTER TABLE tx_intents ADD CONSTRAINT tx_intents_kind_check CHECK (kind IN ('delegate', 'undelegate', 'claim', 'withdraw'));

-- Claims and withdrawals carry no amount; `validator` lists the targets ('' for none).
ALTER TABLE tx_intents ALTER COLUMN amount DROP NOT NULL;
ALTER TABLE tx_intents DROP CONSTRAINT tx_intents_amount_check;
ALTER TABLE tx_intents ADD CONSTRAINT tx_intents_amount_check CHECK (amount IS NULL OR amount > 0);

ALTER TABLE tx_intents
  -- The action as planned (amounts as decimal strings): what a later step or a new signature is signed from.
  ADD COLUMN action     jsonb,
  -- The action this transaction belongs to, its place in it and how many it takes.
  ADD COLUMN action_id  text COLLATE "C",
  ADD COLUMN step       integer NOT NULL DEFAULT 0 CHECK (step >= 0),
  ADD COLUMN steps      integer NOT NULL DEFAULT 1 CHECK (steps >= 1),
  -- When the signed bytes can no longer be included: block time (ms) and/or height; NULL: never.
  ADD COLUMN expires_at     bigint,
  ADD COLUMN expires_height numeric(78, 0),
  -- Hashes of earlier signatures of this intent, each expired and confirmed not included.
  ADD COLUMN superseded text[] NOT NULL DEFAULT '{}',
  -- What the transaction moved besides its fee (refundable fees, unlocked funds): neither reward nor loss.
  ADD COLUMN moved      jsonb NOT NULL DEFAULT '[]';

UPDATE tx_intents SET action_id = id,
  action = jsonb_build_object('kind', kind, 'validator', validator, 'amount', amount::text);
ALTER TABLE tx_intents ALTER COLUMN action SET NOT NULL, ALTER COLUMN action_id SET NOT NULL;
ALTER TABLE tx_intents ADD CONSTRAINT tx_intents_step_in_action CHECK (step < steps);
ALTER TABLE tx_intents ADD CONSTRAINT tx_intents_action_step UNIQUE (action_id, step);
-- Actions whose last confirmed step is not their last: the next rebalance continues them.
CREATE INDEX tx_intents_unfinished ON tx_intents (chain) WHERE status = 'confirmed' AND step < steps - 1;

-- Positions describe all five staking models: unlocked funds a `withdraw`
-- brings back, apart from what is still unbonding.
ALTER TABLE chain_positions ADD COLUMN withdrawable numeric(78, 0) NOT NULL DEFAULT 0;
