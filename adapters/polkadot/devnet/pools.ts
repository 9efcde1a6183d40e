/**
 * Nomination pools on Asset Hub: `pallet-nomination-pools` (pallet 80 in
 * the served metadata) with delegated stake (`DelegateStake<Runtime,
 * Staking, DelegatedStaking>`, polkadot-fellows
 * `asset-hub-polkadot/src/staking/nom_pools.rs`). Rules follow
 * `substrate/frame/nomination-pools/src/lib.rs` (join, bond_extra,
 * claim_payout, unbond, withdraw_unbonded, the reward counter) and
 * `substrate/frame/delegated-staking/src/lib.rs` (a member's funds stay in
 * its own account, held as `DelegatedStaking::StakingDelegation`; the pool's
 * bonded account is a virtual staker whose payee is the reward account).
 * docs/chains/polkadot.md §5.
 *
 * Slashes (lib.rs `on_slash`, `apply_slash`, `do_apply_slash`;
 * delegated-staking `lib.rs` `do_slash`): staking slashes the pool's
 * bonded account, a virtual staker, so no funds move; the pool's bonded
 * balance and its unbonding sub-pools shrink (`PoolSlashed`,
 * `UnbondingPoolSlashed`), so every member's balance in the pool (its
 * points' worth) follows at once, and the agent's `pendingSlash` grows.
 * A member's own held funds are slashed when its pending slash, its
 * delegation less its balance in the pool, is applied: by anyone's
 * `apply_slash(member)`, or by the member's own `withdraw_unbonded`
 * (`DelegatedStaking.Slashed{agent, delegator, amount}`).
 *
 * Devnet simplifications, said here: no commission (pools start with none),
 * `apply_slash` pays its fee even when it succeeds (the runtime refunds it,
 * `Pays::No`), no merging of old unbonding sub-pools into
 * `noEra` (members withdraw from their era's sub-pool), and `unbond` /
 * `withdraw_unbonded` only for the caller's own membership.
 */
import { u8aConcat, u8aToHex } from '@polkadot/util';

import { type CallSpec, type DispatchContext, existentialDeposit, lookup, moduleError, setHold, slashHold } from './dispatch.js';
import { big, type Runtime } from './runtime.js';
import { currentEra, readLedger, writeLedger } from './staking.js';
import type { Storage } from './state.js';

/** `FixedU128` precision of the reward counter (`RewardCounter = FixedU128`). */
const PRECISION = 10n ** 18n;

/** `PalletId(*b"py/nopls")` account of a pool: `modl` ‖ id ‖ type (Bonded 0, Reward 1) ‖ pool id LE, zero-padded (lib.rs `create_bonded_account`). */
export function poolAccount(poolId: number, kind: 'bonded' | 'reward'): string {
  const id = new Uint8Array(4);
  new DataView(id.buffer).setUint32(0, poolId, true);
  const raw = u8aConcat(new TextEncoder().encode('modlpy/nopls'), new Uint8Array([kind === 'bonded' ? 0 : 1]), id);
  const padded = new Uint8Array(32);
  padded.set(raw);
  return u8aToHex(padded);
}

interface Pool {
  memberCounter: number;
  points: bigint;
  state: string;
  raw: Record<string, unknown>;
}

interface Member {
  poolId: number;
  points: bigint;
  lastRecordedRewardCounter: bigint;
  unbondingEras: Map<number, bigint>;
}

interface RewardPool {
  lastRecordedRewardCounter: bigint;
  lastRecordedTotalPayouts: bigint;
  totalRewardsClaimed: bigint;
  totalCommissionPending: bigint;
  totalCommissionClaimed: bigint;
}

function readPool(storage: Storage, poolId: number): Pool | undefined {
  const raw = storage.read('NominationPools', 'BondedPools', poolId) as { memberCounter: number; points: unknown; state: string } | undefined;
  if (raw === undefined) return undefined;
  return { memberCounter: raw.memberCounter, points: big(raw.points), state: String(raw.state).toLowerCase(), raw: raw as Record<string, unknown> };
}

