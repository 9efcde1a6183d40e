/**
 * The Stake 2.0 actuators, each validating in java-tron's order and words,
 * then executing (actuator/src/main/java/org/tron/core/actuator/<Name>Actuator.java;
 * message prefixes from ActuatorConstant.java: `Account[` … `] not exists`,
 * `Witness[` … `] not exists`). "now" is the latest block header's
 * timestamp: the head's at broadcast, the parent's while a block is applied
 * (DynamicPropertiesStore.getLatestBlockHeaderTimestamp).
 */
import { addressValid, RESOURCES, type Contract, type Resource, type Vote } from './codec.js';
import { queryReward, withdrawReward } from './rewards.js';
import { type Account, allowanceOf, type ChainParams, type ChainState, DAY_MS, sumVotes, tronPower, TRX, updateAccount, type UnfrozenV2 } from './state.js';

/** `ContractValidateException`: the broadcast answers CONTRACT_VALIDATE_ERROR. */
export class ContractValidateError extends Error {}
/** `ContractExeException`: CONTRACT_EXE_ERROR. */
export class ContractExeError extends Error {}

/** What the transaction's info records besides the fee. */
export interface ActuatorResult {
  withdrawAmount?: bigint;
  withdrawExpireAmount?: bigint;
  cancelUnfreezeV2Amount?: Record<Resource, bigint>;
}

/** UnfreezeBalanceV2Actuator.UNFREEZE_MAX_TIMES. */
export const UNFREEZE_MAX_TIMES = 32;
/** Parameter.ChainConstant.MAX_VOTE_NUMBER. */
export const MAX_VOTE_NUMBER = 30;
const INT64_MAX = 2n ** 63n - 1n;

/** Who may not claim: the genesis SRs (WithdrawBalanceActuator's "guard representative"). */
export interface ActuatorContext {
  state: ChainState;
  params: ChainParams;
  genesisWitnesses: ReadonlySet<string>;
}

const notExists = (address: string): string => `Account[${address}] not exists`;

function owner(ctx: ActuatorContext, address: string): Account {
  if (!addressValid(address)) throw new ContractValidateError('Invalid address');
  const account = ctx.state.accounts.get(address);
  if (account === undefined) throw new ContractValidateError(notExists(address));
  return account;
}

/** AccountCapsule.getUnfreezingV2Count(now): entries not yet expired. */
export function unfreezingCount(account: Account, now: number): number {
  return account.unfrozenV2.filter((u) => u.expireTime > now).length;
}

/** Σ amounts of entries with `expire <= now` (WithdrawExpireUnfreezeActuator, GetCanWithdrawUnfreezeAmount). */
export function expiredAmount(unfrozen: readonly UnfrozenV2[], now: number): bigint {
  return unfrozen.filter((u) => u.amount > 0n && u.expireTime <= now).reduce((sum, u) => sum + u.amount, 0n);
}

/** DynamicPropertiesStore.addTotalNetWeight / addTotalEnergyWeight: by whole TRX, floor(new) − floor(old). */
function adjustWeight(state: ChainState, resource: Resource, before: bigint, after: bigint): void {
  const change = after / TRX - before / TRX;
  if (resource === 'BANDWIDTH') state.dyn.totalNetWeight += change;
  else if (resource === 'ENERGY') state.dyn.totalEnergyWeight += change;
}

