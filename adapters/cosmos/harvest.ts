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
import { QueryDelegatorValidatorsRequest, QueryDelegatorValidatorsResponse } from 'cosmjs-types/cosmos/staking/v1beta1/query';
import { decAtomics, intAmount } from './amounts.js';
import { formatCheckpoint, parseCheckpoint, type CosmosCheckpoint } from './checkpoint.js';
import { HeightMovedError, type CosmosClient } from './client.js';
import { payoutEvents, type IndexedTxLike } from './events.js';
import { pages, readDelegations, readUnbondingEntries } from './position.js';
import { detectSlashes, type ChainStake, type Rate } from './slashing.js';

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
  const current = client.options.detectSlashing ? await readChainStake(client, address) : undefined;
  const to = current?.height ?? head.height;
  if (to < checkpoint.height) throw new RetryableError(`${client.name}: a node answered at height ${to}, below the harvest checkpoint ${checkpoint.height} (lagging); harvesting again`);
  const { txs, through } = await scanTxs(client, address, checkpoint.height, to);
  const events: RewardEvent[] = [];
  for (const tx of txs) {
    const payouts = client.parse(`events of ${tx.hash}`, () => payoutEvents(tx, address, client.options.denom));
    for (const p of payouts) events.push({ id: p.id, amount: p.amount, at: await blockTime(p.height), validator: p.validator });
  }
  const slashes = await detectSlashes(
    client,
    address,
    { principal: checkpoint.principal, rates: checkpoint.rates, unbonding: checkpoint.unbonding, initial: checkpoint.initial, from: checkpoint.height, txs, current, through },
    blockTime,
    times,
  );
  events.push(...slashes.events);
  const next: CosmosCheckpoint = { height: through, principal: slashes.principal };
  if (slashes.rates !== undefined) next.rates = slashes.rates;
  if (slashes.unbonding !== undefined) next.unbonding = slashes.unbonding;
  if (slashes.initial !== undefined) next.initial = slashes.initial;
  return { events, checkpoint: formatCheckpoint(next) };
}

/**
 * Delegations, the delegated validators' exchange rates and the unbonding
 * entries, all at one height (the delegations' read pins it).
 */
async function readChainStake(client: CosmosClient, address: string): Promise<ChainStake> {
  for (let attempt = 0; ; attempt += 1) {
    const { stakes, height } = await readDelegations(client, address);
    try {
      const [rates, unbonding] = await Promise.all([readRates(client, address, height), readUnbondingEntries(client, address, height)]);
      return { stakes, height, rates, unbonding };
    } catch (error) {
      // The node dropped that height meanwhile (it keeps only recent state): read again at a newer one.
      if (!(error instanceof HeightMovedError) || attempt >= 4) throw error;
    }
  }
}

/** Tokens and delegator shares of each validator the account delegates to, at `height`. */
async function readRates(client: CosmosClient, address: string, height: bigint): Promise<Map<string, Rate>> {
  const rates = new Map<string, Rate>();
  await pages(
    client,
    'staking delegator validators',
    '/cosmos.staking.v1beta1.Query/DelegatorValidators',
    (key) => QueryDelegatorValidatorsRequest.encode(QueryDelegatorValidatorsRequest.fromPartial({ delegatorAddr: address, pagination: key === undefined ? undefined : { key } })).finish(),
    (bytes) => QueryDelegatorValidatorsResponse.decode(bytes),
    height,
    (page) => {
      for (const v of page.validators) {
        rates.set(v.operatorAddress, client.parse(`validator ${v.operatorAddress}`, () => ({ tokens: intAmount(v.tokens), shares: decAtomics(v.delegatorShares) })));
      }
    },
  );
  return rates;
}
