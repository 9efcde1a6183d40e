/**
 * TRON signing: each action as its Stake 2.0 transactions, built locally by
 * tronweb's own TransactionBuilder against a reference block the adapter
 * reads itself (`wallet/getblock`, through failover), and signed with the
 * custody key (`utils.crypto.signTransaction`): the only place the key is
 * used. The signed bytes are the broadcast JSON itself.
 *
 * - delegate = FreezeBalanceV2 (step 0), then VoteWitness with the whole
 *   vote set (step 1): a vote replaces every earlier one
 *   (VoteWitnessActuator), so step 1 is the chain's current votes plus the
 *   new TRX for the SR. Tron Power already frozen and not voted (the
 *   action's `fromIdle`, planned from the position's `idle`) is not frozen
 *   again: the freeze is `amount − fromIdle`, and a delegate wholly of idle
 *   power is the VoteWitness alone. VoteWitnessActuator.validate only asks
 *   that Σ votes × TRX_PRECISION ≤ the account's Tron Power
 *   (AccountCapsule.getTronPower, or getAllTronPower once
 *   allowNewResourceModel is on), whichever earlier freeze gave it; Tron
 *   Power is what FreezeBalanceV2Actuator froze (frozenV2 of BANDWIDTH or
 *   ENERGY), and a vote needs no freeze of its own.
 * - undelegate = VoteWitness with the SR's votes lowered (step 0), then
 *   UnfreezeBalanceV2 (step 1). Voting first keeps the votes within the
 *   Tron Power left, so the chain never scales them down proportionally
 *   (UnfreezeBalanceV2Actuator.updateVote): the split stays the one
 *   intended, and each step is computed from the chain alone (the adapter
 *   keeps no state). When no vote would be left the vote step repeats the
 *   current set (VoteWitness refuses an empty one) and the unfreeze clears
 *   what Tron Power no longer covers. An undelegate's `fromIdle` part is
 *   unfrozen without lowering any vote (wholly idle: the unfreeze alone).
 * - A move with `also` (the limits say `batchTargets`) does this once for
 *   every SR it names: one freeze of Σ(amount − fromIdle) and one
 *   VoteWitness; one VoteWitness lowering each SR, then one
 *   UnfreezeBalanceV2 of Σ amount (one pending unfreeze of the 32).
 * - claim = WithdrawBalance; withdraw = WithdrawExpireUnfreeze.
 */
import { TronWeb, type Types, utils } from 'tronweb';

import { TxRejectedError } from '../errors.js';
import { type SignedTx, type StakeAction, targetsOf } from '../types.js';
import { blockSchema, EXPIRATION_MS, frozenOf, SUN_PER_TRX, toHexAddress, type TronClient, votesOf } from './client.js';
import { witnesses } from './position.js';

/** VoteWitnessActuator: `Parameter.ChainConstant.MAX_VOTE_NUMBER`. */
const MAX_VOTE_NUMBER = 30;

/** Builds transactions only; it never reaches a node (every call passes its reference block). */
const builder = new TronWeb({ fullHost: 'http://127.0.0.1:9' }).transactionBuilder;

/** Σ amount and Σ fromIdle over a move's targets (its own and `also`'s). */
function totalsOf(action: Extract<StakeAction, { kind: 'delegate' | 'undelegate' }>): { amount: bigint; fromIdle: bigint } {
  let amount = 0n;
  let fromIdle = 0n;
  for (const t of targetsOf(action)) {
    amount += t.amount;
    fromIdle += t.fromIdle ?? 0n;
  }
  return { amount, fromIdle };
}

/** How many transactions an action takes: a delegate or undelegate wholly of idle Tron Power needs no freeze (no vote change). */
export function stepsOf(action: StakeAction): number {
  if (action.kind !== 'delegate' && action.kind !== 'undelegate') return 1;
  const { amount, fromIdle } = totalsOf(action);
  return fromIdle >= amount ? 1 : 2;
}

/** The reference block tronweb would fetch (AbstractTrx.getCurrentRefBlockParams), from the full node's head. */
async function referenceBlock(client: TronClient): Promise<{ ref_block_bytes: string; ref_block_hash: string; expiration: number; timestamp: number }> {
  const block = client.parse(blockSchema, await client.full('getblock', { detail: false }), 'reference block');
  const { timestamp } = block.block_header.raw_data;
  const number = block.block_header.raw_data.number ?? 0;
  return {
    ref_block_bytes: number.toString(16).slice(-4).padStart(4, '0'),
    ref_block_hash: block.blockID.slice(16, 32),
    expiration: timestamp + EXPIRATION_MS,
    timestamp,
  };
}

/** The vote set as tronweb takes it, `T…` → whole TRX as a number. */
function voteObject(votes: Map<string, bigint>): Record<string, number> {
  return Object.fromEntries([...votes].map(([sr, count]) => [sr, Number(count)]));
}

