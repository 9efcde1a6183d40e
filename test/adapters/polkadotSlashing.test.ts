/**
 * Slashing on the Polkadot (Asset Hub) devnet, through unmodified
 * @polkadot/api: an offence queued for its era, computed from that era's
 * exposure, deferred `SlashDeferDuration` eras, then applied to the
 * validator and its nominators by `StakingLedger::slash` (active and the
 * chunks unbonded after the offence, in proportion); a pool's bonded
 * account slashed with its unbonding sub-pools, and each member's share
 * taken from its held funds when `apply_slash` runs (staking-async
 * `slashing.rs`, `ledger.rs`; nomination-pools `lib.rs`).
 */
import '@polkadot/api-augment';
import { ApiPromise, WsProvider } from '@polkadot/api';
import type { SubmittableExtrinsic } from '@polkadot/api/types';
import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import type { EventRecord } from '@polkadot/types/interfaces';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import { DOT, startPolkadotDevnet, type PolkadotDevnet } from '../../adapters/polkadot/devnet.js';
import { poolAccount } from '../../adapters/polkadot/devnet/pools.js';

const BLOCK_MS = 12_000;
const ERA_MS = 12 * BLOCK_MS;
/** 10 %, in parts per billion. */
const TEN_PERCENT = 100_000_000;

const keyring = new Keyring({ type: 'sr25519', ss58Format: 0 });

async function send(api: ApiPromise, tx: SubmittableExtrinsic<'promise'>, pair: KeyringPair): Promise<{ events: EventRecord[]; error: string | undefined }> {
  return new Promise((resolve, reject) => {
    let unsub: (() => void) | undefined;
    tx.signAndSend(pair, (result) => {
      if (!result.status.isInBlock && !result.status.isFinalized) return;
      unsub?.();
      const error = result.dispatchError?.isModule ? (({ section, name }) => `${section}.${name}`)(api.registry.findMetaError(result.dispatchError.asModule)) : result.dispatchError?.toString();
      resolve({ events: result.events, error });
    })
      .then((u) => (unsub = u))
      .catch(reject);
  });
}

/** `section.Method(field=value, …)` of a block's events, accounts as SS58 and amounts as whole planck. */
async function eventsOf(api: ApiPromise, blockHash: string): Promise<string[]> {
  const records = await api.query.system.events.at(blockHash);
  return records.map(({ event }) => `${event.section}.${event.method}(${(event.data as unknown as { toJSON(): unknown[] }).toJSON().map((v) => String(v)).join(',')})`);
}

