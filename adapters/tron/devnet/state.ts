/**
 * The TRON devnet's state: accounts, witnesses (SRs), the VotesStore, the
 * DelegationStore and the dynamic properties, shaped after java-tron's
 * stores (chainbase/src/main/java/org/tron/core/store/). Accounts and
 * witnesses are copy-on-write: a change replaces the object, so a shallow
 * copy of the maps is a snapshot (the pending state, the solidity state).
 */
import type { Resource, Vote } from './codec.js';

/** sun per TRX (`Parameter.ChainConstant.TRX_PRECISION`). */
export const TRX = 1_000_000n;
/** `Parameter.ChainConstant.FROZEN_PERIOD`: one day, ms. */
export const DAY_MS = 86_400_000;

/** `Tron.proto` `Account.UnFreezeV2`. */
export interface UnfrozenV2 {
  type: Resource;
  amount: bigint;
  /** ms. */
  expireTime: number;
}

/** `Tron.proto` `Account`, the fields Stake 2.0 touches, plus its DelegationStore entries. */
export interface Account {
  readonly address: string;
  readonly balance: bigint;
  readonly createTime: number;
  readonly frozenV2: Readonly<Record<Resource, bigint>>;
  readonly unfrozenV2: readonly UnfrozenV2[];
  readonly votes: readonly Vote[];
  /** Settled, unpaid rewards, sun. */
  readonly allowance: bigint;
  /** ms; 0 before the first WithdrawBalance. */
  readonly latestWithdrawTime: number;
  /** Staked-bandwidth usage and the slot it was last charged at (BandwidthProcessor). */
  readonly netUsage: number;
  readonly latestConsumeTime: number;
  /** Free-bandwidth usage and its slot. */
  readonly freeNetUsage: number;
  readonly latestConsumeFreeTime: number;
  /** Latest operation time, ms. */
  readonly latestOperationTime: number;
  /** DelegationStore `beginCycle` (default 0), `endCycle` (default −1) and the `accountVote` snapshot last written. */
  readonly beginCycle: number;
  readonly endCycle: number;
  readonly accountVote: { readonly cycle: number; readonly votes: readonly Vote[] } | undefined;
}

/** `Tron.proto` `Witness`. */
export interface Witness {
  readonly address: string;
  readonly url: string;
  /** Votes as of the last maintenance. */
  readonly voteCount: bigint;
  readonly totalProduced: number;
  readonly totalMissed: number;
  readonly latestBlockNum: number;
  readonly latestSlotNum: number;
  readonly isJobs: boolean;
}

/** The chain parameters (`getchainparameters`), set at genesis. */
export interface ChainParams {
  /** `getMaintenanceTimeInterval`, ms. @defaultValue 21 600 000 (6 h, mainnet) */
  maintenanceTimeInterval: number;
  /** `getTransactionFee`: sun per byte of bandwidth burnt. @defaultValue 1000 */
  transactionFee: bigint;
  /** `getFreeNetLimit`: free bytes per account per day. @defaultValue 600 */
  freeNetLimit: number;
  /** `getTotalNetLimit`: bytes per day shared by staked bandwidth. @defaultValue 43 200 000 000 */
  totalNetLimit: number;
  /** `getPublicNetLimit`: the free bandwidth all accounts share per day. @defaultValue 14 400 000 000 */
  publicNetLimit: number;
  /** `getWitnessPayPerBlock`, sun. @defaultValue 8 000 000 */
  witnessPayPerBlock: bigint;
  /** `getWitness127PayPerBlock`, sun. @defaultValue 128 000 000 */
  witness127PayPerBlock: bigint;
  /** `getUnfreezeDelayDays`. @defaultValue 14 */
  unfreezeDelayDays: number;
  /** `getWitnessAllowanceFrozenTime`, days between two WithdrawBalance. @defaultValue 1 */
  witnessAllowanceFrozenTime: number;
  /** `getAllowNewResourceModel` (TRON_POWER freezing): the devnet implements the legacy path only. */
  allowNewResourceModel: 0;
  /** `getTotalEnergyLimit`. @defaultValue 180 000 000 000 */
  totalEnergyLimit: number;
}

