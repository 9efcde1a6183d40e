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
 * claim): the custody's `DelegatedStaking.Slashed` is one negative event. Afterwards the reward events equal what the pool paid
 * the custody net of the slash, to the planck, each credited once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { accountHex } from '../../adapters/polkadot/client.js';
import { DOT, startPolkadotDevnet, type PolkadotDevnet } from '../../adapters/polkadot/devnet.js';
import { poolAccount } from '../../adapters/polkadot/devnet/pools.js';
import { runCli } from '../helpers/cli.js';
import { api, DaemonProcess, freePort, writeDaemonConfig } from '../helpers/daemon.js';
import { freshDatabase, atom, type TestDatabase } from '../helpers/db.js';
import { expectChainRewardsDistributedOnce } from '../helpers/invariants.js';
import { until } from '../helpers/wait.js';

const CHAIN = 'polkadot-pool-devnet';
/** Blocks of 0.5 s and eras of 2 s of chain time (2.5 s with the block that rotates them), on the wall clock: a deferred slash lands 27 eras after its era. */
const BLOCK_MS = 500;
const ERA_MS = 2_000;
let db: TestDatabase;
let devnet: PolkadotDevnet;
let bot: NodeJS.Timeout | undefined;
let daemon: DaemonProcess;
let port: number;
let configFile: string;
let custody: string;

beforeAll(async () => {
  db = await freshDatabase({ DOT: atom({ symbol: 'DOT', decimals: 10 }) });
  devnet = await startPolkadotDevnet({ clock: 'wall', blockMs: BLOCK_MS, eraMs: ERA_MS, minNominatorBond: 10n * DOT, statePruning: 1_000_000, finalityDelayMs: 0 });
  const account = devnet.createAccount(1_000n * DOT);
  custody = account.address;
  port = await freePort();
  ({ file: configFile } = await writeDaemonConfig({
    databaseUrl: db.url,
    redisUrl: 'redis://127.0.0.1:6379',
    endpoints: [...devnet.wsUrls],
    keyHex: account.mnemonic,
    validators: [{ address: 'pool:1', weight: 1 }],
    port,
    stake: { minBuffer: '100' },
    asset: { symbol: 'DOT', decimals: 10 },
    chain: { name: CHAIN, kind: 'polkadot', options: `{ mode: pool, poolId: 1, eraDurationMs: ${ERA_MS}, inclusionWaitMs: 20000, pollIntervalMs: 200 }` },
    intervals: { poll: '1s', harvest: '1s', rebalance: '1h' },
  }));
  daemon = DaemonProcess.start(configFile);
  await daemon.ready();
});

afterAll(async () => {
  clearInterval(bot);
  if (daemon && daemon.child.exitCode === null) await daemon.kill();
  await devnet?.close();
  await db?.drop();
});

