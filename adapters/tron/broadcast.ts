/**
 * TRON broadcasting: `wallet/broadcasttransaction` with the signed JSON,
 * java-tron's answer codes mapped to the contract's errors, the wait until
 * a solidity node reports the transaction (final), its receipt from the
 * transaction info (the fee burnt; expired unfreezes it paid back, a
 * claim's payout), and `status` with expiry judged at the solidified block.
 *
 * A TRON system contract never fails in a block: what the actuator refuses
 * is refused at broadcast (Manager.pushTransaction), and what fails while a
 * block is made is left out (Manager.generateBlock) and expires. So a
 * transaction is either final and succeeded, or can never be included once
 * the solidified head is at its expiration.
 */
import * as z from 'zod';

import { ChainProtocolError, safeUrl, TxExpiredError, TxNotIncludedError, TxRejectedError } from '../errors.js';
import type { SignedTx, TxReceipt, TxStatus } from '../types.js';
import { nodeFault, type TronClient, type TronTxInfo } from './client.js';

/** The signed JSON, as far as broadcasting needs it. */
const signedSchema = z
  .object({
    txID: z.string().regex(/^[0-9a-f]{64}$/),
    raw_data: z.object({ expiration: z.number().int(), contract: z.array(z.object({ type: z.string() }).loose()).min(1) }).loose(),
    raw_data_hex: z.string(),
    signature: z.array(z.string()).min(1),
  })
  .loose();

/** `broadcasttransaction`'s answer (BroadcastServlet: `Return` with `txid`; defaults omitted). */
const answerSchema = z.object({ result: z.boolean().optional(), code: z.string().optional(), txid: z.string().optional(), message: z.string().optional() }).loose();

/** Codes that say the node, not the transaction, is at fault (Wallet.broadcastTransaction): another node may take it. */
const NODE_FAULTS = new Set(['SERVER_BUSY', 'NO_CONNECTION', 'NOT_ENOUGH_EFFECTIVE_CONNECTION', 'BLOCK_UNSOLIDIFIED']);

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

interface Decoded {
  json: string;
  txid: string;
  expiration: number;
  contract: string;
}

function decode(client: TronClient, tx: SignedTx): Decoded {
  const json = new TextDecoder().decode(tx.bytes);
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new TxRejectedError(client.name, tx.hash, 'decode', 'the signed bytes are not a TRON transaction (JSON)', false);
  }
  const signed = signedSchema.safeParse(parsed);
  if (!signed.success) throw new TxRejectedError(client.name, tx.hash, 'decode', 'the signed bytes are not a signed TRON transaction', false);
  if (signed.data.txID !== tx.hash) throw new ChainProtocolError(client.name, `signed transaction ${tx.hash}: its JSON says txID ${signed.data.txID}`);
  return { json, txid: signed.data.txID, expiration: signed.data.raw_data.expiration, contract: signed.data.raw_data.contract[0]!.type };
}

/** A final transaction's receipt (its info from the solidity node). */
export function receiptOf(client: TronClient, info: TronTxInfo): TxReceipt {
  if (info.blockNumber === undefined || info.blockTimeStamp === undefined) throw new ChainProtocolError(client.name, `transaction info ${info.id}: no block`);
  const moved: TxReceipt['moved'] = [];
  // UnfreezeBalanceV2 and WithdrawExpireUnfreeze pay expired unfreezes back: unlocked stake, not a reward.
  if ((info.withdraw_expire_amount ?? 0n) > 0n) moved.push({ kind: 'unlocked', amount: info.withdraw_expire_amount! });
  // WithdrawBalance: the reward it paid, which harvest reports as an event.
  if ((info.withdraw_amount ?? 0n) > 0n) moved.push({ kind: 'reward', amount: info.withdraw_amount! });
  return { hash: info.id!, fee: info.fee ?? 0n, height: BigInt(info.blockNumber), at: info.blockTimeStamp, moved };
}

/** The info of a final transaction as its receipt, or the typed error of one that failed (smart contracts only: a staking one never does). */
function settle(client: TronClient, info: TronTxInfo): TxReceipt {
  if (info.result === 'FAILED') {
    const log = info.resMessage === undefined ? 'FAILED' : Buffer.from(info.resMessage, 'hex').toString('utf8');
    throw new TxRejectedError(client.name, info.id, 'FAILED', log.slice(0, 1000), true, info.fee ?? 0n);
  }
  return receiptOf(client, info);
}

