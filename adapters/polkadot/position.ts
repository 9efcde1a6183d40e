/**
 * Polkadot reads of the custody account, all at the finalized head: the
 * position, the chain's limits and what is due (payouts to claim before
 * they expire, unbonded funds to withdraw). Read-only: the custody address
 * suffices, no key.
 *
 * Nominate mode: `bonded` is the ledger's active bond; every nominated
 * validator carries the whole bond (one bond backs all nominations; the
 * election decides what each gets), unbonding is the ledger's unlocking
 * chunks. Pool mode: `bonded` is the membership's points at the pool's
 * rate, the pool (`pool:<id>`) its one target, unbonding the member's
 * unbonding eras at their sub-pools' rates.
 */
import { encodeAddress } from '@polkadot/util-crypto';

import type { ChainLimits, DueAction, Position, Unbonding, ValidatorHealth } from '../types.js';
import { accountHex, type PolkadotClient } from './client.js';
import { poolTarget } from './options.js';
import { unclaimedPages, type UnclaimedPage } from './payouts.js';
import { eraStart, readSnapshot, type Snapshot } from './state.js';

/** The configured targets as hex stashes (nominate mode). */
export function targetHexes(client: PolkadotClient): string[] {
  return client.options.targets.map(accountHex);
}

/** The validator name the adapter uses for a stash (hex): the configured spelling, else SS58 in the address's format. */
export function targetName(client: PolkadotClient, stash: string): string {
  return client.options.targets.find((t) => client.options.mode === 'nominate' && accountHex(t) === stash) ?? encodeAddress(stash, 0);
}

export async function readPosition(client: PolkadotClient): Promise<Position> {
  const s = await readSnapshot(client);
  return client.options.mode === 'pool' ? poolPosition(client, s) : nominatePosition(client, s);
}

function nominatePosition(client: PolkadotClient, s: Snapshot): Promise<Position> {
  const active = s.ledger?.active ?? 0n;
  const delegations = active > 0n ? s.nominations.map((stash) => ({ validator: targetName(client, stash), amount: active })) : [];
  const unbonding: Unbonding[] = [];
  let withdrawable = 0n;
  // staking `withdraw_unbonded` releases the chunks with era ≤ CurrentEra (the planned era).
  for (const chunk of s.ledger?.unlocking ?? []) {
    if (chunk.era <= s.currentEra) withdrawable += chunk.value;
    else unbonding.push({ amount: chunk.value, completesAt: eraStart(client, s, chunk.era) });
  }
  return withPending(client, s, {
    height: BigInt(s.head.number),
    at: s.at,
    liquid: s.account.free,
    bonded: active,
    delegations,
    unbonding,
    withdrawable,
    pendingRewards: 0n,
    validators: [],
  });
}

/** Nominate mode: the unclaimed payouts' sum as pending, and the configured validators' health. */
async function withPending(client: PolkadotClient, s: Snapshot, position: Position): Promise<Position> {
  const custody = await client.accountId();
  const pages = s.ledger === undefined && s.nominations.length === 0 ? [] : await unclaimedPages(client, s, payoutTargets(client, s), custody);
  position.pendingRewards = pages.reduce((sum, p) => sum + p.amount, 0n);
  position.validators = await health(client, s);
  return position;
}

/** Validators whose payouts may hold the custody: the configured ones and whatever the chain says it nominates. */
function payoutTargets(client: PolkadotClient, s: Snapshot): string[] {
  return [...new Set([...targetHexes(client), ...s.nominations])];
}

