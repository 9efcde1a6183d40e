/**
 * Transaction intents: every transaction the daemon signs (delegate,
 * undelegate, claim, withdraw) is stored, bytes and hash, before it is
 * broadcast. A retry, or the next job after a crash, sends those same bytes
 * again (the chain either includes them once or reports them already
 * included), so one intent never becomes two transactions on chain.
 *
 *   sign ──▶ INSERT (signed) ──▶ broadcast ──▶ UPDATE confirmed | failed | rejected
 *                                    │
 *                      expired ──▶ status(): included? ── yes ──▶ confirmed
 *                                    │ no (and never can be)
 *                                    └──▶ sign again, UPDATE the same intent, broadcast
 *
 * A crash before the INSERT leaves nothing signed that could be sent; after
 * it, the row is the only copy that will ever be sent. Bytes that expire are
 * signed again only once the chain confirms, past their expiry, that it did
 * not include them: one intent never has two signatures that could land.
 *
 * An action may take several transactions (the adapter's `steps`); each is an
 * intent of its own (`step` within `action_id`), and step n + 1 is signed
 * only once step n is confirmed. After a crash between them the next job
 * continues at the first step without a confirmed intent.
 */
import type pg from 'pg';
import type { Logger } from 'pino';

import { TxRejectedError } from '../../adapters/errors.js';
import type { ChainAdapter, Movement, SignedTx, StakeAction, TxReceipt } from '../../adapters/types.js';
import { RetryableError } from '../errors.js';
import { toBigInt, withTransaction, type Tx } from '../ledger/db.js';
import { post } from '../ledger/journal.js';

export type IntentStatus = 'signed' | 'confirmed' | 'failed' | 'rejected';

export interface TxIntent {
  id: string;
  /** The action it is a step of; the id of step 0 is the action's id. */
  actionId: string;
  step: number;
  steps: number;
  chain: string;
  asset: string;
  action: StakeAction;
  status: IntentStatus;
  txHash: string;
  fee: bigint | null;
  /** When the signed bytes can no longer be included; absent: never. */
  expires?: SignedTx['expires'];
  /** Earlier hashes of this intent, each expired and not included. */
  superseded: string[];
  /** What the transaction moved besides its fee (refundable fees, unlocked funds). */
  moved: Movement[];
}

type StoredIntent = TxIntent & { bytes: Uint8Array };

interface IntentRow {
  id: string;
  action_id: string;
  step: number;
  steps: number;
  chain: string;
  asset: string;
  action: Record<string, unknown>;
  status: IntentStatus;
  tx_hash: string;
  tx_bytes: Buffer;
  fee: string | null;
  expires_at: string | null;
  expires_height: string | null;
  superseded: string[];
  moved: { kind: Movement['kind']; amount: string; validator?: string }[];
}

const COLUMNS = 'id, action_id, step, steps, chain, asset, action, status, tx_hash, tx_bytes, fee, expires_at, expires_height, superseded, moved';

/** The id of an action's step: the action's own id for step 0 (so intents stored before steps existed keep theirs). */
export function intentId(actionId: string, step: number): string {
  return step === 0 ? actionId : `${actionId}/${step}`;
}

/** An action as stored (amounts as decimal strings). */
export function actionJson(action: StakeAction): Record<string, unknown> {
  return 'amount' in action ? { ...action, amount: action.amount.toString() } : { ...action };
}

export function actionFromJson(json: Record<string, unknown>): StakeAction {
  const kind = json.kind;
  if (kind === 'delegate' || kind === 'undelegate') return { kind, validator: String(json.validator), amount: BigInt(String(json.amount)) };
  if (kind === 'claim') return { kind, validators: Array.isArray(json.validators) ? json.validators.map(String) : [] };
  if (kind === 'withdraw') return typeof json.validator === 'string' ? { kind, validator: json.validator } : { kind };
  throw new Error(`stored intent action of unknown kind ${JSON.stringify(kind)}`);
}

/** The target column of an action: its validator, or its claim's validators, comma-separated. */
function targetOf(action: StakeAction): string {
  if (action.kind === 'claim') return action.validators.join(',');
  return action.validator ?? '';
}