/** DynamicPropertiesStore, the parts the devnet keeps. */
export interface Dynamic {
  cycle: number;
  nextMaintenanceTime: number;
  /** TRX frozen for bandwidth / energy across the chain (`TotalNetWeight`, `TotalEnergyWeight`). */
  totalNetWeight: bigint;
  totalEnergyWeight: bigint;
  latestBlockNum: number;
  latestBlockTimestamp: number;
  latestSolidifiedBlockNum: number;
  publicNetUsage: number;
  publicNetTime: number;
}

/** DelegationStore's per-cycle maps, keyed `${cycle}:${witness}`. Entries for a past cycle never change, so snapshots share them. */
export interface Delegation {
  reward: Map<string, bigint>;
  witnessVote: Map<string, bigint>;
  brokerage: Map<string, number>;
  vi: Map<string, bigint>;
}

export interface ChainState {
  accounts: Map<string, Account>;
  witnesses: Map<string, Witness>;
  /** VotesStore: votes as of the last maintenance and the new ones, per voter. */
  votesStore: Map<string, { oldVotes: readonly Vote[]; newVotes: readonly Vote[] }>;
  delegation: Delegation;
  /** SRs' brokerage shares not yet written into their accounts' `allowance` (kept apart so a block does not copy 27 accounts). */
  srAllowance: Map<string, bigint>;
  dyn: Dynamic;
}

/** A copy that can change without touching `state` (the delegation maps are copied too: they change within a cycle). */
export function cloneState(state: ChainState): ChainState {
  return {
    accounts: new Map(state.accounts),
    witnesses: new Map(state.witnesses),
    votesStore: new Map(state.votesStore),
    delegation: {
      reward: new Map(state.delegation.reward),
      witnessVote: new Map(state.delegation.witnessVote),
      brokerage: new Map(state.delegation.brokerage),
      vi: new Map(state.delegation.vi),
    },
    srAllowance: new Map(state.srAllowance),
    dyn: { ...state.dyn },
  };
}

/** An account's `allowance`, its SR brokerage share included. */
export function allowanceOf(state: ChainState, account: Account): bigint {
  return account.allowance + (state.srAllowance.get(account.address) ?? 0n);
}

export function newAccount(address: string, balance: bigint, time: number): Account {
  return {
    address,
    balance,
    createTime: time,
    frozenV2: { BANDWIDTH: 0n, ENERGY: 0n, TRON_POWER: 0n },
    unfrozenV2: [],
    votes: [],
    allowance: 0n,
    latestWithdrawTime: 0,
    netUsage: 0,
    latestConsumeTime: 0,
    freeNetUsage: 0,
    latestConsumeFreeTime: 0,
    latestOperationTime: 0,
    beginCycle: 0,
    endCycle: -1,
    accountVote: undefined,
  };
}

/** Replaces the account with `change(account)`. */
export function updateAccount(state: ChainState, address: string, change: (account: Account) => Partial<Account>): Account {
  const account = state.accounts.get(address);
  if (account === undefined) throw new Error(`tron devnet bug: no account ${address}`);
  const next = { ...account, ...change(account) };
  state.accounts.set(address, next);
  return next;
}

/** `AccountCapsule.getTronPower` (allowNewResourceModel off): every frozenV2 amount but TRON_POWER, sun. */
export function tronPower(account: Account): bigint {
  return account.frozenV2.BANDWIDTH + account.frozenV2.ENERGY;
}

export function sumVotes(votes: readonly Vote[]): bigint {
  return votes.reduce((sum, v) => sum + v.count, 0n);
}

export const cycleKey = (cycle: number, witness: string): string => `${cycle}:${witness}`;
