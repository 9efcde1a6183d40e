/**
 * NEAR broadcasting: `send_tx` waiting for finality, the `tx` lookup that
 * makes a repeated send idempotent, receipts (the fee burnt, and the
 * unstaked funds a withdrawal brought back), and `status` with expiry by
 * height.
 */
import { decodeSignedTransaction } from 'near-api-js';
import * as z from 'zod';

import { AccessKeyDoesNotExistError, AccountDoesNotExistError, TransactionExecutionError, TransactionExpiredError, TransactionTimeoutError, UnknownTransactionError } from 'near-api-js/rpc-errors';
import { TxExpiredError, TxNotIncludedError, TxRejectedError } from '../errors.js';
import type { SignedTx, TxReceipt, TxStatus } from '../types.js';
import { failed, feeOf, flowsOf, outcomeSchema, type Outcome } from './checkpoint.js';
import { accessKeySchema, type NearClient } from './client.js';

/**
 * Sends (or finds) a transaction; returns its receipt and outcome.
 * @param lookFirst - ask the chain for the hash before sending: bytes
 *   stored by the pipeline may have landed already. Bytes signed a moment
 *   ago cannot have, so `delegate` and harvest's calls skip the lookup.
 */
export async function send(client: NearClient, tx: SignedTx, lookFirst = true): Promise<{ receipt: TxReceipt; outcome: Outcome }> {
  let sender: string;
  try {
    sender = decodeSignedTransaction(tx.bytes).transaction.signerId;
  } catch {
    throw new TxRejectedError(client.name, tx.hash, 'decode', 'the signed bytes are not a NEAR SignedTransaction', false);
  }
  const known = lookFirst ? await lookup(client, tx.hash, sender) : undefined;
  if (known !== undefined) return settle(client, tx.hash, known);
  let json: unknown;
  try {
    json = await client.rpc.raw('send_tx', { signed_tx_base64: Buffer.from(tx.bytes).toString('base64'), wait_until: 'FINAL' });
  } catch (error) {
    if (error instanceof TransactionTimeoutError) throw new TxNotIncludedError(client.name, tx.hash, client.config.requestTimeoutMs);
    if (error instanceof TransactionExpiredError) {
      // Its reference block is too old: it can never be included now, but an earlier send may have been.
      const again = await lookup(client, tx.hash, sender);
      if (again !== undefined) return settle(client, tx.hash, again);
      throw new TxExpiredError(client.name, tx.hash, error.message);
    }
    if (error instanceof TransactionExecutionError) {
      // A stale nonce may be this very transaction, included since the lookup.
      const again = await lookup(client, tx.hash, sender);
      if (again !== undefined) return settle(client, tx.hash, again);
      throw new TxRejectedError(client.name, tx.hash, error.constructor.name, error.message, false);
    }
    throw error;
  }
  return settle(client, tx.hash, client.parse(outcomeSchema, json, 'send_tx'));
}

/**
 * Whether the bytes were included; `expired` once the final head is past
 * their `expires.height` and no block has them.
 */
export async function txStatus(client: NearClient, tx: SignedTx): Promise<TxStatus> {
  let signed: ReturnType<typeof decodeSignedTransaction>['transaction'];
  try {
    signed = decodeSignedTransaction(tx.bytes).transaction;
  } catch {
    throw new TxRejectedError(client.name, tx.hash, 'decode', 'the signed bytes are not a NEAR SignedTransaction', false);
  }
  // The head and the access key's nonce first: an outcome not found after them means not included by then.
  const head = await client.head();
  const keyNonce = await accessKeyNonce(client, signed.signerId, signed.publicKey.toString());
  const found = await lookup(client, tx.hash, signed.signerId);
  if (found !== undefined) {
    try {
      return { state: 'included', receipt: (await settle(client, tx.hash, found)).receipt };
    } catch (error) {
      if (error instanceof TxRejectedError && error.included) return { state: 'failed', hash: tx.hash, fee: error.fee, log: error.log };
      throw error;
    }
  }
  // nearcore (chain/chain/src/runtime verify_and_charge_transaction): a nonce must exceed the access key's, so once
  // a final transaction took this nonce or a later one, these bytes can never be included.
  if (keyNonce !== undefined && keyNonce >= BigInt(signed.nonce)) return { state: 'expired' };
  const expiry = tx.expires?.height;
  return expiry !== undefined && BigInt(head.height) > expiry ? { state: 'expired' } : { state: 'pending' };
}