function movedJson(moved: readonly Movement[]): string {
  return JSON.stringify(moved.map((m) => ({ ...m, amount: m.amount.toString() })));
}

function fromRow(r: IntentRow): StoredIntent {
  const intent: StoredIntent = {
    id: r.id,
    actionId: r.action_id,
    step: r.step,
    steps: r.steps,
    chain: r.chain,
    asset: r.asset,
    action: actionFromJson(r.action),
    status: r.status,
    txHash: r.tx_hash,
    bytes: new Uint8Array(r.tx_bytes),
    fee: r.fee === null ? null : toBigInt(r.fee),
    superseded: r.superseded,
    moved: r.moved.map((m) => ({ ...m, amount: BigInt(m.amount) })),
  };
  if (r.expires_at !== null || r.expires_height !== null) {
    intent.expires = {};
    if (r.expires_at !== null) intent.expires.at = Number(r.expires_at);
    if (r.expires_height !== null) intent.expires.height = toBigInt(r.expires_height);
  }
  return intent;
}

function signedOf(intent: StoredIntent): SignedTx {
  const signed: SignedTx = { hash: intent.txHash, bytes: intent.bytes };
  if (intent.expires !== undefined) signed.expires = intent.expires;
  return signed;
}

/** Intents whose outcome is not known yet, oldest first. */
export async function openIntents(db: Tx | pg.Pool, chain: string): Promise<StoredIntent[]> {
  const { rows } = await db.query<IntentRow>(`SELECT ${COLUMNS} FROM tx_intents WHERE chain = $1 AND status = 'signed' ORDER BY created_at, id`, [chain]);
  return rows.map(fromRow);
}

/**
 * Actions to finish: those with an open intent, and those whose last
 * confirmed step is not their last (a crash came between two steps), oldest
 * first.
 */
export async function unfinishedActions(db: Tx | pg.Pool, chain: string): Promise<{ actionId: string; action: StakeAction }[]> {
  const { rows } = await db.query<{ action_id: string; action: Record<string, unknown> }>(
    `SELECT action_id, action FROM (
       SELECT DISTINCT ON (i.action_id) i.action_id, i.action, i.created_at
         FROM tx_intents i
        WHERE i.chain = $1
          AND (i.status = 'signed'
               OR (i.status = 'confirmed' AND i.step < i.steps - 1
                   AND NOT EXISTS (SELECT 1 FROM tx_intents n WHERE n.action_id = i.action_id AND n.step = i.step + 1)))
        ORDER BY i.action_id, i.created_at
     ) open ORDER BY created_at, action_id`,
    [chain],
  );
  return rows.map((r) => ({ actionId: r.action_id, action: actionFromJson(r.action) }));
}

export async function listIntents(db: Tx | pg.Pool, chain: string, limit = 100): Promise<TxIntent[]> {
  const { rows } = await db.query<IntentRow>(`SELECT ${COLUMNS} FROM tx_intents WHERE chain = $1 ORDER BY created_at DESC, id LIMIT $2`, [chain, limit]);
  return rows.map((r) => {
    const { bytes: _bytes, ...intent } = fromRow(r);
    return intent;
  });
}

/** What happened to one intent (or, from {@link runAction}, to the last step that ran). */
export type IntentOutcome =
  | { status: 'confirmed'; receipt: TxReceipt }
  | { status: 'failed' | 'rejected'; error: TxRejectedError }
  | { status: 'already'; intent: TxIntent };

async function loadIntent(pool: pg.Pool, id: string): Promise<StoredIntent | undefined> {
  const { rows } = await pool.query<IntentRow>(`SELECT ${COLUMNS} FROM tx_intents WHERE id = $1`, [id]);
  return rows[0] ? fromRow(rows[0]) : undefined;
}

/**
 * Runs an action to its end: each step in order, resuming a stored intent
 * where there is one (a retried job, a crash) and signing the next step only
 * when the one before it is confirmed. `actionId` is deterministic for the
 * job that plans it. Stops at the first step that failed or was rejected
 * (the steps after it are never signed).
 * @returns the outcome of the last step that ran.
 * @throws the adapter's retryable errors, leaving the step's intent `signed` for the next attempt.
 */
