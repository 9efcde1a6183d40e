/**
 * Cosmos broadcasting: sends signed bytes (`broadcast_tx_sync`), waits for
 * their block through `tx_search`, and turns the indexed result into a
 * receipt (fee and what else moved: rewards a delegation change paid out)
 * or a TxRejectedError. Idempotent: bytes already included return that
 * inclusion's receipt. Cosmos bytes carry no expiry, but a sequence is
 * used once: `status` says `expired` for bytes not in a block whose
 * sequence the account has already used (another transaction took it), and
 * `pending` while their sequence is still free.
 */
import { AuthInfo, TxRaw } from 'cosmjs-types/cosmos/tx/v1beta1/tx';

import { MsgUndelegate } from 'cosmjs-types/cosmos/staking/v1beta1/tx';
import { TxBody } from 'cosmjs-types/cosmos/tx/v1beta1/tx';
import { RetryableError } from '../../src/errors.js';
import { ChainProtocolError, TxExpiredError, TxNotIncludedError, TxRejectedError } from '../errors.js';
import type { SignedTx, TxReceipt, TxStatus } from '../types.js';
import { codeOf, hashOf, readAccount, SDK_CODE, sleep, type CosmosClient } from './client.js';
import { feeOf, payoutEvents, type IndexedTxLike } from './events.js';
import { formatPrice, offeredPrice, requiredGasPrice } from './fees.js';
import { MAX_ENTRIES_LOG, maxEntriesMessage } from './position.js';
import { CometRpcError } from './rpc.js';

/** What CheckTx said about a broadcast. */
interface CheckResult {
  code: number;
  codespace: string;
  log: string;
}

/** A `tx_search` hit, as the adapter reads it. */
export function indexed(t: {
  hash: Uint8Array;
  height: number;
  index: number;
  tx: Uint8Array;
  result: { code: number; codespace?: string; log?: string; events: IndexedTxLike['events'] };
}): IndexedTxLike {
  const tx: IndexedTxLike = {
    hash: Buffer.from(t.hash).toString('hex').toUpperCase(),
    height: BigInt(t.height),
    index: t.index,
    code: t.result.code,
    events: t.result.events,
    tx: t.tx,
  };
  if (t.result.codespace !== undefined) tx.codespace = t.result.codespace;
  if (t.result.log !== undefined) tx.log = t.result.log;
  return tx;
}

/** The indexed transaction with `hash`, or `undefined` while no block has it. */
export async function findTx(client: CosmosClient, hash: string): Promise<IndexedTxLike | undefined> {
  const answer = await client.rpc(`tx_search ${hash}`, (c) => c.comet.txSearch({ query: `tx.hash='${hash}'` }));
  return answer.txs.map((t) => indexed(t)).find((t) => t.hash === hash);
}

/** An included transaction's outcome: its receipt, or a TxRejectedError (included, fee paid) when it failed. */
export async function settle(client: CosmosClient, tx: IndexedTxLike, times: Map<bigint, number>): Promise<TxReceipt> {
  const fee = client.parse(`transaction ${tx.hash}`, () => feeOf(tx.tx, client.options.denom));
  if (isUnderpriced(tx.code, tx.codespace)) {
    // skip-mev/feemarket x/feemarket/ante/fee.go: the fee check runs again in the block; a price
    // that rose since CheckTx fails it there, before the fee is taken or the sequence used.
    throw underpriced(client, tx.hash, tx.tx, tx.log ?? '');
  }
  if (tx.code !== 0) {
    let log = (tx.log ?? '').slice(0, 1000);
    if (tx.codespace === 'staking' && MAX_ENTRIES_LOG.test(log)) {
      const body = client.parse(`transaction ${tx.hash}`, () => TxBody.decode(TxRaw.decode(tx.tx).bodyBytes));
      log = await maxEntriesMessage(client, body.messages.map((m) => ({ value: m.typeUrl === MsgUndelegate.typeUrl ? MsgUndelegate.decode(m.value) : {} })), log);
    }
    throw new TxRejectedError(client.name, tx.hash, codeOf(tx.codespace, tx.code), log, true, fee);
  }
  const address = await client.address();
  const paid = client.parse(`events of ${tx.hash}`, () => payoutEvents(tx, address, client.options.denom));
  return {
    hash: tx.hash,
    fee,
    height: tx.height,
    at: await client.blockTime(tx.height, times),
    moved: paid.map((p) => ({ kind: 'reward' as const, amount: p.amount, validator: p.validator })),
  };
}

/** An `insufficient fee` answer (the SDK's code 13): the price is below what the chain asks now. */
function isUnderpriced(code: number, codespace: string | undefined): boolean {
  return code === SDK_CODE.INSUFFICIENT_FEE && (codespace === undefined || codespace === '' || codespace === 'sdk');
}

/**
 * The error for bytes the chain refused for their price: it learns the
 * price the chain asked for, then, within `maxGasPrice`, says `expired`
 * (these bytes never take effect: the pipeline asks `status`, which says so,
 * and signs the intent again at the new price); above it, a retryable
 * error (the same bytes are sent again later, when the price may be back down).
 */
function underpriced(client: CosmosClient, hash: string, bytes: Uint8Array, log: string): Error {
  const { gasLimit } = offeredPrice(bytes, client.options.denom);
  const asked = requiredGasPrice(log, gasLimit, client.options.denom);
  if (asked !== undefined) client.learnGasPrice(asked);
  if (asked !== undefined && asked > client.options.maxGasPrice) {
    return new RetryableError(
      `${client.name}: transaction ${hash} offers less than the chain's gas price ${formatPrice(asked)}${client.options.denom}, which is above maxGasPrice ${formatPrice(client.options.maxGasPrice)}${client.options.denom}; sending again later (chain: ${log.slice(0, 300)})`,
    );
  }
  return new TxExpiredError(client.name, hash, `insufficient fee (code 13): the chain's gas price rose above the one signed; signing again at the chain's price (chain: ${log.slice(0, 500)})`);
}

