/**
 * Cosmos harvest, read-only: the `withdraw_rewards` events of every
 * successful custody transaction since the checkpoint (claims, and the
 * delegation changes that pay rewards on the way), and stake lost to
 * slashing as negative events. Claims are the pipeline's intents; this
 * signs nothing and needs no key.
 */
import { RetryableError } from '../../src/errors.js';
import { ChainProtocolError } from '../errors.js';
import type { HarvestResult, RewardEvent } from '../types.js';
import { indexed } from './broadcast.js';
import { formatCheckpoint, parseCheckpoint } from './checkpoint.js';
import type { CosmosClient } from './client.js';
import { payoutEvents, type IndexedTxLike } from './events.js';
import { readDelegations, readUnbondingSlashed } from './position.js';
import { detectSlashes } from './slashing.js';

/**
 * The custody account's transactions with from < height ≤ to, oldest
 * first, and the height they are complete through (below `to` only when
 * `maxTxSearchPages` cut the scan; a height is never split).
 */
async function scanTxs(client: CosmosClient, address: string, from: bigint, to: bigint): Promise<{ txs: IndexedTxLike[]; through: bigint }> {
  if (to <= from) return { txs: [], through: from };
  const query = `message.sender='${address}' AND tx.height>${from} AND tx.height<=${to}`;
  const byHash = new Map<string, IndexedTxLike>();
  const perPage = client.options.txSearchPageSize;
  let complete = false;
  for (let page = 1; page <= client.options.maxTxSearchPages; page += 1) {
    const answer = await client.rpc('tx_search', (c) => c.comet.txSearch({ query, page, per_page: perPage, order_by: 'asc' }));
    for (const t of answer.txs) {
      const tx = indexed(t);
      if (tx.height <= from || tx.height > to) throw new ChainProtocolError(client.name, `tx_search for heights (${from}, ${to}] answered ${tx.hash} at ${tx.height}`);
      byHash.set(tx.hash, tx);
    }
    if (answer.txs.length < perPage || page * perPage >= answer.totalCount) {
      complete = true;
      break;
    }
  }
  const txs = [...byHash.values()].sort((a, b) => (a.height === b.height ? a.index - b.index : a.height < b.height ? -1 : 1));
  if (complete) return { txs, through: to };
  const last = txs[txs.length - 1]!.height;
  const kept = txs.filter((t) => t.height < last);
  if (kept.length === 0) throw new ChainProtocolError(client.name, `more than ${client.options.maxTxSearchPages * perPage} custody transactions at height ${last}`);
  return { txs: kept, through: last - 1n };
}

export async function harvest(client: CosmosClient, checkpointText: string | null): Promise<HarvestResult> {
  const checkpoint = client.parse('harvest checkpoint', () => parseCheckpoint(checkpointText));
  const address = await client.address();
  const head = await client.latestBlock();
  if (checkpoint.height > head.height) {
    throw new ChainProtocolError(client.name, `harvest checkpoint ${checkpoint.height} is above the chain's height ${head.height}: was the chain reset?`);
  }
  const times = new Map<bigint, number>([[head.height, head.at]]);
  const blockTime = (height: bigint) => client.blockTime(height, times);

  // Every payout of the custody account's successful transactions since the checkpoint, up to
  // the height the delegations are read at, so the two agree.
  const delegations = client.options.detectSlashing ? await readDelegations(client, address) : undefined;
  const current = delegations === undefined ? undefined : { ...delegations, unbondingSlashed: await readUnbondingSlashed(client, address, delegations.height) };
  const to = current?.height ?? head.height;
  if (to < checkpoint.height) throw new RetryableError(`${client.name}: a node answered at height ${to}, below the harvest checkpoint ${checkpoint.height} (lagging); harvesting again`);
  const { txs, through } = await scanTxs(client, address, checkpoint.height, to);
  const events: RewardEvent[] = [];
  for (const tx of txs) {
    const payouts = client.parse(`events of ${tx.hash}`, () => payoutEvents(tx, address, client.options.denom));
    for (const p of payouts) events.push({ id: p.id, amount: p.amount, at: await blockTime(p.height), validator: p.validator });
  }
  // At height 0 no unbonding entry can exist yet: an empty baseline, so the first entries' slashes count.
  const unbondingSlashed = checkpoint.unbondingSlashed ?? (checkpoint.height === 0n && checkpoint.principal !== undefined ? new Map<string, bigint>() : undefined);
  const slashes = await detectSlashes(client, address, { principal: checkpoint.principal, unbondingSlashed, txs, current, through }, blockTime);
  events.push(...slashes.events);
  return { events, checkpoint: formatCheckpoint({ height: through, principal: slashes.principal, unbondingSlashed: slashes.unbondingSlashed }) };
}