function validate(ctx: ActuatorContext, contract: Contract): void {
  const { state } = ctx;
  const now = state.dyn.latestBlockTimestamp;
  switch (contract.kind) {
    case 'FreezeBalanceV2Contract': {
      // FreezeBalanceV2Actuator.validate
      const account = owner(ctx, contract.owner);
      if (contract.amount <= 0n) throw new ContractValidateError('frozenBalance must be positive');
      if (contract.amount < TRX) throw new ContractValidateError('frozenBalance must be more than 1TRX');
      if (contract.amount > account.balance) throw new ContractValidateError('frozenBalance must be less than accountBalance');
      if (contract.resource === 'TRON_POWER') throw new ContractValidateError('ResourceCode error, valid ResourceCode[BANDWIDTH、ENERGY]');
      return;
    }
    case 'UnfreezeBalanceV2Contract': {
      // UnfreezeBalanceV2Actuator.validate: "does not exist" here, unlike the other actuators.
      if (!addressValid(contract.owner)) throw new ContractValidateError('Invalid address');
      const account = state.accounts.get(contract.owner);
      if (account === undefined) throw new ContractValidateError(`Account[${contract.owner}] does not exist`);
      const frozen = account.frozenV2[contract.resource];
      if (contract.resource === 'TRON_POWER') throw new ContractValidateError('ResourceCode error.valid ResourceCode[BANDWIDTH、Energy]');
      if (frozen <= 0n) throw new ContractValidateError(contract.resource === 'BANDWIDTH' ? 'no frozenBalance(BANDWIDTH)' : 'no frozenBalance(Energy)');
      if (contract.amount <= 0n || contract.amount > frozen) throw new ContractValidateError(`Invalid unfreeze_balance, [${contract.amount}] is error`);
      if (unfreezingCount(account, now) >= UNFREEZE_MAX_TIMES) throw new ContractValidateError('Invalid unfreeze operation, unfreezing times is over limit');
      return;
    }
    case 'WithdrawExpireUnfreezeContract': {
      // WithdrawExpireUnfreezeActuator.validate (the trailing space is the node's)
      const account = owner(ctx, contract.owner);
      const total = expiredAmount(account.unfrozenV2, now);
      if (total <= 0n) throw new ContractValidateError('no unFreeze balance to withdraw ');
      if (account.balance + total > INT64_MAX) throw new ContractValidateError('long overflow');
      return;
    }
    case 'CancelAllUnfreezeV2Contract': {
      // CancelAllUnfreezeV2Actuator.validate
      const account = owner(ctx, contract.owner);
      if (account.unfrozenV2.length === 0) throw new ContractValidateError('No unfreezeV2 list to cancel');
      return;
    }
    case 'VoteWitnessContract': {
      // VoteWitnessActuator.validate
      if (!addressValid(contract.owner)) throw new ContractValidateError('Invalid address');
      if (contract.votes.length === 0) throw new ContractValidateError('VoteNumber must more than 0');
      if (contract.votes.length > MAX_VOTE_NUMBER) throw new ContractValidateError(`VoteNumber more than maxVoteNumber ${MAX_VOTE_NUMBER}`);
      let sum = 0n;
      for (const vote of contract.votes) {
        if (!addressValid(vote.address)) throw new ContractValidateError('Invalid vote address!');
        if (vote.count <= 0n) throw new ContractValidateError('vote count must be greater than 0');
        if (!state.accounts.has(vote.address)) throw new ContractValidateError(notExists(vote.address));
        if (!state.witnesses.has(vote.address)) throw new ContractValidateError(`Witness[${vote.address}] not exists`);
        sum += vote.count;
      }
      const account = state.accounts.get(contract.owner);
      if (account === undefined) throw new ContractValidateError(notExists(contract.owner));
      const power = tronPower(account);
      if (sum * TRX > power) throw new ContractValidateError(`The total number of votes[${sum * TRX}] is greater than the tronPower[${power}]`);
      return;
    }
    case 'WithdrawBalanceContract': {
      // WithdrawBalanceActuator.validate
      const account = owner(ctx, contract.owner);
      if (ctx.genesisWitnesses.has(contract.owner)) throw new ContractValidateError(`Account[${contract.owner}] is a guard representative and is not allowed to withdraw Balance`);
      const frozenTime = ctx.params.witnessAllowanceFrozenTime * DAY_MS;
      if (now - account.latestWithdrawTime < frozenTime) throw new ContractValidateError(`The last withdraw time is ${account.latestWithdrawTime}, less than 24 hours`);
      if (allowanceOf(state, account) <= 0n && queryReward(state, account) <= 0n) throw new ContractValidateError('witnessAccount does not have any reward');
      return;
    }
  }
}

/** UnfreezeBalanceV2Actuator.updateVote, allowNewResourceModel off: votes scaled down in Java double arithmetic when tron power no longer covers them. */
function scaleVotes(state: ChainState, address: string): void {
  const account = state.accounts.get(address)!;
  if (account.votes.length === 0) return;
  const totalVote = sumVotes(account.votes);
  if (totalVote === 0n) return;
  const owned = tronPower(account);
  if (owned >= totalVote * TRX) return;
  const scaled: Vote[] = [];
  for (const vote of account.votes) {
    const count = BigInt(Math.trunc(((Number(vote.count) / Number(totalVote)) * Number(owned)) / Number(TRX)));
    if (count > 0n) scaled.push({ address: vote.address, count });
  }
  const entry = state.votesStore.get(address) ?? { oldVotes: account.votes, newVotes: account.votes };
  state.votesStore.set(address, { oldVotes: entry.oldVotes, newVotes: scaled });
  updateAccount(state, address, () => ({ votes: scaled }));
}

