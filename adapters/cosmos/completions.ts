/**
 * Unbonding entries that completed between two harvests: what the chain paid
 * for them against what the checkpoint expected. An entry slashed after the
 * last harvest and matured before this one is gone from the staking state,
 * and only its completion tells what it lost.
 *
 * cosmos-sdk x/staking/keeper/val_state_change.go (BlockValidatorUpdates):
 * in EndBlock each mature (delegator, validator) pair of the UBD queue is
 * completed (x/staking/keeper/delegation.go CompleteUnbonding: every mature
 * entry of the pair removed, non-zero balances paid) and one
 * `complete_unbonding` event says `amount` (the sum paid, `Coins.String()`,
 * empty for nothing), `validator` and `delegator`. It is a FinalizeBlock
 * event, not a transaction's: CometBFT's block indexer finds its heights
 * (rpc/core/blocks.go BlockSearch, `block_search`) and `block_results` holds
 * it (`finalize_block_events` from 0.38, `end_block_events` before).
 */
import { ChainProtocolError } from '../errors.js';
import type { RewardEvent } from '../types.js';
import { coinAmount } from './amounts.js';
import type { CosmosClient } from './client.js';

/** An unbonding entry open at the checkpoint and gone from the chain's entries now. */
export interface GoneEntry {
  validator: string;
  /** ms. */
  completesAt: number;
  /** What its completion should pay: initial balance − slashes already reported − cancelled since. */
  expected: bigint;
}

/** One `complete_unbonding` of the delegator: the block, its time, the validator and what it paid. */
interface Completion {
  height: bigint;
  at: number;
  validator: string;
  paid: bigint;
}

type EventLike = { type: string; attributes: readonly { key: string; value: string }[] };

/** The delegator's `complete_unbonding` events in heights (from, to], oldest first; block times go into `times`. */
async function completions(client: CosmosClient, address: string, from: bigint, to: bigint, times: Map<bigint, number>): Promise<Completion[]> {
  const query = `complete_unbonding.delegator='${address}' AND block.height>${from} AND block.height<=${to}`;
  const perPage = client.options.txSearchPageSize;
  const heights = new Set<bigint>();
  let complete = false;
  for (let page = 1; page <= client.options.maxTxSearchPages; page += 1) {
    const answer = await client.rpc('block_search', (c) => c.comet.blockSearch({ query, page, per_page: perPage, order_by: 'asc' }));
    for (const { block } of answer.blocks) {
      const height = BigInt(block.header.height);
      if (height <= from || height > to) throw new ChainProtocolError(client.name, `block_search for heights (${from}, ${to}] answered block ${height}`);
      heights.add(height);
      times.set(height, block.header.time.getTime());
    }
    if (answer.blocks.length < perPage || page * perPage >= answer.totalCount) {
      // A block the node no longer stores is counted but not returned (rpc/core/blocks.go): its results are gone too.
      if (heights.size < answer.totalCount) {
        throw new ChainProtocolError(client.name, `block_search found ${answer.totalCount} unbonding completions in heights (${from}, ${to}] but returned ${heights.size} blocks: the others are pruned, harvest from a node that keeps them`);
      }
      complete = true;
      break;
    }
  }
  if (!complete) throw new ChainProtocolError(client.name, `more than ${client.options.maxTxSearchPages * perPage} blocks with unbonding completions in heights (${from}, ${to}]`);
  const found: Completion[] = [];
  for (const height of [...heights].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
    const events = await client.rpc(`block_results ${height}`, async (c): Promise<readonly EventLike[]> => {
      const results: object = await c.comet.blockResults(Number(height));
      // CometBFT 0.38 and 1.x: `finalize_block_events`; 0.37: `begin_block_events` and `end_block_events` (EndBlock's).
      if ('finalizeBlockEvents' in results) return results.finalizeBlockEvents as readonly EventLike[];
      const { beginBlockEvents, endBlockEvents } = results as { beginBlockEvents: readonly EventLike[]; endBlockEvents: readonly EventLike[] };
      return [...beginBlockEvents, ...endBlockEvents];
    });
    for (const e of events) {
      if (e.type !== 'complete_unbonding') continue;
      const attributes = new Map<string, string>();
      for (const { key, value } of e.attributes) if (!attributes.has(key)) attributes.set(key, value);
      if (attributes.get('delegator') !== address) continue;
      const validator = attributes.get('validator');
      if (validator === undefined || validator === '') throw new ChainProtocolError(client.name, `complete_unbonding at ${height} names no validator`);
      const paid = client.parse(`complete_unbonding at ${height}`, () => coinAmount(attributes.get('amount') ?? '', client.options.denom));
      found.push({ height, at: times.get(height)!, validator, paid });
    }
  }
  return found;
}

/**
 * Negative events for what the completions of `gone` entries paid short of
 * what was expected: one per `complete_unbonding` (id
 * `slash:<validator>:unbonding-completed:<height>`, the SDK emits one per
 * pair and block), covering the gone entries of its validator due by its
 * block's time. No request when nothing is gone.
 */
export async function completionShortfalls(client: CosmosClient, address: string, from: bigint, to: bigint, gone: readonly GoneEntry[], times: Map<bigint, number>): Promise<RewardEvent[]> {
  if (gone.length === 0 || to <= from) return [];
  const open = [...gone].sort((a, b) => a.completesAt - b.completesAt);
  const events: RewardEvent[] = [];
  for (const completion of await completions(client, address, from, to, times)) {
    let expected = 0n;
    for (let i = 0; i < open.length; ) {
      const entry = open[i]!;
      if (entry.validator === completion.validator && entry.completesAt <= completion.at) {
        expected += entry.expected;
        open.splice(i, 1);
      } else i += 1;
    }
    // Paid more than the entries we knew of: an entry opened and completed since the checkpoint; nothing lost is known.
    const lost = expected - completion.paid;
    if (lost > 0n) events.push({ id: `slash:${completion.validator}:unbonding-completed:${completion.height}`, amount: -lost, at: completion.at, validator: completion.validator });
  }
  return events;
}
