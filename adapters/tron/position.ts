/**
 * TRON reads of the custody account, from the solidity node (the
 * solidified block, about 19 blocks behind the head: final): the account
 * (balance, frozen TRX, votes, pending unfreezes), its unpaid rewards
 * (`getReward`, which includes the settled `allowance`) and the SRs'
 * ranks, bracketed by two reads of the solidified head so every part is of
 * one block. Read-only: the custody address suffices, no key.
 */
import * as z from 'zod';

import { RetryableError } from '../../src/errors.js';
import type { ChainLimits, DueAction, Position, Unbonding, ValidatorHealth, ValidatorStake } from '../types.js';
import { parseCheckpoint } from './checkpoint.js';
import { CLAIM_INTERVAL_MS, frozenOf, type Head, SUN_PER_TRX, toBase58, type TronAccount, type TronClient, votesOf } from './client.js';

/** How often a read is made afresh when the solidified block moved under it. */
const PIN_ATTEMPTS = 10;
/** UnfreezeBalanceV2Actuator.UNFREEZE_MAX_TIMES: pending unfreezes per account. */
export const UNFREEZE_MAX_TIMES = 32;
/** Parameter.ChainConstant.WITNESS_STANDBY_LENGTH: the SRs whose voters are paid. */
const WITNESS_STANDBY_LENGTH = 127;
/** What a staking transaction takes in bandwidth, bytes: about 270 serialized plus 64 (`MAX_RESULT_SIZE_IN_TX`); a vote for a few SRs a little more. */
const TYPICAL_TX_BYTES = 350n;

const rewardSchema = z.object({ reward: z.bigint().optional() }).loose();
const witnessesSchema = z.object({ witnesses: z.array(z.object({ address: z.string(), voteCount: z.bigint().optional() }).loose()).optional() }).loose();
const parametersSchema = z.object({ chainParameter: z.array(z.object({ key: z.string(), value: z.bigint().optional() }).loose()) }).loose();

/** The account, its unpaid rewards and the head they were read at, all of one solidified block. */
export interface SolidView {
  head: Head;
  account: TronAccount | undefined;
  reward: bigint;
}

/** Reads the custody account and its rewards at one solidified block (the head read before and after). */
export async function readSolid(client: TronClient): Promise<SolidView> {
  const address = await client.hexAddress();
  for (let attempt = 0; attempt < PIN_ATTEMPTS; attempt += 1) {
    const head = await client.solidHead();
    // Both at once: the narrower the bracket, the likelier one block holds it.
    const [account, rewardJson] = await Promise.all([client.account('solid', address), client.solid('getReward', { address })]);
    const reward = client.parse(rewardSchema, rewardJson, 'getReward').reward ?? 0n;
    const after = await client.solidHead();
    if (after.number === head.number) return { head, account, reward };
  }
  throw new RetryableError(`${client.name}: the solidified block moved under ${PIN_ATTEMPTS} reads in a row; reading again later`);
}

/** Pending unfreezes (not yet expired at `at`) and the expired ones' sum (withdrawable). */
export function unfreezesOf(account: TronAccount | undefined, at: number): { unbonding: Unbonding[]; withdrawable: bigint } {
  const unbonding: Unbonding[] = [];
  let withdrawable = 0n;
  for (const u of account?.unfrozenV2 ?? []) {
    const amount = u.unfreeze_amount ?? 0n;
    const expires = u.unfreeze_expire_time ?? 0;
    if (amount <= 0n) continue;
    // WithdrawExpireUnfreezeActuator: an entry is withdrawable once its expire time ≤ the latest block's time.
    if (expires <= at) withdrawable += amount;
    else unbonding.push({ amount, completesAt: expires });
  }
  return { unbonding, withdrawable };
}

/** The SRs' vote ranks (`listwitnesses`: tallies as of the last maintenance), `T…` → rank from 0. */
async function ranks(client: TronClient): Promise<Map<string, { rank: number; votes: bigint }>> {
  const list = client.parse(witnessesSchema, await client.full('listwitnesses'), 'listwitnesses').witnesses ?? [];
  const sorted = [...list].sort((a, b) => {
    const [va, vb] = [a.voteCount ?? 0n, b.voteCount ?? 0n];
    return va === vb ? 0 : va > vb ? -1 : 1;
  });
  return new Map(sorted.map((w, rank) => [toBase58(w.address), { rank, votes: w.voteCount ?? 0n }]));
}

/** The SRs the chain knows (`T…`). */
export async function witnesses(client: TronClient): Promise<Set<string>> {
  return new Set((await ranks(client)).keys());
}

