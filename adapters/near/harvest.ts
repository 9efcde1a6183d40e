/**
 * NEAR harvest, read-only. Rewards auto-compound (a rising share price), so
 * a harvest measures each pool's balance per epoch and reports the growth
 * the custody's own flows do not explain; the flows are read from the chain
 * itself (the access keys' nonce history, then the transactions' outcomes;
 * see checkpoint.ts). Needs no key.
 */
import { AccountDoesNotExistError, ContractCodeDoesNotExistError, GarbageCollectedBlockError, UnknownBlockError } from 'near-api-js/rpc-errors';
import { ChainProtocolError } from '../errors.js';
import type { HarvestResult, RewardEvent } from '../types.js';
import { flowsOf, parseCheckpoint, serializeCheckpoint, type NearCheckpoint, type Outcome } from './checkpoint.js';
import { accessKeyListSchema, changesSchema, statusSchema, validatorsSchema, type NearClient } from './client.js';
import { lookup } from './broadcast.js';

/**
 * Σ nonces of the custody account's access keys at a height (every
 * transaction it signs raises one); -1 where the account did not exist.
 * Skipped heights look at the next block. Needs no key: any key of the
 * account counts.
 */
async function nonceAt(client: NearClient, accountId: string, height: number, limit: number): Promise<bigint> {
  let checkedHistory = false;
  for (let h = height; h <= limit; h += 1) {
    try {
      const json = await client.rpc.raw('query', { request_type: 'view_access_key_list', account_id: accountId, block_id: h });
      return client.parse(accessKeyListSchema, json, 'view_access_key_list').keys.reduce((sum, k) => sum + BigInt(k.access_key.nonce), 0n);
    } catch (error) {
      if (error instanceof AccountDoesNotExistError) return -1n;
      if (error instanceof GarbageCollectedBlockError) throw await collectedError(client, height);
      if (error instanceof UnknownBlockError && h < limit) {
        // A skipped height (no block was made there) is stepped over; a range the node no longer has is not.
        if (!checkedHistory) {
          checkedHistory = true;
          if (h < (await earliestHeight(client))) throw await collectedError(client, height);
        }
        continue;
      }
      throw error;
    }
  }
  return -1n;
}

/** The lowest height whose block the node still has (`status` `earliest_block_height`; genesis on an archival node). */
async function earliestHeight(client: NearClient): Promise<number> {
  return client.parse(statusSchema, await client.rpc.raw('status', []), 'status').sync_info.earliest_block_height ?? 0;
}

/**
 * The harvest needs blocks the endpoints have garbage collected: a node
 * that is not archival keeps about 5 epochs (nearcore
 * `gc_num_epochs_to_keep`). Retrying cannot help; an archival endpoint can.
 */
async function collectedError(client: NearClient, height: number): Promise<ChainProtocolError> {
  const earliest = await earliestHeight(client).catch(() => undefined);
  return new ChainProtocolError(
    client.name,
    `harvest needs the custody's transactions from height ${height}, but the endpoints have garbage collected blocks below ${earliest ?? 'that'} ` +
      '(a non-archival NEAR node keeps about 5 epochs). Add an archival RPC endpoint to the chain\'s endpoints (any position: a block one ' +
      'node has collected is asked of the others) and the next harvest resumes from its checkpoint; nothing is lost meanwhile.',
  );
}

/**
 * Heights in (lo, hi] whose block changed the custody's nonces, i.e.
 * included one of its transactions: a bisection over archival
 * `view_access_key_list` queries, about log2(hi − lo) calls per transaction.
 */
async function txHeights(client: NearClient, accountId: string, lo: number, hi: number, nonceLo: bigint, nonceHi: bigint): Promise<number[]> {
  if (nonceLo === nonceHi || hi <= lo) return [];
  if (hi === lo + 1) return [hi];
  const mid = Math.floor((lo + hi) / 2);
  const nonceMid = await nonceAt(client, accountId, mid, hi);
  return [...(await txHeights(client, accountId, lo, mid, nonceLo, nonceMid)), ...(await txHeights(client, accountId, mid, hi, nonceMid, nonceHi))];
}

/** The custody account's transactions included in (from, to], as outcomes, oldest first. */
async function ownTransactions(client: NearClient, accountId: string, from: number, to: number): Promise<Outcome[]> {
  const heights = await txHeights(client, accountId, from, to, await nonceAt(client, accountId, from, to), await nonceAt(client, accountId, to, to));
  const outcomes: Outcome[] = [];
  for (const height of heights) {
    // A block the first endpoint has collected is UNKNOWN_BLOCK there, its transactions UNKNOWN_TRANSACTION: asked on (history).
    const json = await client.rpc.raw('EXPERIMENTAL_changes', { changes_type: 'all_access_key_changes', account_ids: [accountId], block_id: height }, true);
    const changes = client.parse(changesSchema, json, 'EXPERIMENTAL_changes').changes;
    const hashes = new Set(changes.filter((c) => c.cause.type === 'transaction_processing' && c.cause.tx_hash !== undefined).map((c) => c.cause.tx_hash!));
    for (const hash of hashes) {
      const outcome = await lookup(client, hash, accountId, true);
      if (outcome === undefined) throw new ChainProtocolError(client.name, `transaction ${hash} changed the custody's keys at ${height} but the node does not know it`);
      outcomes.push(outcome);
    }
  }
  return outcomes;
}

