/**
 * `harvest`: claims rewards and stores what the chain paid. The reward
 * events and the new checkpoint are written in one transaction, and event
 * ids are deterministic, so a harvest repeated after a crash (from the old
 * checkpoint) stores nothing twice.
 */
import { RetryableError } from '../../errors.js';
import { withTransaction } from '../../ledger/db.js';
import { insertRewardEvents } from '../../ledger/rewards.js';
import type { PipelineContext } from '../context.js';
import { bookFee } from '../intents.js';

export interface HarvestSummary {
  events: number;
  recorded: number;
  /** Σ of the new events, base units (negative when slashes outweigh rewards). */
  amount: string;
  checkpoint: string;
}

export async function harvest(ctx: PipelineContext, chain: string): Promise<HarvestSummary> {
  const adapter = ctx.adapters.get(chain)!;
  const before = await ctx.pool.query<{ checkpoint: string }>('SELECT checkpoint FROM chain_checkpoints WHERE chain = $1', [chain]);
  const checkpoint = before.rows[0]?.checkpoint ?? null;
  const result = await adapter.harvest(checkpoint);

  return withTransaction(ctx.pool, async (tx) => {
    // Signing work for a chain is serialized by its queue; this guards the
    // checkpoint against anything else (a second daemon on another Redis).
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
    for (const receipt of result.receipts) await bookFee(tx, chain, adapter.asset, receipt.hash, receipt.fee, receipt.at);
    await tx.query(
      `INSERT INTO chain_checkpoints (chain, checkpoint) VALUES ($1, $2)
       ON CONFLICT (chain) DO UPDATE SET checkpoint = EXCLUDED.checkpoint, updated_at = now()`,
      [chain, result.checkpoint],
    );
    const amount = events.reduce((sum, e) => sum + e.amount, 0n);
    if (events.length > 0) ctx.logger.info({ chain, events: events.length, recorded: stored.recorded, amount: amount.toString() }, 'harvested');
    return { events: events.length, recorded: stored.recorded, amount: amount.toString(), checkpoint: result.checkpoint };
  });
}