/** Whether each configured validator is a validator at all (else it earns nothing: `jailed`), and exposed in the active era. */
async function health(client: PolkadotClient, s: Snapshot): Promise<ValidatorHealth[]> {
  const targets = targetHexes(client);
  return client.call(async (api) => {
    const at = await client.atRecent(api, s.head.hash);
    const q = at.query.staking!;
    const items: unknown[] = [];
    for (const t of targets) items.push([q.validators!, t], [q.erasStakersOverview!, [s.activeEra.index, t]]);
    const values = (await at.queryMulti(items as never)) as unknown as { isEmpty: boolean; toJSON(): unknown }[];
    // `Validators` answers its default for any account: whether one is a candidate is whether the key exists (asked only of those not elected).
    const candidate = await Promise.all(
      targets.map(async (t, i) => !values[2 * i + 1]!.isEmpty || !((await api.rpc.state.getStorage(api.query.staking!.validators!.key(t), s.head.hash)) as unknown as { isEmpty: boolean }).isEmpty),
    );
    return targets.map((t, i) => {
      const prefs = values[2 * i]!;
      // Elected for the active era: it has an exposure there.
      const exposed = !values[2 * i + 1]!.isEmpty;
      const commission = (prefs.toJSON() as { commission?: number } | null)?.commission;
      return {
        validator: targetName(client, t),
        // No longer a validator candidate (chilled, or never one): it earns nothing.
        jailed: !candidate[i],
        active: exposed,
        ...(commission === undefined ? {} : { commissionBps: Math.round(commission / 100_000) }),
      };
    });
  });
}

function poolPosition(client: PolkadotClient, s: Snapshot): Position {
  const target = poolTarget(client.options.poolId!);
  const member = s.member;
  const unbonding: Unbonding[] = [];
  let withdrawable = 0n;
  // nomination-pools `withdraw_unbonded`: the eras ≤ CurrentEra (the staking adapter's current era).
  for (const entry of member?.unbonding ?? []) {
    if (entry.era <= s.currentEra) withdrawable += entry.balance;
    else unbonding.push({ validator: target, amount: entry.balance, completesAt: eraStart(client, s, entry.era) });
  }
  const bonded = member?.balance ?? 0n;
  return {
    height: BigInt(s.head.number),
    at: s.at,
    liquid: s.account.free,
    bonded,
    delegations: bonded > 0n ? [{ validator: target, amount: bonded }] : [],
    unbonding,
    withdrawable,
    pendingRewards: member?.pending ?? 0n,
    validators: s.pool === undefined ? [] : [{ validator: target, jailed: s.pool.state === 'Destroying', active: s.pool.state !== 'Destroying' && s.pool.nominations.length > 0 }],
  };
}

/**
 * The chain's limits: the first bond must reach `MinNominatorBond` (or the
 * pool's `MinJoinBond`), later ones any amount; unlocking chunks (pool:
 * unbonding eras) per account; the existential deposit stays liquid; the
 * fee of a `bond_extra` as the runtime's `TransactionPaymentApi` prices it.
 */
export async function readLimits(client: PolkadotClient): Promise<ChainLimits> {
  const s = await readSnapshot(client);
  const address = await client.address();
  return client.call(async (api) => {
    const pool = client.options.mode === 'pool';
    const tx = pool ? api.tx.nominationPools!.bondExtra!({ FreeBalance: s.existentialDeposit }) : api.tx.staking!.bondExtra!(s.existentialDeposit);
    // A fake signature at nonce 0, immortal: the fee does not depend on either, and polkadot-js then asks for nothing else.
    const info = await tx.paymentInfo(address, { nonce: 0, era: 0, blockHash: api.genesisHash });
    const maxChunks = pool ? api.consts.nominationPools!.maxUnbonding : api.consts.staking!.maxUnlockingChunks;
    const bonded = pool ? (s.member?.points ?? 0n) > 0n : (s.ledger?.active ?? 0n) > 0n;
    const first = pool ? s.minJoinBond : s.minNominatorBond;
    return {
      minStake: bonded ? 1n : first > s.existentialDeposit ? first : s.existentialDeposit,
      step: 1n,
      maxUnbondingEntries: { count: (maxChunks as unknown as { toNumber(): number }).toNumber(), per: 'account' },
      reserve: s.existentialDeposit,
      typicalFee: info.partialFee.toBigInt() > 0n ? info.partialFee.toBigInt() : 1n,
    };
  });
}