describe('DOT in a nomination pool on the Polkadot devnet, end to end', () => {
  it('joins the pool, claims its share of the payouts another account triggers, books its share of a slash and credits users exactly once', async () => {
    const at = new Date(Date.now() - 60_000).toISOString();
    const posted = await api(port, 'POST', '/v1/balance-changes', {
      changes: [
        { id: 'dep-alice', user: 'alice', asset: 'DOT', delta: (600n * DOT).toString(), at },
        { id: 'dep-bob', user: 'bob', asset: 'DOT', delta: (400n * DOT).toString(), at },
      ],
    });
    expect(posted.status).toBe(200);

    // The membership's points (1:1 with planck in a pool that was never slashed).
    const active = (): bigint => {
      const member = devnet.chain.best.read('NominationPools', 'PoolMembers', accountHex(custody)) as { points: string | number } | undefined;
      return member === undefined ? 0n : BigInt(member.points);
    };
    // 90 % of the users' 1000 DOT, less the existential deposit (0.01 DOT) that stays liquid.
    await until(() => active() >= 890n * DOT, 'the custody bonded its share', 60_000);
    expect(active()).toBeLessThanOrEqual(900n * DOT);

    // Pool rewards arrive when someone pays the pool's validators out: another account does.
    bot = setInterval(() => devnet.payoutAll(), 4_000);
    await until(async () => (await db.pool.query('SELECT 1 FROM distributions WHERE gross > 0')).rowCount! >= 2, 'two distributions allocated rewards', 60_000);
    const history = await api(port, 'GET', '/v1/users/bob/rewards');
    expect((history.body as { rewards: unknown[] }).rewards.length).toBeGreaterThan(0);

    // v0, which the pool nominates, misbehaved in the first era the pool's stake (the custody's included) was exposed to it: 5 %.
    const activeEra = (): number => (devnet.chain.best.read('Staking', 'ActiveEra') as { index: number }).index;
    const v0 = devnet.validators[0]!;
    const bonded = poolAccount(1, 'bonded');
    const member = (): bigint => BigInt((devnet.chain.best.read('NominationPools', 'PoolMembers', accountHex(custody)) as { points: string | number }).points);
    const exposedIn = (era: number): boolean =>
      ((devnet.chain.best.read('Staking', 'ErasStakersPaged', era, accountHex(v0), 0) as { others: { who: string; value: string | number }[] } | undefined)?.others ?? []).some(
        (o) => accountHex(o.who) === bonded && BigInt(o.value) >= member() / 2n,
      );
    let offenceEra = activeEra();
    while (offenceEra > 0 && offenceEra + devnet.slashDeferDuration > activeEra() && exposedIn(offenceEra - 1)) offenceEra -= 1;
    expect(exposedIn(offenceEra)).toBe(true);
    devnet.slash(v0, 50_000_000, offenceEra);
    const pendingSlash = (): bigint => BigInt((devnet.chain.best.read('DelegatedStaking', 'Agents', bonded) as { pendingSlash: string | number }).pendingSlash);
    await until(() => pendingSlash() > 0n, "the deferred slash reached the pool's bonded account", 150_000);
    // The custody's share is pending until someone applies it: nobody else does here, the daemon's harvest job does (its claim's apply_slash).
    await until(() => devnet.truth.of(custody).slashed > 0n, "the daemon applied the custody's pending slash", 30_000);
    await until(async () => (await db.pool.query('SELECT 1 FROM reward_events WHERE source = $1 AND amount < 0', [CHAIN])).rowCount! > 0, 'the slash was harvested', 30_000);
    const { rows: applied } = await db.pool.query<{ id: string }>('SELECT id FROM reward_events WHERE source = $1 AND amount < 0', [CHAIN]);
    const { rows: intents } = await db.pool.query<{ kind: string; status: string }>('SELECT kind, status FROM tx_intents WHERE chain = $1 AND tx_hash = $2', [CHAIN, applied[0]!.id.split(':')[1]]);
    expect(intents).toEqual([{ kind: 'claim', status: 'confirmed' }]);

    // Rewards keep coming after the slash: the periods net it (a period whose rewards sum to ≤ 0 carries them forward).
    const paidAtSlash = devnet.truth.of(custody).paid;
    await until(() => devnet.truth.of(custody).paid - paidAtSlash > 2n * devnet.truth.of(custody).slashed, 'rewards after the slash outweigh it', 60_000);
    clearInterval(bot);
    await until(async () => {
      const { rows } = await db.pool.query<{ s: string | null }>('SELECT sum(amount)::text AS s FROM reward_events WHERE source = $1', [CHAIN]);
      return rows[0]!.s === devnet.truth.of(custody).net.toString();
    }, 'the harvests caught up with what the devnet paid', 30_000);
    expect(await daemon.kill('SIGTERM')).toBe(0);
    const close = await runCli(['distribute', '-c', configFile, '--asset', 'DOT', '--period-end', new Date(Date.now() - 1).toISOString(), '--json']);
    expect(close.stderr).toBe('');

    await expectChainRewardsDistributedOnce(db.pool, CHAIN, devnet.truth.of(custody).net);
    // The custody's share of the pool's slash is one negative event, the amount taken from its held funds.
    const { rows: slashes } = await db.pool.query<{ amount: string }>('SELECT amount::text FROM reward_events WHERE source = $1 AND amount < 0', [CHAIN]);
    expect(slashes.map((r) => BigInt(r.amount))).toEqual([-devnet.truth.of(custody).slashed]);
    expect(devnet.truth.of(custody).paid).toBeGreaterThan(devnet.truth.of(custody).slashed);
  }, 300_000);
});