/**
 * Tron Power frozen and not voted, whole TRX in sun: it earns nothing
 * (MortgageService pays voters by their votes, not their Tron Power).
 * VoteWitnessActuator.validate allows Σ votes × TRX_PRECISION ≤ the Tron
 * Power (AccountCapsule.getTronPower), so ⌊frozen / 1 TRX⌋ − Σ votes more
 * TRX can be voted without freezing.
 */
export function idleOf(account: TronAccount | undefined): bigint {
  const voted = [...votesOf(account).values()].reduce((sum, n) => sum + n, 0n);
  const votable = frozenOf(account) / SUN_PER_TRX - voted;
  return votable > 0n ? votable * SUN_PER_TRX : 0n;
}

export async function readPosition(client: TronClient): Promise<Position> {
  const { head, account, reward } = await readSolid(client);
  const votes = votesOf(account);
  const delegations: ValidatorStake[] = [...votes].map(([validator, count]) => ({ validator, amount: count * SUN_PER_TRX }));
  const { unbonding, withdrawable } = unfreezesOf(account, head.at);
  const idle = idleOf(account);
  const watched = new Set([...(client.config.validators ?? []), ...votes.keys()]);
  const validators: ValidatorHealth[] = [];
  if (watched.size > 0) {
    const ranked = await ranks(client);
    for (const validator of watched) {
      const r = ranked.get(validator);
      // TRON has no jailing; an SR's voters are paid only while it ranks in the top 127 with votes (MortgageService.payStandbyWitness).
      validators.push({ validator, jailed: false, active: r !== undefined && r.rank < WITNESS_STANDBY_LENGTH && r.votes > 0n });
    }
  }
  return {
    height: head.number,
    at: head.at,
    liquid: account?.balance ?? 0n,
    bonded: frozenOf(account),
    delegations,
    ...(idle > 0n ? { idle } : {}),
    unbonding,
    withdrawable,
    pendingRewards: reward,
    validators,
  };
}

/** A chain parameter (`getchainparameters`); a parameter at 0 is printed without `value`. */
export async function chainParameter(client: TronClient, key: string): Promise<bigint | undefined> {
  const list = client.parse(parametersSchema, await client.full('getchainparameters'), 'getchainparameters').chainParameter;
  const found = list.find((p) => p.key === key);
  return found === undefined ? undefined : (found.value ?? 0n);
}

export async function readLimits(client: TronClient): Promise<ChainLimits> {
  const feePerByte = (await chainParameter(client, 'getTransactionFee')) ?? 1000n;
  return {
    // FreezeBalanceV2Actuator: "frozenBalance must be more than 1TRX"; votes count whole TRX.
    minStake: SUN_PER_TRX,
    step: SUN_PER_TRX,
    maxUnbondingEntries: { count: UNFREEZE_MAX_TIMES, per: 'account' },
    // One bond (frozen TRX) backs every vote, and a VoteWitness carries the whole set: one freeze and one vote per rebalance.
    batchTargets: true,
    reserve: client.options.reserve,
    // A delegation is two transactions (freeze, vote), each burning its bytes at getTransactionFee when no bandwidth is left.
    typicalFee: 2n * TYPICAL_TX_BYTES * (feePerByte > 0n ? feePerByte : 1n),
  };
}

/**
 * What is open: a claim when `getReward` shows unpaid rewards, due 24 h
 * after the last WithdrawBalance (absent when the solidified block is past
 * that already), and only once that last one is harvested (its
 * `latest_withdraw_time` is the checkpoint's: see harvest.ts); a withdrawal
 * when unfreezes have expired.
 */
export async function readDue(client: TronClient, checkpoint: string | null): Promise<DueAction[]> {
  const reported = parseCheckpoint(client, checkpoint).withdrawTime;
  const { head, account, reward } = await readSolid(client);
  const due: DueAction[] = [];
  // A claim not yet harvested: another would overwrite its stamp, and harvest would never find it.
  const unharvested = (account?.latest_withdraw_time ?? 0) > reported;
  if (reward > 0n && !unharvested) {
    const voted = [...votesOf(account).keys()];
    const validators = voted.length > 0 ? voted : [...(client.config.validators ?? [])];
    const last = account?.latest_withdraw_time ?? 0;
    // WithdrawBalanceActuator: refused while latestBlockHeaderTimestamp − latest_withdraw_time < 24 h.
    const dueAt = last > 0 && last + CLAIM_INTERVAL_MS > head.at ? last + CLAIM_INTERVAL_MS : undefined;
    // One WithdrawBalance pays the account's rewards from every SR; with no SR to name, the account itself.
    due.push({ action: { kind: 'claim', validators: validators.length > 0 ? validators : [await client.address()] }, amount: reward, ...(dueAt === undefined ? {} : { dueAt }) });
  }
  const { withdrawable } = unfreezesOf(account, head.at);
  if (withdrawable > 0n) due.push({ action: { kind: 'withdraw' }, amount: withdrawable });
  return due;
}
