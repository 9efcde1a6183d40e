/**
 * What the custody account's own transactions say about money: the rewards
 * they paid out (`withdraw_rewards` events, from a withdrawal and from every
 * delegate/undelegate/redelegate, which pays the pending rewards first) and
 * how they moved the principal (decoded from the signed messages). Pure
 * functions over a DeliverTx-like structure, so they are tested without a chain.
 */
import { MsgWithdrawDelegatorReward } from 'cosmjs-types/cosmos/distribution/v1beta1/tx';
import { MsgBeginRedelegate, MsgCancelUnbondingDelegation, MsgDelegate, MsgUndelegate } from 'cosmjs-types/cosmos/staking/v1beta1/tx';
import { AuthInfo, TxBody, TxRaw } from 'cosmjs-types/cosmos/tx/v1beta1/tx';
import { coinAmount, sumCoins } from './amounts.js';

/** A transaction as `tx_search` returns it, reduced to what the adapter reads. */
export interface IndexedTxLike {
  /** Upper-case hex sha256 of the bytes. */
  hash: string;
  height: bigint;
  /** Position in its block; orders transactions of one height. */
  index: number;
  /** The DeliverTx result code: 0 succeeded, anything else failed (fee charged, nothing else happened). */
  code: number;
  /** The module that set a non-zero `code` (`sdk` for the SDK's own). */
  codespace?: string;
  /** The DeliverTx log (the failure reason where `code` ≠ 0). */
  log?: string;
  events: readonly { type: string; attributes: readonly { key: string; value: string }[] }[];
  /** The TxRaw bytes. */
  tx: Uint8Array;
}

/** A reward payout found in a transaction's events; the caller adds the block time. */
export interface PayoutEvent {
  /** `${txHash}:${msgIndex}:${n}`: n counts the `withdraw_rewards` events of that message. */
  id: string;
  amount: bigint;
  validator: string;
  height: bigint;
}

function attributesOf(event: IndexedTxLike['events'][number]): Map<string, string> {
  const map = new Map<string, string>();
  // A key given twice keeps its first value: the SDK emits each once.
  for (const { key, value } of event.attributes) if (!map.has(key)) map.set(key, value);
  return map;
}

/**
 * The rewards `tx` paid to `delegator`, in `denom`, in event order.
 *
 * Only a successful transaction (code 0) pays anything. Each
 * `withdraw_rewards` event names its message (`msg_index`, SDK ≥ 0.47; 0
 * where absent), and n is its ordinal among that message's
 * `withdraw_rewards` events, counted over all of them (other delegators',
 * empty ones), so an id never depends on what this adapter filters out.
 * An event naming another delegator is not ours; one without a delegator
 * (older SDKs) is, since the custody account sent the transaction.
 */
export function payoutEvents(tx: IndexedTxLike, delegator: string, denom: string): PayoutEvent[] {
  if (tx.code !== 0) return [];
  const ordinals = new Map<string, number>();
  const payouts: PayoutEvent[] = [];
  for (const event of tx.events) {
    if (event.type !== 'withdraw_rewards') continue;
    const attributes = attributesOf(event);
    const msgIndex = attributes.get('msg_index') ?? '0';
    if (!/^(0|[1-9][0-9]{0,5})$/.test(msgIndex)) throw new Error(`withdraw_rewards in ${tx.hash}: bad msg_index ${JSON.stringify(msgIndex)}`);
    const n = ordinals.get(msgIndex) ?? 0;
    ordinals.set(msgIndex, n + 1);
    const owner = attributes.get('delegator');
    if (owner !== undefined && owner !== delegator) continue;
    const amount = coinAmount(attributes.get('amount') ?? '', denom);
    if (amount === 0n) continue;
    const validator = attributes.get('validator');
    if (validator === undefined || validator === '') throw new Error(`withdraw_rewards in ${tx.hash} names no validator`);
    payouts.push({ id: `${tx.hash}:${msgIndex}:${n}`, amount, validator, height: tx.height });
  }
  return payouts;
}