/** Polls `tx_search` until the transaction is in a block, or the wait is over (retryable). */
async function awaitInclusion(client: CosmosClient, hash: string, started: number): Promise<IndexedTxLike> {
  const { inclusionTimeoutMs, pollIntervalMs } = client.options;
  for (;;) {
    const waited = Date.now() - started;
    if (waited >= inclusionTimeoutMs) throw new TxNotIncludedError(client.name, hash, waited);
    await sleep(Math.min(pollIntervalMs, inclusionTimeoutMs - waited));
    const found = await findTx(client, hash);
    if (found !== undefined) return found;
  }
}

/**
 * Sends signed bytes and waits for their block. `lookFirst`: ask whether
 * they are already included before sending (bytes stored by the pipeline
 * may have landed before a crash); freshly signed bytes skip that.
 */
export async function send(client: CosmosClient, tx: SignedTx, lookFirst: boolean, times: Map<bigint, number> = new Map()): Promise<TxReceipt> {
  const hash = hashOf(tx.bytes);
  if (hash !== tx.hash.toUpperCase()) throw new ChainProtocolError(client.name, `signed transaction ${tx.hash}: its bytes hash to ${hash}`);
  if (lookFirst) {
    const found = await findTx(client, hash);
    if (found !== undefined) return settle(client, found, times);
  }
  const started = Date.now();
  const check = await client.rpc(`broadcast ${hash}`, async (c): Promise<CheckResult> => {
    try {
      const answer = await c.comet.broadcastTxSync({ tx: tx.bytes });
      return { code: answer.code, codespace: answer.codespace ?? '', log: answer.log ?? '' };
    } catch (error) {
      // CometBFT's mempool answers a duplicate with an RPC error: the bytes are on their way.
      if (error instanceof CometRpcError && /already exists in cache|already in mempool/i.test(error.message)) return { code: 0, codespace: '', log: '' };
      throw error;
    }
  });
  const inMempool = check.code === SDK_CODE.TX_IN_MEMPOOL_CACHE && (check.codespace === 'sdk' || check.codespace === '');
  if (isUnderpriced(check.code, check.codespace)) throw underpriced(client, hash, tx.bytes, check.log);
  if (check.code !== 0 && !inMempool) {
    if (check.code === SDK_CODE.WRONG_SEQUENCE) {
      // The sequence is used: by these very bytes (an earlier attempt landed), or by another transaction.
      const found = await findTx(client, hash);
      if (found !== undefined) return settle(client, found, times);
    }
    throw new TxRejectedError(client.name, hash, codeOf(check.codespace, check.code), check.log.slice(0, 1000), false);
  }
  return settle(client, await awaitInclusion(client, hash, started), times);
}

/** The sequence the bytes were signed with (their first signer's: the custody account). */
function sequenceOf(client: CosmosClient, tx: SignedTx): bigint {
  const info = client.parse(`transaction ${tx.hash}`, () => AuthInfo.decode(TxRaw.decode(tx.bytes).authInfoBytes));
  const sequence = info.signerInfos[0]?.sequence;
  if (sequence === undefined) throw new ChainProtocolError(client.name, `stored transaction ${tx.hash} has no signer`);
  return sequence;
}

/** The sequence the custody account's next transaction must carry (0 for an account the chain has not seen). */
async function nextSequence(client: CosmosClient): Promise<bigint> {
  const address = await client.address();
  const found = await readAccount(client, address);
  return BigInt(found?.sequence ?? 0);
}

/**
 * Whether the bytes are in a block. Not in one: `expired` when the
 * account's sequence has passed theirs (x/auth's ante handler accepts only
 * the account's current sequence, and CometBFT blocks are final, so another
 * transaction took it for good), else `pending`. The sequence is read
 * before the bytes are looked up, and the lookup repeated before saying
 * `expired`, so bytes that used the sequence themselves are found as
 * their inclusion (the indexer runs just behind the block).
 */
export async function txStatus(client: CosmosClient, tx: SignedTx): Promise<TxStatus> {
  const hash = tx.hash.toUpperCase();
  const next = await nextSequence(client);
  let found = await findTx(client, hash);
  if (found === undefined && sequenceOf(client, tx) < next) {
    await sleep(client.options.pollIntervalMs);
    found = await findTx(client, hash);
    if (found === undefined) return { state: 'expired' };
  }
  if (found === undefined) {
    // Refused in CheckTx for their price, the bytes are in no mempool (CometBFT keeps no
    // transaction that failed CheckTx) and are never sent again: they can never take effect.
    const asked = client.chainGasPrice();
    if (asked !== undefined && offeredPrice(tx.bytes, client.options.denom).price < asked) return { state: 'expired' };
    return { state: 'pending' };
  }
  // Failed in its block for its price: no fee taken, no sequence used, nothing happened.
  if (isUnderpriced(found.code, found.codespace)) return { state: 'expired' };
  try {
    return { state: 'included', receipt: await settle(client, found, new Map()) };
  } catch (error) {
    if (error instanceof TxRejectedError && error.included) return { state: 'failed', hash: found.hash, fee: error.fee, log: error.log };
    throw error;
  }
}