function writePool(storage: Storage, poolId: number, pool: Pool): void {
  storage.write('NominationPools', 'BondedPools', [poolId], { ...pool.raw, memberCounter: pool.memberCounter, points: pool.points });
}

function readMember(storage: Storage, who: string): Member | undefined {
  const raw = storage.read('NominationPools', 'PoolMembers', who) as { poolId: number; points: unknown; lastRecordedRewardCounter: unknown; unbondingEras: Record<string, unknown> } | undefined;
  if (raw === undefined) return undefined;
  return {
    poolId: raw.poolId,
    points: big(raw.points),
    lastRecordedRewardCounter: big(raw.lastRecordedRewardCounter),
    unbondingEras: new Map(Object.entries(raw.unbondingEras).map(([era, points]) => [Number(era), big(points)])),
  };
}

function writeMember(storage: Storage, who: string, m: Member): void {
  storage.write('NominationPools', 'PoolMembers', [who], { ...m, unbondingEras: Object.fromEntries(m.unbondingEras) });
}

function readRewardPool(storage: Storage, poolId: number): RewardPool {
  const raw = storage.read('NominationPools', 'RewardPools', poolId) as Record<string, unknown> | undefined;
  const get = (k: string): bigint => big(raw?.[k] ?? 0);
  return {
    lastRecordedRewardCounter: get('lastRecordedRewardCounter'),
    lastRecordedTotalPayouts: get('lastRecordedTotalPayouts'),
    totalRewardsClaimed: get('totalRewardsClaimed'),
    totalCommissionPending: get('totalCommissionPending'),
    totalCommissionClaimed: get('totalCommissionClaimed'),
  };
}

/** The pool's active stake (`StakeAdapter::active_stake`): its bonded account's ledger. */
function poolBalance(storage: Storage, poolId: number): bigint {
  return readLedger(storage, poolAccount(poolId, 'bonded'))?.active ?? 0n;
}

/** lib.rs `balance_to_point`: 1:1 for an empty pool, `new_funds × points / balance` (floor) otherwise. */
export function balanceToPoints(storage: Storage, poolId: number, funds: bigint): bigint {
  const pool = readPool(storage, poolId);
  const balance = poolBalance(storage, poolId);
  if (pool === undefined) return 0n;
  if (pool.points === 0n || balance === 0n) return balance === 0n && pool.points > 0n ? funds * pool.points : funds;
  return (funds * pool.points) / balance;
}

/** lib.rs `point_to_balance`: `balance × points / total points` (floor). */
export function pointsToBalance(storage: Storage, poolId: number, points: bigint): bigint {
  const pool = readPool(storage, poolId);
  if (pool === undefined || pool.points === 0n) return 0n;
  return (poolBalance(storage, poolId) * points) / pool.points;
}

/** The reward account's payable balance: its existential deposit is frozen (`FreezeReason::PoolMinBalance`). */
function rewardBalance(runtime: Runtime, storage: Storage, poolId: number): bigint {
  const free = storage.account(poolAccount(poolId, 'reward')).free;
  const ed = existentialDeposit(runtime);
  return free > ed ? free - ed : 0n;
}

/** lib.rs `RewardPool::current_reward_counter` (no commission): last counter + new payouts / pool points, rounding down. */
function currentRewardCounter(runtime: Runtime, storage: Storage, poolId: number): bigint {
  const pool = readPool(storage, poolId)!;
  const reward = readRewardPool(storage, poolId);
  const payouts = rewardBalance(runtime, storage, poolId) + reward.totalRewardsClaimed + reward.totalCommissionClaimed - reward.lastRecordedTotalPayouts;
  if (pool.points === 0n || payouts <= 0n) return reward.lastRecordedRewardCounter;
  return reward.lastRecordedRewardCounter + (payouts * PRECISION) / pool.points;
}