/**
 * How a successful transaction moved `delegator`'s bonded principal per
 * validator (base units of `denom`; negative: stake left the validator).
 * Read from the signed messages, which a code-0 transaction executed in full.
 */
export function principalChanges(tx: IndexedTxLike, delegator: string, denom: string): Map<string, bigint> {
  const changes = new Map<string, bigint>();
  if (tx.code !== 0) return changes;
  const add = (validator: string, amount: bigint): void => {
    changes.set(validator, (changes.get(validator) ?? 0n) + amount);
  };
  const body = TxBody.decode(TxRaw.decode(tx.tx).bodyBytes);
  for (const message of body.messages) {
    switch (message.typeUrl) {
      case MsgDelegate.typeUrl: {
        const msg = MsgDelegate.decode(message.value);
        if (msg.delegatorAddress === delegator && msg.amount !== undefined) add(msg.validatorAddress, sumCoins([msg.amount], denom));
        break;
      }
      case MsgUndelegate.typeUrl: {
        const msg = MsgUndelegate.decode(message.value);
        if (msg.delegatorAddress === delegator && msg.amount !== undefined) add(msg.validatorAddress, -sumCoins([msg.amount], denom));
        break;
      }
      case MsgBeginRedelegate.typeUrl: {
        const msg = MsgBeginRedelegate.decode(message.value);
        if (msg.delegatorAddress === delegator && msg.amount !== undefined) {
          const amount = sumCoins([msg.amount], denom);
          add(msg.validatorSrcAddress, -amount);
          add(msg.validatorDstAddress, amount);
        }
        break;
      }
      case MsgCancelUnbondingDelegation.typeUrl: {
        const msg = MsgCancelUnbondingDelegation.decode(message.value);
        if (msg.delegatorAddress === delegator && msg.amount !== undefined) add(msg.validatorAddress, sumCoins([msg.amount], denom));
        break;
      }
      default:
        break;
    }
  }
  return changes;
}

/**
 * The unbonding stake a successful transaction of `delegator`'s put back
 * into delegation (MsgCancelUnbondingDelegation): per validator and entry
 * creation height, base units of `denom`. cosmos-sdk x/staking/keeper/msg_server.go
 * (CancelUnbondingDelegation) takes it from the entry of that height, its
 * balance and initial balance alike, and removes the entry when nothing is left.
 */
export function cancelledUnbondings(tx: IndexedTxLike, delegator: string, denom: string): { validator: string; creationHeight: bigint; amount: bigint }[] {
  if (tx.code !== 0) return [];
  const out: { validator: string; creationHeight: bigint; amount: bigint }[] = [];
  for (const message of TxBody.decode(TxRaw.decode(tx.tx).bodyBytes).messages) {
    if (message.typeUrl !== MsgCancelUnbondingDelegation.typeUrl) continue;
    const msg = MsgCancelUnbondingDelegation.decode(message.value);
    if (msg.delegatorAddress === delegator && msg.amount !== undefined) out.push({ validator: msg.validatorAddress, creationHeight: msg.creationHeight, amount: sumCoins([msg.amount], denom) });
  }
  return out;
}

/** The fee a signed transaction pays in `denom`: its AuthInfo fee, charged in full whether it succeeds or fails. */
export function feeOf(txBytes: Uint8Array, denom: string): bigint {
  const authInfo = AuthInfo.decode(TxRaw.decode(txBytes).authInfoBytes);
  return sumCoins(authInfo.fee?.amount ?? [], denom);
}

/**
 * Whether a successful transaction is a reward claim of `delegator`'s: only
 * MsgWithdrawDelegatorReward messages for it. Its fee is a harvest cost,
 * whoever sent it (an earlier harvest whose wait timed out, an operator).
 */
export function isClaim(tx: IndexedTxLike, delegator: string): boolean {
  if (tx.code !== 0) return false;
  const { messages } = TxBody.decode(TxRaw.decode(tx.tx).bodyBytes);
  return (
    messages.length > 0 &&
    messages.every((m) => m.typeUrl === MsgWithdrawDelegatorReward.typeUrl && MsgWithdrawDelegatorReward.decode(m.value).delegatorAddress === delegator)
  );
}
