/**
 * Polkadot end to end: the daemon (`softstake start`) against the Polkadot
 * (Asset Hub) devnet through @polkadot/api, nominate mode. The rebalancer
 * bonds and nominates two validators; eras pass on the wall clock; the
 * daemon's harvest jobs claim the unclaimed pages, while another account
 * (the devnet's payout bot) pays some eras out first; the cron
 * distributions credit users. A nominated validator is slashed for an era
 * the custody's stake was exposed in, SlashDeferDuration (27) eras later:
 * one negative event. A deposit not yet on chain leaves the buffer short:
 * the rebalancer unbonds, and the daemon withdraws the chunk once
 * BondingDuration (28) eras have passed. Afterwards the reward events equal what the devnet
 * paid the custody net of the slash, to the planck, fees were booked, and
 * every event went out once.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { accountHex } from '../../adapters/polkadot/client.js';
import { DOT } from '../../adapters/polkadot/devnet.js';
import { api } from '../helpers/daemon.js';
import { activeEra, depositUsers, expectSlashedAndCreditedOnce, startPolkadotDaemon, type PolkadotDaemon } from '../helpers/polkadotDaemon.js';
import { until } from '../helpers/wait.js';

let d: PolkadotDaemon;

beforeAll(async () => {
  d = await startPolkadotDaemon('nominate', '2s');
});

afterAll(async () => {
  await d?.close();
});

describe('DOT on the Polkadot devnet, end to end', () => {
  it('bonds and nominates, claims era payouts (some paid by another account first), unbonds and withdraws, books a slash and credits users exactly once', async () => {
    const { db, devnet, custody } = d;
    await depositUsers(d);

    const active = (): bigint => {
      const ledger = devnet.chain.best.read('Staking', 'Ledger', accountHex(custody)) as { active: string | number } | undefined;
      return ledger === undefined ? 0n : BigInt(ledger.active);
    };
    // 90 % of the users' 1000 DOT, less the existential deposit (0.01 DOT) that stays liquid.
    await until(() => active() >= 890n * DOT, 'the custody bonded its share', 60_000);
    expect(active()).toBeLessThanOrEqual(900n * DOT);

    // Another account pays eras out too; the daemon's claims take the rest.
    d.startPayouts();
    await until(async () => (await db.pool.query('SELECT 1 FROM distributions WHERE gross > 0')).rowCount! >= 2, 'two distributions allocated rewards', 60_000);
    const history = await api(d.port, 'GET', '/v1/users/bob/rewards');
    expect((history.body as { rewards: unknown[] }).rewards.length).toBeGreaterThan(0);

    // A deposit the exchange has not moved on chain: the buffer (10 % of 3000 DOT) lacks, so the rebalancer unbonds;
    // BondingDuration (28) eras later the daemon withdraws the chunk (it runs while the slash below waits its 27 eras).
    const at = new Date().toISOString();
    const unfunded = await api(d.port, 'POST', '/v1/balance-changes', { changes: [{ id: 'dep-dave', user: 'dave', asset: 'DOT', delta: (2_000n * DOT).toString(), at }] });
    expect(unfunded.status, JSON.stringify(unfunded.body)).toBe(200);
    const unlocking = (): bigint => {
      const ledger = devnet.chain.best.read('Staking', 'Ledger', accountHex(custody)) as { unlocking: { value: string | number }[] } | undefined;
      return (ledger?.unlocking ?? []).reduce((sum, c) => sum + BigInt(c.value), 0n);
    };
    await until(() => unlocking() > 100n * DOT, 'the custody unbonded for the buffer', 60_000);
    const withdrawn = async (): Promise<boolean> =>
      (await db.pool.query("SELECT 1 FROM tx_intents WHERE chain = $1 AND kind = 'withdraw' AND status = 'confirmed'", [d.chain])).rowCount! > 0;

    // v0 misbehaved in the first era the custody's stake was exposed to it (reported late, as offences are): slashed 5 % of that exposure.
    const v0 = devnet.validators[0]!;
    const exposedIn = (era: number): boolean =>
      ((devnet.chain.best.read('Staking', 'ErasStakersPaged', era, accountHex(v0), 0) as { others: { who: string }[] } | undefined)?.others ?? []).some((o) => accountHex(o.who) === accountHex(custody));
    let offenceEra = activeEra(devnet);
    while (offenceEra > 0 && offenceEra + devnet.slashDeferDuration > activeEra(devnet) && exposedIn(offenceEra - 1)) offenceEra -= 1;
    expect(exposedIn(offenceEra)).toBe(true);
    devnet.slash(v0, 50_000_000, offenceEra);
    await until(() => devnet.truth.of(custody).slashed > 0n, 'the deferred slash was applied', 150_000);
    expect(activeEra(devnet)).toBe(offenceEra + devnet.slashDeferDuration);
    await until(async () => (await withdrawn()) && unlocking() === 0n, 'the unbonded chunk withdrawn', 90_000);

    await expectSlashedAndCreditedOnce(d);
  }, 300_000);
});
