/**
 * Polkadot broadcasting: `author_submitExtrinsic`, then the finalized
 * chain is watched until the signer's nonce passes the extrinsic's; the
 * block that took the nonce is found by bisection over the signer's
 * `System.Account` (no indexer needed) and the extrinsic by its hash in
 * that block; the receipt is read from the block's events. The same search
 * answers `status`, and makes a repeated broadcast idempotent: bytes
 * already included return that inclusion's receipt.
 *
 * The node's refusals (`substrate/client/rpc-api/src/author/error.rs`,
 * `substrate/primitives/runtime/src/transaction_validity.rs`): 1010
 * "Invalid Transaction" with the reason (Stale: the nonce is used; BadProof
 * for bytes whose mortal era is over, `frame/system/src/extensions/check_mortality.rs`;
 * AncientBirthBlock), 1012 banned and 1013 already imported (these very
 * bytes: wait for them), 1014 another extrinsic with the nonce in the pool.
 */
import { u8aToHex } from '@polkadot/util';

import { TxExpiredError, TxNotIncludedError, TxRejectedError } from '../errors.js';
import type { SignedTx, TxReceipt, TxStatus } from '../types.js';
import { accountRawAt, extrinsicHashes, hashAt, nonceOf } from './blocks.js';
import { accountHex, type PolkadotClient } from './client.js';
import { eventsAt, outcomeOf } from './events.js';

/** What the adapter needs from signed bytes. */
interface Decoded {
  signer: string;
  nonce: number;
  /** The first block that may include it. */
  birth: number;
  /** The last block that may include it; `undefined`: immortal. */
  last: number | undefined;
}

async function decode(client: PolkadotClient, tx: SignedTx): Promise<Decoded> {
  return client.call(async (api) => {
    let ext;
    try {
      ext = api.createType('Extrinsic', tx.bytes);
    } catch {
      throw new TxRejectedError(client.name, tx.hash, 'decode', 'the signed bytes are not an extrinsic of this chain', false);
    }
    if (!ext.isSigned) throw new TxRejectedError(client.name, tx.hash, 'decode', 'the bytes are not signed', false);
    const last = tx.expires?.height === undefined ? undefined : Number(tx.expires.height);
    const period = ext.era.isMortalEra ? ext.era.asMortalEra.period.toNumber() : 0;
    // MultiAddress::Id(AccountId32): its string form is the account's SS58.
    return { signer: accountHex(ext.signer.toString()), nonce: ext.nonce.toNumber(), birth: last === undefined || period === 0 ? 0 : Math.max(0, last + 1 - period), last };
  });
}

/** Where the bytes stand at the finalized head; a failed inclusion as `failed`. */
export async function txStatus(client: PolkadotClient, tx: SignedTx): Promise<TxStatus> {
  return locate(client, tx, await decode(client, tx));
}

async function locate(client: PolkadotClient, tx: SignedTx, d: Decoded): Promise<TxStatus> {
  const head = await client.call((api) => client.head(api));
  const raw = await accountRawAt(client, head.hash, d.signer);
  const nonceNow = await client.call(async (api) => nonceOf(api, raw));
  if (nonceNow <= d.nonce) {
    // Not included by the finalized head; after its last valid block it never can be.
    return d.last !== undefined && head.number > d.last ? { state: 'expired' } : { state: 'pending' };
  }
  // The nonce is used: find the block that used it, between the birth (nonce not yet used) and the head.
  let lo = Math.max(0, d.birth - 1);
  let hi = head.number;
  const nonceAtBlock = async (n: number): Promise<number> => {
    const r = await accountRawAt(client, await hashAt(client, n), d.signer);
    return client.call(async (api) => nonceOf(api, r));
  };
  if ((await nonceAtBlock(lo)) > d.nonce) return { state: 'expired' };
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if ((await nonceAtBlock(mid)) > d.nonce) hi = mid;
    else lo = mid;
  }
  const blockHash = await hashAt(client, hi);
  const index = (await extrinsicHashes(client, blockHash)).indexOf(tx.hash);
  // Another extrinsic took the nonce: these bytes can never be included.
  if (index < 0) return { state: 'expired' };
  return client.call(async (api) => {
    const at = await client.atRecent(api, blockHash);
    const { records, time } = await eventsAt(at);
    const outcome = outcomeOf(api, records, index, d.signer, client.options.mode);
    if (!outcome.success) return { state: 'failed', hash: tx.hash, fee: outcome.fee, log: outcome.error ?? 'ExtrinsicFailed' };
    const receipt: TxReceipt = { hash: tx.hash, fee: outcome.fee, height: BigInt(hi), at: time, moved: outcome.moved };
    return { state: 'included', receipt };
  });
}

function settle(client: PolkadotClient, status: TxStatus, tx: SignedTx, expiredLog: string): TxReceipt {
  switch (status.state) {
    case 'included':
      return status.receipt;
    case 'failed':
      throw new TxRejectedError(client.name, tx.hash, status.log, `ExtrinsicFailed: ${status.log}`, true, status.fee);
    case 'expired':
      throw new TxExpiredError(client.name, tx.hash, expiredLog);
    case 'pending':
      throw new Error('settle: pending');
  }
}

/**
 * Sends (or finds) an extrinsic and waits for its finalized inclusion.
 * @param lookFirst - ask the chain first: stored bytes may have landed already. Bytes signed a moment ago cannot have.
 */
export async function send(client: PolkadotClient, tx: SignedTx, lookFirst = true): Promise<TxReceipt> {
  const d = await decode(client, tx);
  if (lookFirst) {
    const status = await locate(client, tx, d);
    if (status.state !== 'pending') return settle(client, status, tx, 'its mortal era is over or its nonce was used by another extrinsic');
  }
  try {
    await client.call(async (api) => api.rpc.author.submitExtrinsic(u8aToHex(tx.bytes)));
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const message = error instanceof Error ? error.message.split('\n')[0]! : String(error);
    // These very bytes are in the pool or were just included (banned): wait for them. 1010 Stale: maybe included since.
    const mayLand = code === 1012 || code === 1013 || code === 1014 || (code === 1010 && /outdated|Stale/i.test(message));
    if (!mayLand) {
      if (code === 1010 && /bad signature|BadProof|ancient birth block/i.test(message)) {
        const status = await locate(client, tx, d);
        if (status.state !== 'pending') return settle(client, status, tx, message);
        if (d.last !== undefined) {
          const head = await client.call((api) => client.head(api));
          // CheckMortality: past its era a mortal extrinsic fails the signature check.
          if (head.number + 1 > d.last) throw new TxExpiredError(client.name, tx.hash, message);
        }
      }
      if (typeof code === 'number' && code >= 1000 && code < 1100) throw new TxRejectedError(client.name, tx.hash, code, message, false);
      throw error;
    }
  }
  const deadline = Date.now() + client.options.inclusionWaitMs;
  for (;;) {
    const status = await locate(client, tx, d);
    if (status.state !== 'pending') return settle(client, status, tx, 'its nonce was used by another extrinsic');
    if (Date.now() >= deadline) throw new TxNotIncludedError(client.name, tx.hash, client.options.inclusionWaitMs);
    await new Promise((resolve) => setTimeout(resolve, client.options.pollIntervalMs));
  }
}
