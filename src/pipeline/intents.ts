/**
 * Transaction intents: every transaction the daemon signs is stored, bytes
 * and hash, before it is broadcast. A retry, or the next rebalance after a
 * crash, sends those same bytes again (the chain either includes them once
 * or reports them already included), so one intent never becomes two
 * transactions on chain.
 *
 *   sign ──▶ INSERT (signed) ──▶ broadcast ──▶ UPDATE confirmed | failed | rejected
 *
 * A crash before the INSERT leaves nothing signed that could be sent; after
 * it, the row is the only copy that will ever be sent.
 */
import type pg from 'pg';

import { TxRejectedError } from '../../adapters/errors.js';
import type { ChainAdapter, StakeAction, TxReceipt } from '../../adapters/types.js';
import { toBigInt, withTransaction, type Tx } from '../ledger/db.js';
import { post } from '../ledger/journal.js';

export type IntentStatus = 'signed' | 'confirmed' | 'failed' | 'rejected';

export interface TxIntent extends StakeAction {
  id: string;
  chain: string;
  asset: string;
  status: IntentStatus;
  txHash: string;
  fee: bigint | null;
}

interface IntentRow {
  id: string;
  chain: string;
  asset: string;
  kind: 'delegate' | 'undelegate';
  validator: string;
  amount: string;
  status: IntentStatus;
  tx_hash: string;
  tx_bytes: Buffer;
  fee: string | null;
}

function fromRow(r: IntentRow): TxIntent & { bytes: Uint8Array } {
  return {
    id: r.id,
    chain: r.chain,
    asset: r.asset,
    kind: r.kind,
    validator: r.validator,
    amount: toBigInt(r.amount),
    status: r.status,
    txHash: r.tx_hash,
    bytes: new Uint8Array(r.tx_bytes),
    fee: r.fee === null ? null : toBigInt(r.fee),
  };
}

/** Intents whose outcome is not known yet, oldest first. */
export async function openIntents(db: Tx | pg.Pool, chain: string): Promise<(TxIntent & { bytes: Uint8Array })[]> {
  const { rows } = await db.query<IntentRow>(
    `SELECT id, chain, asset, kind, validator, amount, status, tx_hash, tx_bytes, fee
       FROM tx_intents WHERE chain = $1 AND status = 'signed' ORDER BY created_at, id`,
    [chain],
  );
  return rows.map(fromRow);
}

export async function listIntents(db: Tx | pg.Pool, chain: string, limit = 100): Promise<TxIntent[]> {
  const { rows } = await db.query<IntentRow>(
    `SELECT id, chain, asset, kind, validator, amount, status, tx_hash, tx_bytes, fee
       FROM tx_intents WHERE chain = $1 ORDER BY created_at DESC, id LIMIT $2`,
    [chain, limit],
  );
  return rows.map((r) => {
    const { bytes: _bytes, ...intent } = fromRow(r);
    return intent;
  });
}

/** What happened to one intent. */
export type IntentOutcome =
  | { status: 'confirmed'; receipt: TxReceipt }
  | { status: 'failed' | 'rejected'; error: TxRejectedError }
  | { status: 'already'; intent: TxIntent };

/**
 * Signs an action, stores the signed bytes, then broadcasts them. `id` is
 * deterministic for the job that plans it: a retried job whose intent
 * already exists resumes that intent instead of signing again.
 * @throws the adapter's retryable errors, leaving the intent `signed` for the next attempt.
 */
export async function executeIntent(pool: pg.Pool, adapter: ChainAdapter, id: string, action: StakeAction): Promise<IntentOutcome> {
  const existing = await pool.query<IntentRow>(
    'SELECT id, chain, asset, kind, validator, amount, status, tx_hash, tx_bytes, fee FROM tx_intents WHERE id = $1',
    [id],
  );
  if (existing.rows[0]) {
    const intent = fromRow(existing.rows[0]);
    if (intent.status !== 'signed') return { status: 'already', intent };
    return resumeIntent(pool, adapter, intent);
  }
  const signed = await adapter.sign(action);
  await pool.query(
    `INSERT INTO tx_intents (id, chain, asset, kind, validator, amount, status, tx_hash, tx_bytes)
     VALUES ($1, $2, $3, $4, $5, $6, 'signed', $7, $8)`,
    [id, adapter.name, adapter.asset, action.kind, action.validator, action.amount.toString(), signed.hash, Buffer.from(signed.bytes)],
  );
  return resumeIntent(pool, adapter, { id, chain: adapter.name, asset: adapter.asset, ...action, status: 'signed', txHash: signed.hash, bytes: signed.bytes, fee: null });
}

/**
 * Broadcasts a stored intent's bytes (again) and books the outcome: status,
 * and the fee as the operator's cost, in one transaction.
 */
export async function resumeIntent(pool: pg.Pool, adapter: ChainAdapter, intent: TxIntent & { bytes: Uint8Array }): Promise<IntentOutcome> {
  let outcome: IntentOutcome;
  try {
    const receipt = await adapter.broadcast({ hash: intent.txHash, bytes: intent.bytes });
    outcome = { status: 'confirmed', receipt };
  } catch (error) {
    if (!(error instanceof TxRejectedError)) throw error;
    outcome = { status: error.included ? 'failed' : 'rejected', error };
  }
  await withTransaction(pool, async (tx) => {
    if (outcome.status === 'confirmed') {
      const { receipt } = outcome;
      await tx.query(
        `UPDATE tx_intents SET status = 'confirmed', fee = $2, height = $3, updated_at = now() WHERE id = $1 AND status = 'signed'`,
        [intent.id, receipt.fee.toString(), receipt.height.toString()],
      );
      await bookFee(tx, intent.chain, intent.asset, receipt.hash, receipt.fee, receipt.at);
    } else if (outcome.status === 'failed' || outcome.status === 'rejected') {
      const { error } = outcome;
      await tx.query(
        `UPDATE tx_intents SET status = $2, fee = $3, error = $4, updated_at = now() WHERE id = $1 AND status = 'signed'`,
        [intent.id, outcome.status, error.fee.toString(), error.message.slice(0, 2000)],
      );
      if (error.included) await bookFee(tx, intent.chain, intent.asset, intent.txHash, error.fee, Date.now());
    }
  });
  return outcome;
}

/**
 * Books a fee the custody account paid, once per transaction hash: the
 * custody holds less, and the operator, who pays fees out of commission,
 * is owed less.
 */
export async function bookFee(tx: Tx, chain: string, asset: string, hash: string, fee: bigint, at: number): Promise<void> {
  if (fee <= 0n) return;
  const { rowCount } = await tx.query(
    'INSERT INTO chain_fees (chain, tx_hash, asset, fee, at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING',
    [chain, hash, asset, fee.toString(), at],
  );
  if (rowCount === 0) return;
  await post(tx, `fee:${chain}:${hash}`, asset, at, [
    ['custody', -fee],
    ['operator', fee],
  ]);
}