/** The member's pending rewards (`NominationPoolsApi_pending_rewards`); 0 for an account that is not a member. */
export function pendingRewards(runtime: Runtime, storage: Storage, who: string): bigint {
  const member = readMember(storage, who);
  if (member === undefined || readPool(storage, member.poolId) === undefined) return 0n;
  return ((currentRewardCounter(runtime, storage, member.poolId) - member.lastRecordedRewardCounter) * member.points) / PRECISION;
}

/** lib.rs `RewardPool::update_records`, before the pool's points change. */
function updateRecords(runtime: Runtime, storage: Storage, poolId: number): void {
  const reward = readRewardPool(storage, poolId);
  reward.lastRecordedRewardCounter = currentRewardCounter(runtime, storage, poolId);
  const total = rewardBalance(runtime, storage, poolId) + reward.totalRewardsClaimed + reward.totalCommissionClaimed;
  if (total > reward.lastRecordedTotalPayouts) reward.lastRecordedTotalPayouts = total;
  storage.write('NominationPools', 'RewardPools', [poolId], reward);
}

/** lib.rs `do_reward_payout`: pays the member's pending rewards from the reward account; nothing pending: no event. */
function payout(ctx: DispatchContext, who: string, member: Member): bigint {
  const { runtime, storage } = ctx;
  const rc = currentRewardCounter(runtime, storage, member.poolId);
  const pending = ((rc - member.lastRecordedRewardCounter) * member.points) / PRECISION;
  member.lastRecordedRewardCounter = rc;
  writeMember(storage, who, member);
  if (pending === 0n) return 0n;
  const reward = readRewardPool(storage, member.poolId);
  reward.totalRewardsClaimed += pending;
  storage.write('NominationPools', 'RewardPools', [member.poolId], reward);
  const from = poolAccount(member.poolId, 'reward');
  const source = storage.account(from);
  source.free -= pending;
  storage.setAccount(from, source);
  const dest = storage.account(who);
  dest.free += pending;
  storage.setAccount(who, dest);
  ctx.emit('Balances', 'Transfer', [from, who, pending]);
  ctx.emit('NominationPools', 'PaidOut', [who, member.poolId, pending]);
  ctx.onReward?.(who, pending);
  return pending;
}

/** Delegates `amount` of the member's funds to the pool and bonds it (delegated-staking `delegate`, staking `bond_extra` of the agent). */
function bondFunds(ctx: DispatchContext, who: string, poolId: number, amount: bigint): bigint {
  const { storage } = ctx;
  const agent = poolAccount(poolId, 'bonded');
  const points = balanceToPoints(storage, poolId, amount);
  const delegated = big((storage.read('DelegatedStaking', 'Delegators', who) as { amount: unknown } | undefined)?.amount ?? 0);
  setHold(ctx, who, 'DelegatedStaking', 'StakingDelegation', delegated + amount);
  storage.write('DelegatedStaking', 'Delegators', [who], { agent, amount: delegated + amount });
  const agentInfo = storage.read('DelegatedStaking', 'Agents', agent) as { payee: string; totalDelegated: unknown; unclaimedWithdrawals: unknown; pendingSlash: unknown };
  storage.write('DelegatedStaking', 'Agents', [agent], { ...agentInfo, totalDelegated: big(agentInfo.totalDelegated) + amount });
  ctx.emit('DelegatedStaking', 'Delegated', [agent, who, amount]);
  const ledger = readLedger(storage, agent)!;
  ledger.total += amount;
  ledger.active += amount;
  writeLedger(storage, ledger);
  ctx.emit('Staking', 'Bonded', [agent, amount]);
  const pool = readPool(storage, poolId)!;
  pool.points += points;
  writePool(storage, poolId, pool);
  return points;
}

function memberOf(ctx: DispatchContext, who: string): Member {
  const member = readMember(ctx.storage, who);
  if (member === undefined) throw moduleError(ctx.runtime, 'NominationPools', 'PoolMemberNotFound');
  return member;
}

