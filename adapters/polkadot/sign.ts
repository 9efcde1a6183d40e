/**
 * Polkadot signing: one extrinsic per action, mortal (born at the
 * finalized head, valid `mortalityBlocks` blocks), with the account's next
 * nonce from `AccountNonceApi` at the best block. What the chain would
 * refuse, or accept doing something else than asked (staking `bond`
 * silently bonds less than asked when the balance is short), is refused
 * here before anything is signed. The only place the key is used.
 *
 * Nominate mode: delegate = `staking.bond(amount, Stash)` the first time,
 * then `bond_extra`, batched (`utility.batch_all`) with `nominate(the
 * configured validators)` when the chain's nominations differ; undelegate
 * = `unbond`; withdraw = `withdraw_unbonded`; claim =
 * `payout_stakers_by_page` for each unclaimed page of the validators,
 * oldest first, batched.
 * Pool mode: delegate = `nominationPools.join` the first time, then
 * `bond_extra(FreeBalance)`; undelegate = `unbond(member, points)` with the
 * points the runtime API converts the amount to; withdraw =
 * `withdraw_unbonded(member, 0)`; claim = `claim_payout`, preceded by
 * `apply_slash(custody)` (batched) when the custody's pending slash can be
 * applied (position.ts `slashDue`).
 */
import type { ApiPromise } from '@polkadot/api';
import type { SubmittableExtrinsic } from '@polkadot/api/types';
import type { ExtrinsicEra } from '@polkadot/types/interfaces';
import type { Codec } from '@polkadot/types/types';
import { u8aToHex } from '@polkadot/util';

import { TxRejectedError } from '../errors.js';
import type { SignedTx, StakeAction } from '../types.js';
import { accountHex, type PolkadotClient } from './client.js';
import { poolTarget } from './options.js';
import { unclaimedPages } from './payouts.js';
import { slashDue, targetHexes } from './position.js';
import { big, json, readSnapshot, type Snapshot } from './state.js';

type Tx = SubmittableExtrinsic<'promise'>;

/** Payout pages claimed in one extrinsic at most (a block's weight holds many more; a smaller batch fails less when someone else claims one first). */
const MAX_PAGES_PER_CLAIM = 16;

export async function signAction(client: PolkadotClient, action: StakeAction, step = 0): Promise<SignedTx> {
  const refuse = (code: string, log: string): TxRejectedError => new TxRejectedError(client.name, undefined, code, log, false);
  if (step !== 0) throw refuse('invalid-step', `a Polkadot ${action.kind} is one extrinsic; there is no step ${step}`);
  if ((action.kind === 'delegate' || action.kind === 'undelegate') && action.amount <= 0n) {
    throw refuse('invalid-amount', `${action.kind} amount must be > 0, got ${action.amount}`);
  }
  const named = action.kind === 'claim' ? action.validators : action.kind === 'withdraw' ? (action.validator === undefined ? [] : [action.validator]) : [action.validator];
  for (const target of named) {
    if (!isTarget(client, target)) throw refuse('unknown-validator', `${target} is not one of the configured ${client.options.mode === 'pool' ? 'pool' : 'validators'}`);
  }
  // The key first: an api role without it learns so before any read.
  const pair = await client.custody();
  const custody = await client.accountId();
  const s = await readSnapshot(client);
  // Reads first, each its own request; then one call builds and signs (no request inside another's timeout).
  const build = await (client.options.mode === 'pool' ? poolCall : nominateCall)(client, s, action, refuse, custody);
  return client.call(async (api) => {
    const tx = build(api);
    const address = u8aToHex(pair.publicKey);
    const nonce = (await api.call.accountNonceApi!.accountNonce!(address)) as unknown as { toNumber(): number };
    const era = api.createType('ExtrinsicEra', { current: s.head.number, period: client.options.mortalityBlocks }) as ExtrinsicEra;
    await tx.signAsync(pair, { nonce: nonce.toNumber(), era, blockHash: s.head.hash });
    const mortal = era.asMortalEra;
    // frame_system CheckMortality: valid in blocks birth … death − 1 (substrate/primitives/runtime/src/generic/era.rs).
    const death = mortal.death(s.head.number);
    return { hash: tx.hash.toHex(), bytes: tx.toU8a(), expires: { height: BigInt(death - 1) } };
  });
}

function isTarget(client: PolkadotClient, target: string): boolean {
  if (client.options.mode === 'pool') return target === poolTarget(client.options.poolId!);
  try {
    return targetHexes(client).includes(accountHex(target));
  } catch {
    return false;
  }
}

type Refuse = (code: string, log: string) => TxRejectedError;

/** Builds the extrinsic once the reads it needs are done. */
type Builder = (api: ApiPromise) => Tx;

/** The amount must leave the existential deposit liquid: staking would bond less than asked, a pool join would fail. */
function checkFunds(s: Snapshot, amount: bigint, refuse: Refuse): void {
  const spendable = s.account.free - s.existentialDeposit;
  if (amount > spendable) throw refuse('insufficient-funds', `${amount} planck would leave less than the existential deposit liquid (spendable ${spendable > 0n ? spendable : 0n})`);
}