/** The access key's nonce at the final head; `undefined` when the key is gone (then only the expiry decides). */
async function accessKeyNonce(client: NearClient, accountId: string, publicKey: string): Promise<bigint | undefined> {
  try {
    const json = await client.rpc.raw('query', { request_type: 'view_access_key', account_id: accountId, public_key: publicKey, finality: 'final' });
    return BigInt(client.parse(accessKeySchema, json, 'view_access_key').nonce);
  } catch (error) {
    if (error instanceof AccessKeyDoesNotExistError || error instanceof AccountDoesNotExistError) return undefined;
    throw error;
  }
}

/**
 * The final outcome of a transaction the node has, `undefined` if it has
 * none. Asked with `wait_until: NONE`, the only level a node answers at once
 * for a transaction it has not seen (UNKNOWN_TRANSACTION); any other level
 * makes it poll until its timeout and answer TIMEOUT_ERROR (nearcore
 * chain/jsonrpc/src/lib.rs `tx_status_fetch`). A transaction it has but
 * that is not final yet is asked again waiting for FINAL: that wait ends
 * as soon as it is. `history`: the transaction is in a past block (the
 * harvest's reads), so an endpoint answering UNKNOWN_TRANSACTION may have
 * collected it and the later ones are asked too (rpc.ts).
 */
export async function lookup(client: NearClient, hash: string, sender: string, history = false): Promise<Outcome | undefined> {
  let json: unknown;
  try {
    json = await client.rpc.raw('tx', { tx_hash: hash, sender_account_id: sender, wait_until: 'NONE' }, history);
  } catch (error) {
    if (error instanceof UnknownTransactionError) return undefined;
    throw error;
  }
  if (client.parse(statusLevelSchema, json, 'tx').final_execution_status !== 'FINAL') {
    try {
      json = await client.rpc.raw('tx', { tx_hash: hash, sender_account_id: sender, wait_until: 'FINAL' });
    } catch (error) {
      if (error instanceof TransactionTimeoutError) throw new TxNotIncludedError(client.name, hash, client.config.requestTimeoutMs);
      throw error;
    }
  }
  return client.parse(outcomeSchema, json, 'tx');
}

/** How far a transaction got (nearcore `TxExecutionStatus`); absent from nodes older than 1.39, which answer only final outcomes. */
const statusLevelSchema = z.object({ final_execution_status: z.string().default('FINAL') }).loose();

/** A final outcome as a receipt, or the typed error for a failed one. */
async function settle(client: NearClient, hash: string, outcome: Outcome): Promise<{ receipt: TxReceipt; outcome: Outcome }> {
  const fee = feeOf(outcome);
  if (failed(outcome)) {
    throw new TxRejectedError(client.name, hash, 'Failure', JSON.stringify((outcome.status as { Failure: unknown }).Failure).slice(0, 500), true, fee);
  }
  const last = outcome.receipts_outcome[outcome.receipts_outcome.length - 1];
  const block = await client.head(last?.block_hash ?? outcome.transaction_outcome.block_hash);
  // Withdrawals from a pool are unlocked stake coming back: neither reward nor loss.
  const moved: TxReceipt['moved'] = [];
  for (const [pool, flow] of flowsOf(outcome, outcome.transaction.signer_id, client.poolSet)) {
    if (flow < 0n) moved.push({ kind: 'unlocked', amount: -flow, validator: pool });
  }
  return { receipt: { hash, fee, height: BigInt(block.height), at: block.at, moved }, outcome };
}