export async function runAction(pool: pg.Pool, adapter: ChainAdapter, actionId: string, action: StakeAction): Promise<IntentOutcome> {
  const steps = adapter.steps(action);
  let outcome: IntentOutcome | undefined;
  for (let step = 0; step < steps; step += 1) {
    const existing = await loadIntent(pool, intentId(actionId, step));
    if (existing !== undefined) {
      outcome = existing.status === 'signed' ? await resumeIntent(pool, adapter, existing) : { status: 'already', intent: existing };
    } else {
      outcome = await signIntent(pool, adapter, actionId, action, step, steps);
    }
    const status = outcome.status === 'already' ? outcome.intent.status : outcome.status;
    if (status !== 'confirmed') return outcome;
  }
  return outcome!;
}

/** One-step shorthand kept for callers that plan single transactions. */
export async function executeIntent(pool: pg.Pool, adapter: ChainAdapter, id: string, action: StakeAction): Promise<IntentOutcome> {
  return runAction(pool, adapter, id, action);
}

async function signIntent(pool: pg.Pool, adapter: ChainAdapter, actionId: string, action: StakeAction, step: number, steps: number): Promise<IntentOutcome> {
  const signed = await adapter.sign(action, step);
  const id = intentId(actionId, step);
  await pool.query(
    `INSERT INTO tx_intents (id, action_id, step, steps, chain, asset, kind, validator, amount, action, status, tx_hash, tx_bytes, expires_at, expires_height)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'signed', $11, $12, $13, $14)`,
    [
      id,
      actionId,
      step,
      steps,
      adapter.name,
      adapter.asset,
      action.kind,
      targetOf(action),
      'amount' in action ? action.amount.toString() : null,
      JSON.stringify(actionJson(action)),
      signed.hash,
      Buffer.from(signed.bytes),
      signed.expires?.at ?? null,
      signed.expires?.height?.toString() ?? null,
    ],
  );
  const intent: StoredIntent = {
    id, actionId, step, steps, chain: adapter.name, asset: adapter.asset, action, status: 'signed', txHash: signed.hash, bytes: signed.bytes, fee: null, superseded: [], moved: [],
  };
  if (signed.expires !== undefined) intent.expires = signed.expires;
  return resumeIntent(pool, adapter, intent, { fresh: true });
}

function isExpiry(error: unknown): boolean {
  return error instanceof TxRejectedError && !error.included && error.code === 'expired';
}

/**
 * Broadcasts a stored intent's bytes (again) and books the outcome: status,
 * what moved, and the fee as the operator's cost, in one transaction. Bytes
 * past their expiry are looked up once more; only when the chain did not
 * include them is the intent signed again (same id, new hash).
 */
export async function resumeIntent(pool: pg.Pool, adapter: ChainAdapter, stored: StoredIntent, opts: { fresh?: boolean } = {}): Promise<IntentOutcome> {
  let intent = stored;
  let outcome: IntentOutcome | undefined;
  // Stored bytes whose time is up by this machine's clock: ask before sending anything.
  // The chain's clock decides; while it says they may still land, they are sent as they are.
  if (!opts.fresh && intent.expires?.at !== undefined && Date.now() > intent.expires.at) {
    const resolved = await afterExpiry(pool, adapter, intent, false);
    if (resolved !== undefined && 'status' in resolved) outcome = resolved;
    else if (resolved !== undefined) intent = resolved.intent;
  }
  while (outcome === undefined) {
    try {
      outcome = { status: 'confirmed', receipt: await adapter.broadcast(signedOf(intent)) };
    } catch (error) {
      if (!(error instanceof TxRejectedError)) throw error;
      if (isExpiry(error)) {
        const resolved = (await afterExpiry(pool, adapter, intent, true))!;
        if ('status' in resolved) outcome = resolved;
        else intent = resolved.intent;
        continue;
      }
      outcome = { status: error.included ? 'failed' : 'rejected', error };
    }
  }
  const done = outcome;
  await withTransaction(pool, async (tx) => {
    if (done.status === 'confirmed') {
      const { receipt } = done;
      await tx.query(
        `UPDATE tx_intents SET status = 'confirmed', fee = $2, height = $3, moved = $4, updated_at = now() WHERE id = $1 AND status = 'signed'`,
        [intent.id, receipt.fee.toString(), receipt.height.toString(), movedJson(receipt.moved)],
      );
      await bookFee(tx, intent.chain, intent.asset, receipt.hash, receipt.fee, receipt.at);
    } else if (done.status === 'failed' || done.status === 'rejected') {
      const { error } = done;
      await tx.query(
        `UPDATE tx_intents SET status = $2, fee = $3, error = $4, updated_at = now() WHERE id = $1 AND status = 'signed'`,
        [intent.id, done.status, error.fee.toString(), error.message.slice(0, 2000)],
      );
      if (error.included) await bookFee(tx, intent.chain, intent.asset, intent.txHash, error.fee, Date.now());
    }
  });
  return done;
}

