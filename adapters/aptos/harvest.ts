/**
 * Aptos harvest, read-only. Rewards compound: stake.move mints each epoch's
 * rewards into the pool's active and pending_inactive stake at the epoch
 * change, and delegation_pool.move's `get_stake` shows the delegator's part
 * (net of the operator's commission) from then on, with no transaction. So a
 * harvest measures the custody's stake in each pool (active + inactive +
 * pending_inactive) once per epoch and reports the growth that its own flows
 * (read from its transactions' events, see flows.ts) do not explain, as one
 * event per pool and epoch. A fall is a negative event.
 *
 * The measurement is taken at the epoch's start as far as the custody is
 * concerned: at the version just before its first transaction of the epoch
 * (or the head, when it sent none). Then an `add_stake` of this epoch, whose
 * fee is still held by the NULL shareholder, is measured only in the next
 * epoch, when the fee is back: the fee's return is never a reward, and the
 * fee never a loss.
 */
import * as z from 'zod';

import { ChainProtocolError } from '../errors.js';
import { intString, uintString } from '../integers.js';
import type { HarvestResult, RewardEvent } from '../types.js';
import type { AptosClient, UserTransaction } from './client.js';
import { flowsOf } from './flows.js';

/** One pool's last measurement. */
export interface PoolMark {
  /** The custody's stake there (active + inactive + pending_inactive), octas. */
  total: bigint;
  /** Its own net flows into the pool since (added − withdrawn), read but not yet netted. */
  flows: bigint;
}

/** What `harvest` hands back as its checkpoint (JSON). */
export interface AptosCheckpoint {
  v: 1;
  /** The custody's transactions below this sequence number have been read. */
  sequence: bigint;
  /** The epoch of the last measurement; `null` before the first. */
  epoch: bigint | null;
  pools: Record<string, PoolMark>;
}

const schema = z.strictObject({
  v: z.literal(1),
  sequence: uintString,
  epoch: uintString.nullable(),
  pools: z.record(z.string().regex(/^0x[0-9a-f]{64}$/), z.strictObject({ total: uintString, flows: intString })),
});

/** Parses a checkpoint; `undefined` when it is not one of ours. */
export function parseCheckpoint(text: string): AptosCheckpoint | undefined {
  try {
    const parsed = schema.safeParse(JSON.parse(text));
    return parsed.success ? (parsed.data as AptosCheckpoint) : undefined;
  } catch {
    return undefined;
  }
}

export function serializeCheckpoint(checkpoint: AptosCheckpoint): string {
  return JSON.stringify(checkpoint, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

/** The custody's committed transactions with sequence numbers in [from, to), oldest first. */
async function transactionsBetween(client: AptosClient, custody: string, from: bigint, to: bigint): Promise<UserTransaction[]> {
  const out: UserTransaction[] = [];
  for (let next = from; next < to; ) {
    const want = to - next > 100n ? 100 : Number(to - next);
    const page = await client.accountTransactions(custody, next, want);
    if (page.length === 0) throw new ChainProtocolError(client.name, `the node lists no transaction of ${custody} from sequence number ${next}, below its ${to} (pruned history? set options.historyFromSequence)`);
    // A pruned start answers with the first kept transaction (storage/indexer_schemas/src/utils.rs
    // `AccountOrderedTransactionsIter`): skipping the gap would miss the custody's own flows.
    if (page[0]!.sequence_number !== next) throw new ChainProtocolError(client.name, `the node lists ${custody}'s transactions from sequence number ${page[0]!.sequence_number}, not ${next}: it has pruned them (set options.historyFromSequence, or use a node with a longer prune window)`);
    out.push(...page);
    next += BigInt(page.length);
  }
  return out;
}

/** Σ net flows (added − withdrawn) per pool over `transactions`. */
function netFlows(client: AptosClient, custody: string, transactions: readonly UserTransaction[]): Map<string, bigint> {
  const net = new Map<string, bigint>();
  for (const tx of transactions) for (const [pool, flow] of flowsOf(tx, custody, client.poolSet)) net.set(pool, (net.get(pool) ?? 0n) + flow.added - flow.withdrawn);
  return net;
}

/**
 * Read-only: every pool's growth since the last measurement, less the
 * custody's own flows, once per epoch. Ids are `<pool>:<epoch>`; an event's
 * time is the epoch's start, so a harvest asked again reports the same
 * events.
 */
export async function harvest(client: AptosClient, checkpoint: string | null): Promise<HarvestResult> {
  const custody = await client.address();
  let previous: AptosCheckpoint;
  if (checkpoint === null) {
    previous = { v: 1, sequence: client.options.historyFromSequence, epoch: null, pools: {} };
  } else {
    const parsed = parseCheckpoint(checkpoint);
    if (parsed === undefined) throw new ChainProtocolError(client.name, 'harvest checkpoint is not an Aptos checkpoint');
    previous = parsed;
  }
  const ledger = await client.ledger();
  const sequence = await client.sequenceNumber(custody, ledger.version);
  if (previous.sequence > sequence) {
    throw new ChainProtocolError(client.name, `harvest checkpoint has read ${custody} up to sequence number ${previous.sequence}, above the chain's ${sequence}: was the chain reset?`);
  }
  const transactions = await transactionsBetween(client, custody, previous.sequence, sequence);
  const { epoch, startUs } = await client.configuration(ledger.version);

  const next: AptosCheckpoint = { v: 1, sequence, epoch, pools: {} };
  if (previous.epoch === epoch) {
    // Measured in this epoch already: only carry the flows read since.
    const net = netFlows(client, custody, transactions);
    for (const pool of new Set([...Object.keys(previous.pools), ...net.keys()])) {
      const mark = previous.pools[pool] ?? { total: 0n, flows: 0n };
      next.pools[pool] = { total: mark.total, flows: mark.flows + (net.get(pool) ?? 0n) };
    }
    return { events: [], checkpoint: serializeCheckpoint(next) };
  }

  // The epoch's start as far as the custody is concerned: just before its first transaction of this epoch.
  const first = transactions.find((tx) => tx.timestamp >= startUs);
  const at = first === undefined ? ledger.version : first.version - 1n;
  const before = netFlows(client, custody, transactions.filter((tx) => tx.version <= at));
  const after = netFlows(client, custody, transactions.filter((tx) => tx.version > at));
  const events: RewardEvent[] = [];
  for (const pool of client.options.pools) {
    const mark = previous.pools[pool] ?? { total: 0n, flows: 0n };
    const [active, inactive, pendingInactive] = await client.stake(pool, custody, at);
    const total = active + inactive + pendingInactive;
    const reward = total - mark.total - mark.flows - (before.get(pool) ?? 0n);
    if (reward !== 0n) events.push({ id: `${pool}:${epoch}`, amount: reward, at: Number(startUs / 1000n), validator: client.label(pool) });
    const flows = after.get(pool) ?? 0n;
    if (total !== 0n || flows !== 0n) next.pools[pool] = { total, flows };
  }
  return { events, checkpoint: serializeCheckpoint(next) };
}
