/**
 * Aptos broadcasting: `POST /v1/transactions` with the signed BCS bytes,
 * the `by_hash` lookup that makes a repeated send idempotent, the wait for
 * inclusion, receipts (the gas paid, the add-stake fee that comes back, the
 * inactive stake a transaction withdrew) and `status` with expiry by chain
 * time and by sequence number.
 *
 * Aptos commits a transaction whether its body succeeds or aborts: a
 * failed one (`success: false`, its `vm_status` a Move abort) paid gas and
 * used its sequence number; nothing else happened. A transaction refused
 * before execution (expired, stale sequence number) was never committed and
 * paid nothing.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import { AptosApiError, Deserializer, MimeType, postAptosFullNode, SignedTransaction } from '@aptos-labs/ts-sdk';
import { TxExpiredError, TxNotIncludedError, TxRejectedError } from '../errors.js';
import type { SignedTx, TxReceipt, TxStatus } from '../types.js';
import { type AptosClient, type UserTransaction, userTransactionSchema } from './client.js';
import { feeOf, flowsOf } from './flows.js';
import { longAddress } from './options.js';
import { statusCode } from './sign.js';

/** What the node knows of a hash: committed, or still in its mempool. */
type Found = { committed: UserTransaction } | { pending: true };

interface Decoded {
  sender: string;
  sequenceNumber: bigint;
  expirationSecs: bigint;
}

function decode(client: AptosClient, tx: SignedTx): Decoded {
  try {
    const signed = SignedTransaction.deserialize(new Deserializer(tx.bytes));
    const raw = signed.raw_txn;
    return { sender: raw.sender.toStringLong(), sequenceNumber: raw.sequence_number, expirationSecs: raw.expiration_timestamp_secs };
  } catch {
    throw new TxRejectedError(client.name, tx.hash, 'decode', 'the signed bytes are not an Aptos SignedTransaction', false);
  }
}

/** `GET /v1/transactions/by_hash/{hash}`; `undefined` when the node knows neither a committed nor a pending one (404). */
export async function lookup(client: AptosClient, hash: string): Promise<Found | undefined> {
  let json: unknown;
  try {
    json = await client.call((aptos) => aptos.getTransactionByHash({ transactionHash: hash }));
  } catch (error) {
    if (error instanceof AptosApiError && error.status === 404) return undefined;
    throw error;
  }
  if ((json as { type?: unknown }).type === 'pending_transaction') return { pending: true };
  return { committed: client.parse(userTransactionSchema, json, 'GET transactions/by_hash') };
}

/** A committed transaction as a receipt, or the typed error for a failed one. */
function settle(client: AptosClient, committed: UserTransaction): TxReceipt {
  const fee = feeOf(committed);
  if (!committed.success) throw new TxRejectedError(client.name, committed.hash, statusCode(committed.vm_status), committed.vm_status.slice(0, 500), true, fee);
  const moved: TxReceipt['moved'] = [];
  for (const [pool, flow] of flowsOf(committed, longAddress(committed.sender), client.poolSet)) {
    // delegation_pool.move: the add-stake fee buys shares for the NULL shareholder and returns to the pool's active shares when the epoch ends.
    if (flow.fee > 0n) moved.push({ kind: 'refundable-fee', amount: flow.fee, validator: client.label(pool) });
    if (flow.withdrawn > 0n) moved.push({ kind: 'unlocked', amount: flow.withdrawn, validator: client.label(pool) });
  }
  return { hash: committed.hash, fee, height: committed.version, at: Number(committed.timestamp / 1000n), moved };
}

/**
 * Waits for the node to commit `hash`, polling `by_hash` (not `wait_by_hash`,
 * whose long poll of up to a second, config/src/config/api_config.rs, would
 * outlast a short per-request timeout and fail over for nothing).
 * @throws TxNotIncludedError when the wait ends first (send the same bytes again later).
 */
async function waitFor(client: AptosClient, hash: string): Promise<TxReceipt> {
  const deadline = Date.now() + client.options.inclusionWaitMs;
  let pause = 50;
  for (;;) {
    const found = await lookup(client, hash);
    if (found !== undefined && 'committed' in found) return settle(client, found.committed);
    const left = deadline - Date.now();
    if (left <= 0) throw new TxNotIncludedError(client.name, hash, client.options.inclusionWaitMs);
    await sleep(Math.min(pause, left));
    pause = Math.min(Math.ceil(pause * 1.5), 500);
  }
}

/**
 * Sends (or finds) a transaction and waits for it.
 * @param lookFirst - ask the node for the hash before sending: bytes stored
 *   by the pipeline may have landed already. Bytes signed a moment ago
 *   cannot have, so `delegate` skips the lookup.
 */
export async function send(client: AptosClient, tx: SignedTx, lookFirst = true): Promise<TxReceipt> {
  const decoded = decode(client, tx);
  const known = lookFirst ? await lookup(client, tx.hash) : undefined;
  if (known !== undefined) return 'committed' in known ? settle(client, known.committed) : waitFor(client, tx.hash);
  try {
    await client.call((aptos) => postAptosFullNode<Uint8Array, object>({ aptosConfig: aptos.config, originMethod: 'submitTransaction', path: 'transactions', body: tx.bytes, contentType: MimeType.BCS_SIGNED_TRANSACTION }));
  } catch (error) {
    if (!(error instanceof AptosApiError) || error.status >= 500) throw error;
    // A stale sequence number may be these very bytes, committed since (a lost response, a second endpoint).
    const again = await lookup(client, tx.hash);
    if (again !== undefined) return 'committed' in again ? settle(client, again.committed) : waitFor(client, tx.hash);
    const body = (error.data ?? {}) as { message?: unknown; error_code?: unknown };
    const message = typeof body.message === 'string' ? body.message : error.message;
    // api/src/transactions.rs: VM validation refusals are `Invalid transaction: Type: Validation Code: <STATUS>`.
    if (/TRANSACTION_EXPIRED/.test(message)) throw new TxExpiredError(client.name, tx.hash, message);
    const code = /Code: ([A-Z_]+)/.exec(message)?.[1] ?? (typeof body.error_code === 'string' ? body.error_code : String(error.status));
    throw new TxRejectedError(client.name, tx.hash, code, `${message} (sequence number ${decoded.sequenceNumber})`, false);
  }
  return waitFor(client, tx.hash);
}

/**
 * Whether the bytes were committed; `expired` once the node's ledger time is
 * past `expires` (transaction_validation.move: valid only while the block
 * time is before `expiration_timestamp_secs`) or the sender's sequence
 * number has moved past theirs, and the node does not have them.
 */
export async function txStatus(client: AptosClient, tx: SignedTx): Promise<TxStatus> {
  const decoded = decode(client, tx);
  // The ledger and the sequence number first: bytes not found after them were not committed by then.
  const ledger = await client.ledger();
  const sequence = await client.sequenceNumber(decoded.sender, ledger.version);
  const found = await lookup(client, tx.hash);
  if (found !== undefined && 'committed' in found) {
    try {
      return { state: 'included', receipt: settle(client, found.committed) };
    } catch (error) {
      if (error instanceof TxRejectedError && error.included) return { state: 'failed', hash: tx.hash, fee: error.fee, log: error.log };
      throw error;
    }
  }
  const headMs = Number(ledger.timestampUs / 1000n);
  const expiresAt = tx.expires?.at ?? Number(decoded.expirationSecs) * 1000 - 1;
  if (headMs > expiresAt) return { state: 'expired' };
  if (sequence > decoded.sequenceNumber) return { state: 'expired' };
  return { state: 'pending' };
}