function minJoinBond(storage: Storage): bigint {
  return big(storage.read('NominationPools', 'MinJoinBond') ?? 0);
}

/** lib.rs `UnbondPool::point_to_balance`: nothing when the sub-pool has no balance or points. */
function unbondPointsToBalance(pool: { points: bigint; balance: bigint }, points: bigint): bigint {
  if (pool.balance === 0n || pool.points === 0n || points === 0n) return 0n;
  return (pool.balance * points) / pool.points;
}

interface SubPools {
  noEra: { points: bigint; balance: bigint };
  withEra: Record<string, { points: bigint; balance: bigint }>;
}

function readSubPools(storage: Storage, poolId: number): SubPools {
  const raw = storage.read('NominationPools', 'SubPoolsStorage', poolId) as { noEra: { points: unknown; balance: unknown }; withEra: Record<string, { points: unknown; balance: unknown }> } | undefined;
  const pair = (p: { points: unknown; balance: unknown } | undefined): { points: bigint; balance: bigint } => ({ points: big(p?.points ?? 0), balance: big(p?.balance ?? 0) });
  return { noEra: pair(raw?.noEra), withEra: Object.fromEntries(Object.entries(raw?.withEra ?? {}).map(([e, p]) => [e, pair(p)])) };
}

/** lib.rs `PoolMember::total_balance`: its active points' worth plus its share of each unbonding sub-pool. */
export function memberTotalBalance(storage: Storage, member: Member): bigint {
  const sub = readSubPools(storage, member.poolId);
  let total = pointsToBalance(storage, member.poolId, member.points);
  for (const [era, points] of member.unbondingEras) total += unbondPointsToBalance(sub.withEra[String(era)] ?? sub.noEra, points);
  return total;
}

function agentOf(storage: Storage, agent: string): { payee: string; totalDelegated: bigint; unclaimedWithdrawals: bigint; pendingSlash: bigint } | undefined {
  const raw = storage.read('DelegatedStaking', 'Agents', agent) as { payee: string; totalDelegated: unknown; unclaimedWithdrawals: unknown; pendingSlash: unknown } | undefined;
  if (raw === undefined) return undefined;
  return { payee: raw.payee, totalDelegated: big(raw.totalDelegated), unclaimedWithdrawals: big(raw.unclaimedWithdrawals), pendingSlash: big(raw.pendingSlash) };
}

/** lib.rs `member_pending_slash`: nothing while the pool has no pending slash; else the delegation less the member's balance in the pool. */
export function memberPendingSlash(storage: Storage, who: string): bigint {
  const member = readMember(storage, who);
  if (member === undefined) return 0n;
  if ((agentOf(storage, poolAccount(member.poolId, 'bonded'))?.pendingSlash ?? 0n) === 0n) return 0n;
  const delegated = big((storage.read('DelegatedStaking', 'Delegators', who) as { amount: unknown } | undefined)?.amount ?? 0);
  const expected = memberTotalBalance(storage, member);
  return delegated > expected ? delegated - expected : 0n;
}

/** The pool whose bonded account is `stash` (lib.rs `ReversePoolIdLookup`). */
function poolOfBonded(storage: Storage, stash: string): number | undefined {
  const last = Number(storage.read('NominationPools', 'LastPoolId') ?? 0);
  for (let id = 1; id <= last; id += 1) if (poolAccount(id, 'bonded') === stash) return id;
  return undefined;
}

/**
 * The staking ledger's slash listeners for a pool's bonded account:
 * nomination-pools `on_slash` (each slashed unlocking chunk's era sets its
 * sub-pool's balance, `UnbondingPoolSlashed`; then `PoolSlashed` with the
 * new bonded balance) and delegated-staking's `on_slash` (the agent's
 * `pending_slash` grows by what was slashed).
 */