/** Whether a solidified head at `at` rules out any later inclusion of bytes expiring at `expiration`. */
function pastExpiry(at: number, expiration: number): boolean {
  // Manager.validateCommon: `expiration <= latestBlockHeaderTimestamp` is refused, so every block after one at or past it refuses them.
  return at >= expiration;
}

/** Polls the solidity node until the transaction is final, or expired, or the wait is over (retryable). */
async function awaitFinal(client: TronClient, d: Decoded, started: number): Promise<TxReceipt> {
  const { inclusionTimeoutMs, pollIntervalMs } = client.options;
  for (let first = true; ; first = false) {
    const waited = Date.now() - started;
    if (!first) {
      if (waited >= inclusionTimeoutMs) throw new TxNotIncludedError(client.name, d.txid, waited);
      await sleep(Math.min(pollIntervalMs, inclusionTimeoutMs - waited));
    }
    const head = await client.solidHead();
    const info = await client.info(d.txid);
    if (info !== undefined) return settle(client, info);
    if (pastExpiry(head.at, d.expiration)) throw new TxExpiredError(client.name, d.txid, `not in any block up to the solidified block ${head.number}, at or past the expiration ${d.expiration}`);
  }
}

/**
 * Sends (or finds) a transaction and waits until it is final.
 * @param lookFirst - ask the solidity node for the txid before sending:
 *   bytes stored by the pipeline may have landed already. Bytes signed a
 *   moment ago cannot have, so `delegate` skips it.
 */
export async function send(client: TronClient, tx: SignedTx, lookFirst = true): Promise<TxReceipt> {
  const d = decode(client, tx);
  if (lookFirst) {
    const known = await client.info(d.txid);
    if (known !== undefined) return settle(client, known);
  }
  const started = Date.now();
  const answer = client.parse(
    answerSchema,
    await client.broadcast(d.json, (endpoint, json) => {
      // A node that says it is busy or unconnected is at fault: the next endpoint takes the same bytes.
      const code = (json as { code?: unknown } | undefined)?.code;
      if (typeof code === 'string' && NODE_FAULTS.has(code)) throw nodeFault(safeUrl(endpoint), code);
    }),
    'broadcasttransaction',
  );
  if (answer.result !== true) {
    const code = answer.code ?? 'OTHER_ERROR';
    // Return.message is hex of the text (JsonFormat, visible=false).
    const message = answer.message === undefined ? '' : /^([0-9a-f]{2})*$/i.test(answer.message) ? Buffer.from(answer.message, 'hex').toString('utf8') : answer.message;
    switch (code) {
      case 'DUP_TRANSACTION_ERROR':
        // In a block or in the node's pending pool already (an earlier send, or a lost answer): wait for it.
        break;
      case 'TRANSACTION_EXPIRATION_ERROR': {
        // Too late to send; an earlier send may have landed.
        const head = await client.solidHead();
        const info = await client.info(d.txid);
        if (info !== undefined) return settle(client, info);
        if (pastExpiry(head.at, d.expiration)) throw new TxExpiredError(client.name, d.txid, message);
        // Expired at the head but not yet at the solidified block: an earlier send may still show up.
        return awaitFinal(client, d, started);
      }
      default:
        // SIGERROR, TAPOS_ERROR, CONTRACT_VALIDATE_ERROR, CONTRACT_EXE_ERROR, BANDWITH_ERROR, TOO_BIG_TRANSACTION_ERROR,
        // OTHER_ERROR: every node would say the same; the transaction was not accepted, so it cost nothing.
        throw new TxRejectedError(client.name, d.txid, code, message.slice(0, 1000), false);
    }
  }
  return awaitFinal(client, d, started);
}

/**
 * Whether the bytes are final. Not in a solidified block: `expired` once
 * the solidified head is at their expiration (no later block may include
 * them), else `pending`. The head is read before the lookup, so bytes
 * solidified in between are found.
 */
export async function txStatus(client: TronClient, tx: SignedTx): Promise<TxStatus> {
  const d = decode(client, tx);
  const head = await client.solidHead();
  const info = await client.info(d.txid);
  if (info !== undefined) {
    try {
      return { state: 'included', receipt: settle(client, info) };
    } catch (error) {
      if (error instanceof TxRejectedError && error.included) return { state: 'failed', hash: d.txid, fee: error.fee, log: error.log };
      throw error;
    }
  }
  return pastExpiry(head.at, d.expiration) ? { state: 'expired' } : { state: 'pending' };
}
