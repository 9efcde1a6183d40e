/**
 * `harvest`: first runs what the chain says is due (claims that pay rewards
 * out, NEAR's `ping` that brings a pool's accounting up to date,
 * withdrawals of unlocked funds), each as a transaction intent like any
 * stake change; then asks the adapter, which only reads, what the chain
 * paid, and stores it. The reward events and the new checkpoint are written
 * in one transaction, and event ids are deterministic, so a harvest repeated
 * after a crash (from the old checkpoint) stores nothing twice.
 *
 * Claims live here rather than in `rebalance` because they exist for the
 * harvest: a claim just before the reading is what makes the reading
 * complete (NEAR measures a pool only after its ping). The claims run under
 * the chain's signer lock in PostgreSQL, like a rebalance, so their
 * transactions never race another job's for a sequence number; the reading
 * after them signs nothing and runs without it. While an open intent of the
 * chain is stuck, no claim is signed, but rewards are still read and stored. Claims whose time has not come (`dueAt`) wait for a later
 * harvest, which the worker schedules for that moment when it comes before
 * the next regular one; a deadline (rewards that expire) closer than two
 * harvest intervals is logged as a warning, since only a harvest claims.
 */
import { RetryableError } from '../../errors.js';
import { withTransaction } from '../../ledger/db.js';
import { insertRewardEvents } from '../../ledger/rewards.js';
import type { PipelineContext } from '../context.js';
import { finishActions, runAction, type StuckIntent } from '../intents.js';
import { withSignerLock } from '../signerLock.js';

export interface HarvestSummary {
  events: number;
  recorded: number;
  /** Σ of the new events, base units (negative when slashes outweigh rewards). */
  amount: string;
  checkpoint: string;
  /** Open intents that could not be resolved: no claim was signed. */
  stuck?: StuckIntent[];
  /** The claims and withdrawals this harvest ran, with their outcome. */
  actions: { kind: string; validator: string; status: string; hash?: string }[];
  /** The earliest `dueAt` of a claim that had to wait (TRON: 24 h after the last claim), ms; the worker runs a harvest then. */
  nextDueAt?: number;
}

/**
 * @param jobKey - deterministic per job (its id): the ids of the claims it
 *   runs derive from it, so a retried job resumes them instead of signing anew.
 */
export async function harvest(ctx: PipelineContext, chain: string, jobKey = `harvest:${ctx.now()}`): Promise<HarvestSummary> {
  const adapter = ctx.adapters.get(chain)!;
  const before = await ctx.pool.query<{ checkpoint: string }>('SELECT checkpoint FROM chain_checkpoints WHERE chain = $1', [chain]);
  const checkpoint = before.rows[0]?.checkpoint ?? null;

  const actions: HarvestSummary['actions'] = [];
  let nextDueAt: number | undefined;
  const stuck = await withSignerLock(ctx.pool, chain, async (lock): Promise<StuckIntent[]> => {
    const signing = { pool: ctx.pool, lock, now: ctx.now };
    const finished = await finishActions(signing, adapter, ctx.logger);
    if (finished.stuck.length > 0) return finished.stuck;
    const now = ctx.now();
    const interval = ctx.config.chains[chain]?.intervals.harvestMs ?? 0;
    for (const due of await adapter.due(checkpoint)) {
      const { action } = due;
      const target = action.kind === 'claim' ? action.validators.join(',') : (action.validator ?? '');
      if (due.deadline !== undefined && due.deadline < now + 2 * interval) {
        ctx.logger.warn({ chain, kind: action.kind, validator: target, deadline: new Date(due.deadline).toISOString() }, 'unclaimed rewards expire before the harvest after next');
      }
      if (due.dueAt !== undefined && due.dueAt > now) {
        nextDueAt = Math.min(nextDueAt ?? Infinity, due.dueAt);
        continue;
      }
      // Content-addressed within the job: a retry after some of them confirmed maps each to its own intent.
      const outcome = await runAction(signing, adapter, `${chain}:${jobKey}:${action.kind}:${target}`, action);
      const status = outcome.status === 'already' ? outcome.intent.status : outcome.status;
      const hash = outcome.status === 'confirmed' ? outcome.receipt.hash : outcome.status === 'already' ? outcome.intent.txHash : outcome.error.hash;
      actions.push({ kind: action.kind, validator: target, status, ...(hash ? { hash } : {}) });
      if (status === 'failed' || status === 'rejected') {
        ctx.logger.error({ chain, kind: action.kind, validator: target, status, error: outcome.status === 'failed' || outcome.status === 'rejected' ? outcome.error.message : undefined }, `${action.kind} ${status}`);
      } else {
        ctx.logger.info({ chain, kind: action.kind, validator: target, status, hash, amount: due.amount?.toString() }, `${action.kind} ${status}`);
      }
    }
    return [];
  });

  const result = await adapter.harvest(checkpoint);

  return withTransaction(ctx.pool, async (tx) => {
    // Two harvests (a second daemon on another Redis) may read at once; the
    // checkpoint moves once.
    const locked = await tx.query<{ checkpoint: string }>('SELECT checkpoint FROM chain_checkpoints WHERE chain = $1 FOR UPDATE', [chain]);
    const current = locked.rows[0]?.checkpoint ?? null;
    if (current !== checkpoint) throw new RetryableError(`${chain}: the checkpoint moved during the harvest; harvesting again`);

    const events = result.events.map((e) => ({
      // Chain-qualified: two chains' tx hashes never collide in the ledger.
      id: `${chain}:${e.id}`,
      asset: adapter.asset,
      amount: e.amount,
      at: e.at,
      source: chain,
    }));
    const stored = await insertRewardEvents(tx, events);
    await tx.query(
      `INSERT INTO chain_checkpoints (chain, checkpoint) VALUES ($1, $2)
       ON CONFLICT (chain) DO UPDATE SET checkpoint = EXCLUDED.checkpoint, updated_at = now()`,
      [chain, result.checkpoint],
    );
    const amount = events.reduce((sum, e) => sum + e.amount, 0n);
    if (events.length > 0) ctx.logger.info({ chain, events: events.length, recorded: stored.recorded, amount: amount.toString() }, 'harvested');
    return { events: events.length, recorded: stored.recorded, amount: amount.toString(), checkpoint: result.checkpoint, actions, ...(stuck.length > 0 ? { stuck } : {}), ...(nextDueAt === undefined ? {} : { nextDueAt }) };
  });
}
