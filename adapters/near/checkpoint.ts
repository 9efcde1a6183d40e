/**
 * The NEAR harvest checkpoint and the reading of the custody's own stake
 * flows from transaction outcomes.
 *
 * Rewards on NEAR are not paid: they raise a pool's share price when the
 * pool's `ping` runs in a new epoch. So a harvest measures, per pool, the
 * custody's balance there (staked + unstaked, the pool's own
 * `get_account_total_balance`) and calls the growth that the custody's own
 * deposits and withdrawals do not explain the reward. The checkpoint carries
 * the last measurement per pool and the height up to which the custody's
 * transactions have been read.
 */
import * as z from 'zod';

import { intString, uintString } from '../integers.js';

/** One pool's last measurement. */
export interface PoolMark {
  /** The epoch (`epoch_id`) it was measured in; one reward event per pool and epoch. */
  epochId: string;
  /** The custody's total balance in the pool then, yoctoNEAR. */
  total: bigint;
  /** Net own flows into the pool since that measurement (deposits − withdrawals), read but not yet netted. */
  flows: bigint;
}

/** What `harvest` hands back as its checkpoint (JSON). */
export interface NearCheckpoint {
  v: 1;
  /** The custody key's transactions up to and including this height have been read. */
  height: number;
  pools: Record<string, PoolMark>;
}

const schema = z.strictObject({
  v: z.literal(1),
  height: z.number().int().nonnegative(),
  pools: z.record(z.string(), z.strictObject({ epochId: z.string().min(1), total: uintString, flows: intString })),
});

/** Parses a checkpoint; `undefined` when it is not one of ours. */
export function parseCheckpoint(text: string): NearCheckpoint | undefined {
  try {
    const parsed = schema.safeParse(JSON.parse(text));
    return parsed.success ? (parsed.data as NearCheckpoint) : undefined;
  } catch {
    return undefined;
  }
}

export function serializeCheckpoint(checkpoint: NearCheckpoint): string {
  return JSON.stringify(checkpoint, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

/** A FinalExecutionOutcome, as far as flows and fees need it. */
export const outcomeSchema = z.object({
  status: z.union([z.object({ SuccessValue: z.string() }), z.object({ SuccessReceiptId: z.string() }), z.object({ Failure: z.unknown() }), z.string()]),
  transaction: z.object({ signer_id: z.string(), receiver_id: z.string(), nonce: z.number() }).loose(),
  transaction_outcome: z.object({ id: z.string(), block_hash: z.string(), outcome: z.object({ tokens_burnt: uintString }).loose() }),
  receipts_outcome: z.array(
    z.object({
      id: z.string(),
      block_hash: z.string(),
      outcome: z.object({ logs: z.array(z.string()), tokens_burnt: uintString, executor_id: z.string(), status: z.unknown() }).loose(),
    }),
  ),
});

export type Outcome = z.infer<typeof outcomeSchema>;

/** Total fee: the tokens burnt by the transaction and all its receipts. */
export function feeOf(outcome: Outcome): bigint {
  return outcome.receipts_outcome.reduce((sum, r) => sum + r.outcome.tokens_burnt, outcome.transaction_outcome.outcome.tokens_burnt);
}

export function failed(outcome: Outcome): boolean {
  return typeof outcome.status === 'object' && 'Failure' in outcome.status;
}

function succeeded(status: unknown): boolean {
  return typeof status === 'object' && status !== null && ('SuccessValue' in status || 'SuccessReceiptId' in status);
}

/**
 * The custody's net flows into each pool in one transaction, from the
 * staking pool's own logs of its successful receipts (`@acc deposited N.`,
 * `@acc withdrawing N.`): deposits positive, withdrawals negative. A failed
 * receipt's changes were rolled back, so it moved nothing.
 */
export function flowsOf(outcome: Outcome, accountId: string, pools: ReadonlySet<string>): Map<string, bigint> {
  const flows = new Map<string, bigint>();
  for (const receipt of outcome.receipts_outcome) {
    const pool = receipt.outcome.executor_id;
    if (!pools.has(pool) || !succeeded(receipt.outcome.status)) continue;
    for (const line of receipt.outcome.logs) {
      const match = /^@(\S+) (deposited|withdrawing) (0|[1-9][0-9]{0,38})\./.exec(line);
      if (match === null || match[1] !== accountId) continue;
      const amount = BigInt(match[3]!);
      flows.set(pool, (flows.get(pool) ?? 0n) + (match[2] === 'deposited' ? amount : -amount));
    }
  }
  return flows;
}
