/**
 * Voting rewards as java-tron pays them (chainbase/src/main/java/org/tron/core/service/MortgageService.java,
 * chainbase/src/main/java/org/tron/core/store/DelegationStore.java), with the
 * "new reward algorithm" (Vi per witness per cycle) in force from genesis:
 *
 * - per block, `payReward(witness, value)`: the SR keeps its brokerage share
 *   (default 20%) in its `allowance`, the rest joins `reward[cycle][witness]`;
 * - at each maintenance, `Vi[c] = Vi[c−1] + reward[c] × 10^18 / voteCount`
 *   (maintenance.ts);
 * - an account's share is settled into its `allowance` only by
 *   `withdrawReward`, which VoteWitness, UnfreezeBalanceV2 and
 *   WithdrawBalance call; `queryReward` (getReward) computes the same
 *   without writing and adds the allowance.
 *
 * Java's double and long arithmetic is kept where the node uses it (the
 * brokerage cut, the standby pay), so amounts match to the sun.
 */
import type { Vote } from './codec.js';
import { type Account, allowanceOf, type ChainState, cycleKey, updateAccount, type Witness } from './state.js';

/** DelegationStore.DEFAULT_BROKERAGE, percent. */
export const DEFAULT_BROKERAGE = 20;
/** DelegationStore.DECIMAL_OF_VI_REWARD. */
const DECIMAL_OF_VI_REWARD = 10n ** 18n;
/** Parameter.ChainConstant.WITNESS_STANDBY_LENGTH. */
export const WITNESS_STANDBY_LENGTH = 127;

/** DelegationStore.getBrokerage(cycle, address); cycle −1 holds the SR's current setting. */
export function brokerageOf(state: ChainState, cycle: number, witness: string): number {
  return state.delegation.brokerage.get(cycleKey(cycle, witness)) ?? DEFAULT_BROKERAGE;
}

/**
 * WitnessStore.getWitnessStandby: the top 127 by votes, without those at 0.
 * Ties: java-tron breaks them by the address ByteString's hashCode; the
 * devnet by address, descending (stated difference).
 */
export function witnessStandby(state: ChainState): Witness[] {
  return [...state.witnesses.values()]
    .sort((a, b) => (a.voteCount === b.voteCount ? (a.address < b.address ? 1 : -1) : a.voteCount > b.voteCount ? -1 : 1))
    .slice(0, WITNESS_STANDBY_LENGTH)
    .filter((w) => w.voteCount >= 1n);
}

/** MortgageService.adjustAllowance: amounts ≤ 0 are ignored. */
function adjustAllowance(state: ChainState, address: string, amount: bigint): void {
  if (amount <= 0n || !state.accounts.has(address)) return;
  updateAccount(state, address, (a) => ({ allowance: a.allowance + amount }));
}

/** One `payReward(witness, value)` split: what joins the voters' pool and what the SR keeps. */
export interface RewardSplit {
  witness: string;
  /** `${cycle}:${witness}`, the DelegationStore reward key. */
  key: string;
  voters: bigint;
  brokerage: bigint;
}

/**
 * Within one cycle every block pays the same: the standby list, its vote
 * sum and each SR's brokerage change only at maintenance. So the splits
 * are computed once per cycle and each block adds them up; the sums are the
 * same integers java-tron's per-block `payReward` calls make.
 */
export interface CyclePay {
  /** The producer's `payBlockReward(witness, getWitnessPayPerBlock)`, by producer. */
  producer: Map<string, RewardSplit>;
  /** `payStandbyWitness`. */
  standby: RewardSplit[];
}

/** MortgageService.payReward's split: the brokerage cut in Java double arithmetic, `(long) (brokerage / 100.0 × value)`. */
function split(state: ChainState, witness: string, value: bigint): RewardSplit {
  const cycle = state.dyn.cycle;
  const rate = brokerageOf(state, cycle, witness) / 100;
  const brokerage = BigInt(Math.trunc(rate * Number(value)));
  return { witness, key: cycleKey(cycle, witness), voters: value - brokerage, brokerage };
}

