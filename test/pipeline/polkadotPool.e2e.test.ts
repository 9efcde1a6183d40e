/**
 * Polkadot end to end, pool mode: the daemon (`softstake start`) against the
 * Polkadot (Asset Hub) devnet through @polkadot/api. The rebalancer joins
 * nomination pool 1 and bonds more into it; eras pass on the wall clock;
 * another account (the devnet's payout bot) pays the pool's validators out,
 * which fills the pool's reward account; the daemon's harvest jobs claim
 * the custody's share (`claim_payout`) and report the `PaidOut` events; the
 * cron distributions credit users. One of the pool's validators is slashed
 * for an era the pool was exposed in (applied SlashDeferDuration eras
 * later); the pool's bonded account is slashed, and the daemon's harvest
 * job applies the custody's pending slash itself (`apply_slash`, in its
 * claim): each of the custody's `DelegatedStaking.Slashed` is a negative event.
 * A deposit not yet on chain leaves the buffer short: the rebalancer unbonds
 * points, and the daemon withdraws them once BondingDuration (28) eras have
 * passed. Afterwards the reward events equal what the pool paid the custody
 * net of the slash, to the planck, each credited once.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { accountHex } from '../../adapters/polkadot/client.js';
import { DOT } from '../../adapters/polkadot/devnet.js';
import { poolAccount } from '../../adapters/polkadot/devnet/pools.js';
import { api } from '../helpers/daemon.js';
import { activeEra, depositUsers, expectSlashedAndCreditedOnce, startPolkadotDaemon, type PolkadotDaemon } from '../helpers/polkadotDaemon.js';
import { until } from '../helpers/wait.js';

let d: PolkadotDaemon;

beforeAll(async () => {
  d = await startPolkadotDaemon('pool', '2s');
});

afterAll(async () => {
  await d?.close();
});

describe('DOT in a nomination pool on the Polkadot devnet, end to end', () => {
  it('joins the pool, claims its share of the payouts another account triggers, unbonds and withdraws, applies and books its share of a slash and credits users exactly once', async () => {
    const { db, devnet, custody, chain } = d;
    await depositUsers(d);

    // The membership's points (1:1 with planck in a pool that was never slashed).
    const active = (): bigint => {
      const member = devnet.chain.best.read('NominationPools', 'PoolMembers', accountHex(custody)) as { points: string | number } | undefined;
      return member === undefined ? 0n : BigInt(member.points);
    };
    // 90 % of the users' 1000 DOT, less the existential deposit (0.01 DOT) that stays liquid.
    await until(() => active() >= 890n * DOT, 'the custody bonded its share', 60_000);
    expect(active()).toBeLessThanOrEqual(900n * DOT);

    // Pool rewards arrive when someone pays the pool's validators out: another account does.
    d.startPayouts();
    await until(async () => (await db.pool.query('SELECT 1 FROM distributions WHERE gross > 0')).rowCount! >= 2, 'two distributions allocated rewards', 60_000);
    const history = await api(d.port, 'GET', '/v1/users/bob/rewards');
    expect((history.body as { rewards: unknown[] }).rewards.length).toBeGreaterThan(0);

    // A deposit the exchange has not moved on chain: the buffer (10 % of 3000 DOT) lacks, so the rebalancer unbonds
    // points; BondingDuration (28) eras later the daemon withdraws them (it runs while the slash below waits its 27 eras).
    const unfunded = await api(d.port, 'POST', '/v1/balance-changes', { changes: [{ id: 'dep-dave', user: 'dave', asset: 'DOT', delta: (2_000n * DOT).toString(), at: new Date().toISOString() }] });
    expect(unfunded.status, JSON.stringify(unfunded.body)).toBe(200);
    const unbonding = (): bigint => {
      const member = devnet.chain.best.read('NominationPools', 'PoolMembers', accountHex(custody)) as { unbondingEras: Map<unknown, unknown> | Record<string, unknown> } | undefined;
      const eras = member?.unbondingEras;
      const values = eras === undefined ? [] : eras instanceof Map ? [...eras.values()] : Object.values(eras);
      return values.reduce<bigint>((sum, v) => sum + BigInt(v as string | number), 0n);
    };
    await until(() => unbonding() > 100n * DOT, 'the custody unbonded points for the buffer', 60_000);
    const withdrawn = async (): Promise<boolean> =>
      (await db.pool.query("SELECT 1 FROM tx_intents WHERE chain = $1 AND kind = 'withdraw' AND status = 'confirmed'", [chain])).rowCount! > 0;

    // v0, which the pool nominates, misbehaved in the first era the pool's stake (the custody's included) was exposed to it: 5 %.
    const v0 = devnet.validators[0]!;
    const bonded = poolAccount(1, 'bonded');
    const exposedIn = (era: number): boolean =>
      ((devnet.chain.best.read('Staking', 'ErasStakersPaged', era, accountHex(v0), 0) as { others: { who: string; value: string | number }[] } | undefined)?.others ?? []).some(
        (o) => accountHex(o.who) === bonded && BigInt(o.value) >= active() / 2n,
      );
    let offenceEra = activeEra(devnet);
    while (offenceEra > 0 && offenceEra + devnet.slashDeferDuration > activeEra(devnet) && exposedIn(offenceEra - 1)) offenceEra -= 1;
    expect(exposedIn(offenceEra)).toBe(true);
    devnet.slash(v0, 50_000_000, offenceEra);
    const pendingSlash = (): bigint => BigInt((devnet.chain.best.read('DelegatedStaking', 'Agents', bonded) as { pendingSlash: string | number }).pendingSlash);
    await until(() => pendingSlash() > 0n, "the deferred slash reached the pool's bonded account", 150_000);
    // The custody's share is pending until someone applies it: nobody else does here, the daemon's harvest job does (its claim's apply_slash).
    await until(() => devnet.truth.of(custody).slashed > 0n, "the daemon applied the custody's pending slash", 30_000);
    await until(async () => (await db.pool.query('SELECT 1 FROM reward_events WHERE source = $1 AND amount < 0', [chain])).rowCount! > 0, 'the slash was harvested', 30_000);
    const { rows: applied } = await db.pool.query<{ id: string }>('SELECT id FROM reward_events WHERE source = $1 AND amount < 0', [chain]);
    const { rows: intents } = await db.pool.query<{ kind: string; status: string }>('SELECT kind, status FROM tx_intents WHERE chain = $1 AND tx_hash = $2', [chain, applied[0]!.id.split(':')[1]]);
    expect(intents).toEqual([{ kind: 'claim', status: 'confirmed' }]);

    await until(async () => (await withdrawn()) && unbonding() === 0n, 'the unbonded points withdrawn', 90_000);

    // The custody's share of the pool's slash: the claim applies it (a rest below the existential deposit may leave with the withdrawal).
    await expectSlashedAndCreditedOnce(d);
  }, 300_000);
});
