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
import { type ChainAdapter, type Movement, type SignedTx, type StakeAction, type TargetMove, targetsOf, type TxReceipt } from '../../adapters/types.js';
import { RetryableError, SoftstakeError } from '../errors.js';
import { toBigInt, withTransaction, type Tx } from '../ledger/db.js';
import { post } from '../ledger/journal.js';
import { lockHeld, SignerLockLostError, type SignerLock } from './signerLock.js';

/**
 * `signed`: stored, maybe broadcast, outcome unknown; `confirmed`: included
 * and succeeded; `failed`: included and failed (fee paid); `rejected`: can
 * never be included; `abandoned`: was open, and an operator closed it once
 * the chain showed it can never be included (see `abandon.ts`).
 */
export type IntentStatus = 'signed' | 'confirmed' | 'failed' | 'rejected' | 'abandoned';

/** The statuses, for input checks. */
export const INTENT_STATUSES: readonly IntentStatus[] = ['signed', 'confirmed', 'failed', 'rejected', 'abandoned'];

/**
 * What signing for one chain works with: the pool, the chain's signer lock
 * (held; new bytes are stored only through it) and the clock.
 */
export interface Signing {
  pool: pg.Pool;
  lock: SignerLock;
  /** The clock, milliseconds (the pipeline context's). */
  now: () => number;
}

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
  /** The last error, for a failed or rejected intent, or one that is stuck. */
  error: string | null;
  /** When resuming it first failed with an error no retry fixes; cleared once it resolves. `null`: not stuck. */
  stuckSince: number | null;
  /** Who closed it, when and why, for an `abandoned` intent. */
  abandoned: { by: string; at: number; reason: string } | null;
  /** When it was first signed, ms. */
  createdAt: number;
}

/** An intent with its signed bytes. */
export type StoredIntent = TxIntent & { bytes: Uint8Array };

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
  error: string | null;
  stuck_since: Date | null;
  abandoned_by: string | null;
  abandoned_at: Date | null;
  abandon_reason: string | null;
  created_at: Date;
}

const COLUMNS =
  'id, action_id, step, steps, chain, asset, action, status, tx_hash, tx_bytes, fee, expires_at, expires_height, superseded, moved, error, stuck_since, abandoned_by, abandoned_at, abandon_reason, created_at';

/** The id of an action's step: the action's own id for step 0 (so intents stored before steps existed keep theirs). */
export function intentId(actionId: string, step: number): string {
  return step === 0 ? actionId : `${actionId}/${step}`;
}

function targetJson(t: TargetMove): Record<string, unknown> {
  return { validator: t.validator, amount: t.amount.toString(), ...(t.fromIdle === undefined ? {} : { fromIdle: t.fromIdle.toString() }) };
}

function targetFromJson(json: Record<string, unknown>): TargetMove {
  const t: TargetMove = { validator: String(json.validator), amount: BigInt(String(json.amount)) };
  return json.fromIdle === undefined ? t : { ...t, fromIdle: BigInt(String(json.fromIdle)) };
}

/** An action as stored (amounts as decimal strings). */
export function actionJson(action: StakeAction): Record<string, unknown> {
  if (action.kind !== 'delegate' && action.kind !== 'undelegate') return { ...action };
  return { kind: action.kind, ...targetJson(action), ...(action.also === undefined ? {} : { also: action.also.map(targetJson) }) };
}

export function actionFromJson(json: Record<string, unknown>): StakeAction {
  const kind = json.kind;
  if (kind === 'delegate' || kind === 'undelegate') {
    const move: StakeAction = { kind, ...targetFromJson(json) };
    return Array.isArray(json.also) ? { ...move, also: (json.also as Record<string, unknown>[]).map(targetFromJson) } : move;
  }
  if (kind === 'claim') return { kind, validators: Array.isArray(json.validators) ? json.validators.map(String) : [] };
  if (kind === 'withdraw') return typeof json.validator === 'string' ? { kind, validator: json.validator } : { kind };
  throw new Error(`stored intent action of unknown kind ${JSON.stringify(kind)}`);
}

/** The target column of an action: its validator, or its claim's (or batched move's) validators, comma-separated. */
export function targetOf(action: StakeAction): string {
  if (action.kind === 'claim') return action.validators.join(',');
  if (action.kind === 'withdraw') return action.validator ?? '';
  return targetsOf(action)
    .map((t) => t.validator)
    .join(',');
}