/**
 * Pool mode: whether the custody's pending slash is to be applied now. Until
 * it is, the membership is already worth less (`bonded` shows it) but no
 * `DelegatedStaking.Slashed` has been emitted, so the harvest reports no
 * loss and users go on being credited as if none happened; applying it
 * ourselves brings the negative event in with the next harvest instead of
 * whenever someone else, or our own withdrawal, applies it.
 * nomination-pools lib.rs `apply_slash` (permissionless, fee refunded on
 * success) → `do_apply_slash(.., enforce_min_slash: true)`: nothing pending
 * → `NothingToSlash`; less than the existential deposit → `SlashTooLow`
 * (such a slash is taken only by the member's withdrawal). So it is due
 * exactly when the runtime API's pending slash reaches the existential
 * deposit.
 */
export function slashDue(s: Snapshot): boolean {
  return s.member !== undefined && s.member.pendingSlash > 0n && s.member.pendingSlash >= s.existentialDeposit;
}

/**
 * What is due. Nominate mode: per validator, a claim of its unclaimed
 * pages (oldest era first), due now, lost once the oldest leaves the
 * history depth; a withdrawal of the chunks CurrentEra has reached. Pool
 * mode: a claim when rewards are pending or a slash is to be applied
 * ({@link slashDue}); a withdrawal of the unbonding eras CurrentEra has
 * reached (pool rewards do not expire).
 */
export async function readDue(client: PolkadotClient, _checkpoint: string | null): Promise<DueAction[]> {
  const s = await readSnapshot(client);
  const due: DueAction[] = [];
  if (client.options.mode === 'pool') {
    const target = poolTarget(client.options.poolId!);
    const member = s.member;
    if (member === undefined) return [];
    const claim = member.pending > 0n && member.points > 0n;
    const slash = slashDue(s);
    // The pending slash is settled by the claim (sign.ts: `apply_slash(custody)`, batched before `claim_payout` when
    // rewards are pending too): one due action per pool, as the harvest job keys a job's intents by kind and target.
    // A claim rather than a withdrawal: a withdrawal brings unlocked funds back to liquid (the receipt's `unlocked`), while
    // this, like claim_payout, settles the pool's accounting with the custody's balance and moves nothing to liquid.
    // Its amount is what the claim moves net: the rewards paid less the slash taken (negative when only a slash is due).
    if (claim || slash) due.push({ action: { kind: 'claim', validators: [target] }, amount: (claim ? member.pending : 0n) - (slash ? member.pendingSlash : 0n) });
    const withdrawable = member.unbonding.filter((u) => u.era <= s.currentEra).reduce((sum, u) => sum + u.balance, 0n);
    if (withdrawable > 0n) due.push({ action: { kind: 'withdraw', validator: target }, amount: withdrawable });
    return due;
  }
  const custody = await client.accountId();
  const pages = await unclaimedPages(client, s, payoutTargets(client, s), custody);
  const byValidator = new Map<string, UnclaimedPage[]>();
  for (const p of pages) byValidator.set(p.validator, [...(byValidator.get(p.validator) ?? []), p]);
  const depth = await client.call(async (api) => (api.consts.staking!.historyDepth as unknown as { toNumber(): number }).toNumber());
  for (const [validator, list] of byValidator) {
    const oldest = Math.min(...list.map((p) => p.era));
    // payout_stakers_by_page refuses an era below CurrentEra − HistoryDepth: the oldest is lost when era oldest + depth + 1 is planned.
    due.push({
      action: { kind: 'claim', validators: [targetName(client, validator)] },
      deadline: eraStart(client, s, oldest + depth),
      amount: list.reduce((sum, p) => sum + p.amount, 0n),
    });
  }
  due.sort((a, b) => (a.deadline ?? 0) - (b.deadline ?? 0));
  const withdrawable = (s.ledger?.unlocking ?? []).filter((c) => c.era <= s.currentEra).reduce((sum, c) => sum + c.value, 0n);
  if (withdrawable > 0n) due.push({ action: { kind: 'withdraw' }, amount: withdrawable });
  return due;
}