export function poolsOnSlash(ctx: DispatchContext, stash: string, active: bigint, unlocking: ReadonlyMap<number, bigint>, total: bigint): void {
  const { storage } = ctx;
  const poolId = poolOfBonded(storage, stash);
  if (poolId === undefined) return;
  const sub = readSubPools(storage, poolId);
  for (const [era, balance] of unlocking) {
    const pool = sub.withEra[String(era)];
    if (pool === undefined) continue;
    pool.balance = balance;
    ctx.emit('NominationPools', 'UnbondingPoolSlashed', [poolId, era, balance]);
  }
  ctx.emit('NominationPools', 'PoolSlashed', [poolId, active]);
  storage.write('NominationPools', 'SubPoolsStorage', [poolId], sub);
  const agent = agentOf(storage, stash);
  if (agent !== undefined) storage.write('DelegatedStaking', 'Agents', [stash], { ...agent, pendingSlash: agent.pendingSlash + total });
}

/**
 * lib.rs `do_apply_slash` → delegated-staking `do_slash`: slashes the
 * member's pending slash from its held delegation. `false` when there is
 * nothing to slash; below the existential deposit with `enforceMin`:
 * SlashTooLow.
 */
function doApplySlash(ctx: DispatchContext, who: string, enforceMin: boolean): boolean {
  const { runtime, storage } = ctx;
  const member = memberOf(ctx, who);
  const pending = memberPendingSlash(storage, who);
  if (pending === 0n) return false;
  if (enforceMin && pending < existentialDeposit(runtime)) throw moduleError(runtime, 'NominationPools', 'SlashTooLow');
  const agent = poolAccount(member.poolId, 'bonded');
  const ledger = agentOf(storage, agent)!;
  const delegation = storage.read('DelegatedStaking', 'Delegators', who) as { agent: string; amount: unknown };
  const taken = slashHold(ctx, who, 'DelegatedStaking', pending);
  const left = big(delegation.amount) - taken;
  if (left === 0n) storage.remove('DelegatedStaking', 'Delegators', who);
  else storage.write('DelegatedStaking', 'Delegators', [who], { agent, amount: left });
  // AgentLedger::remove_slash: both the pending slash and the total delegated shrink.
  storage.write('DelegatedStaking', 'Agents', [agent], {
    ...ledger,
    pendingSlash: ledger.pendingSlash > taken ? ledger.pendingSlash - taken : 0n,
    totalDelegated: ledger.totalDelegated > taken ? ledger.totalDelegated - taken : 0n,
  });
  ctx.emit('DelegatedStaking', 'Slashed', [agent, who, taken]);
  ctx.onSlash?.(who, taken);
  return true;
}

