-- Stuck and abandoned intents (issue 10). An open intent whose resumption
-- fails with an error no retry fixes is marked stuck (`stuck_since`, the
-- error kept): the chain signs nothing new while it is open, and the
-- operator sees it. Once the chain shows its bytes can never be included
-- (expired, or their nonce used by another transaction), the operator may
-- abandon it: who, when and why are kept, and it no longer blocks planning.

ALTER TABLE tx_intents DROP CONSTRAINT tx_intents_status_check;
ALTER TABLE tx_intents ADD CONSTRAINT tx_intents_status_check CHECK (status IN ('signed', 'confirmed', 'failed', 'rejected', 'abandoned'));

ALTER TABLE tx_intents
  ADD COLUMN stuck_since    timestamptz(3),
  ADD COLUMN abandoned_by   text,
  ADD COLUMN abandoned_at   timestamptz(3),
  ADD COLUMN abandon_reason text;
ALTER TABLE tx_intents ADD CONSTRAINT tx_intents_abandoned_check
  CHECK ((status = 'abandoned') = (abandoned_at IS NOT NULL AND abandoned_by IS NOT NULL AND abandon_reason IS NOT NULL));

-- Listings by status across chains (`GET /v1/intents?status=`).
CREATE INDEX tx_intents_status ON tx_intents (status, created_at);