export async function signAction(client: TronClient, action: StakeAction, step = 0): Promise<SignedTx> {
  const refuse = (code: string, log: string) => new TxRejectedError(client.name, undefined, code, log, false);
  const steps = stepsOf(action);
  if (!Number.isInteger(step) || step < 0 || step >= steps) throw refuse('invalid-step', `a TRON ${action.kind} is ${steps} transaction(s); there is no step ${step}`);
  if (action.kind === 'delegate' || action.kind === 'undelegate') {
    const targets = targetsOf(action);
    const seen = new Set<string>();
    for (const t of targets) {
      if (t.amount <= 0n) throw refuse('invalid-amount', `${action.kind} amount must be > 0, got ${t.amount}`);
      // Votes count whole TRX (VoteWitnessActuator), and a freeze takes at least 1 TRX (FreezeBalanceV2Actuator).
      if (t.amount % SUN_PER_TRX !== 0n) throw refuse('invalid-amount', `${action.kind} amount must be whole TRX (a multiple of ${SUN_PER_TRX} sun), got ${t.amount}`);
      const fromIdle = t.fromIdle ?? 0n;
      if (fromIdle < 0n || fromIdle > t.amount || fromIdle % SUN_PER_TRX !== 0n) throw refuse('invalid-amount', `${action.kind} fromIdle must be whole TRX between 0 and the amount ${t.amount}, got ${fromIdle}`);
      if (toHexAddress(t.validator) === undefined) throw refuse('invalid-validator', `${t.validator} is not a TRON address`);
      const configured = client.config.validators ?? [];
      if (configured.length > 0 && !configured.includes(t.validator)) throw refuse('unknown-validator', `${t.validator} is not one of the configured SRs`);
      if (seen.has(t.validator)) throw refuse('invalid-validator', `${t.validator} is named twice in one ${action.kind}`);
      seen.add(t.validator);
    }
    if (totalsOf(action).amount > BigInt(Number.MAX_SAFE_INTEGER)) throw refuse('invalid-amount', `${action.kind} amount ${totalsOf(action).amount} is beyond what one transaction carries`);
  }
  const key = await client.signer();
  const owner = toHexAddress(key.address)!;
  let transaction: Types.Transaction;
  switch (action.kind) {
    case 'delegate': {
      const targets = targetsOf(action);
      if (step === 0) {
        // Nothing is frozen (nor voted) for an SR the chain does not know: the vote would be refused.
        const known = await witnesses(client);
        for (const t of targets) if (!known.has(t.validator)) throw refuse('unknown-validator', `${t.validator} is not an SR (listwitnesses)`);
      }
      const { amount, fromIdle } = totalsOf(action);
      // Only what Tron Power lacks is frozen, for every target at once.
      const freeze = amount - fromIdle;
      if (step === 0 && freeze > 0n) {
        const account = await client.account('full', owner);
        const spendable = (account?.balance ?? 0n) - client.options.reserve;
        if (freeze > spendable) throw refuse('insufficient-funds', `freezing ${freeze} sun would leave less than the reserve of ${client.options.reserve} sun liquid (balance ${account?.balance ?? 0n})`);
        transaction = await builder.freezeBalanceV2(Number(freeze), client.options.resource, owner, { blockHeader: await referenceBlock(client) });
      } else {
        // The full node's pending state: the freeze of step 0 is in it as soon as it was accepted.
        const account = await client.account('full', owner);
        const votes = votesOf(account);
        for (const t of targets) votes.set(t.validator, (votes.get(t.validator) ?? 0n) + t.amount / SUN_PER_TRX);
        transaction = await vote(client, owner, votes, frozenOf(account), refuse);
      }
      break;
    }
    case 'undelegate': {
      const account = await client.account('full', owner);
      const { amount, fromIdle } = totalsOf(action);
      if (step === 0 && amount > fromIdle) {
        // Every target's votes lowered in one VoteWitness, by what idle Tron Power does not cover.
        const votes = votesOf(account);
        for (const t of targetsOf(action)) {
          const current = votes.get(t.validator) ?? 0n;
          const less = (t.amount - (t.fromIdle ?? 0n)) / SUN_PER_TRX;
          if (current <= less) votes.delete(t.validator);
          else votes.set(t.validator, current - less);
        }
        transaction = await vote(client, owner, votes.size > 0 ? votes : votesOf(account), frozenOf(account), refuse);
      } else {
        // One UnfreezeBalanceV2 for every target: one pending unfreeze.
        transaction = await builder.unfreezeBalanceV2(Number(amount), client.options.resource, owner, { blockHeader: await referenceBlock(client) });
      }
      break;
    }
    case 'claim':
      transaction = await builder.withdrawBlockRewards(owner, { blockHeader: await referenceBlock(client) });
      break;
    case 'withdraw':
      transaction = await builder.withdrawExpireUnfreeze(owner, { blockHeader: await referenceBlock(client) });
      break;
  }
  const signed = utils.crypto.signTransaction(key.privateKey, transaction) as Types.SignedTransaction;
  return {
    hash: signed.txID,
    bytes: new TextEncoder().encode(JSON.stringify(signed)),
    // Manager.validateCommon: refused once the head block's time reaches `expiration`; so a block whose parent is
    // at or past it can never include them, and a solidified head at `expiration` means never.
    expires: { at: signed.raw_data.expiration - 1 },
  };
}

/** A VoteWitness with the whole vote set, checked against the actuator's rules before it costs bandwidth. */
async function vote(client: TronClient, owner: string, votes: Map<string, bigint>, power: bigint, refuse: (code: string, log: string) => TxRejectedError): Promise<Types.Transaction> {
  if (votes.size === 0) throw refuse('no-votes', 'there is no vote to cast (VoteWitness refuses an empty vote set)');
  if (votes.size > MAX_VOTE_NUMBER) throw refuse('too-many-votes', `${votes.size} SRs: VoteWitness takes at most ${MAX_VOTE_NUMBER}`);
  const total = [...votes.values()].reduce((sum, n) => sum + n, 0n);
  if (total * SUN_PER_TRX > power) throw refuse('insufficient-power', `${total} votes need ${total} TRX of Tron Power, the account has ${power} sun frozen`);
  return builder.vote(voteObject(votes), owner, { blockHeader: await referenceBlock(client) });
}