const calls: Record<string, CallSpec['run']> = {
  // lib.rs `apply_slash`: permissionless; at least the existential deposit.
  applySlash(ctx, [memberArg]) {
    if (!doApplySlash(ctx, lookup(memberArg!), true)) throw moduleError(ctx.runtime, 'NominationPools', 'NothingToSlash');
  },
  // lib.rs `join`.
  join(ctx, [amountArg, poolArg]) {
    const { runtime, storage } = ctx;
    const amount = (amountArg as unknown as { toBigInt(): bigint }).toBigInt();
    const poolId = (poolArg as unknown as { toNumber(): number }).toNumber();
    if (amount < minJoinBond(storage)) throw moduleError(runtime, 'NominationPools', 'MinimumBondNotMet');
    if (readMember(storage, ctx.who) !== undefined) throw moduleError(runtime, 'NominationPools', 'AccountBelongsToOtherPool');
    const pool = readPool(storage, poolId);
    if (pool === undefined) throw moduleError(runtime, 'NominationPools', 'PoolNotFound');
    if (pool.state !== 'open') throw moduleError(runtime, 'NominationPools', 'NotOpen');
    updateRecords(runtime, storage, poolId);
    const rc = readRewardPool(storage, poolId).lastRecordedRewardCounter;
    const points = bondFunds(ctx, ctx.who, poolId, amount);
    const after = readPool(storage, poolId)!;
    after.memberCounter += 1;
    writePool(storage, poolId, after);
    storage.write('NominationPools', 'CounterForPoolMembers', [], Number(storage.read('NominationPools', 'CounterForPoolMembers') ?? 0) + 1);
    // A new member starts at the pool's current reward counter: it earns nothing retroactively.
    writeMember(storage, ctx.who, { poolId, points, lastRecordedRewardCounter: rc, unbondingEras: new Map() });
    ctx.emit('NominationPools', 'Bonded', [ctx.who, poolId, amount, true]);
  },
  // lib.rs `bond_extra`: pays pending rewards first.
  bondExtra(ctx, [extraArg]) {
    const { runtime, storage } = ctx;
    const member = memberOf(ctx, ctx.who);
    const pool = readPool(storage, member.poolId)!;
    if (pool.state !== 'open') throw moduleError(runtime, 'NominationPools', 'NotOpen');
    updateRecords(runtime, storage, member.poolId);
    const paid = payout(ctx, ctx.who, member);
    const extra = extraArg!.toJSON() as Record<string, unknown>;
    const amount = 'freeBalance' in extra ? big(extra.freeBalance) : 'FreeBalance' in extra ? big(extra.FreeBalance) : paid;
    const points = bondFunds(ctx, ctx.who, member.poolId, amount);
    member.points += points;
    writeMember(storage, ctx.who, member);
    ctx.emit('NominationPools', 'Bonded', [ctx.who, member.poolId, amount, false]);
  },
  // lib.rs `claim_payout`.
  claimPayout(ctx) {
    const member = memberOf(ctx, ctx.who);
    if (member.points === 0n) throw moduleError(ctx.runtime, 'NominationPools', 'FullyUnbonding');
    payout(ctx, ctx.who, member);
  },
  // lib.rs `unbond`: points, not balance; pays pending rewards first.
  unbond(ctx, [memberArg, pointsArg]) {
    const { runtime, storage } = ctx;
    const who = lookup(memberArg!);
    if (who !== ctx.who) throw moduleError(runtime, 'NominationPools', 'NotKickerOrDestroying');
    const member = memberOf(ctx, who);
    const points = (pointsArg as unknown as { toBigInt(): bigint }).toBigInt();
    if (points > member.points) throw moduleError(runtime, 'NominationPools', 'MinimumBondNotMet');
    updateRecords(runtime, storage, member.poolId);
    payout(ctx, who, member);
    const balance = pointsToBalance(storage, member.poolId, points);
    const remaining = pointsToBalance(storage, member.poolId, member.points - points);
    // A partial unbond must leave at least MinJoinBond active.
    if (member.points - points > 0n && remaining < minJoinBond(storage)) throw moduleError(runtime, 'NominationPools', 'MinimumBondNotMet');
    // The sub-pool's era is the era of the chunk staking's unbond makes (staking-async `unbond`: active era +
    // BondingDuration): `on_slash` finds a slashed chunk's sub-pool by that era (lib.rs, test-delegate-stake `pool_slash_proportional`).
    const era = (storage.read('Staking', 'ActiveEra') as { index: number }).index + Number(runtime.constant('Staking', 'BondingDuration'));
    const agent = poolAccount(member.poolId, 'bonded');
    const ledger = readLedger(storage, agent)!;
    ledger.active -= balance;
    const last = ledger.unlocking[ledger.unlocking.length - 1];
    if (last?.era === era) last.value += balance;
    else ledger.unlocking.push({ value: balance, era });
    writeLedger(storage, ledger);
    ctx.emit('Staking', 'Unbonded', [agent, balance]);
    const pool = readPool(storage, member.poolId)!;
    pool.points -= points;
    writePool(storage, member.poolId, pool);
    const sub = storage.read('NominationPools', 'SubPoolsStorage', member.poolId) as { noEra: unknown; withEra: Record<string, { points: unknown; balance: unknown }> } | undefined;
    const withEra = Object.fromEntries(Object.entries(sub?.withEra ?? {}).map(([e, p]) => [e, { points: big(p.points), balance: big(p.balance) }]));
    const entry = withEra[String(era)] ?? { points: 0n, balance: 0n };
    // UnbondPool::balance_to_point: 1:1 into an empty sub-pool.
    const subPoints = entry.points === 0n || entry.balance === 0n ? balance : (balance * entry.points) / entry.balance;
    entry.points += subPoints;
    entry.balance += balance;
    withEra[String(era)] = entry;
    storage.write('NominationPools', 'SubPoolsStorage', [member.poolId], { noEra: sub?.noEra ?? { points: 0, balance: 0 }, withEra });
    member.points -= points;
    member.unbondingEras.set(era, (member.unbondingEras.get(era) ?? 0n) + subPoints);
    if (member.unbondingEras.size > Number(runtime.constant('NominationPools', 'MaxUnbonding'))) throw moduleError(runtime, 'NominationPools', 'MaxUnbondingLimit');
    writeMember(storage, who, member);
    ctx.emit('NominationPools', 'Unbonded', [who, member.poolId, balance, points, era]);
  },
  // lib.rs `withdraw_unbonded`: eras up to CurrentEra; nothing due is an error here.
  withdrawUnbonded(ctx, [memberArg]) {
    const { runtime, storage } = ctx;
    const who = lookup(memberArg!);
    if (who !== ctx.who) throw moduleError(runtime, 'NominationPools', 'NotKickerOrDestroying');
    const member = memberOf(ctx, who);
    const current = currentEra(storage) ?? 0;
    const due = [...member.unbondingEras].filter(([era]) => era <= current);
    if (due.length === 0) throw moduleError(runtime, 'NominationPools', 'CannotWithdrawAny');
    // A pending slash is applied before the withdrawal (nothing to slash is no error here).
    doApplySlash(ctx, who, false);
    const sub = storage.read('NominationPools', 'SubPoolsStorage', member.poolId) as { noEra: unknown; withEra: Record<string, { points: unknown; balance: unknown }> };
    const withEra = Object.fromEntries(Object.entries(sub.withEra).map(([e, p]) => [e, { points: big(p.points), balance: big(p.balance) }]));
    let balance = 0n;
    let points = 0n;
    for (const [era, p] of due) {
      const pool = withEra[String(era)]!;
      const share = pool.points === 0n ? 0n : (pool.balance * p) / pool.points;
      pool.points -= p;
      pool.balance -= share;
      if (pool.points === 0n) delete withEra[String(era)];
      balance += share;
      points += p;
      member.unbondingEras.delete(era);
    }
    storage.write('NominationPools', 'SubPoolsStorage', [member.poolId], { noEra: sub.noEra, withEra });
    // The pool's own staking withdrawal (pool_withdraw_unbonded), then the member's delegation released.
    const agent = poolAccount(member.poolId, 'bonded');
    const ledger = readLedger(storage, agent)!;
    const released = ledger.unlocking.filter((c) => c.era <= current).reduce((s, c) => s + c.value, 0n);
    if (released > 0n) {
      ledger.unlocking = ledger.unlocking.filter((c) => c.era > current);
      ledger.total -= released;
      writeLedger(storage, ledger);
      ctx.emit('Staking', 'Withdrawn', [agent, released]);
    }
    const delegated = big((storage.read('DelegatedStaking', 'Delegators', who) as { amount: unknown } | undefined)?.amount ?? 0);
    setHold(ctx, who, 'DelegatedStaking', 'StakingDelegation', delegated - balance);
    if (delegated - balance === 0n) storage.remove('DelegatedStaking', 'Delegators', who);
    else storage.write('DelegatedStaking', 'Delegators', [who], { agent, amount: delegated - balance });
    const agentInfo = storage.read('DelegatedStaking', 'Agents', agent) as { payee: string; totalDelegated: unknown; unclaimedWithdrawals: unknown; pendingSlash: unknown };
    storage.write('DelegatedStaking', 'Agents', [agent], { ...agentInfo, totalDelegated: big(agentInfo.totalDelegated) - balance });
    ctx.emit('DelegatedStaking', 'Released', [agent, who, balance]);
    ctx.emit('NominationPools', 'Withdrawn', [who, member.poolId, balance, points]);
    if (member.points === 0n && member.unbondingEras.size === 0) {
      storage.remove('NominationPools', 'PoolMembers', who);
      const pool = readPool(storage, member.poolId)!;
      pool.memberCounter -= 1;
      writePool(storage, member.poolId, pool);
      ctx.emit('NominationPools', 'MemberRemoved', [member.poolId, who, 0n]);
    } else writeMember(storage, who, member);
  },
};