function execute(ctx: ActuatorContext, contract: Contract): ActuatorResult {
  const { state, params } = ctx;
  const now = state.dyn.latestBlockTimestamp;
  switch (contract.kind) {
    case 'FreezeBalanceV2Contract': {
      const before = state.accounts.get(contract.owner)!.frozenV2[contract.resource];
      updateAccount(state, contract.owner, (a) => ({ balance: a.balance - contract.amount, frozenV2: { ...a.frozenV2, [contract.resource]: before + contract.amount } }));
      adjustWeight(state, contract.resource, before, before + contract.amount);
      return {};
    }
    case 'UnfreezeBalanceV2Contract': {
      withdrawReward(state, contract.owner);
      const account = state.accounts.get(contract.owner)!;
      // Expired unfreezes are paid out in the same transaction (unfreezeExpire).
      const expired = expiredAmount(account.unfrozenV2, now);
      const before = account.frozenV2[contract.resource];
      const entry: UnfrozenV2 = { type: contract.resource, amount: contract.amount, expireTime: now + params.unfreezeDelayDays * DAY_MS };
      updateAccount(state, contract.owner, (a) => ({
        balance: a.balance + expired,
        unfrozenV2: [...a.unfrozenV2.filter((u) => u.expireTime > now), entry],
        frozenV2: { ...a.frozenV2, [contract.resource]: before - contract.amount },
      }));
      adjustWeight(state, contract.resource, before, before - contract.amount);
      scaleVotes(state, contract.owner);
      return { withdrawExpireAmount: expired };
    }
    case 'WithdrawExpireUnfreezeContract': {
      const account = state.accounts.get(contract.owner)!;
      const total = expiredAmount(account.unfrozenV2, now);
      updateAccount(state, contract.owner, (a) => ({ balance: a.balance + total, unfrozenV2: a.unfrozenV2.filter((u) => u.expireTime > now) }));
      return { withdrawExpireAmount: total };
    }
    case 'CancelAllUnfreezeV2Contract': {
      const account = state.accounts.get(contract.owner)!;
      const cancelled: Record<Resource, bigint> = { BANDWIDTH: 0n, ENERGY: 0n, TRON_POWER: 0n };
      let expired = 0n;
      const frozenV2 = { ...account.frozenV2 };
      for (const u of account.unfrozenV2) {
        if (u.expireTime > now) {
          cancelled[u.type] += u.amount;
          frozenV2[u.type] += u.amount;
        } else {
          expired += u.amount;
        }
      }
      for (const r of RESOURCES) adjustWeight(state, r, account.frozenV2[r], frozenV2[r]);
      updateAccount(state, contract.owner, (a) => ({ balance: a.balance + expired, unfrozenV2: [], frozenV2 }));
      return { withdrawExpireAmount: expired, cancelUnfreezeV2Amount: cancelled };
    }
    case 'VoteWitnessContract': {
      // VoteWitnessActuator.countVoteAccount
      withdrawReward(state, contract.owner);
      const account = state.accounts.get(contract.owner)!;
      const entry = state.votesStore.get(contract.owner) ?? { oldVotes: account.votes, newVotes: account.votes };
      state.votesStore.set(contract.owner, { oldVotes: entry.oldVotes, newVotes: contract.votes });
      updateAccount(state, contract.owner, () => ({ votes: contract.votes }));
      return {};
    }
    case 'WithdrawBalanceContract': {
      withdrawReward(state, contract.owner);
      const allowance = allowanceOf(state, state.accounts.get(contract.owner)!);
      state.srAllowance.delete(contract.owner);
      updateAccount(state, contract.owner, (a) => ({ balance: a.balance + allowance, allowance: 0n, latestWithdrawTime: now }));
      return { withdrawAmount: allowance };
    }
  }
}

/** Validates, then executes, `contract` on `ctx.state`. */
export function runActuator(ctx: ActuatorContext, contract: Contract): ActuatorResult {
  validate(ctx, contract);
  return execute(ctx, contract);
}

export { owner as ownerAccount };