/** The splits of the current cycle (call after genesis and after each maintenance). */
export function cyclePay(state: ChainState, witnessPayPerBlock: bigint, witness127PayPerBlock: bigint): CyclePay {
  const producer = new Map<string, RewardSplit>();
  for (const w of state.witnesses.values()) producer.set(w.address, split(state, w.address, witnessPayPerBlock));
  // MortgageService.payStandbyWitness: `(long) (voteCount × ((double) totalPay / voteSum))`; nothing when voteSum < 1.
  const list = witnessStandby(state);
  const voteSum = list.reduce((sum, w) => sum + w.voteCount, 0n);
  const eachVotePay = Number(witness127PayPerBlock) / Number(voteSum);
  const standby = voteSum < 1n ? [] : list.map((w) => split(state, w.address, BigInt(Math.trunc(Number(w.voteCount) * eachVotePay))));
  return { producer, standby };
}

function credit(state: ChainState, s: RewardSplit): void {
  state.delegation.reward.set(s.key, (state.delegation.reward.get(s.key) ?? 0n) + s.voters);
  if (s.brokerage > 0n) state.srAllowance.set(s.witness, (state.srAllowance.get(s.witness) ?? 0n) + s.brokerage);
}

/** Manager.payReward with allowChangeDelegation on: the producer's block pay, then the standby pay shared by votes. */
export function payBlockRewards(state: ChainState, producer: string, pay: CyclePay): void {
  const own = pay.producer.get(producer);
  if (own !== undefined) credit(state, own);
  for (const s of pay.standby) credit(state, s);
}

/** DelegationStore.accumulateWitnessVi, at the maintenance that ends `cycle`. */
export function accumulateWitnessVi(state: ChainState, cycle: number, witness: string, voteCount: bigint): void {
  const { vi, reward } = state.delegation;
  const preVi = vi.get(cycleKey(cycle - 1, witness)) ?? 0n;
  const paid = reward.get(cycleKey(cycle, witness)) ?? 0n;
  if (paid === 0n || voteCount === 0n) {
    if (preVi !== 0n) vi.set(cycleKey(cycle, witness), preVi);
  } else {
    vi.set(cycleKey(cycle, witness), preVi + (paid * DECIMAL_OF_VI_REWARD) / voteCount);
  }
}

/** MortgageService.computeReward(begin, end, votes), new algorithm: one floor per SR over the whole range. */
function computeReward(state: ChainState, begin: number, end: number, votes: readonly Vote[]): bigint {
  if (begin >= end) return 0n;
  let reward = 0n;
  for (const vote of votes) {
    const beginVi = state.delegation.vi.get(cycleKey(begin - 1, vote.address)) ?? 0n;
    const endVi = state.delegation.vi.get(cycleKey(end - 1, vote.address)) ?? 0n;
    const delta = endVi - beginVi;
    if (delta <= 0n) continue;
    reward += (delta * vote.count) / DECIMAL_OF_VI_REWARD;
  }
  return reward;
}

/** MortgageService.withdrawReward: settles the account's rewards up to the current cycle into its allowance. */
export function withdrawReward(state: ChainState, address: string): void {
  const account = state.accounts.get(address);
  const current = state.dyn.cycle;
  if (account === undefined) return;
  let { beginCycle } = account;
  const { endCycle } = account;
  if (beginCycle > current) return;
  if (beginCycle === current && account.accountVote?.cycle === beginCycle) return;
  let reward = 0n;
  if (beginCycle + 1 === endCycle && beginCycle < current) {
    if (account.accountVote?.cycle === beginCycle) adjustAllowance(state, address, computeReward(state, beginCycle, endCycle, account.accountVote.votes));
    beginCycle += 1;
  }
  if (account.votes.length === 0) {
    updateAccount(state, address, () => ({ beginCycle: current + 1 }));
    return;
  }
  if (beginCycle < current) {
    reward += computeReward(state, beginCycle, current, account.votes);
    adjustAllowance(state, address, reward);
  }
  updateAccount(state, address, (a) => ({ beginCycle: current, endCycle: current + 1, accountVote: { cycle: current, votes: a.votes } }));
}

/** MortgageService.queryReward: what getReward answers, settled or not, plus the allowance. */
export function queryReward(state: ChainState, account: Account | undefined): bigint {
  if (account === undefined) return 0n;
  const allowance = allowanceOf(state, account);
  const current = state.dyn.cycle;
  let { beginCycle } = account;
  if (beginCycle > current) return allowance;
  let reward = 0n;
  if (beginCycle + 1 === account.endCycle && beginCycle < current) {
    if (account.accountVote?.cycle === beginCycle) reward = computeReward(state, beginCycle, account.endCycle, account.accountVote.votes);
    beginCycle += 1;
  }
  if (account.votes.length === 0) return reward + allowance;
  if (beginCycle < current) reward += computeReward(state, beginCycle, current, account.votes);
  return reward + allowance;
}