/** The pool calls with the devnet's weights. */
export const poolCalls: Record<string, CallSpec> = Object.fromEntries(
  Object.entries(calls).map(([name, run]) => [`nominationPools.${name}`, { weight: { refTime: 400_000_000n, proofSize: 12_000n }, run }]),
);

/** Creates pool `poolId` at genesis: a depositor's bond, the bonded account as a virtual staker nominating `targets`, an open pool. */
export function genesisPool(runtime: Runtime, storage: Storage, poolId: number, depositor: string, bond: bigint, targets: string[]): void {
  const bonded = poolAccount(poolId, 'bonded');
  const reward = poolAccount(poolId, 'reward');
  const ed = existentialDeposit(runtime);
  storage.setAccount(reward, { nonce: 0, consumers: 0, providers: 1, sufficients: 0, free: ed, reserved: 0n, frozen: ed, flags: 0n });
  storage.setAccount(bonded, { nonce: 0, consumers: 0, providers: 1, sufficients: 0, free: 0n, reserved: 0n, frozen: 0n, flags: 0n });
  storage.setAccount(depositor, { nonce: 0, consumers: 1, providers: 1, sufficients: 0, free: ed, reserved: bond, frozen: 0n, flags: 0n });
  storage.write('Balances', 'Holds', [depositor], [{ id: { DelegatedStaking: 'StakingDelegation' }, amount: bond }]);
  storage.write('DelegatedStaking', 'Delegators', [depositor], { agent: bonded, amount: bond });
  storage.write('DelegatedStaking', 'Agents', [bonded], { payee: reward, totalDelegated: bond, unclaimedWithdrawals: 0, pendingSlash: 0 });
  storage.write('Staking', 'Bonded', [bonded], bonded);
  storage.write('Staking', 'Ledger', [bonded], { stash: bonded, total: bond, active: bond, unlocking: [] });
  storage.write('Staking', 'Payee', [bonded], { Account: reward });
  storage.write('Staking', 'VirtualStakers', [bonded], null);
  storage.write('Staking', 'Nominators', [bonded], { targets: [...targets].sort(), submittedIn: 0, suppressed: false });
  storage.write('NominationPools', 'BondedPools', [poolId], {
    commission: { current: null, max: null, changeRate: null, throttleFrom: null, claimPermission: null },
    memberCounter: 1,
    points: bond,
    roles: { depositor, root: depositor, nominator: depositor, bouncer: depositor },
    state: 'Open',
  });
  storage.write('NominationPools', 'RewardPools', [poolId], { lastRecordedRewardCounter: 0, lastRecordedTotalPayouts: 0, totalRewardsClaimed: 0, totalCommissionPending: 0, totalCommissionClaimed: 0 });
  storage.write('NominationPools', 'SubPoolsStorage', [poolId], { noEra: { points: 0, balance: 0 }, withEra: {} });
  storage.write('NominationPools', 'PoolMembers', [depositor], { poolId, points: bond, lastRecordedRewardCounter: 0, unbondingEras: {} });
  storage.write('NominationPools', 'LastPoolId', [], poolId);
  storage.write('NominationPools', 'CounterForPoolMembers', [], 1);
  storage.write('NominationPools', 'CounterForBondedPools', [], 1);
}