/** The amount column of an action: a move's total over its targets; none for a claim or withdrawal. */
export function amountOf(action: StakeAction): bigint | null {
  if (action.kind !== 'delegate' && action.kind !== 'undelegate') return null;
  return targetsOf(action).reduce((sum, t) => sum + t.amount, 0n);
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
    error: r.error,
    stuckSince: r.stuck_since === null ? null : r.stuck_since.getTime(),
    abandoned: r.abandoned_at === null ? null : { by: r.abandoned_by ?? '', at: r.abandoned_at.getTime(), reason: r.abandon_reason ?? '' },
    createdAt: r.created_at.getTime(),
  };
  if (r.expires_at !== null || r.expires_height !== null) {
    intent.expires = {};
    if (r.expires_at !== null) intent.expires.at = Number(r.expires_at);
    if (r.expires_height !== null) intent.expires.height = toBigInt(r.expires_height);
  }
  return intent;
}

/** The stored bytes of an intent, as the adapter takes them. */
export function signedOf(intent: StoredIntent): SignedTx {
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

/** Which intents {@link listIntents} returns. */
export interface IntentFilter {
  /** One chain; absent: every chain. */
  chain?: string;
  /** One status; absent: every status. */
  status?: IntentStatus;
  /** Only those stuck (open, and resuming failed with an error no retry fixes). @defaultValue false */
  stuck?: boolean;
  /** At most this many, newest first. @defaultValue 100 */
  limit?: number;
}

/** Intents, newest first, without their bytes. */
export async function listIntents(db: Tx | pg.Pool, filter: string | IntentFilter = {}, limit?: number): Promise<TxIntent[]> {
  const f: IntentFilter = typeof filter === 'string' ? { chain: filter } : filter;
  const where: string[] = [];
  const params: unknown[] = [];
  if (f.chain !== undefined) where.push(`chain = $${params.push(f.chain)}`);
  if (f.status !== undefined) where.push(`status = $${params.push(f.status)}`);
  if (f.stuck === true) where.push(`status = 'signed' AND stuck_since IS NOT NULL`);
  const n = params.push(limit ?? f.limit ?? 100);
  const { rows } = await db.query<IntentRow>(
    `SELECT ${COLUMNS} FROM tx_intents ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id LIMIT $${n}`,
    params,
  );
  return rows.map((r) => withoutBytes(fromRow(r)));
}

function withoutBytes(stored: StoredIntent): TxIntent {
  const { bytes: _bytes, ...intent } = stored;
  return intent;
}

/** What happened to one intent (or, from {@link runAction}, to the last step that ran). */
export type IntentOutcome =
  | { status: 'confirmed'; receipt: TxReceipt }
  | { status: 'failed' | 'rejected'; error: TxRejectedError }
  | { status: 'already'; intent: TxIntent };

/** One intent by id, with its bytes. */
export async function loadIntent(db: Tx | pg.Pool, id: string): Promise<StoredIntent | undefined> {
  const { rows } = await db.query<IntentRow>(`SELECT ${COLUMNS} FROM tx_intents WHERE id = $1`, [id]);
  return rows[0] ? fromRow(rows[0]) : undefined;
}

/**
 * Runs an action to its end: each step in order, resuming a stored intent
 * where there is one (a retried job, a crash) and signing the next step only
 * when the one before it is confirmed. `actionId` is deterministic for the
 * job that plans it. Stops at the first step that failed, was rejected or
 * was abandoned (the steps after it are never signed).
 * @returns the outcome of the last step that ran.
 * @throws the adapter's retryable errors, leaving the step's intent `signed` for the next attempt.
 */
export async function runAction(s: Signing, adapter: ChainAdapter, actionId: string, action: StakeAction): Promise<IntentOutcome> {
  if (s.lock.chain !== adapter.name) throw new Error(`signing for ${adapter.name} under the signer lock of ${s.lock.chain}`);
  const steps = adapter.steps(action);
  let outcome: IntentOutcome | undefined;
  for (let step = 0; step < steps; step += 1) {
    const existing = await loadIntent(s.pool, intentId(actionId, step));
    if (existing !== undefined) {
      outcome = existing.status === 'signed' ? await resumeIntent(s, adapter, existing) : { status: 'already', intent: withoutBytes(existing) };
    } else {
      outcome = await signIntent(s, adapter, actionId, action, step, steps);
    }
    const status = outcome.status === 'already' ? outcome.intent.status : outcome.status;
    if (status !== 'confirmed') return outcome;
  }
  return outcome!;
}

/**
 * Signs a step and stores it through the signer lock's session, in a
 * statement that checks the lock is held: bytes signed by a worker that
 * lost its lock are never stored, so never sent.
 */
async function signIntent(s: Signing, adapter: ChainAdapter, actionId: string, action: StakeAction, step: number, steps: number): Promise<IntentOutcome> {
  const signed = await adapter.sign(action, step);
  const id = intentId(actionId, step);
  const { rowCount } = await s.lock.client.query(
    `INSERT INTO tx_intents (id, action_id, step, steps, chain, asset, kind, validator, amount, action, status, tx_hash, tx_bytes, expires_at, expires_height)
     SELECT $1, $2, $3::int, $4::int, $5, $6, $7, $8, $9::numeric, $10::jsonb, 'signed', $11, $12::bytea, $13::bigint, $14::numeric
      WHERE ${lockHeld('$5::text')}`,
    [
      id,
      actionId,
      step,
      steps,
      adapter.name,
      adapter.asset,
      action.kind,
      targetOf(action),
      amountOf(action)?.toString() ?? null,
      JSON.stringify(actionJson(action)),
      signed.hash,
      Buffer.from(signed.bytes),
      signed.expires?.at ?? null,
      signed.expires?.height?.toString() ?? null,
    ],
  );
  if (rowCount !== 1) throw new SignerLockLostError(adapter.name);
  const intent: StoredIntent = {
    id,
    actionId,
    step,
    steps,
    chain: adapter.name,
    asset: adapter.asset,
    action,
    status: 'signed',
    txHash: signed.hash,
    bytes: signed.bytes,
    fee: null,
    superseded: [],
    moved: [],
    error: null,
    stuckSince: null,
    abandoned: null,
    createdAt: s.now(),
  };
  if (signed.expires !== undefined) intent.expires = signed.expires;
  return resumeIntent(s, adapter, intent, { fresh: true });
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
export async function resumeIntent(s: Signing, adapter: ChainAdapter, stored: StoredIntent, opts: { fresh?: boolean } = {}): Promise<IntentOutcome> {
  let intent = stored;
  let outcome: IntentOutcome | undefined;
  // Stored bytes whose time is up by this machine's clock: ask before sending anything.
  // The chain's clock decides; while it says they may still land, they are sent as they are.
  if (!opts.fresh && intent.expires?.at !== undefined && s.now() > intent.expires.at) {
    const resolved = await afterExpiry(s, adapter, intent, false);
    if (resolved !== undefined && 'status' in resolved) outcome = resolved;
    else if (resolved !== undefined) intent = resolved.intent;
  }
  while (outcome === undefined) {
    try {
      outcome = { status: 'confirmed', receipt: await adapter.broadcast(signedOf(intent)) };
    } catch (error) {
      if (!(error instanceof TxRejectedError)) throw error;
      if (isExpiry(error)) {
        const resolved = (await afterExpiry(s, adapter, intent, true))!;
        if ('status' in resolved) outcome = resolved;
        else intent = resolved.intent;
        continue;
      }
      outcome = { status: error.included ? 'failed' : 'rejected', error };
    }
  }
  const done = outcome;
  await withTransaction(s.pool, async (tx) => {
    if (done.status === 'confirmed') {
      const { receipt } = done;
      await tx.query(
        `UPDATE tx_intents SET status = 'confirmed', fee = $2, height = $3, moved = $4, error = NULL, stuck_since = NULL, updated_at = now() WHERE id = $1 AND status = 'signed'`,
        [intent.id, receipt.fee.toString(), receipt.height.toString(), movedJson(receipt.moved)],
      );
      await bookFee(tx, intent.chain, intent.asset, receipt.hash, receipt.fee, receipt.at);
    } else if (done.status === 'failed' || done.status === 'rejected') {
      const { error } = done;
      await tx.query(
        `UPDATE tx_intents SET status = $2, fee = $3, error = $4, stuck_since = NULL, updated_at = now() WHERE id = $1 AND status = 'signed'`,
        [intent.id, done.status, error.fee.toString(), error.message.slice(0, 2000)],
      );
      if (error.included) await bookFee(tx, intent.chain, intent.asset, intent.txHash, error.fee, s.now());
    }
  });
  return done;
}

/**
 * The intent's bytes have expired (by the clock, or the chain said so):
 * asks the chain once more whether it included them. Included: that is the
 * outcome. Not included and never can be: signs the intent again and stores
 * the new bytes in place of the old (compare-and-set on the old hash, under
 * the signer lock). Still pending (the chain's final head has not passed
 * the expiry yet): retry later.
 */
async function afterExpiry(s: Signing, adapter: ChainAdapter, intent: StoredIntent, refused: boolean): Promise<IntentOutcome | { intent: StoredIntent } | undefined> {
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
  const { rowCount } = await s.lock.client.query(
    `UPDATE tx_intents SET tx_hash = $3, tx_bytes = $4, expires_at = $5, expires_height = $6, superseded = superseded || $2::text, updated_at = now()
      WHERE id = $1 AND tx_hash = $2 AND status = 'signed' AND ${lockHeld('$7::text')}`,
    [intent.id, intent.txHash, signed.hash, Buffer.from(signed.bytes), signed.expires?.at ?? null, signed.expires?.height?.toString() ?? null, adapter.name],
  );
  if (rowCount === 0) throw new RetryableError(`${adapter.name}: intent ${intent.id} changed while it was signed again (or the signer lock was lost); resuming it afresh`);
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

/** An open intent that resuming could not move: nothing new is signed for its chain while it is open. */
export interface StuckIntent {
  id: string;
  actionId: string;
  error: string;
}

/** What {@link finishActions} did. */
export interface FinishedActions {
  /** Actions it finished or ended. */
  finished: number;
  /** Open intents it could not resolve (an error no retry fixes); planning waits for them. */
  stuck: StuckIntent[];
}

/**
 * Finishes every unfinished action of the adapter's chain, oldest first:
 * what a job does before it plans anything new. A failed step is logged and
 * ends its action; a retryable error stops here (the job is retried). An
 * error no retry fixes (a node's malformed answer, a signature the chain
 * refuses to re-sign) marks the action's open intent stuck, logs it at
 * error level and goes on with the next action: the caller then signs
 * nothing new, and the intent shows in `/v1/intents`, `softstake intents
 * list` and the `softstake_intents_stuck` metric until it resolves or an
 * operator abandons it.
 */
export async function finishActions(s: Signing, adapter: ChainAdapter, logger: Pick<Logger, 'info' | 'error'>): Promise<FinishedActions> {
  const unfinished = await unfinishedActions(s.pool, adapter.name);
  const stuck: StuckIntent[] = [];
  let finished = 0;
  for (const { actionId, action } of unfinished) {
    let outcome: IntentOutcome;
    try {
      outcome = await runAction(s, adapter, actionId, action);
    } catch (error) {
      if (!(error instanceof SoftstakeError) || error.retryable) throw error;
      const message = error.message.slice(0, 2000);
      const { rows } = await s.pool.query<{ id: string }>(
        `UPDATE tx_intents SET error = $2, stuck_since = coalesce(stuck_since, to_timestamp($3::bigint / 1000.0)), updated_at = now()
          WHERE action_id = $1 AND status = 'signed' RETURNING id`,
        [actionId, message, s.now()],
      );
      const id = rows[0]?.id ?? actionId;
      stuck.push({ id, actionId, error: message });
      logger.error(
        { chain: adapter.name, action: actionId, intent: id, kind: action.kind, err: message },
        `open transaction intent ${id} is stuck: nothing new is signed for ${adapter.name} until it resolves or an operator abandons it (softstake intents abandon ${id})`,
      );
      continue;
    }
    finished += 1;
    const status = outcome.status === 'already' ? outcome.intent.status : outcome.status;
    const log = { chain: adapter.name, action: actionId, kind: action.kind, outcome: status };
    if (status === 'failed' || status === 'rejected') logger.error(log, 'resumed transaction intent did not succeed');
    else logger.info(log, 'resumed an open transaction intent');
  }
  return { finished, stuck };
}