async function nominateCall(client: PolkadotClient, s: Snapshot, action: StakeAction, refuse: Refuse, custody: string): Promise<Builder> {
  const ledger = s.ledger;
  switch (action.kind) {
    case 'delegate': {
      checkFunds(s, action.amount, refuse);
      const active = ledger?.active ?? 0n;
      if (active + action.amount < s.minNominatorBond) throw refuse('below-minimum', `a nominator bonds at least MinNominatorBond ${s.minNominatorBond} planck; ${active + action.amount} would not`);
      const wanted = [...targetHexes(client)].sort();
      const current = [...s.nominations].sort();
      const same = wanted.length === current.length && wanted.every((t, i) => t === current[i]);
      return (api) => {
        const bond = ledger === undefined ? api.tx.staking!.bond!(action.amount, 'Stash') : api.tx.staking!.bondExtra!(action.amount);
        return same ? bond : api.tx.utility!.batchAll!([bond, api.tx.staking!.nominate!(client.options.targets)]);
      };
    }
    case 'undelegate': {
      if (ledger === undefined || ledger.active === 0n) throw refuse('not-bonded', 'the custody has nothing bonded');
      if (action.amount > ledger.active) throw refuse('insufficient-bond', `unbond ${action.amount} planck of an active bond of ${ledger.active}`);
      const left = ledger.active - action.amount;
      // staking unbond: a nominator left below MinNominatorBond is refused (InsufficientBond); unbonding all chills.
      if (left > 0n && left < s.minNominatorBond && s.nominations.length > 0) {
        throw refuse('insufficient-bond', `${left} planck would stay bonded, below MinNominatorBond ${s.minNominatorBond}: unbond all or less`);
      }
      return (api) => api.tx.staking!.unbond!(action.amount);
    }
    case 'withdraw': {
      const spans = await slashingSpans(client, s, custody);
      return (api) => api.tx.staking!.withdrawUnbonded!(spans);
    }
    case 'claim': {
      const pages = (await unclaimedPages(client, s, action.validators.map(accountHex), custody)).slice(0, MAX_PAGES_PER_CLAIM);
      if (pages.length === 0) throw refuse('nothing-due', `no unclaimed payout of ${action.validators.join(', ')} would pay the custody anything`);
      return (api) => {
        const calls = pages.map((p) => api.tx.staking!.payoutStakersByPage!(p.validator, p.era, p.page));
        return calls.length === 1 ? calls[0]! : api.tx.utility!.batchAll!(calls);
      };
    }
  }
}

/** `num_slashing_spans` for withdraw_unbonded: ignored by staking-async (Asset Hub has no `SlashingSpans`); the relay's pallet-staking wants the stash's span count. */
async function slashingSpans(client: PolkadotClient, s: Snapshot, custody: string): Promise<number> {
  return client.call(async (api) => {
    if (api.query.staking?.slashingSpans === undefined) return 0;
    const at = await client.atRecent(api, s.head.hash);
    const spans = json<{ prior: unknown[] }>((await at.query.staking!.slashingSpans!(custody)) as Codec);
    return spans === undefined ? 0 : spans.prior.length + 1;
  });
}

async function poolCall(client: PolkadotClient, s: Snapshot, action: StakeAction, refuse: Refuse, custody: string): Promise<Builder> {
  const poolId = client.options.poolId!;
  const member = s.member;
  switch (action.kind) {
    case 'delegate': {
      checkFunds(s, action.amount, refuse);
      if (s.pool === undefined) throw refuse('unknown-pool', `pool ${poolId} does not exist`);
      // nomination-pools `ok_to_join` / `ok_to_be_open`: joining or bonding more needs an Open pool.
      if (s.pool.state !== 'Open') throw refuse('pool-not-open', `pool ${poolId} is ${s.pool.state}`);
      if (member !== undefined && member.poolId !== poolId) throw refuse('other-pool', `the custody is a member of pool ${member.poolId}`);
      if (member === undefined) {
        if (action.amount < s.minJoinBond) throw refuse('below-minimum', `joining takes at least MinJoinBond ${s.minJoinBond} planck`);
        return (api) => api.tx.nominationPools!.join!(action.amount, poolId);
      }
      return (api) => api.tx.nominationPools!.bondExtra!({ FreeBalance: action.amount });
    }
    case 'undelegate': {
      if (member === undefined || member.points === 0n) throw refuse('not-bonded', `the custody has nothing bonded in pool ${poolId}`);
      if (action.amount > member.balance) throw refuse('insufficient-bond', `unbond ${action.amount} planck of a membership worth ${member.balance}`);
      const left = member.balance - action.amount;
      if (left > 0n && left < s.minJoinBond) throw refuse('insufficient-bond', `${left} planck would stay in the pool, below MinJoinBond ${s.minJoinBond}: unbond all or less`);
      // unbond takes points: the runtime API converts at the pool's current rate (nomination-pools `balance_to_point`).
      const converted = await client.call(async (api) => {
        const at = await client.atRecent(api, s.head.hash);
        return big(json((await at.call.nominationPoolsApi!.balanceToPoints!(poolId, action.amount)) as Codec) ?? 0);
      });
      const points = left === 0n || converted > member.points ? member.points : converted;
      return (api) => api.tx.nominationPools!.unbond!(custody, points);
    }
    case 'withdraw': {
      if (member === undefined || !member.unbonding.some((u) => u.era <= s.currentEra)) throw refuse('nothing-due', 'no unbonding era of the custody has ended');
      return (api) => api.tx.nominationPools!.withdrawUnbonded!(custody, 0);
    }
    case 'claim': {
      if (member === undefined) throw refuse('not-bonded', `the custody is not a member of pool ${poolId}`);
      if (!slashDue(s)) return (api) => api.tx.nominationPools!.claimPayout!();
      // The pending slash first (position.ts `slashDue`), then the rewards when any are pending: claim_payout of a
      // fully unbonding member fails (FullyUnbonding) and would take the slash's application down with it in batch_all.
      const payout = member.pending > 0n && member.points > 0n;
      return (api) => {
        const apply = api.tx.nominationPools!.applySlash!(custody);
        return payout ? api.tx.utility!.batchAll!([apply, api.tx.nominationPools!.claimPayout!()]) : apply;
      };
    }
  }
}