/**
 * The intent's bytes have expired (by the clock, or the chain said so):
 * asks the chain once more whether it included them. Included: that is the
 * outcome. Not included and never can be: signs the intent again and stores
 * the new bytes in place of the old (compare-and-set on the old hash, so two
 * workers cannot both re-sign). Still pending (the chain's final head has
 * not passed the expiry yet): retry later.
 */
async function afterExpiry(pool: pg.Pool, adapter: ChainAdapter, intent: StoredIntent, refused: boolean): Promise<IntentOutcome | { intent: StoredIntent } | undefined> {
  const status = await adapter.status(signedOf(intent));
  if (status.state === 'included') return { status: 'confirmed', receipt: status.receipt };
  if (status.state === 'failed') {
    return { status: 'failed', error: new TxRejectedError(adapter.name, status.hash, 'failed', status.log, true, status.fee) };
  }
  if (status.state === 'pending') {
    // Not past the expiry at a finalized height yet: the bytes may still land.
    if (!refused) return undefined;
    throw new RetryableError(`${adapter.name}: transaction ${intent.txHash} was refused as expired but may still be included; asking again later`);
  }

  const signed = await adapter.sign(intent.action, intent.step);
  const { rowCount } = await pool.query(
    `UPDATE tx_intents SET tx_hash = $3, tx_bytes = $4, expires_at = $5, expires_height = $6, superseded = superseded || $2::text, updated_at = now()
      WHERE id = $1 AND tx_hash = $2 AND status = 'signed'`,
    [intent.id, intent.txHash, signed.hash, Buffer.from(signed.bytes), signed.expires?.at ?? null, signed.expires?.height?.toString() ?? null],
  );
  if (rowCount === 0) throw new RetryableError(`${adapter.name}: intent ${intent.id} changed while it was signed again; resuming it afresh`);
  const next: StoredIntent = { ...intent, txHash: signed.hash, bytes: signed.bytes, superseded: [...intent.superseded, intent.txHash] };
  delete next.expires;
  if (signed.expires !== undefined) next.expires = signed.expires;
  return { intent: next };
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

/**
 * Finishes every unfinished action of the adapter's chain, oldest first:
 * what a job does before it plans anything new. A failed step is logged and
 * ends its action; a retryable error stops here (the job is retried).
 * @returns how many actions it finished or ended.
 */
export async function finishActions(pool: pg.Pool, adapter: ChainAdapter, logger: Pick<Logger, 'info' | 'error'>): Promise<number> {
  const unfinished = await unfinishedActions(pool, adapter.name);
  for (const { actionId, action } of unfinished) {
    const outcome = await runAction(pool, adapter, actionId, action);
    const status = outcome.status === 'already' ? outcome.intent.status : outcome.status;
    const log = { chain: adapter.name, action: actionId, kind: action.kind, outcome: status };
    if (status === 'failed' || status === 'rejected') logger.error(log, 'resumed transaction intent did not succeed');
    else logger.info(log, 'resumed an open transaction intent');
  }
  return unfinished.length;
}
