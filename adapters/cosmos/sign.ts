/**
 * Cosmos signing: MsgDelegate / MsgUndelegate / MsgWithdrawDelegatorReward
 * (one per validator of a claim, in one transaction), gas simulated (×
 * gasAdjustment) unless fixed, signed SIGN_MODE_DIRECT with the chain's
 * account number and sequence, as TxRaw bytes whose sha256 is the hash the
 * chain knows them by. The only place the key is used. Cosmos transactions
 * carry no expiry here (no timeout height): a sequence is used once, never
 * ages, so `expires` stays unset.
 */
import { encodeSecp256k1Pubkey } from '@cosmjs/amino';
import { fromBech32 } from '@cosmjs/encoding';
import type { EncodeObject } from '@cosmjs/proto-signing';
import type { Account } from '@cosmjs/stargate';
import { MsgWithdrawDelegatorReward } from 'cosmjs-types/cosmos/distribution/v1beta1/tx';
import { MsgDelegate, MsgUndelegate } from 'cosmjs-types/cosmos/staking/v1beta1/tx';
import { TxRaw } from 'cosmjs-types/cosmos/tx/v1beta1/tx';
import { ChainProtocolError, TxRejectedError } from '../errors.js';
import type { SignedTx, StakeAction } from '../types.js';
import { abciFailure, hashOf, readAccount, type CosmosClient, type SignerState } from './client.js';
import { feeFor, signingPrice } from './fees.js';
import { MAX_ENTRIES_LOG, maxEntriesMessage, readValidator } from './position.js';

/** What a chain does with a message kind; selects the fixed gas limit. */
export type MessageKind = 'delegate' | 'undelegate' | 'withdraw';

function checkValidatorAddress(client: CosmosClient, validator: string): void {
  let prefix: string;
  try {
    // An explicit length limit: cosmjs 0.39's default (Infinity) is refused by the @scure/base it installs.
    prefix = fromBech32(validator, 128).prefix;
  } catch {
    throw new TxRejectedError(client.name, undefined, 'invalid-validator', `${JSON.stringify(validator.slice(0, 100))} is not a bech32 validator address`, false);
  }
  if (prefix !== `${client.options.prefix}valoper`) {
    throw new TxRejectedError(client.name, undefined, 'invalid-validator', `${validator} is not a ${client.options.prefix}valoper address`, false);
  }
}

async function account(client: CosmosClient, address: string): Promise<Account> {
  const found = await readAccount(client, address);
  if (found === null) {
    throw new TxRejectedError(client.name, undefined, 'account-not-found', `account ${address} does not exist on ${client.options.chainId}: fund it first`, false);
  }
  return found;
}

/** The gas limit: fixed per message where configured, else simulated × gasAdjustment. */
async function gasLimit(client: CosmosClient, kind: MessageKind, messages: readonly EncodeObject[], signer: SignerState, sequence: number): Promise<number> {
  const fixed = client.options.gasLimits[kind];
  if (fixed !== undefined) return fixed * messages.length;
  const anys = messages.map((m) => client.registry.encodeAsAny(m));
  const simulated = await client.rpc('simulate', async (c) => {
    try {
      return await c.query.tx.simulate(anys, client.options.memo, encodeSecp256k1Pubkey(signer.pubkey), sequence);
    } catch (error) {
      // The chain would refuse this transaction as it stands: no point in paying a fee to hear it again.
      const failure = abciFailure(error);
      if (failure === undefined) throw error;
      if (MAX_ENTRIES_LOG.test(failure.log)) throw new TxRejectedError(client.name, undefined, 'max-entries', await maxEntriesMessage(client, messages, failure.log), false);
      throw new TxRejectedError(client.name, undefined, failure.code, `simulation failed: ${failure.log}`, false);
    }
  });
  const used = simulated.gasInfo?.gasUsed;
  if (used === undefined || used <= 0n) throw new ChainProtocolError(client.name, 'simulate answered without gas used');
  return Math.ceil(Number(used) * client.options.gasAdjustment);
}

/**
 * Signs `messages` with the account's current sequence (or `minSequence`
 * when a rejection named a later one). Sends nothing.
 */
export async function signMessages(client: CosmosClient, kind: MessageKind, messages: readonly EncodeObject[], minSequence?: number): Promise<SignedTx> {
  const signer = await client.signerState();
  const current = await account(client, signer.address);
  const sequence = Math.max(current.sequence, minSequence ?? 0);
  const gas = await gasLimit(client, kind, messages, signer, sequence);
  const fee = feeFor(gas, signingPrice(client), client.options.denom);
  const raw = await signer.client.sign(signer.address, messages, fee, client.options.memo, {
    accountNumber: current.accountNumber,
    sequence,
    chainId: client.options.chainId,
  });
  const bytes = TxRaw.encode(raw).finish();
  return { hash: hashOf(bytes), bytes };
}

/** Without a simulation to refuse it, an unknown validator is caught here rather than on chain (for a fee). */
async function requireValidator(client: CosmosClient, validator: string): Promise<void> {
  try {
    await readValidator(client, validator);
  } catch (error) {
    if (error instanceof ChainProtocolError && /does not exist/.test(error.message)) {
      throw new TxRejectedError(client.name, undefined, 'unknown-validator', `validator ${validator} does not exist on ${client.options.chainId}`, false);
    }
    throw error;
  }
}

/** The messages of an action, and the gas kind they are signed under. */
export async function messagesOf(client: CosmosClient, action: StakeAction): Promise<{ kind: MessageKind; messages: EncodeObject[] }> {
  const { address } = await client.signerState();
  if (action.kind === 'claim') {
    if (action.validators.length === 0) throw new TxRejectedError(client.name, undefined, 'invalid-claim', 'a claim names at least one validator', false);
    for (const validator of action.validators) checkValidatorAddress(client, validator);
    const messages = action.validators.map((validator) => ({
      typeUrl: MsgWithdrawDelegatorReward.typeUrl,
      value: MsgWithdrawDelegatorReward.fromPartial({ delegatorAddress: address, validatorAddress: validator }),
    }));
    return { kind: 'withdraw', messages };
  }
  if (action.kind === 'withdraw') {
    throw new TxRejectedError(client.name, undefined, 'unsupported', 'Cosmos pays matured unbondings back by itself: there is nothing to withdraw', false);
  }
  if (action.amount <= 0n) {
    throw new TxRejectedError(client.name, undefined, 'invalid-amount', `${action.kind} amount must be > 0, got ${action.amount}`, false);
  }
  checkValidatorAddress(client, action.validator);
  if (client.options.gasLimits[action.kind] !== undefined) await requireValidator(client, action.validator);
  const value = { delegatorAddress: address, validatorAddress: action.validator, amount: { denom: client.options.denom, amount: action.amount.toString() } };
  const message = action.kind === 'delegate' ? { typeUrl: MsgDelegate.typeUrl, value: MsgDelegate.fromPartial(value) } : { typeUrl: MsgUndelegate.typeUrl, value: MsgUndelegate.fromPartial(value) };
  return { kind: action.kind, messages: [message] };
}

/** Signs an action: on Cosmos every action is one transaction. */
export async function signAction(client: CosmosClient, action: StakeAction, step = 0): Promise<SignedTx> {
  if (step !== 0) throw new TxRejectedError(client.name, undefined, 'invalid-step', `a Cosmos ${action.kind} is one transaction; there is no step ${step}`, false);
  const { kind, messages } = await messagesOf(client, action);
  return signMessages(client, kind, messages);
}