describe('Polkadot devnet slashing', () => {
  let devnet: PolkadotDevnet;
  let api: ApiPromise;

  beforeAll(async () => {
    await cryptoWaitReady();
  });

  afterEach(async () => {
    await api?.disconnect();
    await devnet?.close();
  });

  const start = async (): Promise<void> => {
    devnet = await startPolkadotDevnet({ eraMs: ERA_MS, blockMs: BLOCK_MS, minNominatorBond: 10n * DOT, finalityDelayMs: 0 });
    api = await ApiPromise.create({ provider: new WsProvider(devnet.wsUrls[0]), noInitWarn: true, throwOnConnect: true });
  };
  const activeEra = (): number => (devnet.chain.best.read('Staking', 'ActiveEra') as { index: number }).index;
  const account = (amount: bigint): KeyringPair => {
    const made = devnet.createAccount(amount);
    const pair = keyring.addFromMnemonic(made.mnemonic);
    keyring.removePair(pair.address);
    return pair;
  };

  it('nominate: the exposed stake and the chunks unbonded after the offence lose the fraction, SlashDeferDuration eras later, once', async () => {
    await start();
    const nominator = account(2_000n * DOT);
    const [v0] = devnet.validators as [string];
    expect((await send(api, api.tx.staking.bond(1_000n * DOT, 'Stash'), nominator)).error).toBeUndefined();
    expect((await send(api, api.tx.staking.nominate([v0]), nominator)).error).toBeUndefined();
    // Unbonded before the offence era's election: chunk at era 0 + 28, not at stake in era 1.
    expect((await send(api, api.tx.staking.unbond(100n * DOT), nominator)).error).toBeUndefined();
    devnet.nextEra();
    expect(activeEra()).toBe(1);
    const exposure = await api.query.staking.erasStakersPaged(1, v0, 0);
    // Beside the genesis pool's bonded account, also nominating v0.
    expect(exposure.unwrap().others.map((o) => [o.who.toString(), o.value.toBigInt()])).toContainEqual([nominator.address, 900n * DOT]);
    // Unbonded in the offence era: chunk at era 1 + 28, still at stake for an offence of era 1.
    expect((await send(api, api.tx.staking.unbond(300n * DOT), nominator)).error).toBeUndefined();

    devnet.slash(v0, TEN_PERCENT, 1);
    const reported = await eventsOf(api, devnet.chain.head.hash);
    expect(reported).toContain(`staking.OffenceReported(1,${v0},${TEN_PERCENT})`);
    expect(reported).toContain(`staking.SlashComputed(1,28,${v0},0)`);
    expect((await api.query.staking.unappliedSlashes.keys(28)).length).toBe(1);

    while (activeEra() < 27) devnet.nextEra();
    expect((await api.query.staking.ledger(nominator.address)).unwrap().total.toBigInt()).toBe(1_000n * DOT);
    expect(devnet.truth.of(nominator.address).slashed).toBe(0n);
    const reservedBefore = (await api.query.system.account(nominator.address)).data.reserved.toBigInt();

    devnet.nextEra();
    expect(activeEra()).toBe(28);
    const applied = await eventsOf(api, devnet.chain.head.hash);
    expect(applied).toContain(`staking.Slashed(${v0},${1_000n * DOT})`);
    expect(applied).toContain(`staking.Slashed(${nominator.address},${90n * DOT})`);
    expect(applied).toContain(`balances.Slashed(${nominator.address},${90n * DOT})`);
    // ledger.rs: 90 = 10 % of the 900 exposed, taken from active (600) and the era-29 chunk (300) in proportion; the era-28 chunk is safe.
    const ledger = (await api.query.staking.ledger(nominator.address)).unwrap();
    expect(ledger.active.toBigInt()).toBe(540n * DOT);
    expect(ledger.unlocking.map((c) => [c.era.toNumber(), c.value.toBigInt()])).toEqual([
      [28, 100n * DOT],
      [29, 270n * DOT],
    ]);
    expect(ledger.total.toBigInt()).toBe(910n * DOT);
    expect(reservedBefore - (await api.query.system.account(nominator.address)).data.reserved.toBigInt()).toBe(90n * DOT);
    expect(devnet.truth.of(nominator.address)).toMatchObject({ slashed: 90n * DOT });
    expect((await api.query.staking.unappliedSlashes.keys(28)).length).toBe(0);

    // Applied once: later eras slash nothing more.
    devnet.nextEra();
    expect((await api.query.staking.ledger(nominator.address)).unwrap().total.toBigInt()).toBe(910n * DOT);
    expect(devnet.truth.of(nominator.address).slashed).toBe(90n * DOT);
  }, 60_000);

  it('an offence reported too late for its slash to be applied, or for an era without exposure, is ignored', async () => {
    await start();
    const [v0] = devnet.validators as [string];
    devnet.slash(v0, TEN_PERCENT, 5);
    expect(await eventsOf(api, devnet.chain.head.hash)).not.toContain(`staking.OffenceReported(5,${v0},${TEN_PERCENT})`);
    while (activeEra() < 29) devnet.nextEra();
    devnet.slash(v0, TEN_PERCENT, 1);
    expect((await eventsOf(api, devnet.chain.head.hash)).filter((e) => e.startsWith('staking.OffenceReported'))).toEqual([]);
  }, 60_000);

  it("pool: the bonded account and the unbonding sub-pool are slashed, members' balances follow, and apply_slash takes each member's share once", async () => {
    await start();
    const member = account(1_000n * DOT);
    const [v0] = devnet.validators as [string];
    const bonded = keyring.encodeAddress(poolAccount(1, 'bonded'), 0);
    expect((await send(api, api.tx.nominationPools.join(100n * DOT, 1), member)).error).toBeUndefined();
    devnet.nextEra();
    // The pool's 200 DOT are split between its two validators: 100 exposed to v0.
    const exposure = await api.query.staking.erasStakersPaged(1, v0, 0);
    expect(exposure.unwrap().others.map((o) => [o.who.toString(), o.value.toBigInt()])).toEqual([[bonded, 100n * DOT]]);
    // Late in the era, once the next one is planned (CurrentEra = ActiveEra + 1): the sub-pool is still the chunk's era.
    while ((devnet.chain.best.read('Staking', 'CurrentEra') as number) === activeEra()) devnet.advance(BLOCK_MS);
    expect(activeEra()).toBe(1);
    expect((await send(api, api.tx.nominationPools.unbond(member.address, 40n * DOT), member)).error).toBeUndefined();
    expect(Object.keys((await api.query.nominationPools.subPoolsStorage(1)).unwrap().withEra.toJSON() as object)).toEqual(['29']);

    devnet.slash(v0, TEN_PERCENT, 1);
    while (activeEra() < 28) devnet.nextEra();
    const applied = await eventsOf(api, devnet.chain.head.hash);
    // 10 DOT from 160 active + the 40 unbonding in era 29, in proportion: 8 and 2.
    expect(applied).toContain(`nominationPools.UnbondingPoolSlashed(1,29,${38n * DOT})`);
    expect(applied).toContain(`nominationPools.PoolSlashed(1,${152n * DOT})`);
    expect(applied).toContain(`staking.Slashed(${bonded},${10n * DOT})`);
    // A virtual staker's funds are its members': nothing is taken from the pool account itself.
    expect(applied.filter((e) => e.startsWith('balances.Slashed') && e.includes(bonded))).toEqual([]);
    // The member's balance in the pool: 60 of 160 points of 152 DOT, and the 40 points of the slashed sub-pool.
    expect((await api.call.nominationPoolsApi.pointsToBalance(1, 60n * DOT)).toBigInt()).toBe(57n * DOT);
    expect((await api.query.system.account(member.address)).data.reserved.toBigInt()).toBe(100n * DOT);
    expect(devnet.truth.of(member.address).slashed).toBe(0n);
    // The runtime API (lib.rs `api_member_pending_slash`): the delegation (100) less the balance in the pool (57 + 38).
    expect((await api.call.nominationPoolsApi.memberPendingSlash(member.address)).toBigInt()).toBe(5n * DOT);
    expect((await api.call.nominationPoolsApi.memberPendingSlash(devnet.payoutBot)).toBigInt()).toBe(0n);

    expect(devnet.applyPoolSlashes()).toBe(2);
    const slashedEvents = (await eventsOf(api, devnet.chain.head.hash)).filter((e) => e.startsWith('delegatedStaking.Slashed'));
    expect(slashedEvents).toContain(`delegatedStaking.Slashed(${bonded},${member.address},${5n * DOT})`);
    expect((await api.query.system.account(member.address)).data.reserved.toBigInt()).toBe(95n * DOT);
    expect(devnet.truth.of(member.address)).toMatchObject({ slashed: 5n * DOT });
    expect((await api.call.nominationPoolsApi.memberPendingSlash(member.address)).toBigInt()).toBe(0n);
    // Nothing is pending any more: a second apply_slash is refused.
    expect(devnet.applyPoolSlashes()).toBe(0);
    expect((await send(api, api.tx.nominationPools.applySlash(member.address), member)).error).toBe('nominationPools.NothingToSlash');

    // Withdrawn once unlocked: the slashed sub-pool's 38 DOT.
    while (activeEra() < 29) devnet.nextEra();
    const withdrawn = await send(api, api.tx.nominationPools.withdrawUnbonded(member.address, 0), member);
    expect(withdrawn.error).toBeUndefined();
    expect(withdrawn.events.map((e) => `${e.event.section}.${e.event.method}`)).not.toContain('delegatedStaking.Slashed');
    const pool = withdrawn.events.find((e) => e.event.section === 'nominationPools' && e.event.method === 'Withdrawn')!;
    expect((pool.event.data as unknown as { balance: { toBigInt(): bigint } }).balance.toBigInt()).toBe(38n * DOT);
    expect(devnet.truth.of(member.address).slashed).toBe(5n * DOT);
  }, 60_000);
});