/**
 * Read-only: per pool not yet measured in this epoch, the custody's total
 * there (staked + unstaked) less the last measurement and less its own
 * flows in between (read from its transactions on chain) is the epoch's
 * reward. The pipeline pings (a claim intent) before, so the pool's
 * accounting includes the epoch; a pool nobody pinged shows its reward
 * in a later epoch's event instead, never twice.
 */
export async function harvest(client: NearClient, checkpoint: string | null): Promise<HarvestResult> {
  const accountId = await client.address();
  let previous: NearCheckpoint;
  const head = await client.head();
  if (checkpoint === null) {
    let from = client.options.historyFromHeight;
    if (from === undefined) from = await earliestHeight(client);
    previous = await baseline(client, accountId, Math.min(from, head.height));
  } else {
    const parsed = parseCheckpoint(checkpoint);
    if (parsed === undefined) throw new ChainProtocolError(client.name, 'harvest checkpoint is not a NEAR checkpoint');
    previous = parsed;
  }
  if (previous.height > head.height) {
    throw new ChainProtocolError(client.name, `harvest checkpoint height ${previous.height} is above the chain's ${head.height}: was the chain reset?`);
  }

  // Own flows between the checkpoint and now, read from the chain.
  const flows = new Map<string, bigint>();
  for (const outcome of await ownTransactions(client, accountId, previous.height, head.height)) {
    for (const [p, flow] of flowsOf(outcome, accountId, client.poolSet)) flows.set(p, (flows.get(p) ?? 0n) + flow);
  }

  const next: NearCheckpoint = { v: 1, height: head.height, pools: {} };
  const events: RewardEvent[] = [];
  let epochStart: number | undefined;
  for (const pool of client.options.pools) {
    const mark = previous.pools[pool] ?? { epochId: '', total: 0n, flows: 0n };
    const netFlows = mark.flows + (flows.get(pool) ?? 0n);
    if (mark.epochId === head.epochId) {
      next.pools[pool] = { ...mark, flows: netFlows };
      continue;
    }
    const entry = await client.poolAccount(pool, accountId, head.height);
    const total = entry.staked_balance + entry.unstaked_balance;
    if (total === 0n && mark.total === 0n && netFlows === 0n) continue;
    const reward = total - mark.total - netFlows;
    if (reward !== 0n) {
      epochStart ??= await epochStartTime(client, head.epochId);
      events.push({ id: `${pool}:${head.epochId}`, amount: reward, at: epochStart, validator: pool });
    }
    next.pools[pool] = { epochId: head.epochId, total, flows: 0n };
  }
  return { events, checkpoint: serializeCheckpoint(next) };
}

/**
 * The starting point without a checkpoint: the custody's balance in each
 * pool at `height`, the oldest block read. On an archival node that is
 * genesis, where it is 0; on one that has garbage collected the older
 * blocks (or from `historyFromHeight`), what the custody held there is not
 * reported as a reward: its history is not there to tell rewards from
 * deposits.
 */
async function baseline(client: NearClient, accountId: string, height: number): Promise<NearCheckpoint> {
  const pools: NearCheckpoint['pools'] = {};
  for (const pool of client.options.pools) {
    let total = 0n;
    try {
      const entry = await client.poolAccount(pool, accountId, height);
      total = entry.staked_balance + entry.unstaked_balance;
    } catch (error) {
      // The pool was not deployed yet at that height: nothing was in it.
      if (!(error instanceof AccountDoesNotExistError || error instanceof ContractCodeDoesNotExistError)) throw error;
    }
    if (total > 0n) pools[pool] = { epochId: '', total, flows: 0n };
  }
  return { v: 1, height, pools };
}

/**
 * When the epoch began, ms: the time every event of this epoch carries, so
 * a replay gives the same events. Asked by `epoch_id`: by `block_id` a node
 * answers only for an epoch's last block (nearcore
 * chain/client/src/view_client_actor.rs `GetValidatorInfo`), and `[null]`
 * would be the header head's epoch, which may already be the next one.
 */
async function epochStartTime(client: NearClient, epochId: string): Promise<number> {
  const set = client.parse(validatorsSchema, await client.rpc.raw('validators', { epoch_id: epochId }), 'validators');
  return (await client.head(set.epoch_start_height)).at;
}
